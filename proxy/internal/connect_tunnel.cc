// ConnectTunnel: connect to the CONNECT target, answer 200 (or 502), then relay bytes both
// ways with flow control and half-close passed on.
#include "proxy/internal/connect_tunnel.h"

#include <sys/socket.h>

#include <cstring>

#include "cassette/base/log.h"
#include "proxy/internal/net_util.h"

namespace td::proxy::internal {
namespace {

// Reading a side stops while the other side holds this much unsent, and resumes at a quarter.
constexpr size_t kHighWatermark = 1 << 20;
constexpr size_t kLowWatermark = kHighWatermark / 4;

void SetTimeouts(bufferevent* bev, Micros us) {
  timeval tv = ToTimeval(us);
  bufferevent_set_timeouts(bev, &tv, nullptr);
}

}  // namespace

struct ConnectTunnel::Callbacks {
  template <class F>
  static void Guarded(ConnectTunnel* t, F&& f) noexcept {
    RunGuarded(std::forward<F>(f), [t](std::string_view what) {
      TD_LOG(kError) << "tunnel " << t->peer_ << ": " << what << "; closing it";
      t->End();
    });
  }
  static void ClientRead(bufferevent*, void* arg) noexcept {
    auto* t = static_cast<ConnectTunnel*>(arg);
    Guarded(t, [t] { t->OnRead(t->client_, t->target_); });
  }
  static void TargetRead(bufferevent*, void* arg) noexcept {
    auto* t = static_cast<ConnectTunnel*>(arg);
    Guarded(t, [t] { t->OnRead(t->target_, t->client_); });
  }
  static void ClientWrite(bufferevent*, void* arg) noexcept {
    auto* t = static_cast<ConnectTunnel*>(arg);
    Guarded(t, [t] { t->OnWrite(t->client_, t->target_); });
  }
  static void TargetWrite(bufferevent*, void* arg) noexcept {
    auto* t = static_cast<ConnectTunnel*>(arg);
    Guarded(t, [t] { t->OnWrite(t->target_, t->client_); });
  }
  static void ClientEvent(bufferevent*, short what, void* arg) noexcept {
    auto* t = static_cast<ConnectTunnel*>(arg);
    Guarded(t, [t, what] { t->OnEvent(t->client_, what); });
  }
  static void TargetEvent(bufferevent*, short what, void* arg) noexcept {
    auto* t = static_cast<ConnectTunnel*>(arg);
    Guarded(t, [t, what] { t->OnEvent(t->target_, what); });
  }
};

ConnectTunnel::ConnectTunnel(EventLoop* loop, evdns_base* dns, BufferEventPtr client,
                             std::string peer, TunnelTarget target, Micros connect_timeout_us,
                             Micros idle_timeout_us, std::function<void()> on_closed)
    : loop_(loop),
      dns_(dns),
      peer_(std::move(peer)),
      where_(std::move(target)),
      connect_timeout_us_(connect_timeout_us),
      idle_timeout_us_(idle_timeout_us),
      on_closed_(std::move(on_closed)) {
  client_.bev = std::move(client);
}

ConnectTunnel::~ConnectTunnel() {
  for (Side* side : {&client_, &target_}) {
    if (side->bev) bufferevent_setcb(side->bev.get(), nullptr, nullptr, nullptr, nullptr);
  }
}

void ConnectTunnel::Start() {
  // The client waits for our answer; nothing it sends is read until the target is connected.
  bufferevent_setcb(client_.bev.get(), &Callbacks::ClientRead, &Callbacks::ClientWrite,
                    &Callbacks::ClientEvent, this);
  bufferevent_disable(client_.bev.get(), EV_READ);
  bufferevent_set_timeouts(client_.bev.get(), nullptr, nullptr);
  bufferevent_setwatermark(client_.bev.get(), EV_READ, 0, 0);

  target_.bev.reset(
      bufferevent_socket_new(loop_->base(), -1, BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS));
  if (!target_.bev) {
    Fail("cannot create a socket");
    return;
  }
  bufferevent_setcb(target_.bev.get(), &Callbacks::TargetRead, &Callbacks::TargetWrite,
                    &Callbacks::TargetEvent, this);
  // Until connected, the write timeout bounds DNS + connect.
  timeval tv = ToTimeval(connect_timeout_us_);
  bufferevent_set_timeouts(target_.bev.get(), nullptr, &tv);
  if (bufferevent_socket_connect_hostname(target_.bev.get(), dns_, AF_UNSPEC,
                                          where_.connect_host.c_str(), where_.port) != 0) {
    Fail("connect to " + where_.host + ":" + std::to_string(where_.port) + " failed");
  }
}

void ConnectTunnel::OnConnected() {
  connected_ = true;
  evutil_socket_t fd = bufferevent_getfd(target_.bev.get());
  if (fd >= 0) SetNoDelay(fd);
  TD_LOG(kDebug) << "tunnel " << peer_ << " -> " << where_.host << ":" << where_.port
                 << " open (not intercepted: not recorded)";
  static constexpr std::string_view kEstablished = "HTTP/1.1 200 Connection established\r\n\r\n";
  bufferevent_write(client_.bev.get(), kEstablished.data(), kEstablished.size());
  for (Side* side : {&client_, &target_}) {
    SetTimeouts(side->bev.get(), idle_timeout_us_);
    bufferevent_setwatermark(side->bev.get(), EV_WRITE, kLowWatermark, 0);
    bufferevent_enable(side->bev.get(), EV_READ | EV_WRITE);
  }
  // Bytes the client sent right after the CONNECT (a ClientHello, eagerly) go on now.
  Relay(client_, target_);
}

void ConnectTunnel::Relay(Side& from, Side& to) {
  evbuffer* in = bufferevent_get_input(from.bev.get());
  evbuffer* out = bufferevent_get_output(to.bev.get());
  if (evbuffer_get_length(in) > 0) evbuffer_add_buffer(out, in);
  if (evbuffer_get_length(out) > kHighWatermark) {
    // The receiving side is slow: stop reading until it drained to the low watermark.
    bufferevent_disable(from.bev.get(), EV_READ);
  }
}

void ConnectTunnel::OnRead(Side& from, Side& to) {
  if (ended_ || !connected_) return;
  Relay(from, to);
}

void ConnectTunnel::OnWrite(Side& to, Side& from) {
  if (ended_ || !connected_) return;
  evbuffer* out = bufferevent_get_output(to.bev.get());
  if (!from.read_done && evbuffer_get_length(out) <= kLowWatermark) {
    bufferevent_enable(from.bev.get(), EV_READ);
  }
  if (from.read_done && evbuffer_get_length(out) == 0) ShutWhenFlushed(to);
}

void ConnectTunnel::ShutWhenFlushed(Side& to) {
  if (to.shut) return;
  if (evbuffer_get_length(bufferevent_get_output(to.bev.get())) != 0) return;  // OnWrite again
  to.shut = true;
  ::shutdown(bufferevent_getfd(to.bev.get()), SHUT_WR);
  if (client_.read_done && target_.read_done) End();
}

void ConnectTunnel::OnEvent(Side& side, short what) {
  if (ended_) return;
  Side& other = &side == &client_ ? target_ : client_;
  if (!connected_ && &side == &target_) {
    if (what & BEV_EVENT_CONNECTED) {
      OnConnected();
      return;
    }
    std::string why = "connection failed";
    if (what & BEV_EVENT_TIMEOUT) {
      why = "no connection after " + DurationText(connect_timeout_us_);
    } else if (int dns_error = bufferevent_socket_get_dns_error(side.bev.get())) {
      why = std::string("cannot resolve: ") + evutil_gai_strerror(dns_error);
    } else if (int err = EVUTIL_SOCKET_ERROR()) {
      why = evutil_socket_error_to_string(err);
    }
    Fail("connect to " + where_.host + ":" + std::to_string(where_.port) + ": " + why);
    return;
  }
  if (!connected_) {  // the client left while we were connecting
    End();
    return;
  }
  if (what & BEV_EVENT_EOF) {
    side.read_done = true;
    Relay(side, other);
    ShutWhenFlushed(other);
    return;
  }
  if (what & BEV_EVENT_TIMEOUT) {
    TD_LOG(kInfo) << "tunnel " << peer_ << " -> " << where_.host << ":" << where_.port
                  << ": nothing sent either way for " << DurationText(idle_timeout_us_)
                  << "; closing it";
  }
  End();  // an error, or the idle timeout
}

void ConnectTunnel::Fail(const std::string& message) {
  TD_LOG(kWarn) << "tunnel " << peer_ << ": " << message;
  if (client_.bev) {
    const std::string body = "tapedeck: " + message + "\n";
    const std::string response =
        "HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain; charset=utf-8\r\n"
        "Content-Length: " +
        std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
    // Best effort: the socket is closed right after, the kernel sends what it took.
    evutil_socket_t fd = bufferevent_getfd(client_.bev.get());
    if (fd >= 0) (void)::send(fd, response.data(), response.size(), MSG_NOSIGNAL);
  }
  End();
}

void ConnectTunnel::End() {
  if (ended_) return;
  ended_ = true;
  for (Side* side : {&client_, &target_}) {
    if (!side->bev) continue;
    bufferevent_disable(side->bev.get(), EV_READ | EV_WRITE);
    bufferevent_setcb(side->bev.get(), nullptr, nullptr, nullptr, nullptr);
  }
  if (on_closed_) on_closed_();
}

}  // namespace td::proxy::internal
