// File: replay/internal/builtin_normalizers.h
//
// Hand-written scanners that rewrite volatile text in a request body before matching: what an
// agent CLI embeds in its system prompt (working directory, git status, today's date, temp and
// home paths) and ids (UUIDs). Each is one linear pass over the raw body text (JSON as sent, so
// a newline inside a JSON string is the two characters `\n`); replacements contain no quote or
// backslash, so a JSON body stays JSON. Rewriting twice changes nothing the second time.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace td::replay::internal {

// Rewrites `*text` in place; returns true when it changed anything.
using BuiltinFn = bool (*)(std::string* text);

struct Builtin {
  std::string_view name;
  BuiltinFn fn;
};

// Every built-in, in the order the agent-cli preset applies them.
const std::vector<Builtin>& Builtins();
// The built-in called `name`, or nullptr.
const Builtin* FindBuiltin(std::string_view name);

// Shared by the scanners and the workspace normaliser (workspace_normalizer.h).
// A character that cannot be part of a path component ('/', quotes, '\\', '<', brackets,
// white space, ...): a path ends at it.
bool EndsPathComponent(char c);
// True when `text[pos]` follows a JSON escape that ends a word: the `n` of `\n` (also `\t`,
// `\r`, `\b`, `\f`), but not the `n` after an escaped backslash (`\\n`).
bool AfterJsonEscape(std::string_view text, size_t pos);
// True when a path may start at `pos`: at the start, after a JSON escape, or after something
// that is not part of a word or a longer path ("/home/x" in "/data/home/x" is no home).
bool PathMayStartAt(std::string_view text, size_t pos);

// The scanners themselves (exposed for tests).
bool NormalizeWorkingDirectory(std::string* text);  // "cwd": the value, and every use of it
bool NormalizeGitStatus(std::string* text);         // "git-status": "gitStatus: ..." to end
bool NormalizeTodaysDate(std::string* text);        // "todays-date": "Today's date is ..."
bool NormalizeIsoDates(std::string* text);          // "iso-date": 2026-11-21[T08:00:00Z]
bool NormalizeUuids(std::string* text);             // "uuid"
bool NormalizeTempPaths(std::string* text);         // "temp-path": /tmp/x, /var/folders/..
bool NormalizeHomePaths(std::string* text);         // "home-path": /home/u, /Users/u
bool NormalizeOsVersion(std::string* text);         // "os-version": "OS Version: ..."

}  // namespace td::replay::internal
