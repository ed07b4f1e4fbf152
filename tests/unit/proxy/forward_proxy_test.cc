// Tests for forward-proxy mode's rules: which hosts an --intercept pattern takes, CONNECT
// authorities, the ports a tunnel may name, and --resolve entries.
#include "proxy/forward_proxy.h"

#include <gtest/gtest.h>

#include <string>

namespace td::proxy {
namespace {

TEST(ForwardProxyTest, PatternsMatchWholeHostsAndOneLabelPerStar) {
  EXPECT_TRUE(HostMatchesPattern("api.anthropic.com", "API.Anthropic.com"));
  EXPECT_FALSE(HostMatchesPattern("api.anthropic.com", "api.anthropic.com.evil.example"));
  EXPECT_FALSE(HostMatchesPattern("api.anthropic.com", "xapi.anthropic.com"));
  EXPECT_TRUE(HostMatchesPattern("*.example.com", "a.example.com"));
  EXPECT_FALSE(HostMatchesPattern("*.example.com", "example.com"));
  EXPECT_FALSE(HostMatchesPattern("*.example.com", "a.b.example.com"));
  EXPECT_TRUE(HostMatchesPattern("bedrock-runtime.*.amazonaws.com",
                                 "bedrock-runtime.us-east-1.amazonaws.com"));
  EXPECT_FALSE(
      HostMatchesPattern("bedrock-runtime.*.amazonaws.com", "bedrock-runtime.amazonaws.com"));
  EXPECT_TRUE(
      HostMatchesPattern("*-aiplatform.googleapis.com", "europe-west4-aiplatform.googleapis.com"));
  EXPECT_FALSE(HostMatchesPattern("*-aiplatform.googleapis.com", "-aiplatform.googleapis.com"));
}

TEST(ForwardProxyTest, DefaultsInterceptTheLlmApisAndNothingElse) {
  ForwardProxyOptions options;
  for (const char* host :
       {"api.anthropic.com", "api.openai.com", "generativelanguage.googleapis.com",
        "bedrock-runtime.eu-west-3.amazonaws.com", "us-central1-aiplatform.googleapis.com",
        "aiplatform.googleapis.com"}) {
    EXPECT_TRUE(options.Intercepts(host)) << host;
  }
  for (const char* host : {"github.com", "registry.npmjs.org", "s3.amazonaws.com", "localhost"}) {
    EXPECT_FALSE(options.Intercepts(host)) << host;
  }
}

TEST(ForwardProxyTest, BadPatternsAreRefusedWithTheReason) {
  EXPECT_TRUE(ValidateInterceptPattern("*.example.com").ok());
  EXPECT_TRUE(ValidateInterceptPattern("127.0.0.1").ok());
  EXPECT_TRUE(ValidateInterceptPattern("::1").ok());
  for (const char* bad : {"", "a..b", ".a", "a b", "a/b", "**.x", "a*b*c.x", "x:443"}) {
    Status s = ValidateInterceptPattern(bad);
    EXPECT_FALSE(s.ok()) << bad;
    EXPECT_NE(s.message().find("--intercept"), std::string::npos) << s.message();
  }
}

TEST(ForwardProxyTest, ConnectAuthoritiesParseOrSayWhatIsWrong) {
  Result<Authority> a = ParseAuthority("API.Anthropic.com:443");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "api.anthropic.com");
  EXPECT_EQ(a->port, 443);
  Result<Authority> v6 = ParseAuthority("[::1]:8443");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 8443);
  for (const char* bad : {"host", ":443", "host:", "host:0", "host:65536", "host:44x", "[::1]",
                          "[zz]:1", "a_b:443", "a b:443", "user@host:443"}) {
    Result<Authority> r = ParseAuthority(bad);
    EXPECT_FALSE(r.ok()) << bad;
  }
}

TEST(ForwardProxyTest, TunnelsTakeWebPortsAndResolvedOnesOnly) {
  ForwardProxyOptions options;
  options.resolve.push_back(ResolveEntry{"localhost", 8443, "127.0.0.1"});
  EXPECT_TRUE(options.AllowsTunnelPort("github.com", 443));
  EXPECT_TRUE(options.AllowsTunnelPort("github.com", 80));
  EXPECT_FALSE(options.AllowsTunnelPort("github.com", 25));
  EXPECT_TRUE(options.AllowsTunnelPort("LOCALHOST", 8443));
  EXPECT_FALSE(options.AllowsTunnelPort("localhost", 8444));
}

TEST(ForwardProxyTest, ResolveEntriesAreCurlsHostPortAddr) {
  Result<ResolveEntry> e = ParseResolveEntry("API.anthropic.com:443:127.0.0.1");
  ASSERT_TRUE(e.ok()) << e.status().message();
  EXPECT_EQ(e->host, "api.anthropic.com");
  EXPECT_EQ(e->port, 443);
  EXPECT_EQ(e->address, "127.0.0.1");
  Result<ResolveEntry> v6 = ParseResolveEntry("h:8443:[::1]");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->address, "::1");
  EXPECT_EQ(ResolvedAddress({*e, *v6}, "Api.Anthropic.Com", 443), "127.0.0.1");
  EXPECT_EQ(ResolvedAddress({*e, *v6}, "api.anthropic.com", 8443), std::nullopt);
  for (const char* bad : {"h:443", "h:443:", ":443:1.2.3.4", "h:0:1.2.3.4", "h:443:not-an-ip",
                          "h:443:1.2.3.4:5", "h/x:443:1.2.3.4"}) {
    Result<ResolveEntry> r = ParseResolveEntry(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.status().message().find("--resolve"), std::string::npos) << r.status().message();
  }
}

}  // namespace
}  // namespace td::proxy
