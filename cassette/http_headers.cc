// The hop-by-hop rule: a fixed list plus whatever a Connection header names.
#include "cassette/http_headers.h"

#include <vector>

#include "cassette/base/ascii.h"

namespace td::cassette {
namespace {

constexpr std::string_view kHopByHop[] = {
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "content-length",
};

}  // namespace

bool IsHopByHopHeader(std::string_view name) {
  for (std::string_view h : kHopByHop) {
    if (HeaderNameEquals(name, h)) return true;
  }
  return false;
}

Headers EndToEndHeaders(const Headers& headers) {
  // Names listed in Connection are hop-by-hop for this message too.
  std::vector<std::string_view> listed;
  for (const auto& [name, value] : headers) {
    if (!HeaderNameEquals(name, "connection")) continue;
    std::string_view rest = value;
    while (!rest.empty()) {
      size_t comma = rest.find(',');
      std::string_view item = TrimSpaceAndTab(rest.substr(0, comma));
      if (!item.empty()) listed.push_back(item);
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  Headers out;
  out.reserve(headers.size());
  for (const auto& header : headers) {
    if (IsHopByHopHeader(header.first)) continue;
    bool named = false;
    for (std::string_view l : listed) {
      if (HeaderNameEquals(header.first, l)) named = true;
    }
    if (!named) out.push_back(header);
  }
  return out;
}

}  // namespace td::cassette
