// Cassette names for --cassette-dir: what may name a cassette, and where its file is. Routing
// itself runs through the real binary in tests/integration/suite_test.cc.
#include "tools/cassette_router.h"

#include <gtest/gtest.h>

namespace td::cli {
namespace {

TEST(CassetteNameTest, AcceptsRelativePathsOfPlainSegments) {
  for (std::string_view ok :
       {"t", "test_login", "suite/test-a.1", "a/b/c", "..a", "a..b", "Ab_9-."}) {
    EXPECT_TRUE(ValidateCassetteName(ok).ok()) << ok << ": " << ValidateCassetteName(ok).message();
  }
  EXPECT_TRUE(ValidateCassetteName(std::string(kMaxCassetteNameBytes, 'a')).ok());
}

TEST(CassetteNameTest, RefusesWhatCouldLeaveTheFolderOrIsNotAName) {
  const std::string nul("a\0b", 3);
  for (std::string_view bad :
       {std::string_view(""), std::string_view("../x"), std::string_view("/etc/passwd"),
        std::string_view("a//b"), std::string_view("a/"), std::string_view("."),
        std::string_view(".."), std::string_view("a/../b"), std::string_view("a/./b"),
        std::string_view("a b"), std::string_view("a\\b"), std::string_view("caf\xc3\xa9"),
        std::string_view(nul)}) {
    Status s = ValidateCassetteName(bad);
    EXPECT_FALSE(s.ok()) << bad;
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(s.message().find('\0'), std::string::npos) << "control bytes are escaped";
  }
  const std::string huge(10 * 1024, 'a');
  Status s = ValidateCassetteName(huge);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("longer than 200 bytes"), std::string::npos) << s.message();
  EXPECT_LT(s.message().size(), 200u) << "the message does not repeat a huge name";
}

TEST(CassetteNameTest, TheFileIsTheNameWithTheCassetteSuffixInsideTheFolder) {
  EXPECT_EQ(CassettePath("cassettes", "suite/t1"), "cassettes/suite/t1.jsonl.zst");
  EXPECT_EQ(CassettePath("/tmp/c/", "t"), "/tmp/c/t.jsonl.zst");
}

}  // namespace
}  // namespace td::cli
