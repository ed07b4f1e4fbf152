// File: proxy/internal/upstream_connection.h
//
// One connection of UpstreamClient: resolve (HostResolver), connect to each address in turn, TLS
// handshake with verification, write a request, parse the streamed response (read with one
// recv() per readable event on plain sockets, through the bufferevent on TLS), then either go
// back to the pool (keep-alive) or close. Callbacks to the caller go through CallState, which
// outlives the connection; the connection never calls the caller after Close().
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <string>
#include <vector>

#include "proxy/event_loop.h"
#include "proxy/internal/ev_handles.h"
#include "proxy/internal/host_resolver.h"
#include "proxy/internal/http_parser.h"
#include "proxy/upstream_types.h"
#include "proxy/upstream_url.h"

namespace td::proxy::internal {

class UpstreamConnection;

// One request's state, shared by the caller's handle (UpstreamCall) and the connection serving
// it (which may change once, on a retry).
struct CallState {
  UpstreamCallbacks callbacks;
  std::string wire;  // the serialized request, kept for one retry
  bool head_request = false;
  UpstreamConnection* conn = nullptr;  // null while between connections or after the end
  bool cancelled = false;
  bool done = false;
  bool paused = false;
  bool retried = false;
  bool probe = false;  // UpstreamClient::Probe: connect (and verify TLS), send nothing
};

// What a connection reports to the client that owns it.
class ConnectionOwner {
 public:
  virtual ~ConnectionOwner() = default;
  // The response ended cleanly and the connection may serve another request.
  virtual void ConnectionIdle(UpstreamConnection* conn) = 0;
  // The connection closed: release it (deferred deletion: its callback may be on the stack).
  virtual void ConnectionClosed(UpstreamConnection* conn) = 0;
  // A reused connection turned out closed before any response byte: send again, fresh.
  virtual void Retry(std::shared_ptr<CallState> call) = 0;
};

// Shared by every connection of one client; owned by the client.
struct ClientContext {
  EventLoop* loop = nullptr;
  UpstreamUrl url;
  UpstreamOptions options;
  SSL_CTX* ssl_ctx = nullptr;  // null for http://
  HostResolver* resolver = nullptr;
  ConnectionOwner* owner = nullptr;
};

class UpstreamConnection {
 public:
  explicit UpstreamConnection(ClientContext* ctx);
  ~UpstreamConnection();
  UpstreamConnection(const UpstreamConnection&) = delete;
  UpstreamConnection& operator=(const UpstreamConnection&) = delete;

  // A new connection for `call`: resolves (the answer comes on a later loop turn), connects.
  void Connect(std::shared_ptr<CallState> call);
  // An idle pooled connection takes `call`: the request is written now.
  void Send(std::shared_ptr<CallState> call);
  void Pause();
  void Resume();
  // The call was cancelled: close without calling back.
  void Abandon();
  // Closes without calling back; the owner is told (ConnectionClosed).
  void Close();
  bool closed() const { return closed_; }

 private:
  struct Callbacks;  // the libevent callbacks, in the .cc: nothing may unwind into libevent

  void HandleResolved(int result, const std::vector<ResolvedAddress>& addrs);
  void HandleRead();
  void HandleEvent(short what);
  void HandleReadable(short what);  // plain sockets: the socket is readable, or timed out
  void HandleException(std::string_view what);  // fails the call, closes
  void TryNextAddress();
  void OnConnected();
  void OnConnectFailed(short what);
  void WriteRequest();
  // Reading the response: watched with the read timeout while one is due, without when idle.
  void WatchReads(bool response_due);
  void StopReading();
  size_t UnparsedBytes() const;
  void ProcessInput();
  bool DeliverBody(std::string_view bytes);  // false when the call ended meanwhile
  void Complete();
  void Fail(UpstreamError error, std::string message);
  void RetryOrFail(UpstreamError error, std::string message);
  void BecomeIdle();
  void RetireBufferEvent();
  std::string Where() const;  // "api.anthropic.com:443"
  std::string TlsErrors();    // OpenSSL errors the bufferevent collected

  ClientContext* ctx_;
  std::shared_ptr<CallState> call_;
  std::unique_ptr<HostResolver::Request> resolving_;
  std::vector<ResolvedAddress> addrs_;  // from the resolver, tried in order
  size_t next_addr_ = 0;
  std::string last_error_;
  BufferEventPtr bev_;   // connects, writes, and (TLS) reads
  EventPtr read_event_;  // plain sockets once connected: read here, not by bev_
  std::string input_;    // read by read_event_, not parsed yet
  EventPtr resume_event_;
  HttpParser parser_;
  TimerHandle connect_timer_;
  TimerHandle idle_timer_;
  std::string body_scratch_;
  uint64_t served_ = 0;  // responses completed on this connection
  bool reused_ = false;  // the current request went out on a connection that served before
  bool connected_ = false;
  bool closed_ = false;
};

}  // namespace td::proxy::internal
