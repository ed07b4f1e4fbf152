// File: proxy/internal/server_connection.h
//
// One accepted client connection of HttpServer. It parses requests one at a time (pipelined
// ones wait in the input buffer), hands each to the handler as a ServerExchange
// (server_exchange.h), sends the bytes the exchange frames, and tells it when the client goes
// away. Each request has a head deadline and a body deadline (ServerLimits), kept by one lazily
// re-armed timer per connection.
#pragma once

#include <openssl/ssl.h>
#include <sys/uio.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "proxy/event_loop.h"
#include "proxy/exchange.h"
#include "proxy/forward_proxy.h"
#include "proxy/internal/connect_tunnel.h"
#include "proxy/internal/ev_handles.h"
#include "proxy/internal/http_parser.h"
#include "proxy/internal/server_exchange.h"
#include "proxy/internal/write_batch.h"
#include "proxy/server_options.h"

namespace td::proxy::internal {

class LeafMinter;

// A complete `status` response with a plain-text body "tapedeck: <reason>\n" and
// `Connection: close`; `extra_headers` ("Name: value\r\n" lines) go before the blank line.
std::string PlainErrorResponse(int status, std::string_view reason,
                               std::string_view extra_headers = {});

// What connections share with their server. Owned by the server; outlives every connection.
struct ServerShared {
  EventLoop* loop = nullptr;
  Handler* handler = nullptr;
  ServerOptions options;
  HttpLimits parse_limits;
  SSL_CTX* tls_ctx = nullptr;  // owned by the server; null for plain HTTP
  // Forward-proxy mode (options.forward_proxy.enabled), owned by the server: what signs the
  // leaves of intercepted hosts, and the resolver tunnels connect with (null in replay).
  LeafMinter* minter = nullptr;
  evdns_base* tunnel_dns = nullptr;
  uint64_t next_seq = 1;
  size_t active_exchanges = 0;
  bool draining = false;  // StopAccepting() was called
  std::function<void()> on_exchange_ended;
  // The connection closed: the server releases its ownership (deferred deletion).
  std::function<void(ServerConnection*)> on_connection_closed;
};

// Forward-proxy mode adds two ways for a connection to go: a CONNECT to an intercepted host
// turns it into a TLS connection (a leaf minted for the host) whose requests carry that origin;
// a CONNECT to any other host hands the socket to a ConnectTunnel (record, passthrough) or is
// refused with a 403 (replay). An absolute-form request carries its own origin.
class ServerConnection {
 public:
  // Takes ownership of `fd`. Call Start() next.
  ServerConnection(ServerShared* shared, evutil_socket_t fd, std::string peer);
  ~ServerConnection();
  ServerConnection(const ServerConnection&) = delete;
  ServerConnection& operator=(const ServerConnection&) = delete;

  Status Start();
  // Closes now without a word to the handler (server shutdown), or an idle keep-alive
  // connection when draining.
  void Close();
  bool idle() const;  // no exchange in progress and no request partly received

  // For ServerExchange.
  evbuffer* output();
  // Sends the bytes, straight to the socket when nothing is queued, queueing a copy of what is
  // left: the caller's bytes need not outlive the call.
  void Send(const iovec* iov, int count);
  // Appends to the output buffer for the bufferevent to flush.
  void Queue(const char* data, size_t size);
  // Where the active exchange gathers a batch. Kept by the connection, not the exchange, so
  // its capacity is reused by every response on a keep-alive connection.
  WriteBatch& batch_buffer() { return batch_buffer_; }
  // Sends and empties the batch buffer.
  void SendBatch();
  void ResponseDone(bool keep_alive);  // the exchange finished its response
  void ResetNow();                     // the exchange wants an abrupt end (RST)
  size_t write_low_watermark() const;
  EventLoop* loop() const;
  const std::string& peer() const { return peer_; }

 private:
  struct Callbacks;  // the libevent callbacks, in the .cc: nothing may unwind into libevent

  // Which part of a request is being received, each with its own total deadline.
  enum class Phase { kNone, kHead, kBody };

  void HandleRead();
  void HandleWrite();
  void HandleEvent(short what);
  void Fail(std::string_view what);  // logs, closes
  void ProcessInput();
  void Dispatch();
  // Forward-proxy mode: a CONNECT, and where an absolute-form request goes. Each returns true
  // when it answered or took over the connection.
  void HandleConnect(const HttpHead& head);
  void InterceptTls(const Authority& target);
  void StartTunnel(const Authority& target);
  // The origin and handler of a request on this connection; false when it was refused.
  bool Route(const std::string& raw_target, std::string* origin, Handler** handler);
  void OnTlsHandshakeDone();
  void SendErrorAndClose(int status, std::string_view reason);
  void CloseAfterFlush();
  void FinishClose();     // the last bytes are out: FIN, then linger (plain) or close (TLS)
  void AbortWhenAcked();  // Reset(): RST once the peer acknowledged what was sent
  // Bytes an intercepted connection's TLS filter handed to the socket's bufferevent that are
  // not written yet (0 for other connections).
  size_t UnsentBelowTls() const;
  void Abort();  // RST now
  void SetIdleTimeout(bool on);
  void EndActive();  // the active exchange ended: bookkeeping
  // Enters `phase`, due `limit_us` from now (0: no deadline). Costs no timer while the one
  // already armed fires first: it re-arms itself when it finds time left.
  void StartPhase(Phase phase, Micros limit_us);
  void ArmDeadline(Micros now);
  void OnDeadline();

  ServerShared* shared_;
  std::string peer_;
  evutil_socket_t fd_;
  BufferEventPtr bev_;
  EventPtr resume_event_;
  HttpParser parser_;
  bool tls_ = false;      // the socket speaks TLS (a TLS listener, or an intercepted CONNECT)
  std::string origin_;    // after an intercepted CONNECT: "https://host:port" of its requests
  std::string sni_host_;  // the CONNECT host the handshake must name (when SNI is sent)
  bool handshake_done_ = true;
  std::unique_ptr<ConnectTunnel> tunnel_;
  std::string body_;
  WriteBatch batch_buffer_;
  std::shared_ptr<ServerExchange> active_;
  bool idle_timeout_on_ = false;  // the bufferevent's read timeout is the idle timeout
  bool writing_ = false;          // EV_WRITE enabled: set by the first Queue(), then left on
  bool close_after_flush_ = false;
  bool lingering_ = false;
  bool resetting_ = false;
  TimerHandle reset_deadline_;
  TimerHandle reset_poll_;
  TimerHandle flush_poll_;  // FinishClose() waiting for UnsentBelowTls() to drain
  int flush_polls_ = 0;
  Phase phase_ = Phase::kNone;
  Micros phase_due_us_ = 0;     // when the current phase's time is up (loop clock)
  Micros timer_due_us_ = 0;     // when deadline_timer_ fires: at or before phase_due_us_
  TimerHandle deadline_timer_;  // empty when none is armed
  bool closed_ = false;
};

}  // namespace td::proxy::internal
