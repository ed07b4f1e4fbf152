// One client connection of HttpServer: request parsing, dispatch, response framing, keep-alive,
// request deadlines, lingering close, and client-gone detection. All callbacks are noexcept
// trampolines that never free their own bufferevent (the server defers the deletion).
#include "proxy/internal/server_connection.h"

#include <event2/bufferevent_ssl.h>
#include <linux/sockios.h>
#include <openssl/err.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cstdio>

#include "cassette/base/ascii.h"
#include "cassette/base/log.h"
#include "cassette/base/unique_fd.h"
#include "cassette/http_headers.h"
#include "cassette/provider.h"
#include "proxy/internal/leaf_minter.h"
#include "proxy/internal/net_util.h"
#include "proxy/internal/ssl_handles.h"

namespace td::proxy::internal {
namespace {

// While an exchange is in progress, pipelined bytes wait in the input buffer up to this much;
// beyond it the connection stops reading until the exchange ends.
constexpr size_t kReadHighWatermark = 1 << 20;
// After the last response of a closing connection: how long to keep reading (and discarding)
// so unread request bytes do not turn our FIN into an RST that destroys the response.
constexpr Micros kLingerCloseUs = 2'000'000;
// Reset(): how long the bytes already written may take to leave before the RST goes anyway.
constexpr Micros kResetFlushUs = 200'000;

// An absolute-form target ("http://host/x?y") becomes its origin form ("/x?y").
std::string OriginForm(const std::string& target) {
  if (target.empty() || target.front() == '/' || target == "*") return target;
  size_t scheme_end = target.find("://");
  if (scheme_end == std::string::npos) return target;
  size_t path = target.find_first_of("/?", scheme_end + 3);
  if (path == std::string::npos) return "/";
  if (target[path] == '?') return "/" + target.substr(path);
  return target.substr(path);
}

// The origin of an absolute-form target ("http://Host:8080/x" -> scheme "http", host "host",
// port 8080), or an error saying what is wrong with it.
Result<std::pair<std::string, Authority>> AbsoluteFormOrigin(std::string_view target) {
  const size_t scheme_end = target.find("://");
  std::string scheme = ToLowerAscii(target.substr(0, scheme_end));
  std::string_view rest = target.substr(scheme_end + 3);
  std::string authority(rest.substr(0, rest.find_first_of("/?")));
  if (authority.find('@') != std::string::npos) {
    return InvalidArgumentError("user name or password in the request target");
  }
  const bool has_port = !authority.empty() && authority.back() != ']' &&
                        authority.find(':', authority.rfind(']') + 1) != std::string::npos;
  if (!has_port) authority += scheme == "https" ? ":443" : ":80";
  Result<Authority> parsed = ParseAuthority(authority);
  if (!parsed.ok()) return parsed.status();
  return std::make_pair(std::move(scheme), std::move(*parsed));
}

// Why a TLS handshake with a client failed, from OpenSSL's queue for `bev`; empty when
// OpenSSL had nothing to say (the client just went away).
std::string OpenSslErrors(bufferevent* bev) {
  std::string out;
  while (unsigned long err = bufferevent_get_openssl_error(bev)) {
    const char* reason = ERR_reason_error_string(err);
    if (reason == nullptr) continue;
    if (!out.empty()) out += "; ";
    out += reason;
  }
  return out;
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < a.size(); ++i) {
    diff |= static_cast<unsigned char>(a[i] ^ (i < b.size() ? b[i] : 0));
  }
  return diff == 0;
}

}  // namespace

std::string PlainErrorResponse(int status, std::string_view reason,
                               std::string_view extra_headers) {
  std::string body = "tapedeck: " + std::string(reason) + "\n";
  char line[64];
  std::snprintf(line, sizeof line, "HTTP/1.1 %03d ", status);
  std::string response = line;
  response += cassette::ReasonPhrase(status);
  response += "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ";
  response += std::to_string(body.size());
  response += "\r\n";
  response += extra_headers;
  response += "Connection: close\r\n\r\n";
  response += body;
  return response;
}

// ---------------------------------------------------------------------------------------------
// libevent callbacks: nothing may unwind into libevent.

