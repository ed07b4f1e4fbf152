// File: proxy/internal/write_batch.h
//
// The bytes of a connection's responses gathered for one system call (ServerExchange's batch):
// bytes of its own, in a growable buffer that, unlike std::string's resize, does not zero what
// the caller is about to overwrite (a whole stream can be framed into it in one pass), and
// bytes kept by reference (a replayed stream's chunks, framed once at load), which go to the
// socket from where they lie. Gather() lists both, in order, as iovecs for one writev.
//
// Threading: owned by one connection, on the event-loop thread.
#pragma once

#include <sys/uio.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstring>
#include <memory>

namespace td::proxy::internal {

class WriteBatch {
 public:
  // References kept at most; more are copied. Gather() needs at most 2 * kMaxReferences + 1
  // iovecs.
  static constexpr size_t kMaxReferences = 8;
  static constexpr size_t kMaxIovecs = 2 * kMaxReferences + 1;

  bool empty() const { return size() == 0; }
  // Every byte of the batch: its own and the referenced.
  size_t size() const { return owned_ + referenced_; }
  // The memory held for bytes of its own.
  size_t capacity() const { return capacity_; }

  // Makes room for `n` more bytes of its own at the end and returns where they start. The
  // caller must write all `n` of them before the batch is read or extended again.
  char* Extend(size_t n) {
    if (capacity_ - owned_ < n) Grow(owned_ + n);
    char* at = data_.get() + owned_;
    owned_ += n;
    return at;
  }
  // Gives back the last `n` bytes of an Extend() that were not needed (none referenced since).
  void Unextend(size_t n) { owned_ -= std::min(n, owned_ - owned_floor()); }
  void Append(const char* bytes, size_t n) {
    if (n > 0) std::memcpy(Extend(n), bytes, n);
  }
  // Adds `n` bytes at `bytes` without copying them; they must stay valid until the batch is
  // cleared. Past kMaxReferences, copies them.
  void AppendReference(const char* bytes, size_t n) {
    if (n == 0) return;
    if (count_ == kMaxReferences) return Append(bytes, n);
    references_[count_++] = Reference{owned_, bytes, n};
    referenced_ += n;
  }
  // The batch, in order, as at most kMaxIovecs iovecs into `out`; returns how many.
  int Gather(iovec* out) {
    if (count_ == 0) {  // the common case: bytes of its own only
      out[0] = iovec{data_.get(), owned_};
      return owned_ == 0 ? 0 : 1;
    }
    int n = 0;
    size_t from = 0;
    for (size_t i = 0; i < count_; ++i) {
      const Reference& ref = references_[i];
      if (ref.at > from) out[n++] = iovec{data_.get() + from, ref.at - from};
      out[n++] = iovec{const_cast<char*>(ref.bytes), ref.size};  // iovec is not const-correct
      from = ref.at;
    }
    if (owned_ > from) out[n++] = iovec{data_.get() + from, owned_ - from};
    return n;
  }
  // Forgets the bytes, keeping the memory for the next batch.
  void Clear() {
    owned_ = referenced_ = 0;
    count_ = 0;
  }
  // Forgets the bytes and frees the memory (a connection does not keep a large body's).
  void Release() {
    Clear();
    data_.reset();
    capacity_ = 0;
  }

 private:
  // Bytes kept by reference, sent after the first `at` bytes of the batch's own.
  struct Reference {
    size_t at = 0;
    const char* bytes = nullptr;
    size_t size = 0;
  };

  // Own bytes before the last reference: Unextend never takes them back.
  size_t owned_floor() const { return count_ == 0 ? 0 : references_[count_ - 1].at; }

  void Grow(size_t needed) {
    const size_t capacity = std::max({needed, 2 * capacity_, size_t{4096}});
    auto grown = std::make_unique_for_overwrite<char[]>(capacity);
    if (owned_ > 0) std::memcpy(grown.get(), data_.get(), owned_);
    data_ = std::move(grown);
    capacity_ = capacity;
  }

  std::unique_ptr<char[]> data_;
  size_t owned_ = 0;
  size_t capacity_ = 0;
  std::array<Reference, kMaxReferences> references_;
  size_t count_ = 0;
  size_t referenced_ = 0;
};

}  // namespace td::proxy::internal
