// File: cassette/base/ascii.h
//
// ASCII character classes and case-insensitive string helpers, locale-free (std::tolower and
// friends depend on the C locale and on signedness; HTTP field names, JSON keys and key shapes
// are ASCII by definition). The one home of these helpers: every module uses them, none keeps
// its own copy.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace td {

constexpr bool IsDigit(char c) { return c >= '0' && c <= '9'; }
constexpr bool IsUpper(char c) { return c >= 'A' && c <= 'Z'; }
constexpr bool IsLower(char c) { return c >= 'a' && c <= 'z'; }
constexpr bool IsAlpha(char c) { return IsUpper(c) || IsLower(c); }
constexpr bool IsAlnum(char c) { return IsDigit(c) || IsAlpha(c); }
constexpr bool IsHex(char c) {
  return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
// Space or horizontal tab: the white space inside HTTP field values (RFC 9110 OWS).
constexpr bool IsSpaceOrTab(char c) { return c == ' ' || c == '\t'; }

constexpr char ToLowerAscii(char c) { return IsUpper(c) ? static_cast<char>(c - 'A' + 'a') : c; }

// `s` with A-Z turned to a-z; every other byte as it was.
inline std::string ToLowerAscii(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = ToLowerAscii(c);
  return out;
}

// Equal ignoring the case of A-Z (HTTP field names, JSON key matching).
constexpr bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (ToLowerAscii(a[i]) != ToLowerAscii(b[i])) return false;
  }
  return true;
}

// `prefix` stands at `pos` in `text` (false when `pos` is past the end).
constexpr bool StartsWithAt(std::string_view text, size_t pos, std::string_view prefix) {
  // The first two bytes compared inline: the secret scanner asks this at most word starts, of
  // prefixes that share the word's first byte, and most differ at the second, so the call to
  // compare (memcmp) is rarely made.
  return pos <= text.size() && text.size() - pos >= prefix.size() &&
         (prefix.empty() || text[pos] == prefix[0]) &&
         (prefix.size() < 2 || text[pos + 1] == prefix[1]) &&
         text.compare(pos, prefix.size(), prefix) == 0;
}

// `prefix` stands at `pos` in `text`, ignoring the case of A-Z in `text`. `lower_prefix` must be
// lower case.
constexpr bool StartsWithIgnoreCaseAt(std::string_view text, size_t pos,
                                      std::string_view lower_prefix) {
  if (pos > text.size() || text.size() - pos < lower_prefix.size()) return false;
  for (size_t k = 0; k < lower_prefix.size(); ++k) {
    if (ToLowerAscii(text[pos + k]) != lower_prefix[k]) return false;
  }
  return true;
}

// `s` without leading and trailing spaces and tabs.
constexpr std::string_view TrimSpaceAndTab(std::string_view s) {
  while (!s.empty() && IsSpaceOrTab(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpaceOrTab(s.back())) s.remove_suffix(1);
  return s;
}

// `text` in double quotes for a one-line message or log: '"' and '\\' backslash-escaped, \n \r
// \t spelled so, other control bytes as \xNN; past `max_bytes` of input it is cut and "..."
// follows the closing quote. For names a peer or a file chose (a TLS server name, a cassette
// name, a URL typed on the command line).
inline std::string QuoteForMessage(std::string_view text,
                                   size_t max_bytes = std::string_view::npos) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (char c : text.substr(0, max_bytes)) {
    auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (u < 0x20 || u == 0x7f) {
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 0xf];
    } else {
      out += c;
    }
  }
  out += '"';
  if (text.size() > max_bytes) out += "...";
  return out;
}

}  // namespace td
