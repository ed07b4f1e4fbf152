// File: cassette/base/c_ptr.h
//
// CPtr<T, Fn>: a unique_ptr whose deleter is a C library's free function, so no
// raw free call is scattered through the logic. The deleter is stateless, so the pointer stays
// pointer-sized. Each library's aliases live next to the code that uses them
// (cassette/internal/zstd_handles.h, proxy/internal/ev_handles.h, ssl_handles.h).
#pragma once

#include <memory>

namespace td {

// Calls `Fn` on a non-null pointer.
template <auto Fn>
struct FnDeleter {
  template <class T>
  void operator()(T* p) const noexcept {
    if (p) Fn(p);
  }
};

template <class T, auto Fn>
using CPtr = std::unique_ptr<T, FnDeleter<Fn>>;

}  // namespace td