struct ServerConnection::Callbacks {
  template <class F>
  static void Guarded(ServerConnection* conn, F&& f) noexcept {
    RunGuarded(std::forward<F>(f), [conn](std::string_view what) { conn->Fail(what); });
  }
  static void OnRead(bufferevent*, void* arg) noexcept {
    auto* conn = static_cast<ServerConnection*>(arg);
    Guarded(conn, [conn] { conn->HandleRead(); });
  }
  static void OnWrite(bufferevent*, void* arg) noexcept {
    auto* conn = static_cast<ServerConnection*>(arg);
    Guarded(conn, [conn] { conn->HandleWrite(); });
  }
  static void OnEvent(bufferevent*, short what, void* arg) noexcept {
    auto* conn = static_cast<ServerConnection*>(arg);
    Guarded(conn, [conn, what] { conn->HandleEvent(what); });
  }
  static void OnResume(evutil_socket_t, short, void* arg) noexcept {
    auto* conn = static_cast<ServerConnection*>(arg);
    Guarded(conn, [conn] { conn->ProcessInput(); });
  }
};

// ---------------------------------------------------------------------------------------------
// ServerConnection

ServerConnection::ServerConnection(ServerShared* shared, evutil_socket_t fd, std::string peer)
    : shared_(shared),
      peer_(std::move(peer)),
      fd_(fd),
      parser_(MessageKind::kRequest, shared->parse_limits) {}

ServerConnection::~ServerConnection() {
  if (active_) active_->Detach();
  active_.reset();
}

Status ServerConnection::Start() {
  event_base* base = shared_->loop->base();
  const int options = BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS;
  UniqueFd owned(fd_);  // ours until a bufferevent takes it over (BEV_OPT_CLOSE_ON_FREE)
  if (shared_->tls_ctx) {
    SslPtr ssl(SSL_new(shared_->tls_ctx));
    if (!ssl) return InternalError("accept " + peer_ + ": SSL_new failed");
    // libevent owns the SSL from here on, even if the call fails.
    bev_.reset(bufferevent_openssl_socket_new(base, fd_, ssl.release(), BUFFEREVENT_SSL_ACCEPTING,
                                              options));
  } else {
    bev_.reset(bufferevent_socket_new(base, fd_, options));
  }
  if (!bev_) return InternalError("accept " + peer_ + ": cannot create a bufferevent");
  owned.release();
  resume_event_.reset(event_new(base, -1, 0, &Callbacks::OnResume, this));
  if (!resume_event_) return InternalError("accept " + peer_ + ": event_new failed");
  bufferevent_setcb(bev_.get(), &Callbacks::OnRead, &Callbacks::OnWrite, &Callbacks::OnEvent, this);
  bufferevent_setwatermark(bev_.get(), EV_READ, 0, kReadHighWatermark);
  bufferevent_setwatermark(bev_.get(), EV_WRITE, shared_->options.write_low_watermark, 0);
  SetIdleTimeout(true);
  // Plain writes go straight to the socket (Send); EV_WRITE is enabled only once something has
  // to wait in the output buffer, so a connection costs no writable wake-up. TLS writes always
  // go through the bufferevent, which also writes handshake records.
  tls_ = shared_->tls_ctx != nullptr;
  writing_ = tls_;
  bufferevent_enable(bev_.get(), writing_ ? EV_READ | EV_WRITE : EV_READ);
  return Status::Ok();
}

evbuffer* ServerConnection::output() { return bufferevent_get_output(bev_.get()); }

void ServerConnection::Send(const iovec* iov, int count) {
  evbuffer* out = output();
  size_t sent = 0;
  if (!tls_ && !close_after_flush_ && evbuffer_get_length(out) == 0) {
    // Write-through: with nothing queued, hand the bytes to the kernel now. This saves the
    // write-event round trip through the loop (and its syscalls) on every streamed event.
    ssize_t n = ::writev(fd_, iov, count);
    if (n > 0) sent = static_cast<size_t>(n);
    // Any error (EAGAIN, a dead peer): queue it all; the bufferevent reports what it finds.
  }
  for (int i = 0; i < count; ++i) {
    if (sent >= iov[i].iov_len) {
      sent -= iov[i].iov_len;
      continue;
    }
    Queue(static_cast<const char*>(iov[i].iov_base) + sent, iov[i].iov_len - sent);
    sent = 0;
  }
}

