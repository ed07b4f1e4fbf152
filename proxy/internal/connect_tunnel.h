// File: proxy/internal/connect_tunnel.h
//
// A CONNECT to a host tapedeck does not intercept, in record and passthrough: the client's
// bytes go to the target and back untouched (TLS included, unread), nothing is recorded. The
// client gets "200 Connection established" once the target accepted the TCP connection, or a
// 502 naming what failed (DNS, connect, timeout). Each direction is flow-controlled: reading
// one side stops while the other holds more than a megabyte unsent. A half-close is passed on
// (FIN after the bytes before it); the tunnel ends when both directions have ended, either side
// fails, or neither sends anything for the idle timeout.
//
// Threading: the loop thread; owned by the ServerConnection that accepted the CONNECT.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "proxy/event_loop.h"
#include "proxy/internal/ev_handles.h"

namespace td::proxy::internal {

struct TunnelTarget {
  std::string host;          // as the client named it, for messages
  std::string connect_host;  // what to resolve or connect to: host, or its --resolve address
  uint16_t port = 0;
};

class ConnectTunnel {
 public:
  // Takes over `client` (its callbacks are replaced; bytes it already read are sent on).
  // `dns` must outlive the tunnel. `on_closed` runs once, from a loop callback, when the tunnel
  // has ended; the owner may destroy the tunnel from it only through deferred deletion.
  ConnectTunnel(EventLoop* loop, evdns_base* dns, BufferEventPtr client, std::string peer,
                TunnelTarget target, Micros connect_timeout_us, Micros idle_timeout_us,
                std::function<void()> on_closed);
  ~ConnectTunnel();
  ConnectTunnel(const ConnectTunnel&) = delete;
  ConnectTunnel& operator=(const ConnectTunnel&) = delete;

  void Start();

 private:
  struct Callbacks;  // the libevent trampolines, in the .cc
  struct Side {
    BufferEventPtr bev;
    bool read_done = false;  // EOF from this side
    bool shut = false;       // FIN sent to this side
  };

  void OnConnected();
  void OnRead(Side& from, Side& to);
  void OnWrite(Side& to, Side& from);
  void OnEvent(Side& side, short what);
  void Relay(Side& from, Side& to);
  void ShutWhenFlushed(Side& to);
  void Fail(const std::string& message);
  void End();

  EventLoop* loop_;
  evdns_base* dns_;
  Side client_;
  Side target_;
  std::string peer_;
  TunnelTarget where_;
  Micros connect_timeout_us_;
  Micros idle_timeout_us_;
  std::function<void()> on_closed_;
  bool connected_ = false;
  bool ended_ = false;
};

}  // namespace td::proxy::internal
