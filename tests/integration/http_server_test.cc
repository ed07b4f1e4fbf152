// Integration tests of HttpServer on its own, with small in-test handlers: keep-alive and
// pipelining, request bodies, Expect: 100-continue, limits (sizes, request deadlines, the
// per-client connection cap), the required key, HTTP/1.0, the sink's framing, Reset(),
// client-gone, and graceful shutdown.
#include "proxy/http_server.h"

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "cassette/base/log.h"
#include "proxy/chunked_coding.h"
#include "tests/support/log_capture.h"
#include "tests/support/loop_thread.h"
#include "tests/support/test_client.h"
#include "tests/support/wait.h"

namespace td::testing {
namespace {

using End = ClientResponse::End;
using std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;

// Sends `bytes` one at a time, `interval` apart, the way a slow or hostile client would, and
// stops as soon as the server answers (or closes). Returns how many bytes went out.
size_t Dribble(TestClient* client, std::string_view bytes, milliseconds interval) {
  for (size_t i = 0; i < bytes.size(); ++i) {
    if (!client->Send(bytes.substr(i, 1))) return i;
    if (client->WaitReadable(interval)) return i + 1;
  }
  return bytes.size();
}

class FnHandler final : public proxy::Handler {
 public:
  std::function<void(std::shared_ptr<proxy::Exchange>)> fn;
  void Handle(std::shared_ptr<proxy::Exchange> exchange) override { fn(std::move(exchange)); }
};

class ServerTest : public ::testing::Test {
 protected:
  void TearDown() override {
    if (thread_) {
      thread_->RunSync([this] {
        held_.clear();
        server_.reset();
      });
      thread_.reset();
    }
  }

  void Start(std::function<void(std::shared_ptr<proxy::Exchange>)> fn,
             proxy::ServerOptions options = {}) {
    handler_.fn = std::move(fn);
    thread_ = std::make_unique<LoopThread>();
    Result<std::unique_ptr<proxy::HttpServer>> server = thread_->RunSync(
        [&] { return proxy::HttpServer::Create(&thread_->loop(), options, &handler_); });
    ASSERT_TRUE(server.ok()) << server.status().message();
    server_ = std::move(*server);
  }

  // Answers every request with "METHOD path body" as a Content-Length body.
  static void Echo(std::shared_ptr<proxy::Exchange> ex) {
    const cassette::Request& r = ex->request();
    std::string body = r.method + " " + ex->target() + " " + r.body.bytes;
    ex->sink().Start(200, {{"content-type", "text/plain"}}, body.size());
    ex->sink().Write(body);
    ex->sink().Finish();
  }

  std::unique_ptr<TestClient> Client() {
    auto client = std::make_unique<TestClient>(server_->port());
    EXPECT_TRUE(client->Connect());
    return client;
  }

  FnHandler handler_;
  std::unique_ptr<LoopThread> thread_;
  std::unique_ptr<proxy::HttpServer> server_;
  std::vector<std::shared_ptr<proxy::Exchange>> held_;  // loop thread only
  Notifier notifier_;
};

TEST_F(ServerTest, ReportsItsBoundAddress) {
  Start(Echo);
  EXPECT_NE(server_->port(), 0);
  EXPECT_EQ(server_->url(), "http://127.0.0.1:" + std::to_string(server_->port()));
}

TEST_F(ServerTest, BindErrorNamesTheAddress) {
  Start(Echo);
  proxy::ServerOptions taken;
  taken.port = server_->port();
  Result<std::unique_ptr<proxy::HttpServer>> second = thread_->RunSync(
      [&] { return proxy::HttpServer::Create(&thread_->loop(), taken, &handler_); });
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().message(),
            "listen 127.0.0.1:" + std::to_string(server_->port()) + ": Address already in use");
}

TEST_F(ServerTest, AnswersPipelinedRequestsInOrder) {
  Start(Echo);
  auto client = Client();
  ASSERT_TRUE(client->Send(TestClient::BuildRequest("GET", "/one") +
                           TestClient::BuildRequest("POST", "/two", {}, "2") +
                           TestClient::BuildRequest("GET", "/three")));
  for (std::string expected : {"GET /one ", "POST /two 2", "GET /three "}) {
    ClientResponse response;
    ASSERT_TRUE(client->ReadResponse(&response));
    EXPECT_EQ(response.body, expected);
  }
}

TEST_F(ServerTest, ReassemblesAChunkedRequestBody) {
  Start(Echo);
  auto client = Client();
  ASSERT_TRUE(
      client->Send("POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
                   "5\r\nhello\r\n1;ext=1\r\n \r\n5\r\nworld\r\n0\r\nTrailer: x\r\n\r\n"));
  ClientResponse response;
  ASSERT_TRUE(client->ReadResponse(&response));
  EXPECT_EQ(response.body, "POST /c hello world");
}

TEST_F(ServerTest, ExpectContinueGetsA100BeforeTheBodyIsSent) {
  Start(Echo);
  auto client = Client();
  ASSERT_TRUE(client->Send(
      "POST /e HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n"));
  ClientResponse interim;
  ASSERT_TRUE(client->ReadHead(&interim));
  EXPECT_EQ(interim.status, 100);
  ASSERT_TRUE(client->Send("body"));
  ClientResponse response;
  ASSERT_TRUE(client->ReadResponse(&response));
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, "POST /e body");
}

