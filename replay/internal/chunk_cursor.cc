// Event chunking of a stream as ranges of its framed chunks.
#include "replay/internal/chunk_cursor.h"

#include <algorithm>

#include "proxy/chunked_coding.h"

namespace td::replay::internal {

ChunkCursor::ChunkCursor(const PreparedResponse& response, size_t events)
    : response_(response), events_(std::min(events, response.event_ends.size())) {
  if (events_ == response.event_ends.size()) {
    end_chunk_ = response.chunks.size();
  } else {  // a fault cuts the stream: count the chunks before it
    size_t start = 0;
    for (size_t i = 0; i < events_; ++i) {
      end_chunk_ += proxy::FramedChunkSize(response.event_ends[i] - start);
      start = response.event_ends[i];
    }
  }
  SkipEmptyEvents();
}

void ChunkCursor::SkipEmptyEvents() {
  const size_t* ends = response_.event_ends.data();
  while (event_ < events_ && ends[event_] == stream_pos_) ++event_;
}

Micros ChunkCursor::NextArrival() {
  return response_.ArrivalOf(response_.event_ends[event_] - 1, &arrival_hint_);
}

void ChunkCursor::Take(ChunkRun* run) {
  const size_t end = response_.event_ends[event_++];
  const size_t size = end - stream_pos_;
  chunk_pos_ += proxy::FramedChunkSize(size);
  stream_pos_ = end;
  run->end = chunk_pos_;
  run->body_bytes += size;
  SkipEmptyEvents();
}

void ChunkCursor::TakeUpTo(size_t* room, ChunkRun* run) {
  if (done() || *room == 0) return;
  if (end_chunk_ - chunk_pos_ <= *room) {
    // Everything left fits (an instant stream, well under the watermark): one range, with no
    // walk over the events.
    const size_t stream_end = response_.event_ends[events_ - 1];
    *room -= end_chunk_ - chunk_pos_;
    run->end = chunk_pos_ = end_chunk_;
    run->body_bytes += stream_end - stream_pos_;
    stream_pos_ = stream_end;
    event_ = events_;
    return;
  }
  while (!done() && *room > 0) {
    const size_t start = chunk_pos_;
    Take(run);
    *room -= std::min(*room, chunk_pos_ - start);
  }
}

}  // namespace td::replay::internal
