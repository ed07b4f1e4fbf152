// Integration tests of the record path over loopback: a TestClient talks to the record proxy,
// which forwards to a scripted FakeUpstream and writes a cassette that the tests read back.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "cassette/base/log.h"
#include "cassette/sse.h"
#include "tests/integration/record_fixture.h"
#include "tests/support/compress.h"
#include "tests/support/dropping_upstream.h"
#include "tests/support/fake_clock.h"
#include "tests/support/fake_dns.h"
#include "tests/support/fake_secrets.h"
#include "tests/support/fixtures.h"
#include "tests/support/log_capture.h"
#include "tools/cassette_commands.h"
#include "tools/config.h"
#include "tools/exit_codes.h"

namespace td::testing {
namespace {

using End = ClientResponse::End;

constexpr std::string_view kMessagesBody =
    R"({"model":"claude-sonnet-4-5","max_tokens":64,"stream":true,)"
    R"("messages":[{"role":"user","content":"Say hi"}]})";
// Key-shaped test credentials, built at run time (tests/support/fake_secrets.h).
const std::string kAnthropicKey = td::testing::FakeAnthropicKey();
const std::string kOpenAiKey = td::testing::FakeOpenAiKey();

std::vector<std::string> SseEvents(std::string_view bytes) {
  cassette::SseFramer framer;
  std::vector<std::string> events;
  framer.Feed(bytes, &events);
  std::string rest = framer.TakeRemainder();
  if (!rest.empty()) events.push_back(rest);
  return events;
}

std::vector<std::string> Sample(int n, std::string_view tag = "") {
  std::vector<std::string> events;
  for (int i = 0; i < n; ++i) {
    events.push_back(
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\","
        "\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"" +
        std::string(tag) + "#" + std::to_string(i) + "\"}}\n\n");
  }
  return events;
}

std::string Join(const std::vector<std::string>& pieces) {
  std::string out;
  for (const std::string& p : pieces) out += p;
  return out;
}

std::string PostMessages(std::string_view body = kMessagesBody, cassette::Headers extra = {}) {
  cassette::Headers headers = {{"Content-Type", "application/json"},
                               {"anthropic-version", "2023-06-01"}};
  for (auto& h : extra) headers.push_back(std::move(h));
  return TestClient::BuildRequest("POST", "/v1/messages", headers, body);
}

// Posts the default request on `client`'s connection and reads the whole answer.
::testing::AssertionResult PostAndRead(TestClient& client, ClientResponse* response) {
  if (!client.Send(PostMessages())) return ::testing::AssertionFailure() << "send failed";
  if (!client.ReadResponse(response)) return ::testing::AssertionFailure() << "no response";
  return ::testing::AssertionSuccess();
}

TEST_F(RecordTest, NonStreamingJsonArrivesByteExactAndIsRecorded) {
  StartUpstream();
  // Odd spacing and key order: the bytes must pass through untouched, never re-serialised.
  const std::string json =
      "{\"id\":\"msg_01\",  \"type\":\"message\",\"content\":[{\"type\":\"text\",\"text\":"
      "\"hi \\u00e9\"}],\n \"usage\":{\"output_tokens\":1.50}}";
  upstream_->Respond(FakeResponse::Json(json));
  ASSERT_TRUE(StartProxy());

  auto client = Client();
  ASSERT_TRUE(client->Send(PostMessages()));
  ClientResponse response;
  ASSERT_TRUE(client->ReadResponse(&response));
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, json);
  EXPECT_FALSE(response.chunked) << "a Content-Length body keeps its framing";
  ASSERT_NE(cassette::FindHeader(response.headers, "content-type"), nullptr);
  EXPECT_EQ(*cassette::FindHeader(response.headers, "content-type"), "application/json");
  EXPECT_EQ(cassette::FindHeader(response.headers, "date"), nullptr) << "no Date added";

