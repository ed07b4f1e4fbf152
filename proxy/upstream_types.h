// File: proxy/upstream_types.h
//
// The vocabulary of UpstreamClient (upstream_client.h): its options, the request it sends, the
// response head and the result it reports, the callbacks a call is made with and the handle of
// a call in flight. Shared with the client's connections (internal/upstream_connection.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cassette/base/clock.h"
#include "cassette/model.h"
#include "proxy/forward_proxy.h"

namespace td::proxy {

struct UpstreamOptions {
  Micros connect_timeout_us = 10'000'000;  // DNS + TCP connect + TLS handshake
  // Longest silence between two reads of a response (streams can be long and quiet).
  Micros read_timeout_us = 600'000'000;
  std::string ca_file;    // PEM file of extra CAs trusted besides the system store
  bool insecure = false;  // no certificate or host name verification (the CLI warns loudly)
  // Keep-alive pool size: a test suite that runs 64 streams at once finds them all pooled
  // next time, instead of connecting half of them again while the other half stream.
  size_t max_idle_connections = 128;
  Micros idle_connection_timeout_us = 60'000'000;  // pooled connections close after this
  // How long a resolved address of the upstream host is reused by new connections (curl's
  // default); 0: every new connection looks the host up. Failures are never reused.
  Micros dns_cache_us = 60'000'000;
  // "IP:PORT" of the one DNS server to ask instead of the system's (/etc/resolv.conf and
  // /etc/hosts). For tests; empty in the CLI.
  std::string dns_server;
  // `--resolve HOST:PORT:ADDR`: a client whose URL names HOST:PORT connects to ADDR instead of
  // looking HOST up (SNI, Host and certificate verification still use HOST).
  std::vector<ResolveEntry> resolve;
  size_t max_response_header_bytes = 256 * 1024;
};

struct UpstreamRequest {
  std::string method;
  std::string target;         // origin form, the path prefix already joined (JoinPath)
  cassette::Headers headers;  // end-to-end headers; the client sets Host and Content-Length
  std::string body;
};

struct UpstreamResponseHead {
  int status = 0;
  std::string reason;
  cassette::Headers headers;               // as received, hop-by-hop fields included
  std::optional<uint64_t> content_length;  // set when the body is framed by Content-Length
  bool chunked = false;                    // Transfer-Encoding: chunked
  bool has_body = true;                    // false for HEAD, 1xx, 204, 304
};

enum class UpstreamError {
  kNone,
  kDns,       // the host name did not resolve
  kConnect,   // TCP connect failed (refused, unreachable)
  kTls,       // TLS handshake or certificate verification failed
  kTimeout,   // connect timeout, or no bytes for read_timeout_us
  kReset,     // the connection closed or reset before the response ended
  kProtocol,  // the upstream sent something that is not HTTP/1.x
};
std::string_view UpstreamErrorName(UpstreamError error);  // "dns", "connect", "tls", ...

struct UpstreamResult {
  UpstreamError error = UpstreamError::kNone;
  // Lower case, for logs and 502 bodies: "connect to 127.0.0.1:9 failed: Connection refused",
  // "tls handshake with localhost:8443 failed: certificate verify failed (self-signed
  // certificate)". Never contains request data.
  std::string message;
  bool ok() const { return error == UpstreamError::kNone; }
};

struct UpstreamCallbacks {
  std::function<void(const UpstreamResponseHead&)> on_head;
  // One call per read from the upstream; the bytes are valid only during the call.
  std::function<void(std::string_view)> on_body;
  // Exactly once, unless the call is cancelled first. After it, no other callback comes.
  std::function<void(const UpstreamResult&)> on_done;
};

// One request in flight. Destroying it cancels it.
class UpstreamCall {
 public:
  virtual ~UpstreamCall() = default;
  // Stops the request: its connection is closed and no callback comes after this returns.
  // Safe from inside the call's own callbacks.
  virtual void Cancel() = 0;
  // Backpressure: stop reading the response (TCP flow control then holds the upstream back)
  // until ResumeReading(). The read timeout does not run while paused.
  virtual void PauseReading() = 0;
  virtual void ResumeReading() = 0;
};

}  // namespace td::proxy
