// File: cassette/base/bulk_memory.h
//
// BulkMemory: where the bytes of a loaded cassette go (the bodies replay serves, the recorded
// request bodies its index compares), as a std::pmr::memory_resource that hands out space from
// large blocks and frees nothing until it is destroyed. The blocks are mapped with mmap and
// marked for transparent huge pages (MADV_HUGEPAGE, which the kernel's default "madvise" mode
// honours), so touching 100 MB of them costs about fifty page faults rather than 25,000; on a
// VM a fault costs ~10 us, and the faults alone were a third of the time a 10,000-interaction
// cassette took to load (docs/performance.md). Without huge pages the blocks are plain memory.
//
//   BulkMemory bulk;
//   std::pmr::string body(bytes, &bulk);
//
// Threading: one owner at a time; not thread-safe.
#pragma once

#include <cstddef>
#include <memory_resource>
#include <vector>

namespace td {

class BulkMemory final : public std::pmr::memory_resource {
 public:
  BulkMemory() = default;
  // Unmaps every block: whatever was allocated from it must be gone first.
  ~BulkMemory() override;
  BulkMemory(const BulkMemory&) = delete;
  BulkMemory& operator=(const BulkMemory&) = delete;

  // Bytes handed out so far, and bytes mapped (not all of them touched).
  size_t used() const { return used_; }
  size_t mapped() const { return mapped_; }

 private:
  struct Block {
    char* base = nullptr;
    size_t size = 0;
  };

  void* do_allocate(size_t bytes, size_t alignment) override;
  void do_deallocate(void*, size_t, size_t) override {}  // freed all at once
  bool do_is_equal(const std::pmr::memory_resource& other) const noexcept override {
    return this == &other;
  }
  // Maps a block of at least `bytes`; nullptr when the system has no memory to give.
  Block Map(size_t bytes);

  std::vector<Block> blocks_;
  char* next_ = nullptr;  // free space in the last block
  char* end_ = nullptr;
  size_t next_block_ = size_t{2} << 20;  // doubles up to kMaxBlock
  size_t used_ = 0;
  size_t mapped_ = 0;
};

}  // namespace td
