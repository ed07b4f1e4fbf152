// Upstream URL validation and path-prefix joining.
#include "proxy/upstream_url.h"

#include <cstdio>

#include "cassette/base/ascii.h"
#include "cassette/model.h"

namespace td::proxy {
namespace {

// The URL as it goes into a message: control characters escaped so the message stays one line.
std::string Quoted(std::string_view text) { return "upstream URL " + QuoteForMessage(text); }

std::string DescribeChar(unsigned char u) {
  switch (u) {
    case ' ':
      return "space";
    case '\n':
      return "newline";
    case '\r':
      return "carriage return";
    case '\t':
      return "tab";
    default:
      break;
  }
  char buf[40];
  if (u >= 0x80) {
    std::snprintf(buf, sizeof buf, "non-ascii byte 0x%02x", u);
  } else {
    std::snprintf(buf, sizeof buf, "control character 0x%02x", u);
  }
  return buf;
}

bool IsSpaceOrControl(unsigned char u) { return u <= 0x20 || u == 0x7f; }

bool IsHostChar(char c) { return IsAlnum(c) || c == '-' || c == '.' || c == '_'; }

bool IsIpv6Char(char c) { return IsHex(c) || c == ':' || c == '.'; }

}  // namespace

std::string UpstreamUrl::HostHeader() const {
  std::string out = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  if (!default_port()) out += ":" + std::to_string(port);
  return out;
}

std::string UpstreamUrl::ToString() const {
  std::string out = scheme + "://";
  out += host.find(':') != std::string::npos ? "[" + host + "]" : host;
  if (!default_port()) out += ":" + std::to_string(port);
  out += path_prefix;
  return out;
}

// The URL as messages may show it: credentials never appear in a message or a log, so user
// info becomes "***@" and a query is cut to "?...".
std::string Shown(std::string_view text) {
  std::string out(text);
  const size_t sep = out.find("://");
  const size_t from = sep == std::string::npos ? 0 : sep + 3;
  const size_t authority_end = out.find_first_of("/?#", from);
  const size_t at = out.rfind('@', authority_end == std::string::npos ? out.size() : authority_end);
  if (at != std::string::npos && at >= from) out.replace(from, at - from, "***");
  const size_t query = out.find('?', from);
  if (query != std::string::npos) out.replace(query, std::string::npos, "?...");
  return out;
}

Result<UpstreamUrl> ParseUpstreamUrl(std::string_view text) {
  const std::string shown = Shown(text);
  auto fail = [&](const std::string& why) -> Status {
    return InvalidArgumentError(Quoted(shown) + ": " + why);
  };
  if (text.empty()) return fail("empty");
  for (size_t i = 0; i < text.size(); ++i) {
    auto u = static_cast<unsigned char>(text[i]);
    if (!IsSpaceOrControl(u) && u < 0x80) continue;
    std::string where = i == 0 ? "leading " : i + 1 == text.size() ? "trailing " : "";
    if (where.empty()) {
      // Trailing whitespace may be longer than one character.
      bool trailing = true;
      for (size_t j = i; j < text.size(); ++j) {
        if (!IsSpaceOrControl(static_cast<unsigned char>(text[j]))) trailing = false;
      }
      if (trailing) where = "trailing ";
    }
    std::string what = where.empty() ? "a " + DescribeChar(u) : where + DescribeChar(u);
    return fail(what + " at position " + std::to_string(i));
  }

  size_t sep = text.find("://");
  if (sep == std::string_view::npos) return fail("missing scheme (expected http:// or https://)");
  UpstreamUrl url;
  url.scheme = ToLowerAscii(text.substr(0, sep));
  if (url.scheme != "http" && url.scheme != "https") {
    return fail("unsupported scheme \"" + std::string(text.substr(0, sep)) +
                "\" (expected http or https)");
  }
  std::string_view rest = text.substr(sep + 3);
  size_t end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, end);
  std::string_view tail = end == std::string_view::npos ? std::string_view() : rest.substr(end);
  if (authority.find('@') != std::string_view::npos) {
    return fail("user info (user:password@) is not allowed; send credentials as headers");
  }
  std::string_view host;
  std::string_view port_text;
  bool has_port = false;
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return fail("unterminated IPv6 address");
    host = authority.substr(1, close - 1);
    for (char c : host) {
      if (!IsIpv6Char(c)) return fail("invalid IPv6 address \"" + std::string(host) + "\"");
    }
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return fail("unexpected text after the IPv6 address");
      has_port = true;
      port_text = after.substr(1);
    }
  } else {
    size_t colon = authority.find(':');
    host = authority.substr(0, colon);
    if (colon != std::string_view::npos) {
      has_port = true;
      port_text = authority.substr(colon + 1);
    }
    for (char c : host) {
      if (!IsHostChar(c)) {
        return fail("invalid character '" + std::string(1, c) + "' in host");
      }
    }
  }
  if (host.empty()) return fail("missing host");
  url.host = ToLowerAscii(host);
  if (has_port) {
    if (port_text.empty()) return fail("empty port");
    unsigned long port = 0;
    for (char c : port_text) {
      if (c < '0' || c > '9' || port > 65535) {
        return fail("invalid port \"" + std::string(port_text) + "\"");
      }
      port = port * 10 + static_cast<unsigned long>(c - '0');
    }
    if (port == 0 || port > 65535) return fail("invalid port \"" + std::string(port_text) + "\"");
    url.port = static_cast<uint16_t>(port);
  } else {
    url.port = url.tls() ? 443 : 80;
  }
  size_t q = tail.find_first_of("?#");
  if (q != std::string_view::npos) {
    if (tail[q] == '?') return fail("a query is not allowed (send credentials as headers)");
    return fail("a fragment (\"" + std::string(tail.substr(q)) + "\") is not allowed");
  }
  std::string_view path = tail;
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  url.path_prefix = std::string(path);
  return url;
}

