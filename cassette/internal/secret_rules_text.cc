// Secrets recognised by the text around them rather than a vendor prefix: HTTP auth schemes in
// text ("Bearer <token>", "Basic <base64>"), PEM and PGP private key blocks, and the password
// in "scheme://user:password@host". Each match covers the secret only, so the words around it
// stay readable in the cassette.
#include <string>

#include "cassette/internal/codec_text.h"
#include "cassette/internal/secret_rules.h"

namespace td::cassette::internal {

namespace {

constexpr size_t kMinBearer = 16;    // bearer token68
constexpr size_t kMinBasic = 8;      // base64 of "u:pw" and more
constexpr size_t kMaxPemLabel = 40;  // "ENCRYPTED PRIVATE KEY", "PGP PRIVATE KEY BLOCK"

// token68 without its '=' padding (RFC 7235).
bool IsToken68(char c) {
  return IsAlnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/';
}

// "Bearer <token>": the match covers the token only, so "Bearer " stays readable. A token that
// is itself a known key shape is reported under that rule.
std::optional<SecretMatch> MatchBearer(std::string_view text, size_t i) {
  if (!StartsWithIgnoreCaseAt(text, i, "bearer ")) return std::nullopt;
  const size_t token = RunEnd(text, i + 7, [](char c) { return c == ' '; });
  if (token >= text.size()) return std::nullopt;
  if (auto specific = MatchShapeAt(text, token)) return specific;
  const size_t run = RunEnd(text, token, IsToken68);
  if (run - token < kMinBearer || !LooksRandom(text.substr(token, run - token))) {
    return std::nullopt;
  }
  const size_t end = RunEnd(text, run, [](char c) { return c == '='; });
  return SecretMatch{kRuleBearerToken, token, end};
}

// "Basic <base64>" where the base64 is padded and decodes to printable "user:password" with a
// non-empty password: prose ("Basic authentication") never decodes to that.
std::optional<SecretMatch> MatchBasic(std::string_view text, size_t i) {
  if (!StartsWithIgnoreCaseAt(text, i, "basic ")) return std::nullopt;
  const size_t token = RunEnd(text, i + 6, [](char c) { return c == ' '; });
  const size_t run = RunEnd(text, token, IsBase64);
  const size_t end = RunEndMax(text, run, 2, [](char c) { return c == '='; });
  if (end - token < kMinBasic || (end - token) % 4 != 0) return std::nullopt;
  if (end < text.size() && IsBase64Padded(text[end])) return std::nullopt;
  std::optional<std::string> decoded = Base64Decode(text.substr(token, end - token));
  if (!decoded) return std::nullopt;
  const size_t colon = decoded->find(':');
  if (colon == std::string::npos || colon + 1 == decoded->size()) return std::nullopt;
  for (char c : *decoded) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return std::nullopt;
  }
  return SecretMatch{kRuleBasicAuth, token, end};
}

// The end of "<marker><LABEL>-----" at `i`, where LABEL ends in "PRIVATE KEY" ("RSA ", "EC ",
// "OPENSSH ", "ENCRYPTED " or nothing before it) or is "PGP PRIVATE KEY BLOCK"; 0 if there is
// none. Sets *pgp for the PGP form.
size_t KeyLineEnd(std::string_view text, size_t i, std::string_view marker, bool* pgp) {
  if (!StartsWithAt(text, i, marker)) return 0;
  const size_t label = i + marker.size();
  size_t end = label;
  while (end < text.size() && end - label <= kMaxPemLabel &&
         (IsUpper(text[end]) || IsDigit(text[end]) || text[end] == ' ')) {
    ++end;
  }
  if (!StartsWithAt(text, end, "-----")) return 0;
  const std::string_view name = text.substr(label, end - label);
  if (name.ends_with("PGP PRIVATE KEY BLOCK")) {
    *pgp = true;
  } else if (name.ends_with("PRIVATE KEY")) {
    *pgp = false;
  } else {
    return 0;
  }
  return end + 5;
}

// What a key block's body may hold: base64, line ends raw or JSON-escaped ("\n" is a backslash
// and an n), and the armor headers of legacy PEM ("Proc-Type: 4,ENCRYPTED") and PGP ("Version:
// GnuPG v2.0.22 (GNU/Linux)", "Comment: Alice <alice@example.test>"). Never a quote, so a key
// inside a JSON string stays inside it.
bool IsKeyBlockChar(char c) {
  switch (c) {
    case '+':
    case '/':
    case '=':
    case '\r':
    case '\n':
    case '\\':
    case ' ':
    case ':':
    case ',':
    case '-':
    case '.':
    case '(':
    case ')':
    case '_':
    case '@':
    case '<':
    case '>':
      return true;
    default:
      return IsAlnum(c);
  }
}

// A PEM or PGP private key block: the BEGIN line, the body and the END line when it follows.
std::optional<SecretMatch> MatchKeyBlockAt(std::string_view text, size_t i) {
  bool pgp = false;
  const size_t header_end = KeyLineEnd(text, i, "-----BEGIN ", &pgp);
  if (header_end == 0) return std::nullopt;
  const std::string_view rule = pgp ? kRulePgpPrivateKey : kRulePrivateKey;
  size_t end = header_end;
  while (end < text.size()) {
    const char c = text[end];
    if (c == '-') {
      bool footer_pgp = false;
      if (size_t footer_end = KeyLineEnd(text, end, "-----END ", &footer_pgp); footer_end != 0) {
        return SecretMatch{rule, i, footer_end};
      }
    }
    if (!IsKeyBlockChar(c)) break;
    ++end;
  }
  // No END line (a truncated key). Never end on a backslash: it escapes the byte after it
  // (a JSON \" would lose its backslash).
  while (end > header_end && text[end - 1] == '\\') --end;
  return SecretMatch{rule, i, end};
}

// Where the authority of a URL ends: at the path, query or fragment, or at anything that
// cannot be in a URL written in text.
bool EndsAuthority(char c) {
  switch (c) {
    case '/':
    case '?':
    case '#':
    case '"':
    case '\'':
    case '`':
    case '<':
    case '>':
    case '\\':
    case ' ':
    case '\t':
    case '\r':
    case '\n':
      return true;
    default:
      return false;
  }
}

// A URL password worth reporting: not a placeholder or a template ("${DB_PASSWORD}",
// "<password>", "{{pw}}"), and made of at least two kinds of character (lower case, upper
// case, digits, symbols): "postgres://postgres:postgres@localhost" is a local default.
bool LooksLikeUrlPassword(std::string_view pw) {
  if (pw.empty() || IsRedactionPlaceholder(pw)) return false;
  if (pw[0] == '$' || pw[0] == '{' || pw[0] == '<' || pw[0] == '[') return false;
  bool lower = false, upper = false, digit = false, symbol = false;
  for (char c : pw) {
    lower = lower || IsLower(c);
    upper = upper || IsUpper(c);
    digit = digit || IsDigit(c);
    symbol = symbol || !IsAlnum(c);
  }
  return (lower ? 1 : 0) + (upper ? 1 : 0) + (digit ? 1 : 0) + (symbol ? 1 : 0) >= 2;
}

}  // namespace

