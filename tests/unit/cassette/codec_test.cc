// Tests for the cassette codec: text and zstd round trips, the writer's crash safety (every
// flushed interaction survives a cut at any byte), appends to plain, compressed and cut files,
// and clear errors (file and line) for everything that is not a cassette.
#include "cassette/codec.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "cassette/cassette_writer.h"
#include "cassette/internal/codec_internal.h"
#include "cassette/internal/zstd_stream.h"
#include "cassette/json_mapping.h"
#include "tests/support/fixtures.h"
#include "tests/support/interaction_builder.h"

namespace td::cassette {
namespace {

namespace fs = std::filesystem;
using testing::InteractionBuilder;

void WriteBytes(const fs::path& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// Deterministic text that zstd cannot shrink much (so a line spans several zstd blocks).
std::string NoisyText(size_t n, std::uint32_t seed) {
  static constexpr char kChars[] =
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ";
  std::string out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    seed = seed * 1664525u + 1013904223u;
    out += kChars[(seed >> 24) % (sizeof kChars - 1)];
  }
  return out;
}

// The whole cassette text compressed at once, as `zstd -f t.jsonl -o t.jsonl.zst` does after a
// hand edit: one frame, one block.
std::string OneBlockZstd(const std::string& text) {
  Result<internal::ZstdCCtxPtr> cctx = internal::MakeCompressor(3, "test");
  EXPECT_TRUE(cctx.ok());
  std::string out;
  EXPECT_TRUE(internal::CompressInto(cctx->get(), text, ZSTD_e_end, &out, "test").ok());
  return out;
}

// A cassette that uses every form the format has.
Cassette RichCassette() {
  Cassette c;
  c.created_at_us = 1795249953123456;
  c.interactions.push_back(
      InteractionBuilder()
          .Seq(0)
          .Target("/v1/messages?beta=true")
          .RequestHeader("anthropic-version", "2023-06-01")
          .RequestHeader("x-api-key", "[redacted]")
          .RequestJson({{"model", "claude-x"}, {"max_tokens", 64}, {"stream", true}})
          .SseEvent("event: message_start\ndata: {\"type\":\"message_start\"}\n\n", 1500,
                    {{10, 1200}})
          .SseEvent("event: ping\r\ndata: {\"type\": \"ping\"}\r\n\r\n", 1600)
          .SseEvent("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n", 2400)
          .Build());
  c.interactions.push_back(InteractionBuilder()
                               .Seq(1)
                               .Path("/v1/chat/completions")
                               .RequestBody(R"({"model": "gpt-x", "n": 1.50})")
                               .ResponseJson({{"object", "chat.completion"}}, /*pretty=*/true)
                               .Timing(800, 900)
                               .Build());
  c.interactions.push_back(InteractionBuilder()
                               .Seq(2)
                               .Method("PUT")
                               .Path("/upload")
                               .RequestBody(std::string("\x89PNG\r\n\x1A\n\0\xFF", 10))
                               .ResponseStatus(500)
                               .ResponseBody(std::string("\xFF\xFE binary", 9))
                               .Build());
  c.interactions.push_back(InteractionBuilder()
                               .Seq(3)
                               .Chunk("{\"a\":1}\n", 5)
                               .Chunk(std::string("\xC3", 1), 7)
                               .Truncated("upstream reset")
                               .Build());
  return c;
}

// The cassette as a reader sees it: non-exact request JSON becomes its compact spelling.
Cassette AsRead(Cassette c) {
  for (Interaction& i : c.interactions) {
    Result<Interaction> back = InteractionFromJson(InteractionToJson(i));
    EXPECT_TRUE(back.ok());
    i = *back;
  }
  return c;
}

class CodecTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "tapedeck-codec-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string PathOf(const std::string& name) const { return (dir_ / name).string(); }

  // Writes `interactions` with a writer and closes it.
  void Record(const std::string& path, CassetteWriter::OpenMode mode, bool compress,
              const std::vector<Interaction>& interactions) {
    WriteOptions options;
    options.compress = compress;
    Result<std::unique_ptr<CassetteWriter>> writer = CassetteWriter::Open(path, mode, options);
    ASSERT_TRUE(writer.ok()) << writer.status().message();
    for (const Interaction& i : interactions) {
      ASSERT_TRUE((*writer)->Append(i).ok());
    }
    EXPECT_EQ((*writer)->appended(), interactions.size());
    ASSERT_TRUE((*writer)->Close().ok());
  }

  fs::path dir_;
};

TEST_F(CodecTest, SerializeAndParseRoundTripARichCassette) {
  const Cassette c = RichCassette();
  const std::string text = SerializeCassette(c);
  EXPECT_EQ(
      text.rfind(R"({"tapedeck":"cassette","version":3,"created_at":"2026-11-21T08:32:33.123456Z"})"
                 "\n",
                 0),
      0u);
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 5);
  ReadReport report;
  Result<Cassette> back = ParseCassette(text, "rich.jsonl", &report);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(*back, AsRead(c));
  EXPECT_TRUE(report.warnings.empty());
  // Canonical: writing what was read gives the same text.
  EXPECT_EQ(SerializeCassette(*back), text);
}

class WriterFormTest : public CodecTest, public ::testing::WithParamInterface<bool> {};

