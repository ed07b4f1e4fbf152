#include "cassette/regex_window.h"

#include <gtest/gtest.h>

namespace td::cassette {
namespace {

TEST(RegexWindowTest, FindsEveryMatchWithOffsets) {
  std::vector<std::pair<size_t, size_t>> found;
  std::regex re("id_[0-9]+");
  EXPECT_TRUE(ForEachRegexMatch("a id_12 b\nid_3", re, [&](size_t b, size_t e, const std::cmatch&) {
    found.emplace_back(b, e);
  }));
  EXPECT_EQ(found, (std::vector<std::pair<size_t, size_t>>{{2, 7}, {10, 14}}));
}

TEST(RegexWindowTest, ReplacesWithGroupReferences) {
  std::regex re("(\\d{4})-(\\d{2})-(\\d{2})");
  EXPECT_EQ(RegexReplaceAll("on 2026-11-21 and 2025-01-02.", re, "<$1>"), "on <2026> and <2025>.");
}

TEST(RegexWindowTest, FindsMatchesThatStraddleAWindowBoundary) {
  std::string text(kRegexWindow - 3, 'x');
  text += "TOKEN123";
  text += std::string(kRegexWindow, 'y');
  EXPECT_EQ(RegexReplaceAll(text, std::regex("TOKEN[0-9]+"), "T"),
            std::string(kRegexWindow - 3, 'x') + "T" + std::string(kRegexWindow, 'y'));
}

// A base64 image in a request body is one long run with no newline: one std::regex pass over
// it recurses per character and overflows the stack (past ~30000 bytes for "a+b"; ~5500 under
// AddressSanitizer). Windowed, it does not. (A failing greedy pattern costs O(window^2) per
// window, so this input stays at 40 KB; the linear pattern below runs over 1 MiB.)
TEST(RegexWindowTest, SurvivesLongRunsThatOverflowAPlainRegex) {
  std::string body = "{\"image\":\"" + std::string(40000, 'a') + "\"}";
  bool ok = false;
  EXPECT_EQ(RegexReplaceAll(body, std::regex("a+b"), "X", &ok), body);
  EXPECT_TRUE(ok);

  std::string big = "{\"image\":\"" + std::string(1 << 20, 'a') + "\"}";
  std::string out = RegexReplaceAll(big, std::regex("[a-z]+"), "w", &ok);
  EXPECT_TRUE(ok);
  EXPECT_EQ(out.find('a'), std::string::npos);
  EXPECT_LT(out.size(), 2048u) << "a long run is replaced piecewise, one piece per window";
}

}  // namespace
}  // namespace td::cassette
