// Tests for the secret scanner: one realistic fake per rule (built from pieces, so this file
// holds no key-shaped literal for repository scanners to trip on), prose and real recordings
// that must not match, placeholders, 10 MB adversarial inputs, and ScanInteraction's `where`.
#include "cassette/secret_scan.h"
#include "tests/support/fake_secrets.h"
#include "tests/support/fixtures.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace td::cassette {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Not;

using testing::FakeAnthropicKey;
using testing::FakeAwsKeyId;
using testing::FakeBearerToken;
using testing::FakeGithubToken;
using testing::FakeGoogleKey;
using testing::FakeJwt;
using testing::FakeOpenAiKey;
using testing::Rep;

std::string FakeGithubPat() { return std::string("github_") + "pat_" + Rep("11AbC_", 5); }
std::string FakePrivateKey() {
  return std::string("-----BEGIN ") + "RSA PRIVATE KEY-----\nMIIE" + Rep("q8Zx", 16) +
         "\n-----END RSA PRIVATE KEY-----";
}

struct Case {
  std::string rule;
  std::string key;
};

std::vector<Case> AllFakes() {
  return {
      {"anthropic-key", FakeAnthropicKey()}, {"openai-key", FakeOpenAiKey()},
      {"aws-access-key-id", FakeAwsKeyId()}, {"jwt", FakeJwt()},
      {"google-api-key", FakeGoogleKey()},   {"github-token", FakeGithubToken()},
      {"github-token", FakeGithubPat()},     {"private-key", FakePrivateKey()},
  };
}

TEST(SecretScanTest, FindsEachRuleInsideJson) {
  for (const Case& c : AllFakes()) {
    SCOPED_TRACE(c.rule);
    const std::string prefix = R"({"model":"claude","note":")";
    const std::string text = prefix + c.key + R"(","n":1})";
    std::vector<SecretMatch> found = FindSecrets(text);
    ASSERT_EQ(found.size(), 1u);
    EXPECT_EQ(found[0].rule, c.rule);
    EXPECT_EQ(found[0].begin, prefix.size());
    EXPECT_EQ(found[0].end, prefix.size() + c.key.size());
  }
}

TEST(SecretScanTest, FindsKeysInProseAndHeaders) {
  const std::string text = "export ANTHROPIC_API_KEY=" + FakeAnthropicKey() +
                           "\nx-api-key: " + FakeAnthropicKey() + " and then " + FakeAwsKeyId() +
                           ".";
  std::vector<SecretMatch> found = FindSecrets(text);
  ASSERT_EQ(found.size(), 3u);
  EXPECT_EQ(found[0].rule, "anthropic-key");
  EXPECT_EQ(found[1].rule, "anthropic-key");
  EXPECT_EQ(found[2].rule, "aws-access-key-id");
  EXPECT_LT(found[0].end, found[1].begin) << "in order, not overlapping";
}

TEST(SecretScanTest, AnthropicKeyVariants) {
  for (std::string_view kind : {"api03-", "admin01-", "oat01-"}) {
    const std::string key = std::string("sk-ant-") + std::string(kind) + Rep("Qw3rTy9_-", 5);
    std::vector<SecretMatch> found = FindSecrets("key " + key);
    ASSERT_EQ(found.size(), 1u) << kind;
    EXPECT_EQ(found[0].rule, "anthropic-key");
    EXPECT_EQ(found[0].end - found[0].begin, key.size());
  }
}

TEST(SecretScanTest, OpenAiKeyVariants) {
  for (std::string_view kind : {"", "proj-", "svcacct-", "admin-"}) {
    const std::string key = std::string("sk-") + std::string(kind) + Rep("T3BlbkFJ", 4);
    std::vector<SecretMatch> found = FindSecrets("\"" + key + "\"");
    ASSERT_EQ(found.size(), 1u) << kind;
    EXPECT_EQ(found[0].rule, "openai-key");
  }
  // The body after the named prefix must itself be long enough.
  EXPECT_THAT(FindSecrets(std::string("sk-") + "proj-" + "Ab3xYz9Q"), IsEmpty());
}

TEST(SecretScanTest, BearerMatchCoversTheTokenOnly) {
  const std::string token = FakeBearerToken();
  for (std::string_view word : {"Bearer ", "bearer ", "BEARER  "}) {
    const std::string text = "Authorization: " + std::string(word) + token + "\r\n";
    std::vector<SecretMatch> found = FindSecrets(text);
    ASSERT_EQ(found.size(), 1u) << word;
    EXPECT_EQ(found[0].rule, "bearer-token");
    EXPECT_EQ(text.substr(found[0].begin, found[0].end - found[0].begin), token);
  }
}

TEST(SecretScanTest, BearerHoldingAKnownKeyIsReportedAsThatKey) {
  const std::string key = FakeOpenAiKey();
  std::vector<SecretMatch> found = FindSecrets("Bearer " + key);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].rule, "openai-key");
  EXPECT_EQ(found[0].begin, 7u);
}

