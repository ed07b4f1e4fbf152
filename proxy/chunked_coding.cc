// Chunk framing and its inverse.
#include "proxy/chunked_coding.h"

#include <cstring>

namespace td::proxy {

char* WriteChunkSizeLine(size_t size, char* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  const size_t length = ChunkSizeLineLength(size);
  char* digit = out + length - 2;
  do {
    *--digit = kHex[size & 0xf];
    size >>= 4;
  } while (size != 0);
  out[length - 2] = '\r';
  out[length - 1] = '\n';
  return out + length;
}

char* FrameChunk(std::string_view payload, char* out) {
  if (payload.empty()) return out;
  out = WriteChunkSizeLine(payload.size(), out);
  std::memcpy(out, payload.data(), payload.size());
  out += payload.size();
  *out++ = '\r';
  *out++ = '\n';
  return out;
}

bool TakeChunk(std::string_view* chunks, std::string_view* payload) {
  const std::string_view in = *chunks;
  size_t size = 0;
  size_t at = 0;
  // At most 15 digits: a size that cannot overflow, and far beyond any body.
  for (; at < in.size() && at < 15; ++at) {
    const char c = in[at];
    int digit;
    if (c >= '0' && c <= '9') {
      digit = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      digit = c - 'a' + 10;
    } else {
      break;
    }
    size = size * 16 + static_cast<size_t>(digit);
  }
  if (at == 0 || size == 0 || in.size() - at < 2 || in.substr(at, 2) != "\r\n") return false;
  at += 2;
  if (in.size() - at < size || in.size() - at - size < 2 || in.substr(at + size, 2) != "\r\n") {
    return false;
  }
  *payload = in.substr(at, size);
  chunks->remove_prefix(at + size + 2);
  return true;
}

}  // namespace td::proxy
