// File: proxy/recording_tap.h
//
// The recording side of the record path, with no sockets: RecordingTap watches one forwarded
// exchange (the response head, every body piece as it arrives) and stamps arrival offsets from
// an injected Clock, relative to when the request was forwarded; it then builds the
// cassette::Interaction, which cassette::ScrubForDisk (cassette/scrub.h) cleans before it is
// written. Unit-tested with a fake clock
// (tests/unit/proxy/recording_tap_test.cc).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "cassette/base/clock.h"
#include "cassette/model.h"
#include "cassette/stream_builder.h"

namespace td::proxy {

// How a response body is stored: text/event-stream -> kSse; any other body that is not framed
// by Content-Length (chunked or read until close) and not JSON -> kChunks (application/x-ndjson,
// jsonl, ...); otherwise nullopt: a plain Body (JSON, or a Content-Length body).
std::optional<cassette::StreamKind> StreamKindFor(const cassette::Headers& headers,
                                                  bool length_framed);

class RecordingTap {
 public:
  // No cap on what is kept of a response body.
  static constexpr uint64_t kUnlimited = UINT64_MAX;

  // Stamps the start (clock.NowMicros(), the moment the request is forwarded) and the
  // recorded-at wall time. Keeps a copy of `request` with hop-by-hop fields and Host removed
  // (Host names the proxy, not the API). Keeps at most `max_body_bytes` of the response body:
  // the rest is counted, not kept, and the interaction is recorded truncated saying so, so a
  // recording's memory is bounded by the cap whatever the upstream sends. `clock` must outlive
  // the tap.
  RecordingTap(const Clock* clock, uint64_t seq, const cassette::Request& request,
               uint64_t max_body_bytes = kUnlimited);

  // The response head arrived `at_us` (an elapsed_us() reading). `headers` as received;
  // hop-by-hop fields are dropped.
  void OnHead(int status, const cassette::Headers& headers, bool length_framed, Micros at_us);
  // A body piece (one upstream read) arrived `at_us`. The proxy reads the clock when bytes
  // arrive, forwards them, and records them after: the client never waits for the recording.
  void OnBody(std::string_view bytes, Micros at_us);
  // Builds the interaction. `truncated` says why the response ended early, if it did; a body
  // over the cap is truncated too ("body over --max-body-bytes: kept the first N of M bytes"),
  // after any other reason.
  cassette::Interaction Finish(std::optional<std::string> truncated);

  bool head_seen() const { return head_seen_; }
  // Time since the request was forwarded: the arrival stamp to pass to OnHead and OnBody.
  Micros elapsed_us() const;
  // Body bytes that arrived (kept or not).
  uint64_t body_bytes() const { return body_bytes_; }

 private:
  const Clock* clock_;
  Micros start_us_;
  cassette::Interaction interaction_;
  std::optional<cassette::StreamBuilder> builder_;
  bool head_seen_ = false;
  uint64_t max_body_bytes_;
  uint64_t body_bytes_ = 0;
};

}  // namespace td::proxy
