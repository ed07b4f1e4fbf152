// A strict JSON parser for one cassette line that builds an ordered_json DOM with one copy of
// each string, sized once. Recursive descent, depth-bounded; every failure records the column.
#include "cassette/internal/json_line.h"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <limits>
#include <system_error>
#include <unordered_map>
#include <utility>

#include "cassette/internal/codec_text.h"

namespace td::cassette::internal {
namespace {

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

class LineParser {
 public:
  LineParser(std::string_view text, size_t max_depth, std::uint64_t max_tree_bytes)
      : s_(text), max_depth_(max_depth), max_tree_bytes_(max_tree_bytes) {}

  bool Parse(Json* out) {
    if (s_.size() >= 3 && s_.substr(0, 3) == "\xEF\xBB\xBF") pos_ = 3;  // as nlohmann does
    if (!Value(out, 0)) return false;
    SkipSpace();
    if (pos_ != s_.size()) return Fail(pos_);
    return true;
  }

  // The 1-based column of the failure, and whether it was the depth limit.
  size_t error_column() const { return error_pos_ + 1; }
  bool too_deep() const { return too_deep_; }
  bool too_big() const { return too_big_; }

 private:
  bool Fail(size_t pos) {
    error_pos_ = pos;
    return false;
  }

  void SkipSpace() {
    while (pos_ < s_.size()) {
      const char c = s_[pos_];
      if (c != ' ' && c != '\t' && c != '\n' && c != '\r') return;
      ++pos_;
    }
  }

  // Counts `bytes` more of the tree about to be built; false (a failure) past the budget, so a
  // line of many tiny values ("[[],[],...]" takes ~20 bytes of tree per byte of text) is refused
  // before it is built. An estimate of what ordered_json allocates, not a measure.
  bool Charge(std::uint64_t bytes) {
    tree_bytes_ += bytes;
    if (tree_bytes_ <= max_tree_bytes_) return true;
    too_big_ = true;
    return Fail(pos_);
  }

  bool Value(Json* out, size_t depth) {
    // Its slot in the parent, twice: vectors grow by doubling, so up to half is spare.
    if (!Charge(2 * sizeof(Json))) return false;
    SkipSpace();
    if (pos_ == s_.size()) return Fail(pos_);
    switch (s_[pos_]) {
      case '{':
        return Object(out, depth + 1);
      case '[':
        return Array(out, depth + 1);
      case '"': {
        if (!Charge(kHeapBlock)) return false;  // the tree holds a string by pointer
        std::string value;
        if (!String(&value)) return false;
        *out = Json(std::move(value));
        return true;
      }
      case 't':
        return Literal("true", Json(true), out);
      case 'f':
        return Literal("false", Json(false), out);
      case 'n':
        return Literal("null", Json(nullptr), out);
      default:
        return Number(out);
    }
  }

  bool Literal(std::string_view word, Json value, Json* out) {
    for (size_t k = 0; k < word.size(); ++k) {
      if (pos_ + k >= s_.size() || s_[pos_ + k] != word[k]) return Fail(pos_ + k);
    }
    pos_ += word.size();
    *out = std::move(value);
    return true;
  }

