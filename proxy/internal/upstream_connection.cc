// One upstream connection: DNS, connect (each address in turn), TLS with verification, the
// request, the streamed response with pause/resume, keep-alive hand-back, and error
// classification. Callbacks are noexcept trampolines; the connection is freed by its owner
// through deferred deletion, never inside its own callback.
#include "proxy/internal/upstream_connection.h"

#include <arpa/inet.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <span>
#include <vector>

#include "cassette/base/log.h"
#include "proxy/internal/net_util.h"
#include "proxy/internal/ssl_handles.h"

namespace td::proxy::internal {
// ---------------------------------------------------------------------------------------------
// libevent callbacks: nothing may unwind into libevent.

struct UpstreamConnection::Callbacks {
  template <class F>
  static void Guarded(UpstreamConnection* conn, F&& f) noexcept {
    RunGuarded(std::forward<F>(f), [conn](std::string_view what) { conn->HandleException(what); });
  }
  static void OnRead(bufferevent*, void* arg) noexcept {
    auto* conn = static_cast<UpstreamConnection*>(arg);
    Guarded(conn, [conn] { conn->HandleRead(); });
  }
  static void OnEvent(bufferevent*, short what, void* arg) noexcept {
    auto* conn = static_cast<UpstreamConnection*>(arg);
    Guarded(conn, [conn, what] { conn->HandleEvent(what); });
  }
  static void OnReadable(evutil_socket_t, short what, void* arg) noexcept {
    auto* conn = static_cast<UpstreamConnection*>(arg);
    Guarded(conn, [conn, what] { conn->HandleReadable(what); });
  }
  static void OnResume(evutil_socket_t, short, void* arg) noexcept {
    auto* conn = static_cast<UpstreamConnection*>(arg);
    Guarded(conn, [conn] { conn->ProcessInput(); });
  }
};

UpstreamConnection::UpstreamConnection(ClientContext* ctx)
    : ctx_(ctx), parser_(MessageKind::kResponse, [&] {
        HttpLimits limits;
        limits.max_header_bytes = ctx->options.max_response_header_bytes;
        limits.max_headers = 1024;
        limits.max_body_bytes = UINT64_MAX;
        return limits;
      }()) {}

UpstreamConnection::~UpstreamConnection() {
  if (call_) call_->conn = nullptr;
}

std::string UpstreamConnection::Where() const {
  const UpstreamUrl& url = ctx_->url;
  std::string host = url.host.find(':') != std::string::npos ? "[" + url.host + "]" : url.host;
  return host + ":" + std::to_string(url.port);
}

void UpstreamConnection::Connect(std::shared_ptr<CallState> call) {
  call_ = std::move(call);
  call_->conn = this;
  reused_ = false;
  resume_event_.reset(event_new(ctx_->loop->base(), -1, 0, &Callbacks::OnResume, this));
  connect_timer_ = ctx_->loop->RunAfter(ctx_->options.connect_timeout_us, [this] {
    Fail(UpstreamError::kTimeout, "connect to " + Where() + " timed out after " +
                                      DurationText(ctx_->options.connect_timeout_us));
  });
  // The resolver answers on a later loop turn, never from inside Send().
  resolving_ =
      ctx_->resolver->Resolve([this](int result, const std::vector<ResolvedAddress>& addrs) {
        Callbacks::Guarded(this, [this, result, &addrs] { HandleResolved(result, addrs); });
      });
}

void UpstreamConnection::HandleResolved(int result, const std::vector<ResolvedAddress>& addrs) {
  resolving_.reset();
  if (closed_) return;
  if (result != 0) {
    Fail(UpstreamError::kDns, "resolve " + ctx_->url.host + ": " + evutil_gai_strerror(result));
    return;
  }
  addrs_ = addrs;
  next_addr_ = 0;
  TryNextAddress();
}

void UpstreamConnection::RetireBufferEvent() {
  if (!bev_) return;
  bufferevent_disable(bev_.get(), EV_READ | EV_WRITE);
  bufferevent_setcb(bev_.get(), nullptr, nullptr, nullptr, nullptr);
  // Its callback may be on the stack: free it later.
  ctx_->loop->DeferDelete(std::move(bev_));
}

void UpstreamConnection::TryNextAddress() {
  RetireBufferEvent();
  event_base* base = ctx_->loop->base();
  const int options = BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS;
  while (next_addr_ < addrs_.size()) {
    const ResolvedAddress& address = addrs_[next_addr_++];
    if (ctx_->ssl_ctx) {
      SslPtr ssl(SSL_new(ctx_->ssl_ctx));
      if (!ssl) {
        last_error_ = "SSL_new failed";
        continue;
      }
      const std::string& host = ctx_->url.host;
      if (!IsIpLiteral(host)) SSL_set_tlsext_host_name(ssl.get(), host.c_str());
      if (!ctx_->options.insecure) {
        // Verify the certificate names this host (an IP literal is matched to IP SANs).
        SSL_set_hostflags(ssl.get(), X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        SSL_set1_host(ssl.get(), host.c_str());
      }
      // libevent owns the SSL from here on, even if the call fails.
      bev_.reset(bufferevent_openssl_socket_new(base, -1, ssl.release(), BUFFEREVENT_SSL_CONNECTING,
                                                options));
    } else {
      bev_.reset(bufferevent_socket_new(base, -1, options));
    }
    if (!bev_) {
      last_error_ = "cannot create a bufferevent";
      continue;
    }
    bufferevent_setcb(bev_.get(), &Callbacks::OnRead, nullptr, &Callbacks::OnEvent, this);
    const auto* addr = reinterpret_cast<const sockaddr*>(&address.addr);
    if (bufferevent_socket_connect(bev_.get(), addr, static_cast<int>(address.len)) < 0) {
      int err = errno;
      last_error_ = std::strerror(err ? err : ECONNREFUSED);
      bev_.reset();  // never got a callback: safe to free now
      continue;
    }
    SetNoDelay(bufferevent_getfd(bev_.get()));
    return;
  }
  Fail(UpstreamError::kConnect,
       "connect to " + Where() + " failed: " + (last_error_.empty() ? "no address" : last_error_));
}

std::string UpstreamConnection::TlsErrors() {
  std::string out;
  if (!bev_ || !ctx_->ssl_ctx) return out;
  while (unsigned long e = bufferevent_get_openssl_error(bev_.get())) {
    const char* reason = ERR_reason_error_string(e);
    // libevent also queues SSL_get_error() codes (SSL_ERROR_SSL is 1): not errors of their own.
    if (!reason && e < 0x100) continue;
    std::string text = reason ? reason : "openssl error " + std::to_string(e);
    if (out.find(text) != std::string::npos) continue;
    if (!out.empty()) out += "; ";
    out += text;
  }
  return out;
}

void UpstreamConnection::HandleEvent(short what) {
  if (closed_) return;
  if (what & BEV_EVENT_CONNECTED) {
    OnConnected();
    return;
  }
  if (!connected_) {
    OnConnectFailed(what);
    return;
  }
  if (!call_) {
    // Idle in the pool: the upstream closed it (or sent something unasked). Drop it.
    Close();
    return;
  }
  if (what & BEV_EVENT_TIMEOUT) {
    Fail(UpstreamError::kTimeout, "no data from upstream " + Where() + " for " +
                                      DurationText(ctx_->options.read_timeout_us));
    return;
  }
  const bool mid = parser_.started();
  if (what & BEV_EVENT_ERROR) {
    int err = EVUTIL_SOCKET_ERROR();
    std::string tls = TlsErrors();
    std::string why = !tls.empty()        ? "tls error: " + tls
                      : err == ECONNRESET ? std::string("connection reset by peer")
                                          : std::string(evutil_socket_error_to_string(err));
    RetryOrFail(UpstreamError::kReset,
                "upstream " + Where() + " " +
                    (mid ? "failed mid-response: " : "failed before responding: ") + why);
    return;
  }
  if (what & BEV_EVENT_EOF) {
    // Bytes read before the close come first.
    ProcessInput();
    if (closed_ || !call_) return;
    HttpParser::Step step = parser_.Eof();
    if (step.event == HttpParser::Event::kDone) {
      Complete();
      return;
    }
    RetryOrFail(UpstreamError::kReset, "upstream " + Where() + " closed the connection " +
                                           (mid ? "mid-response" : "before responding"));
  }
}

void UpstreamConnection::OnConnectFailed(short what) {
  const int err = EVUTIL_SOCKET_ERROR();
  std::string tls = TlsErrors();
  long verify = X509_V_OK;
  if (bev_ && ctx_->ssl_ctx) {
    if (SSL* ssl = bufferevent_openssl_get_ssl(bev_.get())) verify = SSL_get_verify_result(ssl);
  }
  const bool tcp_error = err == ECONNREFUSED || err == ETIMEDOUT || err == EHOSTUNREACH ||
                         err == ENETUNREACH || err == EADDRNOTAVAIL || err == ECONNRESET;
  if (ctx_->ssl_ctx && !tcp_error) {
    std::string message = "tls handshake with " + Where() + " failed: ";
    if (!tls.empty()) {
      message += tls;
    } else if (verify != X509_V_OK) {
      message += "certificate verify failed";
    } else {
      message += (what & BEV_EVENT_EOF) || err == 0 ? "the server closed the connection"
                                                    : evutil_socket_error_to_string(err);
    }
    if (verify != X509_V_OK) {
      message += std::string(" (") + X509_verify_cert_error_string(verify) + ")";
    }
    Fail(UpstreamError::kTls, message);
    return;
  }
  last_error_ = err ? evutil_socket_error_to_string(err) : "connection failed";
  TryNextAddress();
}

void UpstreamConnection::OnConnected() {
  connect_timer_.Cancel();
  connected_ = true;
  // Many servers close TLS without close_notify; for a body read until close that is its end
  // (a cut Content-Length or chunked body is still caught by the parser).
  if (ctx_->ssl_ctx) bufferevent_openssl_set_allow_dirty_shutdown(bev_.get(), 1);
  addrs_.clear();
  next_addr_ = 0;
  if (!ctx_->ssl_ctx) {
    // Plain sockets are read here, not by the bufferevent (which keeps connect and writes):
    // one recv() per readable socket, where libevent's read path adds an ioctl(FIONREAD), an
    // evbuffer chain and a deferred callback to every streamed event.
    bufferevent_disable(bev_.get(), EV_READ);
    read_event_.reset(event_new(ctx_->loop->base(), bufferevent_getfd(bev_.get()),
                                EV_READ | EV_PERSIST, &Callbacks::OnReadable, this));
    if (!read_event_) {
      Fail(UpstreamError::kConnect, "upstream " + Where() + ": event_new failed");
      return;
    }
  }
  if (!call_) {
    Close();
    return;
  }
  if (call_->probe) {
    // A start-up check: connected (and, with TLS, the certificate verified). Nothing is sent;
    // the connection waits in the pool for the first request.
    std::shared_ptr<CallState> call = std::move(call_);
    call->conn = nullptr;
    call->done = true;
    BecomeIdle();
    std::function<void(const UpstreamResult&)> on_done = std::move(call->callbacks.on_done);
    call->callbacks = UpstreamCallbacks();
    if (on_done && !call->cancelled) on_done(UpstreamResult());
    return;
  }
  WriteRequest();
}

void UpstreamConnection::Send(std::shared_ptr<CallState> call) {
  idle_timer_.Cancel();
  call_ = std::move(call);
  call_->conn = this;
  reused_ = served_ > 0;
  WriteRequest();
}

void UpstreamConnection::WriteRequest() {
  parser_.Reset();
  parser_.SetHeadRequest(call_->head_request);
  std::string_view wire = call_->wire;
  if (!ctx_->ssl_ctx && evbuffer_get_length(bufferevent_get_output(bev_.get())) == 0) {
    // Write-through: a request usually fits the socket buffer, and handing it to the kernel
    // now saves a round trip through the loop (a writable wake-up and two epoll changes).
    ssize_t n = ::send(bufferevent_getfd(bev_.get()), wire.data(), wire.size(), MSG_NOSIGNAL);
    if (n > 0) wire.remove_prefix(static_cast<size_t>(n));
    // Any error: queue it all; the bufferevent reports what it finds.
  }
  if (!wire.empty()) {
    bufferevent_write(bev_.get(), wire.data(), wire.size());
    bufferevent_enable(bev_.get(), EV_WRITE);
  }
  if (call_->paused) {
    StopReading();
  } else {
    WatchReads(/*response_due=*/true);
  }
}

void UpstreamConnection::WatchReads(bool response_due) {
  // While a response is due, silence longer than the read timeout fails it; an idle pooled
  // connection is watched only to notice the upstream closing it.
  timeval tv = ToTimeval(ctx_->options.read_timeout_us);
  const timeval* timeout = response_due ? &tv : nullptr;
  if (read_event_) {
    event_add(read_event_.get(), timeout);
  } else {
    bufferevent_set_timeouts(bev_.get(), timeout, nullptr);
    bufferevent_enable(bev_.get(), EV_READ);
  }
}

void UpstreamConnection::StopReading() {
  if (read_event_) {
    event_del(read_event_.get());
  } else if (bev_) {
    bufferevent_disable(bev_.get(), EV_READ);
  }
}

size_t UpstreamConnection::UnparsedBytes() const {
  if (read_event_) return input_.size();
  return bev_ ? evbuffer_get_length(bufferevent_get_input(bev_.get())) : 0;
}

void UpstreamConnection::Pause() {
  if (bev_ && connected_) StopReading();
}

void UpstreamConnection::Resume() {
  if (!bev_ || !connected_ || closed_) return;
  WatchReads(/*response_due=*/true);
  // Bytes read before the pause wait unparsed: parse them on the next iteration.
  if (resume_event_) event_active(resume_event_.get(), EV_TIMEOUT, 0);
}

void UpstreamConnection::HandleReadable(short what) {
  if (closed_) return;
  if (what & EV_TIMEOUT) {
    HandleEvent(BEV_EVENT_READING | BEV_EVENT_TIMEOUT);
    return;
  }
  char buf[16384];
  const ssize_t n = ::recv(bufferevent_getfd(bev_.get()), buf, sizeof buf, 0);
  if (n > 0) {
    input_.append(buf, static_cast<size_t>(n));
    HandleRead();
  } else if (n == 0) {
    HandleEvent(BEV_EVENT_READING | BEV_EVENT_EOF);
  } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
    HandleEvent(BEV_EVENT_READING | BEV_EVENT_ERROR);  // reads errno
  }
}

void UpstreamConnection::HandleRead() {
  if (!call_) {
    // Bytes on an idle pooled connection: it cannot be trusted with another request.
    Close();
    return;
  }
  ProcessInput();
}

void UpstreamConnection::HandleException(std::string_view what) {
  Fail(UpstreamError::kReset, "upstream connection: " + std::string(what));
}

bool UpstreamConnection::DeliverBody(std::string_view bytes) {
  if (bytes.empty()) return true;
  std::shared_ptr<CallState> call = call_;
  if (call->callbacks.on_body && !call->cancelled) call->callbacks.on_body(bytes);
  return !closed_ && call_ == call && !call->cancelled;
}

void UpstreamConnection::ProcessInput() {
  if (closed_ || !call_ || call_->paused || !bev_) return;
  if (UnparsedBytes() == 0) return;
  // The unparsed bytes: one piece read directly, or the bufferevent's chains (TLS).
  evbuffer* in = read_event_ ? nullptr : bufferevent_get_input(bev_.get());
  evbuffer_iovec direct{input_.data(), input_.size()};
  std::vector<evbuffer_iovec> chains;
  if (in) {
    int chunks = evbuffer_peek(in, -1, nullptr, nullptr, 0);
    chains.resize(static_cast<size_t>(std::max(chunks, 0)));
    evbuffer_peek(in, -1, nullptr, chains.data(), chunks);
  }
  const std::span<const evbuffer_iovec> vecs =
      in ? std::span<const evbuffer_iovec>(chains) : std::span<const evbuffer_iovec>(&direct, 1);

  // Body pieces of this read are handed over as one callback; the views stay valid until
  // the drain at the end.
  std::vector<std::string_view> pieces;
  size_t consumed = 0;
  auto flush_body = [&]() -> bool {
    if (pieces.empty()) return true;
    bool alive;
    if (pieces.size() == 1) {
      alive = DeliverBody(pieces.front());
    } else {
      body_scratch_.clear();
      for (std::string_view p : pieces) body_scratch_.append(p);
      alive = DeliverBody(body_scratch_);
    }
    pieces.clear();
    return alive;
  };
  auto drain = [&] {
    if (closed_ || !bev_) return;
    if (in) {
      evbuffer_drain(in, consumed);
    } else {
      input_.erase(0, consumed);
    }
  };

  for (const evbuffer_iovec& vec : vecs) {
    std::string_view data(static_cast<const char*>(vec.iov_base), vec.iov_len);
    while (true) {
      HttpParser::Step step = parser_.Next(data);
      data.remove_prefix(step.consumed);
      consumed += step.consumed;
      if (step.event == HttpParser::Event::kNeedMore) break;
      if (step.event == HttpParser::Event::kBody) {
        pieces.push_back(step.body);
        continue;
      }
      if (step.event == HttpParser::Event::kHead) {
        const HttpHead& head = parser_.head();
        UpstreamResponseHead out;
        out.status = head.status;
        out.reason = head.reason;
        out.headers = head.headers;
        out.chunked = head.body_kind == BodyKind::kChunked;
        out.has_body = head.body_kind != BodyKind::kNone;
        if (head.body_kind == BodyKind::kLength) out.content_length = head.content_length;
        std::shared_ptr<CallState> call = call_;
        if (call->callbacks.on_head && !call->cancelled) call->callbacks.on_head(out);
        if (closed_ || call_ != call || call->cancelled) return;
        if (call->paused) {
          drain();
          return;
        }
        continue;
      }
      if (!flush_body()) return;
      drain();
      if (step.event == HttpParser::Event::kDone) {
        Complete();
      } else {
        Fail(UpstreamError::kProtocol,
             "malformed response from upstream " + Where() + ": " + parser_.error().reason);
      }
      return;
    }
  }
  if (!flush_body()) return;
  drain();
}

void UpstreamConnection::Complete() {
  std::shared_ptr<CallState> call = std::move(call_);
  call->conn = nullptr;
  call->done = true;
  ++served_;
  const bool reusable = parser_.head().keep_alive && bev_ && UnparsedBytes() == 0;
  if (reusable) {
    BecomeIdle();
  } else {
    Close();
  }
  std::function<void(const UpstreamResult&)> on_done = std::move(call->callbacks.on_done);
  call->callbacks = UpstreamCallbacks();
  if (on_done && !call->cancelled) on_done(UpstreamResult());
}

void UpstreamConnection::BecomeIdle() {
  parser_.Reset();
  WatchReads(/*response_due=*/false);  // to notice the upstream closing it
  idle_timer_ = ctx_->loop->RunAfter(ctx_->options.idle_connection_timeout_us, [this] { Close(); });
  ctx_->owner->ConnectionIdle(this);
}

void UpstreamConnection::Fail(UpstreamError error, std::string message) {
  std::shared_ptr<CallState> call = std::move(call_);
  Close();
  if (!call) return;
  call->conn = nullptr;
  call->done = true;
  std::function<void(const UpstreamResult&)> on_done = std::move(call->callbacks.on_done);
  call->callbacks = UpstreamCallbacks();
  if (on_done && !call->cancelled) on_done(UpstreamResult{error, std::move(message)});
}

void UpstreamConnection::RetryOrFail(UpstreamError error, std::string message) {
  if (call_ && reused_ && !parser_.started() && !call_->retried) {
    TD_LOG(kDebug) << "upstream " << Where()
                   << " closed a reused connection before answering; retrying on a new one";
    std::shared_ptr<CallState> call = std::move(call_);
    call->retried = true;
    call->conn = nullptr;
    Close();
    ctx_->owner->Retry(std::move(call));
    return;
  }
  Fail(error, std::move(message));
}

void UpstreamConnection::Abandon() {
  if (call_) {
    call_->conn = nullptr;
    call_.reset();
  }
  Close();
}

void UpstreamConnection::Close() {
  if (closed_) return;
  closed_ = true;
  resolving_.reset();
  connect_timer_.Cancel();
  idle_timer_.Cancel();
  if (resume_event_) event_del(resume_event_.get());
  if (read_event_) event_del(read_event_.get());
  if (bev_) {
    bufferevent_disable(bev_.get(), EV_READ | EV_WRITE);
    bufferevent_setcb(bev_.get(), nullptr, nullptr, nullptr, nullptr);
  }
  if (call_) {
    call_->conn = nullptr;
    call_.reset();
  }
  ctx_->owner->ConnectionClosed(this);
}

}  // namespace td::proxy::internal
