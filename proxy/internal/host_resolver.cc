// HostResolver: one evdns lookup at a time, its good answer kept, every waiter told on a later
// loop turn.
#include "proxy/internal/host_resolver.h"

#include <netinet/in.h>

#include <cstring>
#include <utility>

namespace td::proxy::internal {

EvdnsBasePtr CreateSystemDnsBase(event_base* base) {
  EvdnsBasePtr dns(
      evdns_base_new(base, EVDNS_BASE_INITIALIZE_NAMESERVERS | EVDNS_BASE_DISABLE_WHEN_INACTIVE));
  if (!dns) {
    // No usable resolv.conf: numeric hosts and /etc/hosts still work.
    dns.reset(evdns_base_new(base, EVDNS_BASE_DISABLE_WHEN_INACTIVE));
    if (dns) evdns_base_load_hosts(dns.get(), nullptr);
  }
  return dns;
}

HostResolver::HostResolver(EventLoop* loop, evdns_base* dns, std::string host, uint16_t port,
                           Micros keep_us)
    : loop_(loop),
      dns_(dns),
      host_(std::move(host)),
      port_(std::to_string(port)),
      keep_us_(keep_us) {}

HostResolver::~HostResolver() {
  if (lookup_) {
    evdns_getaddrinfo_request* lookup = lookup_;
    lookup_ = nullptr;
    evdns_getaddrinfo_cancel(lookup);
  }
}

std::unique_ptr<HostResolver::Request> HostResolver::Resolve(Done done) {
  const uint64_t id = next_id_++;
  waiters_.emplace(id, std::move(done));
  auto request = std::make_unique<Request>(this, id);
  if (answer_ && (answer_->error != 0 || loop_->NowMicros() < answer_->until_us)) {
    DeliverSoon();  // a kept answer, or a failure still being told to those who asked with it
  } else if (!lookup_running_) {
    answer_.reset();
    StartLookup();
  }
  return request;
}

void HostResolver::StartLookup() {
  evutil_addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_protocol = IPPROTO_TCP;
  lookup_running_ = true;
  // Answers numeric hosts and /etc/hosts entries (and bad arguments) before returning null.
  evdns_getaddrinfo_request* lookup =
      evdns_getaddrinfo(dns_, host_.c_str(), port_.c_str(), &hints, &OnAnswer, this);
  if (lookup_running_) lookup_ = lookup;
}

void HostResolver::OnAnswer(int result, evutil_addrinfo* addrs, void* arg) noexcept {
  if (result == EVUTIL_EAI_CANCEL) return;  // the resolver is being destroyed: touch nothing
  static_cast<HostResolver*>(arg)->HandleAnswer(result, addrs);
}

void HostResolver::HandleAnswer(int result, evutil_addrinfo* addrs) {
  EvAddrInfoPtr owned(addrs);
  lookup_ = nullptr;
  lookup_running_ = false;
  Answer answer;
  answer.error = result;
  if (result == 0) {
    for (const evutil_addrinfo* ai = addrs; ai != nullptr; ai = ai->ai_next) {
      if (ai->ai_addr == nullptr || ai->ai_addrlen > sizeof(sockaddr_storage)) continue;
      ResolvedAddress& out = answer.addrs.emplace_back();
      std::memcpy(&out.addr, ai->ai_addr, ai->ai_addrlen);
      out.len = static_cast<socklen_t>(ai->ai_addrlen);
    }
    if (answer.addrs.empty()) answer.error = EVUTIL_EAI_NONAME;
    answer.until_us = loop_->NowMicros() + keep_us_;
  }
  answer_ = std::move(answer);
  DeliverSoon();
}

void HostResolver::DeliverSoon() {
  if (deliver_timer_) return;
  deliver_timer_ = loop_->RunAfter(0, [this] {
    deliver_timer_.Cancel();
    Deliver();
  });
}

void HostResolver::Deliver() {
  if (!answer_) return;
  // A copy: a callback may Resolve() again, which may start a new lookup.
  const Answer answer = *answer_;
  // A failure is told to those waiting now, not kept for later connections.
  if (answer.error != 0) answer_.reset();
  std::vector<uint64_t> ids;
  ids.reserve(waiters_.size());
  for (const auto& [id, done] : waiters_) ids.push_back(id);
  for (uint64_t id : ids) {
    auto it = waiters_.find(id);
    if (it == waiters_.end()) continue;  // an earlier callback closed that connection
    Done done = std::move(it->second);
    waiters_.erase(it);
    done(answer.error, answer.addrs);
  }
}

}  // namespace td::proxy::internal
