// Unit tests for the access log line format.
#include "proxy/access_log.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace td::proxy
