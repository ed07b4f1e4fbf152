// The tapedeck binary end to end: record through `tapedeck record` against a fake upstream,
// stop it, replay with `tapedeck replay`, and compare bytes; signals, exit codes, exec.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <fstream>
#include <sstream>

#include "cassette/codec.h"
#include "tests/integration/tapedeck_process.h"
#include "tests/support/fake_upstream.h"
#include "tests/support/fixtures.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_client.h"

namespace td::testing {
namespace {

using namespace std::chrono_literals;

// A real recorded SSE stream when the shared fixtures are there, cut into pieces at awkward
// places (chunks are not events); a synthetic one otherwise.
std::vector<std::string> StreamPieces() {
  std::string sse = testing::ReadFile(testing::SseFixtureDir() / "ts-sdk.tool_use_response.sse");
  if (sse.empty()) {
    for (int i = 0; i < 20; ++i) {
      sse += "event: content_block_delta\r\ndata: {\"i\":" + std::to_string(i) + "}\r\n\r\n";
    }
    sse += ": ping\n\n";
  }
  std::vector<std::string> pieces;
  for (size_t at = 0; at < sse.size(); at += 37) pieces.push_back(sse.substr(at, 37));
  return pieces;
}

std::string Join(const std::vector<std::string>& pieces) {
  std::string s;
  for (const auto& p : pieces) s += p;
  return s;
}

// A fake key assembled at run time so that the source holds nothing key-shaped.
std::string FakeKey() { return "sk-" + std::string("ant-api03-") + std::string(40, 'K'); }

ClientResponse Request(uint16_t port, std::string_view method, std::string_view target,
                       std::string_view body, cassette::Headers headers = {}) {
  TestClient client(port);
  EXPECT_TRUE(client.Connect());
  headers.emplace_back("x-api-key", FakeKey());
  headers.emplace_back("anthropic-version", "2023-06-01");
  headers.emplace_back("content-type", "application/json");
  EXPECT_TRUE(client.Send(TestClient::BuildRequest(method, target, headers, body)));
  ClientResponse r;
  EXPECT_TRUE(client.ReadResponse(&r));
  return r;
}

// Each test writes its cassettes into a folder of its own, removed afterwards.
class CliIntegrationTest : public ::testing::Test {
 protected:
  std::string TempPath(const std::string& name) const { return dir_.Path(name); }

