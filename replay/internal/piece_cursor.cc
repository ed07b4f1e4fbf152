// Chunking modes as a lazy cursor over the prepared body.
#include "replay/internal/piece_cursor.h"

#include <algorithm>

namespace td::replay::internal {

std::uint64_t MixSeed(std::uint64_t seed, std::uint64_t salt) {
  std::uint64_t z = salt + 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return seed ^ z ^ (z >> 31);
}

PieceCursor::PieceCursor(const PreparedResponse& response, const Chunking& chunking, size_t limit,
                         size_t max_pieces, std::uint64_t salt, bool arrival_times)
    : response_(response),
      chunking_(chunking),
      limit_(std::min(limit, response.body_size())),
      max_pieces_(max_pieces),
      arrival_times_(arrival_times) {
  if (chunking.kind == ChunkingKind::kRandom) {
    rng_ = std::make_unique<std::mt19937_64>(MixSeed(chunking.seed, salt));
  }
}

// Random piece lengths: mostly small (cuts inside "data:", inside UTF-8 characters, across
// line ends), sometimes large (several events coalesced, as a busy network delivers them).
// std::mt19937_64's output is fixed by the standard; the bounded draws below are our own
// arithmetic (std::uniform_int_distribution differs between standard libraries).
size_t PieceCursor::RandomLength() {
  // A quarter of the pieces are 1-4 bytes, five in eight up to 64, one in eight up to 1 KiB.
  static constexpr std::uint64_t kMaxByClass[] = {4, 4, 64, 64, 64, 64, 64, 1024};
  std::mt19937_64& rng = *rng_;
  std::uint64_t max = kMaxByClass[rng() % 8];
  return static_cast<size_t>(1 + rng() % max);
}

bool PieceCursor::Next(Piece* piece) {
  if (pos_ >= limit_ || produced_ >= max_pieces_) return false;
  size_t end = pos_;
  Micros at = 0;
  switch (chunking_.kind) {
    case ChunkingKind::kEvent:  // a plain body: one write (a stream's events: ChunkCursor)
      end = limit_;
      break;
    case ChunkingKind::kRecorded:
      response_.ArrivalOf(pos_, &arrival_);
      end = response_.arrivals.empty() ? limit_ : response_.arrivals[arrival_].end;
      break;
    case ChunkingKind::kByte:
      end = pos_ + 1;
      break;
    case ChunkingKind::kRandom:
      end = pos_ + RandomLength();
      break;
  }
  end = std::clamp(end, pos_ + 1, limit_);
  if (arrival_times_) at = response_.ArrivalOf(end - 1, &arrival_);
  *piece = Piece{pos_, end, at};
  pos_ = end;
  ++produced_;
  return true;
}

size_t PieceCursor::NextRanges(proxy::ByteRange* out, size_t max, size_t* room) {
  size_t count = 0;
  Piece piece;
  size_t left = *room;
  while (count < max && left > 0 && Next(&piece)) {
    out[count++] = proxy::ByteRange{piece.begin, piece.end};
    left -= std::min(left, piece.end - piece.begin);
  }
  *room = left;
  return count;
}

}  // namespace td::replay::internal