TEST_P(WriterFormTest, WriterRoundTrip) {
  const bool compress = GetParam();
  const std::string path = PathOf(compress ? "t.jsonl.zst" : "t.jsonl");
  const Cassette c = RichCassette();
  Record(path, CassetteWriter::OpenMode::kTruncate, compress, c.interactions);

  const std::string bytes = testing::ReadFile(path);
  EXPECT_EQ(internal::HasZstdMagic(bytes), compress);
  if (!compress) {
    EXPECT_EQ(bytes.rfind("{\"tapedeck\":\"cassette\",\"version\":3,", 0), 0u);
  }

  ReadReport report;
  Result<Cassette> back = ReadCassette(path, &report);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->interactions, AsRead(c).interactions);
  EXPECT_EQ(back->version, kCassetteVersion);
  EXPECT_GT(back->created_at_us, 0);
  EXPECT_TRUE(report.warnings.empty()) << report.warnings.front();
}

TEST_P(WriterFormTest, EachAppendIsReadableBeforeClose) {
  const bool compress = GetParam();
  const std::string path = PathOf("live");
  WriteOptions options;
  options.compress = compress;
  auto writer = CassetteWriter::Open(path, CassetteWriter::OpenMode::kTruncate, options);
  ASSERT_TRUE(writer.ok());
  const Cassette c = AsRead(RichCassette());
  for (size_t n = 1; n <= c.interactions.size(); ++n) {
    ASSERT_TRUE((*writer)->Append(c.interactions[n - 1]).ok());
    // What a kill -9 right now would leave: already in the OS, no Close needed.
    ReadReport report;
    Result<Cassette> now = ReadCassette(path, &report);
    ASSERT_TRUE(now.ok()) << now.status().message();
    EXPECT_EQ(now->interactions.size(), n);
    EXPECT_EQ(now->interactions.back(), c.interactions[n - 1]);
    EXPECT_EQ(report.warnings.size(), compress ? 1u : 0u);  // the frame has no end yet
  }
  ASSERT_TRUE((*writer)->Close().ok());
  ASSERT_TRUE((*writer)->Close().ok());  // twice is fine
  EXPECT_FALSE((*writer)->Append(c.interactions[0]).ok());
}

TEST_P(WriterFormTest, AppendAddsToAnExistingCassette) {
  const bool compress = GetParam();
  const std::string path = PathOf("append");
  const Cassette c = AsRead(RichCassette());
  const std::vector<Interaction> first(c.interactions.begin(), c.interactions.begin() + 2);
  const std::vector<Interaction> second(c.interactions.begin() + 2, c.interactions.end());
  Record(path, CassetteWriter::OpenMode::kTruncate, compress, first);
  const size_t first_size = fs::file_size(path);
  // The options say the opposite form: the file's own form wins.
  Record(path, CassetteWriter::OpenMode::kAppend, !compress, second);

  const std::string bytes = testing::ReadFile(path);
  if (compress) {
    // The appended session is a second zstd frame right after the first, complete one.
    EXPECT_TRUE(internal::HasZstdMagic(std::string_view(bytes).substr(first_size)));
    Result<internal::Decompressed> first_frame = internal::DecompressAll(
        std::string_view(bytes).substr(0, first_size), "first", internal::kMaxCassetteBytes);
    ASSERT_TRUE(first_frame.ok());
    EXPECT_TRUE(first_frame->complete);
  } else {
    EXPECT_EQ(std::count(bytes.begin(), bytes.end(), '\n'), 5);
    EXPECT_FALSE(internal::HasZstdMagic(bytes));
  }
  ReadReport report;
  Result<Cassette> back = ReadCassette(path, &report);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->interactions, c.interactions);
  EXPECT_TRUE(report.warnings.empty());
}

TEST_P(WriterFormTest, AppendToAMissingOrEmptyFileStartsACassette) {
  const bool compress = GetParam();
  const Cassette c = AsRead(RichCassette());
  for (const bool empty_file : {false, true}) {
    const std::string path = PathOf(empty_file ? "empty" : "missing");
    if (empty_file) WriteBytes(path, "");
    Record(path, CassetteWriter::OpenMode::kAppend, compress, {c.interactions[0]});
    EXPECT_EQ(internal::HasZstdMagic(testing::ReadFile(path)), compress);
    Result<Cassette> back = ReadCassette(path);
    ASSERT_TRUE(back.ok()) << back.status().message();
    EXPECT_EQ(back->interactions, std::vector<Interaction>{c.interactions[0]});
  }
}

TEST_P(WriterFormTest, AppendRecoversACutFile) {
  const bool compress = GetParam();
  const std::string path = PathOf("cut");
  Cassette c = AsRead(RichCassette());
  std::string killed;  // the file as a kill -9 after the 3rd Append leaves it
  {
    WriteOptions options;
    options.compress = compress;
    auto writer = CassetteWriter::Open(path, CassetteWriter::OpenMode::kTruncate, options);
    ASSERT_TRUE(writer.ok());
    for (size_t i = 0; i < 3; ++i) ASSERT_TRUE((*writer)->Append(c.interactions[i]).ok());
    const size_t after_three = fs::file_size(path);
    ASSERT_TRUE((*writer)->Append(c.interactions[3]).ok());
    const std::string full = testing::ReadFile(path);
    // Cut inside the 4th line's bytes, as if the process died in the middle of its write().
    killed = full.substr(0, after_three + (full.size() - after_three) / 2);
  }
  WriteBytes(path, killed);

  Record(path, CassetteWriter::OpenMode::kAppend, compress, {c.interactions[3]});
  ReadReport report;
  Result<Cassette> back = ReadCassette(path, &report);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->interactions, c.interactions);
  EXPECT_TRUE(report.warnings.empty()) << report.warnings.front();
  EXPECT_FALSE(fs::exists(path + ".tmp." + std::to_string(::getpid())));
}

INSTANTIATE_TEST_SUITE_P(Forms, WriterFormTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& param_info) {
                           return param_info.param ? std::string("Zstd") : std::string("Plain");
                         });

