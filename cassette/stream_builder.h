// File: cassette/stream_builder.h
//
// Turns the chunks a recording reads off the wire, each stamped with its arrival offset, into a
// cassette::Stream: for SSE, one StreamEvent per event with the pieces that arrived earlier as
// Splits; for other bodies, one StreamEvent per chunk. Pure: no clock, no I/O.
#pragma once

#include <string_view>

#include "cassette/model.h"
#include "cassette/sse.h"

namespace td::cassette {

class StreamBuilder {
 public:
  explicit StreamBuilder(StreamKind kind) { stream_.kind = kind; }

  // Adds one chunk that arrived at `at_us`. Chunks are not events; they may split an event
  // anywhere or carry several.
  void AddChunk(std::string_view bytes, Micros at_us);
  // Bytes of an SSE event that has started but not ended.
  size_t pending_bytes() const;
  // Ends the stream. An incomplete trailing SSE event is kept as the last event (its bytes as
  // they came) and `*incomplete` is set, when given. Returns the stream.
  Stream Finish(bool* incomplete = nullptr);

 private:
  Stream stream_;
  SseFramer framer_;
  std::vector<Split> pending_splits_;  // arrivals inside the event in progress
  Micros last_at_us_ = 0;
};

}  // namespace td::cassette
