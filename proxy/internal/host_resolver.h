// File: proxy/internal/host_resolver.h
//
// The addresses of an UpstreamClient's one host, for each of its new connections. One lookup
// at a time: connections that need an address while a lookup runs wait for its answer, and a
// good answer is kept for a while (a test suite that opens 64 streams at once makes one query,
// not 64, and the next burst makes none). A failure is not kept: the next connection asks
// again. Numeric hosts and /etc/hosts entries are answered by evdns without a query.
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "proxy/event_loop.h"
#include "proxy/internal/ev_handles.h"

namespace td::proxy::internal {

struct ResolvedAddress {
  sockaddr_storage addr{};
  socklen_t len = 0;
};

// An evdns resolver using the system's configuration (/etc/resolv.conf, /etc/hosts); without a
// usable resolv.conf, one that still answers numeric hosts and /etc/hosts. Null if evdns fails.
EvdnsBasePtr CreateSystemDnsBase(event_base* base);

class HostResolver {
 public:
  // `error` is 0 or an EVUTIL_EAI_* code; on success `addrs` is not empty.
  using Done = std::function<void(int error, const std::vector<ResolvedAddress>& addrs)>;

  // A pending Resolve(). Destroying it before the answer means `done` is never called.
  class Request {
   public:
    Request(HostResolver* resolver, uint64_t id) : resolver_(resolver), id_(id) {}
    ~Request() { resolver_->waiters_.erase(id_); }
    Request(const Request&) = delete;
    Request& operator=(const Request&) = delete;

   private:
    HostResolver* resolver_;
    uint64_t id_;
  };

  // `dns` and `loop` must outlive the resolver. `keep_us`: how long a good answer is reused
  // (0: never; every connection looks up).
  HostResolver(EventLoop* loop, evdns_base* dns, std::string host, uint16_t port, Micros keep_us);
  // Cancels a lookup in flight; waiting requests are not called. Requests must not outlive it.
  ~HostResolver();
  HostResolver(const HostResolver&) = delete;
  HostResolver& operator=(const HostResolver&) = delete;

  // Calls `done` on a later loop turn (never from inside Resolve()) with the kept answer or a
  // fresh one, unless the request is destroyed first.
  [[nodiscard]] std::unique_ptr<Request> Resolve(Done done);

 private:
  // evdns' callback (noexcept: nothing may unwind into libevent) and what it calls.
  static void OnAnswer(int result, evutil_addrinfo* addrs, void* arg) noexcept;
  void HandleAnswer(int result, evutil_addrinfo* addrs);  // takes ownership of `addrs`

  struct Answer {
    int error = 0;
    std::vector<ResolvedAddress> addrs;
    Micros until_us = 0;  // a good answer is reused until then
  };

  void StartLookup();
  void DeliverSoon();
  void Deliver();

  EventLoop* loop_;
  evdns_base* dns_;
  std::string host_;
  std::string port_;
  Micros keep_us_;
  std::map<uint64_t, Done> waiters_;  // by request id, in arrival order
  uint64_t next_id_ = 0;
  evdns_getaddrinfo_request* lookup_ = nullptr;
  bool lookup_running_ = false;
  std::optional<Answer> answer_;
  TimerHandle deliver_timer_;
};

}  // namespace td::proxy::internal
