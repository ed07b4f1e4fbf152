// Tests for the header's "mounts" (format version 2): what the writers put there, that reading
// gives it back, that appending keeps a file's header, that version 1 files load with none, and
// that a bad value is an error naming the file and line 1, in plain and zstd files alike.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "cassette/cassette_writer.h"
#include "cassette/codec.h"
#include "cassette/internal/codec_internal.h"
#include "cassette/internal/zstd_stream.h"
#include "tests/support/fixtures.h"
#include "tests/support/interaction_builder.h"
#include "tests/support/log_capture.h"
#include "tests/support/temp_dir.h"

namespace td::cassette {
namespace {

namespace fs = std::filesystem;
using testing::InteractionBuilder;

const std::vector<std::string> kTwoMounts = {"anthropic", "openai"};

void WriteBytes(const std::string& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// The text up to the first '\n' of a plain file, or of a zstd file decompressed.
std::string FirstLine(const std::string& path) {
  std::string bytes = testing::ReadFile(path);
  if (internal::HasZstdMagic(bytes)) {
    Result<internal::Decompressed> d =
        internal::DecompressAll(bytes, path, internal::kMaxCassetteBytes);
    EXPECT_TRUE(d.ok()) << d.status().message();
    if (!d.ok()) return {};
    bytes = d->text;
  }
  return bytes.substr(0, bytes.find('\n'));
}

// The same text compressed in one frame, as `zstd` makes it after a hand edit.
std::string Zstd(const std::string& text) {
  Result<internal::ZstdCCtxPtr> cctx = internal::MakeCompressor(3, "test");
  EXPECT_TRUE(cctx.ok());
  std::string out;
  EXPECT_TRUE(internal::CompressInto(cctx->get(), text, ZSTD_e_end, &out, "test").ok());
  return out;
}

Interaction Anthropic(std::uint64_t seq) {
  return InteractionBuilder().Seq(seq).Path("/anthropic/v1/messages").Build();
}
Interaction OpenAi(std::uint64_t seq) {
  return InteractionBuilder().Seq(seq).Path("/openai/v1/chat/completions").Build();
}

Cassette TwoProviders() {
  Cassette c;
  c.created_at_us = 1795249953123456;  // 2026-11-21T08:32:33.123456Z
  c.mounts = kTwoMounts;
  c.interactions = {Anthropic(0), OpenAi(1)};
  return c;
}

// Records `interactions` through a writer opened with `options` and closes it.
void Record(const std::string& path, CassetteWriter::OpenMode mode, const WriteOptions& options,
            const std::vector<Interaction>& interactions) {
  Result<std::unique_ptr<CassetteWriter>> writer = CassetteWriter::Open(path, mode, options);
  ASSERT_TRUE(writer.ok()) << writer.status().message();
  for (const Interaction& i : interactions) ASSERT_TRUE((*writer)->Append(i).ok());
  ASSERT_TRUE((*writer)->Close().ok());
}

class MountsFormTest : public ::testing::TestWithParam<bool> {
 protected:
  bool compress() const { return GetParam(); }
  std::string PathOf(const std::string& name) const {
    return dir_.Path(name + (compress() ? ".jsonl.zst" : ".jsonl"));
  }
  WriteOptions Options(std::vector<std::string> mounts = {}) const {
    WriteOptions options;
    options.compress = compress();
    options.mounts = std::move(mounts);
    return options;
  }

  testing::ScopedTempDir dir_;
};

TEST_P(MountsFormTest, WriteCassetteAtomicWritesTheCassettesMountsAndReadingGivesThemBack) {
  const std::string path = PathOf("atomic");
  // The options' mounts are for the streaming writer; the Cassette's own list is what counts.
  ASSERT_TRUE(WriteCassetteAtomic(path, TwoProviders(), Options({"ignored"})).ok());
  EXPECT_EQ(FirstLine(path),
            R"({"tapedeck":"cassette","version":3,"created_at":"2026-11-21T08:32:33.123456Z",)"
            R"("mounts":["anthropic","openai"]})");
  ReadReport report;
  Result<Cassette> back = ReadCassette(path, &report);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(*back, TwoProviders());
  EXPECT_EQ(back->version, kCassetteVersion);
  EXPECT_TRUE(report.warnings.empty());
}

TEST_P(MountsFormTest, NoMountsWritesNoMountsKey) {
  const std::string path = PathOf("none");
  Cassette c = TwoProviders();
  c.mounts.clear();
  ASSERT_TRUE(WriteCassetteAtomic(path, c, Options()).ok());
  EXPECT_EQ(FirstLine(path),
            R"({"tapedeck":"cassette","version":3,"created_at":"2026-11-21T08:32:33.123456Z"})");
  Result<Cassette> back = ReadCassette(path);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_TRUE(back->mounts.empty());
}

TEST_P(MountsFormTest, WriterPutsTheOptionsMountsInTheHeaderOfANewFile) {
  for (const auto mode : {CassetteWriter::OpenMode::kTruncate, CassetteWriter::OpenMode::kAppend}) {
    const std::string path =
        PathOf(mode == CassetteWriter::OpenMode::kTruncate ? "truncate" : "append-missing");
    Record(path, mode, Options(kTwoMounts), {Anthropic(0), OpenAi(1)});
    const std::string header = FirstLine(path);
    EXPECT_TRUE(header.ends_with(R"(Z","mounts":["anthropic","openai"]})")) << header;
    Result<Cassette> back = ReadCassette(path);
    ASSERT_TRUE(back.ok()) << back.status().message();
    EXPECT_EQ(back->mounts, kTwoMounts);
    EXPECT_EQ(back->version, kCassetteVersion);
    ASSERT_EQ(back->interactions.size(), 2u);
    EXPECT_EQ(back->interactions[1].request.path, "/openai/v1/chat/completions");
  }
}

TEST_P(MountsFormTest, AppendKeepsTheHeaderOfAVersion2File) {
  const std::string path = PathOf("keep");
  Record(path, CassetteWriter::OpenMode::kTruncate, Options(kTwoMounts), {Anthropic(0)});
  const std::string before = testing::ReadFile(path);

  // A session with no mounts, then one through a mount the header does not list.
  Record(path, CassetteWriter::OpenMode::kAppend, Options(), {OpenAi(1)});
  testing::LogCapture log(LogLevel::kWarn);
  Record(path, CassetteWriter::OpenMode::kAppend, Options({"anthropic", "gemini"}), {Anthropic(2)});

  const std::string after = testing::ReadFile(path);
  EXPECT_EQ(after.substr(0, before.size()), before);  // the bytes before, header included, kept
  Result<Cassette> back = ReadCassette(path);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->mounts, kTwoMounts);
  EXPECT_EQ(back->interactions.size(), 3u);
  const std::vector<std::string> warnings = log.lines(LogLevel::kWarn);
  ASSERT_EQ(warnings.size(), 1u) << log.Text();
  EXPECT_TRUE(warnings[0].ends_with("cassette " + path +
                                    ": appending through mounts its header does not list "
                                    "(gemini; it lists anthropic, openai); the header is kept as "
                                    "it is"))
      << warnings[0];
}

TEST_P(MountsFormTest, AppendRewritingACutFileKeepsItsMounts) {
  const std::string path = PathOf("cut");
  Record(path, CassetteWriter::OpenMode::kTruncate, Options(kTwoMounts), {Anthropic(0), OpenAi(1)});
  std::string bytes = testing::ReadFile(path);
  WriteBytes(path, bytes.substr(0, bytes.size() - 10));  // cut inside the last line or frame

  Record(path, CassetteWriter::OpenMode::kAppend, Options({"other"}), {OpenAi(2)});
  ReadReport report;
  Result<Cassette> back = ReadCassette(path, &report);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_TRUE(report.warnings.empty());
  EXPECT_EQ(back->mounts, kTwoMounts);
  ASSERT_FALSE(back->interactions.empty());
  EXPECT_EQ(back->interactions.back().seq, 2u);
}

TEST_P(MountsFormTest, Version1FileLoadsWithNoMountsAndAppendRewritesItAsVersion2) {
  const std::string path = PathOf("old");
  const std::string v1 =
      std::string(
          R"({"tapedeck":"cassette","version":1,"created_at":"2026-11-21T08:32:33.123456Z"})"
          "\n") +
      SerializeInteraction(InteractionBuilder().Seq(0).Path("/v1/messages").Build()) + "\n";
  WriteBytes(path, compress() ? Zstd(v1) : v1);
  Result<Cassette> old = ReadCassette(path);
  ASSERT_TRUE(old.ok()) << old.status().message();
  EXPECT_EQ(old->version, 1);
  EXPECT_TRUE(old->mounts.empty());
  ASSERT_EQ(old->interactions.size(), 1u);

  // The rewrite to the current version keeps what the file says (no mounts), not what the session says.
  Record(path, CassetteWriter::OpenMode::kAppend, Options({"anthropic"}), {Anthropic(1)});
  EXPECT_EQ(FirstLine(path),
            R"({"tapedeck":"cassette","version":3,"created_at":"2026-11-21T08:32:33.123456Z"})");
  Result<Cassette> back = ReadCassette(path);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->version, kCassetteVersion);
  EXPECT_TRUE(back->mounts.empty());
  ASSERT_EQ(back->interactions.size(), 2u);
  EXPECT_EQ(back->interactions[0], old->interactions[0]);
}

TEST_P(MountsFormTest, WritersRefuseMountsTheReaderWouldRefuse) {
  const std::vector<std::vector<std::string>> bad = {
      {"Anthropic"}, {"anthropic", "anthropic"}, {""}, {"../x"}, {std::string(65, 'a')}};
  for (const std::vector<std::string>& mounts : bad) {
    const std::string path = PathOf("refused");
    Cassette c = TwoProviders();
    c.mounts = mounts;
    Status st = WriteCassetteAtomic(path, c, Options());
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << mounts[0];
    EXPECT_EQ(st.message().rfind("cassette " + path + ": mounts[", 0), 0u) << st.message();
    auto writer = CassetteWriter::Open(path, CassetteWriter::OpenMode::kTruncate, Options(mounts));
    ASSERT_FALSE(writer.ok()) << mounts[0];
    EXPECT_EQ(writer.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(writer.status().message(), st.message());
    EXPECT_FALSE(fs::exists(path)) << "nothing is written";
  }
}

INSTANTIATE_TEST_SUITE_P(Forms, MountsFormTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& param_info) {
                           return param_info.param ? std::string("Zstd") : std::string("Plain");
                         });

// The whole header line with `mounts_json` as its "mounts" value.
std::string HeaderWith(const std::string& mounts_json, int version = 2) {
  return R"({"tapedeck":"cassette","version":)" + std::to_string(version) +
         R"(,"created_at":"2026-11-21T08:32:33.123456Z","mounts":)" + mounts_json + "}\n";
}

TEST(MountsTest, ABadMountsValueIsAnErrorNamingTheFileAndLine1) {
  const std::string rule =
      " is not a valid mount name (1-64 characters of a-z, 0-9, '_' and '-', starting with a "
      "letter or digit)";
  const std::string not_array =
      R"("mounts" must be an array of mount names, like ["anthropic","openai"])";
  struct Case {
    std::string mounts_json;
    std::string message;  // after "cassette bad.jsonl: line 1: "
  };
  const Case cases[] = {
      {R"("anthropic")", not_array},
      {R"({"anthropic":"https://api.anthropic.com"})", not_array},
      {"null", not_array},
      {R"(["anthropic",7])", "mounts[1]: expected a string (a mount name), not number"},
      {R"([["anthropic"]])", "mounts[0]: expected a string (a mount name), not array"},
      {R"(["openai","anthropic","openai"])",
       R"(mounts[2]: "openai" is listed twice (also mounts[0]))"},
      {R"(["../x"])", R"(mounts[0]: "../x")" + rule},
      {R"(["anthropic","openAI"])", R"(mounts[1]: "openAI")" + rule},
      {R"(["Anthropic"])", R"(mounts[0]: "Anthropic")" + rule},
      {R"([""])", R"(mounts[0]: "")" + rule},
      {R"(["-x"])", R"(mounts[0]: "-x")" + rule},
      {R"(["_x"])", R"(mounts[0]: "_x")" + rule},
      {R"(["a/b"])", R"(mounts[0]: "a/b")" + rule},
      {R"(["a b"])", R"(mounts[0]: "a b")" + rule},
      {R"(["caf\u00e9"])", "mounts[0]: \"caf\xC3\xA9\"" + rule},
      {R"(["a\u0000"])", R"(mounts[0]: "a\u0000")" + rule},
      {"[\"" + std::string(65, 'a') + "\"]",
       "mounts[0]: a mount name is at most 64 characters; this one has 65"},
  };
  const std::string line =
      SerializeInteraction(InteractionBuilder().Path("/anthropic/v1/messages").Build()) + "\n";
  for (const Case& k : cases) {
    for (const bool compress : {false, true}) {
      const std::string text = HeaderWith(k.mounts_json) + line;
      Result<Cassette> c = ParseCassette(compress ? Zstd(text) : text, "bad.jsonl");
      ASSERT_FALSE(c.ok()) << k.mounts_json;
      EXPECT_EQ(c.status().code(), StatusCode::kParse);
      EXPECT_EQ(c.status().message(), "cassette bad.jsonl: line 1: " + k.message)
          << (compress ? "zstd" : "plain");
    }
  }
  // Version 1 had no "mounts": a version 1 header with one was not written by a tapedeck.
  Result<Cassette> c = ParseCassette(HeaderWith(R"(["anthropic"])", 1) + line, "v1.jsonl");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(),
            "cassette v1.jsonl: line 1: \"mounts\" needs version 2 or later (this header says "
            "version 1)");
}

TEST(MountsTest, TheLongestNamesAndAnEmptyListLoad) {
  const std::string longest(64, 'z');
  const std::string line = SerializeInteraction(InteractionBuilder().Build()) + "\n";
  Result<Cassette> c =
      ParseCassette(HeaderWith("[\"" + longest + "\",\"0-a_b\",\"x\"]") + line, "ok.jsonl");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->mounts, (std::vector<std::string>{longest, "0-a_b", "x"}));
  // [] is no mounts; tapedeck writes it by leaving the key out.
  c = ParseCassette(HeaderWith("[]") + line, "empty.jsonl");
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_TRUE(c->mounts.empty());
  EXPECT_EQ(SerializeCassette(*c).substr(0, SerializeCassette(*c).find('\n')),
            R"({"tapedeck":"cassette","version":3,"created_at":"2026-11-21T08:32:33.123456Z"})");
}

}  // namespace
}  // namespace td::cassette
