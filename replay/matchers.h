// File: replay/matchers.h
//
// Small named matchers over normalised requests (origin, method, path, query, headers, body), each
// saying whether two requests agree on one aspect and, when they do not, where: human lines
// that name JSON paths, `body.messages[2].content[0].text: "hi" != "hello"`. The left value is
// always the live request's, the right one the recording's. Used to explain misses; the fast
// hit path compares canonical keys instead (replay/index.h), and the two agree.
#pragma once

#include <cstddef>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "replay/normalize.h"

namespace td::replay {

struct MatchResult {
  bool ok = true;
  // At most a few dozen lines; when there were more, the last line says how many were left out.
  std::vector<std::string> diffs;
  // Every difference found, including those left out of `diffs`.
  size_t diff_count = 0;
};

// `origin: https://api.openai.com:443 != https://api.anthropic.com:443` (forward-proxy mode).
MatchResult MatchOrigin(const NormalizedRequest& live, const NormalizedRequest& recorded);
// Lines such as `method: GET != POST`.
MatchResult MatchMethod(const NormalizedRequest& live, const NormalizedRequest& recorded);
// `path: /v1/messages != /v1/complete`.
MatchResult MatchPath(const NormalizedRequest& live, const NormalizedRequest& recorded);
// `query.limit: 20 != 10`, `query.after: missing in request`.
MatchResult MatchQuery(const NormalizedRequest& live, const NormalizedRequest& recorded);
// `header anthropic-beta: absent != "x"`.
MatchResult MatchHeaders(const NormalizedRequest& live, const NormalizedRequest& recorded);
// JSON compares as JSON: `body.temperature: missing in request`, `body.max_tokens: 100 != 200`
// (1 and 1.0 differ, as they would on the wire). Text bodies name the first differing offset.
MatchResult MatchBody(const NormalizedRequest& live, const NormalizedRequest& recorded);

using MatchFn = MatchResult (*)(const NormalizedRequest& live, const NormalizedRequest& recorded);
struct NamedMatcher {
  std::string_view name;  // "origin", "method", "path", "query", "headers", "body"
  MatchFn match;
};
// Every matcher, cheapest first. A request matches a recording when all of them pass.
const std::vector<NamedMatcher>& DefaultMatchers();

// The differences between two JSON documents, as lines rooted at `root` ("body"); at most
// `max_lines` lines are kept (plus one "... and N more" line), all are counted.
MatchResult DiffJson(const nlohmann::json& live, const nlohmann::json& recorded,
                     std::string_view root, size_t max_lines = 20);

// One place where two JSON documents differ, as the walk behind DiffJson finds it. `a` and `b`
// are the values at `path` on each side, nullptr where that side lacks the member or element;
// when both are set they differ in type or as scalars (1 and 1.0 differ, as they do on the
// wire). `member` is the object key the path ends in ("" for an array element or the root).
// The pointers and `member` are valid during the callback only.
struct JsonDifference {
  std::string path;  // "body.messages[2].content[0].text"
  std::string_view member;
  const nlohmann::json* a;
  const nlohmann::json* b;
};

// Calls `fn` for every difference between `a` and `b`, paths rooted at `root`: objects member by
// member in key order (a member one side lacks is one difference, not walked into), arrays
// element by element, everything else by value. DiffJson is built on it; so is
// `tapedeck cassette diff` (tools/cassette_diff.h).
void ForEachJsonDifference(const nlohmann::json& a, const nlohmann::json& b, std::string_view root,
                           const std::function<void(const JsonDifference&)>& fn);

// `parent` + ".key", or `parent["odd key"]` when the key is not an identifier: the path spelling
// of DiffJson's lines.
std::string JsonMemberPath(std::string_view parent, std::string_view key);

// A short spelling of any JSON value for a diff line: strings as QuoteShortened (a window
// around byte `offset`), other values compact and cut to about 60 bytes with "...".
std::string ShortJson(const nlohmann::json& value, size_t offset = 0);

// Two differing values spelt for one diff line, as ShortJson: when both are strings, each is a
// window around the first byte where they differ.
std::pair<std::string, std::string> ShortJsonPair(const nlohmann::json& a, const nlohmann::json& b);

// `value` quoted and escaped as JSON; when longer than `max_chars`, a window around byte
// `offset` with "..." on the cut sides (never cutting a UTF-8 character).
std::string QuoteShortened(std::string_view value, size_t offset = 0, size_t max_chars = 60);

}  // namespace td::replay
