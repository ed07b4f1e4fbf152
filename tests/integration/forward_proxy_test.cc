// Forward-proxy mode end to end (issue #13): the tapedeck binary as the proxy of curl and of an
// OpenSSL client, a TLS fake upstream standing in for api.anthropic.com via --resolve. Record and
// replay byte for byte; other hosts tunnelled or refused; hostile clients closed and logged; the
// minted leaf verified; exec's variables; `tapedeck ca init|path`.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "cassette/codec.h"
#include "tests/integration/tapedeck_process.h"
#include "tests/support/fake_upstream.h"
#include "tests/support/fixtures.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_client.h"

namespace td::testing {
namespace {

using namespace std::chrono_literals;

std::string CertsDir() { return TD_TEST_CERTS_DIR; }
std::string TestCa() { return CertsDir() + "/ca.pem"; }

// A fake key assembled at run time so that the source holds nothing key-shaped.
std::string FakeKey() { return "sk-" + std::string("ant-api03-") + std::string(40, 'F'); }

std::string Sample(const std::string& name) {
  return std::string(TD_SOURCE_DIR) + "/examples/cassettes/" + name;
}

// The first executable `name` on PATH, or "".
std::string FindOnPath(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path != nullptr ? path : "/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    const std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

// The test's environment without what would steer curl or tapedeck elsewhere: proxy settings,
// CA overrides, TAPEDECK_* flags and the base URLs of the SDKs.
std::vector<std::string> CleanEnvironment() {
  std::vector<std::string> out;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string kv = *e;
    std::string name = kv.substr(0, kv.find('='));
    std::string lower;
    for (char c : name) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower.ends_with("_proxy") || lower == "curl_ca_bundle" || lower == "ssl_cert_file" ||
        lower == "ssl_cert_dir" || lower.starts_with("tapedeck_") || lower.ends_with("_base_url")) {
      continue;
    }
    out.push_back(std::move(kv));
  }
  return out;
}

struct CommandResult {
  int code = -1;  // exit status, 128 + signal, or -1 when it could not run or timed out
  std::string out;
  std::string err;
};

// Runs `argv` (argv[0] looked up on PATH) with `env`, stdin from /dev/null, and collects its
// stdout and stderr until it exits; killed after `timeout`.
CommandResult RunCommand(const std::vector<std::string>& argv,
                         const std::vector<std::string>& env = CleanEnvironment(),
                         std::chrono::milliseconds timeout = 30s) {
  CommandResult result;
  int out_pipe[2], err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) return result;
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
    ::close(out_pipe[0]);
    ::close(out_pipe[1]);
    return result;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err_pipe[1], STDERR_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  std::vector<std::string> argv_s = argv;
  std::vector<char*> cargv;
  for (auto& a : argv_s) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  std::vector<std::string> env_s = env;
  std::vector<char*> cenv;
  for (auto& e : env_s) cenv.push_back(e.data());
  cenv.push_back(nullptr);
  pid_t pid = -1;
  const int rc = posix_spawnp(&pid, cargv[0], &actions, nullptr, cargv.data(), cenv.data());
  posix_spawn_file_actions_destroy(&actions);
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  if (rc != 0) {
    ::close(out_pipe[0]);
    ::close(err_pipe[0]);
    result.err = "cannot run " + argv[0] + ": " + std::strerror(rc);
    return result;
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  std::string* sinks[2] = {&result.out, &result.err};
  int open_fds = 2;
  bool timed_out = false;
  while (open_fds > 0) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || ::poll(fds, 2, static_cast<int>(left.count())) == 0) {
      timed_out = true;
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      char buf[8192];
      const ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        sinks[i]->append(buf, static_cast<size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  for (pollfd& p : fds) {
    if (p.fd >= 0) ::close(p.fd);
  }
  if (timed_out) ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (timed_out) {
    result.err += "\n(killed after " + std::to_string(timeout.count()) + " ms)";
    return result;
  }
  result.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

// What curl got: its exit status, the header block(s) it dumped (the proxy's CONNECT answer,
// then the response's), the body bytes, and its error text.
struct CurlResult {
  int code = -1;
  std::string headers;
  std::string body;
  std::string err;
};

// SSL handles for the OpenSSL client below.
struct SslCtxFree {
  void operator()(SSL_CTX* p) const { SSL_CTX_free(p); }
};
struct SslFree {
  void operator()(SSL* p) const { SSL_free(p); }
};
struct X509Free {
  void operator()(X509* p) const { X509_free(p); }
};

// Drains OpenSSL's error queue into text.
std::string OpenSslErrorText() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? "no OpenSSL error" : out;
}

// A TLS client through tapedeck's CONNECT, with OpenSSL: the tunnel request on a raw socket,
// then a handshake naming `sni`, verified against `ca_file`. Blocking, every read bounded by a
// receive timeout. Test thread only.
class ProxiedTlsClient {
 public:
  ProxiedTlsClient() = default;
  ~ProxiedTlsClient() {
    ssl_.reset();
    if (fd_ >= 0) ::close(fd_);
  }
  ProxiedTlsClient(const ProxiedTlsClient&) = delete;
  ProxiedTlsClient& operator=(const ProxiedTlsClient&) = delete;

  // Connects to tapedeck and asks for a tunnel to `authority` ("host:port"); succeeds when the
  // answer's head arrives (status in connect_status()).
  ::testing::AssertionResult Connect(uint16_t proxy_port, const std::string& authority) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    timeval tv{10, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(proxy_port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      return ::testing::AssertionFailure() << "connect to tapedeck: " << std::strerror(errno);
    }
    const std::string request =
        "CONNECT " + authority + " HTTP/1.1\r\nHost: " + authority + "\r\n\r\n";
    if (::send(fd_, request.data(), request.size(), MSG_NOSIGNAL) !=
        static_cast<ssize_t>(request.size())) {
      return ::testing::AssertionFailure() << "send CONNECT: " << std::strerror(errno);
    }
    // One byte at a time: what follows the head belongs to TLS.
    while (!connect_head_.ends_with("\r\n\r\n")) {
      char c;
      const ssize_t n = ::recv(fd_, &c, 1, 0);
      if (n <= 0) {
        return ::testing::AssertionFailure()
               << "no CONNECT answer (" << (n == 0 ? "closed" : std::strerror(errno))
               << "); got: " << connect_head_;
      }
      connect_head_ += c;
    }
    return ::testing::AssertionSuccess();
  }

  const std::string& connect_head() const { return connect_head_; }

  // The TLS handshake over the tunnel: SNI `sni`, the peer verified against `ca_file` and, when
  // `verify_host` is not empty, for that name.
  ::testing::AssertionResult Handshake(const std::string& sni, const std::string& ca_file,
                                       const std::string& verify_host) {
    ctx_.reset(SSL_CTX_new(TLS_client_method()));
    if (!ctx_ || SSL_CTX_load_verify_locations(ctx_.get(), ca_file.c_str(), nullptr) != 1) {
      return ::testing::AssertionFailure() << "client context: " << OpenSslErrorText();
    }
    SSL_CTX_set_verify(ctx_.get(), SSL_VERIFY_PEER, nullptr);
    ssl_.reset(SSL_new(ctx_.get()));
    SSL_set_fd(ssl_.get(), fd_);
    SSL_set_tlsext_host_name(ssl_.get(), sni.c_str());
    if (!verify_host.empty()) SSL_set1_host(ssl_.get(), verify_host.c_str());
    if (SSL_connect(ssl_.get()) != 1) {
      return ::testing::AssertionFailure()
             << "TLS handshake: " << OpenSslErrorText() << " (verify result: "
             << X509_verify_cert_error_string(SSL_get_verify_result(ssl_.get())) << ")";
    }
    return ::testing::AssertionSuccess();
  }

  SSL* ssl() const { return ssl_.get(); }
  int fd() const { return fd_; }

  // Sends `request` over TLS and reads until the peer closes, fails, or the receive timeout
  // passes: the bytes that arrived.
  std::string ExchangeUntilClosed(const std::string& request) {
    SSL_write(ssl_.get(), request.data(), static_cast<int>(request.size()));
    std::string got;
    char buf[4096];
    int n;
    while ((n = SSL_read(ssl_.get(), buf, sizeof buf)) > 0) got.append(buf, static_cast<size_t>(n));
    ERR_clear_error();
    return got;
  }

 private:
  int fd_ = -1;
  std::string connect_head_;
  std::unique_ptr<SSL_CTX, SslCtxFree> ctx_;
  std::unique_ptr<SSL, SslFree> ssl_;
};

// The DNS names in the certificate's subjectAltName, in order.
std::vector<std::string> DnsSans(X509* cert) {
  std::vector<std::string> out;
  auto* names =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (names == nullptr) return out;
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    if (name->type != GEN_DNS) continue;
    const ASN1_IA5STRING* dns = name->d.dNSName;
    out.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(dns)),
                     static_cast<size_t>(ASN1_STRING_length(dns)));
  }
  GENERAL_NAMES_free(names);
  return out;
}

class ForwardProxyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // OpenSSL writes with write(2): a peer that closed first must not kill the test.
    ::signal(SIGPIPE, SIG_IGN);
    if (!std::filesystem::exists(CertsDir() + "/api.pem")) {
      GTEST_SKIP() << "no test certificates (api.pem) in " << CertsDir();
    }
    curl_ = FindOnPath("curl");
    if (curl_.empty()) GTEST_SKIP() << "curl is not installed (scripts/deps.sh installs it)";
  }

  std::string CaDir() const { return dir_.Path("ca"); }
  std::string TapedeckCa() const { return CaDir() + "/tapedeck-ca.pem"; }
  std::string CassettePath() const { return dir_.Path("fp.jsonl.zst"); }

  // A TLS upstream with the certificate for the API host names.
  static std::unique_ptr<FakeUpstream> ApiUpstream() {
    FakeUpstream::Options options;
    options.cert_file = CertsDir() + "/api.pem";
    options.key_file = CertsDir() + "/api.key";
    return std::make_unique<FakeUpstream>(options);
  }

  // `tapedeck MODE --forward-proxy` on a free port with `cassette`, its CA in CaDir(), and
  // `extra` flags.
  std::unique_ptr<TapedeckProcess> Start(const std::string& mode,
                                         const std::vector<std::string>& extra = {},
                                         const std::string& cassette = "") {
    std::vector<std::string> args = {
        mode,       "--forward-proxy", "--cassette", cassette.empty() ? CassettePath() : cassette,
        "--listen", "127.0.0.1:0",     "--ca-dir",   CaDir()};
    if (mode == "replay") args.insert(args.end(), {"--timing", "instant"});
    args.insert(args.end(), extra.begin(), extra.end());
    auto process = std::make_unique<TapedeckProcess>(args);
    EXPECT_TRUE(process->WaitListening());
    return process;
  }

  // Stops tapedeck with SIGTERM; it must exit 0.
  static void Stop(TapedeckProcess* process) {
    process->Signal(SIGTERM);
    int code = -1;
    ASSERT_TRUE(process->WaitExit(&code));
    EXPECT_EQ(code, 0) << process->stderr_text();
  }

  // curl through `proxy_url` (no ~/.curlrc, no proxy or CA settings from the environment),
  // with `args` after the common ones and `url` last.
  CurlResult Curl(const std::string& proxy_url, const std::string& url,
                  const std::vector<std::string>& args) {
    const std::string headers_file = dir_.Path("curl-headers-" + std::to_string(++curls_));
    const std::string body_file = dir_.Path("curl-body-" + std::to_string(curls_));
    std::vector<std::string> argv = {curl_, "-q", "-sS",        "--proxy", proxy_url, "--max-time",
                                     "20",  "-D", headers_file, "-o",      body_file};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.push_back(url);
    CommandResult run = RunCommand(argv);
    CurlResult r;
    r.code = run.code;
    r.err = run.err;
    r.headers = ReadFile(headers_file);
    r.body = ReadFile(body_file);
    return r;
  }

  // A POST of JSON with the fake key, the way an Anthropic client sends it.
  static std::vector<std::string> PostJson(const std::string& body) {
    return {"-H",
            "x-api-key: " + FakeKey(),
            "-H",
            "anthropic-version: 2023-06-01",
            "-H",
            "content-type: application/json",
            "--data-binary",
            body};
  }

  static cassette::Cassette ReadBack(const std::string& path) {
    Result<cassette::Cassette> c = cassette::ReadCassette(path);
    EXPECT_TRUE(c.ok()) << c.status().message();
    return c.ok() ? std::move(*c) : cassette::Cassette{};
  }

  ScopedTempDir dir_;
  std::string curl_;
  int curls_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Record, then replay with the upstream gone.

