// File: cassette/internal/zstd_stream.h
//
// The zstd side of the cassette codec: the compressor the writer uses (a level, a content
// checksum, flushed after every line) and decompression of concatenated frames that tolerates a
// cut tail. Handles are owned by the RAII types of zstd_handles.h.
#pragma once

#include <zstd.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "cassette/base/status.h"
#include "cassette/internal/zstd_handles.h"

namespace td::cassette::internal {

// True when `bytes` starts with the zstd frame magic number 28 b5 2f fd.
bool HasZstdMagic(std::string_view bytes);

// A compression context at `level` with the content checksum on. Errors: kInvalidArgument
// "WHERE: zstd level 99 is out of range (-131072..22)", kInternal when zstd has no memory.
Result<ZstdCCtxPtr> MakeCompressor(int level, std::string_view where);

// Compresses `in` into `*out` (appending) and then flushes (ZSTD_e_flush: the bytes so far can
// be decoded on their own) or ends the frame (ZSTD_e_end). Errors: kInternal.
Status CompressInto(ZSTD_CCtx* cctx, std::string_view in, ZSTD_EndDirective mode, std::string* out,
                    std::string_view where);

struct Decompressed {
  std::string text;
  bool complete = true;  // false: the input ended inside a frame (a cut recording)
};
// Decompresses every concatenated zstd frame in `bytes`. An input that ends inside a frame is
// not an error (complete = false; everything decodable is in `text`). Corrupt data is kParse
// "cassette NAME: corrupt zstd data near byte N: ..."; more than `max_output` bytes is kParse.
Result<Decompressed> DecompressAll(std::string_view bytes, std::string_view name,
                                   std::uint64_t max_output);

}  // namespace td::cassette::internal