void ServerConnection::Queue(const char* data, size_t size) {
  evbuffer_add(output(), data, size);
  if (!writing_) {
    writing_ = true;
    bufferevent_enable(bev_.get(), EV_WRITE);
  }
}

void ServerConnection::SendBatch() {
  // A batch larger than this is not kept for the next response: an idle keep-alive connection
  // should not hold on to the memory of one large body.
  constexpr size_t kKeepCapacity = 64 * 1024;
  if (!batch_buffer_.empty()) {
    iovec iov[WriteBatch::kMaxIovecs];
    Send(iov, batch_buffer_.Gather(iov));  // referenced bytes are copied if they must wait
  }
  if (batch_buffer_.capacity() > kKeepCapacity) {
    batch_buffer_.Release();
  } else {
    batch_buffer_.Clear();
  }
}

size_t ServerConnection::write_low_watermark() const {
  return shared_->options.write_low_watermark;
}

EventLoop* ServerConnection::loop() const { return shared_->loop; }

bool ServerConnection::idle() const {
  return !closed_ && !active_ && !close_after_flush_ && !parser_.started();
}

void ServerConnection::SetIdleTimeout(bool on) {
  if (on == idle_timeout_on_) return;  // two calls into libevent per request saved
  idle_timeout_on_ = on;
  if (on) {
    timeval tv = ToTimeval(shared_->options.limits.idle_timeout_us);
    bufferevent_set_timeouts(bev_.get(), &tv, nullptr);
  } else {
    bufferevent_set_timeouts(bev_.get(), nullptr, nullptr);
  }
}

void ServerConnection::HandleRead() {
  if (lingering_) {
    evbuffer* in = bufferevent_get_input(bev_.get());
    evbuffer_drain(in, evbuffer_get_length(in));
    return;
  }
  ProcessInput();
}

void ServerConnection::HandleWrite() {
  if (closed_) return;
  if (close_after_flush_) {
    if (evbuffer_get_length(output()) != 0) return;
    if (resetting_) {
      AbortWhenAcked();
    } else {
      FinishClose();
    }
    return;
  }
  // Callbacks are deferred: the buffer may have filled again since this one was queued.
  if (active_ && evbuffer_get_length(output()) <= write_low_watermark()) active_->Drained();
}

void ServerConnection::Fail(std::string_view what) {
  TD_LOG(kError) << "connection " << peer_ << ": " << what << "; closing it";
  Close();
}

void ServerConnection::HandleEvent(short what) {
  if (closed_) return;
  if (lingering_) {
    Close();
    return;
  }
  if (!handshake_done_) {
    if (what & BEV_EVENT_CONNECTED) {
      OnTlsHandshakeDone();
      return;
    }
    std::string why =
        (what & BEV_EVENT_TIMEOUT) ? std::string("timed out") : OpenSslErrors(bev_.get());
    if (why.empty()) why = "the client hung up";
    // A client that does not trust the CA says so with an alert ("tlsv1 alert unknown ca").
    const bool trust =
        why.find("unknown ca") != std::string::npos || why.find("certificate") != std::string::npos;
    TD_LOG(kWarn) << "connection " << peer_ << ": TLS handshake for " << sni_host_
                  << " failed: " << why
                  << (trust ? " (does the client trust tapedeck's CA? `tapedeck ca init` says how)"
                            : "");
    Close();
    return;
  }
  if (what & BEV_EVENT_TIMEOUT) {
    if (active_ && !close_after_flush_) {
      // Idle while its own response is being written (a long paced stream): not idle. The
      // bufferevent stopped reading when the timeout fired; reading goes on, so that a client
      // that leaves is still seen.
      bufferevent_enable(bev_.get(), EV_READ);
      return;
    }
    if (!active_ && parser_.started() && !close_after_flush_) {
      SendErrorAndClose(408, "no bytes of the request for " +
                                 DurationText(shared_->options.limits.idle_timeout_us));
    } else {
      Close();
    }
    return;
  }
  if (close_after_flush_ && !(what & BEV_EVENT_ERROR)) {
    // The client half-closed while our last response is still going out: finish sending it.
    return;
  }
  if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
    if (what & BEV_EVENT_ERROR) {
      int err = EVUTIL_SOCKET_ERROR();
      TD_LOG(kDebug) << "connection " << peer_ << ": " << evutil_socket_error_to_string(err);
    }
    if (active_) {
      std::shared_ptr<ServerExchange> ex = active_;
      EndActive();
      ex->ClientGone();
    }
    Close();
  }
}

