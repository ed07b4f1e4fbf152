// Unit tests for upstream URL validation (the start-up check) and path-prefix joining.
#include "proxy/upstream_url.h"

#include <gtest/gtest.h>

namespace td::proxy {
namespace {

void ExpectInvalid(std::string_view text, std::string_view message) {
  Result<UpstreamUrl> url = ParseUpstreamUrl(text);
  ASSERT_FALSE(url.ok()) << text;
  EXPECT_EQ(url.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(url.status().message(), message);
}

TEST(UpstreamUrlTest, ParsesHttpsWithDefaults) {
  Result<UpstreamUrl> url = ParseUpstreamUrl("https://api.anthropic.com");
  ASSERT_TRUE(url.ok()) << url.status().message();
  EXPECT_EQ(url->scheme, "https");
  EXPECT_EQ(url->host, "api.anthropic.com");
  EXPECT_EQ(url->port, 443);
  EXPECT_EQ(url->path_prefix, "");
  EXPECT_TRUE(url->tls());
  EXPECT_EQ(url->HostHeader(), "api.anthropic.com");
  EXPECT_EQ(url->ToString(), "https://api.anthropic.com");
}

TEST(UpstreamUrlTest, ParsesPortPrefixAndIpv6) {
  Result<UpstreamUrl> url = ParseUpstreamUrl("HTTP://LocalHost:8080/api/anthropic/");
  ASSERT_TRUE(url.ok()) << url.status().message();
  EXPECT_EQ(url->scheme, "http");
  EXPECT_EQ(url->host, "localhost");
  EXPECT_EQ(url->port, 8080);
  EXPECT_EQ(url->path_prefix, "/api/anthropic");
  EXPECT_EQ(url->HostHeader(), "localhost:8080");

  Result<UpstreamUrl> v6 = ParseUpstreamUrl("http://[::1]:9000/v1");
  ASSERT_TRUE(v6.ok()) << v6.status().message();
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->HostHeader(), "[::1]:9000");
  EXPECT_EQ(v6->ToString(), "http://[::1]:9000/v1");

  Result<UpstreamUrl> root = ParseUpstreamUrl("https://h.example/");
  ASSERT_TRUE(root.ok());
  EXPECT_EQ(root->path_prefix, "");
}

TEST(UpstreamUrlTest, RejectsStrayWhitespaceSayingWhichAndWhere) {
  ExpectInvalid("https://api.anthropic.com\n",
                "upstream URL \"https://api.anthropic.com\\n\": trailing newline at position 25");
  ExpectInvalid(" https://api.anthropic.com",
                "upstream URL \" https://api.anthropic.com\": leading space at position 0");
  ExpectInvalid("https://api.anthropic.com \r\n",
                "upstream URL \"https://api.anthropic.com \\r\\n\": trailing space at position 25");
  ExpectInvalid("https://api.anth\tropic.com",
                "upstream URL \"https://api.anth\\tropic.com\": a tab at position 16");
  ExpectInvalid("https://api.anthropic.com/v1\x01x",
                "upstream URL \"https://api.anthropic.com/v1\\x01x\": a control character 0x01 at "
                "position 28");
  ExpectInvalid(
      "https://caf\xc3\xa9.example",
      "upstream URL \"https://caf\xc3\xa9.example\": a non-ascii byte 0xc3 at position 11");
}

TEST(UpstreamUrlTest, RejectsWhatCannotBeAnUpstream) {
  ExpectInvalid("", "upstream URL \"\": empty");
  ExpectInvalid("localhost:8080",
                "upstream URL \"localhost:8080\": missing scheme (expected http:// or https://)");
  ExpectInvalid(
      "api.anthropic.com",
      "upstream URL \"api.anthropic.com\": missing scheme (expected http:// or https://)");
  ExpectInvalid("ftp://h",
                "upstream URL \"ftp://h\": unsupported scheme \"ftp\" (expected http or "
                "https)");
  ExpectInvalid("https://", "upstream URL \"https://\": missing host");
  ExpectInvalid("https:///v1", "upstream URL \"https:///v1\": missing host");
  ExpectInvalid("https://:443", "upstream URL \"https://:443\": missing host");
  // Credentials never reach a message: the password and the query are not echoed.
  ExpectInvalid("https://user:secret@h",
                "upstream URL \"https://***@h\": user info (user:password@) is not "
                "allowed; send credentials as headers");
  ExpectInvalid("https://user:secret@h:99/v1?key=abc\n",
                "upstream URL \"https://***@h:99/v1?...\": trailing newline at position 35");
  ExpectInvalid("https://h/v1?key=abc",
                "upstream URL \"https://h/v1?...\": a query is not allowed (send credentials as "
                "headers)");
  ExpectInvalid("https://h/#top",
                "upstream URL \"https://h/#top\": a fragment (\"#top\") is not "
                "allowed");
  ExpectInvalid("https://h:", "upstream URL \"https://h:\": empty port");
  ExpectInvalid("https://h:0", "upstream URL \"https://h:0\": invalid port \"0\"");
  ExpectInvalid("https://h:65536", "upstream URL \"https://h:65536\": invalid port \"65536\"");
  ExpectInvalid("https://h:99999999999",
                "upstream URL \"https://h:99999999999\": invalid port \"99999999999\"");
  ExpectInvalid("https://h:80a", "upstream URL \"https://h:80a\": invalid port \"80a\"");
  ExpectInvalid("https://h%41", "upstream URL \"https://h%41\": invalid character '%' in host");
  ExpectInvalid("http://[::1", "upstream URL \"http://[::1\": unterminated IPv6 address");
}

TEST(UpstreamUrlTest, JoinPathDoesNotDoubleThePrefix) {
  EXPECT_EQ(JoinPath("/v1", "/v1/messages"), "/v1/messages");
  EXPECT_EQ(JoinPath("/v1", "/v1"), "/v1");
  EXPECT_EQ(JoinPath("/v1", "/v1?x=1"), "/v1?x=1");
  EXPECT_EQ(JoinPath("/v1", "/messages?beta=true"), "/v1/messages?beta=true");
  EXPECT_EQ(JoinPath("/api/anthropic", "/v1/messages"), "/api/anthropic/v1/messages");
  EXPECT_EQ(JoinPath("/v1", "/v10/x"), "/v1/v10/x");
  EXPECT_EQ(JoinPath("", "/v1/messages?a=b"), "/v1/messages?a=b");
  EXPECT_EQ(JoinPath("/v1", "*"), "/v1");
  EXPECT_EQ(JoinPath("", "*"), "*");
}

TEST(UpstreamUrlTest, JoinsWithParsedPrefix) {
  Result<UpstreamUrl> url = ParseUpstreamUrl("https://host/v1");
  ASSERT_TRUE(url.ok());
  EXPECT_EQ(JoinPath(url->path_prefix, "/v1/messages"), "/v1/messages");
  Result<UpstreamUrl> prefixed = ParseUpstreamUrl("https://host/api/anthropic");
  ASSERT_TRUE(prefixed.ok());
  EXPECT_EQ(JoinPath(prefixed->path_prefix, "/v1/messages"), "/api/anthropic/v1/messages");
}

TEST(UpstreamMountTest, ParsesNamedAndUnnamedUpstreams) {
  Result<UpstreamMount> named = ParseUpstreamMount("openai=https://api.openai.com/v1");
  ASSERT_TRUE(named.ok()) << named.status().message();
  EXPECT_EQ(named->name, "openai");
  EXPECT_EQ(named->url.host, "api.openai.com");
  EXPECT_EQ(named->url.path_prefix, "/v1");
  Result<UpstreamMount> plain = ParseUpstreamMount("https://api.anthropic.com");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->name, "");
  for (std::string_view bad : {"OpenAI=https://x", "=https://x", "../x=https://x", "a b=https://x",
                               "-x=https://x", "openai=", "openai=ftp://x"}) {
    EXPECT_FALSE(ParseUpstreamMount(bad).ok()) << bad;
  }
  Result<UpstreamMount> upper = ParseUpstreamMount("Anthropic=https://api.anthropic.com");
  EXPECT_NE(upper.status().message().find("mount name \"Anthropic\""), std::string::npos)
      << upper.status().message();
}

TEST(UpstreamMountTest, FindsTheMountAtASegmentBoundaryAndStripsIt) {
  std::vector<UpstreamMount> mounts = {{"anthropic", {}}, {"openai", {}}};
  auto found = [&](std::string_view target) -> std::string {
    std::optional<MountedTarget> m = FindMount(mounts, target);
    return m ? std::to_string(m->mount) + " " + m->target : "none";
  };
  EXPECT_EQ(found("/anthropic/v1/messages"), "0 /v1/messages");
  EXPECT_EQ(found("/openai/v1/chat/completions?x=1"), "1 /v1/chat/completions?x=1");
  EXPECT_EQ(found("/openai"), "1 /");
  EXPECT_EQ(found("/openai?x=1"), "1 /?x=1");
  EXPECT_EQ(found("/openaiv1/models"), "none");
  EXPECT_EQ(found("/v1/messages"), "none");
  EXPECT_EQ(found("*"), "none");
  EXPECT_EQ(found(""), "none");
}

}  // namespace
}  // namespace td::proxy
