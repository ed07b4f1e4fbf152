// Miss reports: the nearest recorded interaction and the paths where it differs.
#include "replay/miss_report.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace td::replay {
namespace {

using nlohmann::json;

cassette::Request Req(const json& body, std::string path = "/v1/messages") {
  cassette::Request r;
  r.method = "POST";
  r.path = std::move(path);
  r.headers = {{"anthropic-version", "2023-06-01"}};
  r.body.bytes = body.dump();
  return r;
}

json Conversation(std::vector<std::string> turns, std::string model = "claude-sonnet-4-5") {
  json messages = json::array();
  for (size_t i = 0; i < turns.size(); ++i) {
    messages.push_back({{"role", i % 2 == 0 ? "user" : "assistant"}, {"content", turns[i]}});
  }
  return {{"model", model}, {"max_tokens", 1024}, {"messages", messages}};
}

Index Recorded(const std::vector<cassette::Request>& requests, MatchOptions options = {}) {
  Result<Index> index = Index::Create(std::move(options), OnExhausted::kRepeatLast);
  EXPECT_TRUE(index.ok());
  for (const auto& r : requests) index->Add(r);
  return std::move(*index);
}

TEST(MissReportTest, NearestIsTheOneWithMostMatchersThenFewestDifferences) {
  Index index = Recorded({
      Req(Conversation({"Hello", "Hi!", "How are you?"}), "/v1/complete"),      // #0 path
      Req(Conversation({"Hello", "Hi!", "How are you?"}, "claude-haiku-4-5")),  // #1 model
      Req(Conversation({"Hello", "Hi!", "What is 2+2?"})),                      // #2 one text
      Req(Conversation({"Bye"})),                                               // #3 far
  });
  cassette::Request live = Req(Conversation({"Hello", "Hi there!", "What is 2+2?"}));
  MissReport report = ExplainMiss(live, index);
  EXPECT_EQ(report.kind, MissReport::Kind::kNoMatch);
  ASSERT_TRUE(report.nearest.has_value());
  EXPECT_EQ(*report.nearest, 2u);
  EXPECT_EQ(report.failed, (std::vector<std::string>{"body"}));
  EXPECT_EQ(report.matchers_passed, 5u);
  ASSERT_EQ(report.diffs.size(), 1u);
  EXPECT_EQ(report.diffs[0], R"(body.messages[1].content: "Hi there!" != "Hi!")");

  std::string message = report.Message();
  EXPECT_EQ(message,
            "tapedeck replay: no recorded interaction matches POST /v1/messages; nearest is #2 "
            "(POST /v1/messages (model claude-sonnet-4-5)) which differs at: "
            "body.messages[1].content: \"Hi there!\" != \"Hi!\"");
}

TEST(MissReportTest, HeaderOnlyDifferencesAreExplained) {
  MatchOptions options;
  options.match_headers = {"anthropic-beta"};
  cassette::Request recorded = Req(Conversation({"Hello"}));
  recorded.headers.emplace_back("anthropic-beta", "tools-2024-04-04");
  Index index = Recorded({recorded}, options);
  MissReport report = ExplainMiss(Req(Conversation({"Hello"})), index);
  ASSERT_TRUE(report.nearest.has_value());
  EXPECT_EQ(report.failed, (std::vector<std::string>{"headers"}));
  ASSERT_EQ(report.diffs.size(), 1u);
  EXPECT_EQ(report.diffs[0], R"(header anthropic-beta: absent != "tools-2024-04-04")");
}

TEST(MissReportTest, MessageQuotesAFewDifferencesAndCountsTheRest) {
  json recorded = {{"a", 1}, {"b", 1}, {"c", 1}, {"d", 1}, {"e", 1}, {"f", 1}, {"g", 1}};
  json live = {{"a", 2}, {"b", 2}, {"c", 2}, {"d", 2}, {"e", 2}, {"f", 2}, {"g", 2}};
  Index index = Recorded({Req(recorded)});
  MissReport report = ExplainMiss(Req(live), index);
  EXPECT_EQ(report.diff_count, 7u);
  std::string message = report.Message();
  EXPECT_NE(message.find("body.e: 2 != 1; and 2 more"), std::string::npos) << message;
  EXPECT_EQ(message.find("body.f"), std::string::npos) << message;
}

TEST(MissReportTest, LogLinesListEveryDifference) {
  Index index = Recorded({Req(Conversation({"Hello"})), Req(Conversation({"Hello", "x", "y"}))});
  MissReport report = ExplainMiss(Req(Conversation({"Hello", "x", "z"})), index);
  std::vector<std::string> lines = report.LogLines();
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0],
            "replay miss: POST /v1/messages: no recorded interaction matches (2 recorded)");
  EXPECT_EQ(lines[1],
            "  nearest: #1 POST /v1/messages (model claude-sonnet-4-5), 5 of 6 matchers pass; "
            "differs in body");
  EXPECT_EQ(lines[2], R"(    body.messages[2].content: "z" != "y")");
}

TEST(MissReportTest, EmptyCassetteSaysSo) {
  Index index = Recorded({});
  MissReport report = ExplainMiss(Req(Conversation({"Hello"})), index);
  EXPECT_FALSE(report.nearest.has_value());
  EXPECT_EQ(report.Message(),
            "tapedeck replay: no recorded interaction matches POST /v1/messages; the cassette "
            "has no interactions");
}

TEST(MissReportTest, ExhaustedNamesTheCopiesServed) {
  Result<Index> index = Index::Create({}, OnExhausted::kError);
  ASSERT_TRUE(index.ok());
  cassette::Request r = Req(Conversation({"Hello"}));
  r.query = {{"beta", "true"}};
  index->Add(Req(Conversation({"Other"})));
  index->Add(r);
  index->Add(r);
  std::string key = index->Key(r);
  index->Next(key);
  index->Next(key);
  Index::Lookup lookup = index->Next(key);
  ASSERT_EQ(lookup.kind, Index::Lookup::Kind::kExhausted);
  MissReport report = ExplainExhausted(r, *index, lookup);
  EXPECT_EQ(report.Message(),
            "tapedeck replay: every recorded interaction matching POST /v1/messages?beta=true "
            "(#1, #2) was already served, and on-exhausted is error");
  ASSERT_EQ(report.LogLines().size(), 1u);
}

TEST(MissReportTest, LargeTiesAreRankedByBodySize) {
  // 100 recordings on the same path: only the closest few get a full diff, and the nearest
  // is still the one that differs least.
  std::vector<cassette::Request> requests;
  for (int i = 0; i < 100; ++i) {
    requests.push_back(Req(Conversation({std::string(static_cast<size_t>(10 + i * 7), 'x')})));
  }
  Index index = Recorded(requests);
  std::string text(10 + 57 * 7, 'x');
  text[3] = 'y';
  MissReport report = ExplainMiss(Req(Conversation({text})), index);
  ASSERT_TRUE(report.nearest.has_value());
  EXPECT_EQ(*report.nearest, 57u);
}

}  // namespace
}  // namespace td::replay
