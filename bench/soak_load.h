// File: bench/soak_load.h
//
// The soak bench's clients: N keep-alive connections to one server, spread over a few threads
// (epoll, raw non-blocking sockets), each sending the same request, reading the chunked response
// to its end, checking its body byte for byte against the expected one, and sending the next
// request at once. Counts what completed, what failed and why, and how long each stream took.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "cassette/base/clock.h"

namespace td::bench::soak {

struct LoadOptions {
  uint16_t port = 0;           // 127.0.0.1:port
  int connections = 1000;      // streams kept in flight
  int threads = 4;             // client threads; connection i belongs to thread i % threads
  std::string request;         // the whole request, head and body, sent as is
  std::string body;            // the response body every stream must deliver (de-chunked)
  Micros ramp_us = 1000000;    // connection i starts at i * ramp_us / connections
  Micros stall_us = 30000000;  // a stream with no byte for this long has failed
};

// What the clients saw so far. Counters only grow, except in_flight.
struct LoadCounts {
  uint64_t completed = 0;  // streams read to the end with exactly the expected bytes
  uint64_t differed = 0;   // streams that ended but whose bytes (or status) differed
  uint64_t failed = 0;     // streams cut short: reset, early close, bad framing, stall
  uint64_t connects = 0;   // connections opened (one per client, plus one per failure)
  int64_t in_flight = 0;   // requests sent and not yet answered in full
};

class SoakLoad {
 public:
  // Starts the client threads; they connect on the ramp and keep going until Drain().
  explicit SoakLoad(LoadOptions options);
  // Closes every connection and joins the threads.
  ~SoakLoad();
  SoakLoad(const SoakLoad&) = delete;
  SoakLoad& operator=(const SoakLoad&) = delete;

  // Any thread. Snapshot of the counters.
  LoadCounts Counts() const;
  // Any thread. CPU time the client threads used so far, in seconds.
  double CpuSeconds() const;

  // Main thread. Stops sending new requests and waits (until `deadline_us`, NowUs() clock) for
  // those in flight to end; the ones still running then count as failed. Connections stay open.
  // Returns true when every stream ended by itself.
  bool Drain(Micros deadline_us);
  // Main thread, after Drain(): closes every connection and joins the threads.
  void Close();

  // After Close(): stream durations (request sent to last byte), in microseconds, as a
  // histogram (bucket i holds durations in [i, i+1) ms; the last bucket holds the rest).
  const std::vector<uint64_t>& DurationsMs() const { return durations_ms_; }
  // After Close(): why streams failed or differed, with counts (the first few are also printed
  // to stderr as they happen).
  const std::map<std::string, uint64_t>& Failures() const { return failures_; }

  // Percentile `p` (0-100) of a DurationsMs() histogram, in ms.
  static double PercentileMs(const std::vector<uint64_t>& histogram, double p);

 private:
  struct Worker;
  void Run(Worker* worker);
  void NoteFailure(Worker* worker, const std::string& why, bool differed);

  const LoadOptions options_;
  std::atomic<bool> stop_new_{false};
  std::atomic<bool> close_{false};
  std::atomic<uint64_t> completed_{0};
  std::atomic<uint64_t> differed_{0};
  std::atomic<uint64_t> failed_{0};
  std::atomic<uint64_t> connects_{0};
  std::atomic<int64_t> in_flight_{0};
  std::atomic<int> printed_failures_{0};
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<uint64_t> durations_ms_;
  std::map<std::string, uint64_t> failures_;
  bool closed_ = false;
};

}  // namespace td::bench::soak
