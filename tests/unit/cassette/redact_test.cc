// Tests for redaction: every default secret shape redacted in every place it can appear (the
// scanner then finds nothing), bytes outside a secret kept exact, split offsets kept in step,
// user rules (headers, params, JSON paths, regexes), rule validation, idempotence, and text
// that must be left alone. Fake keys are built from pieces (no key-shaped literal here).
#include "cassette/redact.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cassette/secret_scan.h"
#include "tests/support/fake_secrets.h"
#include "cassette/sse.h"

namespace td::cassette {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
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

// JSON-escaped, as it would sit in a JSON body or an SSE data line.
std::string FakePrivateKeyEscaped() {
  return std::string("-----BEGIN ") + "EC PRIVATE KEY-----\\nMHcC" + Rep("q8Zx", 12) +
         "\\n-----END EC PRIVATE KEY-----";
}

Redactor MakeRedactor(RedactionRules rules = {}) {
  Result<Redactor> r = Redactor::Create(std::move(rules));
  EXPECT_TRUE(r.ok()) << r.status().message();
  return r.ok() ? std::move(*r) : *Redactor::Create({});
}

std::string ReplaceAll(std::string s, std::string_view from, std::string_view to) {
  for (size_t pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + to.size())) {
    s.replace(pos, from.size(), to);
  }
  return s;
}

bool IsJson(const std::string& bytes) {
  return !nlohmann::json::parse(bytes, nullptr, false).is_discarded();
}

struct Case {
  std::string rule;
  std::string key;
};

// Secrets that can sit in any of the places below (a bearer token needs its "Bearer " word).
std::vector<Case> Fakes() {
  return {{"anthropic-key", FakeAnthropicKey()},   {"openai-key", FakeOpenAiKey()},
          {"aws-access-key-id", FakeAwsKeyId()},   {"jwt", FakeJwt()},
          {"google-api-key", FakeGoogleKey()},     {"github-token", FakeGithubToken()},
          {"private-key", FakePrivateKeyEscaped()}};
}

// One interaction with `secret` planted in every place that reaches disk.
Interaction Planted(const std::string& secret) {
  Interaction i;
  i.request.method = "POST";
  i.request.path = "/v1/messages";
  i.request.query = {{"beta", "true"}, {"key", secret}, {"q", secret}};
  i.request.headers = {{"x-api-key", secret},
                       {"Authorization", "Bearer " + secret},
                       {"x-echo-key", secret},
                       {"anthropic-version", "2023-06-01"}};
  i.request.body.bytes = R"({"model":"claude","system":"use )" + secret + R"( please"})";
  i.response.status = 200;
  i.response.headers = {{"x-debug", "seen " + secret}, {"content-type", "text/event-stream"}};
  i.response.body.bytes = R"({"echo":")" + secret + R"("})";
  Stream s;
  s.events = {
      {"event: ping\ndata: {\"type\": \"ping\"}\n\n", 5, {}},
      {"event: content_block_delta\r\ndata: {\"text\":\"" + secret + "\"}\r\n\r\n", 9, {{3, 7}}}};
  i.response.stream = std::move(s);
  return i;
}

