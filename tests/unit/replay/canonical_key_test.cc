// Canonical keys (replay/internal/canonical_key.h, RequestNormalizer::BodyKeyOf): read off the
// body in one pass, they must equal the key of the canonical body built the slow way
// (NormalizeBody, then CanonicalBody) for every body and every option set, so the index groups
// recorded bodies exactly as comparing canonical bodies would.
#include "replay/internal/canonical_key.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "replay/normalize.h"

namespace td::replay {
namespace {

RequestNormalizer MakeNormalizer(MatchOptions options) {
  Result<RequestNormalizer> n = RequestNormalizer::Create(std::move(options));
  EXPECT_TRUE(n.ok()) << n.status().ToString();
  return std::move(*n);
}

// The slow way: the canonical body itself, and its key.
std::string CanonicalOf(const RequestNormalizer& normalizer, std::string_view body) {
  NormalizedRequest n;
  normalizer.NormalizeBody(body, &n);
  return n.CanonicalBody();
}

void ExpectKeyOfCanonical(const RequestNormalizer& normalizer, const std::string& body) {
  const std::string canonical = CanonicalOf(normalizer, body);
  const BodyKey key = normalizer.BodyKeyOf(body);
  EXPECT_EQ(key, RequestNormalizer::KeyOf(canonical)) << "body: " << body;
  EXPECT_EQ(key.size, canonical.size()) << "body: " << body << "\ncanonical: " << canonical;
}

std::vector<MatchOptions> OptionSets() {
  std::vector<MatchOptions> sets(6);
  sets[1].ignore_json_paths = {"metadata.user_id"};
  sets[2].ignore_json_paths = {"messages.*.content", "user", "*.z"};
  sets[3].ignore_json_paths = {"messages.0.content", "a.1"};  // an index, not last
  sets[4].ignore_json_paths = {"messages.0", "b"};            // erases an element: slow path
  sets[5].ignore_json_paths = {"*"};
  sets[5].normalizers = {Normalizer{"", "", "uuid"}, Normalizer{"[0-9]{4}", "<N>", ""}};
  return sets;
}

const std::vector<std::string>& Bodies() {
  static const std::vector<std::string> kBodies = {
      R"({"model":"claude-x","max_tokens":16,"messages":[{"role":"user","content":"hi"}]})",
      R"({"messages":[{"role":"user","content":"hi"}],"max_tokens":16,"model":"claude-x"})",
      " {\n  \"model\" : \"claude-x\" ,\n \"t\": 0.70 } ",
      R"({"a":[1,2,{"b":null,"c":true,"d":false}],"e":-3,"f":1.5e3,"g":-0,"h":-0.0})",
      R"({"s":"quote \" backslash \\ slash \/ controls \b\f\n\r\t \u0001 \u001F é \u00e9 \ud83d\ude00"})",
      R"({"metadata":{"user_id":"u_1","other":1},"user":"x","z":1,"y":{"z":2}})",
      R"({"metadata":{"user_id":"u_2","other":1},"user":"y","z":3,"y":{"z":4}})",
      R"({"a":[{"x":1},{"y":2}],"messages":[{"content":"a"},{"content":"b","role":"r"}]})",
      R"([1,"two",[3],{"four":4}])",
      R"({"n":18446744073709551615,"m":18446744073709551616,"k":-9223372036854775808})",
      R"({"small":1e-400,"neg":-1e-400,"round":0.1,"big":1.7976931348623157e308})",
      R"({"a":1,"a":2})",  // a key twice: the slow path
      R"({"date":"2026-11-21","id":"123e4567-e89b-12d3-a456-426614174000","n":"12345"})",
      R"({"unterminated":)",  // not JSON: a text body
      R"({"bad":"\x"})",
      "{\"bad utf8\":\"\xFF\"}",
      "[" + std::string(600, '[') + std::string(600, ']') + "]",  // deeper than the scan goes
      "{}",
      "[]",
      "plain text, not JSON",
      "",
  };
  return kBodies;
}

TEST(CanonicalKeyTest, EqualsTheKeyOfTheCanonicalBodyForEveryBodyAndOptions) {
  for (const MatchOptions& options : OptionSets()) {
    const RequestNormalizer normalizer = MakeNormalizer(options);
    for (const std::string& body : Bodies()) ExpectKeyOfCanonical(normalizer, body);
  }
}

TEST(CanonicalKeyTest, MutatedBodiesStillAgree) {
  // Single-byte changes of JSON bodies (most stay JSON, some do not): the fast key must still
  // be the canonical body's.
  const std::string alphabet = "{}[]\":,\\ 0123456789-.eEtrufalsnu\x01\xC3\xA9";
  std::uint64_t state = 11;
  auto next = [&] {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<std::uint32_t>(state >> 33);
  };
  const std::vector<MatchOptions> sets = OptionSets();
  for (int k = 0; k < 20000; ++k) {
    std::string body = Bodies()[next() % 11];
    const size_t at = next() % body.size();
    switch (next() % 3) {
      case 0:
        body[at] = alphabet[next() % alphabet.size()];
        break;
      case 1:
        body.insert(body.begin() + static_cast<std::ptrdiff_t>(at),
                    alphabet[next() % alphabet.size()]);
        break;
      default:
        body.erase(at, 1);
    }
    ExpectKeyOfCanonical(MakeNormalizer(sets[next() % sets.size()]), body);
    if (::testing::Test::HasFailure()) break;
  }
}

TEST(CanonicalKeyTest, BodiesWithTheSameCanonicalBodyShareAKeyAndOthersDoNot) {
  const RequestNormalizer plain = MakeNormalizer({});
  EXPECT_EQ(plain.BodyKeyOf(Bodies()[0]), plain.BodyKeyOf(Bodies()[1]));  // key order
  EXPECT_EQ(plain.BodyKeyOf(R"({"a":"a"})"), plain.BodyKeyOf(R"({"\u0061":"\u0061"})"));
  EXPECT_EQ(plain.BodyKeyOf("[1.0]"), plain.BodyKeyOf("[1.00]"));
  EXPECT_NE(plain.BodyKeyOf("[1]"), plain.BodyKeyOf("[1.0]"));  // 1 and 1.0 differ
  EXPECT_NE(plain.BodyKeyOf(R"({"a":1})"), plain.BodyKeyOf(R"({"a":"1"})"));
  EXPECT_NE(plain.BodyKeyOf("[1,2]"), plain.BodyKeyOf("[2,1]"));  // arrays keep their order
  EXPECT_NE(plain.BodyKeyOf(Bodies()[5]), plain.BodyKeyOf(Bodies()[6]));
  MatchOptions ignoring;
  ignoring.ignore_json_paths = {"metadata.user_id", "user", "z", "y"};
  const RequestNormalizer ignore = MakeNormalizer(ignoring);
  EXPECT_EQ(ignore.BodyKeyOf(Bodies()[5]), ignore.BodyKeyOf(Bodies()[6]));
}

}  // namespace
}  // namespace td::replay
