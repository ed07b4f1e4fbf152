// Unit tests for hop-by-hop filtering and field validity: what may cross the proxy.
#include "proxy/internal/headers.h"

#include <gtest/gtest.h>

namespace td::proxy::internal {
namespace {

TEST(HeadersTest, DropsHopByHopFieldsAndThoseNamedInConnection) {
  cassette::Headers in = {
      {"Host", "localhost:8080"},
      {"Connection", "keep-alive, X-Trace-Hop , Upgrade"},
      {"Keep-Alive", "timeout=5"},
      {"Proxy-Connection", "keep-alive"},
      {"TE", "trailers"},
      {"Trailer", "X-Checksum"},
      {"Transfer-Encoding", "chunked"},
      {"Upgrade", "websocket"},
      {"Content-Length", "12"},
      {"x-trace-hop", "1"},
      {"x-api-key", "sk-ant-test"},
      {"anthropic-version", "2023-06-01"},
      {"Set-Cookie", "a=1"},
      {"Set-Cookie", "b=2"},
  };
  cassette::Headers expected = {
      {"Host", "localhost:8080"}, {"x-api-key", "sk-ant-test"}, {"anthropic-version", "2023-06-01"},
      {"Set-Cookie", "a=1"},      {"Set-Cookie", "b=2"},
  };
  EXPECT_EQ(EndToEndHeaders(in), expected);
}

TEST(HeadersTest, HopByHopNamesCompareCaseInsensitively) {
  EXPECT_TRUE(IsHopByHopHeader("CONNECTION"));
  EXPECT_TRUE(IsHopByHopHeader("transfer-encoding"));
  EXPECT_TRUE(IsHopByHopHeader("Content-Length"));
  EXPECT_FALSE(IsHopByHopHeader("content-type"));
  EXPECT_FALSE(IsHopByHopHeader("authorization"));
}

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

}  // namespace
}  // namespace td::proxy::internal
