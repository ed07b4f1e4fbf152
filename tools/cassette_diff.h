// File: tools/cassette_diff.h
//
// `tapedeck cassette diff A B`: what changed between two recordings of the same conversations,
// interaction by interaction, for the drift report of a re-record job (docs/cassettes.md). A pure
// function from two cassettes to a CassetteDiff, and two renderings of it (text and JSON).
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cassette/base/status.h"
#include "cassette/model.h"
#include "replay/normalize.h"

namespace td::cli {

struct DiffOptions {
  // How requests pair: the options replay matches live requests with (Config::Match()).
  replay::MatchOptions match;
  // --compare-timing: differences of timing alone count too (DiffCassettes says which).
  bool compare_timing = false;
};

enum class ChangeKind {
  kStatus,         // response.status
  kChanged,        // a value at a JSON path (also truncated, timing values)
  kFieldAdded,     // an object member only B has
  kFieldGone,      // an object member only A has
  kElementAdded,   // an array element only B has
  kElementGone,    // an array element only A has
  kTypeChanged,    // string -> number, JSON -> text, a body -> a stream, ...
  kModelChanged,   // a value at a member named "model"
  kHeaderAdded,    // a header (by name, case-insensitive) only B has
  kHeaderRemoved,  // only A has
  kHeaderChanged,  // its values differ
  kEventAdded,     // a stream event only B has (events pair by SSE type, in order)
  kEventRemoved,   // only A has
};
// "status", "changed", "field added", "field gone", "element added", "element gone",
// "type changed", "model changed", "header added", "header removed", "header changed",
// "event added", "event removed": the "kind" of --json.
std::string_view ChangeKindName(ChangeKind kind);

// One difference. Paths: "response.status", "request.headers.user-agent",
// "response.body.content[0].text", "response.events.content_block_delta[3].delta.text",
// "recorded_at", "truncated". Values are whole (renderers shorten them); `from` is absent when
// A has nothing there, `to` when B has nothing.
struct DiffChange {
  ChangeKind kind = ChangeKind::kChanged;
  std::string path;
  std::optional<nlohmann::json> from;
  std::optional<nlohmann::json> to;
};

// An interaction of one side only.
struct UnpairedInteraction {
  size_t index = 0;
  std::string request;  // "POST /v1/messages (model claude-x)"
};

// Two interactions that pair, and how they differ.
struct PairDiff {
  size_t a = 0;
  size_t b = 0;
  std::string key;  // A's request as a person reads it: "POST /v1/messages (model claude-x)"
  // True: equal match keys (replay of A would serve B's request from a). False: paired by
  // method, path, query and matched headers alone; the request bodies differ (the changes say
  // where), so replay of A would miss B's request.
  bool same_key = true;
  std::vector<DiffChange> changes;
};

struct CassetteDiff {
  size_t a_interactions = 0;
  size_t b_interactions = 0;
  size_t pairs = 0;                        // pairs compared, changed or not
  std::vector<DiffChange> cassette;        // of the files themselves (created_at, --compare-timing)
  std::vector<UnpairedInteraction> added;  // in B only, in B's order
  std::vector<UnpairedInteraction> removed;  // in A only, in A's order
  std::vector<PairDiff> changed;             // pairs with changes, in A's order

  bool same() const {
    return cassette.empty() && added.empty() && removed.empty() && changed.empty();
  }
};

// Compares `a` (the old recording) with `b` (the new one). Interactions pair by match key (the
// key replay uses, replay::Index::Key, under `options.match`), repeated keys first with first in
// recorded order; what is left pairs by method, path, query and matched headers, again in
// order; the rest is added (B) or removed (A). A pair compares:
//   - the request: headers; for pairs of different keys, the body as matching sees it (after
//     normalisers, ignored paths erased);
//   - the response: status, headers, the body (JSON path by path, or as text), or the stream's
//     events paired by SSE event type in order (each event's data path by path);
//   - truncated (and with compare_timing: recorded_at, timing, each event's at_us and splits).
// Headers named in match.ignore_headers are no difference. Unless compare_timing, neither is
// what changes with every recording: a volatile header (cassette::IsVolatileHeader), a value
// that cassette::MaskVolatileJson masks on both sides to the same thing ("msg_01A" ->
// "msg_01B" at "id"; "created"), a ping event or an SSE comment, the cassettes' created_at.
// Errors (kInvalidArgument): `options.match` does not compile. Pure; any thread.
Result<CassetteDiff> DiffCassettes(const cassette::Cassette& a, const cassette::Cassette& b,
                                   const DiffOptions& options);

// The report for people, ending in a newline:
//   --- old.jsonl (3 interactions)
//   +++ new.jsonl (3 interactions)
//   added B#2: GET /v1/models
//   removed A#2: GET /v1/models?limit=5
//   changed A#0 -> B#0: POST /v1/messages (model claude-x)
//     response.body.content[0].text: "Hello there" -> "Hi there"
//   different: 1 of 2 pairs changed, 1 added, 1 removed
// At most `max_changes` lines per pair, then a line saying how many more --json lists.
std::string RenderDiffText(const CassetteDiff& diff, std::string_view name_a,
                           std::string_view name_b, size_t max_changes = 20);

// One JSON object, indented, ending in a newline: {"same": bool, "cassette": [changes],
// "added": [{"b": j, "request": ...}], "removed": [{"a": i, "request": ...}], "changed": [{"a":
// i, "b": j, "key": ..., "same_key": bool, "changes": [{"kind", "path", "from", "to"}]}]}
// ("from"/"to" left out where a side has nothing).
std::string RenderDiffJson(const CassetteDiff& diff);

}  // namespace td::cli
