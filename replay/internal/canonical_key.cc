// Canonical keys: a recursive descent over the body with JsonScanner that hashes what the sorted
// dump would hold (objects as an unordered sum of their members, so key order does not matter)
// and adds up the length the dump would have, skipping what an ignored path reaches.
#include "replay/internal/canonical_key.h"

#include <cstring>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <unordered_set>

#include "cassette/json_scan.h"

namespace td::replay::internal {
namespace {

using cassette::JsonScanner;

constexpr size_t kMaxDepth = 512;
constexpr size_t kMaxPaths = 64;  // alive paths are a bit mask

// splitmix64's finaliser.
std::uint64_t Fmix(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

std::uint64_t Combine(std::uint64_t h, std::uint64_t v) {
  return Fmix(h ^ (v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2)));
}

std::uint64_t HashBytes(std::string_view bytes) {
  return Fmix(std::hash<std::string_view>{}(bytes) ^ (bytes.size() * 0x9e3779b97f4a7c15ull));
}

// Domain tags, so a value of one type never hashes like one of another.
enum : std::uint64_t {
  kNull = 1,
  kTrue,
  kFalse,
  kUnsigned,
  kNegative,
  kFloat,
  kString,
  kArray,
  kObject,
  kMember,
  kJsonBody,
  kTextBody,
  kRawCanonical,
};

// Appends how nlohmann's dump spells the string value `decoded` (without the quotes): '"', '\\'
// and the controls escaped (the short forms where there are some, else "\u00xx"), the rest as
// it is.
void AppendDumpSpelling(std::string_view decoded, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (const char ch : decoded) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
        *out += "\\\"";
        break;
      case '\\':
        *out += "\\\\";
        break;
      case '\b':
        *out += "\\b";
        break;
      case '\f':
        *out += "\\f";
        break;
      case '\n':
        *out += "\\n";
        break;
      case '\r':
        *out += "\\r";
        break;
      case '\t':
        *out += "\\t";
        break;
      default:
        if (c < 0x20) {
          *out += "\\u00";
          *out += kHex[c >> 4];
          *out += kHex[c & 15];
        } else {
          *out += ch;
        }
    }
  }
}

std::uint64_t DecimalDigits(std::uint64_t v) {
  std::uint64_t n = 1;
  while (v >= 10) {
    v /= 10;
    ++n;
  }
  return n;
}

class KeyReader {
 public:
  KeyReader(std::string_view json, const std::vector<cassette::JsonPath>& ignore)
      : s_(json), ignore_(ignore) {}

  bool Read(CanonicalKey* out) {
    if (ignore_.size() > kMaxPaths) return false;
    const std::uint64_t alive =
        ignore_.empty() ? 0
                        : (ignore_.size() == kMaxPaths ? ~std::uint64_t{0}
                                                       : (std::uint64_t{1} << ignore_.size()) - 1);
    std::uint64_t hash = 0;
    std::uint64_t size = 0;
    if (!Value(kMaxDepth, alive, 0, &hash, &size) || !s_.AtEnd()) return false;
    out->hash = Combine(kJsonBody, hash);
    out->size = size + 1;  // "j"
    return true;
  }

 private:
  // A string's hash and dumped size, both from how the dump spells its value: the text itself
  // when it is spelt that way already (nearly always: the value need not be decoded), else the
  // value decoded and spelt again.
  bool String(std::uint64_t* hash, std::uint64_t* size, JsonScanner::StringSpan* span) {
    if (!s_.ScanString(span)) return false;
    std::string_view spelling = span->raw;
    if (!span->dump_form) {
      decoded_.clear();
      JsonScanner::AppendDecoded(*span, &decoded_);
      spelling_.clear();
      AppendDumpSpelling(decoded_, &spelling_);
      spelling = spelling_;
    }
    *hash = Combine(kString, HashBytes(spelling));
    *size = spelling.size() + 2;
    return true;
  }

