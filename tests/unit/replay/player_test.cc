// The player on a manual clock: timing, chunking, faults, truncated recordings, the client
// leaving, backpressure, and what goes into Start().
#include "replay/player.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cassette/sse.h"
#include "cassette/stream_builder.h"
#include "proxy/chunked_coding.h"
#include "tests/support/fake_sink.h"
#include "tests/support/fixtures.h"
#include "tests/support/interaction_builder.h"
#include "tests/support/manual_scheduler.h"

namespace td::replay {
namespace {

using testing::FakeSink;
using testing::InteractionBuilder;
using testing::ManualScheduler;

// The scheduler's clock when a play starts: offsets are relative to it.
constexpr Micros kT0 = 5'000'000;

const std::string kEvent0 =
    "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\"}}\n\n";
const std::string kEvent1 =
    "event: content_block_delta\r\ndata: {\"type\":\"content_block_delta\",\"delta\":{\"text\":"
    "\"h\xC3\xA9llo \xE2\x9C\x93\"}}\r\n\r\n";
const std::string kEvent2 = ": ping\n\n";
const std::string kEvent3 = "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";

// Four events: the second arrived in two pieces (the first 9 bytes at 1200 us).
cassette::Interaction Stream() {
  return InteractionBuilder()
      .RequestHeader("anthropic-version", "2023-06-01")
      .ResponseHeader("request-id", "req_011CV")
      .ResponseHeader("date", "Fri, 21 Nov 2026 08:32:33 GMT")
      .SseEvent(kEvent0, 1000)
      .SseEvent(kEvent1, 1500, {{9, 1200}})
      .SseEvent(kEvent2, 4000)
      .SseEvent(kEvent3, 4100)
      .Timing(800, 4200)
      .Build();
}

const std::string kAll = kEvent0 + kEvent1 + kEvent2 + kEvent3;

// One play on a fresh manual clock. Members are declared so the player dies first.
struct Playback {
  explicit Playback(const cassette::Interaction& interaction, PlayOptions options = {},
                    std::uint64_t salt = 0)
      : prepared(PreparedResponse::From(interaction)),
        player(std::make_unique<Player>(prepared, options, sink, scheduler, salt)) {}
  // Plays to the end (or as far as it goes) and returns the writes.
  const std::vector<std::string>& PlayAll() {
    player->Start();
    scheduler.RunUntilIdle();
    EXPECT_TRUE(sink.protocol_errors().empty()) << sink.protocol_errors()[0];
    return sink.writes();
  }