  ASSERT_TRUE(WaitForRecorded(1));
  cassette::Cassette cassette = ReadBack();
  ASSERT_EQ(cassette.interactions.size(), 1u);
  const cassette::Interaction& recorded = cassette.interactions[0];
  EXPECT_EQ(recorded.request.method, "POST");
  EXPECT_EQ(recorded.request.path, "/v1/messages");
  EXPECT_EQ(recorded.response.status, 200);
  EXPECT_FALSE(recorded.response.streamed());
  EXPECT_EQ(recorded.response.body.bytes, json);
  EXPECT_FALSE(recorded.truncated.has_value());
  EXPECT_EQ(recorded.seq, 1u);
  EXPECT_GT(recorded.recorded_at_us, 0);
}

TEST_F(RecordTest, RealSseFixturesArriveByteExactAndRecordEveryEvent) {
  const std::vector<std::filesystem::path> files = testing::SseFixtureFiles();
  if (files.empty()) GTEST_SKIP() << "no fixtures at " << testing::SseFixtureDir();

  StartUpstream();
  std::vector<std::string> bodies;
  for (size_t i = 0; i < files.size(); ++i) {
    std::string bytes = testing::ReadFile(files[i]);
    bodies.push_back(bytes);
    // Alternate how the upstream writes: one write per event, or 777-byte pieces that cut
    // events (and CRLFs, and UTF-8 sequences) anywhere.
    std::vector<std::string> pieces;
    if (i % 2 == 0) {
      pieces = SseEvents(bytes);
    } else {
      for (size_t at = 0; at < bytes.size(); at += 777) pieces.push_back(bytes.substr(at, 777));
    }
    upstream_->Respond(FakeResponse::Sse(pieces));
  }
  ASSERT_TRUE(StartProxy());

  auto client = Client();
  for (size_t i = 0; i < files.size(); ++i) {
    SCOPED_TRACE(files[i].filename().string());
    ASSERT_TRUE(client->Send(PostMessages()));  // one keep-alive connection for all of them
    ClientResponse response;
    ASSERT_TRUE(client->ReadResponse(&response));
    EXPECT_EQ(response.status, 200);
    EXPECT_TRUE(response.body == bodies[i]) << "client body differs from the upstream's bytes";
  }
  ASSERT_TRUE(WaitForRecorded(files.size()));
  cassette::Cassette cassette = ReadBack();
  ASSERT_EQ(cassette.interactions.size(), files.size());
  for (size_t i = 0; i < files.size(); ++i) {
    SCOPED_TRACE(files[i].filename().string());
    const cassette::Interaction& recorded = cassette.interactions[i];
    ASSERT_TRUE(recorded.response.streamed());
    EXPECT_EQ(recorded.response.stream->kind, cassette::StreamKind::kSse);
    EXPECT_TRUE(recorded.response.stream->Concatenated() == bodies[i]);
    std::vector<std::string> expected = SseEvents(bodies[i]);
    ASSERT_EQ(recorded.response.stream->events.size(), expected.size());
    for (size_t e = 0; e < expected.size(); ++e) {
      EXPECT_EQ(recorded.response.stream->events[e].bytes, expected[e]) << "event " << e;
    }
    EXPECT_FALSE(recorded.truncated.has_value());
  }
}

TEST_F(RecordTest, FirstEventReachesTheClientWhileTheUpstreamHoldsTheRest) {
  StartUpstream();
  std::vector<std::string> events = Sample(3);
  upstream_->Respond(FakeResponse::Sse(events, /*hold=*/true));
  ASSERT_TRUE(StartProxy());

  auto client = Client();
  ASSERT_TRUE(client->Send(PostMessages()));
  ClientResponse response;
  ASSERT_TRUE(client->ReadHead(&response));
  EXPECT_EQ(response.status, 200);
  upstream_->Release(0);
  ASSERT_TRUE(client->ReadBodyUntil(
      &response, [&](const std::string& body) { return body.size() >= events[0].size(); }));
  // What arrived is exactly the first event, and the upstream has not sent more.
  EXPECT_EQ(response.body, events[0]);
  // (The fake notes what it sent just after sending it.)
  ASSERT_TRUE(upstream_->WaitForPiecesSent(0, 1));
  CapturedRequest upstream_side = upstream_->request(0);
  EXPECT_EQ(upstream_side.pieces_sent, 1u);
  EXPECT_FALSE(upstream_side.finished);

  upstream_->Release(0);
  ASSERT_TRUE(client->ReadBodyUntil(&response, [&](const std::string& body) {
    return body.size() >= events[0].size() + events[1].size();
  }));
  EXPECT_EQ(response.body, events[0] + events[1]);
  upstream_->ReleaseAll(0);
  ASSERT_TRUE(client->ReadToEnd(&response));
  EXPECT_EQ(response.end, End::kComplete);
  EXPECT_EQ(response.body, Join(events));
}

TEST_F(RecordTest, StampsHeadAndEventArrivalFromTheInjectedClock) {
  StartUpstream();
  FakeClock& clock = clock_;
  std::vector<std::string> events = Sample(3);
  upstream_->Respond(FakeResponse::Sse(events, /*hold=*/true));
  RecordProxyConfig config;
  config.clock = &clock;
  ASSERT_TRUE(StartProxy(config));

  auto client = Client();
  ASSERT_TRUE(client->Send(PostMessages()));
  ClientResponse response;
  ASSERT_TRUE(client->ReadHead(&response));  // head stamped at +0
  size_t expected_size = 0;
  for (size_t i = 0; i < events.size(); ++i) {
    // The clock moves only while nothing is in flight, so each stamp is exact.
    clock.Advance(static_cast<Micros>(1000 * (i + 1)));
    upstream_->Release(0);
    expected_size += events[i].size();
    ASSERT_TRUE(client->ReadBodyUntil(
        &response, [&](const std::string& body) { return body.size() >= expected_size; }));
  }
  ASSERT_TRUE(client->ReadToEnd(&response));
  ASSERT_TRUE(WaitForRecorded(1));
  cassette::Interaction recorded = recorded_front();
  EXPECT_EQ(recorded.timing.headers_us, 0);
  ASSERT_TRUE(recorded.response.streamed());
  const std::vector<cassette::StreamEvent>& got = recorded.response.stream->events;
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].at_us, 1000);
  EXPECT_EQ(got[1].at_us, 3000);
  EXPECT_EQ(got[2].at_us, 6000);
  EXPECT_EQ(recorded.timing.done_us, 6000);
  EXPECT_EQ(recorded.recorded_at_us, clock.WallMicros() - 6000);
}

TEST_F(RecordTest, KeysReachTheUpstreamButNeverTheCassette) {
  StartUpstream();
  // The response echoes a key too (some APIs do): it must not reach the file either.
  upstream_->Respond(
      FakeResponse::Sse({"event: message_start\ndata: {\"note\":\"" + kAnthropicKey + "\"}\n\n"}));
  RecordProxyConfig config;
  config.compress = false;  // so the raw file bytes can be searched
  ASSERT_TRUE(StartProxy(config));

  auto client = Client();
  ASSERT_TRUE(client->Send(PostMessages(
      kMessagesBody, {{"x-api-key", kAnthropicKey}, {"Authorization", "Bearer " + kOpenAiKey}})));
  ClientResponse response;
  ASSERT_TRUE(client->ReadResponse(&response));
  EXPECT_NE(response.body.find(kAnthropicKey), std::string::npos) << "the client gets it all";

  ASSERT_TRUE(upstream_->WaitForRequests(1));
  CapturedRequest seen = upstream_->request(0);
  ASSERT_NE(cassette::FindHeader(seen.headers, "x-api-key"), nullptr);
  EXPECT_EQ(*cassette::FindHeader(seen.headers, "x-api-key"), kAnthropicKey);
  ASSERT_NE(cassette::FindHeader(seen.headers, "authorization"), nullptr);
  EXPECT_EQ(*cassette::FindHeader(seen.headers, "authorization"), "Bearer " + kOpenAiKey);

  ASSERT_TRUE(WaitForRecorded(1));
  StopProxy();
  std::string file = testing::ReadFile(cassette_path_);
  ASSERT_FALSE(file.empty());
  EXPECT_EQ(file.find(kAnthropicKey), std::string::npos) << "anthropic key in the cassette";
  EXPECT_EQ(file.find(kOpenAiKey), std::string::npos) << "openai key in the cassette";
  EXPECT_EQ(file.find(kAnthropicKey.substr(0, 12)), std::string::npos);
  // The header is still there, with its value redacted.
  EXPECT_NE(file.find("x-api-key"), std::string::npos);
}