TEST_F(ServerTest, OversizedBodyGets413AndTheConnectionCloses) {
  proxy::ServerOptions options;
  options.limits.max_body_bytes = 10;
  Start(Echo, options);
  auto client = Client();
  ASSERT_TRUE(client->Send("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\n01234567890"));
  std::string raw;
  ASSERT_TRUE(client->ReadUntilClosed(&raw));
  EXPECT_EQ(raw.rfind("HTTP/1.1 413 Content Too Large\r\n", 0), 0u) << raw;
}

TEST_F(ServerTest, GarbageGetsA400NeverACrash) {
  Start(Echo);
  for (std::string garbage :
       {std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11),
        std::string("GET / HTTP/1.1\r\nHost: h\r\nX: \x01\r\n\r\n"), std::string(100 * 1024, 'A'),
        std::string("\r\n\r\n\r\n\r\n\r\n") + std::string(20, '\n')}) {
    auto client = Client();
    ASSERT_TRUE(client->Send(garbage));
    std::string raw;
    ASSERT_TRUE(client->ReadUntilClosed(&raw));
    EXPECT_EQ(raw.rfind("HTTP/1.1 4", 0), 0u) << raw;
  }
  // Still serving.
  auto client = Client();
  ASSERT_TRUE(client->Send(TestClient::BuildRequest("GET", "/ok")));
  ClientResponse response;
  ASSERT_TRUE(client->ReadResponse(&response));
  EXPECT_EQ(response.status, 200);
}

TEST_F(ServerTest, RequiredKeyIsCheckedAndRemoved) {
  proxy::ServerOptions options;
  options.required_key = "s3cret";
  Start(
      [](std::shared_ptr<proxy::Exchange> ex) {
        std::string body =
            cassette::FindHeader(ex->request().headers, "x-tapedeck-key") ? "key leaked" : "ok";
        ex->sink().Start(200, {}, body.size());
        ex->sink().Write(body);
        ex->sink().Finish();
      },
      options);
  auto client = Client();
  ClientResponse response;
  ASSERT_TRUE(client->Send(TestClient::BuildRequest("POST", "/v1/messages", {}, "{}")));
  ASSERT_TRUE(client->ReadResponse(&response));
  EXPECT_EQ(response.status, 401);
  EXPECT_NE(response.body.find(R"("type":"error")"), std::string::npos) << response.body;
  ASSERT_TRUE(client->Send(
      TestClient::BuildRequest("POST", "/v1/messages", {{"X-Tapedeck-Key", "wrong"}}, "{}")));
  ASSERT_TRUE(client->ReadResponse(&response));
  EXPECT_EQ(response.status, 401);
  ASSERT_TRUE(client->Send(
      TestClient::BuildRequest("POST", "/v1/messages", {{"x-tapedeck-key", "s3cret"}}, "{}")));
  ASSERT_TRUE(client->ReadResponse(&response));
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, "ok");
}

