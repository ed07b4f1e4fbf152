// HttpServer: the listener, connection ownership (deferred deletion), the per-client connection
// cap, graceful-shutdown bookkeeping. The per-connection protocol work (and the request
// deadlines) is in internal/server_connection.cc.
#include "proxy/http_server.h"

#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <unordered_map>
#include <vector>

#include "cassette/base/log.h"
#include "cassette/base/unique_fd.h"
#include "proxy/internal/ev_handles.h"
#include "proxy/internal/host_resolver.h"
#include "proxy/internal/leaf_minter.h"
#include "proxy/internal/net_util.h"
#include "proxy/internal/server_connection.h"
#include "proxy/internal/tls.h"
#include "proxy/local_ca.h"

namespace td::proxy {

using internal::ServerConnection;

struct HttpServer::Impl {
  internal::ServerShared shared;
  internal::SslCtxPtr tls_ctx;
  // Forward-proxy mode: leaves for intercepted hosts; the resolver of tunnels (record only).
  std::unique_ptr<internal::LeafMinter> minter;
  internal::EvdnsBasePtr tunnel_dns;
  internal::EvConnListenerPtr listener;
  uint16_t port = 0;
  uint64_t accepted = 0;
  uint64_t refused = 0;
  std::unordered_map<ServerConnection*, std::unique_ptr<ServerConnection>> connections;
  // Open connections per client address ("127.0.0.1", "[::1]"), for the per-client cap.
  std::unordered_map<std::string, size_t> per_client;
  // Refusals are logged at most once per window: the first at once, the rest as a count when
  // the window ends.
  Micros refusal_window_end_us = 0;
  uint64_t refusals_unlogged = 0;
  std::string last_refused;
  TimerHandle refusal_log_timer;
  std::function<void()> on_idle;
  TimerHandle idle_timer;
  // While the listener is paused: resumes it (after an accept error, or the listener's turn).
  TimerHandle accept_resume_timer;
  int accepted_this_turn = 0;

