// JsonScanner: strings (escapes, surrogate pairs, UTF-8), numbers typed as nlohmann types them,
// literals and a validating skip. internal/json_line.cc is the tree-building twin these rules
// were taken from (tests/unit/cassette/json_scan_test.cc holds the scanner to nlohmann's answer).
#include "cassette/json_scan.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <array>
#include <charconv>
#include <cstring>
#include <memory>
#include <system_error>

#include "cassette/internal/codec_text.h"

namespace td::cassette {
namespace {

// What a byte is inside a string.
enum : std::uint8_t { kPlain = 0, kQuote, kBackslash, kControl, kHigh };

constexpr std::array<std::uint8_t, 256> kStringBytes = [] {
  std::array<std::uint8_t, 256> t{};
  for (int b = 0; b < 0x20; ++b) t[b] = kControl;
  t['"'] = kQuote;
  t['\\'] = kBackslash;
  for (int b = 0x80; b < 0x100; ++b) t[b] = kHigh;
  return t;
}();

// What each short escape ("\\n") stands for, by the byte after the backslash; 0 for the rest.
constexpr std::array<char, 256> kShortEscapes = [] {
  std::array<char, 256> t{};
  t['"'] = '"';
  t['\\'] = '\\';
  t['/'] = '/';
  t['b'] = '\b';
  t['f'] = '\f';
  t['n'] = '\n';
  t['r'] = '\r';
  t['t'] = '\t';
  return t;
}();

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void AppendUtf8(std::uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    *out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    *out += static_cast<char>(0xC0 | (cp >> 6));
    *out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    *out += static_cast<char>(0xE0 | (cp >> 12));
    *out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    *out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    *out += static_cast<char>(0xF0 | (cp >> 18));
    *out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    *out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    *out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// True for the control characters nlohmann's dump writes as "\u00xx" (it has short forms for
// \b \f \n \r \t).
bool DumpedAsU(std::uint32_t cp) {
  return cp < 0x20 && cp != '\b' && cp != '\f' && cp != '\n' && cp != '\r' && cp != '\t';
}

}  // namespace

bool JsonScanner::Hex4(std::uint32_t* out) {
  if (s_.size() - pos_ < 4) {
    pos_ = s_.size();
    return false;
  }
  std::uint32_t v = 0;
  for (size_t k = 0; k < 4; ++k) {
    const int h = HexValue(s_[pos_]);
    if (h < 0) return false;
    v = (v << 4) | static_cast<std::uint32_t>(h);
    ++pos_;
  }
  *out = v;
  return true;
}

bool JsonScanner::Escape(std::string* out, bool* dump_form) {
  if (pos_ == s_.size()) return false;
  const char e = s_[pos_++];
  char value = 0;
  switch (e) {
    case '"':
    case '\\':
      value = e;
      break;
    case '/':
      value = '/';
      *dump_form = false;
      break;
    case 'b':
      value = '\b';
      break;
    case 'f':
      value = '\f';
      break;
    case 'n':
      value = '\n';
      break;
    case 'r':
      value = '\r';
      break;
    case 't':
      value = '\t';
      break;
    case 'u': {
      const size_t hex = pos_;
      std::uint32_t cp = 0;
      if (!Hex4(&cp)) return false;
      if (cp >= 0xDC00 && cp <= 0xDFFF) {  // a lone low surrogate
        pos_ -= 1;
        return false;
      }
      if (cp >= 0xD800 && cp <= 0xDBFF) {
        if (s_.size() - pos_ < 2 || s_[pos_] != '\\' || s_[pos_ + 1] != 'u') return false;
        pos_ += 2;
        std::uint32_t low = 0;
        if (!Hex4(&low)) return false;
        if (low < 0xDC00 || low > 0xDFFF) {
          pos_ -= 1;
          return false;
        }
        cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
        *dump_form = false;
      } else if (!DumpedAsU(cp) ||
                 s_.substr(hex, 4).find_first_of("ABCDEF") != std::string_view::npos) {
        *dump_form = false;
      }
      if (out != nullptr) AppendUtf8(cp, out);
      return true;
    }
    default:
      pos_ -= 1;
      return false;
  }
  if (out != nullptr) *out += value;
  return true;
}

namespace {

// The end of the run of plain string bytes (printable ASCII but '"' and '\\') at `i`: 16 bytes
// a step where SSE2 is there (every x86-64), then one at a time.
size_t PlainRunEnd(const unsigned char* p, size_t i, size_t n) {
#if defined(__SSE2__)
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i backslash = _mm_set1_epi8('\\');
  const __m128i space = _mm_set1_epi8(0x20);
  while (n - i >= 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
    // Signed, bytes >= 0x80 are below 0x20 too: one compare finds controls and non-ASCII.
    const __m128i special =
        _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)),
                     _mm_cmplt_epi8(v, space));
    const int mask = _mm_movemask_epi8(special);
    if (mask != 0) return i + static_cast<size_t>(__builtin_ctz(static_cast<unsigned>(mask)));
    i += 16;
  }
#endif
  while (i < n && kStringBytes[p[i]] == kPlain) ++i;
  return i;
}

