// File: replay/internal/workspace_normalizer.h
//
// The workspace normalisers: where a cassette was recorded and where it is replayed (working
// directory, HOME, temp directory, user name, and the slugs agent CLIs make of the paths)
// rewritten to placeholders in a request body, so a recording made in one checkout matches
// requests made in another. One linear pass over the raw body text, like the built-ins.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "replay/normalize.h"

namespace td::replay::internal {

// The name Claude Code gives a project's folder under ~/.claude/projects/: the path with every
// character that is not an ASCII letter or digit turned into '-', one per UTF-16 code unit
// (JavaScript's `path.replace(/[^a-zA-Z0-9]/g, "-")`: "é" is one dash, an emoji two; a byte
// that is not valid UTF-8 is one). "/home/u/my_proj" -> "-home-u-my-proj". Not cut: past
// kAgentSlugCut characters the CLI keeps that many and appends "-" and a hash of the path.
std::string AgentSlug(std::string_view path);
inline constexpr size_t kAgentSlugCut = 200;

// The shortest path and user name the normaliser replaces, in characters: "/" and a one- or
// two-letter user name would rewrite unrelated text.
inline constexpr size_t kMinWorkspacePath = 3;
inline constexpr size_t kMinUserName = 3;

// Immutable once built; Apply is const and thread-compatible.
class WorkspaceNormalizer {
 public:
  enum class Kind {
    kPath,  // a whole path or a prefix of one: "/w/p" in "/w/p/x.c", never in "/w/proj" or "/x/w/p"
    kSlug,  // a whole slug: "-w-p" in "projects/-w-p/memory", never in "-w-p-2"
    kWord,  // a whole word: "alice" in "alice@host" or "/home/alice", never in "malice"
  };
  struct Pattern {
    std::string text;              // as a raw body spells it
    std::string_view placeholder;  // "<CWD>", "<CWD-SLUG>", "<HOME>", ...
    Kind kind = Kind::kPath;
    bool hashed = false;  // a slug cut at kAgentSlugCut: "-" and a hash (letters, digits) follow
  };

  // Every part (cwd, home, tmp, user) that both `recorded` and `live` know, in every spelling a
  // body may hold: as is, JSON-escaped (also with "\/" and with \uXXXX for non-ASCII), and for
  // paths the slug. A part either side does not know, or knows only as a value too short or not
  // absolute, is skipped. `notes` (may be null) gets one line per part: what is replaced, or why
  // it is skipped.
  static WorkspaceNormalizer Create(const Workspace& recorded, const Workspace& live,
                                    std::vector<std::string>* notes);

  bool empty() const { return patterns_.empty(); }
  // Rewrites `*text`: at each position the longest pattern that stands there whole becomes its
  // placeholder (so <CWD> wins over the <HOME> it lives under). Returns true when it changed
  // anything; rewriting twice changes nothing the second time.
  bool Apply(std::string* text) const;
  // Longest first.
  const std::vector<Pattern>& patterns() const { return patterns_; }

 private:
  std::vector<Pattern> patterns_;
  // By first byte, the indices of the patterns that start with it, longest first.
  std::array<std::vector<std::uint32_t>, 256> by_first_byte_;
};

}  // namespace td::replay::internal