TEST_F(ServerTest, StartWritesExactlyTheGivenHeadersAndTheFraming) {
  Start([](std::shared_ptr<proxy::Exchange> ex) {
    ex->sink().Start(201,
                     {{"X-Order", "1"},
                      {"x-order", "2"},
                      {"Transfer-Encoding", "gzip"},  // hop-by-hop: dropped
                      {"Connection", "x-private"},
                      {"x-private", "dropped"},
                      {"x-bad", "a\r\nInjected: yes"}},
                     std::nullopt);
    ex->sink().Write("ab");
    ex->sink().Write("");  // an empty write must not end the chunked body
    ex->sink().Write("c");
    ex->sink().Finish();
  });
  auto client = Client();
  ASSERT_TRUE(client->Send(TestClient::BuildRequest("GET", "/")));
  ClientResponse response;
  ASSERT_TRUE(client->ReadResponse(&response));
  EXPECT_EQ(response.status, 201);
  cassette::Headers expected = {
      {"X-Order", "1"}, {"x-order", "2"}, {"Transfer-Encoding", "chunked"}};
  EXPECT_EQ(response.headers, expected);
  EXPECT_EQ(response.body, "abc");
  EXPECT_EQ(response.chunk_sizes, (std::vector<size_t>{2, 1}));
}

TEST_F(ServerTest, BatchedWritesKeepOneChunkEachOnEveryKeepAliveResponse) {
  // Sizes across hex digit boundaries, and a batch over the 64 KiB the connection keeps.
  const std::vector<size_t> sizes = {1, 15, 16, 255, 256, 4095, 4096, 70000};
  Start([&sizes](std::shared_ptr<proxy::Exchange> ex) {
    ex->sink().Start(200, {{"content-type", "text/event-stream"}}, std::nullopt);
    ex->sink().BeginBatch();
    char fill = 'a';
    for (size_t size : sizes) ex->sink().Write(std::string(size, fill++));
    ex->sink().EndBatch();
    ex->sink().Finish();
  });
  auto client = Client();
  std::string expected;
  char fill = 'a';
  for (size_t size : sizes) expected += std::string(size, fill++);
  for (int round = 0; round < 3; ++round) {
    ASSERT_TRUE(client->Send(TestClient::BuildRequest("GET", "/")));
    ClientResponse response;
    ASSERT_TRUE(client->ReadResponse(&response)) << "round " << round;
    EXPECT_EQ(response.chunk_sizes, sizes) << "round " << round;
    EXPECT_EQ(response.body, expected) << "round " << round;
  }
}

TEST_F(ServerTest, WritePiecesSendsEachPieceAsItsOwnChunkInAndOutOfABatch) {
  // The player hands a whole stream over in one call: each piece must still be its own chunk,
  // in order, mixed with plain writes, on the batched path and the direct one; an empty piece
  // must not end the body.
  const std::string body = std::string(300, 'a') + "bcd" + std::string(70000, 'e') + "f";
  const std::vector<proxy::ByteRange> pieces = {{0, 15},    {15, 16},     {16, 16},      {16, 300},
                                                {300, 303}, {303, 70303}, {70303, 70304}};
  Start([&](std::shared_ptr<proxy::Exchange> ex) {
    bool batch = ex->request().path == "/batch";
    ex->sink().Start(200, {{"content-type", "text/event-stream"}}, std::nullopt);
    if (batch) ex->sink().BeginBatch();
    ex->sink().Write("<");
    EXPECT_EQ(ex->sink().WritePieces(body, pieces), pieces.size());
    ex->sink().Write(">");
    if (batch) ex->sink().EndBatch();
    ex->sink().Finish();
  });
  auto client = Client();
  for (std::string path : {"/batch", "/direct", "/batch"}) {
    ASSERT_TRUE(client->Send(TestClient::BuildRequest("GET", path)));
    ClientResponse response;
    ASSERT_TRUE(client->ReadResponse(&response)) << path;
    EXPECT_TRUE(response.body == "<" + body + ">") << path;  // 70 KB: not printed
    EXPECT_EQ(response.chunk_sizes, (std::vector<size_t>{1, 15, 1, 284, 3, 70000, 1, 1})) << path;
  }
}

