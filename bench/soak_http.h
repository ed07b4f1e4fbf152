// File: bench/soak_http.h
//
// The little HTTP/1.1 the soak bench speaks itself (its clients and its fake upstream), over raw
// sockets: a header lookup in a request or response head, chunk framing, and the bench's clock.
// Header-only, no state.
#pragma once

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

#include "cassette/base/clock.h"
#include "cassette/model.h"

namespace td::bench::soak {

// Monotonic microseconds (the same clock tapedeck schedules on).
inline Micros NowUs() { return SystemClock::Get().NowMicros(); }

// The value of the first header `name` in `head` (status or request line first, lines ending in
// CRLF, the blank line optional), without surrounding blanks; std::nullopt when absent.
inline std::optional<std::string_view> HeadHeader(std::string_view head, std::string_view name) {
  size_t line = head.find("\r\n");
  while (line != std::string_view::npos && line + 2 < head.size()) {
    const size_t start = line + 2;
    size_t end = head.find("\r\n", start);
    if (end == std::string_view::npos) end = head.size();
    const std::string_view field = head.substr(start, end - start);
    const size_t colon = field.find(':');
    if (colon != std::string_view::npos &&
        cassette::HeaderNameEquals(field.substr(0, colon), name)) {
      std::string_view value = field.substr(colon + 1);
      while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) {
        value.remove_prefix(1);
      }
      while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) {
        value.remove_suffix(1);
      }
      return value;
    }
    line = end < head.size() ? end : std::string_view::npos;
  }
  return std::nullopt;
}

// `data` as one chunk of a chunked body: hex size, CRLF, the bytes, CRLF.
inline std::string Chunk(std::string_view data) {
  char size[24];
  std::snprintf(size, sizeof size, "%zx\r\n", data.size());
  std::string out = size;
  out.append(data);
  out += "\r\n";
  return out;
}

}  // namespace td::bench::soak
