// File: cassette/internal/secret_rules.h
//
// The secret scanner's matchers, split by family: secret_rules_keys.cc (vendor key shapes),
// secret_rules_text.cc (auth schemes, key blocks, passwords in URLs) and secret_rules_named.cc
// (values whose name says secret). cassette/secret_scan.cc dispatches to them by first byte.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "cassette/base/ascii.h"
#include "cassette/secret_scan.h"

namespace td::cassette::internal {

// Rule names: stable (placeholders, redaction reports, verify output), listed in
// docs/security.md and SecretRuleNames().
inline constexpr std::string_view kRuleAnthropicKey = "anthropic-key";
inline constexpr std::string_view kRuleOpenAiKey = "openai-key";
inline constexpr std::string_view kRuleBearerToken = "bearer-token";
inline constexpr std::string_view kRuleBasicAuth = "basic-auth";
inline constexpr std::string_view kRuleAwsAccessKeyId = "aws-access-key-id";
inline constexpr std::string_view kRuleAwsSecretKey = "aws-secret-key";
inline constexpr std::string_view kRuleAwsSessionToken = "aws-session-token";
inline constexpr std::string_view kRuleAwsSignature = "aws-signature";
inline constexpr std::string_view kRuleJwt = "jwt";
inline constexpr std::string_view kRuleGoogleApiKey = "google-api-key";
inline constexpr std::string_view kRuleGoogleOauthToken = "google-oauth-token";
inline constexpr std::string_view kRuleGoogleClientSecret = "google-client-secret";
inline constexpr std::string_view kRuleGithubToken = "github-token";
inline constexpr std::string_view kRuleGitlabToken = "gitlab-token";
inline constexpr std::string_view kRuleSlackToken = "slack-token";
inline constexpr std::string_view kRuleSlackWebhook = "slack-webhook";
inline constexpr std::string_view kRuleStripeKey = "stripe-key";
inline constexpr std::string_view kRuleStripeWebhookSecret = "stripe-webhook-secret";
inline constexpr std::string_view kRuleHuggingfaceToken = "huggingface-token";
inline constexpr std::string_view kRuleNpmToken = "npm-token";
inline constexpr std::string_view kRulePypiToken = "pypi-token";
inline constexpr std::string_view kRuleReplicateToken = "replicate-token";
inline constexpr std::string_view kRuleGroqKey = "groq-key";
inline constexpr std::string_view kRuleXaiKey = "xai-key";
inline constexpr std::string_view kRulePerplexityKey = "perplexity-key";
inline constexpr std::string_view kRuleShopifyToken = "shopify-token";
inline constexpr std::string_view kRuleDigitalOceanToken = "digitalocean-token";
inline constexpr std::string_view kRuleDatabricksToken = "databricks-token";
inline constexpr std::string_view kRuleSendgridKey = "sendgrid-key";
inline constexpr std::string_view kRuleTwilioApiKey = "twilio-api-key";
inline constexpr std::string_view kRuleTelegramBotToken = "telegram-bot-token";
inline constexpr std::string_view kRuleAzureOpenAiKey = "azure-openai-key";
inline constexpr std::string_view kRuleAzureAccountKey = "azure-account-key";
inline constexpr std::string_view kRuleAzureSasSignature = "azure-sas-signature";
inline constexpr std::string_view kRulePrivateKey = "private-key";
inline constexpr std::string_view kRulePgpPrivateKey = "pgp-private-key";
inline constexpr std::string_view kRuleUrlPassword = "url-password";
inline constexpr std::string_view kRuleSecretField = "secret-field";
inline constexpr std::string_view kRuleSecretParam = "secret-param";

// --- Character classes and small scanning helpers, shared by the families. ---

// (IsDigit, IsAlnum, StartsWithAt and the rest of the ASCII basics: cassette/base/ascii.h.)
inline bool IsLowerHex(char c) { return IsDigit(c) || (c >= 'a' && c <= 'f'); }
// Per byte: 1 for [A-Za-z0-9_-], 2 for [A-Za-z0-9_.-]; one load instead of five comparisons in
// the runs over names and keys.
inline constexpr std::array<uint8_t, 256> kKeyAndNameChars = [] {
  std::array<uint8_t, 256> table{};
  for (int b = 0; b < 256; ++b) {
    const auto c = static_cast<char>(b);
    if (IsAlnum(c) || c == '_' || c == '-') table[b] = 3;
    if (c == '.') table[b] = 2;
  }
  return table;
}();

// [A-Za-z0-9_-]: the body of most keys, base64url. A prefix only counts where the byte before
// it is not one of these.
inline bool IsKeyChar(char c) { return (kKeyAndNameChars[static_cast<unsigned char>(c)] & 1) != 0; }
// Standard base64 without and with padding.
inline bool IsBase64(char c) { return IsAlnum(c) || c == '+' || c == '/'; }
inline bool IsBase64Padded(char c) { return IsBase64(c) || c == '='; }
// Base64 as it sits in a URL: padded, possibly percent-encoded (%2B, %2F, %3D).
inline bool IsBase64Url(char c) { return IsBase64Padded(c) || c == '%'; }
// The name of a header, parameter or JSON field, as far as the name rules care.
inline bool IsNameChar(char c) {
  return (kKeyAndNameChars[static_cast<unsigned char>(c)] & 2) != 0;
}

// The first position at or after `pos` where `pred` fails (or the end).
template <class Pred>
size_t RunEnd(std::string_view text, size_t pos, Pred pred) {
  while (pos < text.size() && pred(text[pos])) ++pos;
  return pos;
}

// Like RunEnd, but looks at no more than `max` bytes: the result is at most pos + max.
template <class Pred>
size_t RunEndMax(std::string_view text, size_t pos, size_t max, Pred pred) {
  const size_t stop = std::min(text.size(), pos + max);
  while (pos < stop && pred(text[pos])) ++pos;
  return pos;
}

// True when the byte before `pos` cannot continue a word made of `pred` characters.
template <class Pred>
bool WordStart(std::string_view text, size_t pos, Pred pred) {
  return pos == 0 || !pred(text[pos - 1]);
}

// Random keys mix cases and digits; a run of lower-case letters and dashes is a hyphenated
// word ("sk-compatible-endpoint-configuration"), not a key.
inline bool LooksRandom(std::string_view body) {
  return std::any_of(body.begin(), body.end(), [](char c) { return IsDigit(c) || IsUpper(c); });
}

// --- Matchers. Each looks for a secret that its dispatch byte, at `i`, introduces, and
// returns it; the match never starts before `i` and ends after it. Each is written so that
// FindSecrets stays linear in the text: whatever a failed attempt reads is bounded, or cannot
// hold another start of the same rule (docs/security.md, "How the scanner works"). ---

// Vendor key shapes that start with a letter at the start of a word: sk- keys, Stripe, Slack,
// AWS access key ids and STS session tokens, JWTs, Google, GitHub, GitLab, Hugging Face, npm,
// PyPI, Replicate, Groq, xAI, Perplexity, Shopify, DigitalOcean, Databricks, SendGrid, Twilio,
// Slack webhook URLs. secret_rules_keys.cc.
std::optional<SecretMatch> MatchVendorKey(std::string_view text, size_t i);
// The bytes MatchVendorKey can start at.
bool StartsVendorKey(char c);
// A set of three-byte strings as a 65536-bit filter (8 KB): every string added tests true, a few
// others do too (they share a slot).
class TrigramFilter {
 public:
  constexpr void Add(unsigned char a, unsigned char b, unsigned char c) {
    const uint32_t slot = Slot(a, b, c);
    bits_[slot >> 6] |= uint64_t{1} << (slot & 63);
  }
  constexpr bool MayHold(unsigned char a, unsigned char b, unsigned char c) const {
    const uint32_t slot = Slot(a, b, c);
    return ((bits_[slot >> 6] >> (slot & 63)) & 1) != 0;
  }