TEST_F(ForwardProxyTest, CurlJsonIsRecordedWithItsOriginAndReplayedByteForByte) {
  const std::string body =
      R"({"model":"claude-fp","max_tokens":16,"messages":[{"role":"user","content":"hi"}]})";
  const std::string answer =
      R"({"id":"msg_fp_1","type":"message","role":"assistant","content":[{"type":"text",)"
      R"("text":"hello through the proxy"}],"stop_reason":"end_turn"})";
  std::unique_ptr<FakeUpstream> upstream = ApiUpstream();
  FakeResponse json = FakeResponse::Json(answer);
  cassette::SetHeader(&json.headers, "request-id", "req_fp_json");
  upstream->Respond(json);
  const std::string port = std::to_string(upstream->port());
  const std::string origin = "https://api.anthropic.com:" + port;
  const std::string url = origin + "/v1/messages";

  CurlResult recorded;
  {
    std::unique_ptr<TapedeckProcess> rec =
        Start("record",
              {"--resolve", "api.anthropic.com:" + port + ":127.0.0.1", "--upstream-ca", TestCa()});
    ASSERT_TRUE(rec->started());
    ASSERT_TRUE(std::filesystem::exists(TapedeckCa())) << "the CA is made on first use";
    std::vector<std::string> args = PostJson(body);
    args.insert(args.end(), {"--cacert", TapedeckCa()});
    recorded = Curl(rec->url(), url, args);
    ASSERT_EQ(recorded.code, 0) << recorded.err << "\n" << rec->stderr_text();
    EXPECT_EQ(recorded.body, answer);
    EXPECT_TRUE(recorded.headers.starts_with("HTTP/1.1 200 Connection established\r\n"))
        << recorded.headers;
    ASSERT_TRUE(upstream->WaitForRequests(1));
    CapturedRequest sent = upstream->request(0);
    EXPECT_EQ(sent.target, "/v1/messages");
    EXPECT_EQ(sent.body, body);
    ASSERT_NE(cassette::FindHeader(sent.headers, "host"), nullptr);
    EXPECT_EQ(*cassette::FindHeader(sent.headers, "host"), "api.anthropic.com:" + port);
    ASSERT_NE(cassette::FindHeader(sent.headers, "x-api-key"), nullptr);
    EXPECT_EQ(*cassette::FindHeader(sent.headers, "x-api-key"), FakeKey());
    Stop(rec.get());
    EXPECT_EQ(rec->stderr_text().find(FakeKey()), std::string::npos);
  }
  upstream.reset();  // replay provably cannot reach it

  cassette::Cassette cassette = ReadBack(CassettePath());
  ASSERT_EQ(cassette.interactions.size(), 1u);
  EXPECT_EQ(cassette.interactions[0].request.origin, origin);
  EXPECT_EQ(cassette.interactions[0].request.path, "/v1/messages");
  EXPECT_EQ(cassette::SerializeCassette(cassette).find(FakeKey()), std::string::npos)
      << "the key must not reach the cassette";
  CommandResult ls = RunCommand({TapedeckBinary(), "cassette", "ls", CassettePath()});
  EXPECT_EQ(ls.code, 0) << ls.err;
  EXPECT_NE(ls.out.find(url), std::string::npos) << ls.out;
  EXPECT_NE(ls.out.find("POST"), std::string::npos) << ls.out;

  std::unique_ptr<TapedeckProcess> rep = Start("replay");
  ASSERT_TRUE(rep->started());
  std::vector<std::string> args = PostJson(body);
  args.insert(args.end(), {"--cacert", TapedeckCa()});
  CurlResult replayed = Curl(rep->url(), url, args);
  ASSERT_EQ(replayed.code, 0) << replayed.err << "\n" << rep->stderr_text();
  EXPECT_EQ(replayed.body, recorded.body);
  EXPECT_EQ(replayed.headers, recorded.headers);  // CONNECT answer and head alike

  // The same request at another origin is a miss that names the difference.
  CurlResult other = Curl(rep->url(), "https://api.anthropic.com:1/v1/messages", args);
  ASSERT_EQ(other.code, 0) << other.err;
  EXPECT_NE(other.headers.find("HTTP/1.1 404"), std::string::npos) << other.headers;
  EXPECT_NE(other.body.find("origin"), std::string::npos) << other.body;

  // tapedeck's admin paths belong to the origin inside a tunnel: a miss, not tapedeck's health.
  CurlResult health = Curl(rep->url(), origin + "/__tapedeck/health", {"--cacert", TapedeckCa()});
  ASSERT_EQ(health.code, 0) << health.err;
  EXPECT_NE(health.headers.find("HTTP/1.1 404"), std::string::npos) << health.headers;
  Stop(rep.get());
  EXPECT_NE(rep->stderr_text().find("1 hit, 2 misses"), std::string::npos) << rep->stderr_text();
}

