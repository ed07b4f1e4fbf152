// One tapedeck for a whole test suite, through the real binary: provider mounts (each request and
// its key reach only their own upstream; unmounted paths are refused without forwarding) and a
// cassette per test (--cassette-dir: selection by path prefix, header and default; names that
// could escape the folder are refused; concurrent clients never mix their interactions).
#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "cassette/codec.h"
#include "tests/integration/tapedeck_process.h"
#include "tests/support/fake_secrets.h"
#include "tests/support/fake_upstream.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_client.h"

namespace td::testing {
namespace {

namespace fs = std::filesystem;

ClientResponse Send(uint16_t port, const std::string& method, const std::string& target,
                    const cassette::Headers& headers = {}, const std::string& body = "") {
  TestClient client(port);
  ClientResponse r;
  if (!client.Connect()) return r;
  cassette::Headers all = headers;
  if (!body.empty()) all.emplace_back("content-type", "application/json");
  if (!client.Send(TestClient::BuildRequest(method, target, all, body))) return r;
  EXPECT_TRUE(client.ReadResponse(&r)) << method << " " << target;
  return r;
}

// An upstream that answers each request with what it received: its target and body.
void Echo(FakeUpstream& upstream, const std::string& who) {
  upstream.SetResponder([who](const CapturedRequest& r) {
    return FakeResponse::Json(
        nlohmann::json{{"upstream", who}, {"target", r.target}, {"got", r.body}}.dump());
  });
}

int Stop(TapedeckProcess& process) {
  process.Signal(SIGTERM);
  int code = -1;
  EXPECT_TRUE(process.WaitExit(&code));
  return code;
}

cassette::Cassette Read(const std::string& path) {
  Result<cassette::Cassette> c = cassette::ReadCassette(path);
  EXPECT_TRUE(c.ok()) << c.status().message();
  return c.ok() ? std::move(*c) : cassette::Cassette{};
}

TEST(MountsTest, EachRequestAndItsKeyReachOnlyTheUpstreamOfItsMount) {
  ScopedTempDir dir;
  const std::string path = dir.Path("two.jsonl.zst");
  FakeUpstream anthropic, openai;
  Echo(anthropic, "anthropic");
  Echo(openai, "openai");
  const std::string anthropic_key = FakeAnthropicKey();
  const std::string openai_key = FakeOpenAiKey();

  TapedeckProcess rec({"record", "--cassette", path, "--listen", "127.0.0.1:0", "--upstream",
                       "anthropic=" + anthropic.url(), "--upstream",
                       "openai=" + openai.url() + "/v1"});
  ASSERT_TRUE(rec.WaitListening());
  ClientResponse a = Send(rec.port(), "POST", "/anthropic/v1/messages",
                          {{"x-api-key", anthropic_key}}, R"({"model":"claude"})");
  ClientResponse o = Send(rec.port(), "POST", "/openai/v1/chat/completions?x=1",
                          {{"authorization", "Bearer " + openai_key}}, R"({"model":"gpt"})");
  // Under no mount: refused in the provider's shape, forwarded nowhere.
  ClientResponse lost = Send(rec.port(), "POST", "/v1/messages", {{"x-api-key", anthropic_key}},
                             R"({"model":"claude"})");
  EXPECT_EQ(Stop(rec), 0) << rec.stderr_text();

  ASSERT_EQ(a.status, 200) << a.body;
  EXPECT_EQ(nlohmann::json::parse(a.body)["target"], "/v1/messages");
  ASSERT_EQ(o.status, 200) << o.body;
  EXPECT_EQ(nlohmann::json::parse(o.body)["target"], "/v1/chat/completions?x=1")
      << "the mount's own path joined, the query kept";
  ASSERT_EQ(lost.status, 404) << lost.body;
  ASSERT_NE(cassette::FindHeader(lost.headers, "x-should-retry"), nullptr);
  EXPECT_EQ(*cassette::FindHeader(lost.headers, "x-should-retry"), "false");
  nlohmann::json error = nlohmann::json::parse(lost.body);
  EXPECT_EQ(error["type"], "error") << "Anthropic's error shape: " << lost.body;
  const std::string message = error["error"]["message"];
  EXPECT_NE(message.find("/anthropic"), std::string::npos) << message;
  EXPECT_NE(message.find("/openai"), std::string::npos) << message;

  std::vector<CapturedRequest> to_anthropic = anthropic.requests();
  std::vector<CapturedRequest> to_openai = openai.requests();
  ASSERT_EQ(to_anthropic.size(), 1u) << "the unmounted request went nowhere";
  ASSERT_EQ(to_openai.size(), 1u);
  EXPECT_EQ(*cassette::FindHeader(to_anthropic[0].headers, "x-api-key"), anthropic_key);
  EXPECT_EQ(cassette::FindHeader(to_anthropic[0].headers, "authorization"), nullptr);
  EXPECT_EQ(*cassette::FindHeader(to_openai[0].headers, "authorization"), "Bearer " + openai_key);
  EXPECT_EQ(cassette::FindHeader(to_openai[0].headers, "x-api-key"), nullptr);

  // The cassette keeps the paths as the client sent them, and its header lists the mounts.
  cassette::Cassette c = Read(path);
  ASSERT_EQ(c.interactions.size(), 2u);
  EXPECT_EQ(c.interactions[0].request.path, "/anthropic/v1/messages");
  EXPECT_EQ(c.interactions[1].request.path, "/openai/v1/chat/completions");
  EXPECT_EQ(c.mounts, (std::vector<std::string>{"anthropic", "openai"}));

  // Replay serves both through the same base URLs, with no upstream at all.
  TapedeckProcess play({"replay", "--cassette", path, "--listen", "127.0.0.1:0", "--strict"});
  ASSERT_TRUE(play.WaitListening());
  ClientResponse a2 = Send(play.port(), "POST", "/anthropic/v1/messages",
                           {{"x-api-key", "placeholder"}}, R"({"model":"claude"})");
  ClientResponse o2 = Send(play.port(), "POST", "/openai/v1/chat/completions?x=1",
                           {{"authorization", "Bearer placeholder"}}, R"({"model":"gpt"})");
  EXPECT_EQ(Stop(play), 0) << play.stderr_text();
  EXPECT_EQ(a2.body, a.body);
  EXPECT_EQ(o2.body, o.body);
}

TEST(MountsTest, NamedAndUnnamedUpstreamsDoNotMix) {
  ScopedTempDir dir;
  TapedeckProcess rec({"record", "--cassette", dir.Path("x.jsonl.zst"), "--upstream",
                       "anthropic=http://127.0.0.1:9", "--upstream", "http://127.0.0.1:9"});
  int code = -1;
  ASSERT_TRUE(rec.WaitExit(&code));
  EXPECT_EQ(code, 2);
  EXPECT_NE(rec.stderr_text().find("name every upstream"), std::string::npos) << rec.stderr_text();
  TapedeckProcess bad({"record", "--cassette", dir.Path("x.jsonl.zst"), "--upstream",
                       "Anthropic=http://127.0.0.1:9"});
  ASSERT_TRUE(bad.WaitExit(&code));
  EXPECT_EQ(code, 2);
  EXPECT_NE(bad.stderr_text().find("mount name"), std::string::npos) << bad.stderr_text();
  EXPECT_FALSE(fs::exists(dir.Path("x.jsonl.zst")));
}

class CassetteDirTest : public ::testing::Test {
 protected:
  void SetUp() override { Echo(upstream_, "api"); }
  std::string Dir() const { return root_.Path("cassettes"); }
  // `tapedeck record` over the folder, on a free port, forwarding to the echoing upstream.
  std::vector<std::string> RecordArgs() const {
    return {"record",      "--cassette-dir", Dir(),          "--listen",
            "127.0.0.1:0", "--upstream",     upstream_.url()};
  }

