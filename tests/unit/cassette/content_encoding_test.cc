// The Content-Encoding decoder: every coding round trips (encoded here with zlib, brotli and
// zstd), lists are undone in reverse, bad input fails naming the coding and the byte, bombs stop
// at the limits with bounded memory, and the encoded-body scan finds a key inside.
#include "cassette/content_encoding.h"

#include <brotli/encode.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <zlib.h>
#include <zstd.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "tests/support/compress.h"
#include "tests/support/fake_secrets.h"

namespace td::cassette {
namespace {

using testing::FakeAnthropicKey;
using testing::Gzip;
using testing::RawDeflate;
using testing::ZlibDeflate;

constexpr std::string_view kJson =
    R"({"model":"claude-sonnet-4-5","max_tokens":256,"messages":[{"role":"user",)"
    R"("content":"Say hello, then say hello again, then once more for luck."}]})";

std::string Brotli(std::string_view data) {
  size_t size = BrotliEncoderMaxCompressedSize(data.size());
  std::string out(size, '\0');
  bool ok = BrotliEncoderCompress(
      BROTLI_DEFAULT_QUALITY, BROTLI_DEFAULT_WINDOW, BROTLI_MODE_GENERIC, data.size(),
      reinterpret_cast<const uint8_t*>(data.data()), &size, reinterpret_cast<uint8_t*>(out.data()));
  EXPECT_TRUE(ok);
  out.resize(size);
  return out;
}

std::string Zstd(std::string_view data) {
  std::string out(ZSTD_compressBound(data.size()), '\0');
  size_t n = ZSTD_compress(out.data(), out.size(), data.data(), data.size(), 3);
  EXPECT_FALSE(ZSTD_isError(n));
  out.resize(n);
  return out;
}

// Runs one zstd stream call to completion; `end` finishes the frame.
void ZstdStream(ZSTD_CCtx* cctx, std::string_view in, bool end, std::string* out) {
  ZSTD_inBuffer zin{in.data(), in.size(), 0};
  std::string step(ZSTD_CStreamOutSize(), '\0');
  while (true) {
    ZSTD_outBuffer zout{step.data(), step.size(), 0};
    size_t left = ZSTD_compressStream2(cctx, &zout, &zin, end ? ZSTD_e_end : ZSTD_e_continue);
    ASSERT_FALSE(ZSTD_isError(left)) << ZSTD_getErrorName(left);
    out->append(step.data(), zout.pos);
    if (end ? left == 0 : zin.pos == zin.size) return;
  }
}

// `mib` MiB of zero bytes as one zstd frame, streamed: the zeros are never held whole.
std::string ZstdZeros(size_t mib, int window_log = 0) {
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  if (window_log > 0) ZSTD_CCtx_setParameter(cctx, ZSTD_c_windowLog, window_log);
  const std::string zeros(size_t{1} << 20, '\0');
  std::string out;
  for (size_t i = 0; i < mib; ++i) ZstdStream(cctx, zeros, false, &out);
  ZstdStream(cctx, "", true, &out);
  ZSTD_freeCCtx(cctx);
  return out;
}

// Runs one deflate call to completion with `flush`.
std::string DeflateStep(z_stream* zs, std::string_view in, int flush) {
  zs->next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs->avail_in = static_cast<uInt>(in.size());
  std::string out;
  char step[16384];
  int ret = Z_OK;
  do {
    zs->next_out = reinterpret_cast<Bytef*>(step);
    zs->avail_out = sizeof(step);
    ret = deflate(zs, flush);
    EXPECT_NE(ret, Z_STREAM_ERROR);
    out.append(step, sizeof(step) - zs->avail_out);
  } while (zs->avail_out == 0 || (flush == Z_FINISH && ret != Z_STREAM_END));
  return out;
}

// A valid gzip member of `mib` MiB of zeros at about 1 KiB per MiB, built in milliseconds: a
// full flush resets the compressor, so every further MiB compresses to the same bytes, which
// are repeated; the trailer's CRC-32 and size are then computed for the whole length.
std::string GzipZeros(size_t mib) {
  z_stream zs{};
  EXPECT_EQ(deflateInit2(&zs, 9, Z_DEFLATED, MAX_WBITS + 16, 9, Z_DEFAULT_STRATEGY), Z_OK);
  const std::string zeros(size_t{1} << 20, '\0');
  std::string out = DeflateStep(&zs, zeros, Z_FULL_FLUSH);  // header + the first MiB
  const std::string unit = DeflateStep(&zs, zeros, Z_FULL_FLUSH);
  std::string tail = DeflateStep(&zs, "", Z_FINISH);  // last block + trailer for 2 MiB
  deflateEnd(&zs);
  for (size_t i = 1; i < mib; ++i) out += unit;
  tail.resize(tail.size() - 8);
  out += tail;
  const uLong one = crc32(0, reinterpret_cast<const Bytef*>(zeros.data()), zeros.size());
  uLong crc = one;
  for (size_t i = 1; i < mib; ++i) crc = crc32_combine(crc, one, zeros.size());
  const uint32_t isize = static_cast<uint32_t>(mib << 20);
  for (uint32_t v : {static_cast<uint32_t>(crc), isize}) {
    for (int b = 0; b < 4; ++b) out += static_cast<char>((v >> (8 * b)) & 0xff);
  }
  return out;
}

long PeakRssKib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

std::string Decoded(std::string_view body, std::string_view encoding) {
  Result<std::string> r = DecodeContent(body, encoding);
  EXPECT_TRUE(r.ok()) << encoding << ": " << r.status().message();
  return r.ok() ? *r : "";
}

std::string ErrorOf(std::string_view body, std::string_view encoding, DecodeLimits limits = {}) {
  Result<std::string> r = DecodeContent(body, encoding, limits);
  EXPECT_FALSE(r.ok()) << encoding << " decoded " << (r.ok() ? r->size() : 0) << " bytes";
  return r.ok() ? "" : r.status().message();
}

TEST(ContentEncodingTest, EachCodingRoundTrips) {
  EXPECT_EQ(Decoded(Gzip(kJson), "gzip"), kJson);
  EXPECT_EQ(Decoded(Gzip(kJson), "x-gzip"), kJson);
  EXPECT_EQ(Decoded(ZlibDeflate(kJson), "deflate"), kJson);
  EXPECT_EQ(Decoded(RawDeflate(kJson), "deflate"), kJson);
  EXPECT_EQ(Decoded(Brotli(kJson), "br"), kJson);
  EXPECT_EQ(Decoded(Zstd(kJson), "zstd"), kJson);
  EXPECT_EQ(Decoded(Gzip(kJson), " GZip "), kJson);  // case and spaces do not matter
}

TEST(ContentEncodingTest, SeveralMembersOrFramesDecodeWhole) {
  EXPECT_EQ(Decoded(Gzip("abc") + Gzip("def"), "gzip"), "abcdef");
  EXPECT_EQ(Decoded(Zstd("abc") + Zstd("def"), "zstd"), "abcdef");
}

TEST(ContentEncodingTest, StackedCodingsAreUndoneLastFirst) {
  EXPECT_EQ(Decoded(Brotli(Gzip(kJson)), "gzip, br"), kJson);
  EXPECT_EQ(Decoded(Zstd(RawDeflate(Brotli(kJson))), "br,deflate , zstd"), kJson);
  // The other order is a different stream: br is undone first and does not parse.
  EXPECT_NE(ErrorOf(Brotli(Gzip(kJson)), "br, gzip").find("gzip: corrupt at byte"),
            std::string::npos);
  // An inner coding's error names the one around it.
  std::string inner_bad = Gzip(kJson);
  inner_bad[inner_bad.size() - 6] ^= 0x55;  // the CRC-32
  EXPECT_EQ(ErrorOf(Brotli(inner_bad), "gzip, br").rfind("gzip inside br: corrupt at byte ", 0),
            0u);
}

TEST(ContentEncodingTest, IdentityAndEmptyAreNoOps) {
  EXPECT_EQ(Decoded(kJson, "identity"), kJson);
  EXPECT_EQ(Decoded(kJson, ""), kJson);
  EXPECT_EQ(Decoded(Gzip(kJson), "identity, gzip, identity"), kJson);
  EXPECT_EQ(Decoded("", "gzip, br"), "");  // nothing inside an empty body
}

TEST(ContentEncodingTest, UnknownCodingIsAnErrorNamingIt) {
  EXPECT_EQ(ErrorOf(kJson, "compress"),
            "compress: unknown content coding (tapedeck decodes gzip, deflate, br, zstd, "
            "identity)");
  // Refused before anything is decoded, wherever it sits in the list.
  EXPECT_EQ(ErrorOf(Gzip(kJson), "gzip, Snappy").rfind("Snappy: unknown content coding", 0), 0u);
}

TEST(ContentEncodingTest, TruncatedInputNamesCodingAndOffset) {
  const std::string text = std::string(kJson) + std::string(kJson);
  struct Case {
    std::string_view name;
    std::string encoded;
  } cases[] = {{"gzip", Gzip(text)},
               {"deflate", ZlibDeflate(text)},
               {"deflate", RawDeflate(text)},
               {"br", Brotli(text)},
               {"zstd", Zstd(text)}};
  for (const Case& c : cases) {
    const std::string cut = c.encoded.substr(0, c.encoded.size() - 5);
    EXPECT_EQ(ErrorOf(cut, c.name), std::string(c.name) + ": truncated at byte " +
                                        std::to_string(cut.size()) +
                                        " (the data ends before the stream does)");
  }
}

TEST(ContentEncodingTest, CorruptInputNamesCodingAndOffset) {
  std::string gzip = Gzip(kJson);
  gzip[gzip.size() - 7] ^= 0x01;  // the CRC-32 no longer matches
  // Found once the CRC-32 is read, which the 4-byte length follows.
  EXPECT_EQ(ErrorOf(gzip, "gzip"),
            "gzip: corrupt at byte " + std::to_string(gzip.size() - 4) + ": incorrect data check");

  std::string header = Gzip(kJson);
  header[2] = 7;  // compression method 7 does not exist
  EXPECT_EQ(ErrorOf(header, "gzip"), "gzip: corrupt at byte 4: unknown compression method");

  EXPECT_EQ(ErrorOf(std::string("\x1f\x8b\x08\x00", 4) + std::string(6, '\0') + "\xff\xff", "gzip"),
            "gzip: corrupt at byte 11: invalid block type");

  std::string zstd = Zstd(kJson);
  zstd[0] ^= 0x10;  // the magic number
  EXPECT_EQ(ErrorOf(zstd, "zstd").rfind("zstd: corrupt at byte 0: ", 0), 0u);

  // Brotli has no checksum, so only a malformed stream is caught: here its header's padding.
  EXPECT_EQ(ErrorOf(std::string(4, '\xff'), "br"),
            "br: corrupt at byte 1: invalid brotli data (padding 2)");

  EXPECT_EQ(ErrorOf(Gzip(kJson) + "tail", "gzip"), "gzip: 4 bytes of trailing data at byte " +
                                                       std::to_string(Gzip(kJson).size()) +
                                                       ", after the end of the stream");
}

TEST(ContentEncodingTest, ZstdWindowsPastEightMibAreRefused) {
  // RFC 9659 lets HTTP decoders refuse windows over 8 MiB, so a header cannot make us reserve
  // up to 128 MiB (zstd's own default limit) before a byte is decoded.
  EXPECT_EQ(ErrorOf(ZstdZeros(1, 24), "zstd"),
            "zstd: corrupt at byte 0: the frame's window is larger than 8 MiB (RFC 9659)");
  EXPECT_EQ(Decoded(ZstdZeros(1, 23), "zstd").size(), size_t{1} << 20);
}

TEST(ContentEncodingTest, GzipBombStopsAtTheCapWithSmallMemory) {
  // This test is about the size cap; the ratio check (tested below) would stop these first.
  DecodeLimits limits;
  limits.max_ratio = 0;
  Result<std::string> small = DecodeContent(GzipZeros(4), "gzip", limits);
  ASSERT_TRUE(small.ok()) << small.status().message();  // the construction is valid gzip
  EXPECT_EQ(small->size(), size_t{4} << 20);
  EXPECT_EQ(small->find_first_not_of('\0'), std::string::npos);

  const std::string bomb = GzipZeros(1024);  // 1 GiB of zeros
  ASSERT_LT(bomb.size(), size_t{2} << 20);
  const long before_kib = PeakRssKib();
  limits.max_decoded_bytes = size_t{16} << 20;
  const std::string error = ErrorOf(bomb, "gzip", limits);
  EXPECT_EQ(error.rfind("gzip: decoded size passes the limit of 16777216 bytes at byte ", 0), 0u)
      << error;
  EXPECT_NE(error.find("(a decompression bomb?)"), std::string::npos);
  // The peak grew by about the cap, not by the gigabyte the bomb holds.
  EXPECT_LT(PeakRssKib() - before_kib, 128 * 1024);

  // Inside another coding it stops the same way.
  const std::string stacked = ErrorOf(Zstd(bomb), "gzip, zstd", limits);
  EXPECT_EQ(stacked.rfind("gzip inside zstd: decoded size passes the limit", 0), 0u) << stacked;
}

TEST(ContentEncodingTest, RatioStopsASmallBodyFromCostingTheWholeCap) {
  const std::string bomb = ZstdZeros(32);  // 32 MiB of zeros in about a kilobyte
  ASSERT_LT(bomb.size(), size_t{8} << 10);
  const std::string error = ErrorOf(bomb, "zstd");
  const std::string expected =
      "zstd: decoded size passes 1000 times the " + std::to_string(bomb.size()) + " encoded bytes";
  EXPECT_EQ(error.rfind(expected + " at byte ", 0), 0u) << error;
  DecodeLimits off;
  off.max_ratio = 0;
  Result<std::string> whole = DecodeContent(bomb, "zstd", off);
  ASSERT_TRUE(whole.ok()) << whole.status().message();
  EXPECT_EQ(whole->size(), size_t{32} << 20);
  // Below the floor the ratio does not apply: a small body may expand far.
  const std::string floor_case = ZstdZeros(1);
  ASSERT_GT(size_t{1} << 20, floor_case.size() * 1000);
  EXPECT_EQ(Decoded(floor_case, "zstd").size(), size_t{1} << 20);
}

TEST(ContentEncodingTest, DamagedInputNeverCrashes) {
  // Every prefix and every single-byte flip of each coding: an error or some bytes, never a
  // crash (ASan and UBSan builds check the memory side).
  const std::string text = std::string(kJson) + std::string(kJson);
  for (auto [name, encoded] : {std::pair<std::string_view, std::string>{"gzip", Gzip(text)},
                               {"deflate", RawDeflate(text)},
                               {"br", Brotli(text)},
                               {"zstd", Zstd(text)}}) {
    for (size_t n = 0; n < encoded.size(); ++n) {
      (void)DecodeContent(encoded.substr(0, n), name);
      std::string flipped = encoded;
      flipped[n] = static_cast<char>(flipped[n] ^ 0xa5);
      (void)DecodeContent(flipped, name);
    }
  }
}

TEST(ContentEncodingTest, DeclaredEncodingJoinsFieldsAndDropsIdentity) {
  EXPECT_EQ(DeclaredContentEncoding({{"content-type", "application/json"}}), "");
  EXPECT_EQ(DeclaredContentEncoding({{"Content-Encoding", "identity"}}), "");
  EXPECT_EQ(DeclaredContentEncoding({{"Content-Encoding", "GZIP"}}), "gzip");
  EXPECT_EQ(DeclaredContentEncoding({{"content-encoding", "gzip, identity"},
                                     {"x-other", "br"},
                                     {"CONTENT-ENCODING", " Br ,,zstd"},
                                     {"content-encoding", "Snappy"}}),
            "gzip, br, zstd, Snappy");
}

TEST(ContentEncodingTest, ScanFindsAKeyInsideACompressedBody) {
  const std::string body = R"({"note":"key )" + FakeAnthropicKey() + R"( here"})";
  Interaction i;
  i.request.headers = {{"Content-Encoding", "gzip"}};
  i.request.body.bytes = Gzip(body);
  EncodedBodyScan scan = ScanEncodedBodies(i, 4);
  ASSERT_EQ(scan.findings.size(), 1u);
  EXPECT_EQ(scan.findings[0].interaction, 4u);
  EXPECT_EQ(scan.findings[0].where,
            "request.body (gzip) at byte " + std::to_string(body.find("sk-ant-")));
  EXPECT_EQ(scan.findings[0].rule, "anthropic-key");
  EXPECT_TRUE(scan.undecodable.empty());

  // A streamed response is one compressed stream cut anywhere into events.
  const std::string zipped = Gzip(body);
  Interaction s;
  s.response.headers = {{"content-encoding", "gzip"}};
  s.response.stream.emplace();
  s.response.stream->kind = StreamKind::kChunks;
  s.response.stream->events = {{zipped.substr(0, 7), 10, {}}, {zipped.substr(7), 20, {}}};
  scan = ScanEncodedBodies(s, 0);
  ASSERT_EQ(scan.findings.size(), 1u);
  EXPECT_EQ(scan.findings[0].where.rfind("response.stream (gzip) at byte ", 0), 0u);

  // A body that cannot be decoded is reported, not passed.
  i.request.body.bytes.resize(i.request.body.bytes.size() / 2);
  scan = ScanEncodedBodies(i, 4);
  EXPECT_TRUE(scan.findings.empty());
  ASSERT_EQ(scan.undecodable.size(), 1u);
  EXPECT_EQ(scan.undecodable[0], "request.body: cannot decode gzip: truncated at byte " +
                                     std::to_string(i.request.body.bytes.size()) +
                                     " (the data ends before the stream does); not scanned");

  // Without a declared coding there is nothing for this scan (ScanInteraction reads it raw).
  i.request.headers.clear();
  EXPECT_TRUE(ScanEncodedBodies(i, 4).empty());
}

}  // namespace
}  // namespace td::cassette