void ServerConnection::ProcessInput() {
  evbuffer* in = bufferevent_get_input(bev_.get());
  while (!closed_ && !active_ && !close_after_flush_) {
    if (evbuffer_get_length(in) == 0) return;
    // The first bytes of a request: its head is due within head_timeout_us.
    if (phase_ == Phase::kNone && !parser_.started()) {
      StartPhase(Phase::kHead, shared_->options.limits.head_timeout_us);
    }
    evbuffer_iovec vec;
    if (evbuffer_peek(in, -1, nullptr, &vec, 1) < 1) return;
    std::string_view data(static_cast<const char*>(vec.iov_base), vec.iov_len);
    size_t used = 0;
    bool more = true;
    while (more) {
      HttpParser::Step step = parser_.Next(data.substr(used));
      used += step.consumed;
      switch (step.event) {
        case HttpParser::Event::kNeedMore:
          more = false;
          break;
        case HttpParser::Event::kHead: {
          const HttpHead& head = parser_.head();
          if (head.body_kind != BodyKind::kNone) {
            StartPhase(Phase::kBody, shared_->options.limits.body_timeout_us);
          }
          if (head.expect_continue && head.body_kind != BodyKind::kNone) {
            static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
            Queue(kContinue.data(), kContinue.size());
          }
          break;
        }
        case HttpParser::Event::kBody:
          body_.append(step.body);
          break;
        case HttpParser::Event::kDone:
          evbuffer_drain(in, used);
          phase_ = Phase::kNone;  // the timer, if armed, lapses unused (or serves the next one)
          Dispatch();
          return;
        case HttpParser::Event::kError:
          evbuffer_drain(in, used);
          SendErrorAndClose(parser_.error().status, parser_.error().reason);
          return;
      }
    }
    evbuffer_drain(in, used);
  }
}

void ServerConnection::Dispatch() {
  HttpHead& head = parser_.mutable_head();
  if (head.method == "CONNECT") {
    HandleConnect(head);
    return;
  }
  std::string origin;
  Handler* handler = shared_->handler;
  if (!Route(head.target, &origin, &handler)) return;
  cassette::Request request;
  request.origin = std::move(origin);
  request.method = head.method;
  std::string target = OriginForm(head.target);
  cassette::SplitTarget(target, &request.path, &request.query);
  request.headers = std::move(head.headers);
  request.body.bytes = std::move(body_);
  body_.clear();

  bool key_ok = true;
  if (shared_->options.required_key) {
    const std::string* key = cassette::FindHeader(request.headers, "x-tapedeck-key");
    key_ok = key != nullptr && ConstantTimeEquals(*key, *shared_->options.required_key);
  }
  cassette::RemoveHeader(&request.headers, "x-tapedeck-key");

  const bool keep_alive = head.keep_alive && !shared_->draining;
  auto exchange = std::make_shared<ServerExchange>(
      this, shared_->next_seq++, std::move(request), std::move(target), shared_->loop->NowMicros(),
      peer_, head.method == "HEAD", head.version_minor, keep_alive);
  active_ = exchange;
  ++shared_->active_exchanges;
  // The idle timeout stays armed while the response goes out (OnEvent ignores it then): a
  // keep-alive client's next request would only arm it again.

  if (!key_ok) {
    TD_LOG(kWarn) << "request from " << peer_ << " rejected: missing or wrong x-tapedeck-key";
    RespondWithError(*exchange, 401, cassette::DetectProvider(exchange->request()),
                     "authentication_error", "tapedeck: missing or wrong x-tapedeck-key header");
    return;
  }
  try {
    handler->Handle(exchange);
  } catch (const std::exception& e) {
    // No path: the listener has no redaction rules, and a path can hold a key.
    TD_LOG(kError) << "handler threw for " << exchange->request().method
                   << " request seq=" << exchange->seq() << " from " << peer_ << ": " << e.what();
    exchange->Reset();
  }
}