TEST(RedactTest, EveryDefaultSecretIsRedactedInEveryPlace) {
  const Redactor redactor = MakeRedactor();
  for (const Case& c : Fakes()) {
    SCOPED_TRACE(c.rule);
    const Interaction before = Planted(c.key);
    ASSERT_FALSE(ScanInteraction(before, 0).empty());
    Interaction after = before;
    RedactionReport report;
    redactor.RedactInteraction(&after, &report);
    EXPECT_THAT(ScanInteraction(after, 0), IsEmpty());

    const std::string placeholder = "[REDACTED:" + c.rule + "]";
    // Credential headers and params lose their whole value; other places only the key.
    EXPECT_EQ(*FindHeader(after.request.headers, "x-api-key"), "[REDACTED]");
    EXPECT_EQ(*FindHeader(after.request.headers, "authorization"), "[REDACTED]");
    EXPECT_EQ(*FindHeader(after.request.headers, "x-echo-key"), placeholder);
    EXPECT_EQ(*FindHeader(after.request.headers, "anthropic-version"), "2023-06-01");
    EXPECT_THAT(after.request.query,
                ElementsAre(std::pair<std::string, std::string>{"beta", "true"},
                            std::pair<std::string, std::string>{"key", "[REDACTED]"},
                            std::pair<std::string, std::string>{"q", placeholder}));
    EXPECT_EQ(after.request.body.bytes, ReplaceAll(before.request.body.bytes, c.key, placeholder));
    EXPECT_TRUE(IsJson(after.request.body.bytes));
    EXPECT_EQ(*FindHeader(after.response.headers, "x-debug"), "seen " + placeholder);
    EXPECT_EQ(after.response.body.bytes,
              ReplaceAll(before.response.body.bytes, c.key, placeholder));
    EXPECT_TRUE(IsJson(after.response.body.bytes));
    // SSE: bytes change only inside the key; the untouched event stays byte for byte.
    const auto& events = after.response.stream->events;
    EXPECT_EQ(events[0], before.response.stream->events[0]);
    EXPECT_EQ(events[1].bytes,
              ReplaceAll(before.response.stream->events[1].bytes, c.key, placeholder));
    EXPECT_EQ(events[1].at_us, 9);
    EXPECT_THAT(events[1].splits, ElementsAre(Split{3, 7}));

    EXPECT_THAT(report.applied, Contains("request.headers.x-api-key: credential header"));
    EXPECT_THAT(report.applied, Contains("request.query.key: credential query param"));
    EXPECT_THAT(report.applied, Contains("request.body: " + c.rule));
    EXPECT_THAT(report.applied, Contains("response.stream.events[1]: " + c.rule));
    for (const std::string& entry : report.applied) {
      EXPECT_THAT(entry, Not(HasSubstr(c.key.substr(0, 12)))) << "reports never hold values";
    }
  }
}

TEST(RedactTest, BearerTokenInBodyAndEvents) {
  const std::string token = FakeBearerToken();
  Interaction i;
  i.request.body.bytes = "curl -H 'Authorization: Bearer " + token + "' https://example.test";
  Stream s;
  s.events = {{"data: {\"auth\":\"Bearer " + token + "\"}\n\n", 1, {}}};
  i.response.stream = std::move(s);
  RedactionReport report;
  MakeRedactor().RedactInteraction(&i, &report);
  EXPECT_EQ(i.request.body.bytes,
            "curl -H 'Authorization: Bearer [REDACTED:bearer-token]' https://example.test");
  EXPECT_EQ(i.response.stream->events[0].bytes,
            "data: {\"auth\":\"Bearer [REDACTED:bearer-token]\"}\n\n");
  EXPECT_THAT(report.applied,
              ElementsAre("request.body: bearer-token", "response.stream.events[0]: bearer-token"));
}

TEST(RedactTest, KeyInThePathIsRedacted) {
  Request r;
  r.path = "/v1/keys/" + FakeAnthropicKey() + "/usage";
  RedactionReport report;
  MakeRedactor().RedactRequest(&r, &report);
  EXPECT_EQ(r.path, "/v1/keys/[REDACTED:anthropic-key]/usage");
  EXPECT_THAT(report.applied, ElementsAre("request.path: anthropic-key"));
}

