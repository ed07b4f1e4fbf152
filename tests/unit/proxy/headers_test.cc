// Unit tests for header fields on the wire: which are safe to write, and the line writer.
#include "proxy/internal/headers.h"

#include <gtest/gtest.h>

namespace td::proxy::internal {
namespace {

TEST(HeadersTest, ValidatesFieldsBeforeTheyGoOnTheWire) {
  EXPECT_TRUE(IsValidFieldName("x-request-id"));
  EXPECT_FALSE(IsValidFieldName(""));
  EXPECT_FALSE(IsValidFieldName("bad name"));
  EXPECT_FALSE(IsValidFieldName("x:y"));
  EXPECT_TRUE(IsValidFieldValue("text/event-stream; charset=utf-8"));
  EXPECT_TRUE(IsValidFieldValue("caf\xc3\xa9\tok"));
  EXPECT_FALSE(IsValidFieldValue("a\r\nSet-Cookie: injected"));
  EXPECT_FALSE(IsValidFieldValue(std::string("a\0b", 3)));
}

TEST(HeadersTest, WritesEndToEndLinesInOrderAndReportsUnsafeOnes) {
  cassette::Headers in = {
      {"Host", "upstream.test"},
      {"Connection", "close"},
      {"content-type", "text/plain"},
      {"x-bad", "a\r\nSet-Cookie: injected"},
      {"bad name", "v"},
      {"Transfer-Encoding", "chunked"},
      {"x-multi", "1"},
      {"x-multi", "2"},
  };
  std::string out = "GET / HTTP/1.1\r\n";
  std::vector<std::string> unsafe = AppendHeaderLines(in, out, "host");
  EXPECT_EQ(out, "GET / HTTP/1.1\r\ncontent-type: text/plain\r\nx-multi: 1\r\nx-multi: 2\r\n");
  EXPECT_EQ(unsafe, (std::vector<std::string>{"x-bad", "bad name"}));
}

TEST(HeadersTest, DropsHopByHopFieldsWithOrWithoutAConnectionHeader) {
  // Without a Connection header the writer filters in place (a replayed response's usual
  // case); with one, the names it lists are dropped too.
  cassette::Headers in = {
      {"content-type", "text/event-stream"},
      {"Keep-Alive", "timeout=5"},
      {"Transfer-Encoding", "chunked"},
      {"x-hop", "1"},
      {"Upgrade", "h2c"},
      {"request-id", "req_1"},
  };
  std::string out;
  EXPECT_TRUE(AppendHeaderLines(in, out).empty());
  EXPECT_EQ(out, "content-type: text/event-stream\r\nx-hop: 1\r\nrequest-id: req_1\r\n");
  in.emplace_back("Connection", "x-hop");
  out.clear();
  EXPECT_TRUE(AppendHeaderLines(in, out).empty());
  EXPECT_EQ(out, "content-type: text/event-stream\r\nrequest-id: req_1\r\n");
}

}  // namespace
}  // namespace td::proxy::internal
