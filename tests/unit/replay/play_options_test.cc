// The --timing, --chunking and --fault flag parsers.
#include "replay/play_options.h"

#include <gtest/gtest.h>

namespace td::replay {
namespace {

TEST(PlayOptionsTest, ParsesTiming) {
  EXPECT_EQ(*ParseTiming("recorded"), (Pace{false, 1.0}));
  EXPECT_EQ(*ParseTiming("instant"), (Pace{true, 1.0}));
  EXPECT_EQ(*ParseTiming("4"), (Pace{false, 4.0}));
  EXPECT_EQ(*ParseTiming("0.5"), (Pace{false, 0.5}));
  EXPECT_EQ(*ParseTiming("10x"), (Pace{false, 10.0}));
  EXPECT_EQ(FormatTiming(*ParseTiming("1")), "recorded");
  EXPECT_EQ(FormatTiming(*ParseTiming("2.5")), "2.5");
}

TEST(PlayOptionsTest, RejectsBadTimingWithTheExpectedForms) {
  for (const char* bad : {"fast", "0", "-2", "", "inf", "nan", "1e3", "0x10", "4 ", "x"}) {
    Result<Pace> t = ParseTiming(bad);
    ASSERT_FALSE(t.ok()) << bad;
    EXPECT_EQ(t.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(t.status().message(), "--timing \"" + std::string(bad) +
                                        "\": expected recorded, instant or a positive speed "
                                        "factor");
  }
}

TEST(PlayOptionsTest, ParsesChunking) {
  EXPECT_EQ(*ParseChunking("event"), (Chunking{ChunkingKind::kEvent, 0}));
  EXPECT_EQ(*ParseChunking("recorded"), (Chunking{ChunkingKind::kRecorded, 0}));
  EXPECT_EQ(*ParseChunking("byte"), (Chunking{ChunkingKind::kByte, 0}));
  EXPECT_EQ(*ParseChunking("random"), (Chunking{ChunkingKind::kRandom, 0}));
  EXPECT_EQ(*ParseChunking("random:42"), (Chunking{ChunkingKind::kRandom, 42}));
  EXPECT_EQ(ParseChunking("random:18446744073709551615")->seed, UINT64_MAX);
  EXPECT_EQ(FormatChunking(*ParseChunking("random:7")), "random:7");
  for (const char* bad :
       {"events", "random:", "random:-1", "random:x", "random:18446744073709551616", "Byte"}) {
    Result<Chunking> c = ParseChunking(bad);
    ASSERT_FALSE(c.ok()) << bad;
    EXPECT_NE(c.status().message().find(std::string("--chunking \"") + bad + "\""),
              std::string::npos);
  }
}

TEST(PlayOptionsTest, ParsesFaults) {
  EXPECT_EQ(*ParseFault(""), Fault{});
  EXPECT_EQ(*ParseFault("none"), Fault{});
  EXPECT_EQ(*ParseFault("truncate-after:3"), (Fault{FaultKind::kTruncate, 3}));
  EXPECT_EQ(*ParseFault("reset-after:0"), (Fault{FaultKind::kReset, 0}));
  EXPECT_EQ(*ParseFault("error-after:12"), (Fault{FaultKind::kError, 12}));
  EXPECT_EQ(*ParseFault("stall-after:1"), (Fault{FaultKind::kStall, 1}));
  EXPECT_EQ(FormatFault(*ParseFault("reset-after:5")), "reset-after:5");
  EXPECT_EQ(FormatFault(Fault{}), "none");
  Result<Fault> bad = ParseFault("reset-after:");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(),
            "--fault \"reset-after:\": N must be a whole number of events (0 or more)");
  bad = ParseFault("explode");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("expected none, truncate-after:N"), std::string::npos);
}

TEST(PlayOptionsTest, FormatsAllOptionsForTheLog) {
  PlayOptions o;
  o.timing = *ParseTiming("4");
  o.chunking = *ParseChunking("byte");
  o.fault = *ParseFault("stall-after:2");
  EXPECT_EQ(FormatPlayOptions(o), "timing=4 chunking=byte fault=stall-after:2");
  EXPECT_EQ(FormatPlayOptions(PlayOptions{}), "timing=recorded chunking=event fault=none");
}

}  // namespace
}  // namespace td::replay
