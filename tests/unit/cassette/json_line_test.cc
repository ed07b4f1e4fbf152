// Tests for the cassette line parser (cassette/internal/json_line.h): it must build exactly the
// tree nlohmann::ordered_json::parse builds (the same number types too, since JSON bodies are
// replayed from the tree) and refuse exactly what nlohmann refuses, naming the column.
#include "cassette/internal/json_line.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace td::cassette::internal {
namespace {

constexpr size_t kDepth = 520;

// The tree's shape with every value's type, so 1 (unsigned) and 1 (signed) differ.
std::string Typed(const Json& j) {
  std::string out = std::to_string(static_cast<int>(j.type())) + ":";
  if (j.is_object()) {
    out += "{";
    for (const auto& item : j.items()) out += Json(item.key()).dump() + "=" + Typed(item.value());
    return out + "}";
  }
  if (j.is_array()) {
    out += "[";
    for (const Json& v : j) out += Typed(v) + ",";
    return out + "]";
  }
  return out + j.dump();
}

// Parses `text` both ways and expects the same verdict and the same tree.
void ExpectSameAsNlohmann(const std::string& text) {
  Json ours;
  std::string why;
  const bool ok = ParseJsonLine(text, kDepth, &ours, &why);
  const Json theirs = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  ASSERT_EQ(ok, !theirs.is_discarded()) << "input: " << text << "\nwhy: " << why;
  if (ok) {
    EXPECT_EQ(Typed(ours), Typed(theirs)) << "input: " << text;
  } else {
    EXPECT_EQ(why.rfind("invalid JSON at column ", 0), 0u) << why;
  }
}

TEST(JsonLineTest, BuildsWhatNlohmannBuilds) {
  const std::vector<std::string> valid = {
      "{}",
      "[]",
      R"({"a":1,"b":[1,2,{"c":null}],"d":true,"e":false})",
      " \t{ \"a\" : 1 } \r",
      "0",
      "-0",
      "1",
      "-1",
      "18446744073709551615",
      "18446744073709551616",
      "-9223372036854775808",
      "-9223372036854775809",
      "123456789012345678901234567890",
      "1.5",
      "1.50",
      "-0.0",
      "1e5",
      "1E+5",
      "1e-5",
      "2.5e-3",
      "1e-400",
      "-1e-400",
      "0.0000001e-320",
      "1.7976931348623157e308",
      "4.9e-324",
      R"("\u00e9\ud83d\ude00\n\t\"\\\/\b\f\r")",
      R"("\u0000 and \u001f")",
      "\"caf\xC3\xA9 \xF0\x9F\x98\x80 \x7F\"",
      "\xEF\xBB\xBF{\"bom\":1}",
      R"({"a":1,"b":2,"a":3})",
      R"({"k":{"k":{"k":[[],[{}],{"":""}]}}})",
  };
  for (const std::string& text : valid) ExpectSameAsNlohmann(text);
}

TEST(JsonLineTest, RefusesWhatNlohmannRefuses) {
  const std::vector<std::string> invalid = {
      "",
      "   ",
      "{",
      "[1,]",
      R"({"a":1,})",
      "01",
      "1.",
      ".5",
      "-",
      "+1",
      "1e",
      "1e+",
      "\"abc",
      "\"a\x01\"",
      "\"\xFF\"",
      "\"\xC0\x80\"",
      "\"\xED\xA0\x80\"",
      "\"\xF4\x90\x80\x80\"",
      "\"\xE2\x82\"",
      R"("\ud800")",
      R"("\udc00")",
      R"("\ud800\u0041")",
      R"("\q")",
      R"("\u12")",
      R"("\u12G4")",
      "tru",
      "nul",
      "nulls",
      "NaN",
      "1e400",
      "-1e400",
      "1000e306",
      R"({"a" 1})",
      "{1:2}",
      "[1 2]",
      "1 2",
      "{} x",
      "\xEF\xBB{}",
  };
  for (const std::string& text : invalid) ExpectSameAsNlohmann(text);
}

TEST(JsonLineTest, ErrorsNameTheColumn) {
  struct Case {
    std::string text;
    size_t column;
  };
  const Case cases[] = {
      {R"({"seq":1,"request":)", 20},  // the end of the line is its length + 1
      {"[1,]", 4},
      {"{\"a\":\"\xFF\"}", 7},
      {"{} x", 4},
      {"[tru]", 5},
  };
  for (const Case& c : cases) {
    Json out;
    std::string why;
    ASSERT_FALSE(ParseJsonLine(c.text, kDepth, &out, &why)) << c.text;
    EXPECT_EQ(why, "invalid JSON at column " + std::to_string(c.column)) << c.text;
  }
}

