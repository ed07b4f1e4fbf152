#include "cassette/model.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace td::cassette {
namespace {

TEST(ModelTest, HeadersCompareCaseInsensitively) {
  Headers h = {{"Content-Type", "application/json"}, {"Set-Cookie", "a"}, {"set-cookie", "b"}};
  ASSERT_NE(FindHeader(h, "content-type"), nullptr);
  EXPECT_EQ(*FindHeader(h, "CONTENT-TYPE"), "application/json");
  EXPECT_EQ(FindHeader(h, "x-api-key"), nullptr);
  SetHeader(&h, "SET-COOKIE", "c");
  EXPECT_EQ(h.size(), 2u);
  EXPECT_EQ(*FindHeader(h, "set-cookie"), "c");
  EXPECT_EQ(RemoveHeader(&h, "content-type"), 1u);
  EXPECT_EQ(h.size(), 1u);
}

TEST(ModelTest, SplitTargetKeepsRawQueryInOrder) {
  std::string path;
  std::vector<std::pair<std::string, std::string>> query;
  SplitTarget("/v1/models?limit=20&after_id=m%201&beta", &path, &query);
  EXPECT_EQ(path, "/v1/models");
  ASSERT_EQ(query.size(), 3u);
  EXPECT_EQ(query[1], (std::pair<std::string, std::string>{"after_id", "m%201"}));
  EXPECT_EQ(query[2].first, "beta");
  Request r;
  r.path = path;
  r.query = query;
  EXPECT_EQ(r.Target(), "/v1/models?limit=20&after_id=m%201&beta");
  SplitTarget("/plain", &path, &query);
  EXPECT_EQ(path, "/plain");
  EXPECT_TRUE(query.empty());
}

TEST(ModelTest, ModelOfReadsTheModelField) {
  Request r;
  r.body.bytes = R"({"max_tokens":5,"model":"claude-x"})";
  EXPECT_EQ(ModelOf(r), "claude-x");
  r.body.bytes = "not json";
  EXPECT_EQ(ModelOf(r), "");
}

TEST(ModelTest, ModelOfAnswersAsAFullParseWould) {
  // ModelOf reads without a tree; its answer must be the one a parse gives on every shape.
  const std::string deep = std::string(600, '[') + std::string(600, ']');
  const std::vector<std::pair<std::string, std::string>> cases = {
      {R"({"model":"a","model":"b"})", "b"},  // the last one wins, as in a parse
      {R"({"model":"a","model":1})", ""},     // ... even when it is not a string
      {R"({"model":1,"model":"b"})", "b"},
      {R"({"messages":[{"model":"inner"}]})", ""},  // only the top level counts
      {R"( {"model" : "spaced"} )", ""},            // must start with '{'
      {R"({"model" : "spaced"} )", "spaced"},
      {R"({"m\u006fdel":"escaped"})", "escaped"},
      {R"({"model":"caf\u00e9"})", "caf\xC3\xA9"},
      {R"({"model":"a"} x)", ""},  // not JSON after all
      {R"({"model":"a",})", ""},
      {"{\"model\":\"a\",\"x\":" + deep + "}", "a"},  // deeper than the scan goes: parsed
      {"{}", ""},
  };
  for (const auto& [body, model] : cases) {
    Request r;
    r.body.bytes = body;
    EXPECT_EQ(ModelOf(r), model) << body;
  }
}

TEST(ModelTest, StreamConcatenatesEventBytes) {
  Stream s;
  s.events.push_back({"event: a\n\n", 10, {}});
  s.events.push_back({"data: b\n\n", 20, {}});
  EXPECT_EQ(s.TotalBytes(), 19u);
  EXPECT_EQ(s.Concatenated(), "event: a\n\ndata: b\n\n");
}

TEST(ModelTest, IsValidMountNameTakesOneLowerCasePathSegment) {
  const std::vector<std::string> good = {
      "anthropic", "openai", "a", "0", "9lives", "my_local-llm", "a-", "a_", std::string(64, 'x')};
  for (const std::string& name : good) EXPECT_TRUE(IsValidMountName(name)) << name;
  const std::vector<std::string> bad = {"",
                                        "-a",
                                        "_a",
                                        "Anthropic",
                                        "OPENAI",
                                        "openAI",
                                        "a.b",
                                        ".",
                                        "..",
                                        "../x",
                                        "a/b",
                                        "/a",
                                        "a b",
                                        "a\tb",
                                        "a:b",
                                        "caf\xC3\xA9",
                                        std::string(65, 'x'),
                                        std::string("a\0b", 3)};
  for (const std::string& name : bad) EXPECT_FALSE(IsValidMountName(name)) << name;
}

}  // namespace
}  // namespace td::cassette