TEST_F(ServerTest, WriteChunksSendsFramedChunksAsTheyLieAndCopiesWhatMustWait) {
  // Replay hands over a stream framed at load; in a batch the sink keeps only a reference to
  // it. Whatever the socket does not take at once (8 MiB cannot go in one write) must be copied
  // before the call's caller lets go: this handler overwrites and frees its framed bytes as
  // soon as the batch is over. Twelve small calls pass the batch's reference limit. An
  // HTTP/1.0 client gets the payloads unframed, until close.
  std::vector<size_t> sizes;
  std::vector<std::string> payloads;
  for (size_t i = 1; i <= 12; ++i) payloads.push_back(std::string(i, static_cast<char>('a' + i)));
  payloads.push_back(std::string(8u << 20, 'z'));
  std::string expected;
  for (const std::string& p : payloads) {
    sizes.push_back(p.size());
    expected += p;
  }
  Start([&payloads](std::shared_ptr<proxy::Exchange> ex) {
    auto framed = std::make_unique<std::vector<std::string>>();
    for (const std::string& p : payloads) {
      std::string chunk(proxy::FramedChunkSize(p.size()), '\0');
      proxy::FrameChunk(p, chunk.data());
      framed->push_back(std::move(chunk));
    }
    const bool batch = ex->request().path == "/batch";
    ex->sink().Start(200, {{"content-type", "text/event-stream"}}, std::nullopt);
    if (batch) ex->sink().BeginBatch();
    for (const std::string& chunk : *framed) {
      EXPECT_EQ(ex->sink().WriteChunks(chunk), chunk.size());
    }
    if (batch) ex->sink().EndBatch();
    for (std::string& chunk : *framed) chunk.assign(chunk.size(), 'X');
    framed.reset();
    ex->sink().Finish();
  });
  auto client = Client();
  // 8 MiB bodies: read results are kept as bools so that a failure does not print them.
  for (std::string path : {"/batch", "/direct", "/batch"}) {
    ASSERT_TRUE(client->Send(TestClient::BuildRequest("GET", path)));
    ClientResponse response;
    const bool read = static_cast<bool>(client->ReadResponse(&response));
    ASSERT_TRUE(read) << path << ": response cut after " << response.body.size() << " bytes";
    EXPECT_TRUE(response.body == expected) << path;
    EXPECT_EQ(response.chunk_sizes, sizes) << path;
  }
  auto old_client = Client();
  ASSERT_TRUE(old_client->Send("GET /batch HTTP/1.0\r\n\r\n"));
  ClientResponse response;
  const bool read = static_cast<bool>(old_client->ReadResponse(&response));
  ASSERT_TRUE(read) << "HTTP/1.0: response cut after " << response.body.size() << " bytes";
  EXPECT_FALSE(response.chunked);
  EXPECT_EQ(response.end, End::kEof);
  EXPECT_TRUE(response.body == expected);
}

TEST_F(ServerTest, Http10ClientGetsAStreamedBodyUntilClose) {
  Start([](std::shared_ptr<proxy::Exchange> ex) {
    ex->sink().Start(200, {{"content-type", "text/event-stream"}}, std::nullopt);
    ex->sink().Write("data: 1\n\n");
    ex->sink().Write("data: 2\n\n");
    ex->sink().Finish();
  });
  auto client = Client();
  ASSERT_TRUE(client->Send("GET /s HTTP/1.0\r\n\r\n"));
  ClientResponse response;
  ASSERT_TRUE(client->ReadResponse(&response));
  EXPECT_FALSE(response.chunked);
  EXPECT_EQ(response.end, End::kEof);
  EXPECT_EQ(response.body, "data: 1\n\ndata: 2\n\n");
  ASSERT_NE(cassette::FindHeader(response.headers, "connection"), nullptr);
  EXPECT_EQ(*cassette::FindHeader(response.headers, "connection"), "close");
}

TEST_F(ServerTest, ResetDeliversWhatWasWrittenThenAnAbruptEnd) {
  Start([](std::shared_ptr<proxy::Exchange> ex) {
    ex->sink().Start(200, {{"content-type", "text/event-stream"}}, std::nullopt);
    ex->sink().Write("data: partial\n\n");
    ex->sink().Reset();
    EXPECT_FALSE(ex->sink().IsOpen());
    ex->sink().Write("ignored");  // a no-op once reset
  });
  auto client = Client();
  ASSERT_TRUE(client->Send(TestClient::BuildRequest("GET", "/")));
  ClientResponse response;
  ASSERT_TRUE(client->ReadHead(&response));
  ASSERT_TRUE(client->ReadToEnd(&response));
  EXPECT_EQ(response.body, "data: partial\n\n");
  EXPECT_EQ(response.end, End::kReset) << EndName(response.end);
}

