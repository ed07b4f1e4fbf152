// Hop-by-hop filtering and wire-safety checks for header fields.
#include "proxy/internal/headers.h"

#include <array>
#include <vector>

#include "cassette/base/ascii.h"
#include "proxy/internal/http_parser.h"

namespace td::proxy::internal {
namespace {

constexpr std::array<std::string_view, 8> kHopByHop = {
    "connection", "keep-alive",        "proxy-connection", "te",
    "trailer",    "transfer-encoding", "upgrade",          "content-length",
};

}  // namespace

bool IsHopByHopHeader(std::string_view name) {
  for (std::string_view h : kHopByHop) {
    if (cassette::HeaderNameEquals(name, h)) return true;
  }
  return false;
}

cassette::Headers EndToEndHeaders(const cassette::Headers& headers) {
  // Names listed in Connection are hop-by-hop for this message too.
  std::vector<std::string_view> listed;
  for (const auto& [name, value] : headers) {
    if (!cassette::HeaderNameEquals(name, "connection")) continue;
    std::string_view rest = value;
    while (!rest.empty()) {
      size_t comma = rest.find(',');
      std::string_view item = TrimSpaceAndTab(rest.substr(0, comma));
      if (!item.empty()) listed.push_back(item);
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  cassette::Headers out;
  out.reserve(headers.size());
  for (const auto& header : headers) {
    if (IsHopByHopHeader(header.first)) continue;
    bool named = false;
    for (std::string_view l : listed) {
      if (cassette::HeaderNameEquals(header.first, l)) named = true;
    }
    if (!named) out.push_back(header);
  }
  return out;
}

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

}  // namespace td::proxy::internal