TEST_F(CodecTest, CutZstdFileKeepsEveryCompleteInteractionAtEveryOffset) {
  const std::string path = PathOf("cut.zst");
  Cassette c = AsRead(RichCassette());
  // A 300 KB line spans several zstd blocks, so some cuts land inside a line.
  c.interactions.insert(c.interactions.begin() + 3,
                        InteractionBuilder().Seq(9).ResponseBody(NoisyText(300000, 7)).Build());
  std::vector<size_t> sizes;  // file size after the header and after each Append
  {
    WriteOptions options;
    auto writer = CassetteWriter::Open(path, CassetteWriter::OpenMode::kTruncate, options);
    ASSERT_TRUE(writer.ok());
    sizes.push_back(fs::file_size(path));
    for (const Interaction& i : c.interactions) {
      ASSERT_TRUE((*writer)->Append(i).ok());
      sizes.push_back(fs::file_size(path));
    }
    ASSERT_TRUE((*writer)->Close().ok());
  }
  const std::string full = testing::ReadFile(path);
  ASSERT_GT(full.size(), sizes.back());  // Close() added the frame end

  bool saw_incomplete_line = false;
  bool saw_early_frame_end = false;
  size_t checked = 0;
  for (size_t cut = sizes[3]; cut < full.size(); ++cut) {
    // Every byte near a flush boundary or the end; every 251st byte elsewhere.
    bool near_edge = cut + 64 > full.size();
    for (size_t k = 3; k < sizes.size(); ++k) {
      near_edge = near_edge || (cut + 64 > sizes[k] && cut < sizes[k] + 64);
    }
    if (!near_edge && cut % 251 != 0) continue;
    size_t complete = 0;  // interactions whose flush ended at or before the cut
    while (complete + 1 < sizes.size() && sizes[complete + 1] <= cut) ++complete;
    ReadReport report;
    Result<Cassette> back =
        ParseCassette(std::string_view(full).substr(0, cut), "cut.zst", &report);
    ASSERT_TRUE(back.ok()) << "cut at " << cut << ": " << back.status().message();
    ASSERT_EQ(back->interactions.size(), complete) << "cut at " << cut;
    EXPECT_TRUE(
        std::equal(back->interactions.begin(), back->interactions.end(), c.interactions.begin()));
    ASSERT_EQ(report.warnings.size(), 1u) << "cut at " << cut;
    const std::string& warning = report.warnings[0];
    EXPECT_EQ(warning.rfind("cassette cut.zst: ", 0), 0u) << warning;
    saw_incomplete_line = saw_incomplete_line || warning.find("is incomplete") != std::string::npos;
    saw_early_frame_end = saw_early_frame_end || warning.find("ends early") != std::string::npos;
    ++checked;
  }
  EXPECT_GT(checked, 500u);
  EXPECT_TRUE(saw_incomplete_line);
  EXPECT_TRUE(saw_early_frame_end);
}

TEST_F(CodecTest, CutPlainFileDropsTheIncompleteLastLine) {
  const Cassette c = AsRead(RichCassette());
  const std::string text = SerializeCassette(c);
  const size_t last_line = text.rfind('\n', text.size() - 2) + 1;
  ReadReport report;
  Result<Cassette> back =
      ParseCassette(std::string_view(text).substr(0, last_line + 20), "t.jsonl", &report);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->interactions.size(), 3u);
  ASSERT_EQ(report.warnings.size(), 1u);
  EXPECT_EQ(report.warnings[0],
            "cassette t.jsonl: line 5 is incomplete (the recording was cut); kept the 3 "
            "interactions before it");
}

TEST_F(CodecTest, HandEditsCrlfBlankLinesNotesAndNoFinalNewlineAreAccepted) {
  const std::string path = PathOf("hand.jsonl");
  WriteBytes(path,
             "{\"tapedeck\":\"cassette\",\"version\":1,\"x-author\":\"me\"}\r\n"
             "\r\n"
             "{\"seq\":0,\"_note\":\"edited\",\"request\":{\"method\":\"GET\",\"path\":\"/a\"},"
             "\"response\":{\"status\":200,\"body\":{\"text\":\"hello\"}}}\r\n"
             "{\"seq\":1,\"request\":{\"method\":\"GET\",\"path\":\"/b\"},"
             "\"response\":{\"status\":204}}");
  ReadReport report;
  Result<Cassette> back = ReadCassette(path, &report);
  ASSERT_TRUE(back.ok()) << back.status().message();
  ASSERT_EQ(back->interactions.size(), 2u);
  EXPECT_EQ(back->interactions[0].response.body.bytes, "hello");
  EXPECT_TRUE(report.warnings.empty());

  // Appending after a last line without '\n' starts a new line.
  Record(path, CassetteWriter::OpenMode::kAppend, true,
         {InteractionBuilder().Seq(2).Path("/c").Build()});
  back = ReadCassette(path);
  ASSERT_TRUE(back.ok()) << back.status().message();
  ASSERT_EQ(back->interactions.size(), 3u);
  EXPECT_EQ(back->interactions[2].request.path, "/c");
}

struct BadInput {
  const char* name;
  std::string bytes;
  const char* message;
};

