// Unit tests for the recording side of the record path, without sockets: how bodies are
// classified and arrival stamps from a fake clock.
#include "proxy/recording_tap.h"

#include <gtest/gtest.h>

#include "tests/support/fake_clock.h"
#include "tests/support/fake_secrets.h"

namespace td::proxy {
namespace {

using cassette::StreamKind;
using td::testing::FakeClock;

const std::string kKey = td::testing::FakeAnthropicKey();

TEST(RecordingTapTest, ClassifiesBodies) {
  EXPECT_EQ(StreamKindFor({{"Content-Type", "text/event-stream; charset=utf-8"}}, false),
            StreamKind::kSse);
  EXPECT_EQ(StreamKindFor({{"content-type", "Text/Event-Stream"}}, true), StreamKind::kSse);
  EXPECT_EQ(StreamKindFor({{"content-type", "application/x-ndjson"}}, false), StreamKind::kChunks);
  EXPECT_EQ(StreamKindFor({{"content-type", "application/jsonl"}}, false), StreamKind::kChunks);
  EXPECT_EQ(StreamKindFor({}, false), StreamKind::kChunks);
  EXPECT_EQ(StreamKindFor({{"content-type", "application/json"}}, false), std::nullopt);
  EXPECT_EQ(StreamKindFor({{"content-type", "application/problem+json"}}, false), std::nullopt);
  EXPECT_EQ(StreamKindFor({{"content-type", "application/x-ndjson"}}, true), std::nullopt);
  EXPECT_EQ(StreamKindFor({{"content-type", "text/plain"}}, true), std::nullopt);
}

cassette::Request SampleRequest() {
  cassette::Request request;
  request.method = "POST";
  request.path = "/v1/messages";
  request.headers = {{"Host", "127.0.0.1:8080"},
                     {"Connection", "keep-alive"},
                     {"Content-Length", "2"},
                     {"x-api-key", kKey},
                     {"anthropic-version", "2023-06-01"}};
  request.body.bytes = "{}";
  return request;
}

TEST(RecordingTapTest, KeepsAtMostTheCapOfABodyAndSaysSo) {
  FakeClock clock(/*now_us=*/1'000, /*wall_us=*/1'700'000'000'000'000);
  // A stream: the event that crosses the cap is kept up to it, the rest only counted.
  RecordingTap stream(&clock, 1, SampleRequest(), /*max_body_bytes=*/20);
  stream.OnHead(200, {{"content-type", "text/event-stream"}}, false, 10);
  stream.OnBody("data: 0123456789\n\n", 20);  // 18 bytes
  stream.OnBody("data: abcdef\n\n", 30);      // 14 bytes: 2 kept
  stream.OnBody("data: more\n\n", 40);        // none kept
  EXPECT_EQ(stream.body_bytes(), 44u);
  cassette::Interaction cut = stream.Finish(std::nullopt);
  ASSERT_TRUE(cut.response.stream.has_value());
  EXPECT_EQ(cut.response.stream->Concatenated(), "data: 0123456789\n\nda");
  ASSERT_TRUE(cut.truncated.has_value());
  EXPECT_EQ(*cut.truncated, "body over --max-body-bytes: kept the first 20 of 44 bytes");

  // A plain body, cut short by the client as well: both reasons are kept.
  RecordingTap plain(&clock, 2, SampleRequest(), /*max_body_bytes=*/4);
  plain.OnHead(200, {{"content-type", "application/json"}}, true, 10);
  plain.OnBody("{\"a\":1}", 20);
  cassette::Interaction both = plain.Finish(std::string("client disconnected"));
  EXPECT_EQ(both.response.body.bytes, "{\"a\"");
  EXPECT_EQ(*both.truncated,
            "client disconnected; body over --max-body-bytes: kept the first 4 of 7 bytes");

  // A body exactly at the cap is whole.
  RecordingTap exact(&clock, 3, SampleRequest(), /*max_body_bytes=*/7);
  exact.OnHead(200, {{"content-type", "application/json"}}, true, 10);
  exact.OnBody("{\"a\":1}", 20);
  cassette::Interaction whole = exact.Finish(std::nullopt);
  EXPECT_EQ(whole.response.body.bytes, "{\"a\":1}");
  EXPECT_FALSE(whole.truncated.has_value());
}

TEST(RecordingTapTest, StampsArrivalsRelativeToTheForward) {
  FakeClock clock(/*now_us=*/5'000'000, /*wall_us=*/1'700'000'000'000'000);
  RecordingTap tap(&clock, 7, SampleRequest());
  // Each piece is stamped when it arrives and recorded after the proxy has forwarded it (the
  // 40 us between): the recording keeps the arrival time.
  clock.Advance(250);
  Micros arrived = tap.elapsed_us();
  clock.Advance(40);
  tap.OnHead(200,
             {{"content-type", "text/event-stream"},
              {"transfer-encoding", "chunked"},
              {"request-id", "req_1"}},
             false, arrived);
  clock.Advance(710);
  arrived = tap.elapsed_us();
  clock.Advance(40);
  tap.OnBody("event: a\ndata: 1\n\nevent: b\nda", arrived);  // one event and a half
  clock.Advance(960);
  tap.OnBody("ta: 2\n\n", tap.elapsed_us());
  clock.Advance(500);
  cassette::Interaction got = tap.Finish(std::nullopt);

  EXPECT_EQ(got.seq, 7u);
  EXPECT_EQ(got.recorded_at_us, 1'700'000'000'000'000);
  EXPECT_EQ(got.timing.headers_us, 250);
  EXPECT_EQ(got.timing.done_us, 2500);
  cassette::Headers request_headers = {{"x-api-key", kKey}, {"anthropic-version", "2023-06-01"}};
  EXPECT_EQ(got.request.headers, request_headers) << "hop-by-hop fields and Host dropped";
  cassette::Headers response_headers = {{"content-type", "text/event-stream"},
                                        {"request-id", "req_1"}};
  EXPECT_EQ(got.response.headers, response_headers);
  ASSERT_TRUE(got.response.streamed());
  ASSERT_EQ(got.response.stream->events.size(), 2u);
  EXPECT_EQ(got.response.stream->events[0].bytes, "event: a\ndata: 1\n\n");
  EXPECT_EQ(got.response.stream->events[0].at_us, 1000);
  EXPECT_EQ(got.response.stream->events[1].bytes, "event: b\ndata: 2\n\n");
  EXPECT_EQ(got.response.stream->events[1].at_us, 2000);
  // The first 11 bytes of event b arrived with the first chunk.
  ASSERT_EQ(got.response.stream->events[1].splits.size(), 1u);
  EXPECT_EQ(got.response.stream->events[1].splits[0].end, 11u);
  EXPECT_EQ(got.response.stream->events[1].splits[0].at_us, 1000);
  EXPECT_FALSE(got.truncated.has_value());
}

TEST(RecordingTapTest, KeepsAPlainBodyWholeAndMarksTruncation) {
  FakeClock clock;
  RecordingTap tap(&clock, 1, SampleRequest());
  tap.OnHead(200, {{"content-type", "application/json"}, {"content-length", "11"}}, true,
             tap.elapsed_us());
  tap.OnBody("{\"a\":", tap.elapsed_us());
  tap.OnBody("1}", tap.elapsed_us());
  EXPECT_EQ(tap.body_bytes(), 7u);
  cassette::Interaction got = tap.Finish(std::string("client disconnected"));
  EXPECT_FALSE(got.response.streamed());
  EXPECT_EQ(got.response.body.bytes, "{\"a\":1}");
  ASSERT_TRUE(got.truncated.has_value());
  EXPECT_EQ(*got.truncated, "client disconnected");
}

}  // namespace
}  // namespace td::proxy
