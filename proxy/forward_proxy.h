// File: proxy/forward_proxy.h
//
// Forward-proxy mode's rules, in one place and without libevent: which hosts are intercepted
// (TLS terminated with a minted leaf, requests recorded or replayed) and which are tunnelled or
// refused, which CONNECT ports are allowed, and `--resolve HOST:PORT:ADDR` (connect to ADDR
// instead of resolving HOST, as curl does). HttpServer applies them to each CONNECT and
// absolute-form request (docs/forward-proxy.md).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cassette/base/status.h"

namespace td::proxy {

class Handler;

// The hosts intercepted when `--intercept` is not given: the LLM APIs' own endpoints, Bedrock's
// and Vertex AI's regional ones included.
const std::vector<std::string>& DefaultInterceptPatterns();

// Checks an `--intercept` pattern: a host name (letters, digits, '-', '.'), an IP literal, or a
// name whose labels may be '*' or hold one '*' ("*.example.com", "bedrock-runtime.*.amazonaws.com",
// "*-aiplatform.googleapis.com"). Errors name the pattern and what is wrong.
Status ValidateInterceptPattern(std::string_view pattern);

// True when `host` (any case) matches `pattern`. A '*' stands for one or more characters within
// one label, as in certificates: "*.example.com" matches "a.example.com", not "example.com"
// nor "a.b.example.com".
bool HostMatchesPattern(std::string_view pattern, std::string_view host);

// `--resolve HOST:PORT:ADDR`: connections to HOST:PORT go to ADDR (an IP literal; IPv6 may be
// bracketed) instead of a DNS answer. TLS still names and verifies HOST.
struct ResolveEntry {
  std::string host;  // lower case
  uint16_t port = 0;
  std::string address;  // numeric, no brackets
};
// Errors name the value and what is wrong ("--resolve api.x.com:443: expected HOST:PORT:ADDR").
Result<ResolveEntry> ParseResolveEntry(std::string_view text);
// The address to connect to for host:port: the entry's, or nullopt (resolve the host).
std::optional<std::string> ResolvedAddress(const std::vector<ResolveEntry>& entries,
                                           std::string_view host, uint16_t port);

struct ForwardProxyOptions {
  bool enabled = false;
  // Hosts whose TLS is terminated and whose requests reach the handler (recorded, replayed).
  std::vector<std::string> intercept = DefaultInterceptPatterns();
  // Other hosts: CONNECT is tunnelled byte for byte (record, passthrough, auto) and plain
  // absolute-form requests go to `unrecorded`; false (replay): both refused with a 403, so a
  // replay never opens a connection anywhere.
  bool tunnel_others = false;
  // Answers absolute-form http:// requests to hosts not intercepted (forwarded, not recorded).
  // Not owned; must outlive the server. nullptr: they get a 403.
  Handler* unrecorded = nullptr;
  // The local CA (proxy/local_ca.h) that signs the minted leaves; created on first use.
  std::string ca_dir;
  std::vector<ResolveEntry> resolve;

  bool Intercepts(std::string_view host) const;
  // Ports a CONNECT to a host not intercepted may name: 443, 80 and the `--resolve`d ones.
  bool AllowsTunnelPort(std::string_view host, uint16_t port) const;
};

// Splits a CONNECT target "host:port" ("[::1]:443" for IPv6). Errors say what is wrong.
struct Authority {
  std::string host;  // lower case, no brackets
  uint16_t port = 0;
};
Result<Authority> ParseAuthority(std::string_view text);

}  // namespace td::proxy
