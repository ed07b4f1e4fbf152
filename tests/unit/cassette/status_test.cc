#include "cassette/base/status.h"

#include <gtest/gtest.h>

#include "cassette/base/clock.h"
#include "cassette/base/log.h"
#include "tests/support/log_capture.h"

namespace td {
namespace {

Result<int> Half(int x) {
  if (x % 2 != 0) return InvalidArgumentError("odd number " + std::to_string(x));
  return x / 2;
}

Status UsesReturnIfError(int x) {
  TD_RETURN_IF_ERROR(Half(x).status());
  return Status::Ok();
}

TEST(StatusTest, ResultHoldsValueOrError) {
  Result<int> ok = Half(4);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, 2);
  Result<int> bad = Half(3);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.status().message(), "odd number 3");
}

TEST(StatusTest, ContextIsPrefixedAtEachLayer) {
  Status s =
      ParseError("missing \"response\"").WithContext("line 12").WithContext("cassette t.zst");
  EXPECT_EQ(s.message(), "cassette t.zst: line 12: missing \"response\"");
  EXPECT_EQ(s.ToString(), "parse: cassette t.zst: line 12: missing \"response\"");
  EXPECT_TRUE(Status::Ok().WithContext("x").ok());
}

TEST(StatusTest, ReturnIfErrorPropagates) {
  EXPECT_TRUE(UsesReturnIfError(2).ok());
  EXPECT_EQ(UsesReturnIfError(1).code(), StatusCode::kInvalidArgument);
}

TEST(LogTest, LevelsParseAndFilter) {
  ASSERT_TRUE(ParseLogLevel("warn").ok());
  EXPECT_FALSE(ParseLogLevel("verbose").ok());
  EXPECT_FALSE(ParseLogFormat("xml").ok());
  testing::LogCapture log(LogLevel::kWarn);
  TD_LOG(kInfo) << "hidden";
  TD_LOG(kWarn) << "shown " << 42;
  ASSERT_EQ(log.lines().size(), 1u);
  EXPECT_EQ(log.lines()[0], "tapedeck: warn: shown 42");
}

TEST(ClockTest, FormatsRfc3339WithMicros) {
  EXPECT_EQ(FormatRfc3339Micros(0), "1970-01-01T00:00:00.000000Z");
  EXPECT_EQ(FormatRfc3339Micros(1700000000123456), "2023-11-14T22:13:20.123456Z");
}

TEST(ClockTest, FormatsYearsBefore1000WithFourDigits) {
  // Found by tests/fuzz/cassette_reader_fuzz: a cassette created in "0889-..." was written back
  // as "889-...", which the reader then refused.
  EXPECT_EQ(FormatRfc3339Micros(-34317602747000000), "0882-07-08T12:34:13.000000Z");
  EXPECT_EQ(FormatRfc3339Micros(-62167219200000000), "0000-01-01T00:00:00.000000Z");
  EXPECT_EQ(FormatRfc3339Micros(253402300799999999), "9999-12-31T23:59:59.999999Z");
}

}  // namespace
}  // namespace td