std::optional<SecretMatch> MatchAuthScheme(std::string_view text, size_t i) {
  if (!WordStart(text, i, IsAlnum)) return std::nullopt;
  if (auto m = MatchBearer(text, i)) return m;
  return MatchBasic(text, i);
}

std::optional<SecretMatch> MatchKeyBlock(std::string_view text, size_t i) {
  return MatchKeyBlockAt(text, i);
}

std::optional<SecretMatch> MatchUrlPassword(std::string_view text, size_t i) {
  size_t pos;
  if (StartsWithAt(text, i, "://")) {
    pos = i + 3;
  } else if (StartsWithAt(text, i, ":\\/\\/")) {
    pos = i + 5;
  } else {
    return std::nullopt;
  }
  if (i == 0 || !IsAlnum(text[i - 1])) return std::nullopt;  // a scheme ends here
  // The authority cannot hold another "://": its '/' ends the authority. So attempts never
  // overlap and the scan stays linear.
  size_t colon = std::string_view::npos;
  size_t at = std::string_view::npos;
  for (; pos < text.size() && !EndsAuthority(text[pos]); ++pos) {
    // A placeholder's own ':' is not the user:password separator: skip over it whole.
    if (const size_t placeholder = RedactionPlaceholderLengthAt(text, pos); placeholder != 0) {
      pos += placeholder - 1;
      continue;
    }
    if (text[pos] == ':' && colon == std::string_view::npos) colon = pos;
    if (text[pos] == '@') at = pos;  // the last one: a raw '@' in a password happens
  }
  if (colon == std::string_view::npos || at == std::string_view::npos || at < colon) {
    return std::nullopt;
  }
  if (at + 1 >= text.size() || EndsAuthority(text[at + 1])) return std::nullopt;  // no host
  if (!LooksLikeUrlPassword(text.substr(colon + 1, at - colon - 1))) return std::nullopt;
  return SecretMatch{kRuleUrlPassword, colon + 1, at};
}

}  // namespace td::cassette::internal