  ScopedTempDir root_;
  FakeUpstream upstream_;
};

TEST_F(CassetteDirTest, EightConcurrentClientsEachRecordAndReplayTheirOwnCassette) {
  constexpr int kClients = 8;
  constexpr int kRequests = 20;
  // Client i's cassette; odd ones in a subfolder, named through %2F.
  auto name = [](int i) { return (i % 2 ? "suite/client-" : "client-") + std::to_string(i); };
  auto prefix = [](int i) {
    return "/cassette/" + std::string(i % 2 ? "suite%2Fclient-" : "client-") + std::to_string(i);
  };
  auto body = [](int i, int k) { return nlohmann::json{{"client", i}, {"n", k}}.dump(); };
  auto run_clients = [&](uint16_t port, std::vector<std::vector<std::string>>* answers) {
    answers->assign(kClients, {});
    std::vector<std::thread> clients;
    for (int i = 0; i < kClients; ++i) {
      clients.emplace_back([&, i] {
        for (int k = 0; k < kRequests; ++k) {
          ClientResponse r = Send(port, "POST", prefix(i) + "/v1/messages", {}, body(i, k));
          (*answers)[static_cast<size_t>(i)].push_back(std::to_string(r.status) + " " + r.body);
        }
      });
    }
    for (std::thread& t : clients) t.join();
  };

  TapedeckProcess rec(RecordArgs());
  ASSERT_TRUE(rec.WaitListening());
  std::vector<std::vector<std::string>> recorded;
  run_clients(rec.port(), &recorded);
  EXPECT_EQ(Stop(rec), 0) << rec.stderr_text();

  for (int i = 0; i < kClients; ++i) {
    const std::string path = Dir() + "/" + name(i) + ".jsonl.zst";
    ASSERT_TRUE(fs::exists(path)) << path;
    cassette::Cassette c = Read(path);
    ASSERT_EQ(c.interactions.size(), static_cast<size_t>(kRequests)) << path;
    for (int k = 0; k < kRequests; ++k) {
      const cassette::Interaction& it = c.interactions[static_cast<size_t>(k)];
      EXPECT_EQ(it.request.path, "/v1/messages") << "the cassette prefix is not recorded";
      EXPECT_EQ(it.request.body.bytes, body(i, k)) << path << " #" << k;
    }
    for (const std::string& answer : recorded[static_cast<size_t>(i)]) {
      EXPECT_EQ(answer.rfind("200 ", 0), 0u) << answer;
    }
  }
  size_t files = 0;
  for (const auto& entry : fs::recursive_directory_iterator(Dir())) {
    if (entry.path().string().ends_with(".jsonl.zst")) ++files;
  }
  EXPECT_EQ(files, static_cast<size_t>(kClients));
  EXPECT_EQ(upstream_.requests().size(), static_cast<size_t>(kClients * kRequests));

  TapedeckProcess play({"replay", "--cassette-dir", Dir(), "--listen", "127.0.0.1:0", "--strict",
                        "--on-exhausted", "error"});
  ASSERT_TRUE(play.WaitListening());
  std::vector<std::vector<std::string>> replayed;
  run_clients(play.port(), &replayed);
  EXPECT_EQ(Stop(play), 0) << play.stderr_text();
  EXPECT_EQ(replayed, recorded);
}

TEST_F(CassetteDirTest, NamesThatCouldLeaveTheFolderAreRefusedAndNothingIsCreated) {
  TapedeckProcess rec(RecordArgs());
  ASSERT_TRUE(rec.WaitListening());
  const std::vector<std::string> by_path = {
      "/cassette/..%2Fx/v1/messages",
      "/cassette/%2Fetc%2Fpasswd/v1/messages",
      "/cassette/a%2F%2Fb/v1/messages",
      "/cassette/a%00b/v1/messages",
      "/cassette/" + std::string(10 * 1024, 'a') + "/v1/messages",
      "/cassette/a%zz/v1/messages",
      "/cassette//v1/messages",
      "/cassette/sub%2F..%2F..%2Fx/v1/messages",
  };
  for (const std::string& target : by_path) {
    ClientResponse r = Send(rec.port(), "POST", target, {}, R"({"a":1})");
    EXPECT_EQ(r.status, 400) << target.substr(0, 80) << ": " << r.body;
    const std::string* error = cassette::FindHeader(r.headers, "x-tapedeck-error");
    EXPECT_TRUE(error != nullptr && *error == "cassette") << target.substr(0, 80);
  }
  for (std::string name : {"../x", "/etc/passwd", "a//b", "a/", ".", "a b"}) {
    ClientResponse r =
        Send(rec.port(), "POST", "/v1/messages", {{"x-tapedeck-cassette", name}}, R"({"a":1})");
    EXPECT_EQ(r.status, 400) << name << ": " << r.body;
  }
  // And with no cassette named at all.
  ClientResponse none = Send(rec.port(), "POST", "/v1/messages", {}, R"({"a":1})");
  EXPECT_EQ(none.status, 400);
  EXPECT_NE(none.body.find("/cassette/NAME/"), std::string::npos) << none.body;
  EXPECT_EQ(Stop(rec), 0) << rec.stderr_text();

  EXPECT_TRUE(upstream_.requests().empty()) << "nothing refused was forwarded";
  std::vector<std::string> made;
  for (const auto& entry : fs::recursive_directory_iterator(root_.path())) {
    made.push_back(entry.path().string());
  }
  EXPECT_EQ(made, (std::vector<std::string>{Dir()})) << "only the (empty) folder itself";
}

TEST_F(CassetteDirTest, HeaderAndDefaultPickTheCassetteAndTheHeaderNeverLeaves) {
  TapedeckProcess rec(RecordArgs());
  ASSERT_TRUE(rec.WaitListening());
  EXPECT_EQ(Send(rec.port(), "POST", "/__tapedeck/cassette", {}, R"({"name":"../x"})").status, 400);
  ClientResponse set =
      Send(rec.port(), "POST", "/__tapedeck/cassette", {}, R"({"name":"runs/default"})");
  EXPECT_EQ(set.status, 200) << set.body;
  EXPECT_EQ(Send(rec.port(), "POST", "/v1/messages", {}, R"({"to":"default"})").status, 200);
  EXPECT_EQ(Send(rec.port(), "POST", "/v1/messages", {{"x-tapedeck-cassette", "by-header"}},
                 R"({"to":"header"})")
                .status,
            200);
  // The path prefix wins over the header.
  EXPECT_EQ(Send(rec.port(), "POST", "/cassette/by-path/v1/messages",
                 {{"x-tapedeck-cassette", "by-header"}}, R"({"to":"path"})")
                .status,
            200);
  ClientResponse stats = Send(rec.port(), "GET", "/__tapedeck/stats");
  EXPECT_EQ(Stop(rec), 0) << rec.stderr_text();

  nlohmann::json s = nlohmann::json::parse(stats.body);
  EXPECT_EQ(s["default"], "runs/default");
  EXPECT_EQ(s["cassettes"].size(), 3u) << stats.body;
  // `forwarded`, not `recorded`: the recording worker may not have written it yet.
  EXPECT_EQ(s["cassettes"]["by-header"]["forwarded"], 1) << stats.body;
  for (const CapturedRequest& r : upstream_.requests()) {
    EXPECT_EQ(cassette::FindHeader(r.headers, "x-tapedeck-cassette"), nullptr);
    EXPECT_EQ(r.target, "/v1/messages");
  }
  EXPECT_EQ(Read(Dir() + "/runs/default.jsonl.zst").interactions.at(0).request.body.bytes,
            R"({"to":"default"})");
  cassette::Interaction by_header = Read(Dir() + "/by-header.jsonl.zst").interactions.at(0);
  EXPECT_EQ(by_header.request.body.bytes, R"({"to":"header"})");
  EXPECT_EQ(cassette::FindHeader(by_header.request.headers, "x-tapedeck-cassette"), nullptr);
  EXPECT_EQ(Read(Dir() + "/by-path.jsonl.zst").interactions.at(0).request.body.bytes,
            R"({"to":"path"})");
}

TEST_F(CassetteDirTest, ReplayOfACassetteThatDoesNotExistSaysSoAndFailsStrict) {
  fs::create_directories(Dir());
  TapedeckProcess play({"replay", "--cassette-dir", Dir(), "--listen", "127.0.0.1:0", "--strict"});
  ASSERT_TRUE(play.WaitListening());
  ClientResponse r = Send(play.port(), "POST", "/cassette/never-recorded/v1/messages",
                          {{"x-api-key", "placeholder"}}, R"({"model":"claude"})");
  EXPECT_EQ(r.status, 404) << r.body;
  const std::string* miss = cassette::FindHeader(r.headers, "x-tapedeck-miss");
  ASSERT_NE(miss, nullptr);
  EXPECT_EQ(*miss, "no-cassette");
  EXPECT_NE(r.body.find("never-recorded"), std::string::npos) << r.body;
  EXPECT_EQ(Stop(play), 1) << play.stderr_text();
  EXPECT_NE(play.stderr_text().find("never-recorded"), std::string::npos);
  EXPECT_FALSE(fs::exists(Dir() + "/never-recorded.jsonl.zst"));

  // A folder that does not exist is an error at start.
  TapedeckProcess missing({"replay", "--cassette-dir", root_.Path("nope")});
  int code = -1;
  ASSERT_TRUE(missing.WaitExit(&code));
  EXPECT_EQ(code, 3) << missing.stderr_text();
}

TEST_F(CassetteDirTest, EachCassettesVerdictIsAskedForByName) {
  // What a test runner asks when a test ends: did this test's cassette replay cleanly?
  TapedeckProcess rec(RecordArgs());
  ASSERT_TRUE(rec.WaitListening());
  for (const char* body : {R"({"n":1})", R"({"n":2})"}) {
    ASSERT_EQ(Send(rec.port(), "POST", "/cassette/suite%2Fclean/v1/messages", {}, body).status,
              200);
  }
  ASSERT_EQ(Send(rec.port(), "POST", "/cassette/changed/v1/messages", {}, R"({"n":1})").status,
            200);
  nlohmann::json recorded =
      nlohmann::json::parse(Send(rec.port(), "GET", "/__tapedeck/stats/suite%2Fclean").body);
  EXPECT_EQ(Stop(rec), 0) << rec.stderr_text();
  EXPECT_EQ(recorded["state"], "ready") << recorded;
  EXPECT_TRUE(recorded["problem"].is_null()) << recorded;
  // `forwarded` counts at each response head, before the client has its answer; `recorded`
  // counts when the recording worker has written it, which may be later.
  EXPECT_EQ(recorded["counts"]["forwarded"], 2) << recorded;

  TapedeckProcess play({"replay", "--cassette-dir", Dir(), "--listen", "127.0.0.1:0"});
  ASSERT_TRUE(play.WaitListening());
  auto verdict = [&](const std::string& encoded, const std::string& query = "") {
    ClientResponse r = Send(play.port(), "GET", "/__tapedeck/stats/" + encoded + query);
    EXPECT_EQ(r.status, 200) << encoded << ": " << r.body;
    return nlohmann::json::parse(r.body, nullptr, false);
  };
  EXPECT_EQ(verdict("suite/clean")["state"], "untouched");
  ASSERT_EQ(
      Send(play.port(), "POST", "/cassette/suite%2Fclean/v1/messages", {}, R"({"n":1})").status,
      200);
  nlohmann::json half = verdict("suite%2Fclean");
  EXPECT_EQ(half["state"], "ready") << half;
  EXPECT_TRUE(half["problem"].is_null()) << "one interaction not yet used is fine by default";
  EXPECT_FALSE(verdict("suite/clean", "?unused=fail")["problem"].is_null());

  ClientResponse miss =
      Send(play.port(), "POST", "/cassette/changed/v1/messages", {}, R"({"n":"changed"})");
  EXPECT_EQ(miss.status, 404) << miss.body;
  nlohmann::json changed = verdict("changed");
  ASSERT_TRUE(changed["problem"].is_string()) << changed;
  EXPECT_NE(changed["problem"].get<std::string>().find("1 miss"), std::string::npos) << changed;
  ASSERT_EQ(changed["counts"]["recent_misses"].size(), 1u) << changed;
  EXPECT_NE(changed["counts"]["recent_misses"][0].get<std::string>().find("changed"),
            std::string::npos)
      << "the miss message shows the request's difference: " << changed;

  ASSERT_EQ(Send(play.port(), "POST", "/cassette/never/v1/messages", {}, "{}").status, 404);
  EXPECT_FALSE(verdict("never")["problem"].is_null()) << "a cassette that does not exist";

  for (const std::string bad : {"..%2Fx", "a%zz", "x?unused=maybe"}) {
    EXPECT_EQ(Send(play.port(), "GET", "/__tapedeck/stats/" + bad).status, 400) << bad;
  }
  Stop(play);
}

TEST(ProvenanceTest, TheHeaderSaysWhoRecordedThroughWhatAndExecWhere) {
  ScopedTempDir dir;
  FakeUpstream upstream;
  Echo(upstream, "api");
  const std::string recorded = dir.Path("record.jsonl.zst");
  TapedeckProcess rec({"record", "--cassette", recorded, "--listen", "127.0.0.1:0", "--upstream",
                       "anthropic=" + upstream.url() + "/v1"});
  ASSERT_TRUE(rec.WaitListening());
  ASSERT_EQ(Send(rec.port(), "POST", "/anthropic/messages", {}, R"({"model":"m1"})").status, 200);
  EXPECT_EQ(Stop(rec), 0) << rec.stderr_text();
  cassette::Cassette c = Read(recorded);
  ASSERT_TRUE(c.recorded_by.has_value());
  EXPECT_EQ(c.recorded_by->mode, "record");
  EXPECT_FALSE(c.recorded_by->tapedeck.empty());
  EXPECT_EQ(
      c.recorded_by->upstreams,
      (std::vector<std::pair<std::string, std::string>>{{"anthropic", upstream.url() + "/v1"}}));
  EXPECT_EQ(c.recorded_by->cwd, "") << "only exec knows what its command runs in";

  // exec also says where its command ran: what a replay in another checkout needs to know.
  const std::string by_exec = dir.Path("exec.jsonl.zst");
  const std::string client =
      "exec 3<>/dev/tcp/127.0.0.1/${ANTHROPIC_BASE_URL##*:} && "
      "printf 'POST /v1/messages HTTP/1.0\\r\\ncontent-length: 2\\r\\n\\r\\n{}' >&3 && "
      "cat <&3 >/dev/null";
  TapedeckProcess exec({"exec", "--mode", "record", "--cassette", by_exec, "--upstream",
                        upstream.url(), "--", "bash", "-c", client},
                       {"HOME=/home/alice", "USER=alice", "TMPDIR=/var/tmp/alice"});
  int code = -1;
  ASSERT_TRUE(exec.WaitExit(&code));
  ASSERT_EQ(code, 0) << exec.stderr_text();
  cassette::Cassette e = Read(by_exec);
  ASSERT_EQ(e.interactions.size(), 1u);
  ASSERT_TRUE(e.recorded_by.has_value());
  EXPECT_EQ(e.recorded_by->mode, "exec record");
  EXPECT_EQ(e.recorded_by->upstreams,
            (std::vector<std::pair<std::string, std::string>>{{"", upstream.url()}}));
  EXPECT_EQ(e.recorded_by->cwd, fs::current_path().string());
  EXPECT_EQ(e.recorded_by->home, "/home/alice");
  EXPECT_EQ(e.recorded_by->user, "alice");
  EXPECT_EQ(e.recorded_by->tmp, "/var/tmp/alice");
}

TEST(StableViewTest, TwoRecordingsOfTheSameConversationReadTheSameForReview) {
  // An upstream that answers the same conversation with what differs on every call: its Date,
  // request id, rate-limit counter, message id and creation time, and the SSE pacing.
  ScopedTempDir dir;
  FakeUpstream upstream;
  std::atomic<int> calls{0};
  upstream.SetResponder([&calls](const CapturedRequest& r) {
    const int n = ++calls;
    const std::string id = "msg_01Run" + std::to_string(n * 7919);
    FakeResponse response =
        r.body.find("stream") != std::string::npos
            ? FakeResponse::Sse({"event: message_start\ndata: {\"type\":\"message_start\","
                                 "\"message\":{\"id\":\"" +
                                     id + "\"}}\n\n",
                                 "event: content_block_delta\ndata: {\"delta\":{\"text\":"
                                 "\"Same reply\"}}\n\n"})
            : FakeResponse::Json(nlohmann::json{
                  {"id", id}, {"created", 1700000000 + n}, {"content", "Same answer"}}
                                     .dump());
    response.headers.emplace_back("date",
                                  "Sun, 06 Dec 2026 10:00:0" + std::to_string(n % 10) + " GMT");
    response.headers.emplace_back("request-id", "req_" + std::to_string(n * 104729));
    response.headers.emplace_back("anthropic-ratelimit-requests-remaining",
                                  std::to_string(1000 - n));
    return response;
  });
  auto record = [&](const std::string& name) {
    const std::string path = dir.Path(name);
    TapedeckProcess rec(
        {"record", "--cassette", path, "--listen", "127.0.0.1:0", "--upstream", upstream.url()});
    EXPECT_TRUE(rec.WaitListening());
    EXPECT_EQ(Send(rec.port(), "POST", "/v1/messages", {}, R"({"model":"m","q":"hi"})").status,
              200);
    EXPECT_EQ(Send(rec.port(), "POST", "/v1/messages", {}, R"({"model":"m","stream":true})").status,
              200);
    EXPECT_EQ(Stop(rec), 0) << rec.stderr_text();
    return path;
  };
  const std::string first = record("first.jsonl.zst");
  const std::string second = record("second.jsonl.zst");
  // What `tapedeck cassette cat ARGS` prints (the temp paths hold no shell characters).
  auto cat = [](const std::string& args) {
    std::string out;
    FILE* pipe = ::popen((TapedeckBinary() + " cassette cat " + args).c_str(), "r");
    EXPECT_NE(pipe, nullptr);
    if (pipe == nullptr) return out;
    char buf[4096];
    for (size_t n; (n = std::fread(buf, 1, sizeof buf, pipe)) > 0;) out.append(buf, n);
    EXPECT_EQ(::pclose(pipe), 0) << args;
    return out;
  };
  ASSERT_NE(cat(first), cat(second)) << "the recordings differ on disk";
  const std::string stable = cat("--stable " + first);
  EXPECT_EQ(stable, cat("--stable " + second));
  EXPECT_NE(stable.find("Same reply"), std::string::npos) << stable;
}

}  // namespace
}  // namespace td::testing
