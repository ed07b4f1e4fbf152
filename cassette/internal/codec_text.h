// File: cassette/internal/codec_text.h
//
// Small text helpers the cassette codec needs and nlohmann does not give safely: a strict UTF-8
// check (nlohmann's dump() throws on bad UTF-8), base64, RFC 3339 timestamps back to
// microseconds, a JSON nesting-depth scan (nlohmann's dump() recurses, so deep input must be
// refused before it can exhaust the stack) and sizes for messages. Header-only, no allocation
// beyond the results.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "cassette/base/clock.h"

namespace td::cassette::internal {

// JSON bodies nested deeper than this are stored as text; cassette lines deeper than
// kMaxJsonDepth + kLineDepthSlack are rejected before parsing.
inline constexpr size_t kMaxJsonDepth = 512;
inline constexpr size_t kLineDepthSlack = 8;

// "4 GiB", "12 MiB" or "1000 bytes", for limits in messages.
inline std::string FormatSize(std::uint64_t bytes) {
  if (bytes >= (std::uint64_t{1} << 30) && bytes % (std::uint64_t{1} << 30) == 0) {
    return std::to_string(bytes >> 30) + " GiB";
  }
  if (bytes >= (std::uint64_t{1} << 20) && bytes % (std::uint64_t{1} << 20) == 0) {
    return std::to_string(bytes >> 20) + " MiB";
  }
  return std::to_string(bytes) + " bytes";
}

// The length of the longest prefix of `s` that is well-formed UTF-8: no overlong forms, no
// surrogates (U+D800..U+DFFF), nothing above U+10FFFF, no truncated sequences. It is `s.size()`
// when all of `s` is; otherwise it is the offset of the first sequence that is not.
inline size_t Utf8ValidPrefix(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  size_t i = 0;
  while (i < n) {
    const unsigned char c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    std::uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
      cp = c & 0x1Fu;
    } else if ((c & 0xF0u) == 0xE0u) {
      len = 3;
      cp = c & 0x0Fu;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      cp = c & 0x07u;
    } else {
      return i;  // continuation byte first, C0/C1 (always overlong), or F5..FF
    }
    if (n - i < len) return i;
    for (size_t k = 1; k < len; ++k) {
      const unsigned char cc = p[i + k];
      if ((cc & 0xC0u) != 0x80u) return i;
      cp = (cp << 6) | (cc & 0x3Fu);
    }
    if (len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) return i;
    if (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) return i;
    i += len;
  }
  return n;
}

// True when `s` is well-formed UTF-8 (see Utf8ValidPrefix).
inline bool IsValidUtf8(std::string_view s) { return Utf8ValidPrefix(s) == s.size(); }