TEST_F(ServerTest, ClientGoneIsReportedOnceAndLaterSinkCallsAreNoOps) {
  int gone = 0;
  Start([this, &gone](std::shared_ptr<proxy::Exchange> ex) {
    ex->SetOnClientGone([this, &gone, ex] {
      notifier_.Update([&] { ++gone; });
      ex->sink().Write("after");  // must be harmless
      ex->sink().Finish();
    });
    ex->sink().Start(200, {}, std::nullopt);
    ex->sink().Write("first");
    held_.push_back(ex);
  });
  auto client = Client();
  ASSERT_TRUE(client->Send(TestClient::BuildRequest("GET", "/")));
  ClientResponse response;
  ASSERT_TRUE(client->ReadHead(&response));
  ASSERT_TRUE(client->ReadBodyUntil(&response, [](const std::string& b) { return b == "first"; }));
  client->Close();
  ASSERT_TRUE(notifier_.WaitFor([&] { return gone > 0; }, "the client-gone callback"));
  bool open = thread_->RunSync([this] { return held_.front()->sink().IsOpen(); });
  EXPECT_FALSE(open);
  EXPECT_EQ(thread_->RunSync([this] { return server_->active_exchanges(); }), 0u);
  std::lock_guard<std::mutex> lock(notifier_.mutex());
  EXPECT_EQ(gone, 1);
}

TEST_F(ServerTest, StopAcceptingLetsInFlightExchangesFinishThenReportsIdle) {
  Start([this](std::shared_ptr<proxy::Exchange> ex) {
    ex->sink().Start(200, {}, std::nullopt);
    ex->sink().Write("started");
    held_.push_back(ex);
  });
  auto busy = Client();
  auto idle = Client();
  ASSERT_TRUE(busy->Send(TestClient::BuildRequest("GET", "/")));
  ClientResponse response;
  ASSERT_TRUE(busy->ReadHead(&response));
  bool idle_called = false;
  thread_->RunSync([&] {
    server_->SetOnIdle([&] { notifier_.Update([&] { idle_called = true; }); });
    server_->StopAccepting();
    EXPECT_EQ(server_->active_exchanges(), 1u);
  });
  // The idle keep-alive connection is closed; new connections are refused.
  std::string raw;
  ASSERT_TRUE(idle->ReadUntilClosed(&raw));
  EXPECT_TRUE(raw.empty());
  TestClient refused(server_->port());
  EXPECT_FALSE(refused.Connect());
  // The in-flight response carries on and ends cleanly; then the server reports idle.
  thread_->RunSync([this] {
    held_.front()->sink().Write(" and finished");
    held_.front()->sink().Finish();
  });
  ASSERT_TRUE(busy->ReadToEnd(&response));
  EXPECT_EQ(response.end, End::kComplete);
  EXPECT_EQ(response.body, "started and finished");
  ASSERT_TRUE(notifier_.WaitFor([&] { return idle_called; }, "the on-idle callback"));
  ASSERT_TRUE(busy->ReadUntilClosed(&raw)) << "a draining server closes after the response";
}

TEST_F(ServerTest, ABurstOfConnectionsIsAcceptedInTurnsAndEveryOneIsServed) {
  // 40 connections wait in the backlog at once; the server accepts a few per loop turn and
  // pauses its listener in between. None may be left behind.
  Start(Echo);
  std::vector<std::unique_ptr<TestClient>> clients;
  for (int i = 0; i < 40; ++i) clients.push_back(Client());
  for (size_t i = 0; i < clients.size(); ++i) {
    ASSERT_TRUE(clients[i]->Send(TestClient::BuildRequest("GET", "/" + std::to_string(i))));
  }
  for (size_t i = 0; i < clients.size(); ++i) {
    ClientResponse response;
    ASSERT_TRUE(clients[i]->ReadResponse(&response)) << "client " << i;
    EXPECT_EQ(response.body, "GET /" + std::to_string(i) + " ");
  }
  EXPECT_EQ(thread_->RunSync([this] { return server_->accepted_connections(); }), 40u);
}