TEST_F(CodecTest, BadInputGivesAClearErrorNamingFileAndLine) {
  const std::string header = R"({"tapedeck":"cassette","version":1})"
                             "\n";
  const std::string good =
      R"({"seq":0,"request":{"method":"GET","path":"/"},"response":{"status":200}})"
      "\n";
  const BadInput cases[] = {
      {"garbage.bin", std::string("\x00\x01\x02garbage\xFF\n", 12),
       "cassette garbage.bin: not a tapedeck cassette (first line is not a tapedeck header)"},
      {"empty.jsonl", "", "cassette empty.jsonl: empty file (not a tapedeck cassette)"},
      {"blank.jsonl", "\n \n", "cassette blank.jsonl: empty file (not a tapedeck cassette)"},
      {"other.json", "{\"name\":\"package\",\"version\":1}\n",
       "cassette other.json: not a tapedeck cassette (first line is not a tapedeck header)"},
      {"new.jsonl", "{\"tapedeck\":\"cassette\",\"version\":7}\n" + good,
       "cassette new.jsonl: version 7 is newer than this tapedeck reads (3)"},
      {"old.jsonl", "{\"tapedeck\":\"cassette\",\"version\":0}\n",
       "cassette old.jsonl: line 1: unknown version 0"},
      {"nover.jsonl", "{\"tapedeck\":\"cassette\"}\n",
       "cassette nover.jsonl: line 1: missing \"version\""},
      {"mid.jsonl", header + good + "{\"seq\":1,\"request\":\n" + good,
       "cassette mid.jsonl: line 3: invalid JSON at column 20"},
      {"field.jsonl",
       header + good + "{\"seq\":1,\"request\":{\"method\":\"GET\",\"path\":\"/\"}}\n",
       "cassette field.jsonl: line 3: missing \"response\""},
      {"deep.jsonl", header + std::string(100000, '[') + "\n" + good,
       "cassette deep.jsonl: line 2: JSON nested deeper than 520 levels"},
      {"hdr.jsonl", "{\"tapedeck\":\"cassette\",\"version\":1,\"verison\":2}\n",
       "cassette hdr.jsonl: line 1: unknown header key \"verison\" (known: tapedeck, version, "
       "created_at, mounts, recorded_by; keys starting with \"x-\" or \"_\" are free for "
       "notes)"},
      {"by2.jsonl", "{\"tapedeck\":\"cassette\",\"version\":2,\"recorded_by\":{}}\n",
       "cassette by2.jsonl: line 1: \"recorded_by\" needs version 3 or later (this header says an "
       "older one)"},
      {"by.jsonl", "{\"tapedeck\":\"cassette\",\"version\":3,\"recorded_by\":[]}\n",
       "cassette by.jsonl: line 1: recorded_by: expected an object, not array"},
      {"bykey.jsonl",
       "{\"tapedeck\":\"cassette\",\"version\":3,\"recorded_by\":{\"workspace\":{\"pwd\":\"/"
       "\"}}}\n",
       "cassette bykey.jsonl: line 1: recorded_by: workspace: unknown key \"pwd\" (known: cwd, "
       "home, user, tmp)"},
      {"bytype.jsonl",
       "{\"tapedeck\":\"cassette\",\"version\":3,\"recorded_by\":{\"upstreams\":{\"a\":1}}}\n",
       "cassette bytype.jsonl: line 1: recorded_by: upstreams.a: expected a string, not number"},
  };
  for (const BadInput& bad : cases) {
    Result<Cassette> c = ParseCassette(bad.bytes, bad.name);
    ASSERT_FALSE(c.ok()) << bad.name;
    EXPECT_EQ(c.status().code(), StatusCode::kParse) << bad.name;
    EXPECT_EQ(c.status().message(), bad.message);
    // The same text compressed: zstd finds nothing wrong, so the line is blamed.
    c = ParseCassette(OneBlockZstd(bad.bytes), bad.name);
    ASSERT_FALSE(c.ok()) << bad.name;
    EXPECT_EQ(c.status().message(), bad.message);
  }
}

// Records `interactions` and returns the file size after the header and after each Append: the
// writer flushes after every line, so interaction k's zstd block starts at sizes[k].
std::vector<size_t> RecordWithSizes(const std::string& path,
                                    const std::vector<Interaction>& interactions) {
  std::vector<size_t> sizes;
  auto writer = CassetteWriter::Open(path, CassetteWriter::OpenMode::kTruncate, WriteOptions{});
  EXPECT_TRUE(writer.ok());
  if (!writer.ok()) return sizes;
  sizes.push_back(fs::file_size(path));
  for (const Interaction& i : interactions) {
    EXPECT_TRUE((*writer)->Append(i).ok());
    sizes.push_back(fs::file_size(path));
  }
  EXPECT_TRUE((*writer)->Close().ok());
  return sizes;
}

// Twenty noisy 2 KB interactions after the rich ones: each line is one zstd block.
Cassette NoisyCassette() {
  Cassette c = AsRead(RichCassette());
  for (int i = 0; i < 20; ++i) {
    c.interactions.push_back(
        InteractionBuilder().Seq(10 + i).ResponseBody(NoisyText(2000, i)).Build());
  }
  return c;
}

