// File: proxy/http_server.h
//
// The HTTP/1.1 listener shared by record and replay: a lean server over bufferevents (not
// evhttp) for byte-exact wire control, low per-request cost and write-watermark backpressure.
// Each request becomes a shared_ptr<Exchange> handed to a Handler; the handler answers through
// the exchange's ResponseSink, which writes exactly the status line, the handler's headers and
// the framing (never a Date or Content-Type of its own). Keep-alive, HTTP/1.0 and 1.1,
// Content-Length and chunked request bodies, Expect: 100-continue, pipelined requests answered
// in order (one at a time per connection). Malformed requests get a 400 (or 413/414/431/501/
// 505) with a plain-text reason, and the connection is closed. A client that closes (or half-
// closes) its side while its response is in progress counts as gone, as in nginx. New
// connections are accepted a few per loop turn, so that a burst of them (a test suite opening
// 64 streams at once) does not hold up the responses already flowing.
//
// Slow or greedy clients (ServerLimits): a request's head must arrive within head_timeout_us
// of its first byte and its body within body_timeout_us of the end of the head, however
// steadily the bytes trickle in; a client that misses either gets a 408 naming the deadline and
// the connection is closed. Between requests only idle_timeout_us applies. One client address
// may hold max_connections_per_client connections at once; a connection beyond that is
// answered 503 (with Retry-After) and closed at once, and the refusals are logged at warn level
// at most once per 10 s. When accepting fails for lack of descriptors (EMFILE), the listener
// pauses for 100 ms; EventLoop raises the soft open-file limit to the hard limit at start.
//
// Threading: create, use and destroy on the loop thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "cassette/base/status.h"
#include "proxy/event_loop.h"
#include "proxy/exchange.h"
#include "proxy/server_options.h"

namespace td::proxy {

class HttpServer {
 public:
  // Binds and starts accepting. `loop` and `handler` must outlive the server. Errors name the
  // address: `listen 127.0.0.1:8080: Address already in use` (kUnavailable), or the TLS file.
  static Result<std::unique_ptr<HttpServer>> Create(EventLoop* loop, ServerOptions options,
                                                    Handler* handler);
  // Closes every connection at once. Exchanges still referenced elsewhere become closed
  // (IsOpen() false); their callbacks are not called.
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  const std::string& host() const;
  uint16_t port() const;
  // "http://127.0.0.1:PORT" ("https://..." with TLS; IPv6 hosts in brackets).
  std::string url() const;

  // Graceful shutdown, step 1: stop accepting, close idle keep-alive connections, and close
  // each busy connection once its response is done. In-flight exchanges carry on.
  void StopAccepting();
  // Exchanges handed to the handler whose response has not ended (finished, reset, or the
  // client gone).
  size_t active_exchanges() const;
  size_t open_connections() const;
  // Connections accepted since start (tests check keep-alive reuse with it).
  uint64_t accepted_connections() const;
  // Connections refused since start because their client address held
  // max_connections_per_client already.
  uint64_t refused_connections() const;
  // Called on the loop (never inline from a sink call) whenever active_exchanges() drops to 0.
  // With StopAccepting(), this tells a shutdown that the last in-flight exchange ended.
  void SetOnIdle(std::function<void()> on_idle);

  struct Impl;  // defined in http_server.cc (named here so its trampolines can reach it)

 private:
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace td::proxy
