// Unit tests for the access log line format.
#include "proxy/access_log.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/support/log_capture.h"

namespace td::proxy {
namespace {

TEST(AccessLogTest, FormatsOneLinePerExchange) {
  AccessLogEntry entry;
  entry.mode = "record";
  entry.result = "recorded";
  entry.status = 200;
  entry.bytes = 5321;
  entry.duration_us = 12'999;
  entry.method = "POST";
  entry.path = "/v1/messages";
  entry.id = 3;
  EXPECT_EQ(FormatAccessLine(entry),
            "mode=record result=recorded status=200 bytes=5321 ms=12 POST /v1/messages seq=3");
}

TEST(AccessLogTest, ReplayNamesTheInteractionAndDetailsAreQuoted) {
  AccessLogEntry entry;
  entry.mode = "replay";
  entry.result = "miss";
  entry.status = 404;
  entry.method = "GET";
  entry.path = "/v1/models";
  entry.id_name = "interaction";
  entry.id = 0;
  entry.detail = "no \"match\"\nat all";
  EXPECT_EQ(FormatAccessLine(entry),
            "mode=replay result=miss status=404 bytes=0 ms=0 GET /v1/models interaction=0 "
            "detail=\"no \\\"match\\\"\\x0aat all\"");
}

TEST(AccessLogTest, KeepsOneEntryOnOneLine) {
  AccessLogEntry entry;
  entry.mode = "record";
  entry.result = "error";
  entry.method = "GET";
  entry.path = "/a b\r\nfake=1";
  entry.duration_us = -5;
  std::string line = FormatAccessLine(entry);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_EQ(line.find('\r'), std::string::npos);
  EXPECT_NE(line.find("/a%20b\\x0d\\x0afake=1"), std::string::npos) << line;
  EXPECT_NE(line.find("ms=0"), std::string::npos);
}

TEST(AccessLogTest, ReplayEndsAndCassettesAreFieldsOfTheirOwn) {
  AccessLogEntry entry;
  entry.mode = "auto";
  entry.result = "hit";
  entry.status = 200;
  entry.method = "POST";
  entry.path = "/v1/messages";
  entry.id_name = "interaction";
  entry.id = 4;
  entry.end = "reset";
  entry.cassette = "suite/test_one";
  EXPECT_EQ(FormatAccessLine(entry),
            "mode=auto result=hit status=200 bytes=0 ms=0 POST /v1/messages interaction=4 "
            "end=reset cassette=suite/test_one");
  entry.id.reset();  // a miss names no interaction
  EXPECT_EQ(FormatAccessLine(entry).find("interaction="), std::string::npos);
}

TEST(AccessLogTest, JsonFormatGivesFieldsNotAString) {
  testing::LogCapture log(LogLevel::kInfo, LogFormat::kJson);
  AccessLogEntry entry;
  entry.mode = "replay";
  entry.result = "hit";
  entry.status = 200;
  entry.bytes = 812;
  entry.duration_us = 7'400;
  entry.method = "POST";
  entry.path = "/v1/messages";
  entry.id_name = "interaction";
  entry.id = 3;
  entry.end = "reset";
  LogAccess(entry);
  ASSERT_EQ(log.lines().size(), 1u);
  nlohmann::json j = nlohmann::json::parse(log.lines()[0], nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << log.lines()[0];
  EXPECT_EQ(j["level"], "info");
  EXPECT_EQ(j["mode"], "replay");
  EXPECT_EQ(j["result"], "hit");
  EXPECT_EQ(j["status"], 200);
  EXPECT_EQ(j["bytes"], 812);
  EXPECT_EQ(j["ms"], 7);
  EXPECT_EQ(j["method"], "POST");
  EXPECT_EQ(j["path"], "/v1/messages");
  EXPECT_EQ(j["interaction"], 3);
  EXPECT_EQ(j["end"], "reset");
  EXPECT_FALSE(j.contains("seq"));
  EXPECT_FALSE(j.contains("cassette"));
  EXPECT_TRUE(j.contains("time"));
}

TEST(AccessLogTest, NothingIsWrittenBelowTheLevel) {
  testing::LogCapture log(LogLevel::kWarn);
  AccessLogEntry entry;
  entry.mode = "replay";
  LogAccess(entry);
  EXPECT_TRUE(log.lines().empty());
}

}  // namespace
}  // namespace td::proxy