// A client that does not keep the connection (Connection: close, HTTP/1.0) gets the whole
// response before tapedeck closes the tunnel: the TLS records must leave the socket first.
TEST_F(ForwardProxyTest, ConnectionCloseInsideTheTunnelGetsTheWholeResponse) {
  std::string answer = R"({"id":"msg_big","filler":")";
  for (int i = 0; answer.size() < 300 * 1024; ++i) answer += "chunk " + std::to_string(i) + " ";
  answer += R"("})";
  const std::string body = R"({"model":"claude-fp","max_tokens":16})";
  std::unique_ptr<FakeUpstream> upstream = ApiUpstream();
  upstream->SetDefault(FakeResponse::Json(answer));
  const std::string port = std::to_string(upstream->port());
  const std::string url = "https://api.anthropic.com:" + port + "/v1/messages";
  std::vector<std::string> args = PostJson(body);
  args.insert(args.end(), {"--cacert", TapedeckCa(), "-H", "connection: close"});
  {
    std::unique_ptr<TapedeckProcess> rec =
        Start("record",
              {"--resolve", "api.anthropic.com:" + port + ":127.0.0.1", "--upstream-ca", TestCa()});
    ASSERT_TRUE(rec->started());
    CurlResult recorded = Curl(rec->url(), url, args);
    ASSERT_EQ(recorded.code, 0) << recorded.err << "\n" << rec->stderr_text();
    EXPECT_EQ(recorded.body, answer);
    Stop(rec.get());
  }
  upstream.reset();
  std::unique_ptr<TapedeckProcess> rep = Start("replay");
  ASSERT_TRUE(rep->started());
  CurlResult closing = Curl(rep->url(), url, args);
  ASSERT_EQ(closing.code, 0) << closing.err << "\n" << rep->stderr_text();
  EXPECT_EQ(closing.body, answer);
  // An HTTP/1.0 request (curl --http1.0 would offer ALPN "http/1.0", which tapedeck refuses).
  ProxiedTlsClient old;
  ASSERT_TRUE(old.Connect(rep->port(), "api.anthropic.com:" + port));
  ASSERT_TRUE(old.Handshake("api.anthropic.com", TapedeckCa(), "api.anthropic.com"));
  const std::string raw = old.ExchangeUntilClosed(
      "POST /v1/messages HTTP/1.0\r\nHost: api.anthropic.com:" + port +
      "\r\ncontent-type: application/json\r\nanthropic-version: 2023-06-01\r\n"
      "content-length: " +
      std::to_string(body.size()) + "\r\n\r\n" + body);
  EXPECT_TRUE(raw.starts_with("HTTP/1.1 200 ")) << raw.substr(0, 200);
  EXPECT_TRUE(raw.ends_with("\r\n\r\n" + answer)) << raw.size() << " bytes";
  Stop(rep.get());
}

TEST_F(ForwardProxyTest, CurlSseStreamIsReplayedByteForByte) {
  std::vector<std::string> events;
  for (int i = 0; i < 12; ++i) {
    events.push_back(
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\","
        "\"delta\":{\"text\":\"piece " +
        std::to_string(i) + "\"}}\n\n");
  }
  events.push_back("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n");
  std::string stream;
  for (const std::string& e : events) stream += e;
  const std::string body = R"({"model":"claude-fp","stream":true,"max_tokens":16})";
  std::unique_ptr<FakeUpstream> upstream = ApiUpstream();
  upstream->Respond(FakeResponse::Sse(events));
  const std::string port = std::to_string(upstream->port());
  const std::string url = "https://api.anthropic.com:" + port + "/v1/messages";
  std::vector<std::string> args = PostJson(body);
  args.insert(args.end(), {"-N", "--cacert", TapedeckCa()});

  CurlResult recorded;
  {
    std::unique_ptr<TapedeckProcess> rec =
        Start("record",
              {"--resolve", "api.anthropic.com:" + port + ":127.0.0.1", "--upstream-ca", TestCa()});
    ASSERT_TRUE(rec->started());
    recorded = Curl(rec->url(), url, args);
    ASSERT_EQ(recorded.code, 0) << recorded.err << "\n" << rec->stderr_text();
    Stop(rec.get());
  }
  upstream.reset();
  EXPECT_EQ(recorded.body, stream);
  cassette::Cassette cassette = ReadBack(CassettePath());
  ASSERT_EQ(cassette.interactions.size(), 1u);
  EXPECT_EQ(cassette.interactions[0].request.origin, "https://api.anthropic.com:" + port);
  ASSERT_TRUE(cassette.interactions[0].response.stream.has_value());
  EXPECT_EQ(cassette.interactions[0].response.stream->events.size(), events.size());

  std::unique_ptr<TapedeckProcess> rep = Start("replay");
  ASSERT_TRUE(rep->started());
  CurlResult replayed = Curl(rep->url(), url, args);
  ASSERT_EQ(replayed.code, 0) << replayed.err << "\n" << rep->stderr_text();
  EXPECT_EQ(replayed.body, recorded.body);
  EXPECT_EQ(replayed.headers, recorded.headers);  // CONNECT answer and head alike
  Stop(rep.get());
}