TEST_F(ServerTest, StopAcceptingWhileTheListenerIsBetweenTurnsRefusesNewConnections) {
  Start(Echo);
  // Four connections end the listener's turn: shutdown begins while it is paused, with its
  // resumption due on the next loop turn.
  std::vector<std::unique_ptr<TestClient>> clients;
  for (int i = 0; i < 4; ++i) clients.push_back(Client());
  ASSERT_TRUE(WaitUntil(
      [&] { return thread_->RunSync([this] { return server_->accepted_connections(); }) == 4; },
      "four accepted connections"));
  thread_->RunSync([this] { server_->StopAccepting(); });
  thread_->RunSync([] {});  // the loop has turned: a resumption would have run by now
  TestClient refused(server_->port());
  EXPECT_FALSE(refused.Connect());
  for (auto& client : clients) {
    std::string raw;
    ASSERT_TRUE(client->ReadUntilClosed(&raw)) << "idle connections close on shutdown";
  }
}

TEST_F(ServerTest, IdleKeepAliveConnectionIsClosedAfterTheTimeout) {
  proxy::ServerOptions options;
  options.limits.idle_timeout_us = 50'000;
  Start(Echo, options);
  auto client = Client();
  ASSERT_TRUE(client->Send(TestClient::BuildRequest("GET", "/")));
  ClientResponse response;
  ASSERT_TRUE(client->ReadResponse(&response));
  std::string raw;
  ASSERT_TRUE(client->ReadUntilClosed(&raw));
  EXPECT_TRUE(raw.empty());
}

TEST_F(ServerTest, AResponseLongerThanTheIdleTimeoutIsNotCutAndTheConnectionStaysUp) {
  // A paced stream sends nothing for longer than the idle timeout, and the client sends
  // nothing while it waits: the connection is busy, not idle.
  proxy::ServerOptions options;
  options.limits.idle_timeout_us = 30'000;
  proxy::TimerHandle later;
  Start(
      [this, &later](std::shared_ptr<proxy::Exchange> ex) {
        ex->sink().Start(200, {{"content-type", "text/event-stream"}}, std::nullopt);
        ex->sink().Write("data: 1\n\n");
        later = thread_->loop().RunAfter(200'000, [ex] {  // six idle timeouts later
          ex->sink().Write("data: 2\n\n");
          ex->sink().Finish();
        });
      },
      options);
  auto client = Client();
  for (int round = 0; round < 2; ++round) {
    ASSERT_TRUE(client->Send(TestClient::BuildRequest("GET", "/slow"))) << round;
    ClientResponse response;
    ASSERT_TRUE(client->ReadResponse(&response)) << round;
    EXPECT_EQ(response.body, "data: 1\n\ndata: 2\n\n") << round;
  }
  std::string raw;
  ASSERT_TRUE(client->ReadUntilClosed(&raw)) << "idle once the response is done";
  EXPECT_TRUE(raw.empty());
  thread_->RunSync([&later] { later = {}; });  // timers belong to the loop's thread
}

TEST_F(ServerTest, DrainCallbackFiresWhenTheClientCatchesUp) {
  // A handler that writes 8 MiB, waits for the drain callback, then finishes.
  bool drained = false;
  Start([this, &drained](std::shared_ptr<proxy::Exchange> ex) {
    ex->sink().Start(200, {}, std::nullopt);
    ex->sink().Write(std::string(8 << 20, 'x'));
    EXPECT_GT(ex->sink().BufferedBytes(), 1u << 20);
    ex->sink().SetOnDrained([this, &drained, ex] {
      notifier_.Update([&] { drained = true; });
      EXPECT_LE(ex->sink().BufferedBytes(), 64u * 1024);
      ex->sink().Finish();
    });
  });
  auto client = Client();
  ASSERT_TRUE(client->Send(TestClient::BuildRequest("GET", "/")));
  ClientResponse response;
  ASSERT_TRUE(client->ReadResponse(&response));
  EXPECT_EQ(response.body.size(), 8u << 20);
  std::lock_guard<std::mutex> lock(notifier_.mutex());
  EXPECT_TRUE(drained);
}