TEST_F(RecordTest, ForwardsTargetWithPrefixHostOfUpstreamAndEndToEndHeadersOnly) {
  StartUpstream();
  upstream_->SetDefault(FakeResponse::Json("{}"));
  RecordProxyConfig config;
  config.upstream_url = upstream_->url() + "/api/anthropic";
  ASSERT_TRUE(StartProxy(config));

  auto client = Client();
  ASSERT_TRUE(client->Send(TestClient::BuildRequest("POST", "/v1/messages?beta=true&x=%20y",
                                                    {{"Host", "localhost:9999"},
                                                     {"Connection", "keep-alive, X-Hop"},
                                                     {"X-Hop", "must not pass"},
                                                     {"Keep-Alive", "timeout=5"},
                                                     {"Accept-Encoding", "gzip, br"},
                                                     {"anthropic-beta", "tools-2024-04-04"},
                                                     {"X-Custom", "kept"}},
                                                    "{}")));
  ClientResponse response;
  ASSERT_TRUE(client->ReadResponse(&response));
  ASSERT_TRUE(upstream_->WaitForRequests(1));
  CapturedRequest seen = upstream_->request(0);
  EXPECT_EQ(seen.method, "POST");
  EXPECT_EQ(seen.target, "/api/anthropic/v1/messages?beta=true&x=%20y");
  EXPECT_EQ(seen.body, "{}");
  const std::string upstream_host = "127.0.0.1:" + std::to_string(upstream_->port());
  ASSERT_NE(cassette::FindHeader(seen.headers, "host"), nullptr);
  EXPECT_EQ(*cassette::FindHeader(seen.headers, "host"), upstream_host);
  EXPECT_EQ(cassette::FindHeader(seen.headers, "x-hop"), nullptr);
  EXPECT_EQ(cassette::FindHeader(seen.headers, "keep-alive"), nullptr);
  ASSERT_NE(cassette::FindHeader(seen.headers, "accept-encoding"), nullptr);
  EXPECT_EQ(*cassette::FindHeader(seen.headers, "accept-encoding"), "identity");
  ASSERT_NE(cassette::FindHeader(seen.headers, "anthropic-beta"), nullptr);
  EXPECT_EQ(*cassette::FindHeader(seen.headers, "anthropic-beta"), "tools-2024-04-04");
  ASSERT_NE(cassette::FindHeader(seen.headers, "x-custom"), nullptr);
  ASSERT_NE(cassette::FindHeader(seen.headers, "content-length"), nullptr);
  EXPECT_EQ(*cassette::FindHeader(seen.headers, "content-length"), "2");

  // A prefix the client already includes is not doubled.
  StopProxy();
  config.upstream_url = upstream_->url() + "/v1";
  ASSERT_TRUE(StartProxy(config));
  auto second = Client();
  ASSERT_TRUE(second->Send(PostMessages()));
  ASSERT_TRUE(second->ReadResponse(&response));
  ASSERT_TRUE(upstream_->WaitForRequests(2));
  EXPECT_EQ(upstream_->request(1).target, "/v1/messages");
}

class ConcurrentRecordTest : public RecordTest, public ::testing::WithParamInterface<bool> {};

// 50 streams at once, recorded on the loop (false) or on the worker thread (true).
TEST_P(ConcurrentRecordTest, FiftyConcurrentStreamsAreAllRecordedIntact) {
  constexpr int kStreams = 50;
  StartUpstream();
  // Each request names its stream in the body; the upstream answers with that stream's events.
  upstream_->SetResponder([](const CapturedRequest& request) {
    std::string tag = request.body;
    std::vector<std::string> events = Sample(20, tag);
    events.insert(events.begin(), ": ping\r\n\r\n");
    return FakeResponse::Sse(events);
  });
  RecordProxyConfig config;
  config.write_on_worker = GetParam();
  ASSERT_TRUE(StartProxy(config));

  std::vector<std::unique_ptr<TestClient>> clients;
  for (int i = 0; i < kStreams; ++i) {
    clients.push_back(Client());
    ASSERT_TRUE(clients.back()->Send(PostMessages("stream-" + std::to_string(i))));
  }
  for (int i = 0; i < kStreams; ++i) {
    ClientResponse response;
    ASSERT_TRUE(clients[i]->ReadResponse(&response));
    std::vector<std::string> expected = Sample(20, "stream-" + std::to_string(i));
    expected.insert(expected.begin(), ": ping\r\n\r\n");
    EXPECT_EQ(response.body, Join(expected)) << "stream " << i;
  }
  ASSERT_TRUE(WaitForRecorded(kStreams));
  cassette::Cassette cassette = ReadBack();
  ASSERT_EQ(cassette.interactions.size(), static_cast<size_t>(kStreams));
  std::vector<uint64_t> seqs;
  for (const cassette::Interaction& recorded : cassette.interactions) {
    const std::string& tag = recorded.request.body.bytes;
    std::vector<std::string> expected = Sample(20, tag);
    expected.insert(expected.begin(), ": ping\r\n\r\n");
    ASSERT_TRUE(recorded.response.streamed()) << tag;
    ASSERT_EQ(recorded.response.stream->events.size(), expected.size()) << tag;
    for (size_t e = 0; e < expected.size(); ++e) {
      EXPECT_EQ(recorded.response.stream->events[e].bytes, expected[e]) << tag << " event " << e;
    }
    EXPECT_FALSE(recorded.truncated.has_value());
    seqs.push_back(recorded.seq);
  }
  std::sort(seqs.begin(), seqs.end());
  EXPECT_EQ(std::unique(seqs.begin(), seqs.end()), seqs.end()) << "seq numbers are unique";
}

