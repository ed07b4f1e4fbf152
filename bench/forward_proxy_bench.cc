// File: bench/forward_proxy_bench.cc
//
// What forward-proxy mode adds to the time to first event of a replayed SSE stream, against
// base-URL mode, in one run of one `tapedeck replay --forward-proxy --timing instant` process
// whose cassette holds the same stream twice: once as sent to tapedeck's own address (base-URL
// mode: plain HTTP to tapedeck) and once for https://api.anthropic.com:443 (forward-proxy mode:
// CONNECT, a TLS handshake with the leaf tapedeck mints, verified by OpenSSL against its CA, then
// the request). Measured from before connect() to the first byte of the first event's data, by
// the client's clock, for N requests per mode in alternating order, twice: each request on a new
// connection (a client without keep-alive) and all on one kept-alive connection (the CONNECT and
// handshake paid once). The first forward-proxy connection of the run (which also mints the
// leaf) is printed on its own. Not a test: figures go to docs/performance.md.
//
// Usage: forward_proxy_bench [--requests N (200)] [--events E (50)] [--tapedeck PATH]
// Exit status: 0 when every response was the recorded stream, 1 otherwise, 2 on bad flags.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bench/soak_http.h"
#include "bench/soak_process.h"
#include "cassette/base/unique_fd.h"
#include "cassette/codec.h"
#include "cassette/model.h"

#ifndef TD_BENCH_DEFAULT_TAPEDECK
#define TD_BENCH_DEFAULT_TAPEDECK "tools/tapedeck"
#endif

namespace td::bench {
namespace {

using soak::NowUs;

constexpr char kHost[] = "api.anthropic.com";
constexpr Micros kTimeoutUs = 10'000'000;  // for any one step

struct Flags {
  int requests = 200;
  int events = 50;
  std::string tapedeck = TD_BENCH_DEFAULT_TAPEDECK;
};

[[noreturn]] void Usage(const char* argv0, const std::string& problem) {
  std::fprintf(stderr, "%s: %s\nusage: %s [--requests N] [--events E] [--tapedeck PATH]\n", argv0,
               problem.c_str(), argv0);
  std::exit(2);
}

Flags ParseFlags(int argc, char** argv) {
  Flags f;
  for (int i = 1; i < argc; ++i) {
    const std::string name = argv[i];
    if (i + 1 >= argc) Usage(argv[0], name + " needs a value");
    const std::string value = argv[++i];
    auto number = [&](long min) {
      char* end = nullptr;
      const long n = std::strtol(value.c_str(), &end, 10);
      if (end == value.c_str() || *end != '\0' || n < min || n > 1000000) {
        Usage(argv[0], name + ": expected a number from " + std::to_string(min) + ", not " + value);
      }
      return static_cast<int>(n);
    };
    if (name == "--requests") {
      f.requests = number(1);
    } else if (name == "--events") {
      f.events = number(1);
    } else if (name == "--tapedeck") {
      f.tapedeck = value;
    } else {
      Usage(argv[0], "unknown flag " + name);
    }
  }
  return f;
}

// The request both modes send (the cassette holds it for both origins).
const std::string& RequestBody() {
  static const std::string body =
      R"({"model":"claude-bench-1","max_tokens":256,"stream":true,"messages":[{"role":"user",)"
      R"("content":"Time to first event, please."}]})";
  return body;
}

std::string Request(bool keep_alive) {
  return std::string("POST /v1/messages HTTP/1.1\r\nHost: ") + kHost +
         "\r\ncontent-type: application/json\r\nanthropic-version: 2023-06-01\r\n" +
         (keep_alive ? "" : "connection: close\r\n") +
         "content-length: " + std::to_string(RequestBody().size()) + "\r\n\r\n" + RequestBody();
}

// A recorded Messages stream of `events` events (instant timing ignores the offsets).
cassette::Interaction StreamInteraction(const std::string& origin, int events) {
  cassette::Interaction it;
  it.recorded_at_us = 1795249953123456;
  it.request.origin = origin;
  it.request.method = "POST";
  it.request.path = "/v1/messages";
  it.request.headers = {{"content-type", "application/json"}, {"anthropic-version", "2023-06-01"}};
  it.request.body.bytes = RequestBody();
  it.response.status = 200;
  it.response.headers = {{"content-type", "text/event-stream; charset=utf-8"},
                         {"request-id", "req_bench_fp"}};
  it.response.stream.emplace();
  for (int i = 0; i < events; ++i) {
    cassette::StreamEvent e;
    e.bytes =
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,"
        "\"delta\":{\"type\":\"text_delta\",\"text\":\"token " +
        std::to_string(i) + "\"}}\n\n";
    e.at_us = 1000 + static_cast<Micros>(i) * 1000;
    it.response.stream->events.push_back(std::move(e));
  }
  it.timing = {900, 1000 + static_cast<Micros>(events) * 1000};
  return it;
}

// Reads one response off a byte source and notes when its first body byte arrived. `read`
// returns what it read (0 at EOF, -1 on error), blocking.
class ResponseReader {
 public:
  struct Outcome {
    Micros first_event_us = -1;  // the clock when the first body byte was decoded
    std::string body;            // de-chunked
  };