TEST(SecretScanTest, PrivateKeyInsideJsonStringStaysInsideIt) {
  // JSON-escaped line ends: a backslash and an 'n'.
  std::string pem = FakePrivateKey();
  std::string escaped;
  for (char c : pem) {
    if (c == '\n') {
      escaped += "\\n";
    } else {
      escaped += c;
    }
  }
  const std::string text = R"({"pem":")" + escaped + R"(\n","x":1})";
  std::vector<SecretMatch> found = FindSecrets(text);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].rule, "private-key");
  EXPECT_EQ(text.substr(found[0].begin, found[0].end - found[0].begin), escaped);

  // Truncated (no END line) and followed by an escaped quote: the match must not end on the
  // backslash, or replacing it would unescape the quote.
  const std::string cut = std::string(R"({"pem":")") + "-----BEGIN " + "PRIVATE KEY-----\\nMIIE" +
                          Rep("q8Zx", 8) + R"(\"x","y":1})";
  found = FindSecrets(cut);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(cut[found[0].end], '\\');
}

TEST(SecretScanTest, KeyRightAfterAnotherMatchIsFound) {
  // A PEM block's footer ends in '-', a key character: the key after it still starts a word,
  // as it does once the block is redacted (found by tests/fuzz/redact_fuzz).
  const std::string pem = FakePrivateKey();
  const std::string key = FakeAnthropicKey();
  std::vector<SecretMatch> found = FindSecrets(pem + key + " and " + pem + FakeAwsKeyId());
  ASSERT_EQ(found.size(), 4u);
  EXPECT_EQ(found[0].rule, "private-key");
  EXPECT_EQ(found[1].rule, "anthropic-key");
  EXPECT_EQ(found[1].begin, pem.size());
  EXPECT_EQ(found[1].end, pem.size() + key.size());
  EXPECT_EQ(found[2].rule, "private-key");
  EXPECT_EQ(found[3].rule, "aws-access-key-id");
}

TEST(SecretScanTest, OrdinaryProseDoesNotMatch) {
  const std::vector<std::string> prose = {
      "The task-antelope herds run in the sk-learn style.",
      "sk-",
      "sk-ant-",
      "use sk-learn or scikit-learn",
      "a sk-compatible-endpoint-configuration-guide, all lower case",
      "task-ant-" + Rep("Ab3x", 8),  // "sk-ant-" inside a longer word
      "desk-" + Rep("Ab3x", 8),
      "the bearer of this letter is welcome",
      "Authorization: Bearer x",
      "Bearer abc123",
      "Bearer authenticationrequired",            // long, but a word
      "AKIA" + std::string("1234567890ABCDE"),    // 15 characters
      "AKIA" + std::string("1234567890ABCDEFG"),  // 17: not an access key id
      "XAKIA" + std::string("1234567890ABCDEF"),  // inside a word
      "eyJhbGciOiJIUzI1NiJ9 alone",
      "ghp_" + std::string("short"),
      "AIza" + std::string("tooShort"),
      "-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----",
      "-----BEGIN CERTIFICATE-----",
      "[REDACTED]",
      "[REDACTED:anthropic-key]",
      "x-api-key: [REDACTED:anthropic-key]",
      "Bearer [REDACTED]",
      R"({"model":"claude-3-5-sonnet-20241022","id":"msg_01XFDUDYJgAACzvnptvVoYEL"})",
      R"({"type":"tool_use","id":"toolu_01A09q90qw90lq917835lq9"})",
  };
  for (const std::string& text : prose) {
    EXPECT_THAT(FindSecrets(text), IsEmpty()) << text;
  }
}

TEST(SecretScanTest, RealRecordingsHaveNoFalsePositives) {
  // Real API traffic: ids, signatures, thinking blocks, base64 and URLs, but no keys.
  const std::filesystem::path dir = std::filesystem::path(TD_FIXTURES_DIR);
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) GTEST_SKIP() << "no fixtures in " << dir;
  size_t files = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir, ec)) {
    if (!entry.is_regular_file()) continue;
    const std::string ext = entry.path().extension().string();
    if (ext != ".sse" && ext != ".yaml" && ext != ".json") continue;
    ++files;
    for (const SecretMatch& m : FindSecrets(testing::ReadFile(entry.path()))) {
      ADD_FAILURE() << entry.path().filename() << ": " << m.rule << " at byte " << m.begin;
    }
  }
  EXPECT_GT(files, 10u);
}

TEST(SecretScanTest, PlaceholdersAreRecognised) {
  EXPECT_TRUE(IsRedactionPlaceholder("[REDACTED]"));
  EXPECT_TRUE(IsRedactionPlaceholder("[REDACTED:anthropic-key]"));
  EXPECT_TRUE(IsRedactionPlaceholder("[REDACTED:aws-access-key-id]"));
  EXPECT_FALSE(IsRedactionPlaceholder("[REDACTED:]"));
  EXPECT_FALSE(IsRedactionPlaceholder("[REDACTED] "));
  EXPECT_FALSE(IsRedactionPlaceholder("Bearer [REDACTED]"));
  EXPECT_FALSE(IsRedactionPlaceholder(""));
  EXPECT_FALSE(IsRedactionPlaceholder("[REDACTED:Has Space]"));
}