  ~Impl() {
    // Connections first: each detaches its exchange so handlers see a closed sink.
    connections.clear();
  }
};

namespace {

// Connections accepted in one turn of the loop. libevent's listener otherwise accepts the
// whole backlog in one callback: when a test suite opens 64 streams at once, the first events
// of the streams already answered would wait behind every other stream's accept and set-up.
constexpr int kAcceptsPerTurn = 4;
// At most one log line per this long about connections refused over the per-client cap.
constexpr Micros kRefusalLogWindowUs = 10'000'000;

// "127.0.0.1" for the peer "127.0.0.1:53422", "[::1]" for "[::1]:8080".
std::string ClientAddress(const std::string& peer) {
  size_t colon = peer.rfind(':');
  return colon == std::string::npos ? peer : peer.substr(0, colon);
}

void LogRefusalsUnlogged(HttpServer::Impl* impl) {
  impl->refusal_log_timer.Cancel();  // it has fired
  if (impl->refusals_unlogged == 0) return;
  TD_LOG(kWarn) << "refused " << impl->refusals_unlogged
                << " more connection(s) over max_connections_per_client in the last "
                << internal::DurationText(kRefusalLogWindowUs) << " (the last from "
                << impl->last_refused << ")";
  impl->refusals_unlogged = 0;
  impl->refusal_window_end_us = impl->shared.loop->NowMicros() + kRefusalLogWindowUs;
}

// A flood of connections from one address must not flood the log as well.
void LogRefusal(HttpServer::Impl* impl, const std::string& client, size_t open) {
  Micros now = impl->shared.loop->NowMicros();
  if (now >= impl->refusal_window_end_us) {
    impl->refusal_window_end_us = now + kRefusalLogWindowUs;
    TD_LOG(kWarn) << "refused a connection from " << client << ": it already has " << open
                  << " open, the most one client address may hold (max_connections_per_client); "
                  << "more refusals are counted and logged at most once per "
                  << internal::DurationText(kRefusalLogWindowUs);
    return;
  }
  ++impl->refusals_unlogged;
  impl->last_refused = client;
  if (!impl->refusal_log_timer) {
    impl->refusal_log_timer = impl->shared.loop->RunAfter(impl->refusal_window_end_us - now,
                                                          [impl] { LogRefusalsUnlogged(impl); });
  }
}

// Answers a connection over the per-client cap without setting it up: one non-blocking write
// of a 503, then close. What the client already sent is read first, so that the close sends a
// FIN rather than an RST that could destroy the answer.
void Refuse(HttpServer::Impl* impl, evutil_socket_t fd, const std::string& client, size_t open) {
  UniqueFd owned(fd);
  ++impl->refused;
  LogRefusal(impl, client, open);
  if (impl->tls_ctx) return;  // a TLS client cannot read a plain-text answer: just close
  char discard[4096];
  for (int i = 0; i < 16 && ::recv(fd, discard, sizeof discard, MSG_DONTWAIT) > 0; ++i) {
  }
  std::string response = internal::PlainErrorResponse(
      503,
      "too many connections from " + client + ": it already has " + std::to_string(open) +
          " open, the most one client address may hold",
      "Retry-After: 1\r\n");
  // A short or failed write (the socket buffer is full, the client gone): the close says enough.
  [[maybe_unused]] ssize_t n =
      ::send(fd, response.data(), response.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  ::shutdown(fd, SHUT_WR);
}

// Stops accepting; after `delay_us` (0: once the loop has run what is already waiting), accepts
// again unless the server is shutting down.
void PauseAccepting(HttpServer::Impl* impl, Micros delay_us) {
  evconnlistener_disable(impl->listener.get());
  impl->accept_resume_timer = impl->shared.loop->RunAfter(delay_us, [impl] {
    impl->accepted_this_turn = 0;
    if (impl->listener && !impl->shared.draining) evconnlistener_enable(impl->listener.get());
  });
}

void OnAccept(evconnlistener*, evutil_socket_t fd, sockaddr* addr, int, void* arg) noexcept {
  auto* impl = static_cast<HttpServer::Impl*>(arg);
  try {
    if (++impl->accepted_this_turn >= kAcceptsPerTurn) PauseAccepting(impl, 0);
    std::string peer = internal::FormatSockaddr(addr);
    std::string client = ClientAddress(peer);
    const size_t cap = impl->shared.options.limits.max_connections_per_client;
    auto count = impl->per_client.find(client);
    if (cap != 0 && count != impl->per_client.end() && count->second >= cap) {
      Refuse(impl, fd, client, count->second);
      return;
    }
    internal::SetNoDelay(fd);
    auto conn = std::make_unique<ServerConnection>(&impl->shared, fd, std::move(peer));
    Status started = conn->Start();
    if (!started.ok()) {
      TD_LOG(kError) << started.message();
      return;
    }
    ++impl->accepted;
    ++impl->per_client[client];
    ServerConnection* key = conn.get();
    impl->connections.emplace(key, std::move(conn));
  } catch (const std::exception& e) {
    TD_LOG(kError) << "accept: " << e.what();
  }
}

void OnAcceptError(evconnlistener*, void* arg) noexcept {
  auto* impl = static_cast<HttpServer::Impl*>(arg);
  int err = EVUTIL_SOCKET_ERROR();
  try {
    TD_LOG(kWarn) << "accept failed: " << evutil_socket_error_to_string(err)
                  << "; pausing new connections for 100 ms";
    // Out of descriptors (EMFILE) would otherwise spin: pause, then try again.
    PauseAccepting(impl, 100'000);
  } catch (...) {
  }
}

}  // namespace

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() = default;

Result<std::unique_ptr<HttpServer>> HttpServer::Create(EventLoop* loop, ServerOptions options,
                                                       Handler* handler) {
  auto impl = std::make_unique<Impl>();
  Impl* raw = impl.get();
  const std::string where = "listen " + options.host + ":" + std::to_string(options.port);
  if (!options.tls.cert_file.empty() || !options.tls.key_file.empty()) {
    Result<internal::SslCtxPtr> ctx =
        internal::CreateServerTlsContext(options.tls.cert_file, options.tls.key_file);
    if (!ctx.ok()) return ctx.status().WithContext(where);
    impl->tls_ctx = std::move(*ctx);
  }
  if (options.forward_proxy.enabled) {
    Result<std::unique_ptr<internal::LeafMinter>> minter =
        internal::LeafMinter::Load(CaFilesIn(options.forward_proxy.ca_dir));
    if (!minter.ok()) return minter.status().WithContext("--forward-proxy");
    impl->minter = std::move(*minter);
    impl->shared.minter = impl->minter.get();
    if (options.forward_proxy.tunnel_others) {
      impl->tunnel_dns = internal::CreateSystemDnsBase(loop->base());
      if (!impl->tunnel_dns) return InternalError("--forward-proxy: cannot create a DNS resolver");
      impl->shared.tunnel_dns = impl->tunnel_dns.get();
    }
  }
  internal::ServerShared& shared = impl->shared;
  shared.loop = loop;
  shared.handler = handler;
  shared.tls_ctx = impl->tls_ctx.get();
  shared.parse_limits.max_header_bytes = options.limits.max_header_bytes;
  shared.parse_limits.max_headers = options.limits.max_headers;
  shared.parse_limits.max_body_bytes = options.limits.max_body_bytes;
  shared.options = std::move(options);
  shared.on_connection_closed = [raw](ServerConnection* conn) {
    auto it = raw->connections.find(conn);
    if (it == raw->connections.end()) return;
    auto count = raw->per_client.find(ClientAddress(conn->peer()));
    if (count != raw->per_client.end() && --count->second == 0) raw->per_client.erase(count);
    raw->shared.loop->DeferDelete(std::move(it->second));
    raw->connections.erase(it);
  };
  shared.on_exchange_ended = [raw] {
    if (raw->shared.active_exchanges != 0 || !raw->on_idle) return;
    raw->idle_timer = raw->shared.loop->RunAfter(0, [raw] {
      if (raw->shared.active_exchanges == 0 && raw->on_idle) raw->on_idle();
    });
  };

  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  std::string port_text = std::to_string(shared.options.port);
  int gai = getaddrinfo(shared.options.host.c_str(), port_text.c_str(), &hints, &found);
  if (gai != 0) return UnavailableError(where + ": " + gai_strerror(gai));
  internal::EvAddrInfoPtr addrs(found);
  errno = 0;
  impl->listener.reset(
      evconnlistener_new_bind(loop->base(), &OnAccept, raw,
                              LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
                              1024, addrs->ai_addr, static_cast<int>(addrs->ai_addrlen)));
  if (!impl->listener) {
    int err = errno;
    return UnavailableError(where + ": " + (err ? std::strerror(err) : "cannot listen"));
  }
  evconnlistener_set_error_cb(impl->listener.get(), &OnAcceptError);
  int port = 0;
  internal::LocalAddress(evconnlistener_get_fd(impl->listener.get()), &port);
  impl->port = static_cast<uint16_t>(port);
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

const std::string& HttpServer::host() const { return impl_->shared.options.host; }

uint16_t HttpServer::port() const { return impl_->port; }

std::string HttpServer::url() const {
  const std::string& host = impl_->shared.options.host;
  std::string out = impl_->tls_ctx ? "https://" : "http://";
  out += host.find(':') != std::string::npos ? "[" + host + "]" : host;
  out += ":" + std::to_string(impl_->port);
  return out;
}

void HttpServer::StopAccepting() {
  impl_->shared.draining = true;
  impl_->accept_resume_timer.Cancel();
  impl_->listener.reset();  // closes the listening socket: new connections are refused
  std::vector<ServerConnection*> idle;
  for (auto& [conn, owned] : impl_->connections) {
    if (conn->idle()) idle.push_back(conn);
  }
  for (ServerConnection* conn : idle) conn->Close();
}

size_t HttpServer::active_exchanges() const { return impl_->shared.active_exchanges; }

size_t HttpServer::open_connections() const { return impl_->connections.size(); }

uint64_t HttpServer::accepted_connections() const { return impl_->accepted; }

uint64_t HttpServer::refused_connections() const { return impl_->refused; }

void HttpServer::SetOnIdle(std::function<void()> on_idle) { impl_->on_idle = std::move(on_idle); }

}  // namespace td::proxy