  bool Object(Json* out, size_t depth) {
    if (depth > max_depth_) {
      too_deep_ = true;
      return Fail(pos_);
    }
    if (!Charge(sizeof(Json::object_t) + kHeapBlock)) return false;
    ++pos_;  // '{'
    *out = Json::object();
    std::unordered_map<std::string, size_t> index;  // key -> place, once the object is large
    SkipSpace();
    if (pos_ < s_.size() && s_[pos_] == '}') {
      ++pos_;
      return true;
    }
    for (;;) {
      SkipSpace();
      if (pos_ == s_.size() || s_[pos_] != '"') return Fail(pos_);
      std::string key;
      if (!String(&key)) return false;
      SkipSpace();
      if (pos_ == s_.size() || s_[pos_] != ':') return Fail(pos_);
      ++pos_;
      Json* slot = nullptr;
      if (!Member(out, std::move(key), &index, &slot)) return false;
      if (!Value(slot, depth)) return false;
      SkipSpace();
      if (pos_ == s_.size()) return Fail(pos_);
      if (s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (s_[pos_] != '}') return Fail(pos_);
      ++pos_;
      return true;
    }
  }

  // The slot for `key` in `object`: a repeated key keeps its first place and takes the last
  // value, as in nlohmann's parser. ordered_map finds a key by scanning, so a large object
  // (hostile: a million keys) gets `index` to keep parsing linear.
  bool Member(Json* object, std::string key, std::unordered_map<std::string, size_t>* index,
              Json** slot) {
    Json::object_t& members = object->get_ref<Json::object_t&>();
    if (members.size() < kScannedKeys) {
      *slot = &(*object)[std::move(key)];
      return true;
    }
    if (index->empty()) {
      for (size_t i = 0; i < members.size(); ++i) index->emplace((members.begin() + i)->first, i);
    }
    if (!Charge(sizeof(std::string) + 4 * sizeof(void*) + (key.size() > 15 ? key.size() : 0))) {
      return false;
    }
    const auto [it, added] = index->emplace(key, members.size());
    if (!added) {
      *slot = &(members.begin() + it->second)->second;
      return true;
    }
    members.Json::object_t::Container::emplace_back(std::move(key), Json());
    *slot = &members.back().second;
    return true;
  }

  bool Array(Json* out, size_t depth) {
    if (depth > max_depth_) {
      too_deep_ = true;
      return Fail(pos_);
    }
    if (!Charge(sizeof(Json::array_t) + kHeapBlock)) return false;
    ++pos_;  // '['
    *out = Json::array();
    Json::array_t& items = out->get_ref<Json::array_t&>();
    SkipSpace();
    if (pos_ < s_.size() && s_[pos_] == ']') {
      ++pos_;
      return true;
    }
    for (;;) {
      items.emplace_back();
      if (!Value(&items.back(), depth)) return false;
      SkipSpace();
      if (pos_ == s_.size()) return Fail(pos_);
      if (s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (s_[pos_] != ']') return Fail(pos_);
      ++pos_;
      return true;
    }
  }

  // Reads four hex digits at pos_.
  bool Hex4(std::uint32_t* out) {
    std::uint32_t v = 0;
    for (size_t k = 0; k < 4; ++k) {
      if (pos_ == s_.size()) return Fail(pos_);
      const int h = HexValue(s_[pos_]);
      if (h < 0) return Fail(pos_);
      v = (v << 4) | static_cast<std::uint32_t>(h);
      ++pos_;
    }
    *out = v;
    return true;
  }

  // pos_ is at the opening quote. The decoded string is never longer than its spelling, so one
  // reserve of the spelling's length is the only allocation.
  bool String(std::string* out) {
    ++pos_;
    size_t end = pos_;
    while (end < s_.size() && s_[end] != '"') end += s_[end] == '\\' ? 2 : 1;
    if (end > s_.size()) end = s_.size();
    const size_t spelt = end - pos_;
    if (!Charge(sizeof(std::string) + (spelt > 15 ? spelt + 1 : 0))) return false;
    out->reserve(spelt);
    for (;;) {
      // A run of plain bytes: up to a quote, a backslash or a control character.
      size_t run = pos_;
      while (run < s_.size()) {
        const auto c = static_cast<unsigned char>(s_[run]);
        if (c == '"' || c == '\\' || c < 0x20) break;
        ++run;
      }
      const std::string_view plain = s_.substr(pos_, run - pos_);
      const size_t valid = Utf8ValidPrefix(plain);
      if (valid != plain.size()) return Fail(pos_ + valid);
      out->append(plain);
      pos_ = run;
      if (pos_ == s_.size()) return Fail(pos_);
      const char c = s_[pos_];
      if (c == '"') {
        ++pos_;
        return true;
      }
      if (c != '\\') return Fail(pos_);  // a control character must be escaped
      ++pos_;
      if (pos_ == s_.size()) return Fail(pos_);
      const char e = s_[pos_++];
      switch (e) {
        case '"':
        case '\\':
        case '/':
          *out += e;
          break;
        case 'b':
          *out += '\b';
          break;
        case 'f':
          *out += '\f';
          break;
        case 'n':
          *out += '\n';
          break;
        case 'r':
          *out += '\r';
          break;
        case 't':
          *out += '\t';
          break;
        case 'u': {
          std::uint32_t cp = 0;
          if (!Hex4(&cp)) return false;
          if (cp >= 0xDC00 && cp <= 0xDFFF) return Fail(pos_ - 1);  // a lone low surrogate
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (pos_ + 1 >= s_.size() || s_[pos_] != '\\' || s_[pos_ + 1] != 'u') {
              return Fail(pos_);
            }
            pos_ += 2;
            std::uint32_t low = 0;
            if (!Hex4(&low)) return false;
            if (low < 0xDC00 || low > 0xDFFF) return Fail(pos_ - 1);
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          }
          AppendUtf8(cp, out);
          break;
        }
        default:
          return Fail(pos_ - 1);
      }
    }
  }

  // -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?, typed as nlohmann types it: an integer
  // without '-' is unsigned, with '-' signed, either one that overflows 64 bits is a double.
  bool Number(Json* out) {
    const size_t start = pos_;
    const bool negative = s_[pos_] == '-';
    if (negative) ++pos_;
    if (pos_ == s_.size()) return Fail(pos_);
    if (s_[pos_] == '0') {
      ++pos_;
    } else if (IsDigit(s_[pos_])) {
      while (pos_ < s_.size() && IsDigit(s_[pos_])) ++pos_;
    } else {
      return Fail(pos_);
    }
    const size_t int_end = pos_;
    bool is_float = false;
    if (pos_ < s_.size() && s_[pos_] == '.') {
      ++pos_;
      if (pos_ == s_.size() || !IsDigit(s_[pos_])) return Fail(pos_);
      while (pos_ < s_.size() && IsDigit(s_[pos_])) ++pos_;
      is_float = true;
    }
    size_t exp_start = std::string_view::npos;
    if (pos_ < s_.size() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
      exp_start = pos_;
      ++pos_;
      if (pos_ < s_.size() && (s_[pos_] == '+' || s_[pos_] == '-')) ++pos_;
      if (pos_ == s_.size() || !IsDigit(s_[pos_])) return Fail(pos_);
      while (pos_ < s_.size() && IsDigit(s_[pos_])) ++pos_;
      is_float = true;
    }
    const char* first = s_.data() + start;
    const char* last = s_.data() + pos_;
    if (!is_float) {
      if (negative) {
        std::int64_t v = 0;
        if (std::from_chars(first, last, v).ec == std::errc{}) {
          *out = Json(v);
          return true;
        }
      } else {
        std::uint64_t v = 0;
        if (std::from_chars(first, last, v).ec == std::errc{}) {
          *out = Json(v);
          return true;
        }
      }
    }
    double v = 0;
    const std::from_chars_result r = std::from_chars(first, last, v);
    if (r.ec == std::errc::result_out_of_range) {
      // Too small rounds to zero (strtod's answer, which nlohmann keeps); too large is refused,
      // as nlohmann refuses it ("number overflow").
      if (!Underflows(start + (negative ? 1 : 0), int_end, exp_start)) return Fail(start);
      v = negative ? -0.0 : 0.0;
    } else if (r.ec != std::errc{} || r.ptr != last) {
      return Fail(start);
    }
    *out = Json(v);
    return true;
  }

  // True when the number spelt from `digits` (its integer part ends at `int_end`, its 'e' is at
  // `exp_start`, npos for none) is below 1 in magnitude, so out of range means underflow.
  bool Underflows(size_t digits, size_t int_end, size_t exp_start) const {
    // The decimal exponent of the first non-zero digit: 0 for "1.5", -3 for "0.0012".
    std::int64_t magnitude = 0;
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

  // What malloc adds to each block, and what every heap-held part of the tree costs besides.
  static constexpr std::uint64_t kHeapBlock = 16;
  // Objects with fewer keys are searched by ordered_map's scan; larger ones through an index.
  static constexpr size_t kScannedKeys = 32;

  std::string_view s_;
  size_t max_depth_;
  std::uint64_t max_tree_bytes_;
  size_t pos_ = 0;
  size_t error_pos_ = 0;
  std::uint64_t tree_bytes_ = 0;
  bool too_deep_ = false;
  bool too_big_ = false;
};

}  // namespace

bool ParseJsonLine(std::string_view text, size_t max_depth, Json* out, std::string* why,
                   std::uint64_t max_tree_bytes, bool* too_big) {
  if (too_big != nullptr) *too_big = false;
  LineParser parser(text, max_depth, max_tree_bytes);
  Json value;
  bool ok = false;
  try {
    ok = parser.Parse(&value);
  } catch (const Json::exception& e) {
    // Nothing above should throw (every access is checked first); this is a last defence.
    *why = std::string("invalid JSON: ") + e.what();
    return false;
  }
  if (!ok) {
    if (parser.too_big()) {
      if (too_big != nullptr) *too_big = true;
      *why = "its JSON would take more than " + FormatSize(max_tree_bytes) + " of memory";
    } else if (parser.too_deep()) {
      *why = "JSON nested deeper than " + std::to_string(max_depth) + " levels";
    } else {
      *why = "invalid JSON at column " + std::to_string(parser.error_column());
    }
    return false;
  }
  *out = std::move(value);
  return true;
}

}  // namespace td::cassette::internal
