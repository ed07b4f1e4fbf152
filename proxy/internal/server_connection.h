// File: proxy/internal/server_connection.h
//
// One accepted client connection of HttpServer and the Exchange/ResponseSink it hands to the
// handler. The connection parses requests one at a time (pipelined ones wait in the input
// buffer), writes each response straight into the bufferevent's output buffer, and tells the
// exchange when the client goes away. An exchange outlives its connection safely: once
// detached, every sink call is a no-op. Each request has a head deadline and a body deadline
// (ServerLimits), kept by one lazily re-armed timer per connection.
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
#include "proxy/http_server.h"
#include "proxy/internal/ev_handles.h"
#include "proxy/internal/http_parser.h"

namespace td::proxy::internal {

class ServerConnection;

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
  uint64_t next_seq = 1;
  size_t active_exchanges = 0;
  bool draining = false;  // StopAccepting() was called
  std::function<void()> on_exchange_ended;
  // The connection closed: the server releases its ownership (deferred deletion).
  std::function<void(ServerConnection*)> on_connection_closed;
};

class ServerExchange final : public Exchange,
                             public ResponseSink,
                             public std::enable_shared_from_this<ServerExchange> {
 public:
  ServerExchange(ServerConnection* conn, uint64_t seq, cassette::Request request,
                 std::string target, Micros arrived_us, std::string peer, bool head_request,
                 int version_minor, bool client_keep_alive);

  // Exchange.
  const cassette::Request& request() const override { return request_; }
  const std::string& target() const override { return target_; }
  std::uint64_t seq() const override { return seq_; }
  Micros arrived_us() const override { return arrived_us_; }
  std::string peer() const override { return peer_; }
  ResponseSink& sink() override { return *this; }
  void SetOnClientGone(std::function<void()> on_gone) override {
    // Once the response ended it can never be called: do not keep what it captured alive.
    on_client_gone_ = IsOpen() ? std::move(on_gone) : nullptr;
  }

  // ResponseSink.
  void Start(int status, const cassette::Headers& headers,
             std::optional<size_t> content_length) override;
  void Write(std::string_view bytes) override;
  void Finish() override;
  void Reset() override;
  void BeginBatch() override { batching_ = true; }
  void EndBatch() override;
  bool IsOpen() const override { return conn_ != nullptr && !ended_; }
  size_t BufferedBytes() const override;
  void SetOnDrained(std::function<void()> on_drained) override;

  // Connection side.
  void Detach();      // the connection is going away without telling the handler
  void ClientGone();  // the client left: detach, then call on_client_gone once
  void Drained();     // the output fell to the low watermark: call on_drained once
  bool started() const { return started_; }
  int status() const { return status_; }

 private:
  enum class Framing { kNone, kLength, kChunked, kUntilClose };

  // Sends now, or appends to the batch between BeginBatch and EndBatch.
  void Emit(const iovec* iov, int count);
  void FlushBatch();
  // With a drain wait pending and the output already at or below the low watermark: calls
  // back on the next iteration (no write callback will come to do it).
  void DrainedSoonIfDrained();

  ServerConnection* conn_;  // null once detached
  uint64_t seq_;
  cassette::Request request_;
  std::string target_;
  Micros arrived_us_;
  std::string peer_;
  bool head_request_;
  int version_minor_;
  bool client_keep_alive_;

  bool started_ = false;
  bool ended_ = false;
  int status_ = 0;
  Framing framing_ = Framing::kNone;
  uint64_t content_length_ = 0;
  uint64_t written_ = 0;
  bool keep_alive_ = true;
  bool overflow_logged_ = false;
  bool batching_ = false;  // framed bytes go to the connection's batch buffer until EndBatch
  std::function<void()> on_client_gone_;
  std::function<void()> on_drained_;
  TimerHandle drained_timer_;
};

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
  // Sends the bytes, straight to the socket when nothing is queued, queueing what is left.
  void Send(const iovec* iov, int count);
  // Appends to the output buffer for the bufferevent to flush.
  void Queue(const char* data, size_t size);
  // Where the active exchange gathers a batch. Kept by the connection, not the exchange, so
  // its capacity is reused by every response on a keep-alive connection.
  std::string& batch_buffer() { return batch_buffer_; }
  // Sends and empties the batch buffer.
  void SendBatch();
  void ResponseDone(bool keep_alive);  // the exchange finished its response
  void ResetNow();                     // the exchange wants an abrupt end (RST)
  size_t write_low_watermark() const;
  EventLoop* loop() const;
  const std::string& peer() const { return peer_; }

  // For the libevent trampolines in server_connection.cc only.
  void HandleRead();
  void HandleWrite();
  void HandleEvent(short what);
  void HandleResume() { ProcessInput(); }
  void Fail(std::string_view what);  // logs, closes

 private:
  // Which part of a request is being received, each with its own total deadline.
  enum class Phase { kNone, kHead, kBody };

  void ProcessInput();
  void Dispatch();
  void SendErrorAndClose(int status, std::string_view reason);
  void CloseAfterFlush();
  void FinishClose();     // the last bytes are out: FIN, then linger (plain) or close (TLS)
  void AbortWhenAcked();  // Reset(): RST once the peer acknowledged what was sent
  void Abort();           // RST now
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
  std::string body_;
  std::string batch_buffer_;
  std::shared_ptr<ServerExchange> active_;
  bool writing_ = false;  // EV_WRITE enabled: set by the first Queue(), then left on
  bool close_after_flush_ = false;
  bool lingering_ = false;
  bool resetting_ = false;
  TimerHandle reset_deadline_;
  TimerHandle reset_poll_;
  Phase phase_ = Phase::kNone;
  Micros phase_due_us_ = 0;     // when the current phase's time is up (loop clock)
  Micros timer_due_us_ = 0;     // when deadline_timer_ fires: at or before phase_due_us_
  TimerHandle deadline_timer_;  // empty when none is armed
  bool closed_ = false;
};

}  // namespace td::proxy::internal
