// File: bench/soak_load.cc
//
// SoakLoad: each worker thread owns every threads-th connection and one edge-triggered epoll
// set. A connection sends the request, parses the chunked (or sized) response as it arrives,
// compares the body bytes in place (nothing is kept but the unparsed tail), and on the last
// chunk starts the next request on the same connection.
#include "bench/soak_load.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "bench/soak_http.h"
#include "cassette/base/unique_fd.h"

namespace td::bench::soak {
namespace {

constexpr size_t kBuckets = 60001;  // 1 ms each, up to a minute; the last holds the rest
constexpr int kPrintedFailures = 10;
constexpr Micros kNever = INT64_MAX / 2;

enum class Parse { kHead, kSize, kData, kCrlf, kLastCrlf, kSized };

struct Conn {
  UniqueFd fd;
  uint32_t generation = 0;  // bumped on every close, so stale epoll events are ignored
  bool started = false;     // false: waiting for `start_at` (the ramp, or a retry)
  Micros start_at = 0;
  bool busy = false;  // a request is in flight
  size_t sent = 0;    // bytes of the request written
  std::string in;     // received bytes not parsed yet
  Parse parse = Parse::kHead;
  size_t left = 0;      // bytes left in the current chunk (or sized body)
  size_t body_pos = 0;  // body bytes received and compared so far
  std::string differs;  // why the response is not the expected one; empty while it is
  Micros sent_us = 0;
  Micros last_byte_us = 0;
};

double CpuSecondsOf(clockid_t clock) {
  timespec ts{};
  if (clock_gettime(clock, &ts) != 0) return 0;
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

}  // namespace

struct SoakLoad::Worker {
  int index = 0;
  UniqueFd epoll;
  std::vector<Conn> conns;
  std::vector<uint64_t> durations_ms = std::vector<uint64_t>(kBuckets, 0);
  std::map<std::string, uint64_t> failures;
  int64_t in_flight = 0;
  std::thread thread;
  std::atomic<bool> has_clock{false};
  clockid_t cpu_clock{};
  std::atomic<double> final_cpu{-1};
};

SoakLoad::SoakLoad(LoadOptions options) : options_(std::move(options)) {
  for (int t = 0; t < options_.threads; ++t) {
    auto w = std::make_unique<Worker>();
    w->index = t;
    w->epoll = UniqueFd(epoll_create1(EPOLL_CLOEXEC));
    if (!w->epoll.valid()) {
      std::fprintf(stderr, "soak clients: epoll_create1: %s\n", std::strerror(errno));
      std::exit(1);
    }
    const Micros now = NowUs();
    for (int i = t; i < options_.connections; i += options_.threads) {
      Conn c;
      c.start_at = now + options_.ramp_us * i / std::max(1, options_.connections);
      w->conns.push_back(std::move(c));
    }
    workers_.push_back(std::move(w));
  }
  for (auto& w : workers_) {
    Worker* worker = w.get();
    worker->thread = std::thread([this, worker] { Run(worker); });
    if (pthread_getcpuclockid(worker->thread.native_handle(), &worker->cpu_clock) == 0) {
      worker->has_clock = true;
    }
  }
}

SoakLoad::~SoakLoad() {
  stop_new_ = true;
  Close();
}

LoadCounts SoakLoad::Counts() const {
  LoadCounts c;
  c.completed = completed_.load(std::memory_order_relaxed);
  c.differed = differed_.load(std::memory_order_relaxed);
  c.failed = failed_.load(std::memory_order_relaxed);
  c.connects = connects_.load(std::memory_order_relaxed);
  c.in_flight = in_flight_.load(std::memory_order_relaxed);
  return c;
}

double SoakLoad::CpuSeconds() const {
  double total = 0;
  for (const auto& w : workers_) {
    const double final_cpu = w->final_cpu.load();
    if (final_cpu >= 0) {
      total += final_cpu;
    } else if (w->has_clock) {
      total += CpuSecondsOf(w->cpu_clock);
    }
  }
  return total;
}

bool SoakLoad::Drain(Micros deadline_us) {
  stop_new_ = true;
  while (in_flight_.load() > 0 && NowUs() < deadline_us) {
    timespec ts{0, 20 * 1000 * 1000};
    nanosleep(&ts, nullptr);
  }
  return in_flight_.load() == 0;
}

void SoakLoad::Close() {
  if (closed_) return;
  closed_ = true;
  close_ = true;
  durations_ms_.assign(kBuckets, 0);
  for (auto& w : workers_) {
    if (w->thread.joinable()) w->thread.join();
    for (size_t i = 0; i < kBuckets; ++i) durations_ms_[i] += w->durations_ms[i];
    for (const auto& [why, n] : w->failures) failures_[why] += n;
  }
}

double SoakLoad::PercentileMs(const std::vector<uint64_t>& histogram, double p) {
  uint64_t total = 0;
  for (uint64_t n : histogram) total += n;
  if (total == 0) return 0;
  const double rank = p / 100.0 * static_cast<double>(total);
  uint64_t seen = 0;
  for (size_t i = 0; i < histogram.size(); ++i) {
    seen += histogram[i];
    if (static_cast<double>(seen) >= rank && histogram[i] > 0) return static_cast<double>(i);
  }
  return static_cast<double>(histogram.size() - 1);
}

void SoakLoad::NoteFailure(Worker* worker, const std::string& why, bool differed) {
  (differed ? differed_ : failed_).fetch_add(1, std::memory_order_relaxed);
  ++worker->failures[why];
  if (printed_failures_.fetch_add(1) < kPrintedFailures) {
    std::fprintf(stderr, "soak clients: a stream %s: %s\n", differed ? "differed" : "failed",
                 why.c_str());
  }
}

void SoakLoad::Run(Worker* w) {
  const std::string& request = options_.request;
  const std::string& body = options_.body;
  std::vector<epoll_event> ready(256);
  std::vector<char> buf(64 * 1024);

  // The earliest start_at of a connection not started; scanned for only when it is due.
  Micros next_scan = 0;
  auto key = [&](size_t i) {
    return static_cast<uint64_t>(i) | (static_cast<uint64_t>(w->conns[i].generation) << 32);
  };
  auto end_request = [&](Conn& c) {
    if (!c.busy) return;
    c.busy = false;
    --w->in_flight;
    in_flight_.fetch_sub(1, std::memory_order_relaxed);
  };
  // Closes the connection; a request in flight failed with `why`. Reconnects after 10 ms
  // unless the run is stopping.
  auto fail = [&](Conn& c, const std::string& why) {
    if (c.busy) NoteFailure(w, why, false);
    end_request(c);
    c.fd.Reset();
    ++c.generation;
    c.in.clear();
    c.started = false;
    c.start_at = NowUs() + 10000;
    next_scan = std::min(next_scan, c.start_at);
  };
  auto bad = [&](Conn& c, const std::string& why) {
    fail(c, why);
    return false;
  };
  auto flush = [&](Conn& c) -> bool {
    while (c.sent < request.size()) {
      ssize_t n =
          ::send(c.fd.get(), request.data() + c.sent, request.size() - c.sent, MSG_NOSIGNAL);
      if (n > 0) {
        c.sent += static_cast<size_t>(n);
      } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
        return true;  // EPOLLOUT (edge) tells when to go on
      } else {
        fail(c, std::string("send: ") + std::strerror(errno));
        return false;
      }
    }
    return true;
  };
  auto start_request = [&](size_t i) {
    Conn& c = w->conns[i];
    c.started = true;
    if (!c.fd.valid()) {
      c.fd = UniqueFd(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
      if (!c.fd.valid()) {
        NoteFailure(w, std::string("socket: ") + std::strerror(errno), false);
        c.started = false;
        c.start_at = NowUs() + 100000;
        next_scan = std::min(next_scan, c.start_at);
        return;
      }
      int one = 1;
      setsockopt(c.fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      sockaddr_in addr{};
      addr.sin_family = AF_INET;
      addr.sin_port = htons(options_.port);
      addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      connects_.fetch_add(1, std::memory_order_relaxed);
      if (::connect(c.fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 &&
          errno != EINPROGRESS) {
        NoteFailure(w, std::string("connect: ") + std::strerror(errno), false);
        c.fd.Reset();
        ++c.generation;
        c.started = false;
        c.start_at = NowUs() + 100000;
        next_scan = std::min(next_scan, c.start_at);
        return;
      }
      epoll_event ev{};
      ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
      ev.data.u64 = key(i);
      epoll_ctl(w->epoll.get(), EPOLL_CTL_ADD, c.fd.get(), &ev);
    }
    c.busy = true;
    ++w->in_flight;
    in_flight_.fetch_add(1, std::memory_order_relaxed);
    c.sent = 0;
    c.parse = Parse::kHead;
    c.left = 0;
    c.body_pos = 0;
    c.differs.clear();
    c.sent_us = c.last_byte_us = NowUs();
    flush(c);
  };
  auto compare = [&](Conn& c, const char* data, size_t n) {
    if (c.differs.empty()) {
      if (c.body_pos + n > body.size()) {
        c.differs = "body longer than the recording";
      } else if (std::memcmp(body.data() + c.body_pos, data, n) != 0) {
        size_t at = 0;
        while (body[c.body_pos + at] == data[at]) ++at;
        c.differs = "body differs from the recording at byte " + std::to_string(c.body_pos + at);
      }
    }
    c.body_pos += n;
  };
  // The response ended: count it, and go on with the next request on the same connection.
  auto complete = [&](size_t i) {
    Conn& c = w->conns[i];
    const Micros took = NowUs() - c.sent_us;
    ++w->durations_ms[std::min(kBuckets - 1,
                               static_cast<size_t>(std::max<Micros>(0, took) / 1000))];
    if (c.differs.empty() && c.body_pos != body.size()) c.differs = "body shorter than recorded";
    if (c.differs.empty()) {
      completed_.fetch_add(1, std::memory_order_relaxed);
    } else {
      NoteFailure(w, c.differs, true);
    }
    end_request(c);
    if (!stop_new_.load(std::memory_order_relaxed)) start_request(i);
  };
  // Parses what `c.in` holds; returns false when the connection was closed.
  auto parse = [&](size_t i) -> bool {
    Conn& c = w->conns[i];
    size_t p = 0;
    while (true) {
      if (c.parse == Parse::kHead) {
        const size_t end = c.in.find("\r\n\r\n", p);
        if (end == std::string::npos) {
          if (c.in.size() - p > 65536) return bad(c, "response head over 64 KiB");
          break;
        }
        const std::string_view head(c.in.data() + p, end + 4 - p);
        if (head.substr(0, 13) != "HTTP/1.1 200 ") {
          const std::string line(head.substr(0, head.find("\r\n")));
          NoteFailure(w, "status line \"" + line + "\"", true);
          end_request(c);
          return bad(c, "");
        }
        const auto te = HeadHeader(head, "transfer-encoding");
        const auto length = HeadHeader(head, "content-length");
        if (te && cassette::HeaderNameEquals(*te, "chunked")) {
          c.parse = Parse::kSize;
        } else if (length) {
          c.parse = Parse::kSized;
          c.left = std::strtoull(std::string(*length).c_str(), nullptr, 10);
        } else {
          return bad(c, "response neither chunked nor sized");
        }
        p = end + 4;
      } else if (c.parse == Parse::kSize) {
        const size_t eol = c.in.find("\r\n", p);
        if (eol == std::string::npos) {
          if (c.in.size() - p > 64) return bad(c, "bad chunk size line");
          break;
        }
        char* stop = nullptr;
        const std::string line = c.in.substr(p, eol - p);
        const unsigned long long size = std::strtoull(line.c_str(), &stop, 16);
        if (stop == line.c_str() || (*stop != '\0' && *stop != ';')) {
          return bad(c, "bad chunk size line");
        }
        p = eol + 2;
        c.left = size;
        c.parse = size == 0 ? Parse::kLastCrlf : Parse::kData;
      } else if (c.parse == Parse::kData || c.parse == Parse::kSized) {
        const size_t n = std::min(c.left, c.in.size() - p);
        compare(c, c.in.data() + p, n);
        p += n;
        c.left -= n;
        if (c.left > 0) break;
        if (c.parse == Parse::kData) {
          c.parse = Parse::kCrlf;
        } else {
          c.in.erase(0, p);
          p = 0;
          if (!c.in.empty()) return bad(c, "bytes after the response");
          complete(i);
          return c.fd.valid();
        }
      } else {  // kCrlf, kLastCrlf
        if (c.in.size() - p < 2) break;
        if (c.in.compare(p, 2, "\r\n") != 0) return bad(c, "bad chunk framing");
        p += 2;
        if (c.parse == Parse::kCrlf) {
          c.parse = Parse::kSize;
          continue;
        }
        c.in.erase(0, p);
        p = 0;
        if (!c.in.empty()) return bad(c, "bytes after the response (trailers?)");
        complete(i);
        return c.fd.valid();
      }
    }
    c.in.erase(0, p);
    return true;
  };
  auto on_events = [&](size_t i, uint32_t events) {
    Conn& c = w->conns[i];
    if ((events & EPOLLOUT) && c.busy && c.sent < request.size() && !flush(c)) return;
    if (!(events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) return;
    while (c.fd.valid()) {
      ssize_t n = ::recv(c.fd.get(), buf.data(), buf.size(), 0);
      if (n > 0) {
        c.last_byte_us = NowUs();
        if (!c.busy) return fail(c, "bytes with no request in flight");
        c.in.append(buf.data(), static_cast<size_t>(n));
        if (!parse(i)) return;
      } else if (n == 0) {
        return fail(c, c.busy ? "server closed the connection mid-response" : "");
      } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
        return;
      } else if (errno != EINTR) {
        return fail(c, std::string("recv: ") + std::strerror(errno));
      }
    }
  };

  Micros next_stall_check = NowUs() + 1000000;
  while (!close_.load()) {
    Micros now = NowUs();
    if (now >= next_scan && !stop_new_.load(std::memory_order_relaxed)) {
      next_scan = kNever;
      for (size_t i = 0; i < w->conns.size(); ++i) {
        Conn& c = w->conns[i];
        if (c.started) continue;
        if (c.start_at <= now) {
          start_request(i);
        } else {
          next_scan = std::min(next_scan, c.start_at);
        }
      }
    }
    if (now >= next_stall_check) {
      next_stall_check = now + 1000000;
      for (Conn& c : w->conns) {
        if (c.busy && now - c.last_byte_us > options_.stall_us) {
          fail(c, "no byte for " + std::to_string(options_.stall_us / 1000000) + " s");
        }
      }
    }
    const int timeout_ms =
        static_cast<int>(std::clamp<Micros>((next_scan - NowUs() + 999) / 1000, 0, 100));
    const int n =
        epoll_wait(w->epoll.get(), ready.data(), static_cast<int>(ready.size()), timeout_ms);
    for (int k = 0; k < n; ++k) {
      const uint64_t data = ready[static_cast<size_t>(k)].data.u64;
      const size_t i = static_cast<size_t>(data & 0xffffffffu);
      if (i >= w->conns.size() || w->conns[i].generation != (data >> 32)) continue;
      on_events(i, ready[static_cast<size_t>(k)].events);
    }
  }
  for (Conn& c : w->conns) {
    if (c.busy) NoteFailure(w, "still streaming when the run ended", false);
    end_request(c);
    c.fd.Reset();
  }
  w->final_cpu = CpuSecondsOf(CLOCK_THREAD_CPUTIME_ID);
}

}  // namespace td::bench::soak