TEST_F(ForwardProxyTest, PlainHttpAbsoluteFormToAnInterceptedHostIsRecordedAndReplayed) {
  const std::string body = R"({"model":"gpt-fp","messages":[{"role":"user","content":"hi"}]})";
  const std::string answer = R"({"id":"chatcmpl-fp","object":"chat.completion","choices":[]})";
  auto upstream = std::make_unique<FakeUpstream>();  // plain HTTP
  upstream->Respond(FakeResponse::Json(answer));
  const std::string port = std::to_string(upstream->port());
  const std::string origin = "http://api.openai.com:" + port;
  const std::string url = origin + "/v1/chat/completions";
  const std::vector<std::string> args = {"-H", "content-type: application/json", "--data-binary",
                                         body};

  CurlResult recorded;
  {
    std::unique_ptr<TapedeckProcess> rec =
        Start("record", {"--resolve", "api.openai.com:" + port + ":127.0.0.1"});
    ASSERT_TRUE(rec->started());
    recorded = Curl(rec->url(), url, args);
    ASSERT_EQ(recorded.code, 0) << recorded.err << "\n" << rec->stderr_text();
    EXPECT_EQ(recorded.body, answer);
    ASSERT_TRUE(upstream->WaitForRequests(1));
    EXPECT_EQ(upstream->request(0).target, "/v1/chat/completions");
    ASSERT_NE(cassette::FindHeader(upstream->request(0).headers, "host"), nullptr);
    EXPECT_EQ(*cassette::FindHeader(upstream->request(0).headers, "host"),
              "api.openai.com:" + port);
    Stop(rec.get());
  }
  upstream.reset();
  cassette::Cassette cassette = ReadBack(CassettePath());
  ASSERT_EQ(cassette.interactions.size(), 1u);
  EXPECT_EQ(cassette.interactions[0].request.origin, origin);
  EXPECT_EQ(cassette.interactions[0].request.path, "/v1/chat/completions");

  std::unique_ptr<TapedeckProcess> rep = Start("replay");
  ASSERT_TRUE(rep->started());
  CurlResult replayed = Curl(rep->url(), url, args);
  ASSERT_EQ(replayed.code, 0) << replayed.err;
  EXPECT_EQ(replayed.body, recorded.body);
  EXPECT_EQ(replayed.headers, recorded.headers);  // CONNECT answer and head alike
  Stop(rep.get());
}

// `tapedeck exec --forward-proxy` replaying: the command is plain curl with no proxy or CA
// option; exec's variables alone route it through tapedeck and make it trust the CA.
TEST_F(ForwardProxyTest, ExecRoutesAnUnconfiguredCurlThroughTheReplay) {
  const std::string answer = R"({"id":"msg_exec","type":"message","content":[]})";
  const std::string body = R"({"model":"claude-fp","max_tokens":4})";
  std::unique_ptr<FakeUpstream> upstream = ApiUpstream();
  upstream->Respond(FakeResponse::Json(answer));
  const std::string port = std::to_string(upstream->port());
  const std::string url = "https://api.anthropic.com:" + port + "/v1/messages";
  {
    std::unique_ptr<TapedeckProcess> rec =
        Start("record",
              {"--resolve", "api.anthropic.com:" + port + ":127.0.0.1", "--upstream-ca", TestCa()});
    ASSERT_TRUE(rec->started());
    std::vector<std::string> args = PostJson(body);
    args.insert(args.end(), {"--cacert", TapedeckCa()});
    ASSERT_EQ(Curl(rec->url(), url, args).code, 0);
    Stop(rec.get());
  }
  upstream.reset();

  const std::string out = dir_.Path("exec-body");
  const std::string script = "exec \"$0\" -q -sS --max-time 20 -o '" + out +
                             "' -H 'content-type: application/json' --data-binary '" + body +
                             "' '" + url + "'";
  TapedeckProcess exec({"exec", "--forward-proxy", "--mode", "replay", "--cassette", CassettePath(),
                        "--ca-dir", CaDir(), "--", "sh", "-c", script, curl_});
  int code = -1;
  ASSERT_TRUE(exec.WaitExit(&code));
  EXPECT_EQ(code, 0) << exec.stderr_text();
  EXPECT_EQ(ReadFile(out), answer);
}

// ---------------------------------------------------------------------------------------------
// Hosts that are not intercepted.

