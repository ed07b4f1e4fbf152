// Unit tests for the hop-by-hop rule: which fields cross the proxy, are recorded and replayed.
#include "cassette/http_headers.h"

#include <gtest/gtest.h>

namespace td::cassette {
namespace {

TEST(HttpHeadersTest, DropsHopByHopFieldsAndThoseNamedInConnection) {
  Headers in = {
      {"Host", "localhost:8080"},
      {"Connection", "keep-alive, X-Trace-Hop , Upgrade"},
      {"Keep-Alive", "timeout=5"},
      {"Proxy-Connection", "keep-alive"},
      {"Proxy-Authorization", "Basic dXNlcjpwYXNz"},
      {"Proxy-Authenticate", "Basic realm=proxy"},
      {"TE", "trailers"},
      {"Trailer", "X-Checksum"},
      {"Transfer-Encoding", "chunked"},
      {"Upgrade", "websocket"},
      {"Content-Length", "12"},
      {"x-trace-hop", "1"},
      {"x-api-key", "test-key"},
      {"anthropic-version", "2023-06-01"},
      {"Set-Cookie", "a=1"},
      {"Set-Cookie", "b=2"},
  };
  Headers expected = {
      {"Host", "localhost:8080"}, {"x-api-key", "test-key"}, {"anthropic-version", "2023-06-01"},
      {"Set-Cookie", "a=1"},      {"Set-Cookie", "b=2"},
  };
  EXPECT_EQ(EndToEndHeaders(in), expected);
}

TEST(HttpHeadersTest, HopByHopNamesCompareCaseInsensitively) {
  EXPECT_TRUE(IsHopByHopHeader("CONNECTION"));
  EXPECT_TRUE(IsHopByHopHeader("transfer-encoding"));
  EXPECT_TRUE(IsHopByHopHeader("Content-Length"));
  EXPECT_TRUE(IsHopByHopHeader("proxy-authorization"));
  EXPECT_FALSE(IsHopByHopHeader("content-type"));
  EXPECT_FALSE(IsHopByHopHeader("authorization"));
}

TEST(HttpHeadersTest, AnEmptyConnectionListNamesNothing) {
  Headers in = {{"Connection", " , ,"}, {"x-a", "1"}};
  EXPECT_EQ(EndToEndHeaders(in), (Headers{{"x-a", "1"}}));
}

TEST(HttpHeadersTest, ReasonPhrases) {
  EXPECT_EQ(ReasonPhrase(200), "OK");
  EXPECT_EQ(ReasonPhrase(502), "Bad Gateway");
  EXPECT_EQ(ReasonPhrase(799), "Unknown");
}

}  // namespace
}  // namespace td::cassette