TEST_F(ServerTest, DrainCallbackSetDuringABatchFiresWhenTheFlushSendsItAll) {
  // The player's pattern: a batch grows past its high watermark, the player waits for the
  // drain, the batch ends. The socket takes the whole batch at once, so no write callback
  // will come; the drain must still be reported.
  bool drained = false;
  Start([this, &drained](std::shared_ptr<proxy::Exchange> ex) {
    ex->sink().Start(200, {}, std::nullopt);
    ex->sink().BeginBatch();
    ex->sink().Write(std::string(64 * 1024, 'x'));
    // "10000\r\n", the bytes, "\r\n": all still in the batch.
    EXPECT_EQ(ex->sink().BufferedBytes(), 7 + 64u * 1024 + 2) << "the batch counts as buffered";
    ex->sink().SetOnDrained([this, &drained, ex] {
      notifier_.Update([&] { drained = true; });
      ex->sink().Finish();
    });
    ex->sink().EndBatch();
  });
  auto client = Client();
  ASSERT_TRUE(client->Send(TestClient::BuildRequest("GET", "/")));
  ClientResponse response;
  ASSERT_TRUE(client->ReadResponse(&response));
  EXPECT_EQ(response.body.size(), 64u * 1024);
  std::lock_guard<std::mutex> lock(notifier_.mutex());
  EXPECT_TRUE(drained);
}

TEST_F(ServerTest, HeadDribbledPastItsDeadlineGets408) {
  // A byte every 50 ms restarts the 60 s idle timer every time; only the head deadline can end
  // this request.
  proxy::ServerOptions options;
  options.limits.head_timeout_us = 300'000;
  Start(Echo, options);
  auto client = Client();
  std::string request = TestClient::BuildRequest("GET", "/slow", {{"x-pad", std::string(64, 'p')}});
  const auto start = SteadyClock::now();
  size_t sent = Dribble(client.get(), request, milliseconds(50));
  const auto answered = SteadyClock::now() - start;
  EXPECT_LT(sent, request.size()) << "the whole head went out unanswered";
  ClientResponse response;
  ASSERT_TRUE(client->ReadResponse(&response));
  EXPECT_EQ(response.status, 408);
  EXPECT_EQ(response.body, "tapedeck: request head not complete after 300 ms\n");
  ASSERT_NE(cassette::FindHeader(response.headers, "connection"), nullptr);
  EXPECT_EQ(*cassette::FindHeader(response.headers, "connection"), "close");
  EXPECT_GE(answered, milliseconds(300)) << "answered before the deadline";
  std::string raw;
  ASSERT_TRUE(client->ReadUntilClosed(&raw));
}

TEST_F(ServerTest, BodyDribbledPastItsDeadlineGets408) {
  // The head arrives in time (in two parts 100 ms apart, within its 500 ms); the body then has
  // its own 600 ms from the end of the head, whatever was left of the head's. (The timer armed
  // for the head fires during the body and must re-arm for the time left, not answer.)
  proxy::ServerOptions options;
  options.limits.head_timeout_us = 500'000;
  options.limits.body_timeout_us = 600'000;
  bool handled = false;
  Start(
      [this, &handled](std::shared_ptr<proxy::Exchange> ex) {
        notifier_.Update([&] { handled = true; });
        Echo(std::move(ex));
      },
      options);
  auto client = Client();
  const auto start = SteadyClock::now();
  ASSERT_TRUE(client->Send("POST /upload HTTP/1.1\r\nHost: h\r\n"));
  EXPECT_FALSE(client->WaitReadable(milliseconds(100))) << "answered inside the head deadline";
  ASSERT_TRUE(client->Send("Content-Length: 1000\r\n\r\n"));
  size_t sent = Dribble(client.get(), std::string(1000, 'b'), milliseconds(50));
  const auto answered = SteadyClock::now() - start;
  EXPECT_LT(sent, 1000u) << "the whole body went out unanswered";
  ClientResponse response;
  ASSERT_TRUE(client->ReadResponse(&response));
  EXPECT_EQ(response.status, 408);
  EXPECT_EQ(response.body, "tapedeck: request body not complete after 600 ms\n");
  EXPECT_GE(answered, milliseconds(100 + 600)) << "the body did not get its own deadline";
  std::string raw;
  ASSERT_TRUE(client->ReadUntilClosed(&raw));
  std::lock_guard<std::mutex> lock(notifier_.mutex());
  EXPECT_FALSE(handled) << "an incomplete request reached the handler";
}