INSTANTIATE_TEST_SUITE_P(OnLoopAndOnWorker, ConcurrentRecordTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& p) {
                           return p.param ? std::string("Worker") : std::string("Loop");
                         });

TEST_F(RecordTest, WorkerThreadRedactsAndFlushesBeforeTheWriterCloses) {
  StartUpstream();
  upstream_->SetDefault(FakeResponse::Sse(Sample(5)));
  RecordProxyConfig config;
  config.write_on_worker = true;
  config.compress = false;
  ASSERT_TRUE(StartProxy(config));
  auto client = Client();
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(client->Send(PostMessages(kMessagesBody, {{"x-api-key", kAnthropicKey}})));
    ClientResponse response;
    ASSERT_TRUE(client->ReadResponse(&response));
  }
  // Flush on the loop, then everything is in the file even before the writer closes.
  proxy_thread_->RunSync([this] { handler_->Flush(); });
  EXPECT_EQ(stats().recorded, 10u);
  std::string file = testing::ReadFile(cassette_path_);
  size_t lines = static_cast<size_t>(std::count(file.begin(), file.end(), '\n'));
  EXPECT_EQ(lines, 11u) << "a header line and 10 interactions";
  EXPECT_EQ(file.find(kAnthropicKey), std::string::npos);
  ASSERT_TRUE(WaitForRecorded(10));
  EXPECT_EQ(ReadBack().interactions.size(), 10u);
}

TEST_F(RecordTest, UpstreamResetMidStreamEndsTheClientAbruptlyAndIsRecordedTruncated) {
  StartUpstream();
  std::vector<std::string> events = Sample(3);
  FakeResponse response = FakeResponse::Sse(events);
  response.reset_at_end = true;
  upstream_->Respond(response);
  ASSERT_TRUE(StartProxy());

  auto client = Client();
  ASSERT_TRUE(client->Send(PostMessages()));
  ClientResponse got;
  ASSERT_TRUE(client->ReadHead(&got));
  ASSERT_TRUE(client->ReadToEnd(&got));
  EXPECT_NE(got.end, End::kComplete) << "no made-up clean end";
  EXPECT_TRUE(got.end == End::kReset || got.end == End::kEof) << EndName(got.end);
  EXPECT_EQ(Join(events).compare(0, got.body.size(), got.body), 0) << "a prefix of what was sent";

  ASSERT_TRUE(WaitForRecorded(1));
  cassette::Cassette cassette = ReadBack();
  ASSERT_EQ(cassette.interactions.size(), 1u);
  const cassette::Interaction& recorded = cassette.interactions[0];
  ASSERT_TRUE(recorded.truncated.has_value());
  EXPECT_NE(recorded.truncated->find("mid-response"), std::string::npos) << *recorded.truncated;
  ASSERT_TRUE(recorded.response.streamed());
  EXPECT_EQ(recorded.response.stream->Concatenated(), Join(events));
}

TEST_F(RecordTest, ClientDisconnectCancelsTheUpstreamAndRecordsThePartialStream) {
  StartUpstream();
  std::vector<std::string> events = Sample(4);
  upstream_->Respond(FakeResponse::Sse(events, /*hold=*/true));
  ASSERT_TRUE(StartProxy());

  auto client = Client();
  ASSERT_TRUE(client->Send(PostMessages()));
  ClientResponse got;
  ASSERT_TRUE(client->ReadHead(&got));
  upstream_->Release(0);
  ASSERT_TRUE(client->ReadBodyUntil(
      &got, [&](const std::string& body) { return body.size() >= events[0].size(); }));
  client->Close();

  ASSERT_TRUE(upstream_->WaitForClientGone(0));
  ASSERT_TRUE(WaitForRecorded(1));
  cassette::Cassette cassette = ReadBack();
  ASSERT_EQ(cassette.interactions.size(), 1u);
  const cassette::Interaction& recorded = cassette.interactions[0];
  ASSERT_TRUE(recorded.truncated.has_value());
  EXPECT_EQ(*recorded.truncated, "client disconnected");
  ASSERT_TRUE(recorded.response.streamed());
  EXPECT_EQ(recorded.response.stream->Concatenated(), events[0]);
}

TEST_F(RecordTest, UnreachableUpstreamGivesA502InTheProvidersShapeAndRecordsNothing) {
  // A port nothing listens on: bind one, note it, close it.
  uint16_t dead_port = 0;
  {
    StartUpstream();
    dead_port = upstream_->port();
    upstream_.reset();
  }
  RecordProxyConfig config;
  config.upstream_url = "http://127.0.0.1:" + std::to_string(dead_port);
  ASSERT_TRUE(StartProxy(config));

  auto client = Client();
  ASSERT_TRUE(client->Send(PostMessages(kMessagesBody, {{"x-api-key", "placeholder"}})));
  ClientResponse response;
  ASSERT_TRUE(client->ReadResponse(&response));
  EXPECT_EQ(response.status, 502);
  ASSERT_NE(cassette::FindHeader(response.headers, "x-tapedeck-error"), nullptr);
  EXPECT_EQ(*cassette::FindHeader(response.headers, "x-tapedeck-error"), "upstream");
  EXPECT_EQ(cassette::FindHeader(response.headers, "x-should-retry"), nullptr)
      << "SDK retry semantics stay those of a real 5xx";
  EXPECT_NE(response.body.find(R"("type":"error")"), std::string::npos) << response.body;
  EXPECT_NE(response.body.find("api_error"), std::string::npos) << response.body;
  EXPECT_NE(response.body.find("connect to 127.0.0.1:" + std::to_string(dead_port) + " failed"),
            std::string::npos)
      << response.body;

  // The connection stays usable, and nothing was recorded.
  ASSERT_TRUE(client->Send(PostMessages()));
  ASSERT_TRUE(client->ReadResponse(&response));
  EXPECT_EQ(response.status, 502);
  EXPECT_EQ(stats().upstream_errors, 2u);
  cassette::Cassette cassette = ReadBack();
  EXPECT_TRUE(cassette.interactions.empty());
}

