// File: bench/soak_upstream.h
//
// The soak bench's fake upstream for record mode: plain HTTP/1.1 on 127.0.0.1 (a free port),
// a few threads with epoll and raw sockets. It answers every POST, on keep-alive connections,
// with the same chunked SSE stream: the head at once, then each event at its own offset from
// the request's arrival, one chunk per event.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "cassette/base/clock.h"
#include "cassette/base/unique_fd.h"

namespace td::bench::soak {

struct UpstreamOptions {
  std::string head;                 // status line and headers, the blank line included
  std::vector<std::string> events;  // each event's bytes (framed as one chunk each)
  std::vector<Micros> at_us;        // when each event is sent, from the request's arrival
  int threads = 2;
};

class FakeSseUpstream {
 public:
  // Listens and starts the threads; exits the process with a message if it cannot listen.
  explicit FakeSseUpstream(UpstreamOptions options);
  // Stops the threads and closes every connection.
  ~FakeSseUpstream();
  FakeSseUpstream(const FakeSseUpstream&) = delete;
  FakeSseUpstream& operator=(const FakeSseUpstream&) = delete;

  uint16_t port() const { return port_; }
  // Any thread.
  uint64_t accepted() const { return accepted_.load(std::memory_order_relaxed); }
  uint64_t responses() const { return responses_.load(std::memory_order_relaxed); }
  uint64_t bad_requests() const { return bad_requests_.load(std::memory_order_relaxed); }
  int64_t open_connections() const { return open_.load(std::memory_order_relaxed); }
  // Main thread. CPU time the upstream's threads used so far, in seconds.
  double CpuSeconds() const;

 private:
  struct Worker;
  void Run(Worker* worker);

  const UpstreamOptions options_;
  std::vector<std::string> chunks_;  // the events framed as chunks; the last one ends the body
  UniqueFd listener_;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> accepted_{0};
  std::atomic<uint64_t> responses_{0};
  std::atomic<uint64_t> bad_requests_{0};
  std::atomic<int64_t> open_{0};
  std::vector<std::unique_ptr<Worker>> workers_;
};

}  // namespace td::bench::soak