// Standard base64 (RFC 4648 section 4) with '=' padding.
inline std::string Base64Encode(std::string_view in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  const auto* p = reinterpret_cast<const unsigned char*>(in.data());
  size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    const std::uint32_t v = (std::uint32_t{p[i]} << 16) | (std::uint32_t{p[i + 1]} << 8) | p[i + 2];
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  const size_t rest = in.size() - i;
  if (rest == 1) {
    const std::uint32_t v = std::uint32_t{p[i]} << 16;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += "==";
  } else if (rest == 2) {
    const std::uint32_t v = (std::uint32_t{p[i]} << 16) | (std::uint32_t{p[i + 1]} << 8);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

// Decodes strict base64: the standard alphabet, length a multiple of 4, '=' only as padding at
// the end, no whitespace, and unused bits of the last group zero (so each byte string has one
// spelling). Returns std::nullopt on anything else; `*bad_offset` gets the offending offset.
inline std::optional<std::string> Base64Decode(std::string_view in, size_t* bad_offset = nullptr) {
  auto value_of = [](char ch) -> int {
    if (ch >= 'A' && ch <= 'Z') return ch - 'A';
    if (ch >= 'a' && ch <= 'z') return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9') return ch - '0' + 52;
    if (ch == '+') return 62;
    if (ch == '/') return 63;
    return -1;
  };
  auto fail = [&](size_t at) -> std::optional<std::string> {
    if (bad_offset) *bad_offset = at;
    return std::nullopt;
  };
  if (in.size() % 4 != 0) return fail(in.size());
  std::string out;
  out.reserve(in.size() / 4 * 3);
  for (size_t i = 0; i < in.size(); i += 4) {
    const bool last = i + 4 == in.size();
    int v[4];
    int pad = 0;
    for (size_t k = 0; k < 4; ++k) {
      const char ch = in[i + k];
      if (ch == '=' && last && k >= 2) {
        // Padding: only "xx==" or "xxx=".
        if (k == 2 && in[i + 3] != '=') return fail(i + k);
        v[k] = 0;
        ++pad;
        continue;
      }
      v[k] = value_of(ch);
      if (v[k] < 0 || pad > 0) return fail(i + k);
    }
    const std::uint32_t bits =
        (static_cast<std::uint32_t>(v[0]) << 18) | (static_cast<std::uint32_t>(v[1]) << 12) |
        (static_cast<std::uint32_t>(v[2]) << 6) | static_cast<std::uint32_t>(v[3]);
    if (pad == 2 && (bits & 0xFFFFu) != 0) return fail(i + 1);
    if (pad == 1 && (bits & 0xFFu) != 0) return fail(i + 2);
    out += static_cast<char>((bits >> 16) & 0xFF);
    if (pad < 2) out += static_cast<char>((bits >> 8) & 0xFF);
    if (pad < 1) out += static_cast<char>(bits & 0xFF);
  }
  return out;
}

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
inline std::int64_t DaysFromCivil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

// Parses "YYYY-MM-DDTHH:MM:SS[.F]Z" (UTC only, 1 to 9 fraction digits; digits past the sixth are
// dropped) into microseconds since the Unix epoch. The inverse of td::FormatRfc3339Micros.
inline std::optional<Micros> ParseRfc3339Micros(std::string_view s) {
  auto digits = [&](size_t pos, size_t count, int* out) {
    if (pos + count > s.size()) return false;
    int v = 0;
    for (size_t k = 0; k < count; ++k) {
      const char ch = s[pos + k];
      if (ch < '0' || ch > '9') return false;
      v = v * 10 + (ch - '0');
    }
    *out = v;
    return true;
  };
  int year, month, day, hour, minute, second;
  if (s.size() < 20 || !digits(0, 4, &year) || s[4] != '-' || !digits(5, 2, &month) ||
      s[7] != '-' || !digits(8, 2, &day) || s[10] != 'T' || !digits(11, 2, &hour) || s[13] != ':' ||
      !digits(14, 2, &minute) || s[16] != ':' || !digits(17, 2, &second)) {
    return std::nullopt;
  }
  size_t pos = 19;
  Micros frac = 0;
  if (s[pos] == '.') {
    ++pos;
    size_t count = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (count < 6) frac = frac * 10 + (s[pos] - '0');
      ++count;
      ++pos;
    }
    if (count == 0 || count > 9) return std::nullopt;
    for (size_t k = count; k < 6; ++k) frac *= 10;
  }
  if (pos + 1 != s.size() || s[pos] != 'Z') return std::nullopt;
  static constexpr int kDaysInMonth[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (month < 1 || month > 12 || day < 1 || day > kDaysInMonth[month - 1] || hour > 23 ||
      minute > 59 || second > 59) {
    return std::nullopt;
  }
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  if (month == 2 && day == 29 && !leap) return std::nullopt;
  const std::int64_t days =
      DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  const std::int64_t secs = days * 86400 + hour * 3600 + minute * 60 + second;
  return secs * 1000000 + frac;
}

// The deepest nesting of '[' and '{' in `json`, outside strings. Linear, no parsing, so it is
// safe on any input; used to refuse input that nlohmann would dump() by deep recursion.
inline size_t JsonNestingDepth(std::string_view json) {
  size_t depth = 0;
  size_t max_depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (const char ch : json) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (ch == '\\') {
        escaped = true;
      } else if (ch == '"') {
        in_string = false;
      }
      continue;
    }
    if (ch == '"') {
      in_string = true;
    } else if (ch == '[' || ch == '{') {
      if (++depth > max_depth) max_depth = depth;
    } else if ((ch == ']' || ch == '}') && depth > 0) {
      --depth;
    }
  }
  return max_depth;
}

}  // namespace td::cassette::internal