// An upstream by name (api.test), resolved through a FakeDns instead of the system's.
RecordProxyConfig NamedUpstream(const FakeDns& dns, uint16_t port) {
  RecordProxyConfig config;
  config.upstream_url = "http://api.test:" + std::to_string(port);
  config.upstream.dns_server = dns.address();
  return config;
}

TEST_F(RecordTest, StreamsStartedTogetherShareOneLookupOfTheUpstreamHost) {
  StartUpstream();
  FakeDns dns;
  ASSERT_NE(dns.port(), 0);
  ASSERT_TRUE(StartProxy(NamedUpstream(dns, upstream_->port())));
  // Five streams held open at once need five upstream connections, all resolving together.
  constexpr int kStreams = 5;
  std::vector<std::unique_ptr<TestClient>> clients;
  for (int i = 0; i < kStreams; ++i) {
    upstream_->Respond(FakeResponse::Sse(Sample(1), /*hold=*/true));
    clients.push_back(Client());
    ASSERT_TRUE(clients.back()->Send(PostMessages()));
  }
  ASSERT_TRUE(upstream_->WaitForRequests(kStreams));
  EXPECT_EQ(upstream_->accepted_connections(), static_cast<uint64_t>(kStreams));
  for (int i = 0; i < kStreams; ++i) upstream_->ReleaseAll(static_cast<uint64_t>(i));
  for (auto& client : clients) {
    ClientResponse response;
    ASSERT_TRUE(client->ReadResponse(&response));
    EXPECT_EQ(response.status, 200);
  }
  EXPECT_EQ(dns.a_queries(), 1) << "one lookup for five connections";
  EXPECT_EQ(dns.a_names(), std::vector<std::string>{"api.test"});
}

TEST_F(RecordTest, NewConnectionsReuseTheResolvedAddressUnlessTheCacheIsOff) {
  StartUpstream();
  FakeDns dns;
  ASSERT_NE(dns.port(), 0);
  // Three requests one after the other, each on a new upstream connection (no pool): with the
  // default cache they share one lookup, with the cache off each makes its own.
  for (const Micros dns_cache_us : {proxy::UpstreamOptions().dns_cache_us, Micros{0}}) {
    SCOPED_TRACE("dns_cache_us " + std::to_string(dns_cache_us));
    RecordProxyConfig config = NamedUpstream(dns, upstream_->port());
    config.upstream.max_idle_connections = 0;
    config.upstream.dns_cache_us = dns_cache_us;
    ASSERT_TRUE(StartProxy(config));
    const int lookups_before = dns.a_queries();
    const uint64_t connections_before = upstream_->accepted_connections();
    auto client = Client();
    for (int i = 0; i < 3; ++i) {
      upstream_->Respond(FakeResponse::Json(R"({"n":)" + std::to_string(i) + "}"));
      ClientResponse response;
      ASSERT_TRUE(PostAndRead(*client, &response));
      EXPECT_EQ(response.status, 200);
    }
    EXPECT_EQ(upstream_->accepted_connections() - connections_before, 3u);
    EXPECT_EQ(dns.a_queries() - lookups_before, dns_cache_us > 0 ? 1 : 3);
    StopProxy();
  }
}

TEST_F(RecordTest, AHostThatDoesNotResolveGetsA502AndTheNextRequestAsksAgain) {
  StartUpstream();
  FakeDns dns;
  ASSERT_NE(dns.port(), 0);
  dns.set_nxdomain(true);
  ASSERT_TRUE(StartProxy(NamedUpstream(dns, upstream_->port())));

  auto client = Client();
  ClientResponse response;
  ASSERT_TRUE(PostAndRead(*client, &response));
  EXPECT_EQ(response.status, 502);
  EXPECT_NE(response.body.find(R"("type":"error")"), std::string::npos) << response.body;
  EXPECT_NE(response.body.find("resolve api.test"), std::string::npos) << response.body;
  EXPECT_EQ(stats().upstream_errors, 1u);

  // The failure is not kept: once the name resolves, the next request gets through.
  dns.set_nxdomain(false);
  upstream_->Respond(FakeResponse::Json(R"({"ok":true})"));
  ASSERT_TRUE(PostAndRead(*client, &response));
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, R"({"ok":true})");
  EXPECT_EQ(dns.a_queries(), 2);
}

TEST_F(RecordTest, UpstreamClosingBeforeTheHeadGivesA502) {
  StartUpstream();
  FakeResponse reset;
  reset.reset_before_head = true;
  upstream_->Respond(reset);
  ASSERT_TRUE(StartProxy());
  auto client = Client();
  ASSERT_TRUE(client->Send(PostMessages()));
  ClientResponse response;
  ASSERT_TRUE(client->ReadResponse(&response));
  EXPECT_EQ(response.status, 502);
  EXPECT_NE(response.body.find("before responding"), std::string::npos) << response.body;
}