  // Reads until the response ends (last chunk); an error text when it does not.
  template <class Read>
  static Result<Outcome> ReadOne(Read&& read, std::string* carry) {
    Outcome out;
    std::string& in = *carry;  // bytes not yet consumed (a kept-alive connection keeps them)
    bool head_done = false;
    const Micros deadline = NowUs() + kTimeoutUs;
    while (true) {
      if (!head_done) {
        const size_t end = in.find("\r\n\r\n");
        if (end != std::string::npos) {
          const std::string_view head(in.data(), end + 2);
          if (!head.starts_with("HTTP/1.1 200")) {
            return IoError("expected a 200, got: " + std::string(head));
          }
          std::optional<std::string_view> te = soak::HeadHeader(head, "transfer-encoding");
          if (!te || *te != "chunked") return IoError("expected a chunked stream: " + in);
          in.erase(0, end + 4);
          head_done = true;
        }
      }
      // De-chunk what is here.
      while (head_done) {
        const size_t eol = in.find("\r\n");
        if (eol == std::string::npos) break;
        const size_t size = std::strtoul(in.c_str(), nullptr, 16);
        if (size == 0) {
          if (in.size() < eol + 4) break;
          in.erase(0, eol + 4);
          return out;
        }
        // The first data byte counts as soon as it is here, before its chunk is whole.
        if (out.first_event_us < 0 && in.size() > eol + 2) out.first_event_us = NowUs();
        if (in.size() < eol + 2 + size + 2) break;
        out.body.append(in, eol + 2, size);
        in.erase(0, eol + 2 + size + 2);
      }
      if (NowUs() > deadline) return IoError("no complete response within 10 s");
      char buf[16384];
      const ssize_t n = read(buf, sizeof buf);
      if (n <= 0) return IoError("the connection ended inside the response");
      in.append(buf, static_cast<size_t>(n));
    }
  }
};

// A blocking TCP connection to tapedeck with a receive timeout.
Result<UniqueFd> ConnectTo(uint16_t port) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return IoErrno("socket", errno);
  int one = 1;
  ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  timeval tv{static_cast<time_t>(kTimeoutUs / 1000000), 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    return IoErrno("connect to tapedeck", errno);
  }
  return fd;
}

Status SendAll(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return IoErrno("send", errno);
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

std::string OpenSslErrors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out;
}

struct SslCtxFree {
  void operator()(SSL_CTX* p) const { SSL_CTX_free(p); }
};
struct SslFree {
  void operator()(SSL* p) const { SSL_free(p); }
};
using SslCtxPtr = std::unique_ptr<SSL_CTX, SslCtxFree>;
using SslPtr = std::unique_ptr<SSL, SslFree>;

// One client connection in either mode: plain to tapedeck, or CONNECT + TLS through it.
class Connection {
 public:
  // Opens it; for the forward-proxy mode, the tunnel and the verified handshake too.
  static Result<std::unique_ptr<Connection>> Open(uint16_t port, SSL_CTX* tls) {
    Result<UniqueFd> fd = ConnectTo(port);
    if (!fd.ok()) return fd.status();
    auto c = std::unique_ptr<Connection>(new Connection(std::move(*fd)));
    if (tls == nullptr) return c;
    const std::string connect =
        std::string("CONNECT ") + kHost + ":443 HTTP/1.1\r\nHost: " + kHost + ":443\r\n\r\n";
    if (Status s = SendAll(c->fd_.get(), connect); !s.ok()) return s;
    // The answer's head, byte by byte: what follows belongs to TLS.
    std::string head;
    while (!head.ends_with("\r\n\r\n")) {
      char ch;
      const ssize_t n = ::recv(c->fd_.get(), &ch, 1, 0);
      if (n <= 0) return IoError("no answer to CONNECT: " + head);
      head += ch;
    }
    if (!head.starts_with("HTTP/1.1 200")) return IoError("CONNECT refused: " + head);
    c->ssl_.reset(SSL_new(tls));
    SSL_set_fd(c->ssl_.get(), c->fd_.get());
    SSL_set_tlsext_host_name(c->ssl_.get(), kHost);
    SSL_set1_host(c->ssl_.get(), kHost);
    if (SSL_connect(c->ssl_.get()) != 1) {
      return IoError("TLS handshake through tapedeck: " + OpenSslErrors() + " (verify: " +
                     X509_verify_cert_error_string(SSL_get_verify_result(c->ssl_.get())) + ")");
    }
    return c;
  }