  // The value of a key ScanString read (for comparing with path segments).
  std::string_view KeyValue(const JsonScanner::StringSpan& span) {
    if (!span.escaped) return span.raw;
    key_.clear();
    JsonScanner::AppendDecoded(span, &key_);
    return key_;
  }

  // Whether path `p` ends at level `level` (its segment there is its last).
  bool EndsAt(size_t p, size_t level) const { return ignore_[p].segments().size() == level + 1; }

  // `alive`: the ignored paths whose first `level` segments lead here.
  bool Value(size_t depth, std::uint64_t alive, size_t level, std::uint64_t* hash,
             std::uint64_t* size) {
    switch (s_.Peek()) {
      case '{':
        return depth > 0 && Object(depth - 1, alive, level, hash, size);
      case '[':
        return depth > 0 && Array(depth - 1, alive, level, hash, size);
      case '"': {
        JsonScanner::StringSpan span;
        return String(hash, size, &span);
      }
      case 't':
      case 'f':
      case 'n': {
        char first = 0;
        if (!s_.ReadLiteral(&first)) return false;
        *hash = first == 't' ? kTrue : first == 'f' ? kFalse : kNull;
        *size = first == 'f' ? 5 : 4;
        return true;
      }
      default: {
        JsonScanner::Number n;
        if (!s_.ReadNumber(&n)) return false;
        switch (n.kind) {
          case JsonScanner::Number::Kind::kUnsigned:
            *hash = Combine(kUnsigned, n.u);
            *size = DecimalDigits(n.u);
            return true;
          case JsonScanner::Number::Kind::kSigned:
            if (n.i == 0) {  // "-0": nlohmann dumps it as "0"
              *hash = Combine(kUnsigned, 0);
              *size = 1;
              return true;
            }
            *hash = Combine(kNegative, static_cast<std::uint64_t>(n.i));
            *size = 1 + DecimalDigits(0 - static_cast<std::uint64_t>(n.i));
            return true;
          case JsonScanner::Number::Kind::kFloat: {
            std::uint64_t bits = 0;
            std::memcpy(&bits, &n.d, sizeof bits);
            *hash = Combine(kFloat, bits);
            *size = nlohmann::json(n.d).dump().size();
            return true;
          }
        }
        return false;
      }
    }
  }

  bool Object(size_t depth, std::uint64_t alive, size_t level, std::uint64_t* hash,
              std::uint64_t* size) {
    s_.Consume('{');
    std::uint64_t sum = 0;
    std::uint64_t kept = 0;
    std::uint64_t bytes = 2;  // "{}"
    if (s_.Consume('}')) {
      *hash = Combine(Combine(kObject, 0), 0);  // as any object left with no member
      *size = bytes;
      return true;
    }
    // Key hashes seen: a key twice (or two keys whose hashes meet) goes to the slow path.
    constexpr size_t kInline = 16;
    std::uint64_t inline_keys[kInline];
    size_t count = 0;
    std::unordered_set<std::uint64_t> many;
    do {
      std::uint64_t key_hash = 0;
      std::uint64_t key_size = 0;
      JsonScanner::StringSpan key_span;
      if (!String(&key_hash, &key_size, &key_span) || !s_.Consume(':')) return false;
      if (count < kInline) {
        for (size_t k = 0; k < count; ++k) {
          if (inline_keys[k] == key_hash) return false;
        }
        inline_keys[count] = key_hash;
      } else {
        if (many.empty()) many.insert(inline_keys, inline_keys + kInline);
        if (!many.insert(key_hash).second) return false;
      }
      ++count;
      std::uint64_t child = 0;
      bool erased = false;
      const std::string_view key = alive != 0 ? KeyValue(key_span) : std::string_view();
      for (std::uint64_t m = alive; m != 0; m &= m - 1) {
        const size_t p = static_cast<size_t>(__builtin_ctzll(m));
        const std::string& segment = ignore_[p].segments()[level];
        if (segment != cassette::JsonPath::kWildcard && segment != key) continue;
        if (EndsAt(p, level)) {
          erased = true;
        } else {
          child |= std::uint64_t{1} << p;
        }
      }
      if (erased) {
        if (!s_.SkipValue(depth)) return false;  // still checked: it must be JSON
        continue;
      }
      std::uint64_t value_hash = 0;
      std::uint64_t value_size = 0;
      if (!Value(depth, child, level + 1, &value_hash, &value_size)) return false;
      sum += Combine(Combine(kMember, key_hash), value_hash);
      bytes += key_size + 1 + value_size + (kept > 0 ? 1 : 0);
      ++kept;
    } while (s_.Consume(','));
    if (!s_.Consume('}')) return false;
    *hash = Combine(Combine(kObject, kept), sum);
    *size = bytes;
    return true;
  }