  ManualScheduler scheduler{kT0};
  FakeSink sink{&scheduler};
  PreparedResponse prepared;
  std::unique_ptr<Player> player;
};

PlayOptions With(std::string_view timing, std::string_view chunking = "event",
                 std::string_view fault = "") {
  PlayOptions o;
  o.timing = *ParseTiming(timing);
  o.chunking = *ParseChunking(chunking);
  o.fault = *ParseFault(fault);
  return o;
}

std::vector<Micros> Relative(const std::vector<Micros>& times) {
  std::vector<Micros> out;
  for (Micros t : times) out.push_back(t - kT0);
  return out;
}

std::string Join(const std::vector<std::string>& writes) {
  std::string out;
  for (const auto& w : writes) out += w;
  return out;
}

TEST(PlayerTest, RecordedTimingReproducesEveryOffsetExactly) {
  Playback run(Stream(), With("recorded"));
  run.player->Start();
  EXPECT_FALSE(run.sink.started());  // headers wait for headers_us
  run.scheduler.RunUntilIdle();
  EXPECT_EQ(run.sink.start_time() - kT0, 800);
  EXPECT_EQ(run.sink.writes(), (std::vector<std::string>{kEvent0, kEvent1, kEvent2, kEvent3}));
  EXPECT_EQ(Relative(run.sink.write_times()), (std::vector<Micros>{1000, 1500, 4000, 4100}));
  EXPECT_EQ(run.sink.end_time() - kT0, 4200);
  EXPECT_TRUE(run.sink.finished());
  EXPECT_EQ(run.player->outcome(), Player::Outcome::kFinished);
  EXPECT_EQ(run.player->bytes_written(), kAll.size());
}

TEST(PlayerTest, RecordedTimingWaitsForTheClockNotForIdleness) {
  Playback run(Stream(), With("recorded"));
  run.player->Start();
  run.scheduler.Advance(999);
  EXPECT_TRUE(run.sink.started());
  EXPECT_TRUE(run.sink.writes().empty());
  run.scheduler.Advance(1);
  EXPECT_EQ(run.sink.writes().size(), 1u);
  run.scheduler.Advance(2499);
  EXPECT_EQ(run.sink.writes().size(), 2u);
  EXPECT_FALSE(run.sink.finished());
}

TEST(PlayerTest, SpeedFactorDividesOffsetsMeasuredFromTheStart) {
  Playback run(Stream(), With("4"));
  run.PlayAll();
  EXPECT_EQ(run.sink.start_time() - kT0, 200);
  EXPECT_EQ(Relative(run.sink.write_times()), (std::vector<Micros>{250, 375, 1000, 1025}));
  EXPECT_EQ(run.sink.end_time() - kT0, 1050);

  // Each offset is divided on its own, not chained from the previous gap: 1000/3 and
  // 2000/3 round to 333 and 667 (chained gaps would give 666).
  Playback third(InteractionBuilder().SseEvent("data: a\n\n", 1000).SseEvent("data: b\n\n", 2000),
                 With("3"));
  third.PlayAll();
  EXPECT_EQ(Relative(third.sink.write_times()), (std::vector<Micros>{333, 667}));
}

TEST(PlayerTest, InstantWritesEverythingInsideStart) {
  Playback run(Stream(), With("instant"));
  bool done_called = false;
  run.player->set_on_done([&] { done_called = true; });
  run.player->Start();
  EXPECT_TRUE(run.player->done());
  EXPECT_TRUE(run.sink.finished());
  EXPECT_EQ(run.sink.body(), kAll);
  EXPECT_EQ(run.scheduler.pending(), 0u);
  EXPECT_EQ(Relative(run.sink.write_times()), (std::vector<Micros>{0, 0, 0, 0}));
  EXPECT_FALSE(done_called);  // Start()'s caller sees the outcome directly
}

TEST(PlayerTest, OnDoneRunsOnceWhenAnAsyncPlayEnds) {
  Playback run(Stream(), With("recorded"));
  int done = 0;
  run.player->set_on_done([&] { ++done; });
  run.player->Start();
  EXPECT_EQ(done, 0);
  run.scheduler.RunUntilIdle();
  EXPECT_EQ(done, 1);
}

TEST(PlayerTest, StartSendsRecordedHeadersWithoutFraming) {
  cassette::Interaction plain = InteractionBuilder()
                                    .ResponseJson({{"id", "msg_1"}, {"type", "message"}})
                                    .ResponseHeader("Date", "Fri, 21 Nov 2026 08:32:33 GMT")
                                    .ResponseHeader("request-id", "req_1")
                                    .ResponseHeader("Content-Length", "999")
                                    .ResponseHeader("Transfer-Encoding", "chunked")
                                    .ResponseHeader("Connection", "keep-alive, X-Hop")
                                    .ResponseHeader("Keep-Alive", "timeout=5")
                                    .ResponseHeader("x-hop", "1")
                                    .ResponseHeader("set-cookie", "a=1")
                                    .ResponseHeader("set-cookie", "b=2")
                                    .ResponseStatus(201)
                                    .Timing(300, 700)
                                    .Build();
  Playback run(plain, With("recorded"));
  run.PlayAll();
  EXPECT_EQ(run.sink.status(), 201);
  cassette::Headers expected = {{"Date", "Fri, 21 Nov 2026 08:32:33 GMT"},
                                {"request-id", "req_1"},
                                {"set-cookie", "a=1"},
                                {"set-cookie", "b=2"},
                                {"content-type", "application/json"}};
  EXPECT_EQ(run.sink.headers(), expected);
  ASSERT_TRUE(run.sink.content_length().has_value());
  EXPECT_EQ(*run.sink.content_length(), plain.response.body.bytes.size());
  EXPECT_EQ(run.sink.body(), plain.response.body.bytes);
  // A plain body goes out when it had arrived whole.
  EXPECT_EQ(run.sink.start_time() - kT0, 300);
  EXPECT_EQ(Relative(run.sink.write_times()), (std::vector<Micros>{700}));

  Playback stream(Stream(), With("instant"));
  stream.PlayAll();
  EXPECT_FALSE(stream.sink.content_length().has_value());
  EXPECT_EQ(stream.sink.header("request-id"), "req_011CV");
  EXPECT_EQ(stream.sink.header("content-type"), "text/event-stream");
}

TEST(PlayerTest, EveryChunkingConcatenatesToTheRecordedBytes) {
  for (const char* chunking : {"event", "recorded", "byte", "random", "random:1", "random:99"}) {
    for (const char* timing : {"instant", "recorded", "2.5"}) {
      Playback run(Stream(), With(timing, chunking));
      EXPECT_EQ(Join(run.PlayAll()), kAll) << chunking << " " << timing;
      EXPECT_TRUE(run.sink.finished());
    }
  }
  cassette::Interaction plain = InteractionBuilder().ResponseBody(std::string(3000, 'j'));
  for (const char* chunking : {"event", "recorded", "byte", "random:5"}) {
    Playback run(plain, With("instant", chunking));
    EXPECT_EQ(Join(run.PlayAll()), plain.response.body.bytes) << chunking;
  }
}

TEST(PlayerTest, InstantTimingCutsTheSameWritesAsRecordedTiming) {
  // Instant timing skips looking up when each piece had arrived; the pieces must not change.
  cassette::Interaction plain = InteractionBuilder().ResponseBody(std::string(3000, 'j'));
  for (const cassette::Interaction& it : {Stream(), plain}) {
    for (const char* chunking : {"event", "recorded", "byte", "random", "random:7"}) {
      Playback instant(it, With("instant", chunking));
      Playback recorded(it, With("recorded", chunking));
      EXPECT_EQ(instant.PlayAll(), recorded.PlayAll()) << chunking;
    }
  }
}

TEST(PlayerTest, EmptyEventsAreDroppedAndAFaultCountsOnlyEventsWithBytes) {
  // An empty event (a hand-edited cassette) writes nothing (an empty chunk would end the body)
  // and is not counted by a fault's N, in every chunking and timing.
  cassette::Interaction it = InteractionBuilder()
                                 .SseEvent(kEvent0, 100)
                                 .SseEvent("", 200)
                                 .SseEvent(kEvent1, 300)
                                 .SseEvent("", 400)
                                 .SseEvent(kEvent2, 500);
  for (const char* fault : {"", "truncate-after:1", "truncate-after:3", "reset-after:4"}) {
    Playback instant(it, With("instant", "event", fault));
    Playback recorded(it, With("recorded", "event", fault));
    EXPECT_EQ(instant.PlayAll(), recorded.PlayAll()) << fault;
  }
  Playback whole(it, With("instant", "event"));
  EXPECT_EQ(whole.PlayAll(), (std::vector<std::string>{kEvent0, kEvent1, kEvent2}));
  for (const char* chunking : {"event", "byte", "recorded"}) {
    Playback cut(it, With("instant", chunking, "truncate-after:2"));
    cut.PlayAll();
    EXPECT_EQ(cut.sink.body(), kEvent0 + kEvent1) << chunking;
    EXPECT_TRUE(cut.sink.finished()) << chunking;
    Playback reset(it, With("instant", chunking, "reset-after:3"));
    reset.PlayAll();
    EXPECT_EQ(reset.sink.body(), kEvent0 + kEvent1 + kEvent2) << chunking;
    EXPECT_TRUE(reset.sink.reset()) << chunking << ": 3 events with bytes, so the fault fires";
    Playback beyond(it, With("instant", chunking, "reset-after:4"));
    beyond.PlayAll();
    EXPECT_TRUE(beyond.sink.finished()) << chunking << ": a 4th event does not exist";
  }
}

TEST(PlayerTest, AStreamIsFramedOnceAtLoadAndItsBytesStayWhole) {
  // Event chunking writes ranges of `chunks` as they lie: each event must already be exactly
  // the chunk the server would have framed, and an empty event nothing.
  cassette::Interaction it = InteractionBuilder()
                                 .SseEvent(kEvent0, 100)
                                 .SseEvent("", 200)
                                 .SseEvent(std::string(0x1234, 'x'), 300);
  PreparedResponse prepared = PreparedResponse::From(it);
  auto framed = [](const std::string& payload) {
    std::string out(proxy::FramedChunkSize(payload.size()), '\0');
    proxy::FrameChunk(payload, out.data());
    return out;
  };
  EXPECT_TRUE(prepared.body.empty());
  const std::string_view chunks = prepared.chunks;
  EXPECT_EQ(chunks, framed(kEvent0) + framed(std::string(0x1234, 'x')));
  EXPECT_EQ(chunks.substr(kEvent0.size() + 4 + 2, 6), "1234\r\n");
  EXPECT_EQ(prepared.StreamBytes(), kEvent0 + std::string(0x1234, 'x'));
  EXPECT_EQ(prepared.body_size(), kEvent0.size() + 0x1234);
  EXPECT_EQ(prepared.events, 2u) << "the empty event is dropped";
  EXPECT_EQ(prepared.PositionAfter(1).chunk, framed(kEvent0).size());
  EXPECT_EQ(prepared.PositionAfter(1).stream, kEvent0.size());
  EXPECT_EQ(prepared.PositionAfter(0).chunk, 0u);
  EXPECT_EQ(prepared.PositionAfter(9).chunk, prepared.chunks.size());
}

TEST(PlayerTest, AClientGoneDuringAnInstantStreamCountsOnlyTheEventsTaken) {
  // The whole stream goes to the sink in one call; the client leaves at the third event.
  Playback run(Stream(), With("instant"));
  run.sink.GoneBeforeWrite(2);
  run.player->Start();
  EXPECT_EQ(run.sink.writes(), (std::vector<std::string>{kEvent0, kEvent1}));
  EXPECT_EQ(run.player->outcome(), Player::Outcome::kCancelled);
  EXPECT_EQ(run.player->bytes_written(), kEvent0.size() + kEvent1.size());
}

TEST(PlayerTest, EventChunkingWritesOneEventPerWrite) {
  Playback run(Stream(), With("instant", "event"));
  EXPECT_EQ(run.PlayAll(), (std::vector<std::string>{kEvent0, kEvent1, kEvent2, kEvent3}));
}

TEST(PlayerTest, RecordedChunkingReproducesArrivalBoundaries) {
  // Event A arrived in two pieces; the second upstream read carried A's tail and B's head
  // (same time), the third B's tail: three writes, not four.
  std::string a = "event: a\ndata: 1\n\n";
  std::string b = "event: b\ndata: 22\n\n";
  cassette::Interaction it = InteractionBuilder()
                                 .SseEvent(a, 200, {{5, 100}})
                                 .SseEvent(b, 300, {{3, 200}})
                                 .Timing(50, 300)
                                 .Build();
  Playback run(it, With("recorded", "recorded"));
  run.PlayAll();
  EXPECT_EQ(run.sink.writes(),
            (std::vector<std::string>{a.substr(0, 5), a.substr(5) + b.substr(0, 3), b.substr(3)}));
  EXPECT_EQ(Relative(run.sink.write_times()), (std::vector<Micros>{100, 200, 300}));
}

TEST(PlayerTest, ByteChunkingWritesOneBytePerWrite) {
  Playback run(Stream(), With("instant", "byte"));
  const auto& writes = run.PlayAll();
  ASSERT_EQ(writes.size(), kAll.size());
  for (const auto& w : writes) EXPECT_EQ(w.size(), 1u);
  // Each byte goes out when it had arrived: kEvent1's first 9 bytes at 1200, the rest at 1500.
  Playback timed(Stream(), With("recorded", "byte"));
  timed.PlayAll();
  std::vector<Micros> times = Relative(timed.sink.write_times());
  EXPECT_EQ(times[kEvent0.size() - 1], 1000);
  EXPECT_EQ(times[kEvent0.size()], 1200);
  EXPECT_EQ(times[kEvent0.size() + 8], 1200);
  EXPECT_EQ(times[kEvent0.size() + 9], 1500);
}

TEST(PlayerTest, RandomChunkingIsDeterministicPerSeedAndInteraction) {
  auto splits = [](std::string_view chunking, std::uint64_t salt) {
    Playback run(Stream(), With("instant", chunking), salt);
    return run.PlayAll();
  };
  std::vector<std::string> a = splits("random:7", 3);
  EXPECT_GT(a.size(), 1u);
  EXPECT_EQ(a, splits("random:7", 3));
  EXPECT_NE(a, splits("random:8", 3));
  EXPECT_NE(a, splits("random:7", 4));
  // Pinned: mt19937_64's output is fixed by the standard and the bounded arithmetic is ours,
  // so these cuts are the same with every standard library and on every machine.
  std::vector<size_t> sizes;
  for (const auto& w : splits("random:1", 0)) sizes.push_back(w.size());
  EXPECT_EQ(sizes, (std::vector<size_t>{4, 25, 62, 20, 22, 28, 2, 11, 4, 19, 4, 34}));
}

TEST(PlayerTest, RandomCutsCrossEventBoundaries) {
  // Hostile on purpose: some writes end inside an event and carry the start of the next.
  std::vector<size_t> ends;
  size_t end = 0;
  for (const std::string& e : {kEvent0, kEvent1, kEvent2, kEvent3}) ends.push_back(end += e.size());
  bool crossed = false;
  bool split_inside = false;
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    Playback run(Stream(), With("instant", "random:" + std::to_string(seed)));
    size_t pos = 0;
    for (const std::string& w : run.PlayAll()) {
      size_t next = pos + w.size();
      for (size_t boundary : ends) {
        crossed |= pos < boundary && next > boundary;
        split_inside |= next < boundary && next > boundary - 20;
      }
      pos = next;
    }
    EXPECT_EQ(run.sink.body(), kAll);
  }
  EXPECT_TRUE(crossed);
  EXPECT_TRUE(split_inside);
}

TEST(PlayerTest, TruncateAfterNEndsCleanlyAfterNEvents) {
  Playback run(Stream(), With("recorded", "event", "truncate-after:2"));
  run.PlayAll();
  EXPECT_EQ(run.sink.writes(), (std::vector<std::string>{kEvent0, kEvent1}));
  EXPECT_TRUE(run.sink.finished());
  EXPECT_FALSE(run.sink.reset());
  // The cut comes with the Nth event, not at the recorded end.
  EXPECT_EQ(run.sink.end_time() - kT0, 1500);
  // With byte chunking the cut still falls exactly after the Nth event.
  Playback bytes(Stream(), With("instant", "byte", "truncate-after:1"));
  EXPECT_EQ(Join(bytes.PlayAll()), kEvent0);
}

TEST(PlayerTest, ResetAfterNResetsAfterNEvents) {
  Playback run(Stream(), With("instant", "random:3", "reset-after:3"));
  EXPECT_EQ(Join(run.PlayAll()), kEvent0 + kEvent1 + kEvent2);
  EXPECT_TRUE(run.sink.reset());
  EXPECT_FALSE(run.sink.finished());
  EXPECT_EQ(run.player->outcome(), Player::Outcome::kReset);

  Playback zero(Stream(), With("instant", "event", "reset-after:0"));
  zero.PlayAll();
  EXPECT_TRUE(zero.sink.started());
  EXPECT_TRUE(zero.sink.writes().empty());
  EXPECT_TRUE(zero.sink.reset());
}

TEST(PlayerTest, ErrorAfterNInsertsAProviderShapedErrorEvent) {
  Playback run(Stream(), With("instant", "event", "error-after:1"));
  const auto& writes = run.PlayAll();
  ASSERT_EQ(writes.size(), 2u);
  EXPECT_EQ(writes[0], kEvent0);
  cassette::SseFields fields = cassette::ParseSseEvent(writes[1]);
  EXPECT_EQ(fields.event, "error");
  nlohmann::json data = nlohmann::json::parse(fields.data);
  EXPECT_EQ(data["type"], "error");
  EXPECT_EQ(data["error"]["type"], "overloaded_error");
  EXPECT_EQ(data["error"]["message"], "Overloaded");
  EXPECT_TRUE(run.sink.finished());

  // OpenAI streams get OpenAI's shape: a data-only event with an "error" object.
  cassette::Interaction openai = InteractionBuilder()
                                     .Path("/v1/chat/completions")
                                     .SseEvent("data: {\"choices\":[]}\n\n", 100)
                                     .SseEvent("data: [DONE]\n\n", 200);
  Playback o(openai, With("instant", "event", "error-after:1"));
  const auto& ow = o.PlayAll();
  ASSERT_EQ(ow.size(), 2u);
  cassette::SseFields of = cassette::ParseSseEvent(ow[1]);
  EXPECT_EQ(of.event, "");
  nlohmann::json od = nlohmann::json::parse(of.data);
  EXPECT_TRUE(od["error"].is_object());
  EXPECT_FALSE(od.contains("type"));
}

TEST(PlayerTest, StallAfterNNeverEndsUntilCancelled) {
  Playback run(Stream(), With("recorded", "event", "stall-after:2"));
  run.PlayAll();
  EXPECT_EQ(run.sink.writes(), (std::vector<std::string>{kEvent0, kEvent1}));
  EXPECT_FALSE(run.sink.finished());
  EXPECT_FALSE(run.sink.reset());
  EXPECT_EQ(run.scheduler.pending(), 0u);  // silence costs no timers
  EXPECT_EQ(run.player->outcome(), Player::Outcome::kStalled);
  EXPECT_FALSE(run.player->done());
  run.scheduler.Advance(3'600'000'000);
  EXPECT_FALSE(run.sink.finished());
  run.player->Cancel();
  EXPECT_EQ(run.player->outcome(), Player::Outcome::kCancelled);
  EXPECT_TRUE(run.player->done());
}

TEST(PlayerTest, AFaultBeyondTheLastEventNeverFires) {
  Playback run(Stream(), With("instant", "event", "reset-after:5"));
  EXPECT_EQ(Join(run.PlayAll()), kAll);
  EXPECT_TRUE(run.sink.finished());
  Playback at_end(Stream(), With("instant", "event", "reset-after:4"));
  EXPECT_EQ(Join(at_end.PlayAll()), kAll);
  EXPECT_TRUE(at_end.sink.reset());
}

TEST(PlayerTest, FaultsOnAPlainBodyCountPieces) {
  cassette::Interaction plain = InteractionBuilder().ResponseBody("0123456789").Timing(0, 0);
  // reset-after:3 with byte chunking: three bytes, then the connection drops mid-body.
  Playback reset(plain, With("instant", "byte", "reset-after:3"));
  EXPECT_EQ(Join(reset.PlayAll()), "012");
  EXPECT_TRUE(reset.sink.reset());
  // truncate needs a clean end shorter than the body: no Content-Length then.
  Playback truncate(plain, With("instant", "byte", "truncate-after:4"));
  EXPECT_EQ(Join(truncate.PlayAll()), "0123");
  EXPECT_TRUE(truncate.sink.finished());
  EXPECT_FALSE(truncate.sink.content_length().has_value());
  // error-after on a plain body: the response becomes the provider's overloaded error.
  Playback error(plain, With("instant", "event", "error-after:0"));
  error.PlayAll();
  EXPECT_EQ(error.sink.status(), 529);  // the builder's request is Anthropic's
  nlohmann::json body = nlohmann::json::parse(error.sink.body());
  EXPECT_EQ(body["error"]["type"], "overloaded_error");
  EXPECT_TRUE(error.sink.finished());
}

TEST(PlayerTest, ATruncatedRecordingReplaysWithAReset) {
  cassette::Interaction cut = InteractionBuilder()
                                  .SseEvent(kEvent0, 100)
                                  .SseEvent("event: content_block_delta\ndata: {\"ty", 150)
                                  .Truncated("upstream reset mid-stream")
                                  .Timing(50, 180);
  Playback run(cut, With("recorded"));
  run.PlayAll();
  EXPECT_EQ(run.sink.body(), kEvent0 + "event: content_block_delta\ndata: {\"ty");
  EXPECT_TRUE(run.sink.reset());
  EXPECT_FALSE(run.sink.finished());
  EXPECT_EQ(run.sink.end_time() - kT0, 180);
  EXPECT_EQ(run.player->outcome(), Player::Outcome::kReset);
}

TEST(PlayerTest, ClientGoneCancelsEveryTimerAndStopsWriting) {
  Playback run(Stream(), With("recorded"));
  run.player->Start();
  run.scheduler.AdvanceTo(kT0 + 1000);
  ASSERT_EQ(run.sink.writes().size(), 1u);
  EXPECT_EQ(run.scheduler.pending(), 1u);
  run.sink.SimulateClientGone();
  run.player->Cancel();
  EXPECT_EQ(run.scheduler.pending(), 0u);
  EXPECT_EQ(run.scheduler.RunUntilIdle(), 0u);
  EXPECT_EQ(run.sink.writes().size(), 1u);
  EXPECT_EQ(run.sink.ignored_calls(), 0u);
  EXPECT_EQ(run.player->outcome(), Player::Outcome::kCancelled);
}

TEST(PlayerTest, AClientFoundGoneEndsThePlay) {
  // Nobody calls Cancel(): the player notices the closed sink at its next write.
  Playback run(Stream(), With("recorded"));
  int done = 0;
  run.player->set_on_done([&] { ++done; });
  run.player->Start();
  run.scheduler.AdvanceTo(kT0 + 1000);
  run.sink.SimulateClientGone();
  run.scheduler.RunUntilIdle();
  EXPECT_EQ(run.sink.writes().size(), 1u);
  EXPECT_EQ(run.sink.ignored_calls(), 0u);
  EXPECT_EQ(run.player->outcome(), Player::Outcome::kCancelled);
  EXPECT_EQ(done, 1);
}

TEST(PlayerTest, CancelFromInsideAWriteIsSafe) {
  // The client leaves while the player writes (as a real socket error reports it): the
  // callback cancels the player re-entrantly, inside its own timer callback.
  Playback run(Stream(), With("recorded"));
  run.sink.set_on_gone([&] { run.player->Cancel(); });
  run.sink.GoneBeforeWrite(2);
  run.player->Start();
  run.scheduler.RunUntilIdle();
  EXPECT_EQ(run.sink.writes().size(), 2u);
  EXPECT_EQ(run.player->outcome(), Player::Outcome::kCancelled);
  EXPECT_EQ(run.scheduler.pending(), 0u);
}

TEST(PlayerTest, BackpressureWaitsForTheSinkToDrain) {
  std::string big(600 * 1024, 'x');
  cassette::Interaction it = InteractionBuilder().Chunk(big, 10).Chunk("tail", 20);
  Playback run(it, With("instant", "random:1"));
  run.sink.set_buffer_writes(true);
  run.player->Start();
  EXPECT_FALSE(run.player->done());
  size_t first = run.sink.body().size();
  EXPECT_GT(first, 256u * 1024);
  EXPECT_LT(first, 256u * 1024 + 1024 + 1);  // stopped right after crossing the watermark
  EXPECT_TRUE(run.sink.has_on_drained());
  run.scheduler.RunUntilIdle();
  EXPECT_EQ(run.sink.body().size(), first);  // nothing moves until the sink drains
  run.sink.Drain();
  EXPECT_GT(run.sink.body().size(), first);
  // 600 KiB at 256 KiB a wait: the player asks again each time (the callback is one-shot).
  for (int waits = 0; waits < 10 && !run.player->done(); ++waits) {
    EXPECT_TRUE(run.sink.has_on_drained()) << "wait " << waits;
    run.sink.Drain();
  }
  ASSERT_TRUE(run.player->done());
  EXPECT_EQ(run.sink.body(), big + "tail");
  EXPECT_TRUE(run.sink.finished());
}

TEST(PlayerTest, BackpressureWaitsAfterAPieceLargerThanTheWatermark) {
  // Event chunking with instant timing cuts its pieces in one pass: a 600 KiB event goes out
  // whole, then the player waits for the drain before the next one.
  std::string big(600 * 1024, 'x');
  cassette::Interaction it = InteractionBuilder().Chunk(big, 10).Chunk("tail", 20);
  Playback run(it, With("instant", "event"));
  run.sink.set_buffer_writes(true);
  run.player->Start();
  EXPECT_FALSE(run.player->done());
  EXPECT_EQ(run.sink.writes(), std::vector<std::string>{big});
  ASSERT_TRUE(run.sink.has_on_drained());
  run.sink.Drain();
  ASSERT_TRUE(run.player->done());
  EXPECT_EQ(run.sink.writes(), (std::vector<std::string>{big, "tail"}));
  EXPECT_TRUE(run.sink.finished());
}

TEST(PlayerTest, BackpressureCutsAnInstantStreamAtTheEventThatCrossesTheWatermark) {
  // 100 events of 4 KiB, each 4,104 bytes framed ("1000\r\n", the bytes, "\r\n"): the first
  // run ends with the event that takes it past 256 KiB, the 64th (63 would be 258,552 bytes,
  // 64 are 262,656), and the rest waits for the drain.
  InteractionBuilder builder;
  std::string all;
  for (int i = 0; i < 100; ++i) {
    std::string event(4096, static_cast<char>('a' + i % 26));
    all += event;
    builder.SseEvent(event, 10 * i);
  }
  Playback run(builder.Build(), With("instant"));
  run.sink.set_buffer_writes(true);
  run.player->Start();
  EXPECT_EQ(run.sink.writes().size(), 64u);
  ASSERT_TRUE(run.sink.has_on_drained());
  run.sink.Drain();
  ASSERT_TRUE(run.player->done());
  EXPECT_EQ(run.sink.writes().size(), 100u);
  EXPECT_TRUE(run.sink.body() == all);
  EXPECT_EQ(run.player->bytes_written(), all.size());
}

TEST(PlayerTest, ChunkedBodiesThatAreNotSsePlayPerChunk) {
  cassette::Interaction it = InteractionBuilder()
                                 .Chunk("{\"a\":1}\n", 100)
                                 .Chunk("{\"b\":2}\n{\"c\":", 250)
                                 .Chunk("3}\n", 300)
                                 .Timing(10, 300);
  Playback run(it, With("recorded"));
  run.PlayAll();
  EXPECT_EQ(run.sink.writes(),
            (std::vector<std::string>{"{\"a\":1}\n", "{\"b\":2}\n{\"c\":", "3}\n"}));
  EXPECT_EQ(Relative(run.sink.write_times()), (std::vector<Micros>{100, 250, 300}));
}

// Real SSE streams (the SDKs' fixtures), cut into 7-byte reads as a recording would see them:
// every chunking mode replays them byte for byte, and recorded chunking gives back the reads.
TEST(PlayerTest, RealStreamsReplayByteExactInEveryMode) {
  const std::vector<std::filesystem::path> fixtures = testing::SseFixtureFiles();
  if (fixtures.empty()) GTEST_SKIP() << "no fixtures at " << testing::SseFixtureDir();
  int files = 0;
  for (const std::filesystem::path& fixture : fixtures) {
    ++files;
    const std::string bytes = testing::ReadFile(fixture);
    cassette::StreamBuilder builder(cassette::StreamKind::kSse);
    std::vector<std::string> reads;
    for (size_t pos = 0, k = 0; pos < bytes.size(); pos += 7, ++k) {
      reads.push_back(bytes.substr(pos, 7));
      builder.AddChunk(reads.back(), static_cast<Micros>(100 * (k + 1)));
    }
    cassette::Interaction it = InteractionBuilder().Build();
    it.response.stream = builder.Finish();
    it.response.headers = {{"content-type", "text/event-stream"}};
    it.timing = {50, static_cast<Micros>(100 * reads.size())};
    for (const char* chunking : {"event", "recorded", "byte", "random:42"}) {
      Playback run(it, With("instant", chunking));
      ASSERT_EQ(Join(run.PlayAll()), bytes) << fixture << " " << chunking;
      if (std::string_view(chunking) == "recorded") {
        EXPECT_EQ(run.sink.writes(), reads) << fixture;
      }
    }
  }
  EXPECT_GT(files, 0);
}

}  // namespace
}  // namespace td::replay
