// File: proxy/chunked_coding.h
//
// Chunked transfer coding (RFC 9112, section 7.1) as tapedeck writes it: each chunk is
// "<size in lowercase hex>\r\n<payload>\r\n", with no extensions, and the chunk of size 0 ends the
// body. One home for the framing, shared by the server, which frames a write as it goes out,
// and by the replay loader, which frames a recorded stream's events once so that replaying them
// costs no framing at all (ResponseSink::WriteChunks).
//
// libevent-free, like proxy/exchange.h; pure functions.
#pragma once

#include <cstddef>
#include <string_view>

namespace td::proxy {

// The terminating chunk of a body with no trailers.
inline constexpr std::string_view kLastChunk = "0\r\n\r\n";

// The length of "<size in hex>\r\n", the line that opens a chunk of `size` bytes.
constexpr size_t ChunkSizeLineLength(size_t size) {
  size_t digits = 1;
  while (size >>= 4) ++digits;
  return digits + 2;
}

// What FrameChunk writes for a payload of `size` bytes: 0 for an empty payload (a chunk of
// size 0 would end the body), else the size line, the payload and its CRLF.
constexpr size_t FramedChunkSize(size_t size) {
  return size == 0 ? 0 : ChunkSizeLineLength(size) + size + 2;
}

// Writes "<size in hex>\r\n" into `out` (ChunkSizeLineLength(size) bytes, at most 18) and
// returns the end of what it wrote.
char* WriteChunkSizeLine(size_t size, char* out);

// Writes `payload` framed as one chunk into `out` (FramedChunkSize(payload.size()) bytes; an
// empty payload writes nothing) and returns the end of what it wrote. Thousands of chunks a
// second on a streamed replay: no formatting library.
char* FrameChunk(std::string_view payload, char* out);

// Takes the first chunk off `chunks` (framed as FrameChunk frames, size above 0) and stores its
// payload in `payload`. False, with nothing taken, when `chunks` is empty or does not start
// with such a chunk whole.
bool TakeChunk(std::string_view* chunks, std::string_view* payload);

}  // namespace td::proxy