std::string JoinPath(std::string_view prefix, std::string_view target) {
  if (prefix.empty()) return std::string(target);
  if (target.empty() || target.front() != '/') {
    // "*" (OPTIONS *) or an empty target: the prefix itself names the resource.
    return std::string(prefix);
  }
  if (target.substr(0, prefix.size()) == prefix) {
    std::string_view after = target.substr(prefix.size());
    if (after.empty() || after.front() == '/' || after.front() == '?') return std::string(target);
  }
  return std::string(prefix) + std::string(target);
}

Result<UpstreamMount> ParseUpstreamMount(std::string_view text) {
  UpstreamMount mount;
  // "NAME=URL": a URL never has '=' before its "://", so the first '=' ahead of any ':' or '/'
  // ends a name.
  const size_t eq = text.find('=');
  if (eq != std::string_view::npos &&
      text.substr(0, eq).find_first_of(":/") == std::string_view::npos) {
    std::string_view name = text.substr(0, eq);
    if (!cassette::IsValidMountName(name)) {
      return InvalidArgumentError("--upstream \"" + std::string(text) + "\": mount name \"" +
                                  std::string(name) +
                                  "\" must be 1 to 64 of a-z, 0-9, '_' and '-', starting with a "
                                  "letter or digit (e.g. anthropic=https://api.anthropic.com)");
    }
    mount.name = std::string(name);
    text.remove_prefix(eq + 1);
  }
  Result<UpstreamUrl> url = ParseUpstreamUrl(text);
  if (!url.ok()) return url.status();
  mount.url = std::move(*url);
  return mount;
}

std::optional<MountedTarget> FindMount(const std::vector<UpstreamMount>& mounts,
                                       std::string_view target) {
  if (target.empty() || target.front() != '/') return std::nullopt;
  for (size_t i = 0; i < mounts.size(); ++i) {
    const std::string& name = mounts[i].name;
    if (name.empty() || target.substr(1, name.size()) != name) continue;
    std::string_view rest = target.substr(1 + name.size());
    if (!rest.empty() && rest.front() != '/' && rest.front() != '?') continue;
    MountedTarget out;
    out.mount = i;
    out.target = rest.empty() || rest.front() == '?' ? "/" + std::string(rest) : std::string(rest);
    return out;
  }
  return std::nullopt;
}

}  // namespace td::proxy