TEST(RedactTest, SplitOffsetsFollowTheBytes) {
  const std::string key = FakeAnthropicKey();
  const std::string head = "data: {\"k\":\"";  // 12 bytes
  const std::string event = head + key + "\"}\n\n";
  const size_t key_end = head.size() + key.size();
  Interaction i;
  Stream s;
  s.events = {{event,
               50,
               {{5, 10},                // before the key: unchanged
                {head.size() + 4, 20},  // inside the key: moves to its start
                {head.size() + 9, 25},  // inside too: collapses onto the one before
                {key_end + 1, 30}}}};   // after it: shifts with the length change
  i.response.stream = std::move(s);
  MakeRedactor().RedactInteraction(&i, nullptr);
  const std::string placeholder = "[REDACTED:anthropic-key]";
  const StreamEvent& e = i.response.stream->events[0];
  EXPECT_EQ(e.bytes, head + placeholder + "\"}\n\n");
  EXPECT_THAT(e.splits, ElementsAre(Split{5, 10}, Split{head.size(), 20},
                                    Split{head.size() + placeholder.size() + 1, 30}));
  EXPECT_EQ(e.at_us, 50);
}

TEST(RedactTest, SplitsNeverLeaveTheEvent) {
  // The key is the whole event tail; a split at its very end must not survive at the end.
  const std::string key = FakeOpenAiKey();
  Interaction i;
  Stream s;
  s.kind = StreamKind::kChunks;
  s.events = {{key + key, 9, {{key.size(), 4}, {key.size() + 3, 6}}}};
  i.response.stream = std::move(s);
  MakeRedactor().RedactInteraction(&i, nullptr);
  const StreamEvent& e = i.response.stream->events[0];
  // One run of key characters is one key.
  EXPECT_EQ(e.bytes, "[REDACTED:openai-key]");
  EXPECT_THAT(e.splits, IsEmpty());
}

TEST(RedactTest, RedactedStreamFramesIntoTheSameEvents) {
  Interaction i = Planted(FakeAnthropicKey());
  MakeRedactor().RedactInteraction(&i, nullptr);
  SseFramer framer;
  std::vector<std::string> events;
  framer.Feed(i.response.stream->Concatenated(), &events);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1], i.response.stream->events[1].bytes);
  EXPECT_EQ(ParseSseEvent(events[1]).data, "{\"text\":\"[REDACTED:anthropic-key]\"}");
}

TEST(RedactTest, UserHeadersAndQueryParams) {
  RedactionRules rules;
  rules.headers = {"X-Team-Secret"};
  rules.query_params = {"Session"};
  Request r;
  r.query = {{"session", "s-1"}, {"page", "2"}};
  r.headers = {{"x-team-secret", "hunter2"}, {"x-other", "fine"}};
  RedactionReport report;
  MakeRedactor(rules).RedactRequest(&r, &report);
  EXPECT_EQ(*FindHeader(r.headers, "x-team-secret"), "[REDACTED]");
  EXPECT_EQ(*FindHeader(r.headers, "x-other"), "fine");
  EXPECT_EQ(r.query[0].second, "[REDACTED]");
  EXPECT_EQ(r.query[1].second, "2");
  EXPECT_THAT(report.applied, ElementsAre("request.headers.x-team-secret: credential header",
                                          "request.query.session: credential query param"));
}

TEST(RedactTest, JsonPathsRewriteJsonBodiesCompactly) {
  RedactionRules rules;
  rules.json_paths = {"metadata.user_id", "messages.*.content", "absent.path"};
  Interaction i;
  i.request.body.bytes = R"({ "model": "m", "metadata": {"user_id": "u-42"},
    "messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": 7}] })";
  i.response.body.bytes = "not json: metadata.user_id";
  Stream s;
  s.events = {{"data: {\"metadata\":{\"user_id\":\"u\"}}\n\n", 1, {}}};
  i.response.stream = std::move(s);
  RedactionReport report;
  MakeRedactor(rules).RedactInteraction(&i, &report);
  EXPECT_EQ(i.request.body.bytes,
            R"({"model":"m","metadata":{"user_id":"[REDACTED]"},"messages":[{"role":"user",)"
            R"("content":"[REDACTED]"},{"role":"assistant","content":"[REDACTED]"}]})");
  EXPECT_EQ(i.response.body.bytes, "not json: metadata.user_id");
  // Stream events are not JSON bodies: paths do not apply there (see redact.h).
  EXPECT_EQ(i.response.stream->events[0].bytes, "data: {\"metadata\":{\"user_id\":\"u\"}}\n\n");
  EXPECT_THAT(report.applied, ElementsAre("request.body: json path metadata.user_id",
                                          "request.body: json path messages.*.content"));
}

