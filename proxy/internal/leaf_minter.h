// File: proxy/internal/leaf_minter.h
//
// LeafMinter: the TLS server side of forward-proxy interception. Loaded from the local CA's
// files, it mints a short-lived leaf certificate for each intercepted host, signed by the CA,
// and keeps one server SSL_CTX per host (bounded, oldest evicted) presenting it.
#pragma once

#include <cstddef>
#include <ctime>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "cassette/base/clock.h"
#include "cassette/base/status.h"
#include "proxy/internal/ssl_handles.h"
#include "proxy/local_ca.h"

namespace td::proxy::internal {

// Mints and caches per-host server contexts. Event loop thread only (one minter per loop): it
// holds no lock. Leaves share ONE EC P-256 key made at Load (as mitmproxy does), so minting is
// one signature. A leaf is valid from 1 h before it is minted until 24 h after; a cached context
// older than 12 h is minted afresh, so a long-running proxy never presents an expired leaf.
class LeafMinter {
 public:
  static constexpr size_t kDefaultMaxHosts = 1000;

  // Reads and checks the CA in `files`. Every error names the file and what is wrong with it:
  // missing or unreadable, not PEM, not a CA certificate, expired, a key that is encrypted, does
  // not match the certificate, or that group or others may read (mode & 077: refused, with the
  // chmod to run). `clock` (its wall time stamps validity) must outlive the minter.
  static Result<std::unique_ptr<LeafMinter>> Load(const CaFiles& files,
                                                  const Clock& clock = SystemClock::Get(),
                                                  size_t max_hosts = kDefaultMaxHosts);

  // A server context (TLS 1.2+, no renegotiation) presenting a leaf for `host` plus the CA
  // certificate as its chain, whose ALPN callback selects "http/1.1" when the client offers it,
  // else "http/1.0", and otherwise fails the handshake with a no_application_protocol alert
  // (a client that
  // offers no ALPN at all is accepted: HTTP/1.1 is implied). `host` is a DNS name, matched
  // without regard to case (the leaf has subject CN and SAN DNS:host, in lower case), or an IPv4
  // or IPv6 literal without brackets (SAN IP:addr). Anything else (empty, over 253 bytes, other
  // characters, empty or over-long labels, wildcards) is refused with kInvalidArgument: a
  // hostile name never reaches a certificate.
  //
  // The minter owns the context: the pointer stays valid until the minter is destroyed or
  // `max_hosts` other hosts have been minted since. SSL_new(ctx) takes its own reference, so an
  // SSL made from it outlives eviction; take one right away rather than keeping the pointer.
  // Calling again for the same host (any case) returns the same context until it is refreshed.
  Result<SSL_CTX*> ServerContextFor(std::string_view host);

  // Whether the SNI the client sent on `ssl` is `host` (ignoring case), or it sent none (clients
  // send no SNI for IP literals). For the caller's servername callback; the minter installs
  // none, so SNI policy (refuse a mismatch, or switch with SSL_set_SSL_CTX) is the caller's.
  static bool SniMatches(const SSL* ssl, std::string_view host);

  // The CA certificate leaves chain to (owned by the minter).
  X509* ca_certificate() const { return ca_cert_.get(); }
  // How many hosts have a cached context.
  size_t cached_hosts() const { return cache_.size(); }

 private:
  struct Entry {
    SslCtxPtr ctx;
    time_t minted_at = 0;
  };

  LeafMinter(X509Ptr ca_cert, EvpPkeyPtr ca_key, EvpPkeyPtr leaf_key, const Clock& clock,
             size_t max_hosts);

  Result<SslCtxPtr> Mint(const std::string& host, bool is_ip, time_t now) const;
  time_t WallSeconds() const;

  X509Ptr ca_cert_;
  EvpPkeyPtr ca_key_;
  EvpPkeyPtr leaf_key_;
  const Clock& clock_;
  size_t max_hosts_;
  std::unordered_map<std::string, Entry> cache_;  // canonical host -> context
  std::deque<std::string> order_;                 // cache_'s keys, oldest minted first
};

}  // namespace td::proxy::internal
