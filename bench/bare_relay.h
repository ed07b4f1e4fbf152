// File: bench/bare_relay.h
//
// proxy_bench's baseline for the cost of one extra hop, as nginx is for serving bytes: the
// simplest forwarder there is. One thread, epoll, and for every client connection a blocking
// connect to the upstream; bytes are read and written on as they come, both ways. No HTTP
// parsing, no recording, no event library.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <thread>
#include <vector>

#include "bench/pin_thread.h"
#include "bench/sched_stat.h"

namespace td::bench {

class BareRelay {
 public:
  // Listens on 127.0.0.1 (a free port) and relays to 127.0.0.1:`upstream_port`. With
  // `core` >= 0 the relay's thread runs on that core only.
  BareRelay(uint16_t upstream_port, int core) : upstream_port_(upstream_port) {
    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(listener_, 1024) != 0 ||
        ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      std::fprintf(stderr, "bare relay: cannot listen: %s\n", std::strerror(errno));
      std::exit(1);
    }
    port_ = ntohs(addr.sin_port);
    wake_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    thread_ = std::thread([this, core] {
      pthread_setname_np(pthread_self(), "bare-relay");  // for perf sched and top -H
      tid_.store(CurrentTid());
      tid_.notify_all();
      if (core >= 0 && !PinThisThreadToCore(core)) {
        std::fprintf(stderr, "bare relay: cannot pin its thread to core %d\n", core);
        std::exit(1);
      }
      Run();
    });
  }
  ~BareRelay() {
    Stop();
    ::close(wake_);
    ::close(listener_);
  }
  uint16_t port() const { return port_; }
  // The relay thread's id (for ReadSchedStat); waits until the thread has started.
  int tid() const {
    tid_.wait(0);
    return tid_.load();
  }
  // Client connections being relayed now (each with its upstream connection).
  size_t open_pairs() const { return pairs_.load(std::memory_order_relaxed); }
  // The relay thread's CPU time in microseconds; valid once the relay is stopped.
  std::int64_t cpu_us() const { return cpu_us_; }
  void Stop() {
    if (!thread_.joinable()) return;
    uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(wake_, &one, sizeof one);
    thread_.join();
  }

 private:
  void Run() {
    int ep = ::epoll_create1(EPOLL_CLOEXEC);
    auto watch = [ep](int fd, uint64_t tag) {
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.u64 = tag;
      ::epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    };
    watch(listener_, kListener);
    watch(wake_, kWake);
    std::map<int, int> peer;  // each relayed socket -> the other end
    auto drop = [&](int fd) {
      auto it = peer.find(fd);
      if (it == peer.end()) return;
      int other = it->second;
      peer.erase(fd);
      peer.erase(other);
      ::close(fd);
      ::close(other);
      pairs_.store(peer.size() / 2, std::memory_order_relaxed);
    };
    std::vector<epoll_event> ready(256);
    char buf[65536];
    while (true) {
      int n = ::epoll_wait(ep, ready.data(), static_cast<int>(ready.size()), -1);
      for (int k = 0; k < n; ++k) {
        const uint64_t tag = ready[static_cast<size_t>(k)].data.u64;
        if (tag == kWake) {
          for (auto& [fd, other] : peer) ::close(fd);
          ::close(ep);
          timespec cpu{};
          clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu);
          cpu_us_ = static_cast<std::int64_t>(cpu.tv_sec) * 1000000 + cpu.tv_nsec / 1000;
          return;
        }
        if (tag == kListener) {
          int client;
          while ((client = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC)) >= 0) {
            int upstream = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
            sockaddr_in addr{};
            addr.sin_family = AF_INET;
            addr.sin_port = htons(upstream_port_);
            addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            if (::connect(upstream, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
              ::close(client);
              ::close(upstream);
              continue;
            }
            int one = 1;
            ::setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            ::setsockopt(upstream, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            peer[client] = upstream;
            peer[upstream] = client;
            watch(client, static_cast<uint64_t>(client));
            watch(upstream, static_cast<uint64_t>(upstream));
            pairs_.store(peer.size() / 2, std::memory_order_relaxed);
          }
          continue;
        }
        const int fd = static_cast<int>(tag);
        auto it = peer.find(fd);
        if (it == peer.end()) continue;
        ssize_t got = ::read(fd, buf, sizeof buf);
        if (got <= 0 || ::write(it->second, buf, static_cast<size_t>(got)) != got) drop(fd);
      }
    }
  }

  static constexpr uint64_t kListener = ~uint64_t{0};
  static constexpr uint64_t kWake = ~uint64_t{0} - 1;
  uint16_t upstream_port_;
  int listener_ = -1;
  int wake_ = -1;
  uint16_t port_ = 0;
  std::int64_t cpu_us_ = 0;
  std::atomic<size_t> pairs_{0};
  std::atomic<int> tid_{0};
  std::thread thread_;
};

}  // namespace td::bench
