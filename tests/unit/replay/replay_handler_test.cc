// The replay handler end to end over fakes: hits, misses (Anthropic and OpenAI shapes),
// exhaustion, the auto-mode fallback, redaction before matching, compressed request bodies,
// stats, client gone.
#include "replay/replay_handler.h"

#include <gtest/gtest.h>

#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cassette/base/log.h"
#include "tests/support/compress.h"
#include "tests/support/fake_sink.h"
#include "tests/support/interaction_builder.h"
#include "tests/support/log_capture.h"
#include "tests/support/manual_scheduler.h"

namespace td::replay {
namespace {

using nlohmann::json;
using testing::FakeExchange;
using testing::InteractionBuilder;
using testing::LogCapture;
using testing::ManualScheduler;

json Messages(std::string_view text, std::string_view model = "claude-sonnet-4-5") {
  return {{"model", model},
          {"max_tokens", 256},
          {"messages", json::array({{{"role", "user"}, {"content", text}}})}};
}

cassette::Interaction Recorded(std::string_view text, std::string_view answer) {
  return InteractionBuilder()
      .RequestHeader("anthropic-version", "2023-06-01")
      .RequestHeader("x-api-key", "[REDACTED]")
      .RequestJson(Messages(text))
      .ResponseJson({{"type", "message"}, {"content", {{{"type", "text"}, {"text", answer}}}}})
      .ResponseHeader("request-id", "req_" + std::string(answer))
      .Timing(100, 200);
}

cassette::Request Live(const cassette::Interaction& like) {
  cassette::Request r = like.request;
  cassette::SetHeader(&r.headers, "x-api-key", "placeholder");
  return r;
}

cassette::Redactor DefaultRedactor() {
  Result<cassette::Redactor> r = cassette::Redactor::Create(cassette::RedactionRules{});
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return std::move(*r);
}

class RecordingFallback final : public proxy::Handler {
 public:
  void Handle(std::shared_ptr<proxy::Exchange> exchange) override {
    exchanges.push_back(std::move(exchange));
  }
  std::vector<std::shared_ptr<proxy::Exchange>> exchanges;
};

class ReplayHandlerTest : public ::testing::Test {
 protected:
  std::unique_ptr<ReplayHandler> Make(std::vector<cassette::Interaction> interactions,
                                      ReplayOptions options = {},
                                      proxy::Handler* fallback = nullptr) {
    Result<std::unique_ptr<ReplayHandler>> h = ReplayHandler::Create(
        std::move(interactions), std::move(options), DefaultRedactor(), scheduler_, fallback);
    EXPECT_TRUE(h.ok()) << h.status().ToString();
    return h.ok() ? std::move(*h) : nullptr;
  }
  std::shared_ptr<FakeExchange> Send(ReplayHandler& handler, cassette::Request request) {
    auto exchange = std::make_shared<FakeExchange>(std::move(request), &scheduler_, ++seq_);
    handler.Handle(exchange);
    return exchange;
  }
  static ReplayOptions Instant() {
    ReplayOptions o;
    o.play.timing = *ParseTiming("instant");
    return o;
  }

