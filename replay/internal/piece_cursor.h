// File: replay/internal/piece_cursor.h
//
// Cuts a prepared body into the writes of one chunking mode, lazily (byte chunking of a large
// body allocates nothing), each piece stamped with the arrival time of its last byte. The
// concatenation of every piece is the body's first `limit` bytes, whatever the mode. A stream
// in event chunking, the default, is ChunkCursor's instead: its writes are framed at load.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <random>

#include "replay/play_options.h"
#include "replay/player.h"

namespace td::replay::internal {

struct Piece {
  size_t begin = 0;
  size_t end = 0;
  Micros at_us = 0;  // when the piece's last byte had arrived, in the recording
};

class PieceCursor {
 public:
  // Plays bytes [0, limit) of the body (a stream's unframed bytes: only their positions are
  // used, PreparedResponse::body_size()) in at most `max_pieces` pieces. `salt` varies
  // random cuts between interactions. `response` must outlive the cursor. Without
  // `arrival_times` (instant timing ignores them), every piece's at_us is 0 and the search for
  // it is skipped; the pieces' bytes are the same.
  PieceCursor(const PreparedResponse& response, const Chunking& chunking, size_t limit,
              size_t max_pieces, std::uint64_t salt, bool arrival_times = true);

  // The next piece; false when the bytes or the piece budget ran out.
  bool Next(Piece* piece);
  // For instant timing, which ignores arrival times: the next pieces, as Next() would cut them,
  // into `out` (at most `max`), stopping after the piece that uses up `*room` bytes (each piece
  // takes its size from it); returns how many.
  size_t NextRanges(proxy::ByteRange* out, size_t max, size_t* room);
  size_t produced() const { return produced_; }
  // True once Next() would return false.
  bool done() const { return pos_ >= limit_ || produced_ >= max_pieces_; }

 private:
  size_t RandomLength();

  const PreparedResponse& response_;
  Chunking chunking_;
  size_t limit_;
  size_t max_pieces_;
  bool arrival_times_;
  size_t pos_ = 0;
  size_t produced_ = 0;
  size_t arrival_ = 0;  // the arrival containing the byte last asked about (ArrivalOf's hint)
  // kRandom only: 2.5 KB of state, costly to seed (and to allocate with every play).
  std::unique_ptr<std::mt19937_64> rng_;
};

// The random generator's seed for `seed` and `salt` (splitmix64 of the salt, xor the seed).
std::uint64_t MixSeed(std::uint64_t seed, std::uint64_t salt);

}  // namespace td::replay::internal
