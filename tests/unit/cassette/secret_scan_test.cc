// Tests for the secret scanner: one realistic fake per rule (built from pieces, so this file
// holds no key-shaped literal for repository scanners to trip on) found raw and JSON-escaped,
// the variants and contexts of each family, prose, near misses and real recordings that must
// not match, placeholders, 10 MB adversarial inputs, and ScanInteraction's `where`.
#include "cassette/secret_scan.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "cassette/internal/codec_text.h"
#include "cassette/sse.h"
#include "tests/support/fake_secrets.h"
#include "tests/support/fixtures.h"

namespace td::cassette {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Not;

using testing::AllFakeSecrets;
using testing::FakeAnthropicKey;
using testing::FakeAwsKeyId;
using testing::FakeAwsSecretKey;
using testing::FakeAwsSessionToken;
using testing::FakeAwsSignature;
using testing::FakeAzureAccountKey;
using testing::FakeAzureOpenAiKey;
using testing::FakeAzureSasSignature;
using testing::FakeBearerToken;
using testing::FakeGithubPat;
using testing::FakeGoogleKey;
using testing::FakeOpenAiKey;
using testing::FakePgpPrivateKey;
using testing::FakePrivateKey;
using testing::FakeSecret;
using testing::FakeTelegramBotToken;
using testing::Rep;

// How `s` reads inside a JSON string.
std::string JsonEscaped(const std::string& s) {
  const std::string quoted = nlohmann::json(s).dump();
  return quoted.substr(1, quoted.size() - 2);
}

// How `s` reads as a URL query value: base64's '+', '/' and '=' percent-encoded.
std::string PercentEncoded(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '+') {
      out += "%2B";
    } else if (c == '/') {
      out += "%2F";
    } else if (c == '=') {
      out += "%3D";
    } else {
      out += c;
    }
  }
  return out;
}

std::string Matched(std::string_view text, const SecretMatch& m) {
  return std::string(text.substr(m.begin, m.end - m.begin));
}

// Every match in `text` as "rule=bytes", for readable failures.
std::vector<std::string> Found(std::string_view text) {
  std::vector<std::string> out;
  for (const SecretMatch& m : FindSecrets(text)) {
    out.push_back(std::string(m.rule) + "=" + Matched(text, m));
  }
  return out;
}

TEST(SecretScanTest, EveryRuleHasAFake) {
  std::set<std::string> faked;
  for (const FakeSecret& f : AllFakeSecrets()) faked.insert(f.rule);
  const std::set<std::string> rules(SecretRuleNames().begin(), SecretRuleNames().end());
  EXPECT_EQ(faked, rules);
  EXPECT_EQ(rules.size(), SecretRuleNames().size()) << "rule names are unique";
}