  ManualScheduler scheduler_{1'000'000};
  std::uint64_t seq_ = 0;
};

TEST_F(ReplayHandlerTest, HitServesTheRecordedResponse) {
  LogCapture log;
  std::vector<cassette::Interaction> cassette = {Recorded("Hello", "Hi!"), Recorded("Bye", "Ciao")};
  auto handler = Make(cassette);
  auto ex = Send(*handler, Live(cassette[1]));
  scheduler_.RunUntilIdle();
  const testing::FakeSink& sink = ex->fake_sink();
  EXPECT_TRUE(sink.finished());
  EXPECT_EQ(sink.status(), 200);
  EXPECT_EQ(sink.body(), cassette[1].response.body.bytes);
  EXPECT_EQ(sink.header("request-id"), "req_Ciao");
  EXPECT_EQ(sink.start_time() - 1'000'000, 100);  // recorded timing by default
  EXPECT_TRUE(
      log.Contains("mode=replay result=hit status=200 bytes=" + std::to_string(sink.body().size()) +
                   " ms=0 POST /v1/messages interaction=1"))
      << (log.lines().empty() ? "" : log.lines().back());
  ReplayStats stats = handler->Stats();
  EXPECT_EQ(stats.hits, 1u);
  EXPECT_EQ(stats.uses, (std::vector<std::uint64_t>{0, 1}));
  EXPECT_EQ(stats.active, 0u);
}

TEST_F(ReplayHandlerTest, ALoaderAddsWhatCreateWouldHaveAdded) {
  // A cassette streamed in through a ReplayLoader (its helper thread indexes while the caller
  // reads) serves exactly what the same interactions given to Create serve.
  std::vector<cassette::Interaction> cassette;
  for (int i = 0; i < 300; ++i) {
    cassette.push_back(
        Recorded("question " + std::to_string(i % 150), "answer " + std::to_string(i)));
  }
  auto loaded = Make({}, Instant());
  {
    ReplayLoader loader(loaded.get());
    for (const cassette::Interaction& i : cassette) loader.Add(cassette::Interaction(i));
    loader.Finish();
    loader.Finish();  // idempotent, and the destructor after it too
  }
  auto created = Make(cassette, Instant());
  for (int i = 0; i < 300; ++i) {
    auto a = Send(*loaded, Live(cassette[static_cast<size_t>(i)]));
    auto b = Send(*created, Live(cassette[static_cast<size_t>(i)]));
    ASSERT_TRUE(a->fake_sink().finished());
    EXPECT_EQ(a->fake_sink().body(), b->fake_sink().body()) << i;
    EXPECT_EQ(a->fake_sink().header("request-id"), b->fake_sink().header("request-id")) << i;
  }
  EXPECT_EQ(loaded->Stats().uses, created->Stats().uses);
  EXPECT_EQ(loaded->Stats().hits, 300u);
}

TEST_F(ReplayHandlerTest, InstantHitCompletesInsideHandle) {
  std::vector<cassette::Interaction> cassette = {Recorded("Hello", "Hi!")};
  auto handler = Make(cassette, Instant());
  auto ex = Send(*handler, Live(cassette[0]));
  EXPECT_TRUE(ex->fake_sink().finished());
  EXPECT_EQ(scheduler_.pending(), 0u);
  EXPECT_FALSE(ex->has_on_client_gone());
}

TEST_F(ReplayHandlerTest, MissGetsANonRetryableAnthropicError) {
  LogCapture log;
  std::vector<cassette::Interaction> cassette = {Recorded("Hello", "Hi!"),
                                                 Recorded("What is 2+2?", "4")};
  auto handler = Make(cassette);
  cassette::Request live = Live(cassette[1]);
  live.body.bytes = Messages("What is 3+3?").dump();
  auto ex = Send(*handler, live);
  const testing::FakeSink& sink = ex->fake_sink();
  EXPECT_EQ(sink.status(), 404);
  EXPECT_EQ(sink.header("x-should-retry"), "false");
  EXPECT_EQ(sink.header("x-tapedeck-miss"), "1");
  EXPECT_EQ(sink.header("content-type"), "application/json");
  EXPECT_TRUE(sink.finished());
  EXPECT_TRUE(sink.protocol_errors().empty());
  json body = json::parse(sink.body());
  EXPECT_EQ(body["type"], "error");
  EXPECT_EQ(body["error"]["type"], "not_found_error");
  std::string message = body["error"]["message"];
  EXPECT_EQ(message.rfind("tapedeck replay: no recorded interaction matches POST /v1/messages; "
                          "nearest is #1",
                          0),
            0u)
      << message;
  EXPECT_NE(message.find(R"(body.messages[0].content: "What is 3+3?" != "What is 2+2?")"),
            std::string::npos)
      << message;
  // The same explanation is logged, and the placeholder key never is.
  EXPECT_TRUE(log.Contains("replay miss: POST /v1/messages"));
  EXPECT_TRUE(log.Contains("nearest: #1"));
  EXPECT_TRUE(log.Contains("mode=replay result=miss status=404"));
  EXPECT_FALSE(log.Contains("placeholder"));
  EXPECT_EQ(handler->Stats().misses, 1u);
}

TEST_F(ReplayHandlerTest, MissOnAnOpenAIPathGetsOpenAIsErrorShape) {
  cassette::Interaction recorded = InteractionBuilder()
                                       .Path("/v1/chat/completions")
                                       .RequestHeader("authorization", "[REDACTED]")
                                       .RequestJson({{"model", "gpt-4o"}, {"stream", true}})
                                       .SseEvent("data: {\"choices\":[]}\n\n", 100)
                                       .SseEvent("data: [DONE]\n\n", 200);
  auto handler = Make({recorded});
  cassette::Request live = recorded.request;
  live.body.bytes = json({{"model", "gpt-4o-mini"}, {"stream", true}}).dump();
  auto ex = Send(*handler, live);
  EXPECT_EQ(ex->fake_sink().status(), 404);
  EXPECT_EQ(ex->fake_sink().header("x-should-retry"), "false");
  json body = json::parse(ex->fake_sink().body());
  ASSERT_TRUE(body["error"].is_object());
  EXPECT_FALSE(body.contains("type"));
  std::string message = body["error"]["message"];
  EXPECT_NE(message.find("nearest is #0"), std::string::npos) << message;
  EXPECT_NE(message.find(R"(body.model: "gpt-4o-mini" != "gpt-4o")"), std::string::npos) << message;
}

TEST_F(ReplayHandlerTest, AMissReportSeesEveryLiveHeaderRedacted) {
  // A hit looks only at --match-header names, but a miss is explained with all the headers:
  // here only anthropic-version says which provider's error shape to answer in (the path does
  // not), and keys in headers never reach the log or the answer.
  const std::string key = std::string("sk-ant-") + "api03-" + std::string(40, 'Q') + "xYz_9";
  cassette::Interaction recorded = InteractionBuilder()
                                       .Path("/gateway/complete")
                                       .RequestHeader("anthropic-version", "2023-06-01")
                                       .RequestJson(Messages("Hello"))
                                       .ResponseJson({{"ok", true}});
  auto handler = Make({recorded}, Instant());
  LogCapture log;
  cassette::Request live = recorded.request;
  live.body.bytes = Messages("Bye").dump();
  cassette::SetHeader(&live.headers, "x-api-key", key);
  cassette::SetHeader(&live.headers, "x-trace", "by " + key);
  auto ex = Send(*handler, live);
  ASSERT_EQ(ex->fake_sink().status(), 404);
  json body = json::parse(ex->fake_sink().body());
  EXPECT_EQ(body["type"], "error") << "Anthropic's shape, told by the header alone";
  EXPECT_EQ(body["error"]["type"], "not_found_error");
  EXPECT_EQ(ex->fake_sink().body().find(key), std::string::npos);
  EXPECT_EQ(log.Count(key), 0u) << log.Text();
  // The same request with the recorded body is a hit whatever its unmatched headers hold.
  live.body = recorded.request.body;
  EXPECT_EQ(Send(*handler, live)->fake_sink().status(), 200);
}

TEST_F(ReplayHandlerTest, ExhaustionFollowsThePolicy) {
  std::vector<cassette::Interaction> cassette = {Recorded("Hello", "one"),
                                                 Recorded("Hello", "two")};
  ReplayOptions options = Instant();
  options.on_exhausted = OnExhausted::kError;
  auto handler = Make(cassette, options);
  EXPECT_EQ(Send(*handler, Live(cassette[0]))->fake_sink().header("request-id"), "req_one");
  EXPECT_EQ(Send(*handler, Live(cassette[0]))->fake_sink().header("request-id"), "req_two");
  auto third = Send(*handler, Live(cassette[0]));
  EXPECT_EQ(third->fake_sink().status(), 404);
  EXPECT_EQ(third->fake_sink().header("x-tapedeck-miss"), "exhausted");
  std::string message = json::parse(third->fake_sink().body())["error"]["message"];
  EXPECT_NE(message.find("(#0, #1) was already served"), std::string::npos) << message;
  EXPECT_EQ(handler->Stats().exhausted, 1u);

  auto repeat = Make(cassette, Instant());
  Send(*repeat, Live(cassette[0]));
  Send(*repeat, Live(cassette[0]));
  EXPECT_EQ(Send(*repeat, Live(cassette[0]))->fake_sink().header("request-id"), "req_two");
}

TEST_F(ReplayHandlerTest, MissesGoToTheFallbackInAutoMode) {
  RecordingFallback fallback;
  std::vector<cassette::Interaction> cassette = {Recorded("Hello", "Hi!")};
  auto handler = Make(cassette, Instant(), &fallback);
  cassette::Interaction fresh = Recorded("New question", "New answer");
  auto ex = Send(*handler, Live(fresh));
  ASSERT_EQ(fallback.exchanges.size(), 1u);
  EXPECT_EQ(fallback.exchanges[0].get(), ex.get());
  EXPECT_FALSE(ex->fake_sink().started());  // replay wrote nothing; the fallback answers
  // The lead's record handler reports what it recorded; from then on it is served.
  EXPECT_EQ(handler->AddInteraction(fresh, /*recorded=*/true), 1u);
  auto again = Send(*handler, Live(fresh));
  EXPECT_EQ(fallback.exchanges.size(), 1u);
  EXPECT_EQ(again->fake_sink().header("request-id"), "req_New answer");
  ReplayStats stats = handler->Stats();
  EXPECT_EQ(stats.misses, 0u) << "a forwarded request is not a miss";
  EXPECT_EQ(stats.forwarded, 1u);
  EXPECT_EQ(stats.recorded, 1u);
  EXPECT_EQ(stats.hits, 1u);
  EXPECT_EQ(stats.uses[1], 2u) << "recording it counts as a use";
  Send(*handler, Live(cassette[0]));
  EXPECT_FALSE(handler->StrictProblem()) << handler->Summary();
}

TEST_F(ReplayHandlerTest, AForwardThatWasNotRecordedFailsStrictAutoMode) {
  RecordingFallback fallback;
  std::vector<cassette::Interaction> cassette = {Recorded("Hello", "Hi!")};
  auto handler = Make(cassette, Instant(), &fallback);
  Send(*handler, Live(cassette[0]));
  Send(*handler, Live(Recorded("New question", "New answer")));
  // The upstream failed: the record path answered 502 and recorded nothing.
  EXPECT_TRUE(handler->StrictProblem()) << handler->Summary();
}

TEST_F(ReplayHandlerTest, RedactedLiveRequestMatchesARedactedRecording) {
  // Built from pieces so no key-shaped literal sits in the source.
  const std::string key = std::string("sk-ant-") + "api03-" + std::string(40, 'Q') + "xYz_9";
  cassette::Interaction raw =
      InteractionBuilder()
          .RequestHeader("anthropic-version", "2023-06-01")
          .RequestHeader("x-api-key", key)
          .RequestJson(
              {{"model", "claude-sonnet-4-5"},
               {"messages", json::array({{{"role", "user"}, {"content", "my key is " + key}}})}})
          .ResponseJson({{"ok", true}});
  // The cassette holds the redacted form, as the recorder wrote it.
  cassette::Interaction stored = raw;
  DefaultRedactor().RedactInteraction(&stored, nullptr);
  ASSERT_EQ(stored.request.body.bytes.find(key), std::string::npos);
  ReplayOptions options = Instant();
  options.match.match_headers = {"x-api-key"};
  auto handler = Make({stored}, options);
  // The live request carries the real key in a header and in the body.
  auto ex = Send(*handler, raw.request);
  EXPECT_EQ(ex->fake_sink().status(), 200);
  EXPECT_EQ(handler->Stats().hits, 1u);
}

TEST_F(ReplayHandlerTest, AKeyInThePathNeverReachesTheLogOnAHitOrAMiss) {
  const std::string key = std::string("sk-ant-") + "api03-" + std::string(40, 'Q') + "xYz_9";
  cassette::Interaction raw =
      InteractionBuilder().Path("/v1/keys/" + key + "/check").ResponseJson({{"ok", true}});
  cassette::Interaction stored = raw;
  DefaultRedactor().RedactInteraction(&stored, nullptr);
  auto handler = Make({stored}, Instant());
  LogCapture log;
  EXPECT_EQ(Send(*handler, raw.request)->fake_sink().status(), 200);
  cassette::Request other = raw.request;
  other.method = "DELETE";
  EXPECT_EQ(Send(*handler, other)->fake_sink().status(), 404);
  EXPECT_EQ(log.Count(key), 0u) << log.Text();
  EXPECT_EQ(log.Count("result=hit status=200"), 1u) << log.Text();
  EXPECT_EQ(log.Count("result=miss status=404"), 1u) << log.Text();
  // The hit's access line, and the miss's warning, nearest-interaction line and access line.
  EXPECT_EQ(log.Count("/v1/keys/[REDACTED:anthropic-key]/check"), 4u) << log.Text();
}

TEST_F(ReplayHandlerTest, GzippedLiveRequestMatchesItsDecodedRecording) {
  // The record path stores a compressed request body decoded, without Content-Encoding.
  std::vector<cassette::Interaction> cassette = {Recorded("Hello", "Hi!"), Recorded("Bye", "Ciao")};
  auto handler = Make(cassette, Instant());
  cassette::Request live = Live(cassette[1]);
  live.body.bytes = testing::Gzip(live.body.bytes);
  live.headers.emplace_back("Content-Encoding", "gzip");
  auto ex = Send(*handler, live);
  EXPECT_EQ(ex->fake_sink().status(), 200);
  EXPECT_EQ(ex->fake_sink().header("request-id"), "req_Ciao");
  EXPECT_EQ(handler->Stats().hits, 1u);
}

TEST_F(ReplayHandlerTest, RecordingStoredCompressedMatchesDifferentlyCompressedLiveBody) {
  // A cassette recorded before request bodies were decoded (or imported) holds the gzip bytes
  // and the header; a client that compresses the same JSON differently still matches it.
  cassette::Interaction old = Recorded("Hello", "Hi!");
  const std::string json_body = old.request.body.bytes;
  old.request.body.bytes = testing::Gzip(json_body);
  old.request.headers.emplace_back("content-encoding", "gzip");
  auto handler = Make({old}, Instant());
  cassette::Request live = Live(Recorded("Hello", "Hi!"));
  live.body.bytes = testing::RawDeflate(json_body);
  live.headers.emplace_back("content-encoding", "deflate");
  EXPECT_EQ(Send(*handler, live)->fake_sink().status(), 200);
}

TEST_F(ReplayHandlerTest, UndecodableLiveBodyMissesAndSaysWhy) {
  LogCapture log;
  std::vector<cassette::Interaction> cassette = {Recorded("Hello", "Hi!")};
  auto handler = Make(cassette, Instant());
  cassette::Request live = Live(cassette[0]);
  std::string zipped = testing::Gzip(live.body.bytes);
  live.body.bytes = zipped.substr(0, zipped.size() - 4);  // cut inside the trailer
  live.headers.emplace_back("Content-Encoding", "gzip");
  auto ex = Send(*handler, live);
  EXPECT_EQ(ex->fake_sink().status(), 404);
  const std::string message = json::parse(ex->fake_sink().body())["error"]["message"];
  const std::string why =
      "the request body could not be decoded (cannot decode gzip: truncated "
      "at byte " +
      std::to_string(live.body.bytes.size()) +
      " (the data ends before the stream does)), so it was matched as sent";
  EXPECT_NE(message.find("; " + why), std::string::npos) << message;
  EXPECT_TRUE(log.Contains(why));
  EXPECT_EQ(handler->Stats().misses, 1u);
}

TEST_F(ReplayHandlerTest, ClientGoneMidStreamCancelsPlayback) {
  LogCapture log;
  cassette::Interaction stream = InteractionBuilder()
                                     .RequestJson(Messages("Tell me a story"))
                                     .SseEvent("event: a\ndata: 1\n\n", 1000)
                                     .SseEvent("event: b\ndata: 2\n\n", 2000)
                                     .SseEvent("event: c\ndata: 3\n\n", 3000);
  auto handler = Make({stream});
  auto ex = Send(*handler, stream.request);
  scheduler_.Advance(1500);
  ASSERT_EQ(ex->fake_sink().writes().size(), 1u);
  EXPECT_EQ(handler->Stats().active, 1u);
  ex->SimulateClientGone();
  scheduler_.RunUntilIdle();
  EXPECT_EQ(ex->fake_sink().writes().size(), 1u);
  EXPECT_EQ(ex->fake_sink().ignored_calls(), 0u);
  EXPECT_EQ(handler->Stats().active, 0u);
  EXPECT_EQ(scheduler_.pending(), 0u);
  EXPECT_TRUE(log.Contains("interaction=0 end=client-gone"));
}

TEST_F(ReplayHandlerTest, FaultsApplyThroughTheHandler) {
  cassette::Interaction stream = InteractionBuilder()
                                     .RequestJson(Messages("Tell me a story"))
                                     .SseEvent("event: a\ndata: 1\n\n", 1000)
                                     .SseEvent("event: b\ndata: 2\n\n", 2000);
  ReplayOptions options;
  options.play.fault = *ParseFault("stall-after:1");
  auto handler = Make({stream}, options);
  auto ex = Send(*handler, stream.request);
  scheduler_.RunUntilIdle();
  EXPECT_EQ(ex->fake_sink().writes().size(), 1u);
  EXPECT_FALSE(ex->fake_sink().finished());
  EXPECT_EQ(handler->Stats().active, 1u);  // the stall lasts until the client gives up
  ex->SimulateClientGone();
  scheduler_.RunUntilIdle();
  EXPECT_EQ(handler->Stats().active, 0u);
}

TEST_F(ReplayHandlerTest, DestroyingTheHandlerDetachesFromLiveExchanges) {
  cassette::Interaction stream = InteractionBuilder()
                                     .RequestJson(Messages("x"))
                                     .SseEvent("event: a\ndata: 1\n\n", 1000)
                                     .SseEvent("event: b\ndata: 2\n\n", 2000);
  auto handler = Make({stream});
  auto ex = Send(*handler, stream.request);
  scheduler_.Advance(1000);
  EXPECT_TRUE(ex->has_on_client_gone());
  handler.reset();
  EXPECT_FALSE(ex->has_on_client_gone());
  EXPECT_EQ(scheduler_.RunUntilIdle(), 0u);
  ex->SimulateClientGone();  // must not reach the dead handler
}

TEST_F(ReplayHandlerTest, StatsJsonAndSummary) {
  std::vector<cassette::Interaction> cassette = {Recorded("a", "1"), Recorded("b", "2"),
                                                 Recorded("c", "3")};
  auto handler = Make(cassette, Instant());
  Send(*handler, Live(cassette[0]));
  Send(*handler, Live(cassette[0]));
  cassette::Request miss = Live(cassette[0]);
  miss.path = "/v1/nothing";
  Send(*handler, miss);
  json stats = json::parse(handler->StatsJson());
  EXPECT_EQ(stats["hits"], 2);
  EXPECT_EQ(stats["misses"], 1);
  EXPECT_EQ(stats["exhausted"], 0);
  EXPECT_EQ(stats["interactions"], 3);
  EXPECT_EQ(stats["uses"], json::array({2, 0, 0}));
  EXPECT_EQ(stats["unused"], json::array({1, 2}));
  ASSERT_EQ(stats["recent_misses"].size(), 1u);
  EXPECT_NE(stats["recent_misses"][0].get<std::string>().find("POST /v1/nothing"),
            std::string::npos);
  EXPECT_EQ(handler->Summary(),
            "replay: 2 hits, 1 miss, 0 exhausted; 2 of 3 interactions never used: #1, #2");
  Send(*handler, Live(cassette[1]));
  Send(*handler, Live(cassette[2]));
  EXPECT_EQ(handler->Summary(), "replay: 4 hits, 1 miss, 0 exhausted; all 3 interactions used");
}

TEST_F(ReplayHandlerTest, BadMatchOptionsFailCreate) {
  ReplayOptions options;
  options.match.normalizers = {Normalizer{"(", "", ""}};
  Result<std::unique_ptr<ReplayHandler>> h =
      ReplayHandler::Create({}, options, DefaultRedactor(), scheduler_);
  ASSERT_FALSE(h.ok());
  EXPECT_EQ(h.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(h.status().message().rfind("replay: ", 0), 0u) << h.status().message();
}

}  // namespace
}  // namespace td::replay