TEST_F(RecordTest, KeepAliveServesTwoRequestsOnOneConnectionAndReusesTheUpstreamConnection) {
  StartUpstream();
  upstream_->Respond(FakeResponse::Json(R"({"n":1})"));
  upstream_->Respond(FakeResponse::Sse(Sample(2)));
  ASSERT_TRUE(StartProxy());

  auto client = Client();
  ClientResponse first, second;
  ASSERT_TRUE(PostAndRead(*client, &first));
  EXPECT_EQ(first.body, R"({"n":1})");
  ASSERT_TRUE(PostAndRead(*client, &second));
  EXPECT_EQ(second.body, Join(Sample(2)));
  EXPECT_TRUE(second.chunked);

  EXPECT_EQ(proxy_thread_->RunSync([this] { return server_->accepted_connections(); }), 1u);
  EXPECT_EQ(upstream_->accepted_connections(), 1u) << "the upstream connection was pooled";
  ASSERT_TRUE(WaitForRecorded(2));
  std::vector<cassette::Interaction> all = recorded();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_LT(all[0].seq, all[1].seq);
}

TEST_F(RecordTest, ARequestOnAPooledConnectionTheUpstreamDropsIsRetriedOnANewOne) {
  td::testing::DroppingUpstream upstream;
  RecordProxyConfig config;
  config.upstream_url = upstream.url();
  ASSERT_TRUE(StartProxy(config));

  auto client = Client();
  ClientResponse first, second;
  ASSERT_TRUE(PostAndRead(*client, &first));
  EXPECT_EQ(first.body, R"({"n":1})");
  ASSERT_TRUE(PostAndRead(*client, &second));
  EXPECT_EQ(second.status, 200);
  EXPECT_EQ(second.body, R"({"n":2})") << "retried transparently, not a 502";

  // The second request went out on the pooled connection, was dropped, and went again.
  EXPECT_EQ(upstream.connections_of_requests(), (std::vector<int>{1, 1, 2}));
  ASSERT_TRUE(WaitForRecorded(2));
  std::vector<cassette::Interaction> all = recorded();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[1].response.body.bytes, R"({"n":2})");
  EXPECT_FALSE(all[1].truncated.has_value());
}

TEST_F(RecordTest, MalformedRequestGetsA400AndNothingIsForwarded) {
  StartUpstream();
  ASSERT_TRUE(StartProxy());
  auto client = Client();
  ASSERT_TRUE(
      client->Send("POST /v1/messages HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n"
                   "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"));
  std::string raw;
  ASSERT_TRUE(client->ReadUntilClosed(&raw));
  EXPECT_EQ(raw.rfind("HTTP/1.1 400 Bad Request\r\n", 0), 0u) << raw;
  EXPECT_NE(raw.find("Connection: close"), std::string::npos);
  EXPECT_NE(raw.find("both content-length and transfer-encoding"), std::string::npos);
  EXPECT_TRUE(upstream_->requests().empty());
}

TEST_F(RecordTest, SlowClientPausesTheUpstreamAndLosesNothing) {
  StartUpstream();
  // 16 MiB in 64 KiB events: far more than the socket buffers and the 1 MiB high watermark.
  std::vector<std::string> events;
  for (int i = 0; i < 256; ++i) {
    std::string data(64 * 1024 - 32, static_cast<char>('a' + i % 26));
    events.push_back("data: " + std::to_string(i) + data + "\n\n");
  }
  upstream_->Respond(FakeResponse::Sse(events));
  RecordProxyConfig config;
  config.passthrough = true;  // the point is the transfer, not a 16 MiB cassette
  ASSERT_TRUE(StartProxy(config));

  auto client = Client();
  ASSERT_TRUE(client->Send(PostMessages()));
  // The client reads nothing until the proxy has had to hold the upstream back.
  ASSERT_TRUE(WaitUntil([&] { return stats().pauses > 0; }, "the proxy to pause the upstream"));
  ClientResponse response;
  ASSERT_TRUE(client->ReadResponse(&response));
  EXPECT_TRUE(response.body == Join(events))
      << "body differs (" << response.body.size() << " of " << Join(events).size() << " bytes)";
}

TEST_F(RecordTest, PassthroughForwardsAndWritesNothing) {
  StartUpstream();
  upstream_->Respond(FakeResponse::Json(R"({"ok":true})"));
  RecordProxyConfig config;
  config.passthrough = true;
  ASSERT_TRUE(StartProxy(config));
  auto client = Client();
  ASSERT_TRUE(client->Send(PostMessages()));
  ClientResponse response;
  ASSERT_TRUE(client->ReadResponse(&response));
  EXPECT_EQ(response.body, R"({"ok":true})");
  EXPECT_EQ(stats().forwarded, 1u);
  EXPECT_EQ(stats().recorded, 0u);
  StopProxy();
  EXPECT_FALSE(std::filesystem::exists(cassette_path_));
}

TEST_F(RecordTest, NdjsonStreamIsRecordedAsChunks) {
  StartUpstream();
  FakeResponse response;
  response.headers = {{"content-type", "application/x-ndjson"}};
  response.pieces = {"{\"a\":1}\n", "{\"b\":2}\n{\"c\":3}\n"};
  upstream_->Respond(response);
  ASSERT_TRUE(StartProxy());
  auto client = Client();
  ASSERT_TRUE(client->Send(PostMessages()));
  ClientResponse got;
  ASSERT_TRUE(client->ReadResponse(&got));
  EXPECT_EQ(got.body, "{\"a\":1}\n{\"b\":2}\n{\"c\":3}\n");
  ASSERT_TRUE(WaitForRecorded(1));
  cassette::Interaction recorded = recorded_front();
  ASSERT_TRUE(recorded.response.streamed());
  EXPECT_EQ(recorded.response.stream->kind, cassette::StreamKind::kChunks);
  EXPECT_EQ(recorded.response.stream->Concatenated(), got.body);
}

