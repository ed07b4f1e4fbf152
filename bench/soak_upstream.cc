// File: bench/soak_upstream.cc
//
// FakeSseUpstream: every thread waits on the shared listener (EPOLLEXCLUSIVE) and on its own
// connections. Events due are kept in a min-heap per thread; epoll_wait sleeps until the
// earliest (1 ms resolution, late rather than early). Writes that do not fit wait for EPOLLOUT.
#include "bench/soak_upstream.h"

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
#include <functional>
#include <queue>
#include <string_view>
#include <tuple>

#include "bench/soak_http.h"

namespace td::bench::soak {
namespace {

constexpr uint64_t kListenerKey = ~uint64_t{0};

struct UpConn {
  UniqueFd fd;
  uint32_t generation = 0;
  std::string in;   // request bytes not handled yet
  std::string out;  // response bytes the socket did not take yet
  bool responding = false;
  size_t next_event = 0;
  Micros started = 0;
};

// (due, slot, generation): one event of one response, sent when due.
using Due = std::tuple<Micros, size_t, uint32_t>;

}  // namespace

struct FakeSseUpstream::Worker {
  UniqueFd epoll;
  std::vector<UpConn> conns;
  std::vector<size_t> free_slots;
  std::priority_queue<Due, std::vector<Due>, std::greater<Due>> due;
  std::thread thread;
  bool has_clock = false;
  clockid_t cpu_clock{};
};

FakeSseUpstream::FakeSseUpstream(UpstreamOptions options) : options_(std::move(options)) {
  for (size_t e = 0; e < options_.events.size(); ++e) {
    chunks_.push_back(Chunk(options_.events[e]));
  }
  chunks_.back() += "0\r\n\r\n";
  listener_ = UniqueFd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (!listener_.valid() ||
      ::bind(listener_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listener_.get(), 4096) != 0 ||
      ::getsockname(listener_.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    std::fprintf(stderr, "soak upstream: cannot listen on 127.0.0.1: %s\n", std::strerror(errno));
    std::exit(1);
  }
  port_ = ntohs(addr.sin_port);
  for (int t = 0; t < options_.threads; ++t) {
    auto w = std::make_unique<Worker>();
    w->epoll = UniqueFd(epoll_create1(EPOLL_CLOEXEC));
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLEXCLUSIVE;
    ev.data.u64 = kListenerKey;
    if (!w->epoll.valid() || epoll_ctl(w->epoll.get(), EPOLL_CTL_ADD, listener_.get(), &ev) != 0) {
      std::fprintf(stderr, "soak upstream: epoll: %s\n", std::strerror(errno));
      std::exit(1);
    }
    workers_.push_back(std::move(w));
  }
  for (auto& w : workers_) {
    Worker* worker = w.get();
    worker->thread = std::thread([this, worker] { Run(worker); });
    worker->has_clock =
        pthread_getcpuclockid(worker->thread.native_handle(), &worker->cpu_clock) == 0;
  }
}

FakeSseUpstream::~FakeSseUpstream() {
  stop_ = true;
  for (auto& w : workers_) {
    if (w->thread.joinable()) w->thread.join();
  }
}

double FakeSseUpstream::CpuSeconds() const {
  double total = 0;
  for (const auto& w : workers_) {
    timespec ts{};
    if (w->has_clock && w->thread.joinable() && clock_gettime(w->cpu_clock, &ts) == 0) {
      total += static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
    }
  }
  return total;
}

void FakeSseUpstream::Run(Worker* w) {
  std::vector<epoll_event> ready(256);
  std::vector<char> buf(64 * 1024);

  auto close_conn = [&](size_t slot) {
    UpConn& c = w->conns[slot];
    if (!c.fd.valid()) return;
    c.fd.Reset();
    ++c.generation;
    c.in.clear();
    c.out.clear();
    c.responding = false;
    w->free_slots.push_back(slot);
    open_.fetch_sub(1, std::memory_order_relaxed);
  };
  // Writes what the socket takes now; the rest waits for EPOLLOUT. False when it closed.
  auto flush = [&](size_t slot) -> bool {
    UpConn& c = w->conns[slot];
    while (!c.out.empty()) {
      ssize_t n = ::send(c.fd.get(), c.out.data(), c.out.size(), MSG_NOSIGNAL);
      if (n > 0) {
        c.out.erase(0, static_cast<size_t>(n));
      } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
        return true;
      } else {
        close_conn(slot);
        return false;
      }
    }
    return true;
  };
  auto send = [&](size_t slot, std::string_view bytes) -> bool {
    w->conns[slot].out.append(bytes);
    return flush(slot);
  };
  // Starts the response to the request at the front of `in`, once it is all there.
  auto try_request = [&](size_t slot) {
    UpConn& c = w->conns[slot];
    if (c.responding || !c.fd.valid()) return;
    const size_t end = c.in.find("\r\n\r\n");
    if (end == std::string::npos) {
      if (c.in.size() > (1 << 20)) {
        bad_requests_.fetch_add(1);
        close_conn(slot);
      }
      return;
    }
    const std::string_view head(c.in.data(), end + 4);
    const auto length = HeadHeader(head, "content-length");
    if (head.substr(0, 5) != "POST " || HeadHeader(head, "transfer-encoding")) {
      bad_requests_.fetch_add(1);
      close_conn(slot);
      return;
    }
    const size_t body = length ? std::strtoull(std::string(*length).c_str(), nullptr, 10) : 0;
    if (c.in.size() < end + 4 + body) return;
    c.in.erase(0, end + 4 + body);
    c.responding = true;
    c.next_event = 0;
    c.started = NowUs();
    if (send(slot, options_.head))
      w->due.emplace(c.started + options_.at_us[0], slot, c.generation);
  };
  auto accept_all = [&] {
    while (true) {
      int fd = ::accept4(listener_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) return;  // EAGAIN, or a transient error: the next wake-up tries again
      accepted_.fetch_add(1, std::memory_order_relaxed);
      open_.fetch_add(1, std::memory_order_relaxed);
      int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      size_t slot;
      if (!w->free_slots.empty()) {
        slot = w->free_slots.back();
        w->free_slots.pop_back();
      } else {
        slot = w->conns.size();
        w->conns.emplace_back();
      }
      w->conns[slot].fd = UniqueFd(fd);
      epoll_event ev{};
      ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
      ev.data.u64 = slot | (static_cast<uint64_t>(w->conns[slot].generation) << 32);
      epoll_ctl(w->epoll.get(), EPOLL_CTL_ADD, fd, &ev);
    }
  };
  auto on_events = [&](size_t slot, uint32_t events) {
    UpConn& c = w->conns[slot];
    if ((events & EPOLLOUT) && !flush(slot)) return;
    if (!(events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) return;
    while (c.fd.valid()) {
      ssize_t n = ::recv(c.fd.get(), buf.data(), buf.size(), 0);
      if (n > 0) {
        c.in.append(buf.data(), static_cast<size_t>(n));
      } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        break;
      } else if (n == 0 || errno != EINTR) {
        close_conn(slot);
        return;
      }
    }
    try_request(slot);
  };

  while (!stop_.load()) {
    Micros now = NowUs();
    while (!w->due.empty() && std::get<0>(w->due.top()) <= now) {
      const auto [when, slot, generation] = w->due.top();
      w->due.pop();
      UpConn& c = w->conns[slot];
      if (c.generation != generation || !c.responding) continue;
      const size_t e = c.next_event++;
      if (!send(slot, chunks_[e])) continue;
      if (c.next_event < chunks_.size()) {
        w->due.emplace(c.started + options_.at_us[c.next_event], slot, generation);
      } else {
        c.responding = false;
        responses_.fetch_add(1, std::memory_order_relaxed);
        try_request(slot);  // a request that came early (pipelined)
      }
    }
    int timeout_ms = 100;
    if (!w->due.empty()) {
      timeout_ms = static_cast<int>(
          std::clamp<Micros>((std::get<0>(w->due.top()) - NowUs() + 999) / 1000, 0, 100));
    }
    const int n =
        epoll_wait(w->epoll.get(), ready.data(), static_cast<int>(ready.size()), timeout_ms);
    for (int k = 0; k < n; ++k) {
      const epoll_event& ev = ready[static_cast<size_t>(k)];
      if (ev.data.u64 == kListenerKey) {
        accept_all();
        continue;
      }
      const size_t slot = static_cast<size_t>(ev.data.u64 & 0xffffffffu);
      if (slot < w->conns.size() && w->conns[slot].generation == (ev.data.u64 >> 32)) {
        on_events(slot, ev.events);
      }
    }
  }
  for (size_t slot = 0; slot < w->conns.size(); ++slot) close_conn(slot);
}

}  // namespace td::bench::soak