bool ServerConnection::Route(const std::string& raw_target, std::string* origin,
                             Handler** handler) {
  const ForwardProxyOptions& proxy = shared_->options.forward_proxy;
  if (!origin_.empty()) {
    *origin = origin_;  // inside an intercepted CONNECT
    return true;
  }
  if (!proxy.enabled || raw_target.empty() || raw_target.front() == '/' || raw_target == "*") {
    return true;  // a request to tapedeck itself (base-URL mode)
  }
  Result<std::pair<std::string, Authority>> where = AbsoluteFormOrigin(raw_target);
  if (!where.ok()) {
    SendErrorAndClose(400, "bad proxy request target: " + where.status().message());
    return false;
  }
  const auto& [scheme, authority] = *where;
  *origin = cassette::MakeOrigin(scheme, authority.host, authority.port);
  if (proxy.Intercepts(authority.host)) return true;
  if (proxy.unrecorded == nullptr) {
    SendErrorAndClose(403, authority.host + " is not intercepted (--intercept) and tapedeck is " +
                               "replaying: it opens no connection anywhere");
    return false;
  }
  *handler = proxy.unrecorded;  // forwarded, not recorded
  return true;
}

void ServerConnection::HandleConnect(const HttpHead& head) {
  const ForwardProxyOptions& proxy = shared_->options.forward_proxy;
  body_.clear();
  if (!proxy.enabled) {
    SendErrorAndClose(501, "CONNECT needs tapedeck --forward-proxy");
    return;
  }
  if (tls_) {
    SendErrorAndClose(400, "CONNECT inside a TLS connection");
    return;
  }
  Result<Authority> target = ParseAuthority(head.target);
  if (!target.ok()) {
    SendErrorAndClose(400, target.status().message());
    return;
  }
  const std::string where = target->host + ":" + std::to_string(target->port);
  if (proxy.Intercepts(target->host)) {
    TD_LOG(kDebug) << "CONNECT " << where << " from " << peer_ << ": intercepted";
    InterceptTls(*target);
    return;
  }
  if (!proxy.tunnel_others) {
    SendErrorAndClose(403, "CONNECT " + where +
                               ": the host is not intercepted (--intercept) and tapedeck is "
                               "replaying: it opens no connection anywhere");
    return;
  }
  if (!proxy.AllowsTunnelPort(target->host, target->port)) {
    SendErrorAndClose(403, "CONNECT " + where +
                               ": only ports 443 and 80 (and --resolve'd ones) are tunnelled to "
                               "hosts that are not intercepted");
    return;
  }
  TD_LOG(kDebug) << "CONNECT " << where << " from " << peer_ << ": tunnelled, not recorded";
  StartTunnel(*target);
}

void ServerConnection::InterceptTls(const Authority& target) {
  Result<SSL_CTX*> ctx = shared_->minter->ServerContextFor(target.host);
  if (!ctx.ok()) {
    SendErrorAndClose(
        502, "cannot make a certificate for " + target.host + ": " + ctx.status().message());
    return;
  }
  SslPtr ssl(SSL_new(*ctx));
  if (!ssl) {
    SendErrorAndClose(502, "SSL_new failed");
    return;
  }
  // The answer goes out in plain text ahead of our first TLS record: the filter writes into
  // the same socket bufferevent, after it.
  static constexpr std::string_view kEstablished = "HTTP/1.1 200 Connection established\r\n\r\n";
  evbuffer_add(output(), kEstablished.data(), kEstablished.size());
  bufferevent* plain = bev_.release();
  // From here on the filter owns `plain` (and the SSL, even if the call fails).
  bev_.reset(bufferevent_openssl_filter_new(shared_->loop->base(), plain, ssl.release(),
                                            BUFFEREVENT_SSL_ACCEPTING,
                                            BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS));
  idle_timeout_on_ = false;  // a new bufferevent, without timeouts
  if (!bev_) {
    Fail("cannot start TLS for " + target.host);
    return;
  }
  tls_ = true;
  writing_ = true;
  handshake_done_ = false;
  sni_host_ = target.host;
  origin_ = cassette::MakeOrigin("https", target.host, target.port);
  parser_.Reset();
  bufferevent_setcb(bev_.get(), &Callbacks::OnRead, &Callbacks::OnWrite, &Callbacks::OnEvent, this);
  bufferevent_setwatermark(bev_.get(), EV_READ, 0, kReadHighWatermark);
  bufferevent_setwatermark(bev_.get(), EV_WRITE, shared_->options.write_low_watermark, 0);
  SetIdleTimeout(true);
  bufferevent_enable(bev_.get(), EV_READ | EV_WRITE);
}