// PlainRunEnd that also copies the run to `*w` (and moves it on). Where SSE2 is there it stores
// each 16-byte block whole before looking at it, so `*w` needs 16 bytes of room past the run.
size_t CopyPlainRun(const unsigned char* p, size_t i, size_t n, char** w) {
#if defined(__SSE2__)
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i backslash = _mm_set1_epi8('\\');
  const __m128i space = _mm_set1_epi8(0x20);
  while (n - i >= 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(*w), v);
    const __m128i special =
        _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)),
                     _mm_cmplt_epi8(v, space));
    const int mask = _mm_movemask_epi8(special);
    if (mask != 0) {
      const size_t k = static_cast<size_t>(__builtin_ctz(static_cast<unsigned>(mask)));
      *w += k;
      return i + k;
    }
    i += 16;
    *w += 16;
  }
#endif
  while (i < n && kStringBytes[p[i]] == kPlain) *(*w)++ = static_cast<char>(p[i++]);
  return i;
}

// The end of the run of bytes >= 0x80 at `i`, when it is whole UTF-8 sequences; `i` plus the
// valid prefix otherwise (a run of bytes >= 0x80 holds whole sequences or is not UTF-8).
size_t Utf8RunEnd(std::string_view s, size_t i, bool* valid) {
  size_t end = i;
  while (end < s.size() && static_cast<unsigned char>(s[end]) >= 0x80) ++end;
  const size_t good = internal::Utf8ValidPrefix(s.substr(i, end - i));
  *valid = i + good == end;
  return i + good;
}

}  // namespace

bool JsonScanner::ScanString(StringSpan* out) {
  if (!Consume('"')) return false;
  const size_t start = pos_;
  const auto* p = reinterpret_cast<const unsigned char*>(s_.data());
  const size_t n = s_.size();
  out->escaped = false;
  out->dump_form = true;
  size_t i = pos_;  // a local: stores through `p` could otherwise alias pos_
  for (;;) {
    i = PlainRunEnd(p, i, n);
    if (i == n) {
      pos_ = i;
      return false;
    }
    switch (kStringBytes[p[i]]) {
      case kQuote:
        out->raw = s_.substr(start, i - start);
        pos_ = i + 1;
        return true;
      case kBackslash:
        pos_ = i + 1;
        out->escaped = true;
        if (!Escape(nullptr, &out->dump_form)) return false;
        i = pos_;
        break;
      case kHigh: {
        bool valid = false;
        i = Utf8RunEnd(s_, i, &valid);
        if (!valid) {
          pos_ = i;
          return false;
        }
        break;
      }
      default:  // a control character must be escaped
        pos_ = i;
        return false;
    }
  }
}

