// Matchers: pass/fail per aspect and diff lines that name the JSON path that differs.
#include "replay/matchers.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace td::replay {
namespace {

using nlohmann::json;

NormalizedRequest Json(const json& body) {
  NormalizedRequest n;
  n.method = "POST";
  n.path = "/v1/messages";
  n.body_is_json = true;
  n.body_json = body;
  return n;
}

NormalizedRequest Text(std::string body) {
  NormalizedRequest n;
  n.method = "POST";
  n.path = "/v1/messages";
  n.body_text = std::move(body);
  return n;
}

TEST(MatchersTest, BodyDiffNamesTheJsonPath) {
  json recorded = json::parse(R"({"messages":[{"role":"user","content":"a"},
      {"role":"assistant","content":"b"},
      {"role":"user","content":[{"type":"text","text":"hello"}]}]})");
  json live = recorded;
  live["messages"][2]["content"][0]["text"] = "hi";
  MatchResult r = MatchBody(Json(live), Json(recorded));
  EXPECT_FALSE(r.ok);
  ASSERT_EQ(r.diffs.size(), 1u);
  EXPECT_EQ(r.diffs[0], R"(body.messages[2].content[0].text: "hi" != "hello")");
  EXPECT_EQ(r.diff_count, 1u);
}

TEST(MatchersTest, MissingMembersSayWhichSideLacksThem) {
  MatchResult r =
      MatchBody(Json({{"model", "m"}, {"top_k", 5}}), Json({{"model", "m"}, {"temperature", 0.5}}));
  ASSERT_EQ(r.diffs.size(), 2u);
  EXPECT_EQ(r.diffs[0], "body.temperature: missing in request");
  EXPECT_EQ(r.diffs[1], "body.top_k: missing in recording");
}

TEST(MatchersTest, KeyOrderIsIrrelevantButTypesAndNumbersMatter) {
  EXPECT_TRUE(
      MatchBody(Json(json::parse(R"({"a":1,"b":2})")), Json(json::parse(R"({"b":2,"a":1})"))).ok);
  MatchResult r = MatchBody(Json({{"max_tokens", 1}}), Json({{"max_tokens", 1.0}}));
  ASSERT_FALSE(r.ok);
  EXPECT_EQ(r.diffs[0], "body.max_tokens: 1 != 1.0");
  r = MatchBody(Json({{"stream", true}}), Json({{"stream", "true"}}));
  EXPECT_EQ(r.diffs[0], R"(body.stream: true != "true")");
}

TEST(MatchersTest, ArrayLengthDifferencesNameTheExtraElements) {
  MatchResult r = MatchBody(Json({{"messages", {1, 2, 3, 4}}}), Json({{"messages", {1, 2}}}));
  ASSERT_EQ(r.diffs.size(), 2u);
  EXPECT_EQ(r.diffs[0], "body.messages[2]: missing in recording");
  EXPECT_EQ(r.diffs[1], "body.messages[3]: missing in recording");
  r = MatchBody(Json({{"messages", {1}}}), Json({{"messages", {1, 2}}}));
  EXPECT_EQ(r.diffs[0], "body.messages[1]: missing in request");
}

TEST(MatchersTest, OddKeysAreQuotedInPaths) {
  MatchResult r = MatchBody(Json({{"a.b", 1}, {"x y", {{"ok_1", 1}}}}),
                            Json({{"a.b", 2}, {"x y", {{"ok_1", 2}}}}));
  ASSERT_EQ(r.diffs.size(), 2u);
  EXPECT_EQ(r.diffs[0], R"(body["a.b"]: 1 != 2)");
  EXPECT_EQ(r.diffs[1], R"(body["x y"].ok_1: 1 != 2)");
}

TEST(MatchersTest, LongValuesAreShortenedAroundTheDifference) {
  std::string prefix(500, 'p');
  std::string a = prefix + "Today's date is 2026-11-21. Stay concise." + std::string(500, 's');
  std::string b = prefix + "Today's date is 2026-11-20. Stay concise." + std::string(500, 's');
  MatchResult r = MatchBody(Json({{"system", a}}), Json({{"system", b}}));
  ASSERT_EQ(r.diffs.size(), 1u);
  const std::string& line = r.diffs[0];
  EXPECT_LT(line.size(), 200u) << line;
  EXPECT_NE(line.find("2026-11-21"), std::string::npos) << line;
  EXPECT_NE(line.find("2026-11-20"), std::string::npos) << line;
  EXPECT_NE(line.find("(at offset 525)"), std::string::npos) << line;
  EXPECT_EQ(line.rfind("body.system: \"...", 0), 0u) << line;
}

