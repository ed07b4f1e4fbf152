// BulkMemory: a bump allocator over mmap'd blocks marked for transparent huge pages.
#include "cassette/base/bulk_memory.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstdint>
#include <new>

namespace td {
namespace {

constexpr size_t kHugePage = size_t{2} << 20;
constexpr size_t kMaxBlock = size_t{64} << 20;

size_t RoundUp(size_t n, size_t to) { return (n + to - 1) / to * to; }

}  // namespace

BulkMemory::~BulkMemory() {
  for (const Block& b : blocks_) ::munmap(b.base, b.size);
}

BulkMemory::Block BulkMemory::Map(size_t bytes) {
  const size_t size = RoundUp(bytes, kHugePage);
  // One huge page more than needed, to start the block on a huge page boundary; the rest is
  // given back at once.
  void* raw =
      ::mmap(nullptr, size + kHugePage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) return {};
  auto* start = static_cast<char*>(raw);
  auto* aligned =
      reinterpret_cast<char*>(RoundUp(reinterpret_cast<std::uintptr_t>(start), kHugePage));
  if (aligned > start) ::munmap(start, static_cast<size_t>(aligned - start));
  char* tail = aligned + size;
  char* raw_end = start + size + kHugePage;
  if (raw_end > tail) ::munmap(tail, static_cast<size_t>(raw_end - tail));
#ifdef MADV_HUGEPAGE
  ::madvise(aligned, size, MADV_HUGEPAGE);  // a hint: without huge pages, plain pages
#endif
  return {aligned, size};
}

void* BulkMemory::do_allocate(size_t bytes, size_t alignment) {
  auto aligned_next = [&] {
    return reinterpret_cast<char*>(
        RoundUp(reinterpret_cast<std::uintptr_t>(next_), alignment == 0 ? 1 : alignment));
  };
  if (next_ == nullptr || aligned_next() + bytes > end_) {
    // A request larger than a quarter of the next block gets a block of its own, so the space
    // left in the current one is not wasted.
    if (bytes > next_block_ / 4) {
      Block own = Map(bytes);
      if (own.base == nullptr) throw std::bad_alloc();
      blocks_.push_back(own);
      mapped_ += own.size;
      used_ += bytes;
      return own.base;
    }
    Block block = Map(next_block_);
    if (block.base == nullptr) throw std::bad_alloc();
    blocks_.push_back(block);
    mapped_ += block.size;
    next_ = block.base;
    end_ = block.base + block.size;
    next_block_ = std::min(next_block_ * 2, kMaxBlock);
  }
  char* out = aligned_next();
  next_ = out + bytes;
  used_ += bytes;
  return out;
}

}  // namespace td
