// File: proxy/server_options.h
//
// What HttpServer (http_server.h) is configured with: where it listens, the limits it holds
// every client to (ServerLimits; the header comment of http_server.h says what happens at each),
// TLS, the optional client key, forward-proxy mode. Plain values, shared with the server's
// connections.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "cassette/base/clock.h"
#include "proxy/forward_proxy.h"

namespace td::proxy {

struct ServerLimits {
  size_t max_header_bytes = 64 * 1024;    // request line + header fields
  size_t max_headers = 256;               // header fields per request
  uint64_t max_body_bytes = 64ull << 20;  // request body (64 MiB)
  // A connection with no request in progress (keep-alive), or one whose request stops
  // arriving, is closed after this long without bytes from the client.
  Micros idle_timeout_us = 60'000'000;
  // From the first byte of a request to the end of its head (0: no deadline); else 408. SDK
  // heads are a few hundred bytes in one packet; 30 s still lets the largest allowed head
  // (64 KiB) arrive at 20 kbit/s, and stops a head sent a byte at a time, which the idle
  // timeout alone never would.
  Micros head_timeout_us = 30'000'000;
  // From the end of a request's head to the end of its body (0: no deadline); else 408. Sized
  // for the largest allowed body on a slow uplink: 64 MiB of base64 images or documents at
  // 1 Mbit/s takes about 9 minutes, so 10 minutes (the upstream --read-timeout default too).
  Micros body_timeout_us = 600'000'000;
  // Connections one client address may hold open at once (0: no cap); one more is answered
  // 503 and closed. Every local client, test suite and CI job shares 127.0.0.1, and a suite
  // may open a thousand concurrent streams plus its SDK's pooled keep-alive connections, so the
  // default is 4096: it only stops a runaway client from taking every descriptor.
  size_t max_connections_per_client = 4096;
};

// TLS for the listener: PEM files. Both empty: plain HTTP (what tapedeck itself serves; TLS
// listening exists for test upstreams).
struct ServerTlsOptions {
  std::string cert_file;
  std::string key_file;
};

struct ServerOptions {
  std::string host = "127.0.0.1";  // numeric address or name; resolved once at start
  uint16_t port = 0;               // 0: any free port (read it back with port())
  ServerLimits limits;
  // When set, every request must carry `x-tapedeck-key: <key>` (else 401 with a JSON error).
  // The header is removed before the handler sees the request, whether or not a key is set.
  std::optional<std::string> required_key;
  // ResponseSink::SetOnDrained fires once the connection's unsent bytes fall to this or below.
  size_t write_low_watermark = 64 * 1024;
  ServerTlsOptions tls;
  // `--forward-proxy`: CONNECT and absolute-form requests (proxy/forward_proxy.h).
  ForwardProxyOptions forward_proxy;
  // A tunnel's target must accept the TCP connection within this (the upstream's
  // --connect-timeout); a tunnel with no bytes either way for tunnel_idle_timeout_us closes.
  Micros tunnel_connect_timeout_us = 10'000'000;
  Micros tunnel_idle_timeout_us = 600'000'000;
};

}  // namespace td::proxy