TEST(SecretScanTest, TenMegabyteAdversarialInputsScanInLinearTime) {
  // Each input is built to make a naive matcher rescan; all must finish quickly (a quadratic
  // scan of 10 MB would not finish within the test timeout).
  const size_t kSize = 10 << 20;
  auto fill = [&](std::string_view unit) {
    std::string s;
    s.reserve(kSize + unit.size());
    while (s.size() < kSize) s += unit;
    return s;
  };
  for (std::string_view unit : {"a", "sk-", "sk-ant-", "eyJ.", "eyJaaaaaaaaaaaa.eyJaaaaaaaaaaaa.x ",
                                "Bearer ", "AKIA", "ghp_", "-----END ", "[REDACTED"}) {
    EXPECT_THAT(FindSecrets(fill(unit)), IsEmpty()) << unit;
  }
  // One long run that looks like the start of many keys, with a real one at the very end.
  std::string tail = fill("x") + " " + FakeAnthropicKey();
  std::vector<SecretMatch> found = FindSecrets(tail);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].begin, kSize + 1);
  // A private key header repeated: one match that covers the run, not one scan per header.
  const std::string header = std::string("-----BEGIN ") + "PRIVATE KEY-----";
  found = FindSecrets(fill(header));
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].begin, 0u);
}

TEST(SecretScanTest, RuleNamesAndDefaultLists) {
  EXPECT_THAT(SecretRuleNames(),
              ElementsAre("anthropic-key", "openai-key", "bearer-token", "aws-access-key-id", "jwt",
                          "google-api-key", "github-token", "private-key"));
  const auto& headers = DefaultCredentialHeaders();
  for (std::string_view h :
       {"x-api-key", "authorization", "proxy-authorization", "cookie", "set-cookie", "api-key",
        "x-goog-api-key", "x-auth-token", "x-amz-security-token"}) {
    EXPECT_THAT(headers, Contains(h));
  }
  EXPECT_THAT(headers, Not(Contains("openai-organization")));
  EXPECT_THAT(headers, Not(Contains("anthropic-version")));
  const auto& params = DefaultCredentialQueryParams();
  for (std::string_view q : {"key", "api_key", "apikey", "access_token", "token", "auth",
                             "x-api-key", "sig", "signature"}) {
    EXPECT_THAT(params, Contains(q));
  }
}

Interaction LeakyInteraction() {
  Interaction i;
  i.request.method = "POST";
  i.request.path = "/v1/messages";
  i.request.query = {{"beta", "true"}, {"api_key", "abc"}, {"q", FakeGoogleKey()}};
  i.request.headers = {{"X-Api-Key", FakeAnthropicKey()},
                       {"openai-organization", "org-123"},
                       {"x-echo", "k=" + FakeOpenAiKey()},
                       {"content-type", "application/json"}};
  i.request.body.bytes = R"({"system":"key )" + FakeAnthropicKey() + R"("})";
  i.response.status = 200;
  i.response.headers = {{"Set-Cookie", "session=abc; HttpOnly"},
                        {"content-type", "text/event-stream"}};
  Stream s;
  s.events = {{"event: ping\ndata: {}\n\n", 10, {}},
              {"data: {\"a\":1}\n\n", 20, {}},
              {"data: {\"b\":2}\n\n", 30, {}},
              {"data: {\"text\":\"your key is " + FakeAwsKeyId() + "\"}\n\n", 40, {}}};
  i.response.stream = std::move(s);
  return i;
}

TEST(SecretScanTest, ScanInteractionLocatesEveryFinding) {
  std::vector<SecretFinding> found = ScanInteraction(LeakyInteraction(), 7);
  std::vector<std::string> got;
  for (const SecretFinding& f : found) {
    EXPECT_EQ(f.interaction, 7u);
    got.push_back(f.where + " -> " + f.rule);
  }
  const size_t body_offset = std::string(R"({"system":"key )").size();
  EXPECT_THAT(
      got,
      ElementsAre("request.query.api_key -> credential-query", "request.query.q -> google-api-key",
                  "request.headers.x-api-key -> credential-header",
                  "request.headers.x-echo -> openai-key",
                  "request.body at byte " + std::to_string(body_offset) + " -> anthropic-key",
                  "response.headers.set-cookie -> credential-header",
                  "response.stream.events[3] at byte 27 -> aws-access-key-id"));
}

TEST(SecretScanTest, RedactedInteractionScansClean) {
  Interaction i;
  i.request.path = "/v1/messages";
  i.request.query = {{"key", "[REDACTED]"}};
  i.request.headers = {
      {"x-api-key", "[REDACTED]"}, {"authorization", "[REDACTED:bearer-token]"}, {"cookie", ""}};
  i.request.body.bytes = R"({"k":"[REDACTED:anthropic-key]"})";
  i.response.body.bytes = "ok";
  EXPECT_THAT(ScanInteraction(i, 0), IsEmpty());
}

}  // namespace
}  // namespace td::cassette
