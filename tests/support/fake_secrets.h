// File: tests/support/fake_secrets.h
//
// Fake credentials shaped like the real ones, one per secret-scanner rule. Each is assembled
// from pieces at run time, so no source file holds a key-shaped literal and secret scanners run
// over this repository stay quiet. AllFakeSecrets() pairs each with the text that carries it.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "cassette/internal/codec_text.h"

namespace td::testing {

inline std::string Rep(std::string_view unit, size_t times) {
  std::string out;
  for (size_t i = 0; i < times; ++i) out += unit;
  return out;
}

inline std::string FakeAnthropicKey() {
  return std::string("sk-ant-") + "api03-" + Rep("Ab3xYz9Q", 11);
}
inline std::string FakeOpenAiKey() { return std::string("sk-") + "proj-" + Rep("Zq7Lm2Np", 6); }
inline std::string FakeBearerToken() { return Rep("tK9.zQ_", 4) + "=="; }
inline std::string FakeAwsKeyId() { return std::string("AKIA") + "IOSF0DNN7EXAMP1E"; }
inline std::string FakeJwt() {
  return std::string("eyJ") + "hbGciOiJIUzI1NiJ9" + "." + "eyJ" + "zdWIiOiIxMjM0NTY3ODkwIn0" + "." +
         Rep("dozjgNryP4J3", 3);
}
inline std::string FakeGoogleKey() { return std::string("AIza") + Rep("Sy9xK2", 6).substr(0, 35); }
inline std::string FakeGithubToken() { return std::string("ghp_") + Rep("a1B2c3", 6); }
inline std::string FakeGithubPat() { return std::string("github_") + "pat_" + Rep("11AbC_", 5); }

inline std::string FakeAwsSecretKey() { return Rep("wJa1rXUt/K7M", 4).substr(0, 40); }
inline std::string FakeAwsSessionToken() {
  return std::string("FwoG") + "ZXIvYXdz" + Rep("EJr/3x9Qb+Tz", 16) + "Cg==";
}
inline std::string FakeAwsSignature() { return Rep("fe5f80f7", 8); }
inline std::string FakeGoogleOauthToken() {
  return std::string("ya") + "29." + Rep("a0AfH6SMB-x9", 8);
}
inline std::string FakeGoogleClientSecret() {
  return std::string("GOC") + "SPX-" + Rep("Qk3vR_8mZ", 4).substr(0, 28);
}
inline std::string FakeGitlabToken() { return std::string("gl") + "pat-" + Rep("x7Kq-Zp2", 3); }
inline std::string FakeSlackToken() {
  return std::string("xo") + "xb-" + "2718281828" + "-" + "3141592653" + "-" + Rep("AbCd3", 5);
}
inline std::string FakeSlackWebhookSecret() {
  return std::string("T0") + "1ABCDEF2G" + "/" + "B0" + "3HIJKLM4N" + "/" + Rep("xY7z", 6);
}
inline std::string FakeStripeKey() { return std::string("sk_") + "live_" + Rep("51Hx9Lq", 4); }
inline std::string FakeStripeWebhookSecret() {
  return std::string("wh") + "sec_" + Rep("Mfd8TzQ2", 4);
}
inline std::string FakeHuggingfaceToken() {
  return std::string("hf") + "_" + Rep("AbCdEfGhIjKlMnOpQ", 2);
}
inline std::string FakeNpmToken() { return std::string("np") + "m_" + Rep("a1B2c3", 6); }
inline std::string FakePypiToken() {
  return std::string("pypi-") + "AgEIcHlwaS5vcmc" + Rep("CJGM4ZTc5Yj", 6);
}
inline std::string FakeReplicateToken() {
  return std::string("r8") + "_" + Rep("Q9xk2LmZ", 5).substr(0, 37);
}
inline std::string FakeGroqKey() {
  return std::string("gs") + "k_" + Rep("Wb8sTq3Z", 7).substr(0, 52);
}
inline std::string FakeXaiKey() { return std::string("xa") + "i-" + Rep("Kp4Zr7Lm", 10); }
inline std::string FakePerplexityKey() { return std::string("pp") + "lx-" + Rep("e3Bf9Qa1", 6); }
inline std::string FakeShopifyToken() { return std::string("shp") + "at_" + Rep("a3f9c2e1", 4); }
inline std::string FakeDigitalOceanToken() {
  return std::string("dop") + "_v1_" + Rep("4f9a2c7e", 8);
}
inline std::string FakeDatabricksToken() { return std::string("da") + "pi" + Rep("0a1b2c3d", 4); }
inline std::string FakeSendgridKey() {
  return std::string("SG") + "." + Rep("Ab3_x", 5).substr(0, 22) + "." +
         Rep("Zq9-Lm", 8).substr(0, 43);
}
inline std::string FakeTwilioApiKey() { return std::string("S") + "K" + Rep("9f8e7d6c", 4); }
inline std::string FakeTelegramBotToken() {
  return std::string("7104") + "883291" + ":" + "AA" + Rep("Hdq_TcvC", 5).substr(0, 33);
}
inline std::string FakeAzureOpenAiKey() { return Rep("0f3c9a7b", 4); }
inline std::string FakeAzureAccountKey() { return Rep("q7Lz+Kp2/Xw9", 7) + "rT=="; }
inline std::string FakeAzureSasSignature() {
  return std::string("q8Zx%2B") + Rep("Lm3Kp9Tz", 4) + "%3D";
}
inline std::string FakePrivateKey() {
  return std::string("-----BEGIN ") + "RSA PRIVATE KEY-----\nMIIE" + Rep("q8Zx", 16) +
         "\n-----END RSA PRIVATE KEY-----";
}
inline std::string FakePgpPrivateKey() {
  return std::string("-----BEGIN ") + "PGP PRIVATE KEY BLOCK-----\n" +
         "Version: GnuPG v2.0.22 (GNU/Linux)\n\n" + "lQOYBF" + Rep("x9Qz+Lm2", 12) + "\n=Xq9z\n" +
         "-----END PGP PRIVATE KEY BLOCK-----";
}
inline std::string FakeUrlPassword() { return std::string("Tr0ub4") + "dor-x9"; }
inline std::string FakeSecretFieldValue() { return Rep("c9Xk2Qm7", 3); }
inline std::string FakeRefreshToken() { return std::string("1//04") + Rep("dXk9Lq2Z", 4); }

// One fake per scanner rule: `text` is how the secret typically appears (with the words around
// it that some rules need), `secret` the bytes redaction must replace (the rest of `text`
// stays).
struct FakeSecret {
  std::string rule;
  std::string text;
  std::string secret;
};

inline FakeSecret Bare(std::string rule, std::string key) {
  return FakeSecret{std::move(rule), key, key};
}

inline std::vector<FakeSecret> AllFakeSecrets() {
  const std::string basic =
      cassette::internal::Base64Encode(std::string("deploy") + ":" + "Pa55" + "word-9x");
  return {
      Bare("anthropic-key", FakeAnthropicKey()),
      Bare("openai-key", FakeOpenAiKey()),
      {"bearer-token", "Bearer " + FakeBearerToken(), FakeBearerToken()},
      {"basic-auth", "Basic " + basic, basic},
      Bare("aws-access-key-id", FakeAwsKeyId()),
      {"aws-secret-key", "aws_secret_access_key = " + FakeAwsSecretKey(), FakeAwsSecretKey()},
      Bare("aws-session-token", FakeAwsSessionToken()),
      {"aws-signature",
       "AWS4-HMAC-SHA256 SignedHeaders=host;x-amz-date, Signature=" + FakeAwsSignature(),
       FakeAwsSignature()},
      Bare("jwt", FakeJwt()),
      Bare("google-api-key", FakeGoogleKey()),
      Bare("google-oauth-token", FakeGoogleOauthToken()),
      Bare("google-client-secret", FakeGoogleClientSecret()),
      Bare("github-token", FakeGithubToken()),
      Bare("gitlab-token", FakeGitlabToken()),
      Bare("slack-token", FakeSlackToken()),
      {"slack-webhook", "https://hooks.slack.com/services/" + FakeSlackWebhookSecret(),
       FakeSlackWebhookSecret()},
      Bare("stripe-key", FakeStripeKey()),
      Bare("stripe-webhook-secret", FakeStripeWebhookSecret()),
      Bare("huggingface-token", FakeHuggingfaceToken()),
      Bare("npm-token", FakeNpmToken()),
      Bare("pypi-token", FakePypiToken()),
      Bare("replicate-token", FakeReplicateToken()),
      Bare("groq-key", FakeGroqKey()),
      Bare("xai-key", FakeXaiKey()),
      Bare("perplexity-key", FakePerplexityKey()),
      Bare("shopify-token", FakeShopifyToken()),
      Bare("digitalocean-token", FakeDigitalOceanToken()),
      Bare("databricks-token", FakeDatabricksToken()),
      Bare("sendgrid-key", FakeSendgridKey()),
      Bare("twilio-api-key", FakeTwilioApiKey()),
      Bare("telegram-bot-token", FakeTelegramBotToken()),
      {"azure-openai-key", "api-key: " + FakeAzureOpenAiKey(), FakeAzureOpenAiKey()},
      {"azure-account-key",
       "DefaultEndpointsProtocol=https;AccountName=tapedeckdev;AccountKey=" +
           FakeAzureAccountKey() + ";EndpointSuffix=core.windows.net",
       FakeAzureAccountKey()},
      {"azure-sas-signature",
       "https://tapedeck.blob.core.windows.net/c/b.txt?sv=2022-11-02&sp=r&sig=" +
           FakeAzureSasSignature(),
       FakeAzureSasSignature()},
      Bare("private-key", FakePrivateKey()),
      Bare("pgp-private-key", FakePgpPrivateKey()),
      {"url-password", "postgres://app:" + FakeUrlPassword() + "@db.internal:5432/prod",
       FakeUrlPassword()},
      {"secret-field", "{\"client_secret\":\"" + FakeSecretFieldValue() + "\"}",
       FakeSecretFieldValue()},
      {"secret-param",
       "grant_type=refresh_token&client_id=tapedeck&refresh_token=" + FakeRefreshToken(),
       FakeRefreshToken()},
  };
}

}  // namespace td::testing
