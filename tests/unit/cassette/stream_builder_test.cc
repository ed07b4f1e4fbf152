// Tests for StreamBuilder: SSE events keep the arrival time of every piece (splits) and of
// their last byte (at_us), whatever the chunking; non-SSE bodies keep their chunks.
#include "cassette/stream_builder.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/fixtures.h"

namespace td::cassette {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

TEST(StreamBuilderTest, EventSpreadOverThreeChunksKeepsEachArrival) {
  StreamBuilder b(StreamKind::kSse);
  b.AddChunk("event: a\nda", 100);
  b.AddChunk("ta: 1", 250);
  EXPECT_EQ(b.pending_bytes(), 16u);
  b.AddChunk("\n\nevent: b\n", 400);
  bool incomplete = true;
  Stream s = b.Finish(&incomplete);
  ASSERT_EQ(s.events.size(), 2u);
  EXPECT_EQ(s.events[0].bytes, "event: a\ndata: 1\n\n");
  EXPECT_EQ(s.events[0].at_us, 400);
  EXPECT_THAT(s.events[0].splits, ElementsAre(Split{11, 100}, Split{16, 250}));
  // The tail that never ended is kept as it came, and flagged.
  EXPECT_EQ(s.events[1].bytes, "event: b\n");
  EXPECT_EQ(s.events[1].at_us, 400);
  EXPECT_THAT(s.events[1].splits, IsEmpty());
  EXPECT_TRUE(incomplete);
}

TEST(StreamBuilderTest, TwoEventsInOneChunkShareAtUs) {
  StreamBuilder b(StreamKind::kSse);
  b.AddChunk("data: 1\n\ndata: 2\n\nda", 70);
  b.AddChunk("ta: 3\n\n", 90);
  bool incomplete = true;
  Stream s = b.Finish(&incomplete);
  ASSERT_EQ(s.events.size(), 3u);
  EXPECT_EQ(s.events[0].at_us, 70);
  EXPECT_EQ(s.events[1].at_us, 70);
  EXPECT_THAT(s.events[0].splits, IsEmpty());
  EXPECT_THAT(s.events[1].splits, IsEmpty());
  EXPECT_EQ(s.events[2].bytes, "data: 3\n\n");
  EXPECT_EQ(s.events[2].at_us, 90);
  EXPECT_THAT(s.events[2].splits, ElementsAre(Split{2, 70}));
  EXPECT_FALSE(incomplete);
  EXPECT_EQ(s.Concatenated(), "data: 1\n\ndata: 2\n\ndata: 3\n\n");
}

TEST(StreamBuilderTest, EventEndingInCrTakesTheArrivalOfItsLastByte) {
  StreamBuilder b(StreamKind::kSse);
  b.AddChunk("data: a\r", 10);
  b.AddChunk("\r", 20);           // the event is whole now, but held for the next byte
  b.AddChunk("data: b\r\r", 30);  // that byte is not an LF: the first event ended at 20
  bool incomplete = true;
  Stream s = b.Finish(&incomplete);
  ASSERT_EQ(s.events.size(), 2u);
  EXPECT_EQ(s.events[0].bytes, "data: a\r\r");
  EXPECT_EQ(s.events[0].at_us, 20);
  EXPECT_THAT(s.events[0].splits, ElementsAre(Split{8, 10}));
  // Held for its CR at the end of the stream: complete, not truncated.
  EXPECT_EQ(s.events[1].bytes, "data: b\r\r");
  EXPECT_EQ(s.events[1].at_us, 30);
  EXPECT_THAT(s.events[1].splits, IsEmpty());
  EXPECT_FALSE(incomplete);
}

TEST(StreamBuilderTest, LfAfterHeldCrBelongsToTheEvent) {
  StreamBuilder b(StreamKind::kSse);
  b.AddChunk("data: a\r\r", 10);
  b.AddChunk("\ndata: b\n\n", 20);
  Stream s = b.Finish();
  ASSERT_EQ(s.events.size(), 2u);
  EXPECT_EQ(s.events[0].bytes, "data: a\r\r\n");
  EXPECT_EQ(s.events[0].at_us, 20);
  EXPECT_THAT(s.events[0].splits, ElementsAre(Split{9, 10}));
  EXPECT_EQ(s.events[1].at_us, 20);
}

TEST(StreamBuilderTest, ChunksKindKeepsEachChunkAndSkipsEmptyOnes) {
  StreamBuilder b(StreamKind::kChunks);
  b.AddChunk("{\"a\":1}\n{\"b\"", 5);
  b.AddChunk("", 6);
  b.AddChunk(":2}\n", 9);
  EXPECT_EQ(b.pending_bytes(), 0u);
  bool incomplete = true;
  Stream s = b.Finish(&incomplete);
  EXPECT_EQ(s.kind, StreamKind::kChunks);
  EXPECT_THAT(s.events,
              ElementsAre(StreamEvent{"{\"a\":1}\n{\"b\"", 5, {}}, StreamEvent{":2}\n", 9, {}}));
  EXPECT_FALSE(incomplete);
}

TEST(StreamBuilderTest, FinishResetsTheBuilder) {
  StreamBuilder b(StreamKind::kSse);
  b.AddChunk("data: 1\n\ndata: 2", 5);
  Stream first = b.Finish();
  EXPECT_EQ(first.events.size(), 2u);
  EXPECT_EQ(b.pending_bytes(), 0u);
  b.AddChunk("data: 3\n\n", 7);
  Stream second = b.Finish();
  EXPECT_THAT(second.events, ElementsAre(StreamEvent{"data: 3\n\n", 7, {}}));
  EXPECT_EQ(second.kind, StreamKind::kSse);
}

TEST(StreamBuilderTest, EmptyStreamIsNotIncomplete) {
  StreamBuilder b(StreamKind::kSse);
  b.AddChunk("", 3);
  bool incomplete = true;
  Stream s = b.Finish(&incomplete);
  EXPECT_THAT(s.events, IsEmpty());
  EXPECT_FALSE(incomplete);
}

// The arrival time of every byte, as the stream says it: bytes [prev, split.end) arrived at
// split.at_us, the rest at the event's at_us.
std::vector<Micros> ArrivalPerByte(const Stream& s) {
  std::vector<Micros> out;
  for (const StreamEvent& e : s.events) {
    size_t prev = 0;
    for (const Split& split : e.splits) {
      EXPECT_GT(split.end, prev) << "splits ascend, each inside the event";
      EXPECT_LT(split.end, e.bytes.size());
      out.insert(out.end(), split.end - prev, split.at_us);
      prev = split.end;
    }
    out.insert(out.end(), e.bytes.size() - prev, e.at_us);
  }
  return out;
}

TEST(StreamBuilderTest, RandomChunkingOfRealStreamsKeepsEveryByteAndItsArrival) {
  const std::vector<std::filesystem::path> fixtures = testing::SseFixtureFiles();
  if (fixtures.empty()) GTEST_SKIP() << "no SSE fixtures in " << testing::SseFixtureDir();
  std::mt19937 rng(20240611);  // fixed seed: the test is deterministic
  size_t files = 0;
  for (const std::filesystem::path& fixture : fixtures) {
    ++files;
    const std::string base = testing::ReadFile(fixture);
    for (std::string_view line_end : {"\n", "\r\n", "\r"}) {
      std::string data;
      for (char c : base) {
        if (c == '\n') {
          data += line_end;
        } else {
          data += c;
        }
      }
      SCOPED_TRACE(fixture.filename().string() + " line end size " +
                   std::to_string(line_end.size()));
      for (int round = 0; round < 20; ++round) {
        StreamBuilder b(StreamKind::kSse);
        std::vector<Micros> truth;
        size_t pos = 0;
        Micros at = 0;
        while (pos < data.size()) {
          const size_t len = std::min(data.size() - pos, size_t{1} + rng() % 300);
          at += 1 + static_cast<Micros>(rng() % 1000);
          b.AddChunk(std::string_view(data).substr(pos, len), at);
          truth.insert(truth.end(), len, at);
          pos += len;
        }
        bool incomplete = false;
        Stream s = b.Finish(&incomplete);
        ASSERT_EQ(s.Concatenated(), data);
        ASSERT_EQ(ArrivalPerByte(s), truth);
        // Whatever the chunking, the events are those the framer cuts from the whole.
        SseFramer framer;
        std::vector<std::string> events;
        framer.Feed(data, &events);
        ASSERT_EQ(s.events.size() - 1 + (framer.pending().empty() ? 1 : 0), events.size());
        for (size_t k = 0; k < events.size(); ++k) ASSERT_EQ(s.events[k].bytes, events[k]);
        EXPECT_EQ(incomplete, !framer.pending().empty() && !framer.pending_complete());
      }
    }
  }
  EXPECT_GT(files, 0u);
}

}  // namespace
}  // namespace td::cassette
