// File: cassette/content_encoding.h
//
// Undoing HTTP content codings (Content-Encoding: gzip, deflate, br, zstd, identity, and lists of
// them) so that redaction, the secret scanner and matching see plain bytes. Decoding only:
// tapedeck never re-encodes, because what it forwards is always the client's own bytes. Built for
// hostile input: bounded output, errors that name the coding and the byte, never a crash.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "cassette/base/status.h"
#include "cassette/model.h"
#include "cassette/secret_scan.h"

namespace td::cassette {

// Bounds on one decode; they apply to each coding of a list on its own.
struct DecodeLimits {
  // Output past this many bytes is refused.
  size_t max_decoded_bytes = size_t{256} << 20;
  // Output past `max_ratio` times the size of that coding's input is refused, once it is past
  // `ratio_floor_bytes` (small bodies of one repeated byte legitimately expand far). Deflate
  // cannot pass 1032:1, so this stops brotli and zstd bombs, whose ratio has no such bound,
  // long before the size cap: a 1 KiB zstd body cannot cost 256 MiB. 0 turns it off.
  size_t max_ratio = 1000;
  size_t ratio_floor_bytes = size_t{1} << 20;
};

// The content codings a message declares, in the order they were applied: the items of every
// Content-Encoding field in header order (repeated fields form one list, RFC 9110 5.3), joined
// with ", ", known names in lower case, unknown ones as written; "identity" and empty items are
// left out. Empty when there is nothing to undo. One pass over the headers; no allocation for a
// message without Content-Encoding (the replay hot path).
std::string DeclaredContentEncoding(const Headers& headers);

// Undoes the codings of `content_encoding` (a Content-Encoding value; for "gzip, br" br was
// applied last, so it is undone first) on `body` and returns the decoded bytes. Names are
// case-insensitive. Codings:
// - gzip, x-gzip: one or more gzip members, back to back;
// - deflate: zlib-wrapped (RFC 1950) or, as browsers accept, raw deflate (RFC 1951);
// - br: brotli; zstd: one or more frames, window at most 8 MiB (RFC 9659's limit for HTTP);
// - identity: nothing.
// An empty body decodes to an empty body under any coding (there is nothing inside to see).
// Errors (kParse), each naming the coding; for a list, an inner coding is named with the one
// around it ("gzip inside br"), and its offsets count in the bytes that one decoded to:
//   "compress: unknown content coding (tapedeck decodes gzip, deflate, br, zstd, identity)"
//   "gzip: truncated at byte 812 (the data ends before the stream does)"
//   "gzip: corrupt at byte 17: invalid block type"
//   "gzip: 5 bytes of trailing data at byte 812, after the end of the stream"
//   "zstd: decoded size passes the limit of 268435456 bytes at byte 96 (a decompression bomb?)"
// Memory: at most the limit for the output plus one decoder's window (32 KiB for gzip and
// deflate, up to 16 MiB for br, up to 8 MiB for zstd). Input is never trusted for sizes.
// Pure: bytes in, Result out, no globals; any thread. Meant to be fuzzed.
Result<std::string> DecodeContent(std::string_view body, std::string_view content_encoding,
                                  const DecodeLimits& limits = {});

// Decodes `request`'s body in place per its Content-Encoding and drops that header (also when it
// says only identity): the form the record path stores and replay matches. On error the request
// is left exactly as it was and the status says why (DecodeContent's message). A request
// without Content-Encoding costs one header lookup. Thread-safe.
Status DecodeRequestBody(Request* request, const DecodeLimits& limits = {});

// What the secret scanner finds inside the compressed bodies of one stored interaction: those
// whose message still declares a Content-Encoding (a cassette imported from elsewhere, one
// recorded before tapedeck decoded request bodies, a request body that could not be decoded,
// or a response from an upstream that ignored `Accept-Encoding: identity`, stored as sent).
struct EncodedBodyScan {
  // Key-shaped spans in the decoded bytes, where = "request.body (gzip) at byte 41",
  // "response.body (br) at byte N" or "response.stream (gzip) at byte N" (a streamed body is
  // one compressed stream cut into events; N counts in the decoded concatenation).
  std::vector<SecretFinding> findings;
  // Bodies that could not be decoded and so were not scanned inside, one line each:
  // "request.body: cannot decode gzip: truncated at byte 20 (...); not scanned".
  std::vector<std::string> undecodable;

  bool empty() const { return findings.empty() && undecodable.empty(); }
};

// Decodes and scans the compressed bodies of `interaction` (index `index` in its cassette, for
// the findings). A body without a declared coding is left to ScanInteraction, which scans every
// stored byte as it is, compressed or not. Thread-safe.
EncodedBodyScan ScanEncodedBodies(const Interaction& interaction, size_t index,
                                  const DecodeLimits& limits = {});

}  // namespace td::cassette