 private:
  ScopedTempDir dir_;
};

TEST_F(CliIntegrationTest, RecordThenReplayServesByteIdenticalResponses) {
  std::string cassette_path = TempPath("roundtrip.jsonl.zst");
  std::vector<std::string> pieces = StreamPieces();
  ClientResponse recorded_stream, recorded_json;
  {
    FakeUpstream upstream;
    FakeResponse sse = FakeResponse::Sse(pieces);
    cassette::SetHeader(&sse.headers, "request-id", "req_stream_1");
    upstream.Respond(sse);
    FakeResponse json = FakeResponse::Json(R"({"data":[{"id":"m1","type":"model"}]})");
    cassette::SetHeader(&json.headers, "request-id", "req_models_1");
    upstream.Respond(json);

    TapedeckProcess rec({"record", "--upstream", upstream.url() + "/v1", "--cassette",
                         cassette_path, "--listen", "127.0.0.1:0"});
    ASSERT_TRUE(rec.WaitListening());
    recorded_stream =
        Request(rec.port(), "POST", "/v1/messages", R"({"model":"claude-x","stream":true})");
    recorded_json = Request(rec.port(), "GET", "/v1/models?limit=2", "");
    ASSERT_TRUE(upstream.WaitForRequests(2));
    // The key reached the upstream; the path prefix was not doubled; Host is the upstream's.
    CapturedRequest first = upstream.request(0);
    EXPECT_EQ(first.target, "/v1/messages");
    ASSERT_NE(cassette::FindHeader(first.headers, "x-api-key"), nullptr);
    EXPECT_EQ(*cassette::FindHeader(first.headers, "x-api-key"), FakeKey());
    ASSERT_NE(cassette::FindHeader(first.headers, "host"), nullptr);
    EXPECT_EQ(*cassette::FindHeader(first.headers, "host"),
              "127.0.0.1:" + std::to_string(upstream.port()));

    rec.Signal(SIGTERM);
    int code = -1;
    ASSERT_TRUE(rec.WaitExit(&code));
    EXPECT_EQ(code, 0) << rec.stderr_text();
  }  // the upstream is gone: replay provably cannot reach it

  EXPECT_EQ(recorded_stream.status, 200);
  EXPECT_EQ(recorded_stream.body, Join(pieces));
  std::string raw = testing::ReadFile(cassette_path);
  ASSERT_FALSE(raw.empty());
  Result<cassette::Cassette> c = cassette::ReadCassette(cassette_path);
  ASSERT_TRUE(c.ok()) << c.status().message();
  ASSERT_EQ(c->interactions.size(), 2u);
  EXPECT_EQ(cassette::SerializeCassette(*c).find(FakeKey()), std::string::npos)
      << "the key must not reach the cassette";

  TapedeckProcess rep(
      {"replay", "--cassette", cassette_path, "--listen", "127.0.0.1:0", "--timing", "instant"});
  ASSERT_TRUE(rep.WaitListening());
  // Key order and whitespace differ from the recording; JSON matches as JSON.
  ClientResponse replayed_stream =
      Request(rep.port(), "POST", "/v1/messages", R"({ "stream": true, "model": "claude-x" })");
  ClientResponse replayed_json = Request(rep.port(), "GET", "/v1/models?limit=2", "");
  EXPECT_EQ(replayed_stream.status, 200);
  EXPECT_EQ(replayed_stream.body, recorded_stream.body);
  EXPECT_EQ(replayed_json.body, recorded_json.body);
  ASSERT_NE(cassette::FindHeader(replayed_stream.headers, "request-id"), nullptr);
  EXPECT_EQ(*cassette::FindHeader(replayed_stream.headers, "request-id"), "req_stream_1");

  // A miss: non-retryable, provider-shaped, naming where it differs.
  ClientResponse miss =
      Request(rep.port(), "POST", "/v1/messages", R"({"model":"claude-y","stream":true})");
  EXPECT_EQ(miss.status, 404);
  ASSERT_NE(cassette::FindHeader(miss.headers, "x-should-retry"), nullptr);
  EXPECT_EQ(*cassette::FindHeader(miss.headers, "x-should-retry"), "false");
  EXPECT_NE(miss.body.find(R"("type":"error")"), std::string::npos) << miss.body;
  EXPECT_NE(miss.body.find("body.model"), std::string::npos) << miss.body;

  rep.Signal(SIGINT);
  int code = -1;
  ASSERT_TRUE(rep.WaitExit(&code));
  EXPECT_EQ(code, 0);
  EXPECT_NE(rep.stderr_text().find("2 hits, 1 miss"), std::string::npos) << rep.stderr_text();
}

TEST_F(CliIntegrationTest, SigtermDuringAStreamKeepsEveryCompletedInteraction) {
  std::string cassette_path = TempPath("sigterm.jsonl.zst");
  FakeUpstream upstream;
  upstream.Respond(FakeResponse::Json(R"({"ok":true})"));
  upstream.Respond(FakeResponse::Sse(
      {"event: a\ndata: 1\n\n", "event: b\ndata: 2\n\n", "event: c\ndata: 3\n\n"}, /*hold=*/true));
  TapedeckProcess rec({"record", "--upstream", upstream.url(), "--cassette", cassette_path,
                       "--listen", "127.0.0.1:0", "--grace-period", "0.3"});
  ASSERT_TRUE(rec.WaitListening());
  ClientResponse done = Request(rec.port(), "POST", "/v1/messages", R"({"n":1})");
  EXPECT_EQ(done.status, 200);

  TestClient streaming(rec.port());
  ASSERT_TRUE(streaming.Connect());
  ASSERT_TRUE(streaming.Send(TestClient::BuildRequest("POST", "/v1/messages", {}, R"({"n":2})")));
  ASSERT_TRUE(upstream.WaitForRequests(2));
  upstream.Release(1, 1);
  ClientResponse partial;
  ASSERT_TRUE(streaming.ReadHead(&partial));
  ASSERT_TRUE(streaming.ReadBodyUntil(
      &partial, [](const std::string& b) { return b == "event: a\ndata: 1\n\n"; }));

  rec.Signal(SIGTERM);  // the held stream never finishes: the grace period cuts it
  int code = -1;
  ASSERT_TRUE(rec.WaitExit(&code));
  EXPECT_EQ(code, 0) << rec.stderr_text();

  Result<cassette::Cassette> c = cassette::ReadCassette(cassette_path);
  ASSERT_TRUE(c.ok()) << c.status().message();
  ASSERT_EQ(c->interactions.size(), 2u) << rec.stderr_text();
  EXPECT_FALSE(c->interactions[0].truncated.has_value());
  EXPECT_EQ(c->interactions[0].response.body.bytes, R"({"ok":true})");
  const cassette::Interaction& cut = c->interactions[1];
  EXPECT_TRUE(cut.truncated.has_value());
  ASSERT_TRUE(cut.response.stream.has_value());
  EXPECT_EQ(cut.response.stream->Concatenated(), "event: a\ndata: 1\n\n");
}

TEST_F(CliIntegrationTest, KillNineLeavesEveryCompletedInteractionReadable) {
  std::string cassette_path = TempPath("kill9.jsonl.zst");
  FakeUpstream upstream;
  upstream.SetDefault(FakeResponse::Json(R"({"ok":true})"));
  TapedeckProcess rec({"record", "--upstream", upstream.url(), "--cassette", cassette_path,
                       "--listen", "127.0.0.1:0", "--log-level", "debug"});
  ASSERT_TRUE(rec.WaitListening());
  for (int i = 0; i < 3; ++i) {
    ClientResponse r =
        Request(rec.port(), "POST", "/v1/messages", "{\"turn\":" + std::to_string(i) + "}");
    ASSERT_EQ(r.status, 200);
  }
  // Each interaction is appended (off the loop) once its response completes; the debug line
  // follows the append.
  ASSERT_TRUE(rec.WaitForStderr("recorded seq=3"));
  rec.Signal(SIGKILL);
  int code = -1;
  ASSERT_TRUE(rec.WaitExit(&code));
  EXPECT_EQ(code, 128 + SIGKILL);

  cassette::ReadReport report;
  Result<cassette::Cassette> c = cassette::ReadCassette(cassette_path, &report);
  ASSERT_TRUE(c.ok()) << c.status().message();
  ASSERT_EQ(c->interactions.size(), 3u);
  EXPECT_EQ(c->interactions[2].request.body.bytes, R"({"turn":2})");
  // zstd itself reads it too (the frame has no end), when the tool is installed.
  if (std::system("command -v zstd >/dev/null 2>&1") == 0) {
    std::string cmd =
        "zstd -dc " + cassette_path + " 2>/dev/null | wc -l > " + TempPath("kill9.lines");
    (void)std::system(cmd.c_str());
    EXPECT_EQ(std::stoi(testing::ReadFile(TempPath("kill9.lines"))), 4);  // header + 3 interactions
  }
}

TEST_F(CliIntegrationTest, BadUpstreamUrlsExitTwoWithAClearMessage) {
  struct Case {
    std::string url;
    std::string says;
  };
  for (const Case& c :
       {Case{"localhost:8080", "missing scheme"}, Case{"https://api.anthropic.com\n", "position"},
        Case{"ftp://example.com", "http"}, Case{"https://", "host"}}) {
    TapedeckProcess p({"record", "--upstream", c.url, "--cassette", TempPath("never.zst")});
    int code = -1;
    ASSERT_TRUE(p.WaitExit(&code));
    EXPECT_EQ(code, 2) << c.url;
    EXPECT_NE(p.stderr_text().find(c.says), std::string::npos) << p.stderr_text();
    EXPECT_EQ(p.stderr_text().find("listening"), std::string::npos);
  }
}

TEST_F(CliIntegrationTest, UsageAndCassetteErrorsHaveTheirExitCodes) {
  int code = -1;
  TapedeckProcess typo({"replay", "--cassette", "x.zst", "--timing", "fast"});
  ASSERT_TRUE(typo.WaitExit(&code));
  EXPECT_EQ(code, 2);
  EXPECT_NE(typo.stderr_text().find("--timing"), std::string::npos) << typo.stderr_text();

  std::string garbage = TempPath("garbage.jsonl");
  std::ofstream(garbage) << "{\"not\":\"a cassette\"}\n";
  TapedeckProcess bad({"replay", "--cassette", garbage, "--listen", "127.0.0.1:0"});
  ASSERT_TRUE(bad.WaitExit(&code));
  EXPECT_EQ(code, 3);
  EXPECT_NE(bad.stderr_text().find(garbage), std::string::npos) << bad.stderr_text();

  TapedeckProcess missing(
      {"replay", "--cassette", TempPath("absent.zst"), "--listen", "127.0.0.1:0"});
  ASSERT_TRUE(missing.WaitExit(&code));
  EXPECT_EQ(code, 3);

  TapedeckProcess unwritable({"record", "--upstream", "http://127.0.0.1:9", "--cassette",
                              "/nonexistent-dir/t.zst", "--listen", "127.0.0.1:0"});
  ASSERT_TRUE(unwritable.WaitExit(&code));
  EXPECT_EQ(code, 3);
}

std::string Sample(const std::string& name) {
  return std::string(TD_SOURCE_DIR) + "/examples/cassettes/" + name;
}

TEST_F(CliIntegrationTest, ExecPassesTheCommandsExitStatusThrough) {
  int code = -1;
  TapedeckProcess seven(
      {"exec", "--cassette", Sample("hello-anthropic.jsonl"), "--", "sh", "-c", "exit 7"});
  ASSERT_TRUE(seven.WaitExit(&code));
  EXPECT_EQ(code, 7);

  // The child sees the base URLs and placeholder keys, and the proxy answers it.
  std::string script =
      "test -n \"$ANTHROPIC_BASE_URL\" && "
      "test \"$OPENAI_BASE_URL\" = \"$ANTHROPIC_BASE_URL/v1\" && "
      "test \"$ANTHROPIC_API_KEY\" = tapedeck-placeholder-key && "
      "test \"$OPENAI_API_KEY\" = tapedeck-placeholder-key && "
      "exec 3<>/dev/tcp/127.0.0.1/${ANTHROPIC_BASE_URL##*:} && "
      "printf 'GET /__tapedeck/health HTTP/1.0\\r\\n\\r\\n' >&3 && grep -q '\"status\":\"ok\"' <&3";
  TapedeckProcess env_check(
      {"exec", "--cassette", Sample("hello-anthropic.jsonl"), "--", "bash", "-c", script},
      {"ANTHROPIC_API_KEY=", "OPENAI_API_KEY="});
  ASSERT_TRUE(env_check.WaitExit(&code));
  EXPECT_EQ(code, 0) << env_check.stderr_text();

  // --strict: the command succeeded but never used the recorded interaction.
  TapedeckProcess strict(
      {"exec", "--strict", "--cassette", Sample("hello-anthropic.jsonl"), "--", "true"});
  ASSERT_TRUE(strict.WaitExit(&code));
  EXPECT_EQ(code, 1);
  EXPECT_NE(strict.stderr_text().find("never used"), std::string::npos) << strict.stderr_text();

  TapedeckProcess no_such(
      {"exec", "--cassette", Sample("hello-anthropic.jsonl"), "--", "/nonexistent/command"});
  ASSERT_TRUE(no_such.WaitExit(&code));
  EXPECT_EQ(code, 127);
}

TEST_F(CliIntegrationTest, ExecGivesItsCommandTheOpenFileLimitTapedeckWasGiven) {
  // tapedeck raises its own soft limit for many streams; the command must not inherit that.
  rlimit original{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &original), 0);
  if (original.rlim_max != RLIM_INFINITY && original.rlim_max <= 512) {
    GTEST_SKIP() << "hard open-file limit too low to tell";
  }
  rlimit lowered = original;
  lowered.rlim_cur = 512;
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &lowered), 0);
  TapedeckProcess exec({"exec", "--cassette", Sample("hello-anthropic.jsonl"), "--", "sh", "-c",
                        "test \"$(ulimit -Sn)\" = 512"});
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &original), 0);
  int code = -1;
  ASSERT_TRUE(exec.WaitExit(&code));
  EXPECT_EQ(code, 0) << exec.stderr_text();
}

