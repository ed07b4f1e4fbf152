// Tests for the SSE framer and field parser: real recorded streams (and their CRLF and CR
// twins) cut at every byte offset and fed a byte at a time must give the same events, which
// concatenate back to the input; plus the line-end, comment, field and remainder edge cases.
#include "cassette/sse.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/fixtures.h"

namespace td::cassette {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

struct Framed {
  std::vector<std::string> events;
  std::string remainder;
  bool remainder_complete = false;
  friend bool operator==(const Framed&, const Framed&) = default;
};

Framed FrameInPieces(const std::vector<std::string_view>& pieces) {
  SseFramer framer;
  Framed out;
  for (std::string_view piece : pieces) framer.Feed(piece, &out.events);
  out.remainder_complete = framer.pending_complete();
  out.remainder = framer.TakeRemainder();
  return out;
}

Framed FrameWhole(std::string_view data) { return FrameInPieces({data}); }

Framed FrameByteAtATime(std::string_view data) {
  SseFramer framer;
  Framed out;
  for (size_t i = 0; i < data.size(); ++i) framer.Feed(data.substr(i, 1), &out.events);
  out.remainder_complete = framer.pending_complete();
  out.remainder = framer.TakeRemainder();
  return out;
}

std::string Concat(const Framed& f) {
  std::string all;
  for (const std::string& e : f.events) all += e;
  return all + f.remainder;
}

// Counts the empty lines of `data` the simple way: normalise every line end to LF, then count
// lines with nothing on them. Each one ends exactly one event (a stray one is its own event).
size_t CountEmptyLines(std::string_view data) {
  std::string lf;
  for (size_t i = 0; i < data.size(); ++i) {
    if (data[i] == '\r') {
      lf += '\n';
      if (i + 1 < data.size() && data[i + 1] == '\n') ++i;
    } else {
      lf += data[i];
    }
  }
  size_t count = 0;
  bool line_empty = true;
  for (char c : lf) {
    if (c == '\n') {
      if (line_empty) ++count;
      line_empty = true;
    } else {
      line_empty = false;
    }
  }
  return count;
}

std::string ReplaceLf(std::string_view data, std::string_view line_end) {
  std::string out;
  for (char c : data) {
    if (c == '\n') {
      out += line_end;
    } else {
      out += c;
    }
  }
  return out;
}

// Streams up to this size are cut at every offset as a whole; see CheckEverySplit.
constexpr size_t kFullSplitLimit = 8 * 1024;

// Cuts `data` into two pieces at every offset and expects `whole`. That is O(n^2) over a
// whole stream (minutes for the 80 KB fixture), so past kFullSplitLimit each cut is checked on
// the stretch it can affect: from the start of the event holding it (of the event before, for
// a cut between two events) to two bytes into the next event (enough to settle a final CR).
// The framer starts each event from a clean state, which the whole-stream and byte-at-a-time
// checks cover.
void CheckEverySplit(std::string_view data, const Framed& whole) {
  if (data.size() <= kFullSplitLimit) {
    for (size_t k = 0; k <= data.size(); ++k) {
      if (FrameInPieces({data.substr(0, k), data.substr(k)}) != whole) {
        ADD_FAILURE() << "split at byte " << k << " gives different events";
        return;
      }
    }
    return;
  }
  std::vector<size_t> bounds{0};  // where each event (and the remainder) starts and ends
  for (const std::string& e : whole.events) bounds.push_back(bounds.back() + e.size());
  if (!whole.remainder.empty()) bounds.push_back(data.size());
  size_t unit = 0;
  for (size_t k = 0; k <= data.size(); ++k) {
    while (unit + 2 < bounds.size() && bounds[unit + 1] <= k) ++unit;
    const size_t first = (k == bounds[unit] && unit > 0) ? unit - 1 : unit;
    const size_t end = std::min(data.size(), bounds[unit + 1] + 2);
    std::string_view slice = data.substr(bounds[first], end - bounds[first]);
    const size_t cut = k - bounds[first];
    const Framed expected = FrameWhole(slice);
    // The slice frames into the same events as the whole stream did.
    for (size_t j = 0; j < expected.events.size(); ++j) {
      if (first + j >= whole.events.size() || expected.events[j] != whole.events[first + j]) {
        ADD_FAILURE() << "event " << first + j << " differs when framed on its own";
        return;
      }
    }
    if (FrameInPieces({slice.substr(0, cut), slice.substr(cut)}) != expected) {
      ADD_FAILURE() << "split at byte " << k << " gives different events";
      return;
    }
  }
}

// The properties every stream must have, whatever its line ends.
void CheckStream(const std::string& name, const std::string& data) {
  SCOPED_TRACE(name);
  const Framed whole = FrameWhole(data);
  EXPECT_EQ(Concat(whole), data) << "bytes lost or changed";
  // An event held back only for its final CR is complete at the end of the stream.
  const size_t complete = whole.events.size() + (whole.remainder_complete ? 1 : 0);
  EXPECT_EQ(complete, CountEmptyLines(data));
  EXPECT_GE(complete, 4u) << "a real stream has several events";
  EXPECT_EQ(FrameByteAtATime(data), whole) << "one byte at a time";
  CheckEverySplit(data, whole);
}

TEST(SseFramerTest, FixtureStreamsFrameIdenticallyAtEverySplitPoint) {
  const std::vector<std::filesystem::path> files = testing::SseFixtureFiles();
  if (files.empty()) GTEST_SKIP() << "no SSE fixtures in " << TD_FIXTURES_DIR << "/sse";
  size_t total_events = 0;
  for (const auto& path : files) {
    const std::string data = testing::ReadFile(path);
    const std::string name = path.filename().string();
    CheckStream(name, data);
    // The same streams with CRLF and lone-CR line ends exercise the CR handling on real
    // data: a CR at the end of a piece may or may not be followed by an LF.
    CheckStream(name + " (crlf)", ReplaceLf(data, "\r\n"));
    CheckStream(name + " (cr)", ReplaceLf(data, "\r"));
    total_events += FrameWhole(data).events.size();
  }
  EXPECT_GT(total_events, 100u);
}

TEST(SseFramerTest, FixtureEventsParseAsTheirBlocks) {
  const std::vector<std::filesystem::path> files = testing::SseFixtureFiles();
  if (files.empty()) GTEST_SKIP() << "no SSE fixtures in " << TD_FIXTURES_DIR << "/sse";
  for (const auto& path : files) {
    SCOPED_TRACE(path.filename().string());
    const std::string data = testing::ReadFile(path);
    const Framed whole = FrameWhole(data);
    size_t data_events = 0;
    for (const std::string& e : whole.events) {
      EXPECT_TRUE(e.ends_with("\n\n")) << e;
      if (ParseSseEvent(e).has_data) ++data_events;
    }
    // Every block in these recordings carries data.
    EXPECT_EQ(data_events, whole.events.size());
  }
}

TEST(SseFramerTest, SplitsEventAcrossChunks) {
  Framed f = FrameInPieces({"event: a\nda", "ta: 1\n", "\nevent: b\ndata: 2\n\n"});
  EXPECT_THAT(f.events, ElementsAre("event: a\ndata: 1\n\n", "event: b\ndata: 2\n\n"));
  EXPECT_EQ(f.remainder, "");
}

TEST(SseFramerTest, EndsEventsAtEveryKindOfEmptyLine) {
  // Each terminator is followed by 'x' so a final CR is resolved by the next byte.
  for (std::string_view end :
       {"\n\n", "\r\n\r\n", "\r\r", "\n\r\n", "\r\n\n", "\n\r", "\r\n\r", "\r\r\n"}) {
    SCOPED_TRACE(::testing::PrintToString(std::string(end)));
    const std::string event = "data: a" + std::string(end);
    Framed f = FrameWhole(event + "x");
    EXPECT_THAT(f.events, ElementsAre(event));
    EXPECT_EQ(f.remainder, "x");
    EXPECT_EQ(FrameByteAtATime(event + "x"), f);
  }
}

TEST(SseFramerTest, CrlfLineEnds) {
  const std::string stream = "event: ping\r\ndata: {}\r\n\r\ndata: [DONE]\r\n\r\n";
  Framed f = FrameWhole(stream);
  EXPECT_THAT(f.events, ElementsAre("event: ping\r\ndata: {}\r\n\r\n", "data: [DONE]\r\n\r\n"));
  EXPECT_EQ(f.remainder, "");
  EXPECT_FALSE(f.remainder_complete);
}

TEST(SseFramerTest, LoneCrLineEnds) {
  Framed f = FrameWhole("data: a\rdata: b\r\rdata: c\r\r");
  EXPECT_THAT(f.events, ElementsAre("data: a\rdata: b\r\r"));
  // The last event ends in CR: held back until the next byte, complete at the end of stream.
  EXPECT_EQ(f.remainder, "data: c\r\r");
  EXPECT_TRUE(f.remainder_complete);
  EXPECT_EQ(ParseSseEvent(f.events[0]).data, "a\nb");
}

TEST(SseFramerTest, HoldsCrEventUntilNextByteIsKnown) {
  SseFramer framer;
  std::vector<std::string> events;
  framer.Feed("data: a\r\r", &events);
  EXPECT_THAT(events, IsEmpty());
  EXPECT_TRUE(framer.pending_complete());
  framer.Feed("\n", &events);  // the LF belongs to the CR that ended the empty line
  EXPECT_THAT(events, ElementsAre("data: a\r\r\n"));
  EXPECT_FALSE(framer.pending_complete());
  EXPECT_EQ(framer.pending(), "");

  events.clear();
  framer.Feed("data: b\r\r", &events);
  framer.Feed("data: c\n\n", &events);  // not an LF: the CR alone ended the event
  EXPECT_THAT(events, ElementsAre("data: b\r\r", "data: c\n\n"));
}

TEST(SseFramerTest, MixedLineEnds) {
  const std::string stream = "event: a\r\ndata: 1\ndata: 2\r\r\nevent: b\rdata: 3\n\r\n: c\r\n\n";
  Framed f = FrameWhole(stream);
  EXPECT_THAT(f.events, ElementsAre("event: a\r\ndata: 1\ndata: 2\r\r\n", "event: b\rdata: 3\n\r\n",
                                    ": c\r\n\n"));
  EXPECT_EQ(ParseSseEvent(f.events[0]).data, "1\n2");
  EXPECT_EQ(ParseSseEvent(f.events[1]).event, "b");
  for (size_t k = 0; k <= stream.size(); ++k) {
    std::string_view v(stream);
    EXPECT_EQ(FrameInPieces({v.substr(0, k), v.substr(k)}), f) << "split at " << k;
  }
}

TEST(SseFramerTest, CrLfPairSplitAcrossFeeds) {
  // CR | LF inside a line end, and CR | LF at the empty line, fed in separate calls.
  Framed f = FrameInPieces({"data: a\r", "\n\r", "\ndata: b\r", "\n", "\r", "\n"});
  EXPECT_THAT(f.events, ElementsAre("data: a\r\n\r\n", "data: b\r\n\r\n"));
  EXPECT_EQ(f.remainder, "");
}

TEST(SseFramerTest, CommentsWithAndWithoutSpaceAreEvents) {
  Framed f = FrameWhole(":ping\n\n: ping\n\n");
  ASSERT_THAT(f.events, ElementsAre(":ping\n\n", ": ping\n\n"));
  SseFields no_space = ParseSseEvent(f.events[0]);
  SseFields space = ParseSseEvent(f.events[1]);
  EXPECT_THAT(no_space.comments, ElementsAre("ping"));
  EXPECT_THAT(space.comments, ElementsAre(" ping"));
  EXPECT_FALSE(space.has_data);
  EXPECT_FALSE(IsDoneEvent(space));
}

TEST(SseFramerTest, EventWithoutDataIsAnEvent) {
  Framed f = FrameWhole("event: ping\n\nretry: 10\n\n");
  EXPECT_THAT(f.events, ElementsAre("event: ping\n\n", "retry: 10\n\n"));
}

TEST(SseFramerTest, StrayBlankLinesAreTheirOwnEvents) {
  Framed f = FrameWhole("\n\r\ndata: a\n\n\n\rdata: b\n\n");
  EXPECT_THAT(f.events, ElementsAre("\n", "\r\n", "data: a\n\n", "\n", "\r", "data: b\n\n"));
  SseFields stray = ParseSseEvent(f.events[0]);
  EXPECT_FALSE(stray.has_data);
  EXPECT_THAT(stray.comments, IsEmpty());
}

TEST(SseFramerTest, MultiLineData) {
  Framed f = FrameWhole("data: {\"a\":\ndata:  1}\ndata\n\n");
  ASSERT_EQ(f.events.size(), 1u);
  SseFields fields = ParseSseEvent(f.events[0]);
  EXPECT_TRUE(fields.has_data);
  // One leading space is dropped, the second kept; "data" alone adds an empty line.
  EXPECT_EQ(fields.data, "{\"a\":\n 1}\n");
}

TEST(SseFramerTest, IdAndRetryFields) {
  SseFields f = ParseSseEvent("id: 42\nretry: 3000\nevent: update\ndata: x\n\n");
  EXPECT_EQ(f.id, "42");
  EXPECT_EQ(f.retry, "3000");
  EXPECT_EQ(f.event, "update");
  EXPECT_EQ(f.data, "x");

  using std::string_literals::operator""s;
  SseFields bad = ParseSseEvent("id: a\0b\nretry: 3s\ndata\n\n"s);
  EXPECT_EQ(bad.id, std::nullopt) << "an id with NUL is ignored";
  EXPECT_EQ(bad.retry, std::nullopt) << "retry must be digits";
  EXPECT_TRUE(bad.has_data);
  EXPECT_EQ(bad.data, "");

  SseFields empty_id = ParseSseEvent("id\n\n");
  EXPECT_EQ(empty_id.id, "");
}

TEST(SseFramerTest, FieldParsingFollowsWhatwg) {
  SseFields f = ParseSseEvent("data:x\nevent:y\nunknown: z\n:c\n\n");
  EXPECT_EQ(f.data, "x");
  EXPECT_EQ(f.event, "y");
  EXPECT_THAT(f.comments, ElementsAre("c"));
  EXPECT_EQ(ParseSseEvent("data: a: b\n\n").data, "a: b") << "only the first colon splits";
  EXPECT_EQ(ParseSseEvent("event: a\nevent: b\n\n").event, "b") << "the last event field wins";
}

TEST(SseFramerTest, DoneMarker) {
  Framed f = FrameWhole("data: {\"x\":1}\n\ndata: [DONE]\n\n");
  ASSERT_EQ(f.events.size(), 2u);
  EXPECT_FALSE(IsDoneEvent(ParseSseEvent(f.events[0])));
  EXPECT_TRUE(IsDoneEvent(ParseSseEvent(f.events[1])));
  EXPECT_TRUE(IsDoneEvent(ParseSseEvent("data:[DONE]\r\n\r\n")));
  EXPECT_FALSE(IsDoneEvent(ParseSseEvent("data: [DONE] \n\n")));
}

TEST(SseFramerTest, Utf8CharactersSplitAcrossFeeds) {
  // "é" is 2 bytes, "🙂" 4 bytes; cut inside each of them.
  const std::string stream = "data: caf\xC3\xA9 \xF0\x9F\x99\x82\n\n";
  const Framed whole = FrameWhole(stream);
  ASSERT_EQ(whole.events.size(), 1u);
  EXPECT_EQ(ParseSseEvent(whole.events[0]).data, "caf\xC3\xA9 \xF0\x9F\x99\x82");
  std::string_view v(stream);
  const size_t e_acute = stream.find('\xC3');
  const size_t smile = stream.find('\xF0');
  for (size_t k : {e_acute + 1, smile + 1, smile + 2, smile + 3}) {
    EXPECT_EQ(FrameInPieces({v.substr(0, k), v.substr(k)}), whole) << "split at " << k;
  }
  EXPECT_EQ(FrameByteAtATime(stream), whole);
}

TEST(SseFramerTest, EventWithoutTrailingBlankLineIsRemainder) {
  SseFramer framer;
  std::vector<std::string> events;
  framer.Feed("data: a\n\ndata: b\n", &events);
  EXPECT_THAT(events, ElementsAre("data: a\n\n"));
  EXPECT_EQ(framer.pending(), "data: b\n");
  EXPECT_FALSE(framer.pending_complete());
  EXPECT_EQ(framer.TakeRemainder(), "data: b\n");
  EXPECT_EQ(framer.pending(), "");
  // The framer starts over after TakeRemainder.
  framer.Feed("\n", &events);
  EXPECT_THAT(events, ElementsAre("data: a\n\n", "\n"));
}

TEST(SseFramerTest, FeedIsLinearInTheStream) {
  // One 1 MiB event and then many small ones, fed a byte at a time: rescanning the buffer on
  // each Feed would take ~10^12 steps and time out.
  std::string stream = "data: " + std::string(1 << 20, 'x') + "\n\n";
  for (int i = 0; i < 10000; ++i) stream += "data: y\n\n";
  SseFramer framer;
  std::vector<std::string> events;
  for (size_t i = 0; i < stream.size(); ++i) {
    framer.Feed(std::string_view(stream).substr(i, 1), &events);
  }
  EXPECT_EQ(events.size(), 10001u);
  EXPECT_EQ(events[0].size(), (1u << 20) + 8);
  EXPECT_EQ(framer.pending(), "");
}

}  // namespace
}  // namespace td::cassette
