// The zstd side of the cassette codec: compression as the writer does it (one frame per session,
// flushed after every line) and tolerant decompression of concatenated frames.
#include "cassette/internal/zstd_stream.h"

#include <cstring>

#include "cassette/internal/codec_text.h"

namespace td::cassette::internal {
namespace {

constexpr unsigned char kZstdMagic[4] = {0x28, 0xB5, 0x2F, 0xFD};

std::string Where(std::string_view name) {
  std::string out = "cassette ";
  out += name;
  return out;
}

}  // namespace

bool HasZstdMagic(std::string_view bytes) {
  return bytes.size() >= 4 && std::memcmp(bytes.data(), kZstdMagic, 4) == 0;
}

Result<ZstdCCtxPtr> MakeCompressor(int level, std::string_view where) {
  if (level < ZSTD_minCLevel() || level > ZSTD_maxCLevel()) {
    return InvalidArgumentError(std::string(where) + ": zstd level " + std::to_string(level) +
                                " is out of range (" + std::to_string(ZSTD_minCLevel()) + ".." +
                                std::to_string(ZSTD_maxCLevel()) + ")");
  }
  ZstdCCtxPtr cctx(ZSTD_createCCtx());
  if (!cctx) return InternalError(std::string(where) + ": zstd: out of memory");
  size_t rc = ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_compressionLevel, level);
  if (!ZSTD_isError(rc)) rc = ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_checksumFlag, 1);
  if (ZSTD_isError(rc)) {
    return InternalError(std::string(where) + ": zstd: " + ZSTD_getErrorName(rc));
  }
  return cctx;
}

Status CompressInto(ZSTD_CCtx* cctx, std::string_view in, ZSTD_EndDirective mode, std::string* out,
                    std::string_view where) {
  ZSTD_inBuffer input{in.data(), in.size(), 0};
  const size_t chunk = ZSTD_CStreamOutSize();
  for (;;) {
    const size_t old = out->size();
    out->resize(old + chunk);
    ZSTD_outBuffer output{out->data() + old, chunk, 0};
    const size_t remaining = ZSTD_compressStream2(cctx, &output, &input, mode);
    out->resize(old + output.pos);
    if (ZSTD_isError(remaining)) {
      return InternalError(std::string(where) + ": zstd: " + ZSTD_getErrorName(remaining));
    }
    if (remaining == 0 && input.pos == input.size) return Status::Ok();
  }
}

Result<Decompressed> DecompressAll(std::string_view bytes, std::string_view name,
                                   std::uint64_t max_output) {
  ZstdDCtxPtr dctx(ZSTD_createDCtx());
  if (!dctx) return InternalError(Where(name) + ": zstd: out of memory");
  Decompressed result;
  ZSTD_inBuffer input{bytes.data(), bytes.size(), 0};
  const size_t chunk = ZSTD_DStreamOutSize();
  size_t last = 0;
  for (;;) {
    const size_t old = result.text.size();
    const size_t consumed_before = input.pos;
    result.text.resize(old + chunk);
    ZSTD_outBuffer output{result.text.data() + old, chunk, 0};
    const size_t rc = ZSTD_decompressStream(dctx.get(), &output, &input);
    result.text.resize(old + output.pos);
    if (ZSTD_isError(rc)) {
      return ParseError(Where(name) + ": corrupt zstd data near byte " + std::to_string(input.pos) +
                        ": " + ZSTD_getErrorName(rc));
    }
    if (result.text.size() > max_output) {
      return ParseError(Where(name) + ": decompresses to more than " + FormatSize(max_output) +
                        "; refusing to read it");
    }
    last = rc;
    const bool output_full = output.pos == output.size;
    if (input.pos == input.size && !output_full) break;
    if (input.pos == consumed_before && output.pos == 0) break;  // no progress: input exhausted
  }
  result.complete = last == 0;
  return result;
}

}  // namespace td::cassette::internal