TEST_F(CliIntegrationTest, ListenerLimitsComeFromTheirFlags) {
  TapedeckProcess rep({"replay", "--cassette", Sample("hello-anthropic.jsonl"), "--listen",
                       "127.0.0.1:0", "--head-timeout", "0.2", "--max-connections-per-client",
                       "2"});
  ASSERT_TRUE(rep.WaitListening());
  TestClient slow(rep.port());
  ASSERT_TRUE(slow.Connect());
  ASSERT_TRUE(slow.Send("GET /v1/models HTTP/1.1\r\n"));  // and never the rest of the head
  TestClient second(rep.port());
  ASSERT_TRUE(second.Connect());
  TestClient third(rep.port());
  ASSERT_TRUE(third.Connect());
  ClientResponse refused;
  ASSERT_TRUE(third.ReadHead(&refused));
  EXPECT_EQ(refused.status, 503);
  ClientResponse late;
  ASSERT_TRUE(slow.ReadHead(&late));
  EXPECT_EQ(late.status, 408);
  int code = -1;
  TapedeckProcess bad({"replay", "--cassette", Sample("hello-anthropic.jsonl"),
                       "--max-connections-per-client", "many"});
  ASSERT_TRUE(bad.WaitExit(&code));
  EXPECT_EQ(code, 2);
  EXPECT_NE(bad.stderr_text().find("--max-connections-per-client"), std::string::npos);
}

