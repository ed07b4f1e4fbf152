// Golden cassettes: every file under tests/golden/cassettes/v*/ (one folder per format version
// ever shipped) must keep loading; current-version files must be in canonical form (re-writing
// them reproduces them byte for byte); each .zst must load equal to its .jsonl twin.
// TAPEDECK_UPDATE_GOLDEN=1 rewrites the current version's files in canonical form and
// regenerates the .zst twins (see tests/golden/README.md).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "cassette/codec.h"
#include "tests/support/fixtures.h"

namespace td::cassette {
namespace {

namespace fs = std::filesystem;

const fs::path kGoldenRoot = fs::path(TD_SOURCE_DIR) / "tests" / "golden" / "cassettes";

bool UpdateGolden() {
  const char* value = std::getenv("TAPEDECK_UPDATE_GOLDEN");
  return value != nullptr && std::string(value) == "1";
}

// The version folders ("v1", ...), in order.
std::vector<fs::path> VersionDirs() {
  std::vector<fs::path> dirs;
  for (const auto& entry : fs::directory_iterator(kGoldenRoot)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_directory() && name.size() > 1 && name[0] == 'v') dirs.push_back(entry.path());
  }
  std::sort(dirs.begin(), dirs.end());
  return dirs;
}

// Files in `dir` whose names end with `suffix`, sorted.
std::vector<fs::path> FilesEndingWith(const fs::path& dir, const std::string& suffix) {
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_regular_file() && name.ends_with(suffix)) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

fs::path CurrentVersionDir() { return kGoldenRoot / ("v" + std::to_string(kCassetteVersion)); }

TEST(GoldenTest, EveryShippedVersionStillLoads) {
  const std::vector<fs::path> dirs = VersionDirs();
  ASSERT_FALSE(dirs.empty()) << "no golden cassettes under " << kGoldenRoot;
  EXPECT_NE(std::find(dirs.begin(), dirs.end(), CurrentVersionDir()), dirs.end())
      << "the current format version needs a golden folder";
  for (const fs::path& dir : dirs) {
    const std::vector<fs::path> files = FilesEndingWith(dir, ".jsonl");
    EXPECT_FALSE(files.empty()) << dir;
    for (const fs::path& file : files) {
      ReadReport report;
      Result<Cassette> c = ReadCassette(file.string(), &report);
      ASSERT_TRUE(c.ok()) << c.status().message();
      EXPECT_FALSE(c->interactions.empty()) << file;
      EXPECT_TRUE(report.warnings.empty()) << file << ": " << report.warnings.front();
    }
  }
}

TEST(GoldenTest, CurrentVersionFilesAreCanonical) {
  const std::vector<fs::path> files = FilesEndingWith(CurrentVersionDir(), ".jsonl");
  ASSERT_FALSE(files.empty());
  for (const fs::path& file : files) {
    Result<Cassette> c = ReadCassette(file.string());
    ASSERT_TRUE(c.ok()) << c.status().message();
    const std::string canonical = SerializeCassette(*c);
    if (UpdateGolden()) {
      std::ofstream(file, std::ios::binary | std::ios::trunc) << canonical;
      continue;
    }
    EXPECT_EQ(testing::ReadFile(file), canonical)
        << file << " is not in canonical form; TAPEDECK_UPDATE_GOLDEN=1 rewrites it";
  }
}

TEST(GoldenTest, CompressedTwinsLoadEqualToTheirJsonl) {
  size_t twins = 0;
  for (const fs::path& dir : VersionDirs()) {
    for (const fs::path& zst : FilesEndingWith(dir, ".jsonl.zst")) {
      fs::path jsonl = zst;
      jsonl.replace_extension();  // "x.jsonl.zst" -> "x.jsonl"
      ASSERT_TRUE(fs::exists(jsonl)) << zst << " has no .jsonl twin";
      Result<Cassette> plain = ReadCassette(jsonl.string());
      ASSERT_TRUE(plain.ok()) << plain.status().message();
      if (UpdateGolden() && dir == CurrentVersionDir()) {
        ASSERT_TRUE(WriteCassetteAtomic(zst.string(), *plain, WriteOptions{}).ok());
      }
      ReadReport report;
      Result<Cassette> compressed = ReadCassette(zst.string(), &report);
      ASSERT_TRUE(compressed.ok()) << compressed.status().message();
      EXPECT_EQ(*compressed, *plain) << zst;
      EXPECT_TRUE(report.warnings.empty()) << zst;
      ++twins;
    }
  }
  EXPECT_GE(twins, 1u) << "keep at least one .jsonl.zst golden file";
}

}  // namespace
}  // namespace td::cassette