TEST_F(CodecTest, CorruptZstdInTheMiddleNamesTheBlocksByte) {
  const std::string path = PathOf("mid.zst");
  const Cassette c = NoisyCassette();
  const std::vector<size_t> sizes = RecordWithSizes(path, c.interactions);
  ASSERT_EQ(sizes.size(), c.interactions.size() + 1);
  const std::string good = testing::ReadFile(path);
  // Interaction 12's block starts where the file ended after interaction 11. A reserved block
  // type (3) in its header is refused there.
  const size_t block = sizes[11];
  std::string bytes = good;
  bytes[block] = static_cast<char>(static_cast<unsigned char>(bytes[block]) | 0x06);
  Result<Cassette> back = ParseCassette(bytes, "mid.zst");
  ASSERT_FALSE(back.ok());
  EXPECT_EQ(back.status().code(), StatusCode::kParse);
  EXPECT_EQ(
      back.status().message().rfind("cassette mid.zst: corrupt zstd data in the block at byte " +
                                        std::to_string(block) + ": ",
                                    0),
      0u)
      << back.status().message();

  // Bits flipped inside that block's content: zstd finds it in the block or, when the damage
  // still decodes, at the frame's checksum; never reported as the garbage JSON it decoded to.
  bytes = good;
  for (size_t k = 0; k < 16; ++k) bytes[(sizes[11] + sizes[12]) / 2 + k] ^= 0x5A;
  back = ParseCassette(bytes, "mid.zst");
  ASSERT_FALSE(back.ok());
  const std::string& message = back.status().message();
  const bool in_block = message.rfind("cassette mid.zst: corrupt zstd data in the block at byte " +
                                          std::to_string(block) + ": ",
                                      0) == 0;
  const bool in_checksum =
      message.rfind("cassette mid.zst: corrupt zstd data in the checksum at byte " +
                        std::to_string(good.size() - 4) + " of the frame at byte 0: ",
                    0) == 0;
  EXPECT_TRUE(in_block || in_checksum) << message;

  // A complete frame followed by junk: the junk's first byte is named.
  back = ParseCassette(good + "this is not zstd data", "junk.zst");
  ASSERT_FALSE(back.ok());
  EXPECT_EQ(back.status().message(), "cassette junk.zst: corrupt zstd data at byte " +
                                         std::to_string(good.size()) +
                                         " (no zstd frame starts there): Unknown frame descriptor");
}

TEST_F(CodecTest, ABitFlipInASingleBlockFileNamesTheBlockNotByteZero) {
  const std::string zst = OneBlockZstd(SerializeCassette(RichCassette()));
  // The frame header is magic (4), descriptor 0x64 (2-byte content size, single segment,
  // checksum) and the 2-byte size: the one block starts at byte 7 and its content at byte 10.
  ASSERT_EQ(static_cast<unsigned char>(zst[4]), 0x64);
  const unsigned block_header = static_cast<unsigned char>(zst[7]) |
                                (static_cast<unsigned char>(zst[8]) << 8) |
                                (static_cast<unsigned char>(zst[9]) << 16);
  ASSERT_EQ(block_header & 1u, 1u);                        // the last block, so the only one
  ASSERT_EQ(zst.size(), 7 + 3 + (block_header >> 3) + 4);  // header, block, checksum

  std::string flipped = zst;
  flipped[zst.size() / 2] ^= 0x10;
  Result<Cassette> back = ParseCassette(flipped, "flip.zst");
  ASSERT_FALSE(back.ok());
  // Wherever zstd notices (the block, or the checksum after it), it is named, not "byte 0".
  const std::string& message = back.status().message();
  const bool in_block =
      message.rfind("cassette flip.zst: corrupt zstd data in the block at byte 7: ", 0) == 0;
  const bool in_checksum =
      message.rfind("cassette flip.zst: corrupt zstd data in the checksum at byte " +
                        std::to_string(zst.size() - 4) + " of the frame at byte 0: ",
                    0) == 0;
  EXPECT_TRUE(in_block || in_checksum) << message;

  // A reserved block type is refused in the block itself.
  std::string bad_type = zst;
  bad_type[7] = static_cast<char>(static_cast<unsigned char>(bad_type[7]) | 0x06);  // type 3
  back = ParseCassette(bad_type, "type.zst");
  ASSERT_FALSE(back.ok());
  EXPECT_EQ(back.status().message().rfind(
                "cassette type.zst: corrupt zstd data in the block at byte 7: ", 0),
            0u)
      << back.status().message();
}

TEST_F(CodecTest, AHalfCutSingleBlockFileSaysWhereItWasCut) {
  const std::string zst = OneBlockZstd(SerializeCassette(RichCassette()));
  const size_t block_bytes = zst.size() - 7 - 4;  // its header and content
  const size_t cut = zst.size() / 2;
  Result<Cassette> back = ParseCassette(std::string_view(zst).substr(0, cut), "half.zst");
  ASSERT_FALSE(back.ok());
  EXPECT_EQ(back.status().code(), StatusCode::kParse);
  EXPECT_EQ(back.status().message(),
            "cassette half.zst: the file ends inside the block at byte 7 (" +
                std::to_string(cut - 7) + " of its " + std::to_string(block_bytes) +
                " bytes are there) before any line could be decoded (zstd decodes only whole "
                "blocks); not a readable cassette");
}

TEST_F(CodecTest, ACutAfterWholeBlocksSaysHowManyInteractionsCameBefore) {
  const std::string path = PathOf("cut.zst");
  const Cassette c = NoisyCassette();
  const std::vector<size_t> sizes = RecordWithSizes(path, c.interactions);
  const std::string full = testing::ReadFile(path);
  struct Case {
    size_t cut;
    std::string warning;
  };
  const size_t mid1 = (sizes[0] + sizes[1]) / 2;
  const size_t mid6 = (sizes[5] + sizes[6]) / 2;
  const Case cases[] = {
      {mid1, "the file ends inside the block at byte " + std::to_string(sizes[0]) + " (" +
                 std::to_string(mid1 - sizes[0]) + " of its " +
                 std::to_string(sizes[1] - sizes[0]) +
                 " bytes are there): the recording was cut after the header, with 0 complete "
                 "interactions; kept them"},
      {mid6, "the file ends inside the block at byte " + std::to_string(sizes[5]) + " (" +
                 std::to_string(mid6 - sizes[5]) + " of its " +
                 std::to_string(sizes[6] - sizes[5]) +
                 " bytes are there): the recording was cut after line 6, with 5 complete "
                 "interactions; kept them"},
      {sizes[5] + 1, "the file ends inside the block at byte " + std::to_string(sizes[5]) +
                         " (1 of its 3 header bytes are there): the recording was cut after "
                         "line 6, with 5 complete interactions; kept them"},
      {sizes[2],
       "the zstd frame ends early after line 3 (the recording was cut or is still "
       "being written); kept all 2 interactions"},
  };
  for (const Case& k : cases) {
    ReadReport report;
    Result<Cassette> back =
        ParseCassette(std::string_view(full).substr(0, k.cut), "cut.zst", &report);
    ASSERT_TRUE(back.ok()) << back.status().message();
    ASSERT_EQ(report.warnings.size(), 1u) << "cut at " << k.cut;
    EXPECT_EQ(report.warnings[0], "cassette cut.zst: " + k.warning);
  }
}

