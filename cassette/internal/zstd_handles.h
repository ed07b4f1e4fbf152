// File: cassette/internal/zstd_handles.h
//
// RAII owners for zstd's C handles (CPtr), so the codec never calls a free function by
// hand. zstd's free functions accept NULL; the deleter skips it anyway.
#pragma once

#include <zstd.h>

#include "cassette/base/c_ptr.h"

namespace td::cassette::internal {

using td::CPtr;

// Owns one compression context (one writer session or one one-shot compression).
using ZstdCCtxPtr = CPtr<ZSTD_CCtx, ZSTD_freeCCtx>;
// Owns one decompression context (one read of a file).
using ZstdDCtxPtr = CPtr<ZSTD_DCtx, ZSTD_freeDCtx>;

}  // namespace td::cassette::internal