TEST_F(RecordTest, QuietUpstreamHitsTheReadTimeoutAndIsRecordedTruncated) {
  StartUpstream();
  std::vector<std::string> events = Sample(3);
  upstream_->Respond(FakeResponse::Sse(events, /*hold=*/true));
  RecordProxyConfig config;
  config.upstream.read_timeout_us = 200'000;
  ASSERT_TRUE(StartProxy(config));
  auto client = Client();
  ASSERT_TRUE(client->Send(PostMessages()));
  ClientResponse got;
  ASSERT_TRUE(client->ReadHead(&got));
  upstream_->Release(0);  // one event, then silence
  ASSERT_TRUE(client->ReadToEnd(&got));
  EXPECT_NE(got.end, End::kComplete);
  EXPECT_EQ(got.body, events[0]);
  ASSERT_TRUE(WaitForRecorded(1));
  cassette::Interaction recorded = recorded_front();
  ASSERT_TRUE(recorded.truncated.has_value());
  EXPECT_EQ(*recorded.truncated,
            "no data from upstream 127.0.0.1:" + std::to_string(upstream_->port()) + " for 200 ms");
  ASSERT_TRUE(upstream_->WaitForClientGone(0)) << "the proxy closed its upstream connection";
}

TEST_F(RecordTest, CassetteWriteErrorIsCountedAndTheClientIsStillServed) {
  StartUpstream();
  upstream_->Respond(FakeResponse::Json(R"({"ok":true})"));
  ASSERT_TRUE(StartProxy());
  // Close the cassette under the handler: every Append now fails.
  Status closed = proxy_thread_->RunSync([this] { return writer_->Close(); });
  ASSERT_TRUE(closed.ok()) << closed.message();
  auto client = Client();
  ASSERT_TRUE(client->Send(PostMessages()));
  ClientResponse response;
  ASSERT_TRUE(client->ReadResponse(&response));
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, R"({"ok":true})");
  ASSERT_TRUE(WaitForRecorded(1));  // on_recorded still sees it
  proxy::RecordStats counted = stats();
  EXPECT_EQ(counted.write_errors, 1u);
  EXPECT_EQ(counted.recorded, 0u);
}

TEST_F(RecordTest, AKeyInThePathNeverReachesTheLog) {
  StartUpstream();
  upstream_->Respond(FakeResponse::Json(R"({"ok":true})"));
  FakeResponse broken;  // every later request: a reset before the head (also the retry)
  broken.reset_before_head = true;
  upstream_->SetDefault(broken);
  ASSERT_TRUE(StartProxy());
  LogCapture log;
  const std::string path = "/v1/keys/" + kAnthropicKey + "/check";
  for (int i = 0; i < 2; ++i) {
    auto client = Client();
    ASSERT_TRUE(client->Send(TestClient::BuildRequest("POST", path, {}, "{}")));
    ClientResponse response;
    ASSERT_TRUE(client->ReadResponse(&response));
    EXPECT_EQ(response.status, i == 0 ? 200 : 502);
  }
  ASSERT_TRUE(WaitForRecorded(1));
  StopProxy();
  EXPECT_EQ(log.Count(kAnthropicKey), 0u) << log.Text();
  // Both the access lines and the upstream-failure warning show the redacted path.
  EXPECT_EQ(log.Count("/v1/keys/[REDACTED:anthropic-key]/check"), 3u) << log.Text();
}

TEST_F(RecordTest, WritesOneAccessLogLinePerExchange) {
  StartUpstream();
  upstream_->Respond(FakeResponse::Json(R"({"ok":true})"));
  ASSERT_TRUE(StartProxy());
  LogCapture log;
  auto client = Client();
  ASSERT_TRUE(client->Send(TestClient::BuildRequest("POST", "/v1/messages?key=secret-query",
                                                    {{"x-api-key", kAnthropicKey}}, "{}")));
  ClientResponse response;
  ASSERT_TRUE(client->ReadResponse(&response));
  ASSERT_TRUE(WaitForRecorded(1));
  StopProxy();
  std::vector<std::string> access;
  for (const std::string& line : log.lines()) {
    EXPECT_EQ(line.find(kAnthropicKey), std::string::npos) << "a key in the log: " << line;
    EXPECT_EQ(line.find("secret-query"), std::string::npos) << "a query in the log: " << line;
    if (line.find("mode=record") != std::string::npos) access.push_back(line);
  }
  ASSERT_EQ(access.size(), 1u);
  EXPECT_NE(access[0].find("mode=record result=recorded status=200 bytes=11 ms="),
            std::string::npos)
      << access[0];
  EXPECT_NE(access[0].find(" POST /v1/messages seq=1"), std::string::npos) << access[0];
}

// `tapedeck cassette verify FILE`, in process: its exit code and what it printed.
std::pair<int, std::string> Verify(const std::string& path) {
  Result<cli::Config> config = cli::Config::Parse(cli::kCassetteCmd, {path}, {});
  EXPECT_TRUE(config.ok()) << config.status().message();
  if (!config.ok()) return {-1, ""};
  std::ostringstream out, err;
  int code = cli::RunCassetteCommand("verify", *config, out, err);
  return {code, out.str() + err.str()};
}

// Log lines at warn and above, captured for one test.
class WarnLines {
 public:
  WarnLines() {
    SetLogSink(
        [](LogLevel level, std::string_view line, void* arg) {
          auto* self = static_cast<WarnLines*>(arg);
          std::lock_guard<std::mutex> lock(self->mu_);
          if (level >= LogLevel::kWarn) self->lines_.emplace_back(line);
        },
        this);
  }
  ~WarnLines() { SetLogSink(nullptr, nullptr); }
  std::string Find(std::string_view needle) {
    std::lock_guard<std::mutex> lock(mu_);
    for (const std::string& line : lines_) {
      if (line.find(needle) != std::string::npos) return line;
    }
    return "";
  }
  bool Mentions(std::string_view needle) {
    std::lock_guard<std::mutex> lock(mu_);
    return std::any_of(lines_.begin(), lines_.end(), [&](const std::string& line) {
      return line.find(needle) != std::string::npos;
    });
  }

 private:
  std::mutex mu_;
  std::vector<std::string> lines_;
};

std::string MessagesWithText(const std::string& text) {
  return R"({"model":"claude-sonnet-4-5","max_tokens":64,"messages":[{"role":"user","content":")" +
         text + R"("}]})";
}

