// Wire-safety checks for header fields and the header-line writer.
#include "proxy/internal/headers.h"

#include <algorithm>

#include "cassette/http_headers.h"
#include "proxy/internal/http_parser.h"

namespace td::proxy::internal {

bool IsValidFieldName(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (!IsTokenChar(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

bool IsValidFieldValue(std::string_view value) {
  for (char c : value) {
    auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\t') || u == 0x7f) return false;
  }
  return true;
}

std::vector<std::string> AppendHeaderLines(const cassette::Headers& headers, std::string& out,
                                           std::string_view skip) {
  std::vector<std::string> unsafe;
  auto append = [&](const std::string& name, const std::string& value) {
    if (!skip.empty() && cassette::HeaderNameEquals(name, skip)) return;
    if (!IsValidFieldName(name) || !IsValidFieldValue(value)) {
      unsafe.push_back(name);
      return;
    }
    out.append(name).append(": ", 2).append(value).append("\r\n", 2);
  };
  // Without a Connection header (every replayed response: the recording kept end-to-end headers
  // only), the end-to-end headers are those that are not hop-by-hop: no copy of them is needed.
  const bool has_connection = std::any_of(headers.begin(), headers.end(), [](const auto& h) {
    return cassette::HeaderNameEquals(h.first, "connection");
  });
  if (has_connection) {
    for (const auto& [name, value] : cassette::EndToEndHeaders(headers)) append(name, value);
    return unsafe;
  }
  for (const auto& [name, value] : headers) {
    if (!cassette::IsHopByHopHeader(name)) append(name, value);
  }
  return unsafe;
}

}  // namespace td::proxy::internal
