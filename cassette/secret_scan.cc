// Hand-written matchers for key-shaped strings, one left-to-right pass over the text. Each
// matcher only starts where its prefix begins a word, so candidates start at disjoint runs and
// the work stays linear in the text (safe on bodies of many megabytes, unlike std::regex).
// docs/security.md lists the rules; their names are stable (verify output, redaction reports).
#include "cassette/secret_scan.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <optional>

namespace td::cassette {

namespace {

constexpr std::string_view kAnthropicKey = "anthropic-key";
constexpr std::string_view kOpenAiKey = "openai-key";
constexpr std::string_view kBearerToken = "bearer-token";
constexpr std::string_view kAwsAccessKeyId = "aws-access-key-id";
constexpr std::string_view kJwt = "jwt";
constexpr std::string_view kGoogleApiKey = "google-api-key";
constexpr std::string_view kGithubToken = "github-token";
constexpr std::string_view kPrivateKey = "private-key";

constexpr size_t kMinKeyBody = 20;     // sk-... keys
constexpr size_t kMinBearer = 16;      // bearer token68
constexpr size_t kMinJwtSegment = 10;  // each JWT segment after its "eyJ"
constexpr size_t kAwsBody = 16;
constexpr size_t kGoogleBody = 35;
constexpr size_t kGithubBody = 36;
constexpr size_t kGithubPatBody = 22;
constexpr size_t kMaxPemLabel = 40;  // "ENCRYPTED PRIVATE KEY" and the like

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsUpper(char c) { return c >= 'A' && c <= 'Z'; }
bool IsLower(char c) { return c >= 'a' && c <= 'z'; }
bool IsAlnum(char c) { return IsDigit(c) || IsUpper(c) || IsLower(c); }
// [A-Za-z0-9_-]: the body of sk- keys, base64url (JWT), Google keys.
bool IsKeyChar(char c) { return IsAlnum(c) || c == '_' || c == '-'; }
// token68 without its '=' padding (RFC 7235).
bool IsToken68(char c) {
  return IsAlnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/';
}
bool IsGithubPatChar(char c) { return IsAlnum(c) || c == '_'; }
bool IsPemBodyChar(char c) {
  // Base64 plus line ends, raw or JSON-escaped ("\n" is a backslash and an n).
  return IsAlnum(c) || c == '+' || c == '/' || c == '=' || c == '\r' || c == '\n' || c == '\\';
}

template <class Pred>
size_t RunEnd(std::string_view text, size_t pos, Pred pred) {
  while (pos < text.size() && pred(text[pos])) ++pos;
  return pos;
}

bool StartsWithAt(std::string_view text, size_t pos, std::string_view prefix) {
  return text.size() - pos >= prefix.size() && text.compare(pos, prefix.size(), prefix) == 0;
}

bool StartsWithNoCaseAt(std::string_view text, size_t pos, std::string_view lower_prefix) {
  if (text.size() - pos < lower_prefix.size()) return false;
  for (size_t k = 0; k < lower_prefix.size(); ++k) {
    if (std::tolower(static_cast<unsigned char>(text[pos + k])) != lower_prefix[k]) return false;
  }
  return true;
}

// Random keys mix cases and digits; a run of lower-case letters and dashes is a hyphenated
// word ("sk-compatible-endpoint-configuration"), not a key.
bool LooksRandom(std::string_view body) {
  return std::any_of(body.begin(), body.end(), [](char c) { return IsDigit(c) || IsUpper(c); });
}

// True when the byte before `pos` cannot continue a word made of `pred` characters.
template <class Pred>
bool WordStart(std::string_view text, size_t pos, Pred pred) {
  return pos == 0 || !pred(text[pos - 1]);
}

std::optional<SecretMatch> MatchSkKey(std::string_view text, size_t i) {
  if (!StartsWithAt(text, i, "sk-") || !WordStart(text, i, IsKeyChar)) return std::nullopt;
  const size_t end = RunEnd(text, i + 3, IsKeyChar);
  if (StartsWithAt(text, i, "sk-ant-")) {
    std::string_view body = text.substr(i + 7, end - (i + 7));  // '-' is a key char: end >= i+7
    if (body.size() >= kMinKeyBody && LooksRandom(body)) {
      return SecretMatch{kAnthropicKey, i, end};
    }
    return std::nullopt;  // an "sk-ant-" word is never an OpenAI key
  }
  size_t body_begin = i + 3;
  for (std::string_view prefix : {"sk-proj-", "sk-svcacct-", "sk-admin-"}) {
    if (StartsWithAt(text, i, prefix)) {
      body_begin = i + prefix.size();
      break;
    }
  }
  if (end < body_begin) return std::nullopt;
  std::string_view body = text.substr(body_begin, end - body_begin);
  if (body.size() >= kMinKeyBody && LooksRandom(body)) return SecretMatch{kOpenAiKey, i, end};
  return std::nullopt;
}

std::optional<SecretMatch> MatchAws(std::string_view text, size_t i) {
  if (!(StartsWithAt(text, i, "AKIA") || StartsWithAt(text, i, "ASIA"))) return std::nullopt;
  if (!WordStart(text, i, IsAlnum)) return std::nullopt;
  const size_t body = i + 4;
  size_t end = body;
  while (end < text.size() && end - body < kAwsBody && (IsDigit(text[end]) || IsUpper(text[end])))
    ++end;
  if (end - body != kAwsBody) return std::nullopt;
  if (end < text.size() && IsAlnum(text[end])) return std::nullopt;
  return SecretMatch{kAwsAccessKeyId, i, end};
}

std::optional<SecretMatch> MatchGoogle(std::string_view text, size_t i) {
  if (!StartsWithAt(text, i, "AIza") || !WordStart(text, i, IsKeyChar)) return std::nullopt;
  const size_t end = RunEnd(text, i + 4, IsKeyChar);
  if (end - (i + 4) < kGoogleBody) return std::nullopt;
  return SecretMatch{kGoogleApiKey, i, end};
}

std::optional<SecretMatch> MatchJwt(std::string_view text, size_t i) {
  if (!StartsWithAt(text, i, "eyJ") || !WordStart(text, i, IsKeyChar)) return std::nullopt;
  size_t pos = i;
  for (int segment = 0; segment < 3; ++segment) {
    size_t body = pos;
    if (segment < 2) {
      if (!StartsWithAt(text, pos, "eyJ")) return std::nullopt;
      body = pos + 3;
    }
    const size_t end = RunEnd(text, body, IsKeyChar);
    if (end - body < kMinJwtSegment) return std::nullopt;
    if (segment == 2) return SecretMatch{kJwt, i, end};
    if (end >= text.size() || text[end] != '.') return std::nullopt;
    pos = end + 1;
  }
  return std::nullopt;
}

std::optional<SecretMatch> MatchGithub(std::string_view text, size_t i) {
  if (text[i] != 'g' || !WordStart(text, i, IsKeyChar)) return std::nullopt;
  if (StartsWithAt(text, i, "github_pat_")) {
    const size_t body = i + 11;
    const size_t end = RunEnd(text, body, IsGithubPatChar);
    if (end - body >= kGithubPatBody) return SecretMatch{kGithubToken, i, end};
    return std::nullopt;
  }
  for (std::string_view prefix : {"ghp_", "gho_", "ghu_", "ghs_", "ghr_"}) {
    if (StartsWithAt(text, i, prefix)) {
      const size_t body = i + 4;
      const size_t end = RunEnd(text, body, IsAlnum);
      if (end - body >= kGithubBody) return SecretMatch{kGithubToken, i, end};
      return std::nullopt;
    }
  }
  return std::nullopt;
}

// Rules that do not need a context word before them, tried at one position.
std::optional<SecretMatch> MatchShapedKey(std::string_view text, size_t i) {
  switch (text[i]) {
    case 's':
      return MatchSkKey(text, i);
    case 'A':
      if (auto m = MatchAws(text, i)) return m;
      return MatchGoogle(text, i);
    case 'e':
      return MatchJwt(text, i);
    case 'g':
      return MatchGithub(text, i);
    default:
      return std::nullopt;
  }
}

// "Bearer <token>": the match covers the token only, so "Bearer " stays readable. A token that
// is itself a known key shape is reported under that rule.
std::optional<SecretMatch> MatchBearer(std::string_view text, size_t i) {
  if (!StartsWithNoCaseAt(text, i, "bearer ") || !WordStart(text, i, IsAlnum)) {
    return std::nullopt;
  }
  const size_t token = RunEnd(text, i + 7, [](char c) { return c == ' '; });
  if (token >= text.size()) return std::nullopt;
  if (auto specific = MatchShapedKey(text, token)) return specific;
  const size_t run = RunEnd(text, token, IsToken68);
  if (run - token < kMinBearer || !LooksRandom(text.substr(token, run - token))) {
    return std::nullopt;
  }
  const size_t end = RunEnd(text, run, [](char c) { return c == '='; });
  return SecretMatch{kBearerToken, token, end};
}

// The end of "<marker><LABEL>PRIVATE KEY-----" starting at `i` ("RSA ", "EC ", "OPENSSH ",
// "ENCRYPTED " or no label), or 0.
size_t PemLineEnd(std::string_view text, size_t i, std::string_view marker) {
  if (!StartsWithAt(text, i, marker)) return 0;
  const size_t label = i + marker.size();
  size_t end = label;
  while (end < text.size() && end - label <= kMaxPemLabel &&
         (IsUpper(text[end]) || IsDigit(text[end]) || text[end] == ' ')) {
    ++end;
  }
  constexpr std::string_view kTail = "PRIVATE KEY";
  if (end - label < kTail.size() || text.substr(end - kTail.size(), kTail.size()) != kTail) {
    return 0;
  }
  if (!StartsWithAt(text, end, "-----")) return 0;
  return end + 5;
}

// A PEM private key block: the BEGIN line, the body (base64, line ends raw or JSON-escaped,
// and the "Proc-Type: 4,ENCRYPTED" style headers of legacy keys) and the END line when it
// follows. The body never spans a quote, so a key inside a JSON string stays inside it.
std::optional<SecretMatch> MatchPrivateKey(std::string_view text, size_t i) {
  const size_t header_end = PemLineEnd(text, i, "-----BEGIN ");
  if (header_end == 0) return std::nullopt;
  size_t end = header_end;
  while (end < text.size()) {
    const char c = text[end];
    if (c == '-') {
      if (size_t footer_end = PemLineEnd(text, end, "-----END "); footer_end != 0) {
        return SecretMatch{kPrivateKey, i, footer_end};
      }
    }
    if (!(IsPemBodyChar(c) || c == ' ' || c == ':' || c == ',' || c == '-')) break;
    ++end;
  }
  // No END line (a truncated key). Never end on a backslash: it escapes the byte after it
  // (a JSON \" would lose its backslash).
  while (end > header_end && text[end - 1] == '\\') --end;
  return SecretMatch{kPrivateKey, i, end};
}

std::string LowerAscii(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool Contains(const std::vector<std::string_view>& names, std::string_view lower_name) {
  return std::find(names.begin(), names.end(), lower_name) != names.end();
}

void ScanBytes(std::string_view bytes, const std::string& where, size_t index,
               std::vector<SecretFinding>* out) {
  for (const SecretMatch& m : FindSecrets(bytes)) {
    out->push_back(
        SecretFinding{index, where + " at byte " + std::to_string(m.begin), std::string(m.rule)});
  }
}

void ScanHeaders(const Headers& headers, const std::string& prefix, size_t index,
                 std::vector<SecretFinding>* out) {
  for (const auto& [name, value] : headers) {
    const std::string lower = LowerAscii(name);
    const std::string where = prefix + lower;
    if (Contains(DefaultCredentialHeaders(), lower)) {
      if (!value.empty() && !IsRedactionPlaceholder(value)) {
        out->push_back(SecretFinding{index, where, "credential-header"});
      }
      continue;
    }
    for (const SecretMatch& m : FindSecrets(value)) {
      out->push_back(SecretFinding{index, where, std::string(m.rule)});
    }
  }
}

// The bytes a rule can start with; everything else is skipped without a call.
constexpr std::array<bool, 256> kStartsRule = [] {
  std::array<bool, 256> table{};
  for (unsigned char c : std::string_view("sAegBb-")) table[c] = true;
  return table;
}();

}  // namespace

std::vector<SecretMatch> FindSecrets(std::string_view all) {
  std::vector<SecretMatch> found;
  // A match ends a word: after one, the matchers see only the text that follows, so a key right
  // after another ("-----END PRIVATE KEY-----sk-ant-...") starts a word, as it does once the
  // first is redacted to "[REDACTED:...]".
  size_t base = 0;
  std::string_view text = all;
  size_t i = 0;
  while (i < text.size()) {
    if (!kStartsRule[static_cast<unsigned char>(text[i])]) {
      ++i;
      continue;
    }
    std::optional<SecretMatch> m;
    switch (text[i]) {
      case 'B':
      case 'b':
        m = MatchBearer(text, i);
        break;
      case '-':
        m = MatchPrivateKey(text, i);
        break;
      default:
        m = MatchShapedKey(text, i);
        break;
    }
    if (m) {
      found.push_back(SecretMatch{m->rule, base + m->begin, base + m->end});
      base += m->end;
      text = all.substr(base);
      i = 0;
    } else {
      ++i;
    }
  }
  return found;
}

const std::vector<std::string_view>& SecretRuleNames() {
  static const std::vector<std::string_view> kNames = {
      kAnthropicKey, kOpenAiKey,    kBearerToken, kAwsAccessKeyId,
      kJwt,          kGoogleApiKey, kGithubToken, kPrivateKey,
  };
  return kNames;
}

const std::vector<std::string_view>& DefaultCredentialHeaders() {
  // Not credentials: openai-organization, openai-project, anthropic-version, anthropic-beta
  // (matching on them is useful, and they grant nothing alone).
  static const std::vector<std::string_view> kNames = {
      "authorization",
      "proxy-authorization",
      "x-api-key",
      "api-key",
      "x-goog-api-key",
      "x-auth-token",
      "x-access-token",
      "x-amz-security-token",
      "ocp-apim-subscription-key",
      "private-token",
      "cookie",
      "set-cookie",
  };
  return kNames;
}

const std::vector<std::string_view>& DefaultCredentialQueryParams() {
  static const std::vector<std::string_view> kNames = {
      "key",
      "api_key",
      "apikey",
      "api-key",
      "x-api-key",
      "access_token",
      "refresh_token",
      "id_token",
      "token",
      "auth",
      "client_secret",
      "password",
      "sig",
      "signature",
      "x-amz-signature",
      "x-amz-credential",
      "x-amz-security-token",
      "x-goog-signature",
      "x-goog-credential",
  };
  return kNames;
}

std::vector<SecretFinding> ScanInteraction(const Interaction& interaction, size_t index) {
  std::vector<SecretFinding> out;
  const Request& request = interaction.request;
  for (const SecretMatch& m : FindSecrets(request.path)) {
    out.push_back(SecretFinding{index, "request.path", std::string(m.rule)});
  }
  for (const auto& [name, value] : request.query) {
    const std::string where = "request.query." + name;  // as sent, like redaction reports
    if (Contains(DefaultCredentialQueryParams(), LowerAscii(name))) {
      if (!value.empty() && !IsRedactionPlaceholder(value)) {
        out.push_back(SecretFinding{index, where, "credential-query"});
      }
      continue;
    }
    for (const SecretMatch& m : FindSecrets(value)) {
      out.push_back(SecretFinding{index, where, std::string(m.rule)});
    }
  }
  ScanHeaders(request.headers, "request.headers.", index, &out);
  ScanBytes(request.body.bytes, "request.body", index, &out);

  const Response& response = interaction.response;
  ScanHeaders(response.headers, "response.headers.", index, &out);
  ScanBytes(response.body.bytes, "response.body", index, &out);
  if (response.stream) {
    const std::vector<StreamEvent>& events = response.stream->events;
    for (size_t k = 0; k < events.size(); ++k) {
      ScanBytes(events[k].bytes, "response.stream.events[" + std::to_string(k) + "]", index, &out);
    }
  }
  return out;
}

bool IsRedactionPlaceholder(std::string_view value) {
  if (value == "[REDACTED]") return true;
  constexpr std::string_view kPrefix = "[REDACTED:";
  if (value.size() <= kPrefix.size() + 1 || !value.starts_with(kPrefix) || value.back() != ']') {
    return false;
  }
  std::string_view rule = value.substr(kPrefix.size(), value.size() - kPrefix.size() - 1);
  return std::all_of(rule.begin(), rule.end(),
                     [](char c) { return IsLower(c) || IsDigit(c) || c == '-'; });
}

}  // namespace td::cassette