TEST_F(ForwardProxyTest, RecordTunnelsAHostItDoesNotInterceptUntouched) {
  FakeUpstream::Options options;  // the localhost certificate, which only the test CA signs
  options.cert_file = CertsDir() + "/server.pem";
  options.key_file = CertsDir() + "/server.key";
  FakeUpstream upstream(options);
  upstream.Respond(FakeResponse::Json(R"({"tunnelled":true})"));
  const std::string port = std::to_string(upstream.port());
  std::unique_ptr<TapedeckProcess> rec =
      Start("record", {"--resolve", "localhost:" + port + ":127.0.0.1"});
  ASSERT_TRUE(rec->started());
  // curl trusts the test CA alone: the handshake only succeeds with the upstream's own
  // certificate, so nothing in between terminated TLS.
  CurlResult r = Curl(rec->url(), "https://localhost:" + port + "/v1/models?limit=1",
                      {"--cacert", TestCa(), "-H", "x-probe: tunnelled"});
  ASSERT_EQ(r.code, 0) << r.err << "\n" << rec->stderr_text();
  EXPECT_EQ(r.body, R"({"tunnelled":true})");
  ASSERT_TRUE(upstream.WaitForRequests(1));
  EXPECT_EQ(upstream.request(0).target, "/v1/models?limit=1");
  ASSERT_NE(cassette::FindHeader(upstream.request(0).headers, "x-probe"), nullptr);
  Stop(rec.get());
  // Nothing was recorded, so the cassette may not even exist.
  if (std::filesystem::exists(CassettePath())) {
    EXPECT_TRUE(ReadBack(CassettePath()).interactions.empty())
        << "a tunnelled exchange is not recorded";
  }
}

TEST_F(ForwardProxyTest, ReplayRefusesAHostItDoesNotInterceptAndConnectsNowhere) {
  // A listener at the CONNECT target: a replay that tunnelled would reach it.
  FakeUpstream bystander;
  const std::string port = std::to_string(bystander.port());
  std::unique_ptr<TapedeckProcess> rep_process = Start(
      "replay", {"--resolve", "localhost:" + port + ":127.0.0.1"}, Sample("hello-anthropic.jsonl"));
  TapedeckProcess& rep = *rep_process;
  ASSERT_TRUE(rep.started());

  CurlResult r = Curl(rep.url(), "https://example.org/", {});
  EXPECT_EQ(r.code, 56) << r.err;  // CURLE_RECV_ERROR: the proxy refused the tunnel
  EXPECT_TRUE(r.headers.starts_with("HTTP/1.1 403")) << r.headers;

  TestClient client(rep.port());
  ASSERT_TRUE(client.Connect());
  ASSERT_TRUE(client.Send("CONNECT localhost:" + port + " HTTP/1.1\r\nHost: localhost:" + port +
                          "\r\n\r\n"));
  std::string raw;
  ASSERT_TRUE(client.ReadUntilClosed(&raw));
  EXPECT_TRUE(raw.starts_with("HTTP/1.1 403 ")) << raw;
  EXPECT_NE(raw.find("not intercepted"), std::string::npos) << raw;
  EXPECT_EQ(bystander.accepted_connections(), 0u) << "replay opened a connection";

  // Plain absolute-form requests to such a host are refused the same way.
  CurlResult plain = Curl(rep.url(), "http://localhost:" + port + "/v1/models", {});
  EXPECT_EQ(plain.code, 0) << plain.err;
  EXPECT_TRUE(plain.headers.starts_with("HTTP/1.1 403")) << plain.headers;
  EXPECT_EQ(bystander.accepted_connections(), 0u) << "replay opened a connection";
}

TEST_F(ForwardProxyTest, ConnectToAnOddPortIsRefusedAndConnectNeedsTheFlag) {
  std::unique_ptr<TapedeckProcess> rec = Start("record");
  ASSERT_TRUE(rec->started());
  TestClient smtp(rec->port());
  ASSERT_TRUE(smtp.Connect());
  ASSERT_TRUE(smtp.Send("CONNECT localhost:25 HTTP/1.1\r\nHost: localhost:25\r\n\r\n"));
  ClientResponse refused;
  ASSERT_TRUE(smtp.ReadResponse(&refused));
  EXPECT_EQ(refused.status, 403);
  EXPECT_NE(refused.body.find("only ports 443 and 80"), std::string::npos) << refused.body;
  Stop(rec.get());

  TapedeckProcess plain(
      {"replay", "--cassette", Sample("hello-anthropic.jsonl"), "--listen", "127.0.0.1:0"});
  ASSERT_TRUE(plain.WaitListening());
  TestClient client(plain.port());
  ASSERT_TRUE(client.Connect());
  ASSERT_TRUE(
      client.Send("CONNECT api.anthropic.com:443 HTTP/1.1\r\nHost: api.anthropic.com:443\r\n\r\n"));
  ClientResponse not_implemented;
  ASSERT_TRUE(client.ReadResponse(&not_implemented));
  EXPECT_EQ(not_implemented.status, 501);
  EXPECT_NE(not_implemented.body.find("--forward-proxy"), std::string::npos)
      << not_implemented.body;
}

// ---------------------------------------------------------------------------------------------
// Hostile clients, and the minted leaf.

