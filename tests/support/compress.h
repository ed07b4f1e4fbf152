// File: tests/support/compress.h
//
// Gzip for tests that send or store a compressed body (tapedeck itself only decodes): one
// helper, so record, replay and verify tests build their bodies the same way. Header-only, over
// zlib; the testsupport library links it.
#pragma once

#include <gtest/gtest.h>
#include <zlib.h>

#include <string>
#include <string_view>

namespace td::testing {

// `data` deflated at the best level, framed per zlib's `window_bits` (see deflateInit2): the
// helpers below make a gzip member (RFC 1952), a zlib stream (RFC 1950) or raw deflate
// (RFC 1951). Fails the current test on a zlib error.
inline std::string Deflate(std::string_view data, int window_bits) {
  z_stream zs{};
  if (deflateInit2(&zs, Z_BEST_COMPRESSION, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY) !=
      Z_OK) {
    ADD_FAILURE() << "deflateInit2 failed";
    return "";
  }
  std::string out(deflateBound(&zs, static_cast<uLong>(data.size())), '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  int ret = deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  if (ret != Z_STREAM_END) ADD_FAILURE() << "deflate did not finish: " << ret;
  return out;
}

inline std::string Gzip(std::string_view data) { return Deflate(data, MAX_WBITS + 16); }
inline std::string ZlibDeflate(std::string_view data) { return Deflate(data, MAX_WBITS); }
inline std::string RawDeflate(std::string_view data) { return Deflate(data, -MAX_WBITS); }

}  // namespace td::testing