TEST(RedactTest, PatternsApplyToBodiesAndEventsLineByLine) {
  RedactionRules rules;
  rules.patterns = {"^tmp-[0-9]+", "user@example\\.test"};
  Interaction i;
  i.request.body.bytes = "tmp-1 first\ntmp-22 second\nnot tmp-3 here\n";
  i.request.headers = {{"x-note", "user@example.test"}};
  i.response.body.bytes = "mail user@example.test now";
  Stream s;
  s.events = {{"data: a\ndata: user@example.test\n\n", 1, {}}};
  i.response.stream = std::move(s);
  RedactionReport report;
  MakeRedactor(rules).RedactInteraction(&i, &report);
  EXPECT_EQ(i.request.body.bytes, "[REDACTED] first\n[REDACTED] second\nnot tmp-3 here\n");
  EXPECT_EQ(*FindHeader(i.request.headers, "x-note"), "user@example.test")
      << "patterns apply to bodies and events, not headers";
  EXPECT_EQ(i.response.body.bytes, "mail [REDACTED] now");
  EXPECT_EQ(i.response.stream->events[0].bytes, "data: a\ndata: [REDACTED]\n\n");
  EXPECT_THAT(report.applied, ElementsAre("request.body: pattern 0", "response.body: pattern 1",
                                          "response.stream.events[0]: pattern 1"));
}

TEST(RedactTest, PatternsLeavePlaceholdersAlone) {
  RedactionRules rules;
  rules.patterns = {"RED[A-Z]*", "anthropic"};
  Request r;
  r.body.bytes = "k=" + FakeAnthropicKey() + " REDNESS";
  MakeRedactor(rules).RedactRequest(&r, nullptr);
  EXPECT_EQ(r.body.bytes, "k=[REDACTED:anthropic-key] [REDACTED]");
}

TEST(RedactTest, PatternsOnLongLinesFindEveryMatch) {
  // One 1 MiB line (a compact JSON body), with ids placed across every window boundary.
  RedactionRules rules;
  rules.patterns = {"id-[0-9]{6}"};
  std::string line(1 << 20, ' ');
  size_t planted = 0;
  for (size_t at = 1000; at + 9 < line.size(); at += 1021) {
    line.replace(at, 9, "id-123456");
    ++planted;
  }
  Request r;
  r.body.bytes = line;
  MakeRedactor(rules).RedactRequest(&r, nullptr);
  size_t replaced = 0;
  for (size_t pos = r.body.bytes.find("[REDACTED]"); pos != std::string::npos;
       pos = r.body.bytes.find("[REDACTED]", pos + 1)) {
    ++replaced;
  }
  EXPECT_EQ(replaced, planted);
  EXPECT_EQ(r.body.bytes.find("id-"), std::string::npos);
}

TEST(RedactTest, PatternsOnLongRunsDoNotOverflowTheStack) {
  // One std::regex search matching a 64 KiB run recurses once per byte and overflows an
  // 8 MiB stack (measured: from ~30 KB; ~5 KB under AddressSanitizer). Windows bound it; a
  // match longer than a window is redacted in window-sized pieces.
  RedactionRules rules;
  rules.patterns = {"[a-z]+"};
  Request r;
  r.body.bytes = std::string(64 << 10, 'a');
  MakeRedactor(rules).RedactRequest(&r, nullptr);
  EXPECT_EQ(r.body.bytes.find('a'), std::string::npos);
  EXPECT_TRUE(r.body.bytes.starts_with("[REDACTED][REDACTED]"));
}