bool JsonScanner::ReadString(std::string* out) {
  if (Peek() != '"') return false;
  const size_t n = s_.size();
  if (n - pos_ > kMaxBuffer) {
    // A long text: checked in one pass and decoded into `out` in a second, reserved once at
    // the spelt length, so a long string is held once besides the text (the reader's memory
    // bound, docs/cassette-format.md "Limits").
    StringSpan span;
    if (!ScanString(&span)) return false;
    AppendDecoded(span, out);
    return true;
  }
  ++pos_;  // '"'
  const auto* p = reinterpret_cast<const unsigned char*>(s_.data());
  // Decoded into the scanner's buffer first, then copied once: `out` gets one allocation of the
  // right size rather than growing as escapes are appended. A value is never longer than its
  // spelling, which ends before the text does, so the buffer needs no check as it fills.
  // (16 bytes more: plain runs are copied 16 bytes at a time, the last block whole.)
  if (buffer_size_ < n - pos_ + 16) {
    buffer_size_ = n - pos_ + 16;
    buffer_ = std::make_unique_for_overwrite<char[]>(buffer_size_);
  }
  char* const begin = buffer_.get();
  char* w = begin;
  bool dump_form = true;
  size_t i = pos_;
  for (;;) {
    // A run of plain bytes, copied as it is found: one pass over it, no call for a short one.
    i = CopyPlainRun(p, i, n, &w);
    if (i == n) {
      pos_ = i;
      return false;
    }
    const unsigned char c = p[i];
    if (c == '"') {
      pos_ = i + 1;
      out->append(begin, static_cast<size_t>(w - begin));
      return true;
    }
    if (c == '\\') {
      // The escapes that stand for one byte, without a call.
      const char simple = i + 1 < n ? kShortEscapes[p[i + 1]] : '\0';
      if (simple != '\0') {
        *w++ = simple;
        i += 2;
        continue;
      }
      pos_ = i + 1;
      escaped_.clear();
      if (!Escape(&escaped_, &dump_form)) return false;
      std::memcpy(w, escaped_.data(), escaped_.size());  // shorter than its escape
      w += escaped_.size();
      i = pos_;
      continue;
    }
    if (c >= 0x80) {
      bool valid = false;
      const size_t end = Utf8RunEnd(s_, i, &valid);
      std::memcpy(w, p + i, end - i);
      w += end - i;
      i = end;
      if (!valid) {
        pos_ = i;
        return false;
      }
      continue;
    }
    pos_ = i;  // a control character must be escaped
    return false;
  }
}

void JsonScanner::AppendDecoded(const StringSpan& span, std::string* out) {
  // The span was validated (ScanString): its escapes are whole and its bytes UTF-8.
  std::string_view raw = span.raw;
  out->reserve(out->size() + raw.size());
  for (;;) {
    const size_t backslash = raw.find('\\');
    out->append(raw.substr(0, backslash));
    if (backslash == std::string_view::npos) return;
    const char e = raw[backslash + 1];
    if (e != 'u') {
      *out += kShortEscapes[static_cast<unsigned char>(e)];
      raw.remove_prefix(backslash + 2);
      continue;
    }
    auto hex4 = [&](size_t at) {
      std::uint32_t v = 0;
      for (size_t k = 0; k < 4; ++k)
        v = (v << 4) | static_cast<std::uint32_t>(HexValue(raw[at + k]));
      return v;
    };
    std::uint32_t cp = hex4(backslash + 2);
    size_t used = 6;
    if (cp >= 0xD800 && cp <= 0xDBFF) {  // a high surrogate, and its low one after it
      cp = 0x10000 + ((cp - 0xD800) << 10) + (hex4(backslash + 8) - 0xDC00);
      used = 12;
    }
    AppendUtf8(cp, out);
    raw.remove_prefix(backslash + used);
  }
}

