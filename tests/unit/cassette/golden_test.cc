// Golden cassettes: every file under tests/golden/cassettes/v*/ (one folder per format version
// ever shipped) must keep loading, and load as its same-named successor in the next version's
// folder (the migration check); current-version files must be in canonical form (re-writing
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

// The version number of a folder named "v<N>", or 0.
int VersionOf(const fs::path& dir) {
  const std::string name = dir.filename().string();
  if (name.size() < 2 || name.size() > 4 || name[0] != 'v') return 0;
  int n = 0;
  for (size_t i = 1; i < name.size(); ++i) {
    if (name[i] < '0' || name[i] > '9') return 0;
    n = n * 10 + (name[i] - '0');
  }
  return n;
}

// The version folders ("v1", "v2", ...), in version order (v10 after v9).
std::vector<fs::path> VersionDirs() {
  std::vector<fs::path> dirs;
  for (const auto& entry : fs::directory_iterator(kGoldenRoot)) {
    if (entry.is_directory() && VersionOf(entry.path()) > 0) dirs.push_back(entry.path());
  }
  std::sort(dirs.begin(), dirs.end(),
            [](const fs::path& a, const fs::path& b) { return VersionOf(a) < VersionOf(b); });
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

// Each version's folder starts as the previous one's files regenerated (TAPEDECK_UPDATE_GOLDEN),
// so a file of version N, migrated on read, must load as its version N+1 twin does.
TEST(GoldenTest, EachFileLoadsAsItsTwinInTheNextVersion) {
  const std::vector<fs::path> dirs = VersionDirs();
  size_t pairs = 0;
  for (size_t k = 0; k + 1 < dirs.size(); ++k) {
    EXPECT_EQ(VersionOf(dirs[k + 1]), VersionOf(dirs[k]) + 1) << "a version folder is missing";
    for (const fs::path& older : FilesEndingWith(dirs[k], ".jsonl")) {
      const fs::path newer = dirs[k + 1] / older.filename();
      if (!fs::exists(newer)) continue;
      Result<Cassette> old_c = ReadCassette(older.string());
      Result<Cassette> new_c = ReadCassette(newer.string());
      ASSERT_TRUE(old_c.ok()) << old_c.status().message();
      ASSERT_TRUE(new_c.ok()) << new_c.status().message();
      EXPECT_EQ(old_c->version, VersionOf(dirs[k])) << older;
      EXPECT_EQ(new_c->version, VersionOf(dirs[k + 1])) << newer;
      old_c->version = new_c->version;
      EXPECT_EQ(*old_c, *new_c) << older << " does not load as " << newer;
      ++pairs;
    }
  }
  if (dirs.size() > 1) {
    EXPECT_GE(pairs, 1u) << "no file of one version has a twin in the next";
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

// Version 2's reason to exist: a recording through named mounts keeps the "/NAME" prefix in its
// paths, and its header lists the mounts in order. Placed after the .zst test, which regenerates
// the twin under TAPEDECK_UPDATE_GOLDEN.
TEST(GoldenTest, TwoProvidersListsItsMountsInOrder) {
  const fs::path file = kGoldenRoot / "v2" / "two-providers.jsonl";
  for (const fs::path& path : {file, fs::path(file.string() + ".zst")}) {
    Result<Cassette> c = ReadCassette(path.string());
    ASSERT_TRUE(c.ok()) << c.status().message();
    EXPECT_EQ(c->mounts, (std::vector<std::string>{"anthropic", "openai"})) << path;
    ASSERT_EQ(c->interactions.size(), 2u) << path;
    EXPECT_EQ(c->interactions[0].request.path, "/anthropic/v1/messages");
    EXPECT_EQ(c->interactions[1].request.path, "/openai/v1/chat/completions");
  }
}

}  // namespace
}  // namespace td::cassette