TEST(MatchersTest, ShorteningNeverCutsAUtf8Character) {
  std::string s;
  for (int i = 0; i < 100; ++i) s += "\xC3\xA9";  // é
  std::string quoted = QuoteShortened(s, 101, 60);
  json parsed = json::parse(quoted, nullptr, false);
  ASSERT_FALSE(parsed.is_discarded()) << quoted;
  EXPECT_EQ(quoted.find("\\ufffd"), std::string::npos);
  EXPECT_EQ(quoted.find("\xEF\xBF\xBD"), std::string::npos);  // no replacement character
  EXPECT_EQ(QuoteShortened("short"), "\"short\"");
}

TEST(MatchersTest, ManyDifferencesAreCappedButCounted) {
  json a = json::object();
  json b = json::object();
  for (int i = 0; i < 50; ++i) {
    a["k" + std::to_string(100 + i)] = i;
    b["k" + std::to_string(100 + i)] = i + 1;
  }
  MatchResult r = MatchBody(Json(a), Json(b));
  EXPECT_EQ(r.diff_count, 50u);
  ASSERT_EQ(r.diffs.size(), 21u);
  EXPECT_EQ(r.diffs.back(), "... and 30 more differences");
}

TEST(MatchersTest, TextBodiesNameTheFirstDifferingOffset) {
  MatchResult r = MatchBody(Text("a=1&b=2"), Text("a=1&b=3"));
  ASSERT_FALSE(r.ok);
  EXPECT_EQ(r.diffs[0], R"(body: "a=1&b=2" != "a=1&b=3" (at offset 6))");
  r = MatchBody(Text(""), Text("x"));
  EXPECT_EQ(r.diffs[0], R"(body: empty != "x")");
  r = MatchBody(Json({{"a", 1}}), Text("a=1"));
  EXPECT_EQ(r.diffs[0], R"(body: JSON {"a":1} != text "a=1")");
  EXPECT_TRUE(MatchBody(Text("same"), Text("same")).ok);
}

TEST(MatchersTest, MethodPathQueryAndHeaders) {
  NormalizedRequest live = Text("");
  NormalizedRequest rec = Text("");
  EXPECT_TRUE(MatchMethod(live, rec).ok);
  rec.method = "GET";
  EXPECT_EQ(MatchMethod(live, rec).diffs[0], "method: POST != GET");
  rec.path = "/v1/complete";
  EXPECT_EQ(MatchPath(live, rec).diffs[0], "path: /v1/messages != /v1/complete");

  live.query = {{"limit", "20"}, {"order", "asc"}};
  rec.query = {{"after", "x"}, {"limit", "10"}};
  MatchResult q = MatchQuery(live, rec);
  ASSERT_EQ(q.diffs.size(), 3u);
  EXPECT_EQ(q.diffs[0], "query.limit: 20 != 10");
  EXPECT_EQ(q.diffs[1], "query.order: missing in recording");
  EXPECT_EQ(q.diffs[2], "query.after: missing in request");

  live.headers = {{"anthropic-version", "2023-06-01"}};
  rec.headers = {{"anthropic-beta", "x"}, {"anthropic-version", "2023-06-01"}};
  MatchResult h = MatchHeaders(live, rec);
  ASSERT_EQ(h.diffs.size(), 1u);
  EXPECT_EQ(h.diffs[0], R"(header anthropic-beta: absent != "x")");
  rec.headers = {{"anthropic-version", "2024-01-01"}};
  EXPECT_EQ(MatchHeaders(live, rec).diffs[0],
            R"(header anthropic-version: "2023-06-01" != "2024-01-01")");
}

TEST(MatchersTest, DefaultMatchersCoverEveryAspect) {
  std::vector<std::string_view> names;
  for (const NamedMatcher& m : DefaultMatchers()) names.push_back(m.name);
  EXPECT_EQ(names, (std::vector<std::string_view>{"origin", "method", "path", "query", "headers",
                                                  "body"}));
}

}  // namespace
}  // namespace td::replay
