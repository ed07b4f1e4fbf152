// The secret scanner: one left-to-right pass over the text that hands each byte able to start a
// secret to the matchers for it (cassette/internal/secret_rules_*.cc, by family). Each matcher
// reads a bounded number of bytes when it fails, or cannot read across another start of its
// own rule, so the pass is linear in the text (safe on bodies of many megabytes, unlike
// std::regex). docs/security.md lists the rules; their names are stable.
#include "cassette/secret_scan.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>

#include "cassette/base/ascii.h"
#include "cassette/internal/secret_rules.h"

namespace td::cassette {

namespace {

// Per byte: whether some matcher can start at it, whether it is a letter or digit, whether it is
// a digit, whether it is a letter.
enum : uint8_t { kStartsRule = 1, kWordByte = 2, kDigitByte = 4, kLetterByte = 8 };

const std::array<uint8_t, 256>& ByteClasses() {
  static const std::array<uint8_t, 256> kTable = [] {
    std::array<uint8_t, 256> table{};
    for (int b = 0; b < 256; ++b) {
      const auto c = static_cast<char>(b);
      if (internal::StartsVendorKey(c) || IsDigit(c)) table[b] |= kStartsRule;
      if (IsAlnum(c)) table[b] |= kWordByte;
      if (IsDigit(c)) table[b] |= kDigitByte;
      if (IsAlpha(c)) table[b] |= kLetterByte;
    }
    for (unsigned char c : std::string_view("Bb-:=>\"'\\?&;\n")) table[c] |= kStartsRule;
    return table;
  }();
  return kTable;
}

std::optional<SecretMatch> MatchAt(std::string_view text, size_t i) {
  switch (text[i]) {
    case 'B':
    case 'b':
      return internal::MatchAuthScheme(text, i);
    case '-':
      return internal::MatchKeyBlock(text, i);
    case ':':
      // A password in a URL follows "://" or ":\/\/".
      if (i + 1 < text.size() && (text[i + 1] == '/' || text[i + 1] == '\\')) {
        if (auto m = internal::MatchUrlPassword(text, i)) return m;
      }
      return internal::MatchContextValue(text, i);
    case '=':
    case '>':
      return internal::MatchContextValue(text, i);
    case '"':
    case '\'':
      return internal::MatchQuotedField(text, i);
    case '\\':
      if (auto m = internal::MatchQuotedField(text, i)) return m;
      return internal::MatchParam(text, i);
    case '?':
    case '&':
    case ';':
    case '\n':
      return internal::MatchParam(text, i);
    default:
      return internal::MatchShapeAt(text, i);
  }
}

// False when MatchAt cannot match at the punctuation byte text[i], by the byte after it: a key
// block opens with "-----", a backslash must start \", \u0026 or \n, a quote a name. A cheap
// test before the call.
bool MayStartPunctuationRule(std::string_view text, size_t i) {
  const char next = i + 1 < text.size() ? text[i + 1] : '\0';
  switch (text[i]) {
    case '-':
      return next == '-';
    case '\\':
      return next == '"' || next == 'u' || next == 'n';
    case '"':
    case '\'':
      return internal::IsNameChar(next);
    default:
      return true;
  }
}

bool Contains(const std::vector<std::string_view>& names, std::string_view name) {
  return std::any_of(names.begin(), names.end(),
                     [&](std::string_view n) { return HeaderNameEquals(n, name); });
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
    const std::string where = prefix + ToLowerAscii(name);
    if (Contains(DefaultCredentialHeaders(), name) || IsSecretNamedValue(name, value)) {
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

}  // namespace

std::vector<SecretMatch> FindSecrets(std::string_view all) {
  const std::array<uint8_t, 256>& classes = ByteClasses();
  std::vector<SecretMatch> found;
  // A match ends a word: after one, the matchers see only the text that follows, so a key right
  // after another ("-----END PRIVATE KEY-----sk-ant-...") starts a word, as it does once the
  // first is redacted to "[REDACTED:...]".
  size_t base = 0;
  std::string_view text = all;
  // Runs the matchers at text[i]; on a match, records it and the text becomes what follows it.
  auto match_at = [&](size_t i) {
    std::optional<SecretMatch> m = MatchAt(text, i);
    if (!m) return false;
    found.push_back(SecretMatch{m->rule, base + m->begin, base + m->end});
    base += m->end;
    text = all.substr(base);
    return true;
  };
  // A form body or header value may open with name=value.
  if (!text.empty()) {
    if (auto m = internal::MatchParam(text, 0)) {
      found.push_back(*m);
      base = m->end;
      text = all.substr(base);
    }
  }
  // The loops below read these copies of `text`, which a match replaces.
  const char* bytes = text.data();
  size_t size = text.size();
  auto class_of = [&](size_t pos) { return classes[static_cast<unsigned char>(bytes[pos])]; };
  auto restart = [&] {
    bytes = text.data();
    size = text.size();
    return size_t{0};
  };
  size_t i = 0;
  while (i < size) {
    // Bytes that start nothing and are not letters or digits (spaces, most punctuation).
    uint8_t cls;
    while ((cls = class_of(i)) == 0) {
      if (++i == size) return found;
    }
    if ((cls & kWordByte) == 0) {
      i = MayStartPunctuationRule(text, i) && match_at(i) ? restart() : i + 1;
      continue;
    }
    // `i` starts a word (it is 0, or the byte before it is not a letter or digit). Rules that
    // start at a letter or digit only start a word; the two bytes a rule's prefix needs are
    // checked before its matcher is called.
    if ((cls & kStartsRule) != 0 &&
        ((cls & kDigitByte) != 0 ? internal::MayStartDigitRule(text, i)
                                 : internal::MayStartLetterRule(text, i)) &&
        match_at(i)) {
      i = restart();
      continue;
    }
    // The rest of the word is skipped without a call, but for a Telegram bot id after "bot".
    for (++i; i < size; ++i) {
      while ((class_of(i) & kLetterByte) != 0) {
        if (++i == size) return found;
      }
      if ((class_of(i) & kDigitByte) == 0) break;
      if (i >= 3 && bytes[i - 1] == 't' && bytes[i - 2] == 'o' && bytes[i - 3] == 'b' &&
          internal::MayStartDigitRule(text, i) && match_at(i)) {
        i = restart();
        break;
      }
    }
  }
  return found;
}

const std::vector<std::string_view>& SecretRuleNames() {
  using namespace internal;  // NOLINT: the rule names
  static const std::vector<std::string_view> kNames = {
      kRuleAnthropicKey,      kRuleOpenAiKey,        kRuleBearerToken,
      kRuleBasicAuth,         kRuleAwsAccessKeyId,   kRuleAwsSecretKey,
      kRuleAwsSessionToken,   kRuleAwsSignature,     kRuleJwt,
      kRuleGoogleApiKey,      kRuleGoogleOauthToken, kRuleGoogleClientSecret,
      kRuleGithubToken,       kRuleGitlabToken,      kRuleSlackToken,
      kRuleSlackWebhook,      kRuleStripeKey,        kRuleStripeWebhookSecret,
      kRuleHuggingfaceToken,  kRuleNpmToken,         kRulePypiToken,
      kRuleReplicateToken,    kRuleGroqKey,          kRuleXaiKey,
      kRulePerplexityKey,     kRuleShopifyToken,     kRuleDigitalOceanToken,
      kRuleDatabricksToken,   kRuleSendgridKey,      kRuleTwilioApiKey,
      kRuleTelegramBotToken,  kRuleAzureOpenAiKey,   kRuleAzureAccountKey,
      kRuleAzureSasSignature, kRulePrivateKey,       kRulePgpPrivateKey,
      kRuleUrlPassword,       kRuleSecretField,      kRuleSecretParam,
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

bool IsSecretNamedValue(std::string_view name, std::string_view value) {
  return internal::LooksLikeSecretValue(internal::ClassifySecretName(name), value);
}

std::vector<SecretFinding> ScanInteraction(const Interaction& interaction, size_t index) {
  std::vector<SecretFinding> out;
  const Request& request = interaction.request;
  for (const SecretMatch& m : FindSecrets(request.path)) {
    out.push_back(SecretFinding{index, "request.path", std::string(m.rule)});
  }
  for (const auto& [name, value] : request.query) {
    const std::string where = "request.query." + name;  // as sent, like redaction reports
    if (Contains(DefaultCredentialQueryParams(), name) || IsSecretNamedValue(name, value)) {
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

size_t RedactionPlaceholderLengthAt(std::string_view text, size_t pos) {
  // How far a placeholder's rule name may run ("[REDACTED:aws-access-key-id]").
  constexpr size_t kMaxPlaceholder = 64;
  if (!StartsWithAt(text, pos, "[REDACTED")) return 0;
  const std::string_view window = text.substr(pos, kMaxPlaceholder);
  const size_t close = window.find(']');
  if (close == std::string_view::npos || !IsRedactionPlaceholder(window.substr(0, close + 1))) {
    return 0;
  }
  return close + 1;
}

}  // namespace td::cassette