  Status Send(std::string_view bytes) {
    if (!ssl_) return SendAll(fd_.get(), bytes);
    if (SSL_write(ssl_.get(), bytes.data(), static_cast<int>(bytes.size())) !=
        static_cast<int>(bytes.size())) {
      return IoError("SSL_write: " + OpenSslErrors());
    }
    return Status::Ok();
  }

  Result<ResponseReader::Outcome> ReadResponse() {
    auto read = [this](char* buf, size_t size) -> ssize_t {
      if (!ssl_) return ::recv(fd_.get(), buf, size, 0);
      const int n = SSL_read(ssl_.get(), buf, static_cast<int>(size));
      return n > 0 ? n : -1;
    };
    return ResponseReader::ReadOne(read, &carry_);
  }

  // The TLS version and cipher negotiated ("" for a plain connection).
  std::string Describe() const {
    if (!ssl_) return "";
    return std::string(SSL_get_version(ssl_.get())) + " " + SSL_get_cipher_name(ssl_.get());
  }

  void Close() {
    if (ssl_) SSL_shutdown(ssl_.get());
    ssl_.reset();
    fd_.Reset();
  }

 private:
  explicit Connection(UniqueFd fd) : fd_(std::move(fd)) {}

  UniqueFd fd_;
  SslPtr ssl_;
  std::string carry_;
};

// CPU time used so far by the calling thread.
Micros ThreadCpuUs() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<Micros>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

// What opening a connection took before the request could be sent (connect, and CONNECT + the
// handshake): wall time, and the CPU the client itself spent on it (its side of the handshake).
struct OpenCost {
  Micros wall_us = 0;
  Micros client_cpu_us = 0;
};

// Time to first event of one request on a new connection (connect included); `*open`, when
// given, gets what opening the connection took.
Result<Micros> OneOnNewConnection(uint16_t port, SSL_CTX* tls, const std::string& expected,
                                  OpenCost* open = nullptr) {
  const Micros start = NowUs();
  const Micros cpu_start = ThreadCpuUs();
  Result<std::unique_ptr<Connection>> c = Connection::Open(port, tls);
  if (!c.ok()) return c.status();
  if (open != nullptr) *open = {NowUs() - start, ThreadCpuUs() - cpu_start};
  if (Status s = (*c)->Send(Request(false)); !s.ok()) return s;
  Result<ResponseReader::Outcome> r = (*c)->ReadResponse();
  if (!r.ok()) return r.status();
  (*c)->Close();
  if (r->body != expected) return IoError("the stream differs from the recording");
  return r->first_event_us - start;
}

// Time to first event of one more request on a kept-alive connection (send included).
Result<Micros> OneOnKeptConnection(Connection* c, const std::string& expected) {
  const Micros start = NowUs();
  if (Status s = c->Send(Request(true)); !s.ok()) return s;
  Result<ResponseReader::Outcome> r = c->ReadResponse();
  if (!r.ok()) return r.status();
  if (r->body != expected) return IoError("the stream differs from the recording");
  return r->first_event_us - start;
}

double Percentile(std::vector<Micros> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t i = static_cast<size_t>(std::ceil(q * static_cast<double>(v.size())));
  return static_cast<double>(v[std::min(v.size() - 1, i == 0 ? 0 : i - 1)]);
}

void PrintRow(const char* what, const std::vector<Micros>& v) {
  std::printf("  %-34s median %7.1f us   p99 %7.1f us   max %7.1f us\n", what, Percentile(v, 0.5),
              Percentile(v, 0.99), Percentile(v, 1.0));
}

void PrintDifference(const std::vector<Micros>& base, const std::vector<Micros>& proxy) {
  std::printf("  %-34s median %+7.1f us   p99 %+7.1f us\n", "forward proxy - base URL",
              Percentile(proxy, 0.5) - Percentile(base, 0.5),
              Percentile(proxy, 0.99) - Percentile(base, 0.99));
}

int Run(const Flags& flags) {
  std::error_code ec;
  std::string dir = (std::filesystem::temp_directory_path(ec) / "fp-bench-XXXXXX").string();
  if (::mkdtemp(dir.data()) == nullptr) {
    std::perror("mkdtemp");
    return 1;
  }
  struct Cleanup {
    std::string dir;
    ~Cleanup() {
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
    }
  } cleanup{dir};

  cassette::Cassette cassette;
  cassette.created_at_us = 1795249953123456;
  cassette.interactions.push_back(StreamInteraction("", flags.events));
  cassette.interactions.push_back(
      StreamInteraction(cassette::MakeOrigin("https", kHost, 443), flags.events));
  const std::string expected = cassette.interactions[0].response.stream->Concatenated();
  const std::string path = dir + "/stream.jsonl.zst";
  if (Status s = cassette::WriteCassetteAtomic(path, cassette, {}); !s.ok()) {
    std::fprintf(stderr, "forward_proxy_bench: %s\n", s.message().c_str());
    return 1;
  }
  const std::string ca_dir = dir + "/ca";
  Result<std::unique_ptr<soak::TapedeckProcess>> proc = soak::TapedeckProcess::Start(
      flags.tapedeck, {"replay", "--forward-proxy", "--cassette", path, "--ca-dir", ca_dir,
                       "--listen", "127.0.0.1:0", "--timing", "instant", "--log-level", "warn"});
  if (!proc.ok()) {
    std::fprintf(stderr, "forward_proxy_bench: %s\n", proc.status().message().c_str());
    return 1;
  }
  const uint16_t port = (*proc)->port();

  SslCtxPtr tls(SSL_CTX_new(TLS_client_method()));
  if (!tls || SSL_CTX_load_verify_locations(tls.get(), (ca_dir + "/tapedeck-ca.pem").c_str(),
                                            nullptr) != 1) {
    std::fprintf(stderr, "forward_proxy_bench: tapedeck's CA: %s\n", OpenSslErrors().c_str());
    return 1;
  }
  SSL_CTX_set_verify(tls.get(), SSL_VERIFY_PEER, nullptr);
  // No session cache: each new connection pays the full handshake, as a fresh client does.
  SSL_CTX_set_session_cache_mode(tls.get(), SSL_SESS_CACHE_OFF);
  SSL_CTX_set_options(tls.get(), SSL_OP_NO_TICKET);

  std::printf(
      "forward_proxy_bench: `tapedeck replay --forward-proxy --timing instant`, one SSE stream of "
      "%d events (%zu bytes); time from connect() (or, kept alive, from sending the request) to "
      "the first event byte, %d requests per mode and connection kind, modes alternating.\n",
      flags.events, expected.size(), flags.requests);

  auto fail = [&](const char* what, const Status& s) {
    std::fprintf(stderr, "forward_proxy_bench: %s: %s\n", what, s.message().c_str());
    (*proc)->Stop(10);
    return 1;
  };

  // The first forward-proxy connection mints the leaf for the host: on its own.
  Result<Micros> cold = OneOnNewConnection(port, tls.get(), expected);
  if (!cold.ok()) return fail("first forward-proxy request", cold.status());
  // Warm both paths up (page faults, the first TLS handshake) before anything counts.
  for (int i = 0; i < 20; ++i) {
    Result<Micros> a = OneOnNewConnection(port, nullptr, expected);
    if (!a.ok()) return fail("warm-up, base URL", a.status());
    Result<Micros> b = OneOnNewConnection(port, tls.get(), expected);
    if (!b.ok()) return fail("warm-up, forward proxy", b.status());
  }

  std::vector<Micros> new_base, new_proxy, open_proxy, open_proxy_cpu;
  for (int i = 0; i < flags.requests; ++i) {
    for (int k = 0; k < 2; ++k) {
      const bool proxy = (i + k) % 2 == 1;  // alternate which mode goes first
      OpenCost open;
      Result<Micros> t = OneOnNewConnection(port, proxy ? tls.get() : nullptr, expected, &open);
      if (!t.ok()) return fail(proxy ? "forward proxy, new connection" : "base URL", t.status());
      (proxy ? new_proxy : new_base).push_back(*t);
      if (proxy) {
        open_proxy.push_back(open.wall_us);
        open_proxy_cpu.push_back(open.client_cpu_us);
      }
    }
  }

  std::vector<Micros> kept_base, kept_proxy;
  Micros kept_proxy_open = 0;
  std::string tls_description;
  {
    Result<std::unique_ptr<Connection>> base = Connection::Open(port, nullptr);
    if (!base.ok()) return fail("base URL, kept-alive connection", base.status());
    const Micros start = NowUs();
    Result<std::unique_ptr<Connection>> proxied = Connection::Open(port, tls.get());
    if (!proxied.ok()) return fail("forward proxy, kept-alive connection", proxied.status());
    kept_proxy_open = NowUs() - start;
    tls_description = (*proxied)->Describe();
    for (int i = 0; i < flags.requests; ++i) {
      for (int k = 0; k < 2; ++k) {
        const bool proxy = (i + k) % 2 == 1;
        Result<Micros> t = OneOnKeptConnection(proxy ? proxied->get() : base->get(), expected);
        if (!t.ok())
          return fail(proxy ? "forward proxy, kept alive" : "base URL, kept alive", t.status());
        (proxy ? kept_proxy : kept_base).push_back(*t);
      }
    }
  }

  std::printf(
      "\nnew connection per request (connect + request; forward proxy: + CONNECT + TLS):\n");
  PrintRow("base URL (plain HTTP)", new_base);
  PrintRow("forward proxy (CONNECT + TLS)", new_proxy);
  PrintDifference(new_base, new_proxy);
  PrintRow("  of which connect+CONNECT+TLS", open_proxy);
  PrintRow("    of which the client's CPU", open_proxy_cpu);
  std::printf("\none kept-alive connection (request to first event byte):\n");
  PrintRow("base URL (plain HTTP)", kept_base);
  PrintRow("forward proxy (inside the tunnel)", kept_proxy);
  PrintDifference(kept_base, kept_proxy);
  std::printf(
      "\nfirst forward-proxy request of the run (mints the leaf): %.1f us; opening the kept-alive "
      "tunnel (connect + CONNECT + handshake): %.1f us; TLS: %s\n",
      static_cast<double>(*cold), static_cast<double>(kept_proxy_open), tls_description.c_str());
  const int status = (*proc)->Stop(10);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::fprintf(stderr, "forward_proxy_bench: tapedeck did not exit 0 (wait status %d)\n", status);
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace td::bench

int main(int argc, char** argv) {
  const td::bench::Flags flags = td::bench::ParseFlags(argc, argv);
  ::signal(SIGPIPE, SIG_IGN);
  return td::bench::Run(flags);
}