TEST_F(ForwardProxyTest, HostileClientsAreClosedAndLoggedAndTheNextOneIsServed) {
  std::unique_ptr<TapedeckProcess> rep = Start("replay", {}, Sample("hello-anthropic.jsonl"));
  ASSERT_TRUE(rep->started());
  const std::string failed = "TLS handshake for api.anthropic.com failed";

  {  // Garbage instead of a ClientHello.
    TestClient garbage(rep->port());
    ASSERT_TRUE(garbage.Connect());
    ASSERT_TRUE(garbage.Send(
        "CONNECT api.anthropic.com:443 HTTP/1.1\r\nHost: api.anthropic.com:443\r\n\r\n"));
    ClientResponse head;
    ASSERT_TRUE(garbage.ReadHead(&head));
    EXPECT_EQ(head.status, 200);
    ASSERT_TRUE(garbage.Send("GET / HTTP/1.1\r\nHost: api.anthropic.com\r\n\r\n"));
    std::string raw;
    ASSERT_TRUE(garbage.ReadUntilClosed(&raw)) << "the connection must be closed";
    EXPECT_EQ(raw.find("HTTP/1.1"), std::string::npos) << "no HTTP answer over a failed handshake";
    ASSERT_TRUE(rep->WaitForStderr(failed));
  }
  {  // Hang up right after the 200.
    TestClient quitter(rep->port());
    ASSERT_TRUE(quitter.Connect());
    ASSERT_TRUE(quitter.Send(
        "CONNECT api.anthropic.com:443 HTTP/1.1\r\nHost: api.anthropic.com:443\r\n\r\n"));
    ClientResponse head;
    ASSERT_TRUE(quitter.ReadHead(&head));
    EXPECT_EQ(head.status, 200);
    quitter.Close();
    ASSERT_TRUE(rep->WaitForStderr(failed + ": the client hung up"));
  }
  {  // A ClientHello naming another host inside a CONNECT to api.anthropic.com.
    ProxiedTlsClient evil;
    ASSERT_TRUE(evil.Connect(rep->port(), "api.anthropic.com:443"));
    EXPECT_TRUE(evil.connect_head().starts_with("HTTP/1.1 200 ")) << evil.connect_head();
    // The handshake may complete (the leaf is api.anthropic.com's), but nothing is answered.
    if (evil.Handshake("evil.example", TapedeckCa(), "")) {
      EXPECT_EQ(evil.ExchangeUntilClosed("GET /v1/models HTTP/1.1\r\nHost: evil.example\r\n\r\n"),
                "");
    }
    ASSERT_TRUE(
        rep->WaitForStderr("TLS names \"evil.example\" inside a CONNECT to "
                           "api.anthropic.com"));
  }

  // tapedeck is still there, and a well-behaved client gets its answer.
  ProxiedTlsClient good;
  ASSERT_TRUE(good.Connect(rep->port(), "api.anthropic.com:443"));
  ASSERT_TRUE(good.Handshake("api.anthropic.com", TapedeckCa(), "api.anthropic.com"));
  // The sample cassette was recorded in base-URL mode: a miss here, in the provider's shape.
  const std::string answer = good.ExchangeUntilClosed(
      "GET /v1/models HTTP/1.1\r\nHost: api.anthropic.com\r\nConnection: close\r\n\r\n");
  EXPECT_TRUE(answer.starts_with("HTTP/1.1 404 ")) << answer << rep->stderr_text();
  EXPECT_NE(answer.find("not_found_error"), std::string::npos) << answer;
  Stop(rep.get());
}

TEST_F(ForwardProxyTest, TheMintedLeafIsSignedByTheLocalCaForTheConnectHostOnly) {
  std::unique_ptr<TapedeckProcess> rep = Start("replay", {}, Sample("hello-anthropic.jsonl"));
  ASSERT_TRUE(rep->started());
  for (const std::string host : {"api.anthropic.com", "api.openai.com"}) {
    SCOPED_TRACE(host);
    ProxiedTlsClient client;
    ASSERT_TRUE(client.Connect(rep->port(), host + ":443"));
    EXPECT_TRUE(client.connect_head().starts_with("HTTP/1.1 200 Connection established\r\n"))
        << client.connect_head();
    // SSL_VERIFY_PEER against the tapedeck CA and SSL_set1_host: the chain and the name.
    ASSERT_TRUE(client.Handshake(host, TapedeckCa(), host));
    EXPECT_EQ(SSL_get_verify_result(client.ssl()), X509_V_OK);
    std::unique_ptr<X509, X509Free> leaf(SSL_get1_peer_certificate(client.ssl()));
    ASSERT_NE(leaf, nullptr);
    EXPECT_EQ(DnsSans(leaf.get()), std::vector<std::string>{host});
    const std::string other = host == "api.openai.com" ? "api.anthropic.com" : "api.openai.com";
    EXPECT_NE(X509_check_host(leaf.get(), other.c_str(), other.size(), 0, nullptr), 1)
        << "the leaf is good for " << host << " alone";
    EXPECT_EQ(X509_check_ca(leaf.get()), 0) << "the leaf is no CA";
  }
  // The test CA does not vouch for it: the leaf is tapedeck's, not an upstream's.
  ProxiedTlsClient stranger;
  ASSERT_TRUE(stranger.Connect(rep->port(), "api.anthropic.com:443"));
  EXPECT_FALSE(stranger.Handshake("api.anthropic.com", TestCa(), "api.anthropic.com"));
  Stop(rep.get());
}

// ---------------------------------------------------------------------------------------------
// exec's variables and the CA commands.

