// Event chunking of a stream as ranges of its framed chunks.
#include "replay/internal/chunk_cursor.h"

#include <algorithm>
#include <string_view>

#include "proxy/chunked_coding.h"

namespace td::replay::internal {

ChunkCursor::ChunkCursor(const PreparedResponse& response, size_t events)
    : response_(response),
      events_(std::min(events, response.events)),
      end_(response.PositionAfter(events_)) {
  ReadNext();
}

void ChunkCursor::ReadNext() {
  if (done()) return;
  const std::string_view chunks = response_.chunks;
  std::string_view rest = chunks.substr(at_.chunk);
  std::string_view payload;
  if (!proxy::TakeChunk(&rest, &payload)) {  // framed at load, so never; but never read past it
    events_ = event_;
    return;
  }
  next_size_ = payload.size();
  next_framed_ = chunks.size() - at_.chunk - rest.size();
}

Micros ChunkCursor::NextArrival() {
  return response_.ArrivalOf(at_.stream + next_size_ - 1, &arrival_hint_);
}

void ChunkCursor::Take(ChunkRun* run) {
  at_.chunk += next_framed_;
  at_.stream += next_size_;
  run->end = at_.chunk;
  run->body_bytes += next_size_;
  ++event_;
  ReadNext();
}

void ChunkCursor::TakeUpTo(size_t* room, ChunkRun* run) {
  if (done() || *room == 0) return;
  if (end_.chunk - at_.chunk <= *room) {
    // Everything left fits (an instant stream, well under the watermark): one range, with no
    // walk over the chunks.
    *room -= end_.chunk - at_.chunk;
    run->end = end_.chunk;
    run->body_bytes += end_.stream - at_.stream;
    at_ = end_;
    event_ = events_;
    return;
  }
  while (!done() && *room > 0) {
    const size_t start = at_.chunk;
    Take(run);
    *room -= std::min(*room, at_.chunk - start);
  }
}

}  // namespace td::replay::internal