TEST(SecretScanTest, FindsEachRuleAndOnlyItsSecret) {
  for (const FakeSecret& f : AllFakeSecrets()) {
    SCOPED_TRACE(f.rule);
    // In a log line.
    const std::string line = "note: " + f.text + "\n";
    EXPECT_THAT(Found(line), ElementsAre(f.rule + "=" + f.secret));
    // Inside a JSON string, escaped (a PEM's line ends become \n, a JSON snippet's quotes \").
    const std::string prefix = R"({"model":"claude","note":)";
    const std::string json = prefix + nlohmann::json(f.text).dump() + R"(,"n":1})";
    EXPECT_THAT(Found(json), ElementsAre(f.rule + "=" + JsonEscaped(f.secret)));
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

TEST(SecretScanTest, VendorPrefixVariants) {
  const std::vector<std::pair<std::string, std::string>> keys = {
      {"slack-token", std::string("xox") + "p-" + "2718281828-31415926-" + Rep("a1b2c3d4", 4)},
      {"slack-token", std::string("xap") + "p-1-" + "A0123BCDE4F-" + Rep("9e8d7c6b", 8)},
      {"slack-token", std::string("xox") + "e-1-" + Rep("Ab9Cd8Ef7", 6)},
      {"stripe-key", std::string("sk_") + "test_" + Rep("51Hx9Lq", 4)},
      {"stripe-key", std::string("rk_") + "live_" + Rep("51Hx9Lq", 4)},
      {"stripe-key", std::string("rk_") + "test_" + Rep("51Hx9Lq", 4)},
      {"shopify-token", std::string("shp") + "ca_" + Rep("a3f9c2e1", 4)},
      {"shopify-token", std::string("shp") + "pa_" + Rep("A3F9C2E1", 4)},
      {"shopify-token", std::string("shp") + "ss_" + Rep("a3f9c2e1", 4)},
      {"digitalocean-token", std::string("doo") + "_v1_" + Rep("4f9a2c7e", 8)},
      {"digitalocean-token", std::string("dor") + "_v1_" + Rep("4f9a2c7e", 8)},
      {"github-token", std::string("gho") + "_" + Rep("a1B2c3", 6)},
      {"github-token", std::string("ghs") + "_" + Rep("a1B2c3", 6)},
      {"github-token", FakeGithubPat()},
      {"gitlab-token", std::string("glp") + "tt-" + Rep("x7Kq-Zp2", 3)},
      {"gitlab-token", std::string("gld") + "t-" + Rep("x7Kq-Zp2", 3)},
      {"aws-session-token", std::string("IQoJ") + "b3JpZ2lu" + Rep("X2VjEJr/3x9Qb+T", 12)},
      {"aws-session-token", std::string("AQoD") + "YXdz" + Rep("EJr/3x9Qb+Tz", 12)},
      {"aws-access-key-id", std::string("ASIA") + "IOSF0DNN7EXAMP1E"},
  };
  for (const auto& [rule, key] : keys) {
    EXPECT_THAT(Found("[" + key + "]"), ElementsAre(rule + "=" + key));
  }
  // Databricks tokens may carry a "-2" suffix; the key is the hex part.
  const std::string dapi = testing::FakeDatabricksToken();
  EXPECT_THAT(Found(dapi + "-2"), ElementsAre("databricks-token=" + dapi));
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
  EXPECT_THAT(Found("Bearer " + testing::FakeGoogleOauthToken()),
              ElementsAre("google-oauth-token=" + testing::FakeGoogleOauthToken()));
}

TEST(SecretScanTest, BasicCredentialsNeedUserColonPassword) {
  const std::string b64 =
      internal::Base64Encode(std::string("ci-bot") + ":" + "s3cr3t" + "-Pw!" + "x");
  EXPECT_THAT(Found("Authorization: Basic " + b64 + "\r\n"), ElementsAre("basic-auth=" + b64));
  EXPECT_THAT(Found("curl -H 'authorization: basic " + b64 + "'"),
              ElementsAre("basic-auth=" + b64));
  // Prose, base64 of something that is not user:password, and unpadded base64.
  EXPECT_THAT(Found("Basic authentication is supported. Basic usage: run it."), IsEmpty());
  EXPECT_THAT(Found("Basic " + internal::Base64Encode("no-colon-in-here")), IsEmpty());
  EXPECT_THAT(Found("Basic " + internal::Base64Encode("user:")), IsEmpty());
  EXPECT_THAT(Found("Basic dGVzdDp0ZXN0MTIz"), ElementsAre("basic-auth=dGVzdDp0ZXN0MTIz"));
  EXPECT_THAT(Found("Basic dGVzdDp0ZXN0MTI"), IsEmpty());
}

TEST(SecretScanTest, AwsSecretsByTheirContext) {
  const std::string key = FakeAwsSecretKey();
  for (const std::string& text : {
           "aws_secret_access_key = " + key + "\n",
           "AWS_SECRET_ACCESS_KEY=" + key,
           "export AWS_SECRET_ACCESS_KEY='" + key + "'",
           "aws_secret_access_key: \"" + key + "\"",
           R"({"SecretAccessKey": ")" + key + R"(", "Expiration": "2030-01-01"})",
           "<SecretAccessKey>" + key + "</SecretAccessKey>",
           R"({"out":"{\"SecretAccessKey\":\")" + key + R"(\"}"})",
       }) {
    EXPECT_THAT(Found(text), ElementsAre("aws-secret-key=" + key)) << text;
  }
  // 40 characters exactly, after the context: not a 39- or 41-character run, not elsewhere.
  EXPECT_THAT(Found("aws_secret_access_key = " + key.substr(0, 39)), IsEmpty());
  EXPECT_THAT(Found("aws_secret_access_key = " + key + "Q"), IsEmpty());
  EXPECT_THAT(Found("my_key = " + key), IsEmpty());

  // Session tokens: by prefix anywhere, and by context when they do not start with one.
  const std::string other = Rep("Zm9vYmFy/Kx7", 10);
  for (const std::string& text : {
           "aws_session_token = " + other,
           "X-Amz-Security-Token: " + other,
           "<SessionToken>" + other + "</SessionToken>",
       }) {
    EXPECT_THAT(Found(text), ElementsAre("aws-session-token=" + other)) << text;
  }
  const std::string url_token = PercentEncoded(FakeAwsSessionToken());
  const std::string url = "https://b.s3.amazonaws.com/k?X-Amz-Security-Token=" + url_token +
                          "&X-Amz-Signature=" + FakeAwsSignature() + "&x=1";
  EXPECT_THAT(Found(url),
              ElementsAre("aws-session-token=" + url_token, "aws-signature=" + FakeAwsSignature()));
  // SigV4: the signature, not the credential scope; the key id is its own finding.
  const std::string sigv4 =
      "Authorization: AWS4-HMAC-SHA256 Credential=" + FakeAwsKeyId() +
      "/20300101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=" + FakeAwsSignature();
  EXPECT_THAT(Found(sigv4), ElementsAre("aws-access-key-id=" + FakeAwsKeyId(),
                                        "aws-signature=" + FakeAwsSignature()));
  EXPECT_THAT(Found("SignedHeaders=host, Signature=" + FakeAwsSignature().substr(0, 63)),
              IsEmpty());
  EXPECT_THAT(Found("\"signature\":\"" + FakeAwsSignature() + "\""), IsEmpty())
      << "a JSON signature is not a SigV4 one";
}

TEST(SecretScanTest, AzureSecretsByTheirContext) {
  const std::string hex = FakeAzureOpenAiKey();
  for (const std::string& text : {
           "api-key: " + hex,
           R"({"api-key": ")" + hex + R"("})",
           "AZURE_OPENAI_API_KEY=" + hex,
           "?api-key=" + hex,
       }) {
    EXPECT_THAT(Found(text), ElementsAre("azure-openai-key=" + hex)) << text;
  }
  EXPECT_THAT(Found("api-key: " + hex.substr(0, 31)), IsEmpty());
  EXPECT_THAT(Found("the api-key header: " + hex), IsEmpty()) << "the word before must be it";

  const std::string account = FakeAzureAccountKey();
  EXPECT_THAT(Found("AccountName=x;AccountKey=" + account + ";EndpointSuffix=core.windows.net"),
              ElementsAre("azure-account-key=" + account));
  EXPECT_THAT(Found("Endpoint=sb://x.servicebus.windows.net/;SharedAccessKeyName=root;"
                    "SharedAccessKey=" +
                    account),
              ElementsAre("azure-account-key=" + account));
  const std::string sig = FakeAzureSasSignature();
  EXPECT_THAT(Found("https://a.blob.core.windows.net/c?sv=2022-11-02&sig=" + sig + "&sp=r"),
              ElementsAre("azure-sas-signature=" + sig));
  EXPECT_THAT(Found(R"({"url":"https://a.blob.core.windows.net/c?sv=1\u0026sig=)" + sig + "\"}"),
              ElementsAre("azure-sas-signature=" + sig));
  EXPECT_THAT(Found("?sig=short"), IsEmpty());
}

TEST(SecretScanTest, PasswordsInUrlsOnlyThePassword) {
  const std::string pw = testing::FakeUrlPassword();
  for (const std::string& url : {
           "postgres://app:" + pw + "@db.internal:5432/prod",
           "postgresql://app:" + pw + "@db.internal/prod?sslmode=require",
           "mysql://root:" + pw + "@127.0.0.1:3306/app",
           "mongodb+srv://svc:" + pw + "@cluster0.example.mongodb.net/db",
           "redis://:" + pw + "@cache:6379/0",
           "amqp://guest:" + pw + "@rabbit:5672/",
           "https://deploy:" + pw + "@git.example.test/repo.git",
           R"({"dsn":"postgres:\/\/app:)" + pw + R"(@db\/prod"})",
       }) {
    EXPECT_THAT(Found("url " + url + " end"), ElementsAre("url-password=" + pw)) << url;
  }
  // A raw '@' inside the password: the last '@' ends it.
  EXPECT_THAT(Found("postgres://app:p@ss" + pw + "@db/prod"),
              ElementsAre("url-password=p@ss" + pw));
  for (const std::string& url : {
           std::string("http://localhost:8080/v1/messages"),
           std::string("https://user@example.test/"),
           std::string("postgres://postgres:postgres@localhost:5432/app"),
           std::string("postgres://app:${DB_PASSWORD}@db/prod"),
           std::string("postgres://app:<password>@db/prod"),
           std::string("postgres://app:[REDACTED:url-password]@db/prod"),
           std::string("mailto:someone@example.test"),
           std::string("see http://a:b9@ (no host)"),
           std::string("x://[REDACTED:openai-key]-Tail9@host"),
       }) {
    EXPECT_THAT(Found(url), IsEmpty()) << url;
  }
  // A placeholder in the user name does not hide the password after it.
  EXPECT_THAT(Found("postgres://[REDACTED:openai-key]:" + pw + "@db/prod"),
              ElementsAre("url-password=" + pw));
}

TEST(SecretScanTest, TelegramBotTokens) {
  const std::string token = FakeTelegramBotToken();
  EXPECT_THAT(Found("https://api.telegram.org/bot" + token + "/getMe"),
              ElementsAre("telegram-bot-token=" + token));
  EXPECT_THAT(Found("\"" + token + "\""), ElementsAre("telegram-bot-token=" + token));
  const std::string secret = token.substr(token.find(':'));
  EXPECT_THAT(Found("1234567" + secret), IsEmpty()) << "7 digits";
  EXPECT_THAT(Found("12345678901" + secret), IsEmpty()) << "11 digits";
  EXPECT_THAT(Found("x1234567890" + secret), IsEmpty()) << "inside a word";
  EXPECT_THAT(Found("12345678:" + Rep("a", 35)), IsEmpty()) << "not AA";
}

TEST(SecretScanTest, PrivateKeyInsideJsonStringStaysInsideIt) {
  // JSON-escaped line ends: a backslash and an 'n'.
  const std::string escaped = JsonEscaped(FakePrivateKey());
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

TEST(SecretScanTest, PgpPrivateKeyBlockWithArmorHeaders) {
  const std::string key = FakePgpPrivateKey();
  EXPECT_THAT(Found("gpg output:\n" + key + "\nDone."), ElementsAre("pgp-private-key=" + key));
  const std::string with_comment = std::string("-----BEGIN ") + "PGP PRIVATE KEY BLOCK-----\n" +
                                   "Comment: Alice <alice@example.test>\n\nlQOYBF" +
                                   Rep("x9Qz+Lm2", 4) + "\n-----END PGP PRIVATE KEY BLOCK-----";
  EXPECT_THAT(Found(with_comment), ElementsAre("pgp-private-key=" + with_comment));
  EXPECT_THAT(Found(std::string("-----BEGIN ") + "PGP PUBLIC KEY BLOCK-----\nmQENBF" +
                    Rep("x9Qz", 8) + "\n-----END PGP PUBLIC KEY BLOCK-----"),
              IsEmpty());
  EXPECT_THAT(Found(std::string("-----BEGIN ") + "PGP SIGNATURE-----\niQEz" + Rep("x9Qz", 8)),
              IsEmpty());
}

TEST(SecretScanTest, JsonFieldsNamedSecret) {
  const std::string v = testing::FakeSecretFieldValue();
  for (std::string name :
       {"password", "passwd", "db_password", "client_secret", "secret", "webhookSecret", "token",
        "access_token", "refresh_token", "id_token", "x-service-token", "apiKey", "api_key",
        "API-KEY", "private_key", "authorization", "sessionToken"}) {
    SCOPED_TRACE(name);
    EXPECT_THAT(Found("{\"" + name + "\":\"" + v + "\"}"), ElementsAre("secret-field=" + v));
    // Spaces around the colon, nested, single-quoted (a Python repr), and escaped inside a
    // JSON string (tool input or a tool result carried as text).
    EXPECT_THAT(Found("{\n  \"cfg\": {\n    \"" + name + "\" :  \"" + v + "\"\n  }\n}"),
                ElementsAre("secret-field=" + v));
    EXPECT_THAT(Found("{'" + name + "': '" + v + "'}"), ElementsAre("secret-field=" + v));
    EXPECT_THAT(Found(R"({"content":"{\")" + name + R"(\": \")" + v + R"(\"}"})"),
                ElementsAre("secret-field=" + v));
  }
  // Passwords may be shorter and need two kinds of character only.
  EXPECT_THAT(Found(R"({"password":"hunter2"})"), ElementsAre("secret-field=hunter2"));
  EXPECT_THAT(Found(R"({"password":"changeme"})"), IsEmpty());
  // A value with escapes ends at its real closing quote.
  EXPECT_THAT(Found(R"({"password":"Pa\"55w0rd"})"), ElementsAre(R"(secret-field=Pa\"55w0rd)"));
}

TEST(SecretScanTest, TokenCountsAndOtherValuesAreNotSecrets) {
  const std::vector<std::string> texts = {
      R"({"max_tokens":1024,"budget_tokens":2048,"stop_sequences":["token"]})",
      R"({"usage":{"input_tokens":377,"cache_creation_input_tokens":0,)"
      R"("cache_read_input_tokens":12,"output_tokens":1}})",
      R"({"token_count":12,"tokens":["Ab12Cd34Ef56"],"type":"token"})",
      R"({"prompt_tokens_details":{"cached_tokens":0},"completion_tokens":15})",
      // A tokenizer's tokens in logprobs: words, short, with spaces.
      R"({"token":" Francisco","logprob":-0.1},{"token":"Ingredients"},{"token":"San"})",
      R"({"eos_token":"</s>","pad_token":"<pad>","bos_token":"<|begin_of_text|>"})",
      // Pagination.
      R"({"next_page_token":"CiAKGjBpNDd2Nmp2Zml2cXRwYjBpOXA","nextToken":"AbCdEf123456gh"})",
      // Numbers, booleans, null, empty, short, templates, placeholders, ALL_CAPS placeholders.
      R"({"password":null,"secret":true,"token":false,"api_key":1234567890123})",
      R"({"api_key":"","token":"abc","secret":"12345678901234","password":"********"})",
      R"({"api_key":"${API_KEY}","token":"{{token}}","secret":"<your secret>"})",
      R"({"api_key":"YOUR_API_KEY","client_secret":"REPLACE_ME_WITH_SECRET"})",
      R"({"api_key":"[REDACTED]","password":"[REDACTED:secret-field]"})",
      R"({"token":"see https://example.test/docs2024/tokens for details"})",
      // Thinking signatures and ids replay intact.
      R"({"type":"signature_delta","signature":"EqQBCkYIBxgCKkBq9Z3x8Lm2Np4Qr7Ts"})",
      R"({"id":"toolu_01A09q90qw90lq917835lq9","name":"get_token","input":{"kind":"token"}})",
      // A secret-looking name with a value that is an object or an array.
      R"({"credentials":{"type":"service_account"},"secret":["Ab12Cd34Ef56"]})",
  };
  for (const std::string& text : texts) {
    EXPECT_THAT(Found(text), IsEmpty()) << text;
  }
}

TEST(SecretScanTest, ParametersNamedSecret) {
  const std::string token = testing::FakeRefreshToken();
  for (const std::string& text : {
           "grant_type=refresh_token&refresh_token=" + token,
           "refresh_token=" + token + "&grant_type=refresh_token",
           "https://api.example.test/v1/x?client_id=abc&access_token=" + token + "#top",
           "<a href=\"/cb?state=1&amp;access_token=" + token + "\">",
           "Server=db;Database=app;User Id=sa;Password=" + token + ";",
           "# .env\nDEBUG=1\nDATABASE_PASSWORD=" + token + "\nPORT=8080\n",
           R"({"out":"DEBUG=1\nSTRIPE_SECRET=)" + token + R"(\nPORT=1"})",
           "session=1; auth_token=" + token + "; Path=/",
           "SERVICE_TOKEN=\"" + token + "\"",
       }) {
    EXPECT_THAT(Found(text), ElementsAre("secret-param=" + token)) << text;
  }
  for (const std::string& text : {
           std::string("?page_token=CiAKGjBpNDd2Nmp2Zml2cXRwYjBpOXA&limit=10"),
           std::string("?key=value&token=abc&password=changeme"),
           std::string("grant_type=refresh_token&client_id=tapedeck"),
           std::string("?next_token=AbCdEf123456gh&sort=asc"),
       }) {
    EXPECT_THAT(Found(text), IsEmpty()) << text;
  }
}

TEST(SecretScanTest, SecretNamedValues) {
  const std::string v = testing::FakeSecretFieldValue();
  for (std::string_view name : {"x-service-token", "X-Db-Password", "x-client-secret",
                                "x-csrf-token", "private-token", "X-Upstream-Api-Key"}) {
    EXPECT_TRUE(IsSecretNamedValue(name, v)) << name;
  }
  for (std::string_view name :
       {"anthropic-ratelimit-tokens-remaining", "x-ratelimit-remaining-tokens", "x-request-id",
        "openai-organization", "content-type", "x-next-page-token", "x-secret-name"}) {
    EXPECT_FALSE(IsSecretNamedValue(name, v)) << name;
  }
  for (std::string_view value : {"", "[REDACTED]", "1000000", "true", "short", "with space 123",
                                 "2030-01-01T00:00:00Z", "YOUR_TOKEN_HERE"}) {
    EXPECT_FALSE(IsSecretNamedValue("x-service-token", value)) << value;
  }
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
      // Near misses for the newer rules.
      std::string("xo") + "xb-short",
      std::string("xo") + "xb-" + Rep("abcdefgh-", 4),  // long, but no digit or capital
      std::string("hf") + "_hub_download and hf_transfer",
      std::string("hf") + "_" + Rep("abcdefghij", 4),  // all lower case
      std::string("sk") + "_live_" + "short",
      std::string("wh") + "sec_" + "short",
      std::string("da") + "pi" + Rep("0a1b2c3d", 4) + "e",      // 33 hex
      std::string("da") + "pi" + Rep("0a1b2c3d", 4).substr(1),  // 31 hex
      "S" + std::string("K") + Rep("9f8e7d6c", 4) + "0",        // 33 hex
      "TASK" + Rep("9f8e7d6c", 4),                              // SK inside a word
      std::string("SG") + ".short.thing",
      std::string("ya") + "29.short",
      std::string("GOC") + "SPX-short",
      std::string("np") + "m_install_" + "everything",
      std::string("py") + "pi-package-name",
      std::string("xa") + "i-grok-is-a-model-name",
      std::string("pp") + "lx-sonar",
      std::string("gl") + "pat-short",
      std::string("r8") + "_short",
      std::string("gs") + "k_short",
      "the 12345678:AAH meeting",
      "https://hooks.slack.com/services/",
      "-----BEGIN PGP PUBLIC KEY BLOCK-----",
      "Signature=deadbeef, SignedHeaders=host",
      "AccountKey=;AccountName=x",
      "aws_secret_access_key = YOUR_SECRET_ACCESS_KEY_HERE_PLEASE_XX",
      "[REDACTED]",
      "[REDACTED:anthropic-key]",
      "x-api-key: [REDACTED:anthropic-key]",
      "Bearer [REDACTED]",
      "Basic [REDACTED:basic-auth]",
      R"({"model":"claude-3-5-sonnet-20241022","id":"msg_01XFDUDYJgAACzvnptvVoYEL"})",
      R"({"type":"tool_use","id":"toolu_01A09q90qw90lq917835lq9"})",
      R"({"id":"call_abc123DEF456ghi789JKL","type":"function"})",
  };
  for (const std::string& text : prose) {
    EXPECT_THAT(Found(text), IsEmpty()) << text;
  }
}

TEST(SecretScanTest, PlaceholdersNeverMatch) {
  for (std::string_view rule : SecretRuleNames()) {
    const std::string placeholder = "[REDACTED:" + std::string(rule) + "]";
    EXPECT_TRUE(IsRedactionPlaceholder(placeholder)) << rule;
    EXPECT_THAT(Found(placeholder), IsEmpty()) << rule;
    // In the contexts that name a secret.
    for (const std::string& text :
         {"Bearer " + placeholder, "Basic " + placeholder, "aws_secret_access_key = " + placeholder,
          "api-key: " + placeholder, "AccountKey=" + placeholder + ";",
          "?sig=" + placeholder + "&token=" + placeholder,
          "postgres://app:" + placeholder + "@db/prod",
          "{\"client_secret\":\"" + placeholder + "\"}"}) {
      EXPECT_THAT(Found(text), IsEmpty()) << text;
    }
  }
}

// Every regular file of the shared fixtures that holds text.
std::vector<std::filesystem::path> FixtureFiles() {
  std::vector<std::filesystem::path> files;
  const std::filesystem::path dir = std::filesystem::path(TD_FIXTURES_DIR);
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) return files;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir, ec)) {
    if (!entry.is_regular_file()) continue;
    const std::string ext = entry.path().extension().string();
    if (ext == ".sse" || ext == ".yaml" || ext == ".json" || ext == ".md") {
      files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

TEST(SecretScanTest, RealRecordingsHaveNoFalsePositives) {
  // Real API traffic: ids, signatures, thinking blocks, logprob tokens, usage counts, base64
  // and URLs, and the Anthropic OpenAPI spec; but no keys. Every rule runs over them.
  const std::vector<std::filesystem::path> files = FixtureFiles();
  if (files.empty()) GTEST_SKIP() << "no fixtures in " << TD_FIXTURES_DIR;
  for (const auto& path : files) {
    const std::string bytes = testing::ReadFile(path);
    for (const SecretMatch& m : FindSecrets(bytes)) {
      ADD_FAILURE() << path.filename() << ": " << m.rule << " at byte " << m.begin << ": "
                    << Matched(bytes, m).substr(0, 40);
    }
  }
  EXPECT_GT(files.size(), 10u);
}

TEST(SecretScanTest, RealStreamsScanCleanAsInteractions) {
  // The same streams framed into events, as a recording stores them, with the headers a
  // recording keeps: ScanInteraction (name-based headers included) finds nothing.
  const auto files = testing::SseFixtureFiles();
  if (files.empty()) GTEST_SKIP() << "no fixtures";
  for (const auto& path : files) {
    Interaction i;
    i.request.path = "/v1/messages";
    i.request.headers = {{"anthropic-version", "2023-06-01"}, {"x-stainless-retry-count", "0"}};
    i.response.headers = {{"anthropic-ratelimit-tokens-remaining", "398000"},
                          {"anthropic-ratelimit-input-tokens-reset", "2030-01-01T00:00:00Z"},
                          {"x-ratelimit-remaining-tokens", "149984"},
                          {"request-id", "req_011CSHoEeqs5C35K2UUqR7Fy"}};
    std::vector<std::string> events;
    SseFramer framer;
    framer.Feed(testing::ReadFile(path), &events);
    Stream s;
    for (std::string& e : events) s.events.push_back({std::move(e), 0, {}});
    i.response.stream = std::move(s);
    for (const SecretFinding& f : ScanInteraction(i, 0)) {
      ADD_FAILURE() << path.filename() << ": " << f.where << ": " << f.rule;
    }
  }
}

TEST(SecretScanTest, EveryRuleFindsItsFakeInsideRealRecordings) {
  // The rules are live in real surroundings: each fake planted in each fixture is found, once,
  // under its own rule, and nothing else in the file is.
  const std::vector<std::filesystem::path> files = FixtureFiles();
  if (files.empty()) GTEST_SKIP() << "no fixtures";
  std::string leaks;
  std::vector<std::string> expected;
  for (const FakeSecret& f : AllFakeSecrets()) {
    leaks += "leak: " + f.text + "\n";
    expected.push_back(f.rule + "=" + f.secret);
  }
  for (const auto& path : files) {
    const std::string bytes = testing::ReadFile(path);
    const size_t middle = bytes.find('\n', bytes.size() / 2) + 1;
    const std::string planted = bytes.substr(0, middle) + leaks + bytes.substr(middle);
    EXPECT_EQ(Found(planted), expected) << path.filename();
  }
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
  // Inputs built to make a naive matcher rescan: each unit repeated, so every copy starts an
  // attempt that could read on over the copies after it. All must finish quickly: a quadratic
  // scan of even 2 MB takes hours, a linear one of 10 MB about a second unoptimised.
  const size_t kSize = 10 << 20;
  auto fill = [](std::string_view unit, size_t size) {
    std::string s;
    s.reserve(size + unit.size());
    while (s.size() < size) s += unit;
    return s;
  };
  auto scan_timed = [](const std::string& text, const std::string& what) {
    const auto start = std::chrono::steady_clock::now();
    std::vector<SecretMatch> found = FindSecrets(text);
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::steady_clock::now() - start)
                        .count();
    EXPECT_LT(ms, 20000) << what;
    return found;
  };
  // The first rules' inputs, each 10 MB of one unit; none holds a secret.
  for (std::string_view unit : {"a", "sk-", "sk-ant-", "eyJ.", "eyJaaaaaaaaaaaa.eyJaaaaaaaaaaaa.x ",
                                "Bearer ", "AKIA", "ghp_", "-----END ", "[REDACTED"}) {
    EXPECT_THAT(scan_timed(fill(unit, kSize), std::string(unit)), IsEmpty()) << unit;
  }
  // The newer rules' units, five to a 10 MB input (2 MB runs). `clean` inputs hold no secret.
  struct Group {
    bool clean;
    std::vector<std::string> units;
  };
  const std::vector<Group> groups = {
      {true, {"xoxb-", "sk_live_", "whsec_a+", "hf_", "pypi-AgE"}},
      {true, {"dapi0", "SG.", "SK0", "shpat_a", "ya29."}},
      {false,
       {"FwoGZXIvYXdz+", "hooks.slack.com/services/", "hooks.slack.com/services/a/", "12345678:AA",
        "bot123456789:"}},
      {true, {"Basic ", "Basic YTpi", "a://b:", "a://b:c@", "a:\\/\\/b:c@"}},
      {true, {"://:@", "\"password\":\"", "\"token\":\"a", "\"password\": \"aA1 ", "'secret':'"}},
      {true, {"\\\"token\\\":\\\"", "\\\"", "\"", "'", "?token=a"}},
      {false, {"&password=aA1", "&amp;", "\\u0026sig=", "\\n", "\n"}},
      {false,
       {";token=", "aws_secret_access_key=", "SecretAccessKey>",
        "SessionToken=", "sessiontoken=a"}},
      {false, {"AccountKey=", "accountkey=a", "Signature=", "api-key:", "x-amz-security-token: A"}},
      {false, {"=", ":", ">", std::string(70, 'a') + ":", "-----BEGIN PGP PRIVATE KEY BLOCK-----"}},
  };
  for (const Group& g : groups) {
    std::string text;
    std::string what;
    for (const std::string& unit : g.units) {
      text += fill(unit, kSize / g.units.size());
      what += unit + " | ";
    }
    std::vector<SecretMatch> found = scan_timed(text, what);
    if (g.clean) {
      EXPECT_THAT(found, IsEmpty()) << what;
    }
  }
  // One long run that looks like the start of many keys, with a real one at the very end.
  std::string tail = fill("x", kSize) + " " + FakeAnthropicKey();
  std::vector<SecretMatch> found = FindSecrets(tail);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].begin, kSize + 1);
  // A private key header repeated: one match that covers the run, not one scan per header.
  const std::string header = std::string("-----BEGIN ") + "PRIVATE KEY-----";
  found = FindSecrets(fill(header, kSize));
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].begin, 0u);
}

