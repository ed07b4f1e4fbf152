// File: replay/internal/chunk_cursor.h
//
// The default chunking of a stream, one write per event, over PreparedResponse::chunks, where
// every event is already framed as its chunk: consecutive events are consecutive bytes, so the
// events due together are one range, handed to ResponseSink::WriteChunks as it lies. Walks the
// chunks in order, reading each one's size from its size line. Every other chunking, and a
// plain body, is PieceCursor's.
#pragma once

#include <cstddef>

#include "replay/player.h"

namespace td::replay::internal {

// Events' chunks: bytes [begin, end) of PreparedResponse::chunks.
struct ChunkRun {
  size_t begin = 0;
  size_t end = 0;
  size_t body_bytes = 0;  // the events' own bytes, framing not counted
  bool empty() const { return begin == end; }
};

class ChunkCursor {
 public:
  // Plays the first `events` events of `response`, a stream that must outlive the cursor.
  ChunkCursor(const PreparedResponse& response, size_t events);

  // True once every event to play has been taken.
  bool done() const { return event_ >= events_; }
  // An empty run where the next event's chunk starts, for Take() and TakeUpTo() to extend.
  ChunkRun StartRun() const { return ChunkRun{at_.chunk, at_.chunk, 0}; }
  // When the next event's last byte had arrived; done() must be false.
  Micros NextArrival();
  // Adds the next event to `run`, which must end where that event starts; done() must be
  // false.
  void Take(ChunkRun* run);
  // For instant timing, which ignores arrival times: adds every event left to `run` when their
  // chunks fit in `*room`, or else events until one uses up the room; takes the bytes added
  // from `*room`. Adds nothing when `*room` is 0.
  void TakeUpTo(size_t* room, ChunkRun* run);

 private:
  // Reads the size of the next chunk to take, if any.
  void ReadNext();

  const PreparedResponse& response_;
  size_t events_;                         // how many events to play
  PreparedResponse::StreamPosition end_;  // where the last of them ends
  size_t event_ = 0;                      // the next event
  PreparedResponse::StreamPosition at_;   // where it starts
  size_t next_size_ = 0;                  // its bytes...
  size_t next_framed_ = 0;                // ...and its chunk's
  size_t arrival_hint_ = 0;               // for PreparedResponse::ArrivalOf
};

}  // namespace td::replay::internal
