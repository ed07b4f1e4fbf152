// Tests for dotted JSON paths: parsing (escapes, errors), and ForEach/Erase over nlohmann::json
// and nlohmann::ordered_json, with wildcards, array indexes and keys that must not cross types.
#include "cassette/json_path.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace td::cassette {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using Json = nlohmann::json;
using OrderedJson = nlohmann::ordered_json;

JsonPath P(std::string_view text) {
  Result<JsonPath> p = JsonPath::Parse(text);
  EXPECT_TRUE(p.ok()) << p.status().message();
  return p.ok() ? *p : JsonPath();
}

template <class J>
std::vector<std::string> Reached(const JsonPath& path, J& doc) {
  std::vector<std::string> out;
  path.ForEach(doc, [&](J& v) { out.push_back(v.dump()); });
  return out;
}

TEST(JsonPathTest, ParsesDottedSegments) {
  JsonPath p = P("messages.0.content");
  EXPECT_EQ(p.text(), "messages.0.content");
  EXPECT_THAT(p.segments(), ElementsAre("messages", "0", "content"));
  EXPECT_THAT(P("a").segments(), ElementsAre("a"));
  EXPECT_THAT(P("tools.*.cache_control").segments(), ElementsAre("tools", "*", "cache_control"));
}

TEST(JsonPathTest, EscapedDotAndBackslashStayInTheKey) {
  EXPECT_THAT(P("headers.x\\.y.z").segments(), ElementsAre("headers", "x.y", "z"));
  EXPECT_THAT(P("a\\\\b").segments(), ElementsAre("a\\b"));
  EXPECT_THAT(P("\\.").segments(), ElementsAre("."));
}

TEST(JsonPathTest, RejectsEmptyPathsSegmentsAndBadEscapes) {
  for (std::string_view bad : {"", ".", "a.", ".a", "a..b", "a\\", "a\\x"}) {
    Result<JsonPath> p = JsonPath::Parse(bad);
    ASSERT_FALSE(p.ok()) << bad;
    EXPECT_EQ(p.status().code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(p.status().message(), HasSubstr("json path \"" + std::string(bad) + "\""));
  }
}

TEST(JsonPathTest, ForEachReachesNestedKey) {
  Json doc = Json::parse(R"({"metadata":{"user_id":"u-1","other":2},"user_id":"top"})");
  EXPECT_THAT(Reached(P("metadata.user_id"), doc), ElementsAre("\"u-1\""));
  EXPECT_THAT(Reached(P("metadata.missing"), doc), IsEmpty());
  EXPECT_THAT(Reached(P("metadata.user_id.deeper"), doc), IsEmpty()) << "no path through scalars";
}

TEST(JsonPathTest, ForEachReachesArrayIndex) {
  Json doc = Json::parse(R"({"messages":[{"content":"a"},{"content":"b"}]})");
  EXPECT_THAT(Reached(P("messages.1.content"), doc), ElementsAre("\"b\""));
  EXPECT_THAT(Reached(P("messages.2.content"), doc), IsEmpty()) << "out of range";
  EXPECT_THAT(Reached(P("messages.01.content"), doc), IsEmpty()) << "not a canonical index";
}

TEST(JsonPathTest, WildcardCoversObjectsAndArrays) {
  Json doc = Json::parse(
      R"({"tools":[{"name":"a","cache_control":1},{"name":"b"},{"name":"c","cache_control":3}],
          "m":{"x":{"id":1},"y":{"id":2}}})");
  EXPECT_THAT(Reached(P("tools.*.cache_control"), doc), ElementsAre("1", "3"));
  EXPECT_THAT(Reached(P("m.*.id"), doc), ElementsAre("1", "2"));
  EXPECT_THAT(Reached(P("*"), doc).size(), 2u);
}

TEST(JsonPathTest, KeySegmentsDoNotMatchArraysNorIndexesScalars) {
  Json doc = Json::parse(R"({"a":[{"name":"x"}],"s":"text"})");
  EXPECT_THAT(Reached(P("a.name"), doc), IsEmpty()) << "a key does not reach into an array";
  EXPECT_THAT(Reached(P("s.0"), doc), IsEmpty()) << "an index does not reach into a string";
}

TEST(JsonPathTest, NumericSegmentMatchesObjectKeyOfThatName) {
  // logit_bias maps token ids to numbers: {"50256": -100}.
  Json doc = Json::parse(R"({"logit_bias":{"50256":-100,"7":1}})");
  EXPECT_THAT(Reached(P("logit_bias.50256"), doc), ElementsAre("-100"));
}

TEST(JsonPathTest, ForEachCanChangeValuesInPlace) {
  OrderedJson doc = OrderedJson::parse(R"({"z":1,"a":{"k":"secret"},"m":[{"k":1},{"k":2}]})");
  P("a.k").ForEach(doc, [](OrderedJson& v) { v = "[REDACTED]"; });
  P("m.*.k").ForEach(doc, [](OrderedJson& v) { v = 0; });
  EXPECT_EQ(doc.dump(), R"({"z":1,"a":{"k":"[REDACTED]"},"m":[{"k":0},{"k":0}]})");
}

TEST(JsonPathTest, EraseRemovesObjectMembers) {
  OrderedJson doc = OrderedJson::parse(R"({"b":1,"metadata":{"user_id":"u","keep":true},"a":2})");
  EXPECT_EQ(P("metadata.user_id").Erase(doc), 1u);
  EXPECT_EQ(P("metadata.user_id").Erase(doc), 0u) << "already gone";
  EXPECT_EQ(doc.dump(), R"({"b":1,"metadata":{"keep":true},"a":2})") << "order kept";
}

TEST(JsonPathTest, EraseRemovesArrayElements) {
  Json doc = Json::parse(R"({"a":[10,20,30]})");
  EXPECT_EQ(P("a.1").Erase(doc), 1u);
  EXPECT_EQ(doc.dump(), R"({"a":[10,30]})");
  EXPECT_EQ(P("a.5").Erase(doc), 0u);
  EXPECT_EQ(P("a.*").Erase(doc), 2u);
  EXPECT_EQ(doc.dump(), R"({"a":[]})");
}

TEST(JsonPathTest, EraseWithWildcardInTheMiddle) {
  Json doc = Json::parse(R"({"tools":[{"name":"a","cache_control":{}},{"name":"b"},)"
                         R"({"name":"c","cache_control":{}}]})");
  EXPECT_EQ(P("tools.*.cache_control").Erase(doc), 2u);
  EXPECT_EQ(doc.dump(), R"({"tools":[{"name":"a"},{"name":"b"},{"name":"c"}]})");
  EXPECT_EQ(P("tools.name").Erase(doc), 0u) << "a key does not reach into an array";
}

TEST(JsonPathTest, EraseWildcardObjectMembers) {
  OrderedJson doc = OrderedJson::parse(R"({"m":{"x":1,"y":2},"n":3})");
  EXPECT_EQ(P("m.*").Erase(doc), 2u);
  EXPECT_EQ(doc.dump(), R"({"m":{},"n":3})");
}

TEST(JsonPathTest, WorksOnPlainAndOrderedJsonAlike) {
  const char* text = R"({"a":[{"b":1},{"b":2}]})";
  Json plain = Json::parse(text);
  OrderedJson ordered = OrderedJson::parse(text);
  JsonPath p = P("a.*.b");
  EXPECT_EQ(Reached(p, plain), Reached(p, ordered));
  EXPECT_EQ(p.Erase(plain), p.Erase(ordered));
  EXPECT_EQ(plain.dump(), ordered.dump());
}

}  // namespace
}  // namespace td::cassette