TEST_F(ForwardProxyTest, ExecSetsEveryProxyAndCaVariableAndNoBaseUrl) {
  // Base URLs in tapedeck's own environment would be passed on: none here.
  ::unsetenv("ANTHROPIC_BASE_URL");
  ::unsetenv("OPENAI_BASE_URL");
  ASSERT_FALSE(std::filesystem::exists(CaDir()));
  const std::string env_file = dir_.Path("child-env");
  // The parent's own proxy settings must be replaced, not kept.
  TapedeckProcess exec(
      {"exec", "--forward-proxy", "--mode", "replay", "--cassette", Sample("hello-anthropic.jsonl"),
       "--ca-dir", CaDir(), "--", "sh", "-c", "env > \"$0\"", env_file},
      {"HTTPS_PROXY=http://parent.invalid:1", "no_proxy=parent.invalid"});
  int code = -1;
  ASSERT_TRUE(exec.WaitExit(&code));
  ASSERT_EQ(code, 0) << exec.stderr_text();

  std::map<std::string, std::string> env;
  std::istringstream lines(ReadFile(env_file));
  std::string line;
  while (std::getline(lines, line)) {
    const size_t eq = line.find('=');
    if (eq != std::string::npos) env[line.substr(0, eq)] = line.substr(eq + 1);
  }
  ASSERT_FALSE(env.empty()) << exec.stderr_text();
  const std::string proxy = env["HTTPS_PROXY"];
  EXPECT_TRUE(proxy.starts_with("http://127.0.0.1:")) << proxy;
  const std::string marker = "tapedeck listening on ";
  const size_t at = exec.stderr_text().find(marker);
  ASSERT_NE(at, std::string::npos) << exec.stderr_text();
  EXPECT_EQ(exec.stderr_text().substr(at + marker.size(), proxy.size()), proxy)
      << "the proxy variables name tapedeck's listener";
  for (const char* name : {"https_proxy", "HTTP_PROXY", "http_proxy"}) {
    EXPECT_EQ(env[name], proxy) << name;
  }
  for (const char* name : {"NO_PROXY", "no_proxy"}) {
    EXPECT_EQ(env[name], "localhost,127.0.0.1,::1") << name;
  }
  EXPECT_EQ(env["NODE_USE_ENV_PROXY"], "1");
  EXPECT_EQ(env["NODE_EXTRA_CA_CERTS"], TapedeckCa());
  for (const char* name : {"SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"}) {
    EXPECT_EQ(env[name], CaDir() + "/tapedeck-ca-bundle.pem") << name;
  }
  EXPECT_EQ(env.count("ANTHROPIC_BASE_URL"), 0u) << env["ANTHROPIC_BASE_URL"];
  EXPECT_EQ(env.count("OPENAI_BASE_URL"), 0u) << env["OPENAI_BASE_URL"];

  // The CA was made on first use; the bundle ends with it.
  const std::string ca = ReadFile(TapedeckCa());
  ASSERT_TRUE(ca.starts_with("-----BEGIN CERTIFICATE-----")) << ca;
  EXPECT_TRUE(ReadFile(CaDir() + "/tapedeck-ca-bundle.pem").ends_with(ca));
  struct stat key {};
  ASSERT_EQ(::stat((CaDir() + "/tapedeck-ca.key").c_str(), &key), 0);
  EXPECT_EQ(key.st_mode & 0777, 0600u);
  EXPECT_NE(exec.stderr_text().find("created tapedeck's local CA in " + CaDir()), std::string::npos)
      << exec.stderr_text();
}

TEST_F(ForwardProxyTest, CaInitRefusesToOverwriteAndCaPathPrintsTheCertificate) {
  CommandResult none = RunCommand({TapedeckBinary(), "ca", "path", "--ca-dir", CaDir()});
  EXPECT_NE(none.code, 0);
  EXPECT_NE(none.err.find("tapedeck ca init"), std::string::npos) << none.err;

  CommandResult first = RunCommand({TapedeckBinary(), "ca", "init", "--ca-dir", CaDir()});
  ASSERT_EQ(first.code, 0) << first.err;
  EXPECT_NE(first.out.find("NODE_EXTRA_CA_CERTS=" + TapedeckCa()), std::string::npos) << first.out;
  const std::string key_path = CaDir() + "/tapedeck-ca.key";
  struct stat key {};
  ASSERT_EQ(::stat(key_path.c_str(), &key), 0);
  EXPECT_EQ(key.st_mode & 0777, 0600u);
  const std::string cert = ReadFile(TapedeckCa());
  const std::string key_bytes = ReadFile(key_path);
  ASSERT_FALSE(cert.empty());
  ASSERT_FALSE(key_bytes.empty());
  EXPECT_EQ(first.out.find(key_bytes), std::string::npos) << "the key never leaves its file";

  CommandResult second = RunCommand({TapedeckBinary(), "ca", "init", "--ca-dir", CaDir()});
  EXPECT_NE(second.code, 0);
  EXPECT_NE(second.err.find(CaDir()), std::string::npos) << second.err;
  EXPECT_EQ(ReadFile(TapedeckCa()), cert);
  EXPECT_EQ(ReadFile(key_path), key_bytes);

  CommandResult path = RunCommand({TapedeckBinary(), "ca", "path", "--ca-dir", CaDir()});
  EXPECT_EQ(path.code, 0) << path.err;
  EXPECT_EQ(path.out, TapedeckCa() + "\n");
}

TEST_F(ForwardProxyTest, ACaKeyOthersMayReadStopsTheStartBeforeItListens) {
  // The CA is checked when the start makes sure it exists, as the README's exit codes say: a
  // CA problem is exit 3 with the file and the fix, not a failure to listen (exit 5).
  ASSERT_EQ(RunCommand({TapedeckBinary(), "ca", "init", "--ca-dir", CaDir()}).code, 0);
  const std::string key_path = CaDir() + "/tapedeck-ca.key";
  ASSERT_EQ(::chmod(key_path.c_str(), 0644), 0);
  // Killed after 5 s if it were to listen and serve.
  CommandResult run = RunCommand({TapedeckBinary(), "record", "--forward-proxy", "--ca-dir",
                                  CaDir(), "--cassette", CassettePath(), "--listen", "127.0.0.1:0"},
                                 CleanEnvironment(), 5s);
  EXPECT_EQ(run.code, 3) << run.err;
  EXPECT_NE(run.err.find(key_path), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("chmod"), std::string::npos) << run.err;
  EXPECT_EQ(run.err.find("listening"), std::string::npos) << run.err;
  EXPECT_FALSE(std::filesystem::exists(CassettePath()));
}

}  // namespace
}  // namespace td::testing