TEST_F(CliIntegrationTest, RecordedTimingIsReproducedWithinATolerance) {
  // hello-anthropic.jsonl: headers at 178 ms, then 16 events, most 45 ms apart.
  Result<cassette::Cassette> c = cassette::ReadCassette(Sample("hello-anthropic.jsonl"));
  ASSERT_TRUE(c.ok());
  const cassette::Interaction& rec = c->interactions[0];
  TapedeckProcess rep({"replay", "--cassette", Sample("hello-anthropic.jsonl"), "--listen",
                       "127.0.0.1:0", "--log-level", "warn"});
  ASSERT_TRUE(rep.WaitListening());
  TestClient client(rep.port());
  ASSERT_TRUE(client.Connect());
  auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(client.Send(TestClient::BuildRequest(
      "POST", "/v1/messages", {{"content-type", "application/json"}}, rec.request.body.bytes)));
  ClientResponse r;
  ASSERT_TRUE(client.ReadHead(&r));
  auto ms_since_start = [&] {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
        .count();
  };
  // Generous bounds: CI machines are shared; the benchmark measures the real error.
  constexpr double kToleranceMs = 40;
  std::string expected;
  for (const cassette::StreamEvent& e : rec.response.stream->events) {
    expected += e.bytes;
    ASSERT_TRUE(client.ReadBodyUntil(
        &r, [&](const std::string& b) { return b.size() >= expected.size(); }));
    double got = ms_since_start();
    double want = static_cast<double>(e.at_us) / 1000.0;
    EXPECT_GE(got, want - 1.0) << "an event arrived before its recorded time";
    EXPECT_LE(got, want + kToleranceMs) << "event at " << want << " ms arrived at " << got;
  }
  EXPECT_EQ(r.body, expected);
}

