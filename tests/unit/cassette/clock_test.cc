// Tests for cassette wall times: FormatRfc3339Micros writes a 4-digit year for every year the
// format can spell, the reader (internal::ParseRfc3339Micros) takes each one back, and both
// agree on the edges: the writer clamps a time outside 0000..9999, the reader refuses any other
// spelling of a year.
#include "cassette/base/clock.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <string>

#include "cassette/codec.h"
#include "cassette/internal/codec_text.h"
#include "tests/support/interaction_builder.h"

namespace td {
namespace {

using cassette::internal::ParseRfc3339Micros;

constexpr Micros kDay = Micros{86400} * 1000000;

TEST(ClockTest, YearsBeforeOneThousandHaveFourDigits) {
  // 0026-03-04T05:06:07.000008Z: 0026-03-04 is 709969 days before 1970-01-01.
  const Micros t = Micros{-709969} * kDay + ((5 * 60 + 6) * 60 + 7) * Micros{1000000} + 8;
  EXPECT_EQ(FormatRfc3339Micros(t), "0026-03-04T05:06:07.000008Z");
  EXPECT_EQ(FormatRfc3339Micros(kMinRfc3339Micros), "0000-01-01T00:00:00.000000Z");
  EXPECT_EQ(FormatRfc3339Micros(kMaxRfc3339Micros), "9999-12-31T23:59:59.999999Z");
  EXPECT_EQ(FormatRfc3339Micros(0), "1970-01-01T00:00:00.000000Z");
  EXPECT_EQ(FormatRfc3339Micros(-1), "1969-12-31T23:59:59.999999Z");
}

TEST(ClockTest, EveryWrittenTimeReadsBackAcrossTheRange) {
  // Both ends, every year boundary near them, and a spread of times in between.
  std::uint64_t seed = 7;
  for (int i = 0; i < 20000; ++i) {
    seed = seed * 6364136223846793005u + 1442695040888963407u;
    const auto span = static_cast<std::uint64_t>(kMaxRfc3339Micros - kMinRfc3339Micros);
    Micros t = kMinRfc3339Micros + static_cast<Micros>((seed >> 1) % (span + 1));
    if (i < 200) t = kMinRfc3339Micros + i * (kDay / 7) + i;
    if (i >= 200 && i < 400) t = kMaxRfc3339Micros - (i - 200) * (kDay / 7) - i;
    const std::string text = FormatRfc3339Micros(t);
    ASSERT_EQ(text.size(), 27u) << text;
    const std::optional<Micros> back = ParseRfc3339Micros(text);
    ASSERT_TRUE(back.has_value()) << text;
    ASSERT_EQ(*back, t) << text;
  }
}

TEST(ClockTest, TheWriterClampsWhatTheReaderCouldNotTakeBack) {
  EXPECT_EQ(FormatRfc3339Micros(kMinRfc3339Micros - 1), "0000-01-01T00:00:00.000000Z");
  EXPECT_EQ(FormatRfc3339Micros(INT64_MIN), "0000-01-01T00:00:00.000000Z");
  EXPECT_EQ(FormatRfc3339Micros(kMaxRfc3339Micros + 1), "9999-12-31T23:59:59.999999Z");
  EXPECT_EQ(FormatRfc3339Micros(INT64_MAX), "9999-12-31T23:59:59.999999Z");

  // A recording stamped outside the range is written clamped and reads back as the edge.
  cassette::Cassette c;
  c.created_at_us = INT64_MIN;
  c.interactions.push_back(testing::InteractionBuilder().Seq(0).Build());
  c.interactions[0].recorded_at_us = INT64_MAX;
  Result<cassette::Cassette> back =
      cassette::ParseCassette(cassette::SerializeCassette(c), "clamped.jsonl");
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->created_at_us, kMinRfc3339Micros);
  EXPECT_EQ(back->interactions[0].recorded_at_us, kMaxRfc3339Micros);
}

TEST(ClockTest, TheReaderRefusesYearsOutsideFourDigits) {
  for (const char* text : {"26-03-04T05:06:07.000008Z", "10000-01-01T00:00:00.000000Z",
                           "-0001-12-31T00:00:00.000000Z", "+2026-01-01T00:00:00Z"}) {
    EXPECT_FALSE(ParseRfc3339Micros(text).has_value()) << text;
  }
  const std::string line =
      R"({"tapedeck":"cassette","version":1,"created_at":"10000-01-01T00:00:00.000000Z"})"
      "\n";
  Result<cassette::Cassette> c = cassette::ParseCassette(line, "y10k.jsonl");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(),
            "cassette y10k.jsonl: line 1: created_at: expected a UTC time like "
            "\"2026-11-21T08:32:33.123456Z\"");
}

}  // namespace
}  // namespace td