TEST_F(CodecTest, ALineOverTheCapIsAnErrorNamingTheLineAndTheCap) {
  const std::string header = R"({"tapedeck":"cassette","version":1})"
                             "\n";
  const std::string good =
      R"({"seq":0,"request":{"method":"GET","path":"/"},"response":{"status":200}})"
      "\n";
  const std::string text = header + "\n" + good + good + "{\"seq\":1," + std::string(500, ' ') +
                           "\"request\":{\"method\":\"GET\",\"path\":\"/\"},"
                           "\"response\":{\"status\":200}}\n" +
                           good;
  const size_t long_line = text.find("{\"seq\":1,");
  const size_t long_size = text.find('\n', long_line) - long_line;
  for (const bool compress : {false, true}) {
    const std::string bytes = compress ? OneBlockZstd(text) : text;
    const std::string name = compress ? "cap.zst" : "cap.jsonl";
    ReadOptions options;
    options.max_line_bytes = long_size - 1;
    Result<Cassette> c = ParseCassette(bytes, name, options);
    ASSERT_FALSE(c.ok());
    EXPECT_EQ(c.status().code(), StatusCode::kParse);
    EXPECT_EQ(c.status().message(), "cassette " + name + ": line 5 is longer than " +
                                        std::to_string(long_size - 1) +
                                        " bytes (--max-line-bytes); refusing to read it");
    options.max_line_bytes = long_size;  // a line of exactly the cap is read
    c = ParseCassette(bytes, name, options);
    ASSERT_TRUE(c.ok()) << c.status().message();
    EXPECT_EQ(c->interactions.size(), 4u);
  }
  // From a file too, and a cap in MiB reads as such.
  const std::string path = PathOf("cap.jsonl");
  WriteBytes(path, header + good + "{" + std::string((1 << 20) + 10, ' ') + "}\n");
  ReadOptions options;
  options.max_line_bytes = 1 << 20;
  Result<Cassette> c = ReadCassette(path, options);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(), "cassette " + path +
                                      ": line 3 is longer than 1 MiB (--max-line-bytes); "
                                      "refusing to read it");
}

TEST_F(CodecTest, AFirstLineOverOneMebibyteIsRefusedAsNotACassette) {
  // Bytes with no newline at all: refused after 1 MiB, not read through.
  const std::string path = PathOf("huge.bin");
  WriteBytes(path, std::string(3 << 20, 'x'));
  Result<Cassette> c = ReadCassette(path);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(), "cassette " + path +
                                      ": not a tapedeck cassette (first line is not a tapedeck "
                                      "header)");
  auto writer = CassetteWriter::Open(path, CassetteWriter::OpenMode::kTruncate, WriteOptions{});
  ASSERT_FALSE(writer.ok());
  EXPECT_EQ(fs::file_size(path), size_t{3} << 20);

  // The header line itself is held to 1 MiB, whatever max_line_bytes says.
  const std::string note(1 << 20, 'n');
  const std::string header = R"({"tapedeck":"cassette","version":1,"x-note":")";
  const std::string end = "\"}\n";
  c = ParseCassette(header + note.substr(0, note.size() - header.size() - 2) + end, "ok.jsonl");
  EXPECT_TRUE(c.ok()) << c.status().message();
  c = ParseCassette(header + note + end, "long-header.jsonl");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(),
            "cassette long-header.jsonl: not a tapedeck cassette (first line is not a tapedeck "
            "header)");
}

TEST_F(CodecTest, DecompressedSizeIsCapped) {
  const std::string path = PathOf("big.zst");
  Record(path, CassetteWriter::OpenMode::kTruncate, true,
         {InteractionBuilder().ResponseBody(std::string(100000, 'a')).Build()});
  Result<internal::Decompressed> d =
      internal::DecompressAll(testing::ReadFile(path), "big.zst", 4096);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().message(),
            "cassette big.zst: decompresses to more than 4096 bytes; refusing to read it");
}

TEST_F(CodecTest, ReadingAMissingFileIsAnIoErrorNamingIt) {
  const std::string path = PathOf("nope.zst");
  Result<Cassette> c = ReadCassette(path);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kIo);
  EXPECT_EQ(c.status().message(), "cassette " + path + ": cannot open: No such file or directory");
}