TEST_F(CliIntegrationTest, LargeBodiesReplayWholeInEveryChunkingAtInstantTiming) {
  // 1 MiB: byte chunking fills the 256 KiB the player queues before it waits for the socket
  // four times over; each wait must end, however fast the socket takes the bytes.
  cassette::Cassette cassette;
  cassette::Interaction it;
  it.request.method = "GET";
  it.request.path = "/big";
  it.response.status = 200;
  it.response.headers = {{"content-type", "application/octet-stream"}};
  it.response.body.bytes.resize(1 << 20);
  for (size_t i = 0; i < it.response.body.bytes.size(); ++i) {
    it.response.body.bytes[i] = static_cast<char>('a' + i % 26);
  }
  cassette.interactions.push_back(it);
  const std::string path = TempPath("large-body.jsonl");
  cassette::WriteOptions plain;
  plain.compress = false;
  ASSERT_TRUE(cassette::WriteCassetteAtomic(path, cassette, plain).ok());
  for (const char* chunking : {"byte", "random:7", "event"}) {
    SCOPED_TRACE(chunking);
    TapedeckProcess rep({"replay", "--cassette", path, "--listen", "127.0.0.1:0", "--timing",
                         "instant", "--chunking", chunking, "--log-level", "warn"});
    ASSERT_TRUE(rep.WaitListening());
    ClientResponse r = Request(rep.port(), "GET", "/big", "");
    EXPECT_EQ(r.status, 200);
    EXPECT_TRUE(r.body == it.response.body.bytes) << "got " << r.body.size() << " bytes";
  }
}

// --ignore-query-param reaches replay's matching: a request that differs from the recording
// only in that parameter is served; a different parameter still misses.
TEST_F(CliIntegrationTest, IgnoredQueryParametersDoNotCauseAMiss) {
  Result<cassette::Cassette> c = cassette::ReadCassette(Sample("hello-anthropic.jsonl"));
  ASSERT_TRUE(c.ok());
  const std::string body = c->interactions[0].request.body.bytes;
  TapedeckProcess rep({"replay", "--cassette", Sample("hello-anthropic.jsonl"), "--listen",
                       "127.0.0.1:0", "--timing", "instant", "--ignore-query-param", "cache_bust"});
  ASSERT_TRUE(rep.WaitListening());
  ClientResponse served = Request(rep.port(), "POST", "/v1/messages?cache_bust=1732", body);
  EXPECT_EQ(served.status, 200);
  ASSERT_NE(cassette::FindHeader(served.headers, "request-id"), nullptr);
  EXPECT_EQ(*cassette::FindHeader(served.headers, "request-id"), "req_01SampleHaiku0001");
  ClientResponse missed = Request(rep.port(), "POST", "/v1/messages?beta=true", body);
  EXPECT_EQ(missed.status, 404);
}

}  // namespace
}  // namespace td::testing
