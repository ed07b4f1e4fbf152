// File: proxy/internal/write_batch.h
//
// The bytes of a connection's responses gathered for one system call (ServerExchange's batch):
// a growable buffer that, unlike std::string's resize, does not zero what the caller is about to
// overwrite, so a whole stream can be framed into it in one pass.
//
// Threading: owned by one connection, on the event-loop thread.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <memory>

namespace td::proxy::internal {

class WriteBatch {
 public:
  bool empty() const { return size_ == 0; }
  size_t size() const { return size_; }
  size_t capacity() const { return capacity_; }
  char* data() { return data_.get(); }

  // Makes room for `n` more bytes at the end and returns where they start. The caller must
  // write all `n` of them before the batch is read or extended again.
  char* Extend(size_t n) {
    if (capacity_ - size_ < n) Grow(size_ + n);
    char* at = data_.get() + size_;
    size_ += n;
    return at;
  }
  // Gives back the last `n` bytes of an Extend() that were not needed.
  void Unextend(size_t n) { size_ -= std::min(n, size_); }
  void Append(const char* bytes, size_t n) {
    if (n > 0) std::memcpy(Extend(n), bytes, n);
  }
  // Forgets the bytes, keeping the memory for the next batch.
  void Clear() { size_ = 0; }
  // Forgets the bytes and frees the memory (a connection does not keep a large body's).
  void Release() {
    data_.reset();
    size_ = capacity_ = 0;
  }

 private:
  void Grow(size_t needed) {
    const size_t capacity = std::max({needed, 2 * capacity_, size_t{4096}});
    auto grown = std::make_unique_for_overwrite<char[]>(capacity);
    if (size_ > 0) std::memcpy(grown.get(), data_.get(), size_);
    data_ = std::move(grown);
    capacity_ = capacity;
  }

  std::unique_ptr<char[]> data_;
  size_t size_ = 0;
  size_t capacity_ = 0;
};

}  // namespace td::proxy::internal
