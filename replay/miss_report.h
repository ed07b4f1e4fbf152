// File: replay/miss_report.h
//
// Why a live request got no recorded response: the nearest recorded interaction (the most
// matchers passing, then the fewest differences, then the closest body size; after VCR.py's
// find_requests_with_most_matches)
// and the JSON paths where it differs; or, when every recorded copy was already served under
// on-exhausted=error, which copies those were. Rendered as one paragraph for the error body the
// client sees and as a few log lines for whoever reads the proxy's stderr.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "cassette/model.h"
#include "replay/index.h"

namespace td::replay {

struct MissReport {
  enum class Kind { kNoMatch, kExhausted };
  Kind kind = Kind::kNoMatch;
  std::string request;  // "POST /v1/messages?beta=true"
  size_t recorded = 0;  // interactions in the index

  // kNoMatch: the nearest recorded interaction, if there is any.
  std::optional<size_t> nearest;
  std::string nearest_request;      // "POST /v1/messages (model claude-sonnet-4-5)"
  size_t matchers_passed = 0;       // of DefaultMatchers().size()
  std::vector<std::string> failed;  // names of the matchers that failed: "headers", "body"
  std::vector<std::string> diffs;   // the differences, live value first
  size_t diff_count = 0;

  // kExhausted: the recorded copies, all served already.
  std::vector<size_t> copies;

  // One paragraph, for the error body: "tapedeck replay: no recorded interaction matches POST
  // /v1/messages; nearest is #3 (...) which differs at: body.messages[1].content: ...".
  std::string Message() const;
  // The same for the log, one fact per line.
  std::vector<std::string> LogLines() const;
};

// Explains why `live` (redacted like the recordings) matched nothing in `index`.
// Cost: normalises `live` once and re-parses the bodies of the closest candidates (at most 32
// get a full diff); fine for an error path, not for the hot path.
MissReport ExplainMiss(const cassette::Request& live, const Index& index);

// Explains an exhausted lookup (`lookup.kind == kExhausted`).
MissReport ExplainExhausted(const cassette::Request& live, const Index& index,
                            const Index::Lookup& lookup);

}  // namespace td::replay
