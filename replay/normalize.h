// File: replay/normalize.h
//
// What a request looks like to the matcher: method, path, sorted query, the chosen headers and
// the body with volatile text rewritten (dates, temp paths, ids) and ignored JSON paths erased.
// Two requests match when their normalised forms are equal; a JSON body compares as JSON (key
// order and whitespace do not matter). Presets bundle the options common clients need.
//
//   Result<MatchOptions> options = ApplyPreset("agent-cli", MatchOptions{});
//   Result<RequestNormalizer> normalizer = RequestNormalizer::Create(*options);
//   NormalizedRequest n = normalizer->Normalize(request);
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cassette/base/status.h"
#include "cassette/model.h"

namespace td::replay {

// One rewrite of the body text, applied before the body is parsed as JSON (so a replacement
// must keep the JSON valid: no quotes or backslashes). Either a user regex or a built-in
// scanner (hand-written, linear, safe on multi-megabyte bodies; see docs/matching.md).
struct Normalizer {
  std::string pattern;      // ECMAScript regex; each match is replaced by `replacement`
  std::string replacement;  // may use $1, $&... (std::regex_replace format)
  std::string builtin;      // when set, a built-in scanner by name; pattern is then unused
  friend bool operator==(const Normalizer&, const Normalizer&) = default;
};

// Parses a --normalize flag: "REGEX=>REPLACEMENT", or "REGEX" alone (replaced by
// "<NORMALIZED>"), or "builtin:NAME". Errors name the flag value.
Result<Normalizer> ParseNormalizer(std::string_view spec);
// The names of the built-in scanners: "cwd", "git-status", "todays-date", "iso-date", "uuid",
// "temp-path", "home-path", "os-version".
const std::vector<std::string_view>& BuiltinNormalizerNames();

// Where an agent ran: the paths and the name it embeds in its requests (a cassette header's
// "recorded_by"."workspace", or what exec's command runs in now). "" when not known.
struct Workspace {
  std::string cwd;   // the working directory
  std::string home;  // HOME
  std::string user;  // the user name
  std::string tmp;   // the temp directory
  friend bool operator==(const Workspace&, const Workspace&) = default;
};

struct MatchOptions {
  std::vector<std::string> ignore_json_paths;    // cassette::JsonPath syntax: "metadata.user_id"
  std::vector<std::string> ignore_headers;       // never matched, even when in match_headers
  std::vector<std::string> match_headers;        // headers that must be equal (default: none)
  std::vector<Normalizer> normalizers;           // applied in order
  std::vector<std::string> ignore_query_params;  // dropped from the query before comparing
  // The workspace normalisers (docs/matching.md, "Cassettes that move between checkouts"):
  // when both are set, each part that both know (cwd, home, tmp, user) is rewritten in every
  // body, before `normalizers`: each side's value, in the spellings a body may hold (as is,
  // JSON-escaped, and for paths the slug agent CLIs derive, "/home/u/p" -> "-home-u-p"),
  // becomes <CWD>, <HOME>, <TMPDIR>, <USER> (slugs <CWD-SLUG>...), longest first. With one
  // of them unset there are none.
  std::optional<Workspace> recorded_workspace;  // where the cassette was recorded
  std::optional<Workspace> live_workspace;      // where it is replayed
};

// Adds a preset's settings to `options` (duplicates are harmless). Presets:
//   anthropic: ignore metadata.user_id; match anthropic-version and anthropic-beta.
//   openai:    ignore user, safety_identifier and prompt_cache_key; match no headers.
//   agent-cli: anthropic, plus built-in normalisers for what agent CLIs (Claude Code) put in
//              their system prompt: working directory, git status, today's date, ISO dates,
//              UUIDs, temp and home paths, OS version. (tools/ also sets live_workspace for it,
//              and the cassette's recorded_workspace: the workspace normalisers.)
// An unknown name is an error listing the known ones.
Result<MatchOptions> ApplyPreset(std::string_view name, MatchOptions options);
const std::vector<std::string_view>& PresetNames();

// A request reduced to what matching compares.
struct NormalizedRequest {
  std::string origin;  // forward-proxy mode's "https://host:443"; empty in base-URL mode
  std::string method;
  std::string path;
  // Without ignored parameters, sorted by name (stable: repeated names keep their order).
  std::vector<std::pair<std::string, std::string>> query;
  // Only match_headers minus ignore_headers, names lower-cased, sorted by name; a header the
  // request lacks is absent.
  std::vector<std::pair<std::string, std::string>> headers;
  // The body after normalisers. When it parses as JSON, `body_json` holds it (ignored paths
  // erased) and `body_is_json` is true; otherwise `body_text` holds the normalised text.
  bool body_is_json = false;
  nlohmann::json body_json;
  std::string body_text;

  // A canonical spelling of the body: equal for equal bodies, different otherwise ("j" + the
  // sorted, compact JSON, or "t" + the text).
  std::string CanonicalBody() const;
};

// A fingerprint of a canonical body (NormalizedRequest::CanonicalBody()): its hash and length.
// Equal canonical bodies have equal keys; different ones nearly always differ, so two bodies
// whose keys meet are compared in full before they count as equal (replay/index.h).
struct BodyKey {
  std::uint64_t hash = 0;
  std::uint64_t size = 0;  // bytes of the canonical body
  friend bool operator==(const BodyKey&, const BodyKey&) = default;
};

// Compiled MatchOptions (regexes, JSON paths): build once at load, then Normalize per request.
// Copyable and cheap to copy (compiled state is shared, immutable). Thread-compatible.
class RequestNormalizer {
 public:
  // Errors (kInvalidArgument) name the bad regex, built-in name or JSON path.
  static Result<RequestNormalizer> Create(MatchOptions options);

  NormalizedRequest Normalize(const cassette::Request& request) const;
  // Everything but the body: origin, method, path, query, headers.
  NormalizedRequest NormalizeHead(const cassette::Request& request) const;
  // Whether the header `name` (any case) is one of the --match-header names: the only headers
  // a match looks at.
  bool MatchesHeader(std::string_view name) const;
  // Whether NormalizeHead(request) is the request's origin, method and path alone, as they are
  // (no query, and no --match-header names): the index then keys it without the copy.
  bool HeadIsVerbatim(const cassette::Request& request) const;
  // The body alone, into `out` (body_is_json, body_json, body_text).
  void NormalizeBody(std::string_view body, NormalizedRequest* out) const;
  // The normalisers applied to `text`, nothing else.
  std::string ApplyNormalizers(std::string_view text) const;
  // The key of the canonical body NormalizeBody(body) gives, read off the body's text in one
  // pass without a JSON tree when it can be (replay/internal/canonical_key.h), else from the
  // canonical body built the slow way, which then goes to `*canonical` when given.
  BodyKey BodyKeyOf(std::string_view body, std::optional<std::string>* canonical = nullptr) const;
  // The key of a canonical body.
  static BodyKey KeyOf(std::string_view canonical);

  const MatchOptions& options() const;
  // What the workspace normalisers rewrite and what they skip and why, one line per part
  // ("cwd: /a/p (recorded), /b/p (live) and their slugs", "user: skipped: ..."), for the log.
  // Empty when there are none.
  const std::vector<std::string>& workspace_notes() const;

 private:
  struct Compiled;
  explicit RequestNormalizer(std::shared_ptr<const Compiled> compiled)
      : compiled_(std::move(compiled)) {}
  std::shared_ptr<const Compiled> compiled_;
};

// One-off convenience: compiles `options` and normalises `request`.
Result<NormalizedRequest> Normalize(const cassette::Request& request, const MatchOptions& options);

}  // namespace td::replay