TEST(RedactTest, CreateRejectsBadRules) {
  auto error = [](RedactionRules rules) {
    Result<Redactor> r = Redactor::Create(std::move(rules));
    EXPECT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    return r.status().message();
  };
  RedactionRules bad_regex;
  bad_regex.patterns = {"ok", "(unclosed"};
  EXPECT_THAT(error(bad_regex), HasSubstr("redaction patterns[1] \"(unclosed\": "));
  RedactionRules empty_match;
  empty_match.patterns = {"x*"};
  EXPECT_THAT(error(empty_match), HasSubstr("matches the empty string"));
  RedactionRules bad_path;
  bad_path.json_paths = {"a..b"};
  EXPECT_THAT(error(bad_path), HasSubstr("redaction json_paths[0]: json path \"a..b\""));
  RedactionRules empty_header;
  empty_header.headers = {""};
  EXPECT_THAT(error(empty_header), HasSubstr("redaction headers[0]"));
}

TEST(RedactTest, RedactingTwiceChangesNothing) {
  RedactionRules rules;
  rules.json_paths = {"system"};
  rules.patterns = {"please", "RED"};
  rules.headers = {"x-echo-key"};
  const Redactor redactor = MakeRedactor(rules);
  for (const Case& c : Fakes()) {
    SCOPED_TRACE(c.rule);
    Interaction once = Planted(c.key);
    redactor.RedactInteraction(&once, nullptr);
    Interaction twice = once;
    RedactionReport report;
    redactor.RedactInteraction(&twice, &report);
    EXPECT_EQ(twice, once);
    EXPECT_THAT(report.applied, IsEmpty());
  }
}

TEST(RedactTest, KeyRightAfterAPrivateKeyIsRedacted) {
  // Found by tests/fuzz/redact_fuzz: the key after a PEM footer was left in place, and the
  // scanner found it only once the PEM block had become a placeholder.
  const Redactor redactor = MakeRedactor();
  Interaction i = Planted(FakePrivateKeyEscaped() + FakeAnthropicKey());
  redactor.RedactInteraction(&i, nullptr);
  EXPECT_THAT(ScanInteraction(i, 0), IsEmpty());
  EXPECT_THAT(i.request.body.bytes,
              HasSubstr("[REDACTED:private-key][REDACTED:anthropic-key] please"));
}

TEST(RedactTest, DefaultsOffKeepsOnlyUserRules) {
  RedactionRules rules;
  rules.defaults = false;
  rules.headers = {"x-mine"};
  Interaction i = Planted(FakeAnthropicKey());
  i.request.headers.emplace_back("x-mine", "v");
  const Interaction before = i;
  RedactionReport report;
  MakeRedactor(rules).RedactInteraction(&i, &report);
  EXPECT_EQ(*FindHeader(i.request.headers, "x-mine"), "[REDACTED]");
  EXPECT_EQ(i.request.body, before.request.body);
  EXPECT_EQ(*FindHeader(i.request.headers, "x-api-key"), FakeAnthropicKey());
  EXPECT_THAT(report.applied, ElementsAre("request.headers.x-mine: credential header"));
}

TEST(RedactTest, OrdinaryTextIsLeftAlone) {
  Interaction i;
  i.request.headers = {{"openai-organization", "org-abc123"}, {"user-agent", "sk-client/1.0"}};
  i.request.query = {{"task", "task-antelope"}};
  i.request.body.bytes =
      R"({"messages":[{"role":"user","content":"sk- alone, task-antelope, Bearer x, )"
      R"(scikit sk-learn, msg_01XFDUDYJgAACzvnptvVoYEL"}]})";
  Stream s;
  s.events = {{": ping\n\n", 1, {}}, {"data: [DONE]\n\n", 2, {}}};
  i.response.stream = std::move(s);
  const Interaction before = i;
  RedactionReport report;
  MakeRedactor().RedactInteraction(&i, &report);
  EXPECT_EQ(i, before);
  EXPECT_THAT(report.applied, IsEmpty());
}

}  // namespace
}  // namespace td::cassette