TEST_F(RecordTest, GzippedRequestIsForwardedAsSentAndRecordedDecodedAndRedacted) {
  StartUpstream();
  upstream_->Respond(FakeResponse::Json(R"({"ok":true})"));
  RecordProxyConfig config;
  config.compress = false;  // so the raw file bytes can be searched
  ASSERT_TRUE(StartProxy(config));
  const std::string key = FakeAnthropicKey();
  const std::string json = MessagesWithText("my key is " + key);
  const std::string zipped = Gzip(json);

  auto client = Client();
  ASSERT_TRUE(client->Send(PostMessages(zipped, {{"Content-Encoding", "gzip"}})));
  ClientResponse response;
  ASSERT_TRUE(client->ReadResponse(&response));
  EXPECT_EQ(response.status, 200);

  // The upstream gets exactly what the client sent: the same compressed bytes and header.
  ASSERT_TRUE(upstream_->WaitForRequests(1));
  CapturedRequest seen = upstream_->request(0);
  EXPECT_EQ(seen.body, zipped);
  ASSERT_NE(cassette::FindHeader(seen.headers, "content-encoding"), nullptr);
  EXPECT_EQ(*cassette::FindHeader(seen.headers, "content-encoding"), "gzip");

  // The cassette holds the decoded JSON, key redacted, and no content-encoding.
  ASSERT_TRUE(WaitForRecorded(1));
  cassette::Cassette cassette = ReadBack();
  ASSERT_EQ(cassette.interactions.size(), 1u);
  const cassette::Request& stored = cassette.interactions[0].request;
  EXPECT_EQ(cassette::FindHeader(stored.headers, "content-encoding"), nullptr);
  EXPECT_EQ(stored.body.bytes, MessagesWithText("my key is [REDACTED:anthropic-key]"));
  const std::string file = ReadFile(cassette_path_);
  EXPECT_EQ(file.find(key), std::string::npos);
  EXPECT_NE(file.find(R"("body":{"json":{"model":"claude-sonnet-4-5")"), std::string::npos)
      << "stored as diffable JSON: " << file;

  auto [code, out] = Verify(cassette_path_);
  EXPECT_EQ(code, cli::kExitOk) << out;
}

TEST_F(RecordTest, CorruptGzipRequestIsForwardedRecordedAsSentAndFailsVerify) {
  StartUpstream();
  upstream_->Respond(FakeResponse::Json(R"({"ok":true})"));
  WarnLines warnings;
  ASSERT_TRUE(StartProxy());
  std::string corrupt = Gzip(MessagesWithText("hello"));
  corrupt[corrupt.size() - 6] ^= 0x20;  // the CRC-32 no longer matches

  auto client = Client();
  ASSERT_TRUE(client->Send(PostMessages(corrupt, {{"Content-Encoding", "gzip"}})));
  ClientResponse response;
  ASSERT_TRUE(client->ReadResponse(&response));
  EXPECT_EQ(response.status, 200);
  ASSERT_TRUE(upstream_->WaitForRequests(1));
  EXPECT_EQ(upstream_->request(0).body, corrupt);

  ASSERT_TRUE(WaitForRecorded(1));
  cassette::Cassette cassette = ReadBack();
  ASSERT_EQ(cassette.interactions.size(), 1u);
  const cassette::Request& stored = cassette.interactions[0].request;
  EXPECT_EQ(stored.body.bytes, corrupt);
  ASSERT_NE(cassette::FindHeader(stored.headers, "content-encoding"), nullptr);
  const std::string why = "request.body: cannot decode gzip: corrupt at byte " +
                          std::to_string(corrupt.size() - 4) + ": incorrect data check";
  EXPECT_TRUE(warnings.Mentions("interaction seq=1: " + why)) << "a warn line says why";

  auto [code, out] = Verify(cassette_path_);
  EXPECT_EQ(code, cli::kExitProblem);
  EXPECT_NE(out.find(cassette_path_ + ": interaction 0: " + why + "; not scanned"),
            std::string::npos)
      << out;
}

TEST_F(RecordTest, CompressedResponseHoldingAKeyIsWithheldAndACleanOneKeptAsSent) {
  // An upstream that ignores Accept-Encoding: identity. Its bytes must replay as they are, so a
  // key inside cannot be masked: that interaction is not recorded.
  StartUpstream();
  const std::string answer = R"({"echo":"the key )" + FakeOpenAiKey() + R"( again"})";
  const std::string leaky = Gzip(answer);
  const std::string clean = Gzip(R"({"ok":true})");
  for (const std::string* body : {&leaky, &clean}) {
    FakeResponse r = FakeResponse::Json(*body);
    r.headers.emplace_back("Content-Encoding", "gzip");
    upstream_->Respond(std::move(r));
  }
  WarnLines warnings;
  ASSERT_TRUE(StartProxy());
  auto client = Client();
  for (const std::string* body : {&leaky, &clean}) {
    ASSERT_TRUE(client->Send(PostMessages()));
    ClientResponse response;
    ASSERT_TRUE(client->ReadResponse(&response));
    EXPECT_EQ(response.body, *body) << "the client gets the upstream's bytes";
  }
  ASSERT_TRUE(WaitForRecorded(1));
  EXPECT_EQ(stats().not_recorded, 1u);
  const std::string error = warnings.Find("interaction seq=1 not recorded");
  EXPECT_NE(error.find("openai-key at response.body (gzip) at byte " +
                       std::to_string(answer.find("sk-proj-"))),
            std::string::npos)
      << error;

  cassette::Cassette cassette = ReadBack();
  ASSERT_EQ(cassette.interactions.size(), 1u);
  EXPECT_EQ(cassette.interactions[0].seq, 2u);
  EXPECT_EQ(cassette.interactions[0].response.body.bytes, clean);
  auto [code, out] = Verify(cassette_path_);
  EXPECT_EQ(code, cli::kExitOk) << out;
}

}  // namespace
}  // namespace td::testing
