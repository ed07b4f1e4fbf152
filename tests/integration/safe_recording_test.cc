// Recordings are never lost: the tapedeck binary against an existing cassette whose bytes must
// survive every failure (a refused start, a port in use, a client that sends nothing, kill -9
// mid-recording, a full disk), one writer per cassette, auto mode that refreshes a cassette
// (--strict, --prune), and the exit codes that say which failure it was.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "cassette/cassette_lock.h"
#include "cassette/codec.h"
#include "cassette/record_target.h"
#include "tests/integration/tapedeck_process.h"
#include "tests/support/fake_upstream.h"
#include "tests/support/fixtures.h"
#include "tests/support/interaction_builder.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_client.h"

namespace td::testing {
namespace {

namespace fs = std::filesystem;

// Interactions whose requests are {"turn":N} and whose answers say "answer N".
cassette::Cassette Turns(int n) {
  cassette::Cassette c;
  c.created_at_us = InteractionBuilder::kDefaultRecordedAt;
  for (int i = 0; i < n; ++i) {
    c.interactions.push_back(InteractionBuilder()
                                 .Seq(static_cast<std::uint64_t>(i))
                                 .RequestHeader("content-type", "application/json")
                                 .RequestBody("{\"turn\":" + std::to_string(i) + "}")
                                 .ResponseHeader("content-type", "application/json")
                                 .ResponseBody("{\"answer\":" + std::to_string(i) + "}")
                                 .Build());
  }
  return c;
}

ClientResponse Post(uint16_t port, const std::string& body) {
  TestClient client(port);
  EXPECT_TRUE(client.Connect());
  EXPECT_TRUE(client.Send(TestClient::BuildRequest("POST", "/v1/messages",
                                                   {{"content-type", "application/json"}}, body)));
  ClientResponse r;
  EXPECT_TRUE(client.ReadResponse(&r));
  return r;
}

// A port something already listens on, for the port-in-use case.
class BusyPort {
 public:
  BusyPort() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), len), 0);
    EXPECT_EQ(::listen(fd_, 1), 0);
    EXPECT_EQ(::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len), 0);
    port_ = ntohs(addr.sin_port);
  }
  ~BusyPort() { ::close(fd_); }
  uint16_t port() const { return port_; }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

// A loopback port nothing listens on (bound, then released).
uint16_t ClosedPort() {
  BusyPort taken;
  return taken.port();
}

class SafeRecordingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.Path("session.jsonl.zst");
    cassette::WriteOptions options;
    ASSERT_TRUE(cassette::WriteCassetteAtomic(path_, Turns(5), options).ok());
    before_ = ReadFile(path_);
    ASSERT_FALSE(before_.empty());
  }

  // The cassette is exactly what SetUp wrote, and no run left a staging or lock file.
  void ExpectUntouched() {
    EXPECT_EQ(ReadFile(path_), before_) << "the existing cassette changed";
    EXPECT_FALSE(fs::exists(cassette::StagingPath(path_)));
    EXPECT_FALSE(fs::exists(cassette::CassetteLock::LockPath(path_)));
  }

  size_t Count(const std::string& path) {
    Result<cassette::Cassette> c = cassette::ReadCassette(path);
    EXPECT_TRUE(c.ok()) << c.status().message();
    return c.ok() ? c->interactions.size() : 0;
  }

  std::vector<std::string> Record(const FakeUpstream& upstream, std::vector<std::string> more) {
    std::vector<std::string> args = {"record", "--upstream", upstream.url(), "--cassette",
                                     path_,    "--listen",   "127.0.0.1:0"};
    args.insert(args.end(), more.begin(), more.end());
    return args;
  }

  ScopedTempDir dir_;
  std::string path_;
  std::string before_;
};

TEST_F(SafeRecordingTest, RecordRefusesACassetteThatHoldsInteractions) {
  FakeUpstream upstream;
  TapedeckProcess rec(Record(upstream, {}));
  int code = -1;
  ASSERT_TRUE(rec.WaitExit(&code));
  EXPECT_EQ(code, 2);
  EXPECT_NE(rec.stderr_text().find("holds 5 interactions"), std::string::npos) << rec.stderr_text();
  EXPECT_NE(rec.stderr_text().find("--overwrite"), std::string::npos);
  EXPECT_NE(rec.stderr_text().find("--append"), std::string::npos);
  EXPECT_EQ(rec.stderr_text().find("listening"), std::string::npos);
  EXPECT_TRUE(upstream.requests().empty());
  ExpectUntouched();
}

