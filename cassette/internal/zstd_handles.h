// File: cassette/internal/zstd_handles.h
//
// RAII owners for zstd's C handles (STYLE.md 2.3), so the codec never calls a free function by
// hand. zstd's free functions accept NULL; the deleter skips it anyway.
#pragma once

#include <zstd.h>

#include <memory>

namespace td::cassette::internal {

// Calls `Fn` on a non-null pointer. Pointer-sized: unique_ptr with it costs one pointer.
template <auto Fn>
struct FnDeleter {
  template <class T>
  void operator()(T* p) const noexcept {
    if (p) Fn(p);
  }
};
template <class T, auto Fn>
using CPtr = std::unique_ptr<T, FnDeleter<Fn>>;

// Owns one compression context (one writer session or one one-shot compression).
using ZstdCCtxPtr = CPtr<ZSTD_CCtx, ZSTD_freeCCtx>;
// Owns one decompression context (one read of a file).
using ZstdDCtxPtr = CPtr<ZSTD_DCtx, ZSTD_freeDCtx>;

}  // namespace td::cassette::internal
