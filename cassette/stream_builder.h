// File: cassette/stream_builder.h
//
// Turns the chunks a recording reads off the wire, each stamped with its arrival offset, into a
// cassette::Stream: for SSE, one StreamEvent per event with the pieces that arrived earlier as
// Splits; for other bodies, one StreamEvent per chunk. Pure: no clock, no I/O.
#pragma once

#include <string_view>
#include <vector>

#include "cassette/model.h"
#include "cassette/sse.h"

namespace td::cassette {

class StreamBuilder {
 public:
  explicit StreamBuilder(StreamKind kind) { stream_.kind = kind; }

  // Adds one chunk that arrived at `at_us`. Chunks are not events; they may split an event
  // anywhere or carry several.
  // SSE: each event becomes a StreamEvent whose at_us is the arrival time of the chunk that
  // delivered its last byte, and whose splits hold {where that chunk's bytes ended inside the
  // event, its at_us} for each earlier chunk that delivered part of it (ascending, each end
  // strictly inside the event). Events completed by one chunk share its at_us. An event whose
  // final empty line is a lone CR is only known to be complete when the next byte arrives (see
  // SseFramer); its at_us is still the arrival of its own last byte, not of that next byte.
  // kChunks: each non-empty chunk is one StreamEvent with no splits; empty chunks are skipped.
  void AddChunk(std::string_view bytes, Micros at_us);
  // Bytes of an SSE event that has started but not ended.
  size_t pending_bytes() const;
  // Ends the stream. An incomplete trailing SSE event is kept as the last event (its bytes as
  // they came, with its splits) and `*incomplete` is set, when given (false otherwise, and for
  // a last event held back only for its CR). Returns the stream and resets the builder.
  Stream Finish(bool* incomplete = nullptr);

 private:
  Stream stream_;
  SseFramer framer_;
  std::vector<Split> pending_splits_;  // arrivals inside the event in progress, ascending
  Micros last_at_us_ = 0;
};

}  // namespace td::cassette
