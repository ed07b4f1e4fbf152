// Wire-safety checks for header fields and the header-line writer.
#include "proxy/internal/headers.h"

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
  for (const auto& [name, value] : cassette::EndToEndHeaders(headers)) {
    if (!skip.empty() && cassette::HeaderNameEquals(name, skip)) continue;
    if (!IsValidFieldName(name) || !IsValidFieldValue(value)) {
      unsafe.push_back(name);
      continue;
    }
    out += name;
    out += ": ";
    out += value;
    out += "\r\n";
  }
  return unsafe;
}

}  // namespace td::proxy::internal
