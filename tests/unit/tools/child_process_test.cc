// Tests for what `tapedeck exec` tells its command: base URLs in base-URL mode, the proxy and
// CA variables (and no base URL) with --forward-proxy.
#include "tools/child_process.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace td::cli {
namespace {

TEST(ChildEnvironmentTest, BaseUrlModePointsTheSdksAtTapedeck) {
  std::vector<std::string> env =
      ChildEnvironment({"PATH=/bin", "ANTHROPIC_BASE_URL=https://real"}, "http://127.0.0.1:9");
  EXPECT_EQ(EnvValue(env, "ANTHROPIC_BASE_URL"), "http://127.0.0.1:9");
  EXPECT_EQ(EnvValue(env, "OPENAI_BASE_URL"), "http://127.0.0.1:9/v1");
  EXPECT_EQ(EnvValue(env, "HTTPS_PROXY"), "");
  EXPECT_EQ(EnvValue(env, "PATH"), "/bin");
}

TEST(ChildEnvironmentTest, ForwardProxyModeSetsProxyAndTrustAndNoBaseUrl) {
  ChildProxy proxy{"http://127.0.0.1:9", "/ca/tapedeck-ca.pem", "/ca/tapedeck-ca-bundle.pem"};
  std::vector<std::string> env =
      ChildEnvironment({"PATH=/bin", "HTTPS_PROXY=http://corp:3128", "SSL_CERT_FILE=/etc/old.pem"},
                       "http://127.0.0.1:9", {"anthropic"}, &proxy);
  for (const char* name : {"HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"}) {
    EXPECT_EQ(EnvValue(env, name), "http://127.0.0.1:9") << name;
  }
  EXPECT_EQ(EnvValue(env, "NO_PROXY"), "localhost,127.0.0.1,::1");
  EXPECT_EQ(EnvValue(env, "no_proxy"), "localhost,127.0.0.1,::1");
  EXPECT_EQ(EnvValue(env, "NODE_USE_ENV_PROXY"), "1");
  EXPECT_EQ(EnvValue(env, "NODE_EXTRA_CA_CERTS"), "/ca/tapedeck-ca.pem");
  for (const char* name :
       {"SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "AWS_CA_BUNDLE"}) {
    EXPECT_EQ(EnvValue(env, name), "/ca/tapedeck-ca-bundle.pem") << name;
  }
  // Nothing that changes base URLs, even with a mount that would set one.
  EXPECT_EQ(EnvValue(env, "ANTHROPIC_BASE_URL"), "");
  EXPECT_EQ(EnvValue(env, "OPENAI_BASE_URL"), "");
  // Each variable once: the parent's value is replaced, not shadowed.
  size_t proxies = 0;
  for (const std::string& kv : env) proxies += kv.rfind("HTTPS_PROXY=", 0) == 0;
  EXPECT_EQ(proxies, 1u);
  EXPECT_EQ(EnvValue(env, "ANTHROPIC_API_KEY"), std::string(kPlaceholderKey));
}

}  // namespace
}  // namespace td::cli
