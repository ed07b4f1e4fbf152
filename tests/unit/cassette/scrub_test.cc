// Unit tests for ScrubForDisk, the decode-redact-scan pipeline every cassette write goes through:
// what the configured rules miss is masked anyway and named by rule and place, never by value.
#include "cassette/scrub.h"

#include <gtest/gtest.h>

#include "cassette/secret_scan.h"
#include "tests/support/compress.h"
#include "tests/support/fake_secrets.h"
#include "tests/support/interaction_builder.h"

namespace td::cassette {
namespace {

using td::testing::InteractionBuilder;

Redactor DefaultRedactor() {
  Result<Redactor> r = Redactor::Create({});
  EXPECT_TRUE(r.ok()) << r.status().message();
  return std::move(*r);
}

TEST(ScrubTest, MasksWhatTheConfiguredRulesLeaveAndNamesNoValue) {
  // A user who turned the defaults off still gets no key on disk.
  RedactionRules none;
  none.defaults = false;
  Result<Redactor> lenient = Redactor::Create(none);
  ASSERT_TRUE(lenient.ok()) << lenient.status().message();
  const std::string key = td::testing::FakeAnthropicKey();
  Interaction got = InteractionBuilder()
                        .RequestHeader("x-api-key", key)
                        .SseEvent("data: {\"echo\":\"" + key + "\"}\n\n", 10)
                        .Build();

  ScrubReport report = ScrubForDisk(&got, *lenient, DefaultRedactor(), 3);
  EXPECT_TRUE(report.clean);
  ASSERT_FALSE(report.notes.empty());
  EXPECT_FALSE(report.redacted.empty());
  for (const std::string& note : report.notes) {
    EXPECT_EQ(note.find(key), std::string::npos) << note;
    EXPECT_EQ(note.find(key.substr(0, 10)), std::string::npos) << note;
  }
  EXPECT_TRUE(ScanInteraction(got, 0).empty());
  EXPECT_EQ(got.response.stream->events[0].bytes.find(key), std::string::npos);
  EXPECT_EQ(FindHeader(got.request.headers, "x-api-key")->find(key), std::string::npos);
}

TEST(ScrubTest, WithDefaultRulesHasNothingLeftToNote) {
  Interaction got = InteractionBuilder()
                        .RequestHeader("x-api-key", td::testing::FakeAnthropicKey())
                        .ResponseJson({{"ok", true}})
                        .Build();
  ScrubReport report = ScrubForDisk(&got, DefaultRedactor(), DefaultRedactor());
  EXPECT_TRUE(report.clean);
  EXPECT_TRUE(report.notes.empty());
  EXPECT_EQ(report.redacted.applied.size(), 1u);
  EXPECT_FALSE(report.decoded_request_body);
  EXPECT_EQ(*FindHeader(got.request.headers, "x-api-key"), kRedacted);
  EXPECT_EQ(got.response.body.bytes, "{\"ok\":true}");
}

TEST(ScrubTest, StoresACompressedRequestDecodedSoItsKeyIsRedacted) {
  const std::string json = "{\"note\":\"" + td::testing::FakeAnthropicKey() + "\"}";
  const std::string zipped = td::testing::Gzip(json);
  Interaction got = InteractionBuilder()
                        .RequestBody(zipped)
                        .RequestHeader("Content-Encoding", "gzip")
                        .ResponseJson(Json::object())
                        .Build();
  ScrubReport report = ScrubForDisk(&got, DefaultRedactor(), DefaultRedactor());
  EXPECT_TRUE(report.clean);
  EXPECT_TRUE(report.notes.empty());
  EXPECT_TRUE(report.decoded_request_body);
  EXPECT_EQ(got.request.body.bytes, "{\"note\":\"[REDACTED:anthropic-key]\"}");
  EXPECT_EQ(FindHeader(got.request.headers, "content-encoding"), nullptr);

  // One that cannot be decoded stays as sent, header kept, with a note saying why.
  const std::string cut = zipped.substr(0, zipped.size() - 2);
  got = InteractionBuilder()
            .RequestBody(cut)
            .RequestHeader("Content-Encoding", "gzip")
            .ResponseJson(Json::object())
            .Build();
  report = ScrubForDisk(&got, DefaultRedactor(), DefaultRedactor());
  EXPECT_FALSE(report.decoded_request_body);
  EXPECT_EQ(got.request.body.bytes, cut);
  EXPECT_NE(FindHeader(got.request.headers, "content-encoding"), nullptr);
  ASSERT_EQ(report.notes.size(), 1u);
  EXPECT_EQ(report.notes[0].rfind("request.body: cannot decode gzip: truncated at byte ", 0), 0u)
      << report.notes[0];
}

TEST(ScrubTest, WithholdsACompressedResponseHoldingAKey) {
  const std::string key = td::testing::FakeAnthropicKey();
  const std::string json = "{\"echo\":\"" + key + "\"}";
  const std::string zipped = td::testing::Gzip(json);
  Interaction got = InteractionBuilder()
                        .ResponseBody(zipped)
                        .ResponseHeader("content-type", "application/json")
                        .ResponseHeader("content-encoding", "gzip")
                        .Build();
  ScrubReport report = ScrubForDisk(&got, DefaultRedactor(), DefaultRedactor());
  EXPECT_FALSE(report.clean);
  ASSERT_FALSE(report.notes.empty());
  EXPECT_EQ(report.notes.back(),
            "secret-shaped anthropic-key at response.body (gzip) at byte " +
                std::to_string(json.find(key)) +
                " cannot be masked inside compressed bytes that replay as they are");
  EXPECT_EQ(got.response.body.bytes, zipped) << "the replayed bytes are never re-encoded";
}

}  // namespace
}  // namespace td::cassette
