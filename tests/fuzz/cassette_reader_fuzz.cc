// File: tests/fuzz/cassette_reader_fuzz.cc
//
// libFuzzer harness for the cassette reader, through the public codec API only (ParseCassette,
// SerializeCassette), so it survives changes to the codec's internals. Input: a cassette file,
// plain JSON Lines or zstd (the seed corpus has both). Properties beyond "bad input is a Status":
// what parses writes and reads back equal (read, write, read gives the same) and writes the same
// bytes again; plain text compressed by the harness reads the same as the plain text; a zstd
// frame cut anywhere reads as a Status or a cassette, never a crash.
#include <zstd.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "cassette/base/log.h"
#include "cassette/codec.h"
#include "tests/fuzz/fuzz_support.h"

namespace td::cassette {
namespace {

constexpr unsigned char kZstdMagic[4] = {0x28, 0xB5, 0x2F, 0xFD};

bool LooksZstd(std::string_view bytes) {
  return bytes.size() >= 4 &&
         std::equal(bytes.begin(), bytes.begin() + 4, reinterpret_cast<const char*>(kZstdMagic));
}

std::string Compress(std::string_view text) {
  std::string out(ZSTD_compressBound(text.size()), '\0');
  const size_t n = ZSTD_compress(out.data(), out.size(), text.data(), text.size(), 1);
  TD_CHECK(!ZSTD_isError(n)) << "ZSTD_compress: " << ZSTD_getErrorName(n);
  out.resize(n);
  return out;
}

Result<Cassette> Parse(std::string_view bytes) {
  ReadReport report;  // keeps warnings out of the log
  return ParseCassette(bytes, "fuzz", &report);
}

// Read, write, read: the second read succeeds and equals the first (but for the version, which
// writing makes the current one); writing again gives the same bytes.
void CheckRoundTrip(const Cassette& first) {
  const std::string written = SerializeCassette(first);
  Result<Cassette> second = Parse(written);
  TD_CHECK(second.ok()) << "a cassette that parsed was written as text that does not parse: "
                        << second.status().ToString() << "; written: " << fuzz::Quote(written);
  // Writing upgrades an older version's cassette to the current one; all else reads back as is.
  TD_CHECK(second->version == kCassetteVersion) << "written as version " << second->version;
  second->version = first.version;
  if (*second != first) {
    const size_t n = std::min(first.interactions.size(), second->interactions.size());
    size_t i = 0;
    while (i < n && first.interactions[i] == second->interactions[i]) ++i;
    TD_CHECK(false) << "read, write, read gives a different cassette (first difference: "
                    << (i < n ? "interaction " + std::to_string(i)
                        : first.interactions.size() != second->interactions.size()
                            ? std::string("interaction count")
                            : std::string("header"))
                    << "); written: " << fuzz::Quote(written, 2000);
  }
  const std::string rewritten = SerializeCassette(*second);
  TD_CHECK(rewritten == written) << "writing the re-read cassette gives other bytes: "
                                 << fuzz::Quote(rewritten) << " instead of "
                                 << fuzz::Quote(written);
}

}  // namespace
}  // namespace td::cassette

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace td::cassette;
  using td::Result;
  static const bool quiet = [] {
    td::SetLogLevel(td::LogLevel::kError);
    return true;
  }();
  (void)quiet;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);

  Result<Cassette> parsed = Parse(bytes);
  if (parsed.ok()) CheckRoundTrip(*parsed);

  if (!LooksZstd(bytes)) {
    // The same text behind zstd must read the same: ok with an equal cassette, or an error.
    const std::string compressed = Compress(bytes);
    Result<Cassette> unpacked = Parse(compressed);
    TD_CHECK(unpacked.ok() == parsed.ok())
        << "plain text " << (parsed.ok() ? "parses" : "fails") << " but compressed it "
        << (unpacked.ok() ? "parses" : "fails: " + unpacked.status().ToString());
    TD_CHECK(!parsed.ok() || *unpacked == *parsed) << "compressed text reads differently";
    // A frame cut anywhere (a killed recording): a Status or a cassette, never a crash.
    if (compressed.size() > 4) {
      const size_t cut = 4 + td::fuzz::HashBytes(bytes) % (compressed.size() - 4);
      Result<Cassette> partial = Parse(std::string_view(compressed).substr(0, cut));
      if (partial.ok()) CheckRoundTrip(*partial);
    }
  }
  return 0;
}
