// Secrets recognised by their name: a JSON field (`"client_secret": "..."`, also inside a JSON
// string as `\"token\": \"...\"`), a parameter in a query string, form body, connection string
// or env file (`password=...`), or a context word before a separator (`aws_secret_access_key
// = ...`, `AccountKey=...`, `<SecretAccessKey>...`, `Signature=...`). The match is the value
// only, edited in the bytes: a JSON body stays the same JSON without being re-serialised.
#include <array>
#include <cstdint>

#include "cassette/internal/secret_rules.h"

namespace td::cassette::internal {

namespace {

constexpr size_t kMaxName = 64;    // longer names are not looked at
constexpr size_t kMaxSpaces = 16;  // around ':' in JSON
constexpr size_t kRandomWindow = 64;

// A name in lower case, letters and digits only ("X-Amz-Security-Token" ->
// "xamzsecuritytoken"), so one suffix list covers snake_case, kebab-case and camelCase.
class NormalName {
 public:
  explicit NormalName(std::string_view name) {
    for (char c : name.substr(0, kMaxName)) {
      if (IsUpper(c)) c = static_cast<char>(c - 'A' + 'a');
      if (IsAlnum(c)) buf_[size_++] = c;
    }
  }
  std::string_view view() const { return {buf_.data(), size_}; }
  // The last byte first: most names are turned away on it, without a call to compare.
  bool EndsWith(std::string_view suffix) const {
    if (suffix.empty()) return true;
    return size_ >= suffix.size() && buf_[size_ - 1] == suffix.back() && view().ends_with(suffix);
  }

