// File: tests/support/dropping_upstream.h
//
// DroppingUpstream: an upstream written with raw sockets, for what HttpServer never does. It
// answers the first request with keep-alive, reads the next request on the same connection and
// closes it unanswered (the race every pooled HTTP client meets: the server timed the idle
// connection out as the request went out), then answers on a new connection. Blocking I/O on
// its own thread; every wait is bounded by a 10 s socket timeout.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace td::testing {

class DroppingUpstream {
 public:
  // Listens on a free loopback port and starts serving.
  DroppingUpstream();
  ~DroppingUpstream();
  DroppingUpstream(const DroppingUpstream&) = delete;
  DroppingUpstream& operator=(const DroppingUpstream&) = delete;

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  // Requests read, in order, with the connection (1 or 2) each came on. Thread-safe.
  std::vector<int> connections_of_requests();

 private:
  void Run();
  int Accept();
  // Reads one request (head and Content-Length body). False on EOF, error or timeout.
  bool ReadRequest(int fd, int connection);
  static void Answer(int fd, const std::string& body);

  int listener_ = -1;
  uint16_t port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::vector<int> seen_;  // guarded by mu_
};

}  // namespace td::testing
