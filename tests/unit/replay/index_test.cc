// The index: keys, repeats in recorded order, exhaustion policies, use counts, auto-mode adds.
#include "replay/index.h"

#include <gtest/gtest.h>

namespace td::replay {
namespace {

cassette::Request Req(std::string body, std::string path = "/v1/messages") {
  cassette::Request r;
  r.method = "POST";
  r.path = std::move(path);
  r.body.bytes = std::move(body);
  return r;
}

Index MakeIndex(OnExhausted policy, MatchOptions options = {}) {
  Result<Index> index = Index::Create(std::move(options), policy);
  EXPECT_TRUE(index.ok()) << index.status().ToString();
  return std::move(*index);
}

using Kind = Index::Lookup::Kind;

TEST(IndexTest, RepeatsAreServedInRecordedOrderThenTheLastRepeats) {
  Index index = MakeIndex(OnExhausted::kRepeatLast);
  const std::string hi = R"({"messages":[{"role":"user","content":"hi"}]})";
  EXPECT_EQ(index.Add(Req(hi)), 0u);
  EXPECT_EQ(index.Add(Req(R"({"messages":[]})")), 1u);
  EXPECT_EQ(index.Add(Req(hi)), 2u);
  EXPECT_EQ(index.Add(Req(hi, "/v1/other")), 3u);
  EXPECT_EQ(index.Add(Req(hi)), 4u);

  std::string key = index.Key(Req(hi));
  std::vector<size_t> served;
  for (int i = 0; i < 5; ++i) {
    Index::Lookup l = index.Next(key);
    ASSERT_EQ(l.kind, Kind::kHit);
    EXPECT_EQ(l.repeated, i >= 3);
    served.push_back(l.index);
  }
  EXPECT_EQ(served, (std::vector<size_t>{0, 2, 4, 4, 4}));
  EXPECT_EQ(index.uses(4), 3u);
  EXPECT_EQ(index.Unused(), (std::vector<size_t>{1, 3}));
}

TEST(IndexTest, ErrorPolicyReportsExhaustionWithTheCopies) {
  Index index = MakeIndex(OnExhausted::kError);
  index.Add(Req("{}"));
  index.Add(Req("{}"));
  std::string key = index.Key(Req("{ }"));
  EXPECT_EQ(index.Next(key).index, 0u);
  EXPECT_EQ(index.Next(key).index, 1u);
  Index::Lookup l = index.Next(key);
  EXPECT_EQ(l.kind, Kind::kExhausted);
  ASSERT_NE(l.copies, nullptr);
  EXPECT_EQ(*l.copies, (std::vector<size_t>{0, 1}));
  EXPECT_EQ(index.uses(0), 1u);
  EXPECT_EQ(index.uses(1), 1u);
}

TEST(IndexTest, AddedRecordingsBecomeServable) {
  Index index = MakeIndex(OnExhausted::kError);
  std::string key = index.Key(Req(R"({"q":1})"));
  EXPECT_EQ(index.Next(key).kind, Kind::kMiss);
  index.Add(Req(R"({"q": 1})"));
  EXPECT_EQ(index.Next(index.Key(Req(R"({"q":1})"))).kind, Kind::kHit);
  EXPECT_EQ(index.Next(index.Key(Req(R"({"q":1})"))).kind, Kind::kExhausted);
  // Recording the same request again (auto mode) makes one more copy servable.
  index.Add(Req(R"({"q":1})"));
  Index::Lookup l = index.Next(index.Key(Req(R"({"q":1})")));
  EXPECT_EQ(l.kind, Kind::kHit);
  EXPECT_EQ(l.index, 1u);
}

TEST(IndexTest, ExactBytesAndEquivalentJsonGetTheSameKey) {
  MatchOptions options;
  options.ignore_json_paths = {"metadata"};
  Index index = MakeIndex(OnExhausted::kRepeatLast, options);
  const std::string recorded = R"({"model":"m","metadata":{"user_id":"a"},"max_tokens":5})";
  index.Add(Req(recorded));
  std::string exact = index.Key(Req(recorded));
  std::string equivalent = index.Key(Req("{\"max_tokens\": 5, \"model\": \"m\"}"));
  EXPECT_EQ(exact, equivalent);
  EXPECT_NE(exact, index.Key(Req(R"({"model":"m","max_tokens":6})")));
  EXPECT_NE(exact, index.Key(Req(recorded, "/v1/complete")));
  EXPECT_EQ(index.Next(equivalent).kind, Kind::kHit);
}

TEST(IndexTest, BodiesSpeltDifferentlyShareTheirCanonicalBodysCopies) {
  // Recorded bodies are told apart by keys of their canonical bodies, the bodies themselves
  // built only when keys meet: the grouping must still be by canonical body. #0 and #2 are the
  // same JSON spelt differently, so a live body byte-equal to #2 is served #0 first (file
  // order), then #2; #1 differs only in a number's type and is not in the group.
  Index index = MakeIndex(OnExhausted::kError);
  index.Add(Req(R"({"a":1,"b":[1.5,"x"]})"));
  index.Add(Req(R"({"a":1.0,"b":[1.5,"x"]})"));
  index.Add(Req(R"({"b": [1.50, "\u0078"], "a": 1})"));
  const std::string key = index.Key(Req(R"({"b": [1.50, "\u0078"], "a": 1})"));
  EXPECT_EQ(key, index.Key(Req(R"({"a":1,"b":[1.5,"x"]})")));
  EXPECT_NE(key, index.Key(Req(R"({"a":1.0,"b":[1.5,"x"]})")));
  EXPECT_EQ(index.Next(key).index, 0u);
  EXPECT_EQ(index.Next(key).index, 2u);
  EXPECT_EQ(index.Next(key).kind, Kind::kExhausted);
  // Miss reports read the canonical bodies and their keys.
  EXPECT_EQ(index.CanonicalBody(2), R"(j{"a":1,"b":[1.5,"x"]})");
  EXPECT_EQ(index.CanonicalKey(2), index.CanonicalKey(0));
  EXPECT_EQ(index.CanonicalKey(1).size, index.CanonicalBody(1).size());
}

TEST(IndexTest, UnknownBodiesAndEmptyIndexMiss) {
  Index index = MakeIndex(OnExhausted::kRepeatLast);
  EXPECT_EQ(index.Next(index.Key(Req("{}"))).kind, Kind::kMiss);
  index.Add(Req("plain text"));
  EXPECT_EQ(index.Next(index.Key(Req("plain text"))).kind, Kind::kHit);
  EXPECT_EQ(index.Next(index.Key(Req("plain text!"))).kind, Kind::kMiss);
  EXPECT_EQ(index.Next(index.Key(Req(""))).kind, Kind::kMiss);
}

TEST(IndexTest, KeysCannotBeForgedAcrossFields) {
  Index index = MakeIndex(OnExhausted::kRepeatLast);
  cassette::Request a = Req("");
  a.query = {{"a", "1&b=2"}};
  cassette::Request b = Req("");
  b.query = {{"a", "1"}, {"b", "2"}};
  EXPECT_NE(index.Key(a), index.Key(b));
}

TEST(IndexTest, NormalizedGivesBackTheRecordedRequest) {
  Index index = MakeIndex(OnExhausted::kRepeatLast);
  index.Add(Req(R"({"b":1,"a":[true]})"));
  index.Add(Req("text body"));
  NormalizedRequest n = index.Normalized(0);
  ASSERT_TRUE(n.body_is_json);
  EXPECT_EQ(n.body_json, nlohmann::json::parse(R"({"a":[true],"b":1})"));
  EXPECT_EQ(n.path, "/v1/messages");
  EXPECT_EQ(index.Normalized(1).body_text, "text body");
}

TEST(IndexTest, ParsesTheExhaustionPolicy) {
  EXPECT_EQ(*ParseOnExhausted("repeat-last"), OnExhausted::kRepeatLast);
  EXPECT_EQ(*ParseOnExhausted("error"), OnExhausted::kError);
  Result<OnExhausted> bad = ParseOnExhausted("repeat");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "--on-exhausted \"repeat\": expected repeat-last or error");
}

}  // namespace
}  // namespace td::replay