TEST_F(SafeRecordingTest, APortInUseExitsFiveAndLeavesTheCassetteAlone) {
  FakeUpstream upstream;
  BusyPort busy;
  const std::string listen = "127.0.0.1:" + std::to_string(busy.port());
  TapedeckProcess rec({"record", "--upstream", upstream.url(), "--cassette", path_, "--overwrite",
                       "--listen", listen});
  int code = -1;
  ASSERT_TRUE(rec.WaitExit(&code));
  EXPECT_EQ(code, 5) << rec.stderr_text();
  EXPECT_NE(rec.stderr_text().find(listen), std::string::npos) << rec.stderr_text();
  EXPECT_NE(rec.stderr_text().find("--listen 127.0.0.1:0"), std::string::npos);
  ExpectUntouched();

  // A new cassette is not even created.
  const std::string fresh = dir_.Path("fresh.jsonl.zst");
  TapedeckProcess again(
      {"record", "--upstream", upstream.url(), "--cassette", fresh, "--listen", listen});
  ASSERT_TRUE(again.WaitExit(&code));
  EXPECT_EQ(code, 5);
  EXPECT_FALSE(fs::exists(fresh));
}

TEST_F(SafeRecordingTest, ARunWhoseClientSendsNothingLeavesTheCassetteAlone) {
  FakeUpstream upstream;
  TapedeckProcess rec(Record(upstream, {"--overwrite"}));
  ASSERT_TRUE(rec.WaitListening());
  EXPECT_TRUE(fs::exists(cassette::StagingPath(path_))) << "the run writes beside the cassette";
  rec.Signal(SIGTERM);
  int code = -1;
  ASSERT_TRUE(rec.WaitExit(&code));
  EXPECT_EQ(code, 0) << rec.stderr_text();
  ExpectUntouched();
}

TEST_F(SafeRecordingTest, OverwriteReplacesTheCassetteOnACleanClose) {
  FakeUpstream upstream;
  upstream.SetDefault(FakeResponse::Json(R"({"fresh":true})"));
  TapedeckProcess rec(Record(upstream, {"--overwrite"}));
  ASSERT_TRUE(rec.WaitListening());
  EXPECT_EQ(Post(rec.port(), R"({"turn":7})").status, 200);
  EXPECT_EQ(Post(rec.port(), R"({"turn":8})").status, 200);
  EXPECT_EQ(ReadFile(path_), before_) << "replaced only at the end";
  rec.Signal(SIGTERM);
  int code = -1;
  ASSERT_TRUE(rec.WaitExit(&code));
  EXPECT_EQ(code, 0) << rec.stderr_text();
  Result<cassette::Cassette> c = cassette::ReadCassette(path_);
  ASSERT_TRUE(c.ok()) << c.status().message();
  ASSERT_EQ(c->interactions.size(), 2u);
  EXPECT_EQ(c->interactions[1].request.body.bytes, R"({"turn":8})");
  EXPECT_FALSE(fs::exists(cassette::StagingPath(path_)));
  EXPECT_FALSE(fs::exists(cassette::CassetteLock::LockPath(path_)));
}