 private:
  static constexpr uint32_t Slot(unsigned char a, unsigned char b, unsigned char c) {
    return ((uint32_t{a} | uint32_t{b} << 8 | uint32_t{c} << 16) * 0x9E3779B1u) >> 16;
  }
  std::array<uint64_t, 1024> bits_{};
};

// The first three bytes of every secret a letter introduces: the prefixes MatchVendorKey looks
// for ("sk-", "AKIA", "eyJ", "ghp_", ...; a two-byte prefix with any third byte) and "Bearer " and
// "Basic " in any case (MatchAuthScheme). secret_rules_keys.cc.
extern const TrigramFilter kLetterRuleStarts;

// False when no secret that the letter at text[i] introduces (MatchAuthScheme at 'B' or 'b',
// MatchShapeAt at any other letter) can start at `i`: a cheap test the scanner makes at each word
// start before calling them. Each of those secrets is at least three bytes long. True does not
// mean a match.
inline bool MayStartLetterRule(std::string_view text, size_t i) {
  return i + 2 < text.size() && kLetterRuleStarts.MayHold(static_cast<unsigned char>(text[i]),
                                                          static_cast<unsigned char>(text[i + 1]),
                                                          static_cast<unsigned char>(text[i + 2]));
}

// False when no Telegram bot token can start at the digit text[i]: its id is 8 to 10 digits and
// a ':' follows them.
inline bool MayStartDigitRule(std::string_view text, size_t i) {
  return i + 8 < text.size() && IsDigit(text[i + 1]) && IsDigit(text[i + 7]);
}

// "<8-10 digits>:AA<33 more>" at a digit that starts a word (or follows "bot").
std::optional<SecretMatch> MatchTelegramBotToken(std::string_view text, size_t i);
// Any rule that recognises a value on its own shape (a vendor key or a Telegram token) at `i`:
// used by the named-value rules to report the most specific rule.
std::optional<SecretMatch> MatchShapeAt(std::string_view text, size_t i);

// "Bearer <token>" and "Basic <base64 of user:pass>" at a 'B' or 'b'; the match is the token.
// secret_rules_text.cc.
std::optional<SecretMatch> MatchAuthScheme(std::string_view text, size_t i);
// A PEM private key block or a PGP private key block at a '-'.
std::optional<SecretMatch> MatchKeyBlock(std::string_view text, size_t i);
// The password of "scheme://user:password@host" at the ':' of "://" (or ":\/\/").
std::optional<SecretMatch> MatchUrlPassword(std::string_view text, size_t i);

// Values named secret. secret_rules_named.cc.
// At a quote ('"', '\'', or the backslash of an escaped \"): `"name": "value"` where the name
// says secret; the match is the value between the quotes.
std::optional<SecretMatch> MatchQuotedField(std::string_view text, size_t i);
// At '?', '&' (also "&amp;"), the backslash of "\u0026", or at 0: `name=value` in a query
// string or form body; the match is the value.
std::optional<SecretMatch> MatchParam(std::string_view text, size_t i);
// At ':', '=' or '>': a context word before it (`aws_secret_access_key = `, `AccountKey=`,
// `<SecretAccessKey>`, `Signature=`, `api-key: `) and the value shaped for it after it.
std::optional<SecretMatch> MatchContextValue(std::string_view text, size_t i);

// How a name marks its value: not at all, as a password, or as another secret.
enum class SecretName { kNone, kPassword, kSecret };
SecretName ClassifySecretName(std::string_view name);
// Whether `value` under a name of that kind looks like a secret rather than a number, a word, a
// template or a placeholder.
bool LooksLikeSecretValue(SecretName kind, std::string_view value);

}  // namespace td::cassette::internal