TEST_F(CodecTest, OpeningAnUnwritablePathIsAnIoErrorNamingIt) {
  const std::string path = PathOf("no/such/dir/t.zst");
  for (const auto mode : {CassetteWriter::OpenMode::kTruncate, CassetteWriter::OpenMode::kAppend}) {
    auto writer = CassetteWriter::Open(path, mode, WriteOptions{});
    ASSERT_FALSE(writer.ok());
    EXPECT_EQ(writer.status().code(), StatusCode::kIo);
    EXPECT_NE(writer.status().message().find(path), std::string::npos);
  }
  // A device that is always full: the header write fails, and says why.
  auto full =
      CassetteWriter::Open("/dev/full", CassetteWriter::OpenMode::kTruncate, WriteOptions{});
  if (fs::exists("/dev/full")) {
    ASSERT_FALSE(full.ok());
    EXPECT_EQ(full.status().code(), StatusCode::kIo);
    EXPECT_EQ(full.status().message(), "cassette /dev/full: write: No space left on device");
  }
  Status st = WriteCassetteAtomic(path, RichCassette(), WriteOptions{});
  EXPECT_EQ(st.code(), StatusCode::kIo);
  EXPECT_NE(st.message().find(path), std::string::npos);
}

TEST_F(CodecTest, WriterNeverOverwritesAFileThatIsNotACassette) {
  const std::string path = PathOf("notes.txt");
  const std::string precious = "my notes\nline two\n";
  for (const auto mode : {CassetteWriter::OpenMode::kTruncate, CassetteWriter::OpenMode::kAppend}) {
    WriteBytes(path, precious);
    auto writer = CassetteWriter::Open(path, mode, WriteOptions{});
    ASSERT_FALSE(writer.ok());
    EXPECT_EQ(writer.status().code(), StatusCode::kParse);
    EXPECT_NE(writer.status().message().find("not a tapedeck cassette"), std::string::npos)
        << writer.status().message();
    EXPECT_EQ(testing::ReadFile(path), precious);
  }
}

TEST_F(CodecTest, TruncateReplacesAnExistingCassette) {
  const std::string path = PathOf("t.zst");
  const Cassette c = AsRead(RichCassette());
  Record(path, CassetteWriter::OpenMode::kTruncate, true, c.interactions);
  Record(path, CassetteWriter::OpenMode::kTruncate, true, {c.interactions[1]});
  Result<Cassette> back = ReadCassette(path);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->interactions, std::vector<Interaction>{c.interactions[1]});
}

TEST_F(CodecTest, WriteCassetteAtomicReplacesTheFileAndLeavesNoTempFile) {
  const Cassette c = AsRead(RichCassette());
  for (const bool compress : {true, false}) {
    const std::string path = PathOf(compress ? "atomic.zst" : "atomic.jsonl");
    WriteBytes(path, "old content");
    WriteOptions options;
    options.compress = compress;
    ASSERT_TRUE(WriteCassetteAtomic(path, c, options).ok());
    Result<Cassette> back = ReadCassette(path);
    ASSERT_TRUE(back.ok()) << back.status().message();
    EXPECT_EQ(*back, c);
    EXPECT_EQ(internal::HasZstdMagic(testing::ReadFile(path)), compress);
  }
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir_)) names.push_back(entry.path().filename());
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"atomic.jsonl", "atomic.zst"}));
}

TEST_F(CodecTest, LevelOutOfRangeIsAnInvalidArgument) {
  WriteOptions options;
  options.level = 99;
  auto writer = CassetteWriter::Open(PathOf("l.zst"), CassetteWriter::OpenMode::kTruncate, options);
  ASSERT_FALSE(writer.ok());
  EXPECT_EQ(writer.status().code(), StatusCode::kInvalidArgument);
}

TEST_F(CodecTest, MigrationHookKeepsCurrentVersionLinesUnchanged) {
  Json line = InteractionToJson(RichCassette().interactions[0]);
  const Json before = line;
  ASSERT_TRUE(internal::MigrateLine(kCassetteVersion, &line, /*is_header=*/false).ok());
  EXPECT_EQ(line, before);
  EXPECT_EQ(internal::kMigrationSteps.size(),
            static_cast<size_t>(kCassetteVersion - internal::kOldestCassetteVersion));
}

TEST_F(CodecTest, InteractionLinesNeedNoMigrationWhereTheFastPathReadsThem) {
  // The reader's fast path reads interaction lines of these versions as they are: no step may
  // change one (a step that does must raise kOldestVersionOfCurrentInteractionLines).
  for (const Interaction& i : RichCassette().interactions) {
    const Json before = InteractionToJson(i);
    for (int v = internal::kOldestVersionOfCurrentInteractionLines; v <= kCassetteVersion; ++v) {
      Json line = before;
      ASSERT_TRUE(internal::MigrateLine(v, &line, /*is_header=*/false).ok()) << v;
      EXPECT_EQ(line, before) << v;
    }
  }
}

TEST_F(CodecTest, StreamCassetteHandsOverWhatReadCassetteReads) {
  Cassette c = AsRead(RichCassette());
  c.mounts = {"anthropic"};
  const std::string path = PathOf("stream.jsonl.zst");
  ASSERT_TRUE(WriteCassetteAtomic(path, c, WriteOptions{}).ok());
  std::vector<std::string> calls;
  Cassette streamed;
  CassetteVisitor visitor;
  visitor.header = [&](Cassette&& header) {
    calls.push_back("header");
    EXPECT_TRUE(header.interactions.empty());
    streamed = std::move(header);
    return Status::Ok();
  };
  visitor.interaction = [&](Interaction&& i) {
    calls.push_back("interaction");
    streamed.interactions.push_back(std::move(i));
    return Status::Ok();
  };
  ASSERT_TRUE(StreamCassette(path, ReadOptions{}, nullptr, visitor).ok());
  Result<Cassette> read = ReadCassette(path);
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(streamed, *read);
  EXPECT_EQ(streamed, c);
  ASSERT_EQ(calls.size(), c.interactions.size() + 1);
  EXPECT_EQ(calls.front(), "header");

  // A callback's error stops the read and comes back as it is.
  int seen = 0;
  visitor.interaction = [&](Interaction&&) {
    return ++seen == 2 ? InvalidArgumentError("enough") : Status::Ok();
  };
  Status stopped = StreamCassette(path, ReadOptions{}, nullptr, visitor);
  EXPECT_EQ(stopped.message(), "enough");
  EXPECT_EQ(seen, 2);
}

