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

std::string_view ReasonPhrase(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 101:
      return "Switching Protocols";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 203:
      return "Non-Authoritative Information";
    case 204:
      return "No Content";
    case 206:
      return "Partial Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 303:
      return "See Other";
    case 304:
      return "Not Modified";
    case 307:
      return "Temporary Redirect";
    case 308:
      return "Permanent Redirect";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 402:
      return "Payment Required";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 406:
      return "Not Acceptable";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 410:
      return "Gone";
    case 411:
      return "Length Required";
    case 412:
      return "Precondition Failed";
    case 413:
      return "Content Too Large";
    case 414:
      return "URI Too Long";
    case 415:
      return "Unsupported Media Type";
    case 417:
      return "Expectation Failed";
    case 422:
      return "Unprocessable Content";
    case 425:
      return "Too Early";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    case 505:
      return "HTTP Version Not Supported";
    case 529:
      return "Site Overloaded";
    default:
      return "Unknown";
  }
}

}  // namespace td::cassette