TEST_F(SafeRecordingTest, KillNineMidOverwriteKeepsTheCassetteAndEveryCompletedInteraction) {
  FakeUpstream upstream;
  for (int i = 0; i < 3; ++i) upstream.Respond(FakeResponse::Json(R"({"done":true})"));
  for (int i = 0; i < 20; ++i) {
    upstream.Respond(FakeResponse::Sse({"event: a\ndata: 1\n\n", "event: b\ndata: 2\n\n"},
                                       /*hold=*/true));
  }
  TapedeckProcess rec(Record(upstream, {"--overwrite", "--log-level", "debug"}));
  ASSERT_TRUE(rec.WaitListening());
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(Post(rec.port(), "{\"turn\":" + std::to_string(10 + i) + "}").status, 200);
  }
  ASSERT_TRUE(rec.WaitForStderr("recorded seq=3"));  // logged once the Append returned
  std::vector<std::unique_ptr<TestClient>> streams;
  for (int i = 0; i < 20; ++i) {
    streams.push_back(std::make_unique<TestClient>(rec.port()));
    ASSERT_TRUE(streams.back()->Connect());
    ASSERT_TRUE(streams.back()->Send(
        TestClient::BuildRequest("POST", "/v1/messages", {}, R"({"stream":true})")));
  }
  ASSERT_TRUE(upstream.WaitForRequests(23));  // 20 streams in flight
  for (int i = 3; i < 23; ++i) upstream.Release(static_cast<uint64_t>(i), 1);
  ClientResponse head;
  ASSERT_TRUE(streams.back()->ReadHead(&head));
  rec.Signal(SIGKILL);
  int code = -1;
  ASSERT_TRUE(rec.WaitExit(&code));
  EXPECT_EQ(code, 128 + SIGKILL);

  EXPECT_EQ(ReadFile(path_), before_) << "kill -9 must not touch the old cassette";
  const std::string staging = cassette::StagingPath(path_);
  Result<cassette::Cassette> kept = cassette::ReadCassette(staging);
  ASSERT_TRUE(kept.ok()) << kept.status().message();
  ASSERT_EQ(kept->interactions.size(), 3u) << "every completed interaction, no more";
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(kept->interactions[static_cast<size_t>(i)].request.body.bytes,
              "{\"turn\":" + std::to_string(10 + i) + "}");
  }

  // The next start says the recording is there and how to keep it, and never records over it.
  TapedeckProcess next(Record(upstream, {"--overwrite"}));
  ASSERT_TRUE(next.WaitExit(&code));
  EXPECT_EQ(code, 2);
  EXPECT_NE(next.stderr_text().find("tapedeck cassette ls " + staging), std::string::npos)
      << next.stderr_text();
  EXPECT_NE(next.stderr_text().find("mv " + staging + " " + path_), std::string::npos);
  EXPECT_EQ(Count(staging), 3u);
  TapedeckProcess replay({"replay", "--cassette", path_, "--listen", "127.0.0.1:0"});
  ASSERT_TRUE(replay.WaitListening());
  EXPECT_NE(replay.stderr_text().find(staging + " holds 3 interactions"), std::string::npos)
      << replay.stderr_text();
}

TEST_F(SafeRecordingTest, ASecondWriterIsRefusedNamingThePidAndTheFirstKeepsRecording) {
  FakeUpstream upstream;
  upstream.SetDefault(FakeResponse::Json(R"({"ok":true})"));
  const std::string fresh = dir_.Path("shared.jsonl.zst");
  TapedeckProcess first({"record", "--upstream", upstream.url(), "--cassette", fresh, "--listen",
                         "127.0.0.1:0", "--log-level", "debug"});
  ASSERT_TRUE(first.WaitListening());
  TapedeckProcess second(
      {"record", "--upstream", upstream.url(), "--cassette", fresh, "--listen", "127.0.0.1:0"});
  int code = -1;
  ASSERT_TRUE(second.WaitExit(&code));
  EXPECT_EQ(code, 3);
  EXPECT_NE(second.stderr_text().find("pid " + std::to_string(first.pid())), std::string::npos)
      << second.stderr_text();
  EXPECT_NE(second.stderr_text().find(fresh), std::string::npos);
  // auto and exec write too, so they are refused the same way.
  TapedeckProcess third(
      {"auto", "--upstream", upstream.url(), "--cassette", fresh, "--listen", "127.0.0.1:0"});
  ASSERT_TRUE(third.WaitExit(&code));
  EXPECT_EQ(code, 3);

  EXPECT_EQ(Post(first.port(), R"({"turn":1})").status, 200);
  ASSERT_TRUE(first.WaitForStderr("recorded seq=1"));
  // Readers neither wait nor fail on the unfinished end of a cassette being recorded.
  TapedeckProcess verify({"cassette", "verify", fresh});
  ASSERT_TRUE(verify.WaitExit(&code));
  EXPECT_EQ(code, 0) << verify.stderr_text();
  TapedeckProcess ls({"cassette", "ls", fresh});
  ASSERT_TRUE(ls.WaitExit(&code));
  EXPECT_EQ(code, 0) << ls.stderr_text();
  first.Signal(SIGTERM);
  ASSERT_TRUE(first.WaitExit(&code));
  EXPECT_EQ(code, 0) << first.stderr_text();
  EXPECT_EQ(Count(fresh), 1u);
}