TEST(JsonLineTest, RefusesNestingDeeperThanTheLimitBeforeBuildingIt) {
  Json out;
  std::string why;
  const std::string at_limit = std::string(kDepth, '[') + std::string(kDepth, ']');
  EXPECT_TRUE(ParseJsonLine(at_limit, kDepth, &out, &why)) << why;
  const std::string over = "{\"a\":" + std::string(kDepth, '[') + std::string(kDepth, ']') + "}";
  EXPECT_FALSE(ParseJsonLine(over, kDepth, &out, &why));
  EXPECT_EQ(why, "JSON nested deeper than 520 levels");
  // Far deeper input is refused at the limit, without recursing further.
  EXPECT_FALSE(ParseJsonLine(std::string(1000000, '['), kDepth, &out, &why));
  EXPECT_EQ(why, "JSON nested deeper than 520 levels");
}

TEST(JsonLineTest, RefusesATreeOverItsBudgetBeforeBuildingIt) {
  std::string tiny = "[";
  for (int i = 0; i < 100000; ++i) tiny += "[],";
  tiny += "[]]";  // 300 KB of text, several MB of tree
  Json out;
  std::string why;
  bool too_big = false;
  EXPECT_FALSE(ParseJsonLine(tiny, kDepth, &out, &why, 1 << 20, &too_big));
  EXPECT_TRUE(too_big);
  EXPECT_EQ(why, "its JSON would take more than 1 MiB of memory");
  // The same budget holds a 300 KB string: strings cost about their length.
  const std::string text = "[\"" + std::string(300000, 'a') + "\"]";
  too_big = true;
  EXPECT_TRUE(ParseJsonLine(text, kDepth, &out, &why, 1 << 20, &too_big)) << why;
  EXPECT_FALSE(too_big);
  EXPECT_TRUE(ParseJsonLine(tiny, kDepth, &out, &why)) << why;  // no budget by default
}

TEST(JsonLineTest, LargeObjectsKeepNlohmannsKeyOrderAndParseInLinearTime) {
  // Past the first keys an index finds repeats; the tree must not change.
  std::string text = "{";
  for (int i = 0; i < 200; ++i)
    text += "\"k" + std::to_string(i % 70) + "\":" + std::to_string(i) + ",";
  text += "\"last\":true}";
  ExpectSameAsNlohmann(text);

  // 200000 distinct keys: a scan per key would take minutes (4e10 comparisons).
  std::string wide = "{";
  for (int i = 0; i < 200000; ++i) wide += "\"key" + std::to_string(i) + "\":0,";
  wide += "\"key0\":1}";
  Json out;
  std::string why;
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(ParseJsonLine(wide, kDepth, &out, &why)) << why;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30));
  ASSERT_EQ(out.size(), 200000u);
  EXPECT_EQ(out.begin().key(), "key0");
  EXPECT_EQ(out["key0"], 1);
}

// Random documents, each also damaged at one byte: both parsers must agree on every one.
TEST(JsonLineTest, AgreesWithNlohmannOnRandomAndDamagedDocuments) {
  std::uint32_t seed = 12345;
  auto next = [&seed](std::uint32_t n) {
    seed = seed * 1664525u + 1013904223u;
    return (seed >> 8) % n;
  };
  const std::vector<std::string> atoms = {"0",
                                          "-0",
                                          "7",
                                          "-12",
                                          "3.25",
                                          "1e3",
                                          "-2.5E-2",
                                          "true",
                                          "false",
                                          "null",
                                          "\"\"",
                                          "\"x\"",
                                          "\"\\n\"",
                                          "\"\\u00e9\"",
                                          "\"\xC3\xA9\"",
                                          "99999999999999999999",
                                          "-9223372036854775809",
                                          "1e-330"};
  std::function<std::string(int)> value = [&](int depth) -> std::string {
    const std::uint32_t kind = depth > 4 ? 2 : next(3);
    if (kind == 0) {
      std::string out = "{";
      const std::uint32_t n = next(4);
      for (std::uint32_t i = 0; i < n; ++i) {
        if (i > 0) out += ",";
        out += "\"k" + std::to_string(next(3)) + "\":" + value(depth + 1);
      }
      return out + "}";
    }
    if (kind == 1) {
      std::string out = "[";
      const std::uint32_t n = next(4);
      for (std::uint32_t i = 0; i < n; ++i) {
        if (i > 0) out += ",";
        out += value(depth + 1);
      }
      return out + "]";
    }
    return atoms[next(static_cast<std::uint32_t>(atoms.size()))];
  };
  const std::string bytes = "{}[]\",:0123456789-+.eE \\utfnl\x01\xC3\xA9\xFF";
  for (int round = 0; round < 3000; ++round) {
    std::string doc = value(0);
    ExpectSameAsNlohmann(doc);
    const size_t at = next(static_cast<std::uint32_t>(doc.size()));
    switch (next(3)) {
      case 0:
        doc[at] = bytes[next(static_cast<std::uint32_t>(bytes.size()))];
        break;
      case 1:
        doc.erase(at, 1);
        break;
      default:
        doc.insert(at, 1, bytes[next(static_cast<std::uint32_t>(bytes.size()))]);
        break;
    }
    ExpectSameAsNlohmann(doc);
    if (HasFatalFailure()) return;
  }
}

}  // namespace
}  // namespace td::cassette::internal
