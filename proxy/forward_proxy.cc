// Forward-proxy rules: intercept patterns, CONNECT authorities and ports, --resolve entries.
#include "proxy/forward_proxy.h"

#include <charconv>

#include "cassette/base/ascii.h"
#include "proxy/internal/net_util.h"

namespace td::proxy {
namespace {

using internal::IsIpLiteral;

bool IsHostChar(char c) { return IsAlnum(c) || c == '-' || c == '.'; }

Result<uint16_t> ParsePort(std::string_view text, std::string_view what) {
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value == 0 ||
      value > 65535) {
    return InvalidArgumentError(std::string(what) + ": bad port \"" + std::string(text) +
                                "\" (expected 1..65535)");
  }
  return static_cast<uint16_t>(value);
}

// One label of a pattern against one label of a host; '*' is one or more characters.
bool LabelMatches(std::string_view pattern, std::string_view label) {
  const size_t star = pattern.find('*');
  if (star == std::string_view::npos) return EqualsIgnoreCase(pattern, label);
  std::string_view prefix = pattern.substr(0, star);
  std::string_view suffix = pattern.substr(star + 1);
  if (label.size() < prefix.size() + suffix.size() + 1) return false;
  return EqualsIgnoreCase(label.substr(0, prefix.size()), prefix) &&
         EqualsIgnoreCase(label.substr(label.size() - suffix.size()), suffix);
}

std::vector<std::string_view> Labels(std::string_view name) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t dot = name.find('.', start);
    out.push_back(name.substr(start, dot - start));
    if (dot == std::string_view::npos) return out;
    start = dot + 1;
  }
}

}  // namespace

const std::vector<std::string>& DefaultInterceptPatterns() {
  static const std::vector<std::string> kPatterns = {
      "api.anthropic.com",
      "api.openai.com",
      "generativelanguage.googleapis.com",
      "bedrock-runtime.*.amazonaws.com",       // Amazon Bedrock, each region
      "bedrock-runtime-fips.*.amazonaws.com",  // ... and its FIPS endpoints
      "aiplatform.googleapis.com",             // Vertex AI, global
      "*-aiplatform.googleapis.com",           // ... and each region
  };
  return kPatterns;
}

Status ValidateInterceptPattern(std::string_view pattern) {
  auto bad = [&](std::string_view why) {
    return InvalidArgumentError("--intercept \"" + std::string(pattern) +
                                "\": " + std::string(why));
  };
  if (pattern.empty()) return bad("empty host pattern");
  if (pattern.size() > 253) return bad("longer than a host name can be (253)");
  if (IsIpLiteral(std::string(pattern))) return Status::Ok();
  for (std::string_view label : Labels(pattern)) {
    if (label.empty()) return bad("empty label (two dots, or a dot at an end)");
    size_t stars = 0;
    for (char c : label) {
      if (c == '*') {
        ++stars;
      } else if (!IsAlnum(c) && c != '-') {
        return bad("expected letters, digits, '-', '.' and '*'");
      }
    }
    if (stars > 1) return bad("at most one '*' per label");
  }
  return Status::Ok();
}

bool HostMatchesPattern(std::string_view pattern, std::string_view host) {
  if (pattern.find('*') == std::string_view::npos) return EqualsIgnoreCase(pattern, host);
  std::vector<std::string_view> p = Labels(pattern);
  std::vector<std::string_view> h = Labels(host);
  if (p.size() != h.size()) return false;
  for (size_t i = 0; i < p.size(); ++i) {
    if (!LabelMatches(p[i], h[i])) return false;
  }
  return true;
}

Result<ResolveEntry> ParseResolveEntry(std::string_view text) {
  const std::string what = "--resolve " + std::string(text);
  const size_t first = text.find(':');
  const size_t second = first == std::string_view::npos ? first : text.find(':', first + 1);
  if (second == std::string_view::npos) {
    return InvalidArgumentError(what + ": expected HOST:PORT:ADDR (as curl's --resolve)");
  }
  ResolveEntry entry;
  entry.host = ToLowerAscii(text.substr(0, first));
  if (entry.host.empty()) return InvalidArgumentError(what + ": empty HOST");
  for (char c : entry.host) {
    if (!IsHostChar(c)) return InvalidArgumentError(what + ": bad character in HOST");
  }
  Result<uint16_t> port = ParsePort(text.substr(first + 1, second - first - 1), what);
  if (!port.ok()) return port.status();
  entry.port = *port;
  std::string_view address = text.substr(second + 1);
  if (address.size() >= 2 && address.front() == '[' && address.back() == ']') {
    address = address.substr(1, address.size() - 2);
  }
  entry.address = std::string(address);
  if (!IsIpLiteral(entry.address)) {
    return InvalidArgumentError(what + ": ADDR \"" + entry.address +
                                "\" is not an IPv4 or IPv6 address");
  }
  return entry;
}

std::optional<std::string> ResolvedAddress(const std::vector<ResolveEntry>& entries,
                                           std::string_view host, uint16_t port) {
  for (const ResolveEntry& e : entries) {
    if (e.port == port && EqualsIgnoreCase(e.host, host)) return e.address;
  }
  return std::nullopt;
}

bool ForwardProxyOptions::Intercepts(std::string_view host) const {
  for (const std::string& pattern : intercept) {
    if (HostMatchesPattern(pattern, host)) return true;
  }
  return false;
}

bool ForwardProxyOptions::AllowsTunnelPort(std::string_view host, uint16_t port) const {
  return port == 443 || port == 80 || ResolvedAddress(resolve, host, port).has_value();
}

Result<Authority> ParseAuthority(std::string_view text) {
  const std::string what = "CONNECT target \"" + std::string(text) + "\"";
  Authority out;
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return InvalidArgumentError(what + ": expected [IPv6]:PORT");
    }
    out.host = std::string(text.substr(1, close - 1));
    if (!IsIpLiteral(out.host)) return InvalidArgumentError(what + ": bad IPv6 address");
    port_text = text.substr(close + 2);
  } else {
    const size_t colon = text.rfind(':');
    if (colon == std::string_view::npos || colon == 0) {
      return InvalidArgumentError(what + ": expected HOST:PORT");
    }
    out.host = ToLowerAscii(text.substr(0, colon));
    if (out.host.size() > 253) return InvalidArgumentError(what + ": host name too long");
    for (char c : out.host) {
      if (!IsHostChar(c)) return InvalidArgumentError(what + ": bad character in host");
    }
    port_text = text.substr(colon + 1);
  }
  Result<uint16_t> port = ParsePort(port_text, what);
  if (!port.ok()) return port.status();
  out.port = *port;
  return out;
}

}  // namespace td::proxy
