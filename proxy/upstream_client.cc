// UpstreamClient: request serialization, the keep-alive pool, call handles (cancel, pause,
// resume) and connection ownership. The wire work is in internal/upstream_connection.cc.
#include "proxy/upstream_client.h"

#include <unordered_map>
#include <vector>

#include "cassette/base/log.h"
#include "proxy/internal/ev_handles.h"
#include "proxy/internal/headers.h"
#include "proxy/internal/host_resolver.h"
#include "proxy/internal/ssl_handles.h"
#include "proxy/internal/tls.h"
#include "proxy/internal/upstream_connection.h"

namespace td::proxy {

using internal::CallState;
using internal::UpstreamConnection;

std::string_view UpstreamErrorName(UpstreamError error) {
  switch (error) {
    case UpstreamError::kNone:
      return "none";
    case UpstreamError::kDns:
      return "dns";
    case UpstreamError::kConnect:
      return "connect";
    case UpstreamError::kTls:
      return "tls";
    case UpstreamError::kTimeout:
      return "timeout";
    case UpstreamError::kReset:
      return "reset";
    case UpstreamError::kProtocol:
      return "protocol";
  }
  return "unknown";
}

namespace {

std::string SerializeRequest(const UpstreamRequest& request, const UpstreamUrl& url) {
  std::string wire;
  wire.reserve(512 + request.body.size());
  wire += request.method;
  wire += ' ';
  wire += request.target.empty() ? "/" : request.target;
  wire += " HTTP/1.1\r\nHost: ";
  wire += url.HostHeader();
  wire += "\r\n";
  for (const std::string& name : internal::AppendHeaderLines(request.headers, wire, "host")) {
    TD_LOG(kWarn) << "request to " << url.HostHeader() << ": dropped header \"" << name
                  << "\" with a malformed name or value";
  }
  const bool body_method =
      request.method == "POST" || request.method == "PUT" || request.method == "PATCH";
  if (!request.body.empty() || body_method) {
    wire += "Content-Length: ";
    wire += std::to_string(request.body.size());
    wire += "\r\n";
  }
  wire += "\r\n";
  wire += request.body;
  return wire;
}

class CallImpl final : public UpstreamCall {
 public:
  explicit CallImpl(std::shared_ptr<CallState> state) : state_(std::move(state)) {}
  ~CallImpl() override { Cancel(); }

  void Cancel() override {
    if (state_->done || state_->cancelled) return;
    state_->cancelled = true;
    state_->callbacks = UpstreamCallbacks();
    if (state_->conn) state_->conn->Abandon();
  }
  void PauseReading() override {
    state_->paused = true;
    if (state_->conn) state_->conn->Pause();
  }
  void ResumeReading() override {
    if (!state_->paused) return;
    state_->paused = false;
    if (state_->conn) state_->conn->Resume();
  }

 private:
  std::shared_ptr<CallState> state_;
};

}  // namespace

struct UpstreamClient::Impl final : internal::ConnectionOwner {
  ~Impl() override {
    // Connections (and their pending lookups) before the resolver and TLS context.
    idle.clear();
    connections.clear();
  }

  void ConnectionIdle(UpstreamConnection* conn) override {
    if (idle.size() >= ctx.options.max_idle_connections) {
      conn->Close();
      return;
    }
    idle.push_back(conn);
  }

  void ConnectionClosed(UpstreamConnection* conn) override {
    std::erase(idle, conn);
    auto it = connections.find(conn);
    if (it == connections.end()) return;
    ctx.loop->DeferDelete(std::move(it->second));
    connections.erase(it);
  }

  void Retry(std::shared_ptr<CallState> call) override { StartNew(std::move(call)); }

  void StartNew(std::shared_ptr<CallState> call) {
    auto conn = std::make_unique<UpstreamConnection>(&ctx);
    UpstreamConnection* raw = conn.get();
    connections.emplace(raw, std::move(conn));
    raw->Connect(std::move(call));
  }

  internal::ClientContext ctx;
  internal::SslCtxPtr ssl_ctx;
  internal::EvdnsBasePtr dns;
  std::unique_ptr<internal::HostResolver> resolver;  // uses `dns`: destroyed before it
  std::unordered_map<UpstreamConnection*, std::unique_ptr<UpstreamConnection>> connections;
  std::vector<UpstreamConnection*> idle;  // most recently used last
};

UpstreamClient::UpstreamClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

UpstreamClient::~UpstreamClient() = default;

Result<std::unique_ptr<UpstreamClient>> UpstreamClient::Create(EventLoop* loop, UpstreamUrl url,
                                                               UpstreamOptions options) {
  auto impl = std::make_unique<Impl>();
  if (url.tls()) {
    Result<internal::SslCtxPtr> ctx =
        internal::CreateClientTlsContext(options.ca_file, options.insecure);
    if (!ctx.ok()) return ctx.status();
    impl->ssl_ctx = std::move(*ctx);
  }
  if (!options.dns_server.empty()) {
    impl->dns.reset(evdns_base_new(loop->base(), EVDNS_BASE_DISABLE_WHEN_INACTIVE));
    if (impl->dns &&
        evdns_base_nameserver_ip_add(impl->dns.get(), options.dns_server.c_str()) != 0) {
      return InvalidArgumentError("upstream client: bad DNS server " + options.dns_server);
    }
  } else {
    impl->dns = internal::CreateSystemDnsBase(loop->base());
  }
  if (!impl->dns) return InternalError("upstream client: cannot create a DNS resolver");
  const std::string connect_host =
      ResolvedAddress(options.resolve, url.host, url.port).value_or(url.host);
  impl->resolver = std::make_unique<internal::HostResolver>(loop, impl->dns.get(), connect_host,
                                                            url.port, options.dns_cache_us);
  impl->ctx.loop = loop;
  impl->ctx.url = std::move(url);
  impl->ctx.options = std::move(options);
  impl->ctx.ssl_ctx = impl->ssl_ctx.get();
  impl->ctx.resolver = impl->resolver.get();
  impl->ctx.owner = impl.get();
  return std::unique_ptr<UpstreamClient>(new UpstreamClient(std::move(impl)));
}

std::unique_ptr<UpstreamCall> UpstreamClient::Send(UpstreamRequest request,
                                                   UpstreamCallbacks callbacks) {
  auto state = std::make_shared<CallState>();
  state->callbacks = std::move(callbacks);
  state->head_request = request.method == "HEAD";
  state->wire = SerializeRequest(request, impl_->ctx.url);
  while (!impl_->idle.empty()) {
    UpstreamConnection* conn = impl_->idle.back();
    impl_->idle.pop_back();
    if (conn->closed()) continue;
    conn->Send(state);
    return std::make_unique<CallImpl>(std::move(state));
  }
  impl_->StartNew(state);
  return std::make_unique<CallImpl>(std::move(state));
}

std::unique_ptr<UpstreamCall> UpstreamClient::Probe(
    std::function<void(const UpstreamResult&)> on_done) {
  auto state = std::make_shared<CallState>();
  state->callbacks.on_done = std::move(on_done);
  state->probe = true;
  impl_->StartNew(state);
  return std::make_unique<CallImpl>(std::move(state));
}

const UpstreamUrl& UpstreamClient::url() const { return impl_->ctx.url; }

size_t UpstreamClient::open_connections() const { return impl_->connections.size(); }

}  // namespace td::proxy
