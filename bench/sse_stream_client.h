// File: bench/sse_stream_client.h
//
// One streamed request for the benchmarks, read without a thread of its own: the caller's
// epoll loop calls Read() when the socket is readable. Decodes chunked framing, cuts SSE
// events at the blank line, and notes when each event's last byte reached the socket (the
// kernel's receive stamp) minus the send stamp the upstream put in it ("t": microseconds,
// CLOCK_REALTIME).
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "bench/receive_stamp.h"

namespace td::bench {

class SseStreamClient {
 public:
  // Connects to 127.0.0.1:`port` and sends `request`, blocking; if either fails, finished()
  // is true at once and ok() false.
  SseStreamClient(uint16_t port, const std::string& request) {
    start_us_ = RealMicros();
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (!EnableReceiveStamps(fd_)) {
      std::fprintf(stderr, "sse stream client: SO_TIMESTAMPNS: %s\n", std::strerror(errno));
      std::exit(1);
    }
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::send(fd_, request.data(), request.size(), MSG_NOSIGNAL) !=
            static_cast<ssize_t>(request.size())) {
      failed_ = true;
    }
  }
  ~SseStreamClient() {
    if (fd_ >= 0) ::close(fd_);
  }
  SseStreamClient(const SseStreamClient&) = delete;
  SseStreamClient& operator=(const SseStreamClient&) = delete;

  int fd() const { return fd_; }
  bool finished() const { return failed_ || ended_; }
  bool ok(int events) const { return !failed_ && seen_ == events; }
  std::int64_t ttfb_us() const { return ttfb_us_; }
  const std::vector<std::int64_t>& delays_us() const { return delays_us_; }

  // Reads what the socket has. Returns false once the stream is over (or broke).
  bool Read() {
    char buf[65536];
    std::int64_t arrived = -1;
    ssize_t n = RecvStamped(fd_, buf, sizeof buf, &arrived);
    if (n <= 0) {
      ended_ = true;
      return false;
    }
    if (arrived < 0) {
      std::fprintf(stderr, "sse stream client: no receive timestamp from the kernel\n");
      std::exit(1);
    }
    Feed(std::string_view(buf, static_cast<size_t>(n)), arrived);
    return !ended_;
  }

 private:
  void Feed(std::string_view bytes, std::int64_t arrived) {
    raw_.append(bytes);
    if (!head_done_) {
      size_t end = raw_.find("\r\n\r\n");
      if (end == std::string::npos) return;
      raw_.erase(0, end + 4);
      head_done_ = true;
    }
    // De-chunk what is here.
    bool more = true;
    while (more && !ended_) {
      switch (chunk_) {
        case Chunk::kSize: {
          size_t eol = raw_.find("\r\n");
          if (eol == std::string::npos) {
            more = false;
            break;
          }
          chunk_left_ = std::strtoull(raw_.substr(0, eol).c_str(), nullptr, 16);
          raw_.erase(0, eol + 2);
          chunk_ = Chunk::kData;
          if (chunk_left_ == 0) ended_ = true;  // the last chunk
          break;
        }
        case Chunk::kData: {
          size_t take = static_cast<size_t>(std::min<uint64_t>(chunk_left_, raw_.size()));
          body_.append(raw_, 0, take);
          raw_.erase(0, take);
          chunk_left_ -= take;
          if (chunk_left_ > 0) {
            more = false;
          } else {
            chunk_ = Chunk::kDataEnd;
          }
          break;
        }
        case Chunk::kDataEnd:
          if (raw_.size() < 2) {
            more = false;
          } else {
            raw_.erase(0, 2);
            chunk_ = Chunk::kSize;
          }
          break;
      }
    }
    // Cut complete events.
    size_t end;
    while ((end = body_.find("\n\n")) != std::string::npos) {
      std::string event = body_.substr(0, end + 2);
      body_.erase(0, end + 2);
      size_t t = event.find("\"t\":");
      if (t == std::string::npos) continue;
      std::int64_t sent = std::strtoll(event.c_str() + t + 4, nullptr, 10);
      if (seen_ == 0) ttfb_us_ = arrived - start_us_;
      delays_us_.push_back(arrived - sent);
      ++seen_;
    }
  }

  int fd_ = -1;
  bool failed_ = false;
  bool ended_ = false;
  std::int64_t start_us_ = 0;
  std::string raw_;   // undecoded bytes
  std::string body_;  // decoded, not yet cut into events
  bool head_done_ = false;
  enum class Chunk { kSize, kData, kDataEnd } chunk_ = Chunk::kSize;
  uint64_t chunk_left_ = 0;
  int seen_ = 0;
  std::int64_t ttfb_us_ = 0;             // connect start -> first event at the socket
  std::vector<std::int64_t> delays_us_;  // per event: arrival at the socket - send stamp
};

}  // namespace td::bench
