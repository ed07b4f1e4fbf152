// File: proxy/internal/bounded_queue.h
//
// BoundedQueue<T>: a FIFO between one producer thread and one consumer thread whose items are
// counted in bytes. Push() waits while the items queued or being processed hold `max_bytes` or
// more (one item larger than the cap is still taken when the queue is empty), so a consumer that
// falls behind slows the producer down instead of letting memory grow without bound. The record
// path's writer thread uses it: when the machine is too busy for the writer (it runs at a low
// priority), the event loop waits for it rather than queueing every finished interaction.
//
// Threading: Push() on one thread, Take()/Done() on another; Flush() and Stop() from the
// producer's thread.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>
#include <utility>

namespace td::proxy::internal {

template <class T>
class BoundedQueue {
 public:
  explicit BoundedQueue(size_t max_bytes) : max_bytes_(max_bytes) {}

  // Queues `item`, counted as `bytes`. Returns true when it had to wait for room first.
  bool Push(T item, size_t bytes) {
    std::unique_lock<std::mutex> lock(mu_);
    const bool full = bytes_ > 0 && bytes_ + bytes > max_bytes_;
    if (full) room_.wait(lock, [&] { return bytes_ == 0 || bytes_ + bytes <= max_bytes_; });
    bytes_ += bytes;
    items_.push_back(Entry{std::move(item), bytes});
    ++pending_;
    lock.unlock();
    wake_.notify_one();
    return full;
  }

  // Waits for the next item; std::nullopt once Stop() was called and nothing is left. The item
  // keeps counting against the cap until Done(bytes) says it was processed.
  std::optional<std::pair<T, size_t>> Take() {
    std::unique_lock<std::mutex> lock(mu_);
    wake_.wait(lock, [&] { return stop_ || !items_.empty(); });
    if (items_.empty()) return std::nullopt;
    Entry entry = std::move(items_.front());
    items_.pop_front();
    return std::make_pair(std::move(entry.item), entry.bytes);
  }

  // The item taken with these bytes has been processed: its room goes back to the producer.
  void Done(size_t bytes) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      bytes_ -= bytes;
      --pending_;
    }
    room_.notify_all();
    idle_.notify_all();
  }

  // Waits until every pushed item was processed.
  void Flush() {
    std::unique_lock<std::mutex> lock(mu_);
    idle_.wait(lock, [&] { return pending_ == 0; });
  }

  // Take() returns std::nullopt once the queue is empty.
  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    wake_.notify_all();
  }

  size_t bytes() const {
    std::lock_guard<std::mutex> lock(mu_);
    return bytes_;
  }

 private:
  struct Entry {
    T item;
    size_t bytes;
  };

  const size_t max_bytes_;
  mutable std::mutex mu_;
  std::condition_variable wake_;  // an item or Stop() for the consumer
  std::condition_variable room_;  // room for the producer
  std::condition_variable idle_;  // nothing pending, for Flush()
  std::deque<Entry> items_;       // guarded by mu_
  size_t bytes_ = 0;              // queued or being processed; guarded by mu_
  size_t pending_ = 0;            // pushed, not yet Done(); guarded by mu_
  bool stop_ = false;             // guarded by mu_
};

}  // namespace td::proxy::internal