TEST(SecretScanTest, RuleNamesAndDefaultLists) {
  EXPECT_THAT(
      SecretRuleNames(),
      ElementsAre("anthropic-key", "openai-key", "bearer-token", "basic-auth", "aws-access-key-id",
                  "aws-secret-key", "aws-session-token", "aws-signature", "jwt", "google-api-key",
                  "google-oauth-token", "google-client-secret", "github-token", "gitlab-token",
                  "slack-token", "slack-webhook", "stripe-key", "stripe-webhook-secret",
                  "huggingface-token", "npm-token", "pypi-token", "replicate-token", "groq-key",
                  "xai-key", "perplexity-key", "shopify-token", "digitalocean-token",
                  "databricks-token", "sendgrid-key", "twilio-api-key", "telegram-bot-token",
                  "azure-openai-key", "azure-account-key", "azure-sas-signature", "private-key",
                  "pgp-private-key", "url-password", "secret-field", "secret-param"));
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

TEST(SecretScanTest, ScanInteractionFlagsHeadersAndParamsNamedSecret) {
  const std::string v = testing::FakeSecretFieldValue();
  Interaction i;
  i.request.path = "/v1/messages";
  i.request.query = {{"session_token", v}, {"page_token", v}, {"limit", "10"}};
  i.request.headers = {{"X-Service-Token", v},
                       {"x-db-password", "hunter2"},
                       {"x-request-id", v},
                       {"x-csrf-token", "[REDACTED]"}};
  i.response.headers = {{"anthropic-ratelimit-tokens-remaining", "398000"},
                        {"x-upstream-secret", v}};
  i.request.body.bytes = R"({"model":"m","metadata":{"api_key":")" + v + R"("},"max_tokens":64})";
  const size_t at = i.request.body.bytes.find(v);
  std::vector<std::string> got;
  for (const SecretFinding& f : ScanInteraction(i, 0)) got.push_back(f.where + " -> " + f.rule);
  EXPECT_THAT(got, ElementsAre("request.query.session_token -> credential-query",
                               "request.headers.x-service-token -> credential-header",
                               "request.headers.x-db-password -> credential-header",
                               "request.body at byte " + std::to_string(at) + " -> secret-field",
                               "response.headers.x-upstream-secret -> credential-header"));
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

// The scanner tests a few bytes before calling a matcher (a letter rule's first three bytes, the
// byte after a quote, a dash or a backslash, the tail of a name before ':' or '='). These cases
// sit at the edges of those tests: each must still be found.

TEST(SecretScanTest, EveryRuleFoundAtTheStartAndEndOfTheText) {
  for (const FakeSecret& f : AllFakeSecrets()) {
    SCOPED_TRACE(f.rule);
    // The whole text, then after each kind of byte that ends a word, with nothing after it.
    EXPECT_THAT(Found(f.text), ElementsAre(f.rule + "=" + f.secret));
    for (std::string before : {" ", "(", "\n", "\t", "\"", "[", ","}) {
      EXPECT_THAT(Found(before + f.text), ElementsAre(f.rule + "=" + f.secret)) << before;
    }
  }
}

TEST(SecretScanTest, CutKeysAtTheEndOfTheTextFindNothingBeyondIt) {
  // Each fake cut after k bytes, as a view into the whole fake: the bytes after the cut are in
  // memory but not in the text, so nothing may match across them.
  for (const FakeSecret& f : AllFakeSecrets()) {
    SCOPED_TRACE(f.rule);
    const std::string whole = "x " + f.secret + " y";
    for (size_t k = 2; k <= 6 && k < f.secret.size(); ++k) {
      const std::string_view cut = std::string_view(whole).substr(0, 2 + k);
      for (const SecretMatch& m : FindSecrets(cut)) EXPECT_LE(m.end, cut.size()) << k;
      EXPECT_THAT(FindSecrets(cut), IsEmpty()) << cut;
    }
  }
}

TEST(SecretScanTest, AuthSchemesInAnyCase) {
  const std::string token = FakeBearerToken();
  for (std::string scheme : {"Bearer", "bearer", "BEARER", "bEARER", "BeArEr", "beAr"}) {
    SCOPED_TRACE(scheme);
    const std::string text = "Authorization: " + scheme + " " + token;
    if (scheme.size() == 6) {
      EXPECT_THAT(Found(text), ElementsAre("bearer-token=" + token));
      EXPECT_THAT(Found(scheme + " " + token), ElementsAre("bearer-token=" + token));
    } else {
      EXPECT_THAT(Found(text), IsEmpty());
    }
  }
  const std::string basic =
      internal::Base64Encode(std::string("deploy") + ":" + "Pa55" + "word-9x");
  for (std::string scheme : {"Basic", "basic", "BASIC", "bASIC", "BaSiC"}) {
    EXPECT_THAT(Found(scheme + " " + basic), ElementsAre("basic-auth=" + basic)) << scheme;
  }
}

TEST(SecretScanTest, QuotedFieldsInEveryQuotingStyleAtTheEnds) {
  const std::string v = testing::FakeSecretFieldValue();
  for (std::string name : {"API_KEY", "Api-Key", "x.api.key", "client_secret_", "PASSWORD", "Token",
                           "SecretAccessKey", "type"}) {
    SCOPED_TRACE(name);
    // The field is the whole text: its quote is the first byte, its closing quote the last.
    for (const std::string& text : {"\"" + name + "\":\"" + v + "\"", "'" + name + "': '" + v + "'",
                                    "\\\"" + name + "\\\": \\\"" + v + "\\\""}) {
      if (name == "type") {
        EXPECT_THAT(Found(text), IsEmpty()) << text;
      } else {
        EXPECT_THAT(Found(text), ElementsAre("secret-field=" + v)) << text;
      }
    }
    // No closing quote: the value is not known to end, nothing is found.
    EXPECT_THAT(Found("\"" + name + "\":\"" + v), IsEmpty());
  }
}

TEST(SecretScanTest, NamesWithSeparatorsAtTheirEndBeforeTheValue) {
  const std::string key = FakeAwsSecretKey();
  for (const std::string& text : {
           "aws_secret_access_key_ = " + key,
           "aws.secret.access.key: " + key,
           "AWS-SECRET-ACCESS-KEY-=" + key,
           "\"aws_secret_access_key\" : " + key,
       }) {
    EXPECT_THAT(Found(text), ElementsAre("aws-secret-key=" + key)) << text;
  }
  // A name of more than 64 bytes is not read, whatever its tail.
  EXPECT_THAT(Found(std::string(60, 'x') + "_secret_access_key = " + key), IsEmpty());
}

TEST(SecretScanTest, ContextWordsEndingInKeyTokenOrSignatureWithSeparators) {
  // The scanner reads a context word's last three letters and digits ("key", "ken", "ure")
  // before the rest of it; separators after them and any case must not hide it.
  const std::string session = Rep("Zm9vYmFy/Kx7", 10);
  for (const std::string& text : {
           "AWS_SESSION_TOKEN_ = " + session,
           "aws.session.Token: " + session,
           "x-amz-security-TOKEN> " + session,
       }) {
    EXPECT_THAT(Found(text), ElementsAre("aws-session-token=" + session)) << text;
  }
  const std::string account = FakeAzureAccountKey();
  EXPECT_THAT(Found("ACCOUNT_KEY_=" + account), ElementsAre("azure-account-key=" + account));
  EXPECT_THAT(Found("x Signature=" + FakeAwsSignature()),
              ElementsAre("aws-signature=" + FakeAwsSignature()));
  // Other names before ':' or '=' hold no context secret, whatever follows.
  EXPECT_THAT(Found("description: " + session), IsEmpty());
  EXPECT_THAT(Found("signatures=" + FakeAwsSignature()), IsEmpty());
}

TEST(SecretScanTest, ParametersAfterEscapesAtTheEndOfTheText) {
  const std::string token = testing::FakeRefreshToken();
  for (const std::string& text : {
           "a\\u0026token=" + token,
           "a\\ntoken=" + token,
           "a&amp;token=" + token,
           "\\u0026token=" + token,
           "\\ntoken=" + token,
       }) {
    EXPECT_THAT(Found(text), ElementsAre("secret-param=" + token)) << text;
  }
}

TEST(SecretScanTest, KeyBlockAfterMoreDashes) {
  const std::string key = FakePrivateKey();
  EXPECT_THAT(Found("-" + key), ElementsAre("private-key=" + key));
  EXPECT_THAT(Found("--" + key + "--"), ElementsAre("private-key=" + key));
}

TEST(SecretScanTest, TelegramTokenAfterBotAtTheEndOfTheText) {
  const std::string token = FakeTelegramBotToken();
  EXPECT_THAT(Found("https://api.telegram.org/bot" + token),
              ElementsAre("telegram-bot-token=" + token));
  EXPECT_THAT(Found("bot" + token), ElementsAre("telegram-bot-token=" + token));
  EXPECT_THAT(Found(token), ElementsAre("telegram-bot-token=" + token));
}

}  // namespace
}  // namespace td::cassette
