// File: proxy/upstream_client.h
//
// The client a recording forwards requests with: HTTP/1.1 over bufferevents, TLS through
// bufferevent_openssl (system CA store plus an optional CA file, SNI, host name verification,
// an explicit insecure switch), asynchronous DNS (one lookup shared by the connections that
// start together, its answer kept for a minute), a keep-alive pool, a connect timeout and an
// idle-read timeout. Responses stream: the head, then each body piece as it is read (one
// callback per read), then the end or a classified error. A call can pause and resume reading
// (backpressure) and be cancelled (the client left).
//
// Threading: create, use and destroy on the loop thread. Callbacks run on the loop, never
// inline from Send().
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "cassette/base/status.h"
#include "cassette/model.h"
#include "proxy/event_loop.h"
#include "proxy/upstream_types.h"
#include "proxy/upstream_url.h"

namespace td::proxy {

class UpstreamClient {
 public:
  // Builds the TLS context (errors name a bad CA file) and the DNS resolver. `loop` must
  // outlive the client.
  static Result<std::unique_ptr<UpstreamClient>> Create(EventLoop* loop, UpstreamUrl url,
                                                        UpstreamOptions options);
  // Closes every connection; calls still held elsewhere get no further callbacks.
  ~UpstreamClient();
  UpstreamClient(const UpstreamClient&) = delete;
  UpstreamClient& operator=(const UpstreamClient&) = delete;

  // Sends `request` on a pooled connection or a new one. A request sent on a reused
  // connection that the upstream closed before answering is retried once on a fresh one.
  std::unique_ptr<UpstreamCall> Send(UpstreamRequest request, UpstreamCallbacks callbacks);
  // The start-up check: opens one new connection (DNS, TCP, and the TLS handshake with the
  // certificate verified) without sending anything, then calls `on_done` on the loop with the
  // result (the error says which step failed). The connection then waits in the pool for the
  // first request. Destroying the returned call cancels the check.
  std::unique_ptr<UpstreamCall> Probe(std::function<void(const UpstreamResult&)> on_done);

  const UpstreamUrl& url() const;
  size_t open_connections() const;

  struct Impl;  // defined in upstream_client.cc

 private:
  explicit UpstreamClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace td::proxy