TEST_F(ServerTest, RequestsInTimeAreServedAndTheirConnectionOutlivesTheDeadlinesWhileIdle) {
  proxy::ServerOptions options;
  options.limits.head_timeout_us = 500'000;
  options.limits.body_timeout_us = 500'000;
  Start(Echo, options);
  auto client = Client();
  const std::string request = TestClient::BuildRequest("POST", "/in-time", {}, "body");
  const size_t split = request.find("\r\n\r\n") - 5;  // mid-head
  for (int round = 0; round < 2; ++round) {
    // Each request arrives in two parts 100 ms apart: its deadlines are armed, then met.
    ASSERT_TRUE(client->Send(request.substr(0, split)));
    EXPECT_FALSE(client->WaitReadable(milliseconds(100))) << "round " << round;
    ASSERT_TRUE(client->Send(request.substr(split)));
    ClientResponse response;
    ASSERT_TRUE(client->ReadResponse(&response)) << "round " << round;
    EXPECT_EQ(response.status, 200) << "round " << round;
    EXPECT_EQ(response.body, "POST /in-time body");
    // Idle for longer than both deadlines: only the 60 s idle timeout applies now, so the
    // server neither answers nor closes, and the next request gets deadlines of its own.
    EXPECT_FALSE(client->WaitReadable(milliseconds(700))) << "round " << round;
  }
  EXPECT_EQ(thread_->RunSync([this] { return server_->accepted_connections(); }), 1u);
}

TEST_F(ServerTest, ConnectionsOverThePerClientCapGet503UntilOneCloses) {
  proxy::ServerOptions options;
  options.limits.max_connections_per_client = 3;
  Start(Echo, options);
  std::vector<std::unique_ptr<TestClient>> held;
  for (int i = 0; i < 3; ++i) held.push_back(Client());

  auto fourth = Client();  // the kernel completes the handshake; the server refuses it
  ClientResponse refused;
  ASSERT_TRUE(fourth->ReadResponse(&refused));
  EXPECT_EQ(refused.status, 503);
  EXPECT_EQ(refused.body,
            "tapedeck: too many connections from 127.0.0.1: it already has 3 open, the most one "
            "client address may hold\n");
  ASSERT_NE(cassette::FindHeader(refused.headers, "retry-after"), nullptr);
  EXPECT_EQ(*cassette::FindHeader(refused.headers, "retry-after"), "1");
  ASSERT_NE(cassette::FindHeader(refused.headers, "connection"), nullptr);
  EXPECT_EQ(*cassette::FindHeader(refused.headers, "connection"), "close");
  std::string raw;
  ASSERT_TRUE(fourth->ReadUntilClosed(&raw));

  for (size_t i = 0; i < held.size(); ++i) {
    ASSERT_TRUE(held[i]->Send(TestClient::BuildRequest("GET", "/" + std::to_string(i))));
    ClientResponse response;
    ASSERT_TRUE(held[i]->ReadResponse(&response)) << "held connection " << i;
    EXPECT_EQ(response.body, "GET /" + std::to_string(i) + " ");
  }

  held.front()->Close();
  ASSERT_TRUE(WaitUntil(
      [&] { return thread_->RunSync([this] { return server_->open_connections(); }) == 2; },
      "the server to see the first connection close"));
  auto next = Client();
  ASSERT_TRUE(next->Send(TestClient::BuildRequest("GET", "/next")));
  ClientResponse response;
  ASSERT_TRUE(next->ReadResponse(&response));
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, "GET /next ");
  EXPECT_EQ(thread_->RunSync([this] { return server_->refused_connections(); }), 1u);
}

TEST_F(ServerTest, AFloodOfRefusedConnectionsLogsOneWarning) {
  proxy::ServerOptions options;
  options.limits.max_connections_per_client = 1;
  Start(Echo, options);
  LogCapture log;
  auto held = Client();
  std::vector<std::unique_ptr<TestClient>> flood;
  for (int i = 0; i < 20; ++i) flood.push_back(Client());
  ASSERT_TRUE(WaitUntil(
      [&] { return thread_->RunSync([this] { return server_->refused_connections(); }) == 20; },
      "twenty refusals"));
  std::vector<std::string> warnings = log.lines(LogLevel::kWarn);
  ASSERT_EQ(warnings.size(), 1u) << ::testing::PrintToString(warnings);
  EXPECT_NE(warnings[0].find("refused a connection from 127.0.0.1: it already has 1 open"),
            std::string::npos)
      << warnings[0];
}

}  // namespace
}  // namespace td::testing
