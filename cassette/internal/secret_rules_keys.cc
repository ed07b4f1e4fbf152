// Vendor key shapes: a fixed prefix at the start of a word, then a body of known characters and
// length. Most are rows of one table (kPrefixRules); the shapes a table row cannot say (sk-
// keys, AWS access key ids, JWTs, SendGrid, Slack webhook URLs, Telegram bot tokens) have their
// own matcher. docs/security.md lists every rule.
#include <array>
#include <cstdint>

#include "cassette/internal/secret_rules.h"

namespace td::cassette::internal {

namespace {

constexpr size_t kMinKeyBody = 20;     // sk-... keys
constexpr size_t kMinJwtSegment = 10;  // each JWT segment after its "eyJ"
constexpr size_t kAwsBody = 16;
constexpr size_t kSendgridId = 22;
constexpr size_t kSendgridSecret = 43;
constexpr size_t kMinSlackWebhook = 20;
constexpr size_t kTelegramSecret = 35;

enum class Body : uint8_t {
  kAlnum,         // [A-Za-z0-9]
  kKey,           // [A-Za-z0-9_-]
  kAlnumDash,     // [A-Za-z0-9-]
  kAlnumUnder,    // [A-Za-z0-9_]
  kHex,           // [0-9A-Fa-f]
  kLowerHex,      // [0-9a-f]
  kBase64Padded,  // [A-Za-z0-9+/=]
  kBase64Url,     // [A-Za-z0-9+/=%]
};

bool InBody(Body body, char c) {
  switch (body) {
    case Body::kAlnum:
      return IsAlnum(c);
    case Body::kKey:
      return IsKeyChar(c);
    case Body::kAlnumDash:
      return IsAlnum(c) || c == '-';
    case Body::kAlnumUnder:
      return IsAlnum(c) || c == '_';
    case Body::kHex:
      return IsHex(c);
    case Body::kLowerHex:
      return IsLowerHex(c);
    case Body::kBase64Padded:
      return IsBase64Padded(c);
    case Body::kBase64Url:
      return IsBase64Url(c);
  }
  return false;
}

// A prefix, then a body of `min` or more `body` characters. With `exact`, the body is exactly
// `min` long and no letter or digit follows it. With `random`, the body must hold a digit or an
// upper-case letter. Every row's body class is made of word characters, or the prefix holds a
// byte outside its class, or the row cannot fail once its minimum is read: so a failed attempt
// never reads across another start of the same row, and the scan stays linear.
struct PrefixRule {
  std::string_view prefix;
  std::string_view rule;
  Body body;
  uint16_t min;
  bool exact;
  bool random;
};

constexpr PrefixRule kPrefixRules[] = {
    // Slack bot, user, app-level, refresh and configuration tokens.
    {"xoxb-", kRuleSlackToken, Body::kAlnumDash, 20, false, true},
    {"xoxp-", kRuleSlackToken, Body::kAlnumDash, 20, false, true},
    {"xoxa-", kRuleSlackToken, Body::kAlnumDash, 20, false, true},
    {"xoxo-", kRuleSlackToken, Body::kAlnumDash, 20, false, true},
    {"xoxr-", kRuleSlackToken, Body::kAlnumDash, 20, false, true},
    {"xoxs-", kRuleSlackToken, Body::kAlnumDash, 20, false, true},
    {"xoxe-", kRuleSlackToken, Body::kAlnumDash, 20, false, true},
    {"xapp-", kRuleSlackToken, Body::kAlnumDash, 20, false, true},
    {"xai-", kRuleXaiKey, Body::kAlnum, 50, false, true},
    // Stripe secret and restricted keys, live and test; webhook signing secrets.
    {"sk_live_", kRuleStripeKey, Body::kAlnum, 20, false, true},
    {"sk_test_", kRuleStripeKey, Body::kAlnum, 20, false, true},
    {"rk_live_", kRuleStripeKey, Body::kAlnum, 20, false, true},
    {"rk_test_", kRuleStripeKey, Body::kAlnum, 20, false, true},
    {"whsec_", kRuleStripeWebhookSecret, Body::kBase64Padded, 24, false, true},
    // Shopify admin API, custom app, partner and shared-secret tokens.
    {"shpat_", kRuleShopifyToken, Body::kHex, 32, true, true},
    {"shpca_", kRuleShopifyToken, Body::kHex, 32, true, true},
    {"shppa_", kRuleShopifyToken, Body::kHex, 32, true, true},
    {"shpss_", kRuleShopifyToken, Body::kHex, 32, true, true},
    {"hf_", kRuleHuggingfaceToken, Body::kAlnum, 30, false, true},
    {"ghp_", kRuleGithubToken, Body::kAlnum, 36, false, true},
    {"gho_", kRuleGithubToken, Body::kAlnum, 36, false, true},
    {"ghu_", kRuleGithubToken, Body::kAlnum, 36, false, true},
    {"ghs_", kRuleGithubToken, Body::kAlnum, 36, false, true},
    {"ghr_", kRuleGithubToken, Body::kAlnum, 36, false, true},
    {"github_pat_", kRuleGithubToken, Body::kAlnumUnder, 22, false, true},
    {"glpat-", kRuleGitlabToken, Body::kKey, 20, false, true},
    {"glptt-", kRuleGitlabToken, Body::kKey, 20, false, true},
    {"gldt-", kRuleGitlabToken, Body::kKey, 20, false, true},
    {"glrt-", kRuleGitlabToken, Body::kKey, 20, false, true},
    {"gsk_", kRuleGroqKey, Body::kAlnum, 40, false, true},
    {"npm_", kRuleNpmToken, Body::kAlnum, 36, false, true},
    // PyPI API tokens are macaroons: "pypi-" and base64url that starts with "AgE".
    {"pypi-AgE", kRulePypiToken, Body::kKey, 50, false, false},
    {"pplx-", kRulePerplexityKey, Body::kAlnum, 40, false, true},
    {"r8_", kRuleReplicateToken, Body::kAlnum, 30, false, true},
    {"dop_v1_", kRuleDigitalOceanToken, Body::kLowerHex, 64, true, true},
    {"doo_v1_", kRuleDigitalOceanToken, Body::kLowerHex, 64, true, true},
    {"dor_v1_", kRuleDigitalOceanToken, Body::kLowerHex, 64, true, true},
    {"dapi", kRuleDatabricksToken, Body::kLowerHex, 32, true, true},
    {"ya29.", kRuleGoogleOauthToken, Body::kKey, 20, false, true},
    {"GOCSPX-", kRuleGoogleClientSecret, Body::kKey, 24, false, true},
    {"AIza", kRuleGoogleApiKey, Body::kKey, 35, false, true},
    // AWS STS session tokens (base64 protobuf; "\x17\n\x06er/aws", "!\n\torigin", legacy).
    {"FwoGZXIvYXdz", kRuleAwsSessionToken, Body::kBase64Url, 80, false, false},
    {"IQoJb3JpZ2lu", kRuleAwsSessionToken, Body::kBase64Url, 80, false, false},
    {"AQoDYXdz", kRuleAwsSessionToken, Body::kBase64Url, 80, false, false},
    // Twilio API key SIDs.
    {"SK", kRuleTwilioApiKey, Body::kLowerHex, 32, true, true},
};

constexpr size_t kMaxRulesPerByte = 12;

// For each first byte, the rows of kPrefixRules that start with it.
struct Buckets {
  std::array<std::array<uint8_t, kMaxRulesPerByte>, 256> rows{};
  std::array<uint8_t, 256> count{};
};

constexpr Buckets kBuckets = [] {
  Buckets b;
  for (size_t r = 0; r < std::size(kPrefixRules); ++r) {
    const auto first = static_cast<unsigned char>(kPrefixRules[r].prefix[0]);
    b.rows[first][b.count[first]++] = static_cast<uint8_t>(r);  // overflow fails to compile
  }
  return b;
}();

std::optional<SecretMatch> MatchPrefixRule(const PrefixRule& r, std::string_view text, size_t i) {
  if (!StartsWithAt(text, i, r.prefix)) return std::nullopt;
  const size_t body = i + r.prefix.size();
  const auto in_body = [&](char c) { return InBody(r.body, c); };
  size_t end;
  if (r.exact) {
    end = RunEndMax(text, body, r.min + 1u, in_body);
    if (end - body != r.min) return std::nullopt;
    if (end < text.size() && IsAlnum(text[end])) return std::nullopt;
  } else {
    end = RunEnd(text, body, in_body);
    if (end - body < r.min) return std::nullopt;
  }
  if (r.random && !LooksRandom(text.substr(body, end - body))) return std::nullopt;
  return SecretMatch{r.rule, i, end};
}

std::optional<SecretMatch> MatchSkKey(std::string_view text, size_t i) {
  if (!StartsWithAt(text, i, "sk-")) return std::nullopt;
  const size_t end = RunEnd(text, i + 3, IsKeyChar);
  if (StartsWithAt(text, i, "sk-ant-")) {
    std::string_view body = text.substr(i + 7, end - (i + 7));  // '-' is a key char: end >= i+7
    if (body.size() >= kMinKeyBody && LooksRandom(body)) {
      return SecretMatch{kRuleAnthropicKey, i, end};
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
  if (body.size() >= kMinKeyBody && LooksRandom(body)) return SecretMatch{kRuleOpenAiKey, i, end};
  return std::nullopt;
}

// AKIA/ASIA access key ids: a whole word of exactly 16 more upper-case letters and digits.
std::optional<SecretMatch> MatchAwsKeyId(std::string_view text, size_t i) {
  if (!(StartsWithAt(text, i, "AKIA") || StartsWithAt(text, i, "ASIA"))) return std::nullopt;
  const size_t body = i + 4;
  const size_t end =
      RunEndMax(text, body, kAwsBody + 1, [](char c) { return IsDigit(c) || IsUpper(c); });
  if (end - body != kAwsBody) return std::nullopt;
  if (end < text.size() && IsAlnum(text[end])) return std::nullopt;
  return SecretMatch{kRuleAwsAccessKeyId, i, end};
}

std::optional<SecretMatch> MatchJwt(std::string_view text, size_t i) {
  if (!StartsWithAt(text, i, "eyJ")) return std::nullopt;
  size_t pos = i;
  for (int segment = 0; segment < 3; ++segment) {
    size_t body = pos;
    if (segment < 2) {
      if (!StartsWithAt(text, pos, "eyJ")) return std::nullopt;
      body = pos + 3;
    }
    const size_t end = RunEnd(text, body, IsKeyChar);
    if (end - body < kMinJwtSegment) return std::nullopt;
    if (segment == 2) return SecretMatch{kRuleJwt, i, end};
    if (end >= text.size() || text[end] != '.') return std::nullopt;
    pos = end + 1;
  }
  return std::nullopt;
}

// "SG." 22 "." 43, all of [A-Za-z0-9_-].
std::optional<SecretMatch> MatchSendgrid(std::string_view text, size_t i) {
  if (!StartsWithAt(text, i, "SG.")) return std::nullopt;
  const size_t id = i + 3;
  const size_t id_end = RunEndMax(text, id, kSendgridId + 1, IsKeyChar);
  if (id_end - id != kSendgridId || id_end >= text.size() || text[id_end] != '.') {
    return std::nullopt;
  }
  const size_t secret = id_end + 1;
  const size_t end = RunEndMax(text, secret, kSendgridSecret + 1, IsKeyChar);
  if (end - secret != kSendgridSecret) return std::nullopt;
  if (!LooksRandom(text.substr(id, end - id))) return std::nullopt;
  return SecretMatch{kRuleSendgridKey, i, end};
}

// A '/' or a JSON-escaped "\/" at `pos`: its length, or 0.
size_t SlashAt(std::string_view text, size_t pos) {
  if (pos < text.size() && text[pos] == '/') return 1;
  if (StartsWithAt(text, pos, "\\/")) return 2;
  return 0;
}

// "hooks.slack.com/services/T.../B.../..." (also /workflows/ and /triggers/, and with
// JSON-escaped slashes): the match is the part after the kind, which is the credential.
std::optional<SecretMatch> MatchSlackWebhook(std::string_view text, size_t i) {
  constexpr std::string_view kHost = "hooks.slack.com";
  if (!StartsWithAt(text, i, kHost) || !WordStart(text, i, IsNameChar)) return std::nullopt;
  size_t pos = i + kHost.size();
  size_t slash = SlashAt(text, pos);
  if (slash == 0) return std::nullopt;
  pos += slash;
  size_t kind_end = 0;
  for (std::string_view kind : {"services", "workflows", "triggers"}) {
    if (StartsWithAt(text, pos, kind)) kind_end = pos + kind.size();
  }
  if (kind_end == 0 || (slash = SlashAt(text, kind_end)) == 0) return std::nullopt;
  const size_t begin = kind_end + slash;
  // Letters, digits and slashes; never a '.', so the run cannot hold another host name.
  size_t end = begin;
  size_t last_alnum_end = begin;
  size_t alnum = 0;
  bool random = false;
  while (end < text.size()) {
    if (IsAlnum(text[end])) {
      random = random || IsDigit(text[end]) || IsUpper(text[end]);
      ++alnum;
      last_alnum_end = ++end;
    } else if (size_t s = SlashAt(text, end); s != 0) {
      end += s;
    } else {
      break;
    }
  }
  if (alnum < kMinSlackWebhook || !random) return std::nullopt;
  return SecretMatch{kRuleSlackWebhook, begin, last_alnum_end};
}

// The prefixes of the matchers above that are not rows of kPrefixRules.
constexpr std::string_view kOtherLetterPrefixes[] = {
    "sk-", "AKIA", "ASIA", "eyJ", "SG.", "hooks.slack.com",
};

// kLetterRuleStarts holds a prefix's first three bytes, or its two with any third.
constexpr bool EveryLetterPrefixHasTwoBytes() {
  for (const PrefixRule& r : kPrefixRules) {
    if (r.prefix.size() < 2) return false;
  }
  for (std::string_view prefix : kOtherLetterPrefixes) {
    if (prefix.size() < 2) return false;
  }
  return true;
}
static_assert(EveryLetterPrefixHasTwoBytes());

}  // namespace

constinit const TrigramFilter kLetterRuleStarts = [] {
  TrigramFilter filter;
  auto add = [&](std::string_view prefix) {
    const auto a = static_cast<unsigned char>(prefix[0]);
    const auto b = static_cast<unsigned char>(prefix[1]);
    if (prefix.size() >= 3) {
      filter.Add(a, b, static_cast<unsigned char>(prefix[2]));
    } else {
      for (int c = 0; c < 256; ++c) filter.Add(a, b, static_cast<unsigned char>(c));
    }
  };
  for (const PrefixRule& r : kPrefixRules) add(r.prefix);
  for (std::string_view prefix : kOtherLetterPrefixes) add(prefix);
  // "bearer " and "basic ", whose case MatchAuthScheme ignores.
  for (std::string_view scheme : {"bea", "bas"}) {
    for (int mask = 0; mask < 8; ++mask) {
      char cased[3];
      for (int k = 0; k < 3; ++k) {
        cased[k] = (mask >> k & 1) != 0 ? static_cast<char>(scheme[k] - 'a' + 'A') : scheme[k];
      }
      add(std::string_view(cased, 3));
    }
  }
  return filter;
}();

bool StartsVendorKey(char c) {
  switch (c) {
    case 's':
    case 'A':
    case 'e':
    case 'S':
    case 'h':
      return true;
    default:
      return kBuckets.count[static_cast<unsigned char>(c)] != 0;
  }
}

std::optional<SecretMatch> MatchVendorKey(std::string_view text, size_t i) {
  // AWS key ids keep their old boundary (not after a letter or digit); every other prefix
  // needs a byte before it that is not a key character.
  if (!WordStart(text, i, IsAlnum)) return std::nullopt;
  const char c = text[i];
  if (c == 'A') {
    if (auto m = MatchAwsKeyId(text, i)) return m;
  }
  if (!WordStart(text, i, IsKeyChar)) return std::nullopt;
  const auto first = static_cast<unsigned char>(c);
  for (uint8_t k = 0; k < kBuckets.count[first]; ++k) {
    if (auto m = MatchPrefixRule(kPrefixRules[kBuckets.rows[first][k]], text, i)) return m;
  }
  switch (c) {
    case 's':
      return MatchSkKey(text, i);
    case 'e':
      return MatchJwt(text, i);
    case 'S':
      return MatchSendgrid(text, i);
    case 'h':
      return MatchSlackWebhook(text, i);
    default:
      return std::nullopt;
  }
}

std::optional<SecretMatch> MatchTelegramBotToken(std::string_view text, size_t i) {
  // The bot id starts a word, or follows "bot" in an API URL (/bot123456789:AA.../getMe).
  if (!WordStart(text, i, IsAlnum) && !(i >= 3 && text.substr(i - 3, 3) == "bot")) {
    return std::nullopt;
  }
  const size_t digits = RunEndMax(text, i, 11, IsDigit);
  if (digits - i < 8 || digits - i > 10) return std::nullopt;
  if (!StartsWithAt(text, digits, ":AA")) return std::nullopt;
  const size_t secret = digits + 1;
  const size_t end = RunEndMax(text, secret, kTelegramSecret + 1, IsKeyChar);
  if (end - secret != kTelegramSecret) return std::nullopt;
  return SecretMatch{kRuleTelegramBotToken, i, end};
}

std::optional<SecretMatch> MatchShapeAt(std::string_view text, size_t i) {
  if (i >= text.size()) return std::nullopt;
  if (IsDigit(text[i])) return MatchTelegramBotToken(text, i);
  if (StartsVendorKey(text[i])) return MatchVendorKey(text, i);
  return std::nullopt;
}

}  // namespace td::cassette::internal
