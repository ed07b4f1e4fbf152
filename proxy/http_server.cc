// HttpServer: the listener, connection ownership (deferred deletion), graceful-shutdown
// bookkeeping. The per-connection protocol work is in internal/server_connection.cc.
#include "proxy/http_server.h"

#include <netdb.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <unordered_map>
#include <vector>

#include "cassette/base/log.h"
#include "proxy/internal/ev_handles.h"
#include "proxy/internal/net_util.h"
#include "proxy/internal/server_connection.h"
#include "proxy/internal/tls.h"

namespace td::proxy {

using internal::ServerConnection;

struct HttpServer::Impl {
  internal::ServerShared shared;
  internal::SslCtxPtr tls_ctx;
  internal::EvConnListenerPtr listener;
  uint16_t port = 0;
  uint64_t accepted = 0;
  std::unordered_map<ServerConnection*, std::unique_ptr<ServerConnection>> connections;
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
    internal::SetNoDelay(fd);
    auto conn =
        std::make_unique<ServerConnection>(&impl->shared, fd, internal::FormatSockaddr(addr));
    Status started = conn->Start();
    if (!started.ok()) {
      TD_LOG(kError) << started.message();
      return;
    }
    ++impl->accepted;
    ServerConnection* key = conn.get();
    impl->connections.emplace(key, std::move(conn));
    if (++impl->accepted_this_turn >= kAcceptsPerTurn) PauseAccepting(impl, 0);
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

void HttpServer::SetOnIdle(std::function<void()> on_idle) { impl_->on_idle = std::move(on_idle); }

}  // namespace td::proxy