// -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
bool JsonScanner::ReadNumber(Number* out) {
  SkipSpace();
  const size_t start = pos_;
  const size_t n = s_.size();
  {
    // An integer of up to 18 digits (every time in a cassette, nearly every number in a body),
    // read in one pass; anything else goes the general way below.
    size_t i = start;
    const bool minus = i < n && s_[i] == '-';
    if (minus) ++i;
    const size_t digits = i;
    std::uint64_t v = 0;
    if (i < n && s_[i] == '0') {
      ++i;
    } else {
      while (i < n && i - digits < 18 && IsDigit(s_[i]))
        v = v * 10 + static_cast<unsigned>(s_[i++] - '0');
    }
    const char next = i < n ? s_[i] : '\0';
    if (i > digits && next != '.' && next != 'e' && next != 'E' && !IsDigit(next)) {
      pos_ = i;
      out->text = s_.substr(start, i - start);
      if (minus) {
        out->kind = Number::Kind::kSigned;
        out->i = -static_cast<std::int64_t>(v);
      } else {
        out->kind = Number::Kind::kUnsigned;
        out->u = v;
      }
      return true;
    }
  }
  if (pos_ == n) return false;
  const bool negative = s_[pos_] == '-';
  if (negative) ++pos_;
  if (pos_ == n) return false;
  if (s_[pos_] == '0') {
    ++pos_;
  } else if (IsDigit(s_[pos_])) {
    while (pos_ < n && IsDigit(s_[pos_])) ++pos_;
  } else {
    return false;
  }
  const size_t int_end = pos_;
  bool is_float = false;
  if (pos_ < n && s_[pos_] == '.') {
    ++pos_;
    if (pos_ == n || !IsDigit(s_[pos_])) return false;
    while (pos_ < n && IsDigit(s_[pos_])) ++pos_;
    is_float = true;
  }
  size_t exp_start = std::string_view::npos;
  if (pos_ < n && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
    exp_start = pos_;
    ++pos_;
    if (pos_ < n && (s_[pos_] == '+' || s_[pos_] == '-')) ++pos_;
    if (pos_ == n || !IsDigit(s_[pos_])) return false;
    while (pos_ < n && IsDigit(s_[pos_])) ++pos_;
    is_float = true;
  }
  const char* first = s_.data() + start;
  const char* last = s_.data() + pos_;
  out->text = s_.substr(start, pos_ - start);
  if (!is_float) {
    if (negative) {
      if (std::from_chars(first, last, out->i).ec == std::errc{}) {
        out->kind = Number::Kind::kSigned;
        return true;
      }
    } else if (std::from_chars(first, last, out->u).ec == std::errc{}) {
      out->kind = Number::Kind::kUnsigned;
      return true;
    }
  }
  out->kind = Number::Kind::kFloat;
  const std::from_chars_result r = std::from_chars(first, last, out->d);
  if (r.ec == std::errc::result_out_of_range) {
    // Too small rounds to zero (strtod's answer, which nlohmann keeps); too large is refused,
    // as nlohmann refuses it ("number overflow").
    if (!Underflows(start + (negative ? 1 : 0), int_end, exp_start)) {
      pos_ = start;
      return false;
    }
    out->d = negative ? -0.0 : 0.0;
  } else if (r.ec != std::errc{} || r.ptr != last) {
    pos_ = start;
    return false;
  }
  return true;
}

// True when the number spelt from `digits` (its integer part ends at `int_end`, its 'e' is at
// `exp_start`, npos for none; it ends at pos_) is below 1 in magnitude.
bool JsonScanner::Underflows(size_t digits, size_t int_end, size_t exp_start) const {
  std::int64_t magnitude = 0;  // the decimal exponent of the first non-zero digit
  const size_t mantissa_end = exp_start == std::string_view::npos ? pos_ : exp_start;
  size_t i = digits;
  while (i < int_end && s_[i] == '0') ++i;
  if (i < int_end) {
    magnitude = static_cast<std::int64_t>(int_end - i) - 1;
  } else {
    size_t j = int_end + 1;  // past '.'
    while (j < mantissa_end && s_[j] == '0') ++j;
    magnitude = -static_cast<std::int64_t>(j - int_end);
  }
  std::int64_t exponent = 0;
  if (exp_start != std::string_view::npos) {
    size_t k = exp_start + 1;
    bool exp_negative = false;
    if (s_[k] == '+' || s_[k] == '-') exp_negative = s_[k++] == '-';
    for (; k < pos_; ++k) {
      exponent = std::min<std::int64_t>(exponent * 10 + (s_[k] - '0'), 1'000'000'000'000);
    }
    if (exp_negative) exponent = -exponent;
  }
  return magnitude + exponent < 0;
}

bool JsonScanner::ReadLiteral(char* first) {
  const char c = Peek();
  std::string_view word = c == 't' ? "true" : c == 'f' ? "false" : c == 'n' ? "null" : "";
  if (word.empty() || s_.substr(pos_, word.size()) != word) return false;
  pos_ += word.size();
  *first = c;
  return true;
}

bool JsonScanner::SkipValue(size_t max_depth) {
  switch (Peek()) {
    case '"': {
      StringSpan ignored;
      return ScanString(&ignored);
    }
    case '{': {
      if (max_depth == 0) return false;
      ++pos_;
      if (Consume('}')) return true;
      do {
        StringSpan key;
        if (!ScanString(&key) || !Consume(':') || !SkipValue(max_depth - 1)) return false;
      } while (Consume(','));
      return Consume('}');
    }
    case '[': {
      if (max_depth == 0) return false;
      ++pos_;
      if (Consume(']')) return true;
      do {
        if (!SkipValue(max_depth - 1)) return false;
      } while (Consume(','));
      return Consume(']');
    }
    case 't':
    case 'f':
    case 'n': {
      char first = 0;
      return ReadLiteral(&first);
    }
    default: {
      Number ignored;
      return ReadNumber(&ignored);
    }
  }
}

}  // namespace td::cassette
