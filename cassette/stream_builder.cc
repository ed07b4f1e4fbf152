// Builds a cassette::Stream from timed chunks: the SSE framer cuts events, and this file keeps
// the arrival time of every piece of each event, so that replay with recorded chunking can
// write the pieces when they arrived.
#include "cassette/stream_builder.h"

#include <string>
#include <utility>

namespace td::cassette {

namespace {

// The event's last byte arrived with its last split when that split already covers it all
// (an event held back for its final CR, or the tail at Finish): that split is then the event's
// own arrival, not an earlier piece.
void FoldFinalSplit(StreamEvent* event) {
  if (!event->splits.empty() && event->splits.back().end >= event->bytes.size()) {
    event->at_us = event->splits.back().at_us;
    event->splits.pop_back();
  }
}

}  // namespace

void StreamBuilder::AddChunk(std::string_view bytes, Micros at_us) {
  if (bytes.empty()) return;
  last_at_us_ = at_us;
  if (stream_.kind == StreamKind::kChunks) {
    stream_.events.push_back(StreamEvent{std::string(bytes), at_us, {}});
    return;
  }
  const size_t before = framer_.pending().size();
  std::vector<std::string> done;
  framer_.Feed(bytes, &done);
  for (size_t k = 0; k < done.size(); ++k) {
    StreamEvent event{std::move(done[k]), at_us, {}};
    if (k == 0) {
      // Only the first event completed here can have started in an earlier chunk.
      event.splits = std::move(pending_splits_);
      pending_splits_.clear();
      FoldFinalSplit(&event);
    }
    stream_.events.push_back(std::move(event));
  }
  // Record this chunk's share of the event now in progress, if it delivered any of it.
  const size_t after = framer_.pending().size();
  const size_t had = done.empty() ? before : 0;
  if (after > had) pending_splits_.push_back(Split{after, at_us});
}

size_t StreamBuilder::pending_bytes() const { return framer_.pending().size(); }

Stream StreamBuilder::Finish(bool* incomplete) {
  bool cut = false;
  if (stream_.kind == StreamKind::kSse) {
    const bool complete = framer_.pending_complete();
    std::string rest = framer_.TakeRemainder();
    if (!rest.empty()) {
      StreamEvent event{std::move(rest), last_at_us_, std::move(pending_splits_)};
      FoldFinalSplit(&event);
      stream_.events.push_back(std::move(event));
      cut = !complete;
    }
  }
  pending_splits_.clear();
  last_at_us_ = 0;
  if (incomplete != nullptr) *incomplete = cut;
  Stream out = std::move(stream_);
  stream_ = Stream{};
  stream_.kind = out.kind;
  return out;
}

}  // namespace td::cassette