void ServerConnection::OnTlsHandshakeDone() {
  handshake_done_ = true;
  SSL* ssl = bufferevent_openssl_get_ssl(bev_.get());
  if (ssl != nullptr && !LeafMinter::SniMatches(ssl, sni_host_)) {
    const char* sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    TD_LOG(kWarn) << "connection " << peer_ << ": TLS names "
                  << QuoteForMessage(sni ? sni : "", 260) << " inside a CONNECT to " << sni_host_
                  << "; closing it";
    Close();
  }
}

void ServerConnection::StartTunnel(const Authority& target) {
  const ForwardProxyOptions& proxy = shared_->options.forward_proxy;
  TunnelTarget where;
  where.host = target.host;
  where.port = target.port;
  where.connect_host =
      ResolvedAddress(proxy.resolve, target.host, target.port).value_or(target.host);
  parser_.Reset();
  bufferevent_setcb(bev_.get(), nullptr, nullptr, nullptr, nullptr);
  tunnel_ =
      std::make_unique<ConnectTunnel>(shared_->loop, shared_->tunnel_dns, std::move(bev_), peer_,
                                      std::move(where), shared_->options.tunnel_connect_timeout_us,
                                      shared_->options.tunnel_idle_timeout_us, [this] { Close(); });
  tunnel_->Start();
}

void ServerConnection::SendErrorAndClose(int status, std::string_view reason) {
  TD_LOG(kInfo) << "request from " << peer_ << " rejected: " << status << " " << reason;
  phase_ = Phase::kNone;
  std::string response = PlainErrorResponse(status, reason);
  Queue(response.data(), response.size());
  CloseAfterFlush();
}

void ServerConnection::StartPhase(Phase phase, Micros limit_us) {
  phase_ = limit_us > 0 ? phase : Phase::kNone;
  if (phase_ == Phase::kNone) return;
  Micros now = shared_->loop->NowMicros();
  phase_due_us_ = now + limit_us;
  // A timer armed by an earlier phase (or request) that fires first finds this phase and
  // re-arms for what is left: most requests complete without arming a timer of their own.
  if (!deadline_timer_ || timer_due_us_ > phase_due_us_) ArmDeadline(now);
}

void ServerConnection::ArmDeadline(Micros now) {
  timer_due_us_ = phase_due_us_;
  deadline_timer_ = shared_->loop->RunAfter(phase_due_us_ - now, [this] { OnDeadline(); });
}

void ServerConnection::OnDeadline() {
  deadline_timer_.Cancel();  // it has fired; an empty handle means none is armed
  if (closed_ || close_after_flush_ || active_ || phase_ == Phase::kNone) return;
  Micros now = shared_->loop->NowMicros();
  if (now < phase_due_us_) {
    ArmDeadline(now);
    return;
  }
  const ServerLimits& limits = shared_->options.limits;
  if (phase_ == Phase::kHead) {
    SendErrorAndClose(408,
                      "request head not complete after " + DurationText(limits.head_timeout_us));
  } else {
    SendErrorAndClose(408,
                      "request body not complete after " + DurationText(limits.body_timeout_us));
  }
}

void ServerConnection::EndActive() {
  if (!active_) return;
  active_.reset();
  --shared_->active_exchanges;
  if (shared_->on_exchange_ended) shared_->on_exchange_ended();
}

void ServerConnection::ResponseDone(bool keep_alive) {
  EndActive();
  if (closed_) return;
  if (!keep_alive || shared_->draining) {
    CloseAfterFlush();
    return;
  }
  parser_.Reset();
  body_.clear();
  SetIdleTimeout(true);
  // Parse any pipelined request on the next iteration, not inside the handler's Finish(). With
  // nothing buffered, the next request's bytes come through OnRead: no wake-up to arrange.
  if (evbuffer_get_length(bufferevent_get_input(bev_.get())) > 0) {
    event_active(resume_event_.get(), EV_TIMEOUT, 0);
  }
}

