// The reader's memory bound, measured: a zstd cassette whose one interaction line is 64 MiB is
// read in a forked child (so only the read counts in its peak RSS), once with a 16 MiB line cap
// (refused early, holding far less than the line) and once with the default cap (loaded, holding
// at most about twice the line besides the result); and a line of tiny values, whose tree would
// be ~20 times its text, is refused once the tree passes twice the cap.
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "cassette/codec.h"
#include "cassette/internal/zstd_stream.h"
#include "tests/support/sanitizers.h"

namespace td::cassette {
namespace {

namespace fs = std::filesystem;

constexpr size_t kMiB = size_t{1} << 20;
constexpr size_t kLineBytes = 64 * kMiB;

// ASan's shadow memory and quarantine swamp the figures.
constexpr bool kMeasuresRss = !td::testing::kUnderAddressSanitizer;

// Writes a zstd cassette whose line 2 is exactly `line_bytes` long: `head`, then `unit` repeated
// (cut to fit), then `tail` (which ends in '\n'). Compressed in pieces, so this process never
// holds the line.
void WriteCassetteWithLongLine(const std::string& path, size_t line_bytes, const std::string& head,
                               const std::string& unit, const std::string& tail) {
  Result<internal::ZstdCCtxPtr> cctx = internal::MakeCompressor(6, path);
  ASSERT_TRUE(cctx.ok());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  std::string compressed;
  auto put = [&](std::string_view text, ZSTD_EndDirective mode) {
    compressed.clear();
    ASSERT_TRUE(internal::CompressInto(cctx->get(), text, mode, &compressed, path).ok());
    out.write(compressed.data(), static_cast<std::streamsize>(compressed.size()));
  };
  put(R"({"tapedeck":"cassette","version":1})"
      "\n",
      ZSTD_e_flush);
  put(head, ZSTD_e_continue);
  std::string filler;
  while (filler.size() < kMiB) filler += unit;
  size_t left = line_bytes - head.size() - (tail.size() - 1);
  while (left > 0) {
    const size_t n = std::min(left, filler.size());
    put(std::string_view(filler).substr(0, n), ZSTD_e_continue);
    left -= n;
  }
  put(tail, ZSTD_e_end);
  ASSERT_TRUE(out.good());
}

struct ChildRead {
  bool ok = false;
  long rss_growth_kb = 0;
  size_t interactions = 0;
  size_t body_bytes = 0;
  char message[512] = {};
};

// Reads `path` in a forked child and reports what it got and how much its peak RSS grew.
ChildRead ReadInChild(const std::string& path, const ReadOptions& options) {
  int fds[2];
  EXPECT_EQ(::pipe(fds), 0);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    ChildRead r;
    rusage before{};
    ::getrusage(RUSAGE_SELF, &before);
    {
      ReadReport report;
      Result<Cassette> c = ReadCassette(path, options, &report);
      rusage after{};
      ::getrusage(RUSAGE_SELF, &after);
      r.rss_growth_kb = after.ru_maxrss - before.ru_maxrss;
      r.ok = c.ok();
      if (c.ok()) {
        r.interactions = c->interactions.size();
        if (!c->interactions.empty()) r.body_bytes = c->interactions[0].response.body.bytes.size();
      } else {
        std::snprintf(r.message, sizeof r.message, "%s", c.status().message().c_str());
      }
    }
    const ssize_t n = ::write(fds[1], &r, sizeof r);
    ::_exit(n == static_cast<ssize_t>(sizeof r) ? 0 : 1);
  }
  ::close(fds[1]);
  ChildRead r;
  size_t got = 0;
  while (got < sizeof r) {
    const ssize_t n = ::read(fds[0], reinterpret_cast<char*>(&r) + got, sizeof r - got);
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_EQ(got, sizeof r);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  return r;
}

class CodecMemoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "tapedeck-memory-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    path_ = (dir_ / "long.jsonl.zst").string();
    WriteCassetteWithLongLine(path_, kLineBytes,
                              R"({"seq":0,"request":{"method":"GET","path":"/"},)"
                              R"("response":{"status":200,"body":{"text":")",
                              "a", "\"}}}\n");
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  fs::path dir_;
  std::string path_;
};

TEST_F(CodecMemoryTest, ALineOverTheCapIsRefusedBeforeItIsHeld) {
  ReadOptions options;
  options.max_line_bytes = 16 * kMiB;
  const ChildRead r = ReadInChild(path_, options);
  ASSERT_FALSE(r.ok);
  EXPECT_EQ(std::string(r.message), "cassette " + path_ +
                                        ": line 2 is longer than 16 MiB (--max-line-bytes); "
                                        "refusing to read it");
  RecordProperty("rss_growth_kib", static_cast<int>(r.rss_growth_kb));
  if (kMeasuresRss) {
    // The cap's worth of line and zstd's window, not the 64 MiB line.
    EXPECT_LT(r.rss_growth_kb, static_cast<long>(32 * kMiB / 1024)) << "KiB";
  }
}

TEST_F(CodecMemoryTest, ALongLineCostsAboutTwiceItsSize) {
  const ChildRead r = ReadInChild(path_, ReadOptions{});
  ASSERT_TRUE(r.ok) << r.message;
  EXPECT_EQ(r.interactions, 1u);
  EXPECT_GT(r.body_bytes, kLineBytes - 200);
  RecordProperty("rss_growth_kib", static_cast<int>(r.rss_growth_kb));
  if (kMeasuresRss) {
    // The line, then its decoded string (which the result keeps), never a third copy.
    EXPECT_LE(r.rss_growth_kb, static_cast<long>(kLineBytes * 5 / 2 / 1024)) << "KiB";
  }
}

TEST_F(CodecMemoryTest, ALineOfTinyValuesIsRefusedBeforeItsTreeOutgrowsTheCap) {
  // 6 MiB of "[]," builds ~120 MiB of tree; an 8 MiB cap allows 16 MiB of it.
  const std::string path = (dir_ / "tiny.jsonl.zst").string();
  WriteCassetteWithLongLine(
      path, 6 * kMiB,
      R"({"seq":0,"request":{"method":"GET","path":"/"},"response":{"status":200},"x-pad":[)",
      "[],", "[]]}\n");
  ReadOptions options;
  options.max_line_bytes = 8 * kMiB;
  const ChildRead r = ReadInChild(path, options);
  ASSERT_FALSE(r.ok);
  EXPECT_EQ(std::string(r.message),
            "cassette " + path +
                ": line 2: its JSON would take more than 16 MiB of memory (2 x --max-line-bytes); "
                "refusing to read it");
  RecordProperty("rss_growth_kib", static_cast<int>(r.rss_growth_kb));
  if (kMeasuresRss) {
    // The line and the part of its tree built before the budget ran out.
    EXPECT_LT(r.rss_growth_kb, static_cast<long>(40 * kMiB / 1024)) << "KiB";
  }
}

}  // namespace
}  // namespace td::cassette