TEST_F(SafeRecordingTest, AutoStrictPruneKeepsExactlyTheInteractionsUsed) {
  FakeUpstream upstream;
  upstream.SetDefault(FakeResponse::Json(R"({"fresh":true})"));
  // The app asks for turn 0 (recorded) and turn 9 (new), and checks both answers.
  const std::string script =
      "ask() { exec 3<>/dev/tcp/127.0.0.1/${ANTHROPIC_BASE_URL##*:} || exit 9; "
      "printf 'POST /v1/messages HTTP/1.0\\r\\nContent-Type: application/json\\r\\n"
      "Content-Length: %d\\r\\n\\r\\n%s' \"${#1}\" \"$1\" >&3; grep -q \"$2\" <&3; }; "
      "ask '{\"turn\":0}' '\"answer\":0' && ask '{\"turn\":9}' '\"fresh\":true'";
  // An unset key gets the placeholder in auto mode too (the SDKs refuse to start without one).
  TapedeckProcess exec(
      {"exec", "--mode", "auto", "--strict", "--prune", "--upstream", upstream.url(), "--cassette",
       path_, "--", "bash", "-c",
       "test \"$ANTHROPIC_API_KEY\" = tapedeck-placeholder-key || exit 8; " + script},
      {"ANTHROPIC_API_KEY="});
  int code = -1;
  ASSERT_TRUE(exec.WaitExit(&code));
  EXPECT_EQ(code, 0) << exec.stderr_text();
  EXPECT_NE(exec.stderr_text().find("mode=auto result=recorded"), std::string::npos)
      << exec.stderr_text();
  EXPECT_EQ(exec.stderr_text().find("result=miss"), std::string::npos) << exec.stderr_text();
  ASSERT_TRUE(upstream.WaitForRequests(1));
  EXPECT_EQ(upstream.requests().size(), 1u) << "only the new turn went upstream";

  Result<cassette::Cassette> c = cassette::ReadCassette(path_);
  ASSERT_TRUE(c.ok()) << c.status().message();
  ASSERT_EQ(c->interactions.size(), 2u) << exec.stderr_text();
  EXPECT_EQ(c->interactions[0].request.body.bytes, R"({"turn":0})");
  EXPECT_EQ(c->interactions[1].request.body.bytes, R"({"turn":9})");

  // Without --prune the unused interaction fails --strict, and the cassette keeps it.
  TapedeckProcess strict({"exec", "--mode", "auto", "--strict", "--upstream", upstream.url(),
                          "--cassette", path_, "--", "bash", "-c",
                          script.substr(0, script.find(" && ask"))});
  ASSERT_TRUE(strict.WaitExit(&code));
  EXPECT_EQ(code, 1) << strict.stderr_text();
  EXPECT_NE(strict.stderr_text().find("never used: #1"), std::string::npos) << strict.stderr_text();
  EXPECT_EQ(Count(path_), 2u);
}

TEST_F(SafeRecordingTest, AnUnreachableUpstreamExitsFourBeforeListening) {
  const std::string url = "http://127.0.0.1:" + std::to_string(ClosedPort());
  const std::string fresh = dir_.Path("fresh.jsonl.zst");
  TapedeckProcess rec(
      {"record", "--upstream", url, "--cassette", fresh, "--listen", "127.0.0.1:0"});
  int code = -1;
  ASSERT_TRUE(rec.WaitExit(&code));
  EXPECT_EQ(code, 4) << rec.stderr_text();
  EXPECT_NE(rec.stderr_text().find("unreachable"), std::string::npos) << rec.stderr_text();
  EXPECT_NE(rec.stderr_text().find("--no-upstream-check"), std::string::npos);
  EXPECT_EQ(rec.stderr_text().find("listening"), std::string::npos);
  EXPECT_FALSE(fs::exists(fresh));

  TapedeckProcess passthrough({"passthrough", "--upstream", url, "--listen", "127.0.0.1:0"});
  ASSERT_TRUE(passthrough.WaitExit(&code));
  EXPECT_EQ(code, 4);

  TapedeckProcess unchecked({"record", "--upstream", url, "--cassette", fresh, "--listen",
                             "127.0.0.1:0", "--no-upstream-check"});
  ASSERT_TRUE(unchecked.WaitListening());
  unchecked.Signal(SIGTERM);
  ASSERT_TRUE(unchecked.WaitExit(&code));
  EXPECT_EQ(code, 0);
  EXPECT_FALSE(fs::exists(fresh)) << "a run that recorded nothing leaves no empty cassette";
}