 private:
  std::array<char, kMaxName> buf_;  // only the first size_ bytes are written and read
  size_t size_ = 0;
};

constexpr uint32_t PackTail(char a, char b, char c) {
  return static_cast<uint32_t>(static_cast<unsigned char>(a)) << 16 |
         static_cast<uint32_t>(static_cast<unsigned char>(b)) << 8 |
         static_cast<uint32_t>(static_cast<unsigned char>(c));
}

// The last three letters and digits of `name` in lower case, packed as PackTail packs them (the
// last in the low byte), or 0 when it has fewer. '|' 0x20 lower-cases a letter and leaves a
// digit as it is.
uint32_t NameTail(std::string_view name) {
  uint32_t tail = 0;
  int n = 0;
  for (size_t k = name.size(); k > 0 && n < 3; --k) {
    const char c = name[k - 1];
    if (!IsAlnum(c)) continue;
    tail |= (static_cast<uint32_t>(static_cast<unsigned char>(c)) | 0x20u) << (8 * n++);
  }
  return n < 3 ? 0 : tail;
}

// Every secret word and context word below ends in one of these three letters ("password",
// "passwd", "passphrase", "secret", "token", "...key", "authorization", "signature", "sig"):
// most names ("type", "content", "id") are turned away on their tail, before any suffix is
// compared.
bool MayNameSecret(std::string_view name) {
  const uint32_t tail = NameTail(name);
  switch (tail) {
    case PackTail('o', 'r', 'd'):
    case PackTail('s', 'w', 'd'):
    case PackTail('a', 's', 'e'):
    case PackTail('r', 'e', 't'):
    case PackTail('k', 'e', 'n'):
    case PackTail('k', 'e', 'y'):
    case PackTail('i', 'o', 'n'):
    case PackTail('u', 'r', 'e'):
    case PackTail('s', 'i', 'g'):
      return true;
    default:
      return false;
  }
}

// Words before "token" that name something other than a credential: pagination cursors and the
// special tokens of a tokenizer.
constexpr std::string_view kNotSecretTokens[] = {
    "pagetoken",       "nexttoken", "cursortoken", "continuationtoken", "synctoken", "resumetoken",
    "paginationtoken", "eostoken",  "bostoken",    "padtoken",          "unktoken",  "septoken",
    "clstoken",        "masktoken", "stoptoken",   "starttoken",        "endtoken",
};

constexpr std::string_view kSecretSuffixes[] = {
    "secret",        "token",      "apikey",        "privatekey", "secretkey",
    "accesskey",     "signingkey", "masterkey",     "accountkey", "authkey",
    "encryptionkey", "sessionkey", "authorization",
};

// Where a value sits, for the context rules below.
enum Place : uint8_t {
  kQuoted = 1,     // a JSON field
  kParam = 2,      // name=value in a query, form body, connection string or env file
  kSeparated = 4,  // a context word, then ':', '=' or '>' in text
};

enum class Shape : uint8_t {
  kBase64,     // [A-Za-z0-9+/]
  kBase64Url,  // [A-Za-z0-9+/=%]
  kHex,        // [0-9A-Fa-f]
  kLowerHex,   // [0-9a-f]
};

bool InShape(Shape shape, char c) {
  switch (shape) {
    case Shape::kBase64:
      return IsBase64(c);
    case Shape::kBase64Url:
      return IsBase64Url(c);
    case Shape::kHex:
      return IsHex(c);
    case Shape::kLowerHex:
      return IsLowerHex(c);
  }
  return false;
}

// A secret recognised by the word before it. `exact` shapes are exactly `min` long; the
// others are at least `min` long, must look random within their first kRandomWindow bytes and
// then run to their end (so a failed attempt reads a bounded number of bytes).
struct ContextRule {
  std::string_view name;  // normalised
  bool suffix;            // the name may end with it ("AWS_SECRET_ACCESS_KEY")
  uint8_t places;
  std::string_view separators;  // for kSeparated: which separators introduce the value
  std::string_view rule;
  Shape shape;
  uint16_t min;
  bool exact;
};

constexpr ContextRule kContextRules[] = {
    {"secretaccesskey", true, kQuoted | kParam | kSeparated, ":=>", kRuleAwsSecretKey,
     Shape::kBase64, 40, true},
    {"sessiontoken", true, kQuoted | kParam | kSeparated, ":=>", kRuleAwsSessionToken,
     Shape::kBase64Url, 64, false},
    {"securitytoken", true, kQuoted | kParam | kSeparated, ":=>", kRuleAwsSessionToken,
     Shape::kBase64Url, 64, false},
    {"xamzsignature", false, kParam | kSeparated, "=", kRuleAwsSignature, Shape::kLowerHex, 64,
     true},
    {"signature", false, kSeparated, "=", kRuleAwsSignature, Shape::kLowerHex, 64, true},
    {"apikey", true, kQuoted | kParam | kSeparated, ":=", kRuleAzureOpenAiKey, Shape::kHex, 32,
     true},
    {"accountkey", true, kQuoted | kParam | kSeparated, ":=", kRuleAzureAccountKey,
     Shape::kBase64Url, 20, false},
    {"sharedaccesskey", true, kQuoted | kParam | kSeparated, ":=", kRuleAzureAccountKey,
     Shape::kBase64Url, 20, false},
    {"sig", false, kParam, "", kRuleAzureSasSignature, Shape::kBase64Url, 20, false},
};

// Every name a context rule reads before ':', '=' or '>' ends in "key", "token" or "signature".
constexpr bool SeparatedContextNamesEndInKeyKenUre() {
  for (const ContextRule& c : kContextRules) {
    if ((c.places & kSeparated) != 0 && !c.name.ends_with("key") && !c.name.ends_with("ken") &&
        !c.name.ends_with("ure")) {
      return false;
    }
  }
  return true;
}
static_assert(SeparatedContextNamesEndInKeyKenUre());

// False when the run of name bytes that ends at `end` cannot name a context rule for kSeparated:
// its last three letters and digits are not "key", "ken" or "ure". A run longer than kMaxName is
// not a name at all; the caller turns it away.
bool MayNameContextBefore(std::string_view text, size_t end) {
  size_t begin = end;
  size_t alnum = 0;
  while (begin > 0 && alnum < 3 && IsNameChar(text[begin - 1])) {
    --begin;
    if (IsAlnum(text[begin])) ++alnum;
  }
  const uint32_t tail = NameTail(text.substr(begin, end - begin));
  return tail == PackTail('k', 'e', 'y') || tail == PackTail('k', 'e', 'n') ||
         tail == PackTail('u', 'r', 'e');
}

const ContextRule* FindContext(const NormalName& name, Place place, char separator = 0) {
  for (const ContextRule& c : kContextRules) {
    if ((c.places & place) == 0) continue;
    if (place == kSeparated && c.separators.find(separator) == std::string_view::npos) continue;
    if (c.suffix ? name.EndsWith(c.name) : name.view() == c.name) return &c;
  }
  return nullptr;
}

// The value shaped for `c` at `begin`. `end` is where a quoted or parameter value ends (the
// shape must fill it), or npos in running text (the shape ends where its characters do, and no
// letter or digit may follow an exact shape).
std::optional<SecretMatch> MatchContextShape(const ContextRule& c, std::string_view text,
                                             size_t begin, size_t end) {
  const auto in_shape = [&](char ch) { return InShape(c.shape, ch); };
  const size_t limit = end == std::string_view::npos ? text.size() : end;
  const std::string_view bounded = text.substr(0, limit);
  size_t run;
  if (c.exact) {
    run = RunEndMax(bounded, begin, c.min + 1u, in_shape);
    if (run - begin != c.min) return std::nullopt;
    if (end == std::string_view::npos && run < text.size() && IsAlnum(text[run])) {
      return std::nullopt;
    }
    if (!LooksRandom(text.substr(begin, run - begin))) return std::nullopt;
  } else {
    const size_t window = RunEndMax(bounded, begin, kRandomWindow, in_shape);
    if (window - begin < std::min<size_t>(c.min, kRandomWindow)) return std::nullopt;
    if (!LooksRandom(text.substr(begin, window - begin))) return std::nullopt;
    run = RunEnd(bounded, window, in_shape);
    if (run - begin < c.min) return std::nullopt;
  }
  if (end != std::string_view::npos && run != end) return std::nullopt;
  return SecretMatch{c.rule, begin, run};
}

bool IsDefaultCredentialParam(std::string_view name) {
  const auto& names = DefaultCredentialQueryParams();
  return std::any_of(names.begin(), names.end(),
                     [&](std::string_view n) { return HeaderNameEquals(n, name); });
}

// The secret a named value holds, most specific rule first: a vendor key shape at its start,
// then the context rule for its name, then the name rule (`generic`).
std::optional<SecretMatch> ClassifyValue(std::string_view text, size_t begin, size_t end,
                                         SecretName kind, const ContextRule* context,
                                         std::string_view generic) {
  if (begin == end) return std::nullopt;
  if (auto m = MatchShapeAt(text, begin); m && m->end <= end) return m;
  if (context != nullptr) {
    if (auto m = MatchContextShape(*context, text, begin, end)) return m;
  }
  if (kind != SecretName::kNone && LooksLikeSecretValue(kind, text.substr(begin, end - begin))) {
    return SecretMatch{generic, begin, end};
  }
  return std::nullopt;
}

size_t SkipSpaces(std::string_view text, size_t pos) {
  return RunEndMax(text, pos, kMaxSpaces, [](char c) { return c == ' ' || c == '\t'; });
}

// Bytes that end a parameter value. They include every byte that can introduce a parameter
// ('?', '&', ';', '\n', '\\'), so one value never spans the start of another attempt.
bool EndsParamValue(char c) {
  switch (c) {
    case '&':
    case '?':
    case ';':
    case '#':
    case '"':
    case '\'':
    case '`':
    case '<':
    case '>':
    case '\\':
      return true;
    default:
      return static_cast<unsigned char>(c) <= ' ' || c == 0x7f;
  }
}

std::optional<SecretMatch> MatchParamFrom(std::string_view text, size_t name_begin) {
  const size_t name_end = RunEndMax(text, name_begin, kMaxName + 1, IsNameChar);
  if (name_end == name_begin || name_end - name_begin > kMaxName) return std::nullopt;
  if (name_end >= text.size() || text[name_end] != '=') return std::nullopt;
  const std::string_view name = text.substr(name_begin, name_end - name_begin);
  const bool listed = IsDefaultCredentialParam(name);  // "auth", "x-amz-credential", ...
  if (!listed && !MayNameSecret(name)) return std::nullopt;
  const NormalName normal(name);
  SecretName kind = ClassifySecretName(name);
  if (kind == SecretName::kNone && listed) kind = SecretName::kSecret;
  const ContextRule* context = FindContext(normal, kParam);
  if (kind == SecretName::kNone && context == nullptr) return std::nullopt;
  size_t begin = name_end + 1;
  if (begin < text.size() && (text[begin] == '"' || text[begin] == '\'')) ++begin;  // env files
  const size_t end = RunEnd(text, begin, [](char c) { return !EndsParamValue(c); });
  return ClassifyValue(text, begin, end, kind, context, kRuleSecretParam);
}

// ClassifySecretName of a name that is neither empty nor longer than kMaxName and that
// MayNameSecret accepts, normalised.
SecretName ClassifyNormalName(const NormalName& normal) {
  for (std::string_view s : {"password", "passwd", "passphrase"}) {
    if (normal.EndsWith(s)) return SecretName::kPassword;
  }
  for (std::string_view s : kSecretSuffixes) {
    if (!normal.EndsWith(s)) continue;
    if (s == "token") {
      for (std::string_view not_secret : kNotSecretTokens) {
        if (normal.EndsWith(not_secret)) return SecretName::kNone;
      }
    }
    return SecretName::kSecret;
  }
  return SecretName::kNone;
}

}  // namespace

SecretName ClassifySecretName(std::string_view name) {
  if (name.empty() || name.size() > kMaxName || !MayNameSecret(name)) return SecretName::kNone;
  return ClassifyNormalName(NormalName(name));
}

bool LooksLikeSecretValue(SecretName kind, std::string_view value) {
  if (kind == SecretName::kNone) return false;
  if (value.size() < (kind == SecretName::kPassword ? 6u : 8u)) return false;
  if (IsRedactionPlaceholder(value) || value.find("[REDACTED") != std::string_view::npos) {
    return false;
  }
  // Templates and references, not values: "${TOKEN}", "{{secret}}", "<your key>", "%s".
  if (value[0] == '$' || value[0] == '{' || value[0] == '<' || value[0] == '%') return false;
  if (value.find("://") != std::string_view::npos) return false;  // a URL: see url-password
  size_t digits = 0, lower = 0, upper = 0, inner_upper = 0, symbols = 0;
  for (size_t k = 0; k < value.size(); ++k) {
    const char c = value[k];
    // Whitespace: prose, not a credential. Non-ASCII: text in some language, not a key.
    if (static_cast<unsigned char>(c) <= ' ' || static_cast<unsigned char>(c) >= 0x7f) {
      return false;
    }
    if (IsDigit(c)) {
      ++digits;
    } else if (IsLower(c)) {
      ++lower;
    } else if (IsUpper(c)) {
      ++upper;
      if (k > 0) ++inner_upper;
    } else if (c != '_' && c != '-' && c != '.') {
      ++symbols;
    }
  }
  if (kind == SecretName::kPassword) {
    // Two kinds of character: "hunter22", "Tr0ub4dor", "p@ssw0rd", not "changeme" or
    // "YOUR_PASSWORD".
    return (lower > 0) + (upper > 0) + (digits > 0) + (symbols > 0) >= 2;
  }
  // Random: digits among letters, or upper case inside lower case. Not a number, a date
  // ("2030-01-01T00:00:00Z"), a word ("Ingredients", a tokenizer's token), or an ALL_CAPS
  // placeholder.
  const size_t letters = lower + upper;
  return (digits >= 2 && letters >= 3) || (inner_upper >= 2 && lower >= 2);
}

std::optional<SecretMatch> MatchQuotedField(std::string_view text, size_t i) {
  // The key's opening quote: '"' or '\'', or an escaped \" inside a JSON string (tool input
  // and tool results often carry JSON as a string).
  const bool escaped = text[i] == '\\';
  if (escaped && !StartsWithAt(text, i, "\\\"")) return std::nullopt;
  const char quote = escaped ? '"' : text[i];
  const std::string_view close = escaped ? std::string_view("\\\"") : text.substr(i, 1);
  const size_t name_begin = i + close.size();
  const size_t name_end = RunEndMax(text, name_begin, kMaxName + 1, IsNameChar);
  if (name_end == name_begin || name_end - name_begin > kMaxName) return std::nullopt;
  if (!StartsWithAt(text, name_end, close)) return std::nullopt;
  // Most names ("type", "content") are turned away here, before the separator is read.
  const std::string_view name = text.substr(name_begin, name_end - name_begin);
  if (!MayNameSecret(name)) return std::nullopt;
  size_t pos = SkipSpaces(text, name_end + close.size());
  if (pos >= text.size() || text[pos] != ':') return std::nullopt;
  pos = SkipSpaces(text, pos + 1);
  if (!StartsWithAt(text, pos, close)) return std::nullopt;  // not a string value
  // The name is 1 to kMaxName bytes and MayNameSecret accepts it: ClassifySecretName(name).
  const NormalName normal(name);
  const SecretName kind = ClassifyNormalName(normal);
  const ContextRule* context = FindContext(normal, kQuoted);
  if (kind == SecretName::kNone && context == nullptr) return std::nullopt;

  // The value runs to its closing quote. Unescaped, it skips escapes; escaped, it holds no
  // backslash. A value never holds an unescaped quote of its own kind, so attempts of one kind
  // never read across each other.
  const size_t begin = pos + close.size();
  size_t end = begin;
  while (true) {
    if (end >= text.size()) return std::nullopt;
    const char c = text[end];
    if (c == '\n' || c == '\r') return std::nullopt;
    if (escaped) {
      if (c == '"') return std::nullopt;
      if (c == '\\') {
        if (StartsWithAt(text, end, close)) break;
        return std::nullopt;
      }
    } else {
      if (c == quote) break;
      if (c == '\\') {
        end += 2;
        continue;
      }
    }
    ++end;
  }
  return ClassifyValue(text, begin, end, kind, context, kRuleSecretField);
}

std::optional<SecretMatch> MatchParam(std::string_view text, size_t i) {
  size_t name_begin;
  switch (text[i]) {
    case '?':
    case '\n':
      name_begin = i + 1;
      break;
    case '&':
      name_begin = StartsWithAt(text, i, "&amp;") ? i + 5 : i + 1;
      break;
    case ';':
      name_begin = RunEndMax(text, i + 1, 4, [](char c) { return c == ' '; });
      break;
    case '\\':
      if (StartsWithAt(text, i, "\\u0026")) {
        name_begin = i + 6;
      } else if (StartsWithAt(text, i, "\\n")) {
        name_begin = i + 2;
      } else {
        return std::nullopt;
      }
      break;
    default:
      if (i != 0) return std::nullopt;
      name_begin = 0;  // a form body or a header value that starts with name=value
      break;
  }
  return MatchParamFrom(text, name_begin);
}

std::optional<SecretMatch> MatchContextValue(std::string_view text, size_t i) {
  // Back over spaces and a closing quote to the name: `name = `, `"name": `, `<name>`.
  size_t name_end = i;
  while (name_end > 0 && i - name_end < 4 && text[name_end - 1] == ' ') --name_end;
  if (name_end > 0 && (text[name_end - 1] == '"' || text[name_end - 1] == '\'')) {
    --name_end;
    if (name_end > 0 && text[name_end - 1] == '\\') --name_end;
  }
  // The name's last three letters and digits first: they turn most words away ("directory:",
  // "description":) before the whole name is read.
  if (!MayNameContextBefore(text, name_end)) return std::nullopt;
  size_t name_begin = name_end;
  while (name_begin > 0 && name_end - name_begin <= kMaxName && IsNameChar(text[name_begin - 1])) {
    --name_begin;
  }
  if (name_begin == name_end || name_end - name_begin > kMaxName) return std::nullopt;
  const std::string_view name = text.substr(name_begin, name_end - name_begin);
  // (MayNameSecret accepts every tail MayNameContextBefore accepted above.)
  const ContextRule* context = FindContext(NormalName(name), kSeparated, text[i]);
  if (context == nullptr) return std::nullopt;
  // Forward over spaces and an opening quote to the value.
  size_t begin = SkipSpaces(text, i + 1);
  if (StartsWithAt(text, begin, "\\\"")) {
    begin += 2;
  } else if (begin < text.size() && (text[begin] == '"' || text[begin] == '\'')) {
    ++begin;
  }
  return MatchContextShape(*context, text, begin, std::string_view::npos);
}

}  // namespace td::cassette::internal