// `text` compressed as the writer compresses: one frame, flushed after every line.
std::string FlushedZstd(std::string_view text) {
  Result<internal::ZstdCCtxPtr> cctx = internal::MakeCompressor(6, "test");
  EXPECT_TRUE(cctx.ok());
  std::string out;
  while (!text.empty()) {
    const size_t end = text.find('\n') + 1;
    EXPECT_TRUE(
        internal::CompressInto(cctx->get(), text.substr(0, end), ZSTD_e_flush, &out, "test").ok());
    text.remove_prefix(end);
  }
  EXPECT_TRUE(internal::CompressInto(cctx->get(), {}, ZSTD_e_end, &out, "test").ok());
  return out;
}

TEST_F(CodecTest, ABadLineFarIntoABigCassetteIsNamedWithItsLine) {
  // 3,000 streamed interactions that all take the reader's fast path, and one bad line near
  // the end: whatever is wrong with it, the error names the file and that line, and a streaming
  // read has handed over exactly the interactions before it.
  Cassette c;
  c.created_at_us = 1795249953123456;
  for (int i = 0; i < 3000; ++i) {
    c.interactions.push_back(InteractionBuilder()
                                 .Seq(i)
                                 .RequestJson({{"model", "claude-x"}, {"n", i}})
                                 .SseEvent("event: ping\ndata: {}\n\n", 100, {{3, 50}})
                                 .SseEvent("event: done\ndata: {}\n\n", 200)
                                 .Build());
  }
  const std::string text = SerializeCassette(c);
  const size_t bad_line = 2901;  // the header is line 1
  size_t start = 0;
  for (size_t line = 1; line < bad_line; ++line) start = text.find('\n', start) + 1;
  const size_t end = text.find('\n', start);
  const std::string original = text.substr(start, end - start);
  struct Case {
    std::string line;
    std::string message;
  };
  const std::string path = PathOf("big.jsonl.zst");
  const std::string at = "cassette " + path + ": line 2901: ";
  const Case cases[] = {
      {original.substr(0, 100), at + "invalid JSON at column 101"},
      {std::string(original).replace(original.find("\"response\""), 10, "\"respons_\""),
       at + "unknown key \"respons_\" (known: seq, recorded_at, request, response, timing, "
            "truncated; keys starting with \"x-\" or \"_\" are free for notes)"},
      {std::string(original).replace(original.find("[[3,50]]"), 8, "[[30,50]]"),
       ""},  // a split past its event: a note, not an error (checked below)
      {std::string(original).replace(original.find("[[3,50]]"), 8, "[[0,50]]"),
       at + "response.stream.events[0].splits[0]: end offset 0: a split ends after its first "
            "byte"},
      {std::string(original).replace(original.find("\"status\":200"), 12, "\"status\":2000"),
       at + "response.status: expected a status code 0..999"},
  };
  for (const Case& bad : cases) {
    const std::string edited = text.substr(0, start) + bad.line + text.substr(end);
    WriteBytes(path, FlushedZstd(edited));
    ReadReport report;
    Result<Cassette> read = ReadCassette(path, &report);
    size_t handed_over = 0;
    CassetteVisitor visitor;
    visitor.interaction = [&](Interaction&&) {
      ++handed_over;
      return Status::Ok();
    };
    Status streamed = StreamCassette(path, ReadOptions{}, nullptr, visitor);
    if (bad.message.empty()) {
      ASSERT_TRUE(read.ok()) << read.status().message();
      ASSERT_EQ(report.notes.size(), 1u);
      EXPECT_EQ(report.notes[0].rfind(at + "response.stream.events[0].splits[0]: end offset 30 "
                                           "is past the event's 22 bytes",
                                      0),
                0u)
          << report.notes[0];
      EXPECT_TRUE(streamed.ok());
      EXPECT_EQ(handed_over, c.interactions.size());
      continue;
    }
    ASSERT_FALSE(read.ok()) << bad.line;
    EXPECT_EQ(read.status().code(), StatusCode::kParse);
    EXPECT_EQ(read.status().message(), bad.message);
    EXPECT_EQ(streamed.message(), bad.message);
    EXPECT_EQ(handed_over, bad_line - 2);
  }
}

// True when `tool` runs (it is on PATH).
bool HaveTool(const std::string& tool) {
  return std::system(("command -v " + tool + " >/dev/null 2>&1").c_str()) == 0;
}

TEST_F(CodecTest, ZstdAndJqCommandLineToolsReadAWrittenCassette) {
  if (!HaveTool("zstd") || !HaveTool("jq")) GTEST_SKIP() << "zstd or jq is not installed";
  const std::string path = PathOf("cli.jsonl.zst");
  const Cassette c = AsRead(RichCassette());
  Record(path, CassetteWriter::OpenMode::kTruncate, true, c.interactions);

  const std::string command = "zstd -dc '" + path + "' | jq -c '.seq // .tapedeck' 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, pipe)) > 0) output.append(buf, n);
  const int status = ::pclose(pipe);
  EXPECT_EQ(status, 0) << output;
  EXPECT_EQ(output, "\"cassette\"\n0\n1\n2\n3\n");
}

}  // namespace
}  // namespace td::cassette