TEST_F(SafeRecordingTest, AnUntrustedTlsUpstreamExitsFour) {
  const std::string certs = TD_TEST_CERTS_DIR;
  if (!fs::exists(certs + "/ca.pem")) GTEST_SKIP() << "no test certificates in " << certs;
  FakeUpstream::Options tls;
  tls.cert_file = certs + "/server.pem";
  tls.key_file = certs + "/server.key";
  FakeUpstream upstream(tls);
  const std::string fresh = dir_.Path("tls.jsonl.zst");
  TapedeckProcess untrusted(
      {"record", "--upstream", upstream.url(), "--cassette", fresh, "--listen", "127.0.0.1:0"});
  int code = -1;
  ASSERT_TRUE(untrusted.WaitExit(&code));
  EXPECT_EQ(code, 4) << untrusted.stderr_text();
  EXPECT_NE(untrusted.stderr_text().find("certificate"), std::string::npos)
      << untrusted.stderr_text();

  TapedeckProcess trusted({"record", "--upstream", upstream.url(), "--cassette", fresh, "--listen",
                           "127.0.0.1:0", "--upstream-ca", certs + "/ca.pem"});
  ASSERT_TRUE(trusted.WaitListening());
  trusted.Signal(SIGTERM);
  ASSERT_TRUE(trusted.WaitExit(&code));
  EXPECT_EQ(code, 0) << trusted.stderr_text();
}

TEST_F(SafeRecordingTest, ExecOfAMissingCommandExits127) {
  TapedeckProcess exec({"exec", "--cassette", path_, "--", "/no/such/cmd"});
  int code = -1;
  ASSERT_TRUE(exec.WaitExit(&code));
  EXPECT_EQ(code, 127);
  EXPECT_NE(exec.stderr_text().find("cannot start \"/no/such/cmd\""), std::string::npos)
      << exec.stderr_text();
  FakeUpstream upstream;
  TapedeckProcess record({"exec", "--mode", "record", "--overwrite", "--upstream", upstream.url(),
                          "--cassette", path_, "--", "/no/such/cmd"});
  ASSERT_TRUE(record.WaitExit(&code));
  EXPECT_EQ(code, 127);
  ExpectUntouched();
}

TEST_F(SafeRecordingTest, ADiskFullMidRecordingIsLoudAndLosesNothingAlreadyOnDisk) {
  FakeUpstream upstream;
  // Answers zstd cannot shrink (each different), so the second interaction does not fit
  // under the file limit.
  auto noise = [](std::uint32_t seed) {
    std::string out;
    for (int i = 0; i < 6000; ++i) {
      seed = seed * 1664525u + 1013904223u;
      out += static_cast<char>('a' + (seed >> 24) % 26);
    }
    return out;
  };
  upstream.SetResponder([&](const CapturedRequest& r) {
    return FakeResponse::Json("{\"noise\":\"" + noise(static_cast<std::uint32_t>(r.index)) + "\"}");
  });
  TapedeckProcess rec(Record(upstream, {"--overwrite", "--log-level", "debug"}));
  ASSERT_TRUE(rec.WaitListening());
  // The header is written; every file tapedeck writes may now grow to 6000 bytes at most: one
  // answer (about 3.6 KB compressed) fits, the second does not.
  rlimit limit{6000, 6000};
  ASSERT_EQ(::prlimit(rec.pid(), RLIMIT_FSIZE, &limit, nullptr), 0);
  for (int i = 0; i < 3; ++i) {
    ClientResponse r = Post(rec.port(), "{\"turn\":" + std::to_string(20 + i) + "}");
    EXPECT_EQ(r.status, 200) << "the client is served whatever the disk does";
    EXPECT_EQ(r.body.size(), 6000u + 12);
  }
  ASSERT_TRUE(rec.WaitForStderr("seq=3 not saved"));
  rec.Signal(SIGTERM);
  int code = -1;
  ASSERT_TRUE(rec.WaitExit(&code));
  EXPECT_EQ(code, 3) << rec.stderr_text();
  const std::string& err = rec.stderr_text();
  EXPECT_NE(err.find("2 interactions were not saved"), std::string::npos) << err;
  EXPECT_NE(err.find("File too large"), std::string::npos) << "the errno, named" << err;
  const size_t first = err.find("CASSETTE WRITE FAILED");
  ASSERT_NE(first, std::string::npos) << err;
  EXPECT_EQ(err.find("CASSETTE WRITE FAILED", first + 1), std::string::npos) << "logged once";
  EXPECT_EQ(ReadFile(path_), before_) << "the old cassette is not replaced by a broken run";
  EXPECT_EQ(Count(cassette::StagingPath(path_)), 1u) << "what was saved before the error stays";
}

}  // namespace
}  // namespace td::testing