void ServerConnection::ResetNow() {
  EndActive();
  if (closed_ || resetting_) return;
  // What the client was already sent must reach it before the RST, or the reset would also
  // destroy bytes that arrived whole: flush our buffer, wait (briefly) for the peer to
  // acknowledge it, then abort.
  resetting_ = true;
  close_after_flush_ = true;
  bufferevent_disable(bev_.get(), EV_READ);
  bufferevent_setwatermark(bev_.get(), EV_WRITE, 0, 0);
  reset_deadline_ = shared_->loop->RunAfter(kResetFlushUs, [this] { Abort(); });
  if (evbuffer_get_length(output()) == 0) AbortWhenAcked();
}

size_t ServerConnection::UnsentBelowTls() const {
  bufferevent* socket_bev = bev_ ? bufferevent_get_underlying(bev_.get()) : nullptr;
  return socket_bev ? evbuffer_get_length(bufferevent_get_output(socket_bev)) : 0;
}

void ServerConnection::AbortWhenAcked() {
  if (closed_) return;
  int unacked = 0;
  if (UnsentBelowTls() != 0) {
    // An intercepted connection's last records are still in the socket's bufferevent.
    reset_poll_ = shared_->loop->RunAfter(1000, [this] { AbortWhenAcked(); });
    return;
  }
  if (ioctl(fd_, SIOCOUTQ, &unacked) != 0 || unacked == 0) {
    Abort();
    return;
  }
  reset_poll_ = shared_->loop->RunAfter(1000, [this] { AbortWhenAcked(); });
}

void ServerConnection::Abort() {
  if (closed_) return;
  SetLingerZero(fd_);
  Close();
}

void ServerConnection::CloseAfterFlush() {
  if (closed_) return;
  close_after_flush_ = true;
  bufferevent_disable(bev_.get(), EV_READ);
  bufferevent_setwatermark(bev_.get(), EV_WRITE, 0, 0);
  if (evbuffer_get_length(output()) == 0) FinishClose();
}

void ServerConnection::FinishClose() {
  if (closed_) return;
  if (tls_ || lingering_) {
    // An intercepted connection's TLS filter has handed its last records to the socket's
    // bufferevent, which may not have written them yet: close once it has (or after 2 s).
    if (UnsentBelowTls() != 0 && flush_polls_++ < 2000) {
      flush_poll_ = shared_->loop->RunAfter(1000, [this] { FinishClose(); });
      return;
    }
    Close();
    return;
  }
  // Lingering close: send FIN, then read and discard until the client closes (or a short
  // timeout), so request bytes we never read cannot make the kernel answer with an RST.
  lingering_ = true;
  ::shutdown(fd_, SHUT_WR);
  evbuffer* in = bufferevent_get_input(bev_.get());
  evbuffer_drain(in, evbuffer_get_length(in));
  timeval tv = ToTimeval(kLingerCloseUs);
  bufferevent_set_timeouts(bev_.get(), &tv, nullptr);
  idle_timeout_on_ = false;  // the timeout is the linger's now
  bufferevent_setwatermark(bev_.get(), EV_READ, 0, 0);
  bufferevent_enable(bev_.get(), EV_READ);
}

void ServerConnection::Close() {
  if (closed_) return;
  closed_ = true;
  if (active_) {
    std::shared_ptr<ServerExchange> ex = active_;
    EndActive();
    ex->Detach();
  }
  if (bev_) {
    bufferevent_disable(bev_.get(), EV_READ | EV_WRITE);
    bufferevent_setcb(bev_.get(), nullptr, nullptr, nullptr, nullptr);
  }
  if (resume_event_) event_del(resume_event_.get());
  reset_deadline_.Cancel();
  reset_poll_.Cancel();
  flush_poll_.Cancel();
  deadline_timer_.Cancel();
  // The server releases us through deferred deletion: our callback may be on the stack.
  if (shared_->on_connection_closed) shared_->on_connection_closed(this);
}

}  // namespace td::proxy::internal
