// Tests for JsonScanner (cassette/json_scan.h): it must accept exactly what nlohmann's parser
// accepts, decode strings to nlohmann's values, type numbers as nlohmann types them, and say
// "dump form" exactly when nlohmann's dump would spell a string the same way.
#include "cassette/json_scan.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "cassette/json_mapping.h"

namespace td::cassette {
namespace {

constexpr size_t kDepth = 64;

bool ScannerAccepts(const std::string& text) {
  JsonScanner s(text);
  return s.SkipValue(kDepth) && s.AtEnd();
}

const std::vector<std::string>& Corpus() {
  static const std::vector<std::string> kCorpus = {
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
      "0.7",
      R"("\u00e9\ud83d\ude00\n\t\"\\\/\b\f\r")",
      R"("\u0000 and \u001f")",
      R"("\u001F")",
      R"("\u0041")",
      R"("\u007f")",
      "\"caf\xC3\xA9 \xF0\x9F\x98\x80 \x7F\"",
      R"({"a":1,"b":2,"a":3})",
      R"({"k":{"k":{"k":[[],[{}],{"":""}]}}})",
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
      "\"\xE2\x82\"x",
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
      "\"a long string of plain text that crosses sixteen bytes, twice over\"",
      "\"plain text, then a quote at the end of a block:\\\"0123456789abcdef\"",
      "\"0123456789abcdef\x01\"",
      "\"0123456789abcde\xC3\xA9\"",
  };
  return kCorpus;
}

TEST(JsonScanTest, AcceptsExactlyWhatNlohmannAccepts) {
  for (const std::string& text : Corpus()) {
    EXPECT_EQ(ScannerAccepts(text), Json::accept(text)) << "input: " << text;
  }
}

TEST(JsonScanTest, RandomTextAgreesWithNlohmann) {
  // Short strings over the bytes JSON cares about, deterministic: every verdict must agree.
  const std::string alphabet = "{}[]\":,\\ntrufalse0123456789-+.eEu\x01\xC3\xA9\xFF /b";
  std::uint64_t state = 42;
  auto next = [&] {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<std::uint32_t>(state >> 33);
  };
  int accepted = 0;
  for (int k = 0; k < 200000; ++k) {
    std::string text;
    const size_t n = 1 + next() % 12;
    for (size_t i = 0; i < n; ++i) text += alphabet[next() % alphabet.size()];
    const bool theirs = Json::accept(text);
    ASSERT_EQ(ScannerAccepts(text), theirs) << "input: " << text;
    accepted += theirs;
  }
  EXPECT_GT(accepted, 1000);  // the alphabet makes valid documents too, not only junk
}

TEST(JsonScanTest, StringsDecodeToNlohmannsValuesAndKnowTheirDumpForm) {
  for (const std::string& text : Corpus()) {
    const Json theirs = Json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (theirs.is_discarded() || !theirs.is_string()) continue;
    std::string value;
    JsonScanner read(text);
    ASSERT_TRUE(read.ReadString(&value)) << text;
    EXPECT_EQ(value, theirs.get<std::string>()) << text;

    JsonScanner scan(text);
    JsonScanner::StringSpan span;
    ASSERT_TRUE(scan.ScanString(&span)) << text;
    std::string decoded;
    JsonScanner::AppendDecoded(span, &decoded);
    EXPECT_EQ(decoded, value) << text;
    EXPECT_EQ(span.dump_form, theirs.dump() == "\"" + std::string(span.raw) + "\"") << text;
  }
}

TEST(JsonScanTest, LongStringsDecodeTheSame) {
  // Past 1 MiB of text ReadString checks, then decodes into the string reserved once: the
  // value must be the same as below it.
  std::string text = "\"";
  while (text.size() < (3u << 19)) {
    text += "plain text, \\\"quoted\\\", a tab\\t, \\u00e9, \\ud83d\\ude00, caf\xC3\xA9 \\/ ";
  }
  text += "\"";
  const Json theirs = Json::parse(text);
  std::string ours;
  JsonScanner s(text);
  ASSERT_TRUE(s.ReadString(&ours));
  EXPECT_TRUE(s.AtEnd());
  EXPECT_EQ(ours, theirs.get<std::string>());
  const std::string bad = text.substr(0, text.size() - 1) + "\x01\"";
  JsonScanner refused(bad);
  EXPECT_FALSE(refused.ReadString(&ours));
}

TEST(JsonScanTest, NumbersAreTypedAsNlohmannTypesThem) {
  for (const std::string& text : Corpus()) {
    const Json theirs = Json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (theirs.is_discarded() || !theirs.is_number()) continue;
    JsonScanner s(text);
    JsonScanner::Number n;
    ASSERT_TRUE(s.ReadNumber(&n)) << text;
    if (theirs.is_number_unsigned()) {
      ASSERT_EQ(n.kind, JsonScanner::Number::Kind::kUnsigned) << text;
      EXPECT_EQ(n.u, theirs.get<std::uint64_t>()) << text;
    } else if (theirs.is_number_integer()) {
      ASSERT_EQ(n.kind, JsonScanner::Number::Kind::kSigned) << text;
      EXPECT_EQ(n.i, theirs.get<std::int64_t>()) << text;
    } else {
      ASSERT_EQ(n.kind, JsonScanner::Number::Kind::kFloat) << text;
      const double d = theirs.get<double>();
      EXPECT_EQ(std::memcmp(&n.d, &d, sizeof d), 0) << text;  // -0.0 and 0.0 differ
    }
    EXPECT_EQ(n.text, text) << text;
  }
}

TEST(JsonScanTest, DepthIsBounded) {
  const std::string deep = std::string(kDepth, '[') + std::string(kDepth, ']');
  EXPECT_TRUE(ScannerAccepts(deep));
  EXPECT_FALSE(ScannerAccepts("[" + deep + "]"));
  const std::string far_deeper(1000000, '[');
  JsonScanner s(far_deeper);
  EXPECT_FALSE(s.SkipValue(kDepth));  // refused at the limit, without recursing further
}

}  // namespace
}  // namespace td::cassette
