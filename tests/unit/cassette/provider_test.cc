#include "cassette/provider.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace td::cassette {
namespace {

Request Req(std::string path, Headers headers = {}) {
  Request r;
  r.method = "POST";
  r.path = std::move(path);
  r.headers = std::move(headers);
  return r;
}

TEST(ProviderTest, DetectsByPathAndHeaders) {
  EXPECT_EQ(DetectProvider(Req("/v1/messages")), Provider::kAnthropic);
  EXPECT_EQ(DetectProvider(Req("/api/anthropic/v1/messages/count_tokens")), Provider::kAnthropic);
  EXPECT_EQ(DetectProvider(Req("/v1/models", {{"anthropic-version", "2023-06-01"}})),
            Provider::kAnthropic);
  EXPECT_EQ(DetectProvider(Req("/v1/chat/completions")), Provider::kOpenAI);
  EXPECT_EQ(DetectProvider(Req("/chat/completions")), Provider::kOpenAI);
  EXPECT_EQ(DetectProvider(Req("/v1/models", {{"OpenAI-Organization", "org"}})), Provider::kOpenAI);
  EXPECT_EQ(DetectProvider(Req("/healthz")), Provider::kGeneric);
}

TEST(ProviderTest, ErrorBodiesHaveEachProvidersShape) {
  auto a = nlohmann::json::parse(ErrorBody(Provider::kAnthropic, "not_found_error", "no \"x\""));
  EXPECT_EQ(a["type"], "error");
  EXPECT_EQ(a["error"]["type"], "not_found_error");
  EXPECT_EQ(a["error"]["message"], "no \"x\"");
  auto o = nlohmann::json::parse(ErrorBody(Provider::kOpenAI, "not_found_error", "m"));
  EXPECT_EQ(o["error"]["message"], "m");
  EXPECT_EQ(o["error"]["type"], "invalid_request_error");
  EXPECT_TRUE(o["error"].contains("code"));
}

TEST(ProviderTest, StreamErrorEventIsOneSseEvent) {
  std::string e = StreamErrorEvent(Provider::kAnthropic, "overloaded_error", "Overloaded");
  EXPECT_EQ(e.rfind("event: error\ndata: {", 0), 0u);
  EXPECT_EQ(e.substr(e.size() - 2), "\n\n");
  std::string o = StreamErrorEvent(Provider::kOpenAI, "overloaded_error", "Overloaded");
  EXPECT_EQ(o.rfind("data: {\"error\":", 0), 0u);
}

}  // namespace
}  // namespace td::cassette