  bool Array(size_t depth, std::uint64_t alive, size_t level, std::uint64_t* hash,
             std::uint64_t* size) {
    s_.Consume('[');
    std::uint64_t h = kArray;
    std::uint64_t kept = 0;
    std::uint64_t bytes = 2;  // "[]"
    if (s_.Consume(']')) {
      *hash = Combine(h, 0);
      *size = bytes;
      return true;
    }
    size_t index = 0;
    do {
      std::uint64_t child = 0;
      bool erased = false;
      for (std::uint64_t m = alive; m != 0; m &= m - 1) {
        const size_t p = static_cast<size_t>(__builtin_ctzll(m));
        const std::string& segment = ignore_[p].segments()[level];
        const bool wildcard = segment == cassette::JsonPath::kWildcard;
        if (!wildcard) {
          std::optional<size_t> at = cassette::JsonPath::ArrayIndex(segment);
          if (!at || *at != index) continue;
          if (EndsAt(p, level)) return false;  // erasing one element moves the rest
        }
        if (EndsAt(p, level)) {
          erased = true;  // "*" last: the array is emptied
        } else {
          child |= std::uint64_t{1} << p;
        }
      }
      ++index;
      if (erased) {
        if (!s_.SkipValue(depth)) return false;
        continue;
      }
      std::uint64_t value_hash = 0;
      std::uint64_t value_size = 0;
      if (!Value(depth, child, level + 1, &value_hash, &value_size)) return false;
      h = Combine(h, value_hash);
      bytes += value_size + (kept > 0 ? 1 : 0);
      ++kept;
    } while (s_.Consume(','));
    if (!s_.Consume(']')) return false;
    *hash = Combine(h, kept);
    *size = bytes;
    return true;
  }

  JsonScanner s_;
  const std::vector<cassette::JsonPath>& ignore_;
  std::string decoded_;   // a string's value, when its text is not how dump spells it
  std::string spelling_;  // ... and dump's spelling of it
  std::string key_;       // an escaped key's value
};

}  // namespace

bool JsonCanonicalKey(std::string_view json, const std::vector<cassette::JsonPath>& ignore,
                      CanonicalKey* out) {
  try {
    KeyReader reader(json, ignore);
    return reader.Read(out);
  } catch (const std::exception&) {
    return false;  // out of memory: the slow path decides
  }
}

CanonicalKey TextCanonicalKey(std::string_view text) {
  return {Combine(kTextBody, HashBytes(text)), text.size() + 1};
}

CanonicalKey KeyOfCanonical(std::string_view canonical) {
  if (!canonical.empty() && canonical.front() == 't') return TextCanonicalKey(canonical.substr(1));
  CanonicalKey key;
  if (!canonical.empty() && JsonCanonicalKey(canonical.substr(1), {}, &key)) return key;
  // Deeper than the reader goes (or keys whose hashes meet): then no body's fast key can equal
  // this canonical body's either (its own reading fails for the same reason), so any key that
  // depends on the text alone keeps equal bodies together.
  return {Combine(kRawCanonical, HashBytes(canonical)), canonical.size()};
}

}  // namespace td::replay::internal
