// Tests for redaction: every default rule redacted in every place it can appear (headers,
// query, path, JSON and text bodies, tool inputs and results, SSE data lines, set-cookie; the
// scanner then finds nothing), bytes outside a secret kept exact, JSON fields and headers named
// secret, split offsets kept in step, user rules (headers, params, JSON paths, regexes), rule
// validation, idempotence, and text that must be left alone. Fake keys are built from pieces
// (no key-shaped literal here).
#include "cassette/redact.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cassette/secret_scan.h"
#include "cassette/sse.h"
#include "tests/support/fake_secrets.h"
#include "tests/support/interaction_builder.h"

namespace td::cassette {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

using testing::AllFakeSecrets;
using testing::FakeAnthropicKey;
using testing::FakeBearerToken;
using testing::FakeOpenAiKey;
using testing::FakeSecret;
using testing::FakeSecretFieldValue;
using testing::InteractionBuilder;
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

// Secrets that are whole on their own (no words around them) and fit on one line, so they can
// sit in any of the places below as they are; the private key JSON-escaped.
std::vector<Case> Fakes() {
  std::vector<Case> out;
  for (const FakeSecret& f : AllFakeSecrets()) {
    if (f.text == f.secret && f.text.find('\n') == std::string::npos) {
      out.push_back({f.rule, f.secret});
    }
  }
  out.push_back({"private-key", FakePrivateKeyEscaped()});
  return out;
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

TEST(RedactTest, APlaceholderColonIsNotAUrlPassword) {
  // Found by tests/fuzz/redact_fuzz in CI: a key inside a URL's authority became
  // "[REDACTED:openai-key]", and the placeholder's ':' then read as the user:password
  // separator, so the scanner refused what redaction had just written.
  const Redactor redactor = MakeRedactor();
  Interaction i = Planted("h:\\/\\/" + FakeOpenAiKey() + ".Tail9\x01@\x01host");
  redactor.RedactInteraction(&i, nullptr);
  EXPECT_THAT(ScanInteraction(i, 0), IsEmpty());
  EXPECT_THAT(i.request.body.bytes, HasSubstr("h:\\/\\/[REDACTED:openai-key].Tail9\x01@"));
}

TEST(RedactTest, WhatARedactionRevealsIsRedactedToo) {
  // Found by tests/fuzz/redact_fuzz: a key block's line breaks ended a URL's authority, so the
  // URL matched nothing until the block became a one-line placeholder; then its password did.
  const Redactor redactor = MakeRedactor();
  Interaction i = Planted("db://user:Pw9" + testing::FakePrivateKey() + "@host/x");
  redactor.RedactInteraction(&i, nullptr);
  EXPECT_THAT(ScanInteraction(i, 0), IsEmpty());
  EXPECT_THAT(i.request.body.bytes, HasSubstr("db://user:[REDACTED:url-password]@host/x"));
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

// How `s` reads inside a JSON string.
std::string JsonEscaped(const std::string& s) {
  const std::string quoted = nlohmann::json(s).dump();
  return quoted.substr(1, quoted.size() - 2);
}

// `bytes` with `secret` replaced by `to` wherever it sits raw, JSON-escaped once (a JSON
// string) or twice (JSON inside a JSON string: input_json_delta, tool results).
std::string ReplaceSecret(std::string bytes, const std::string& secret, std::string_view to) {
  const std::string once = JsonEscaped(secret);
  const std::string twice = JsonEscaped(once);
  bytes = ReplaceAll(std::move(bytes), twice, to);
  if (once != twice) bytes = ReplaceAll(std::move(bytes), once, to);
  if (secret != once) bytes = ReplaceAll(std::move(bytes), secret, to);
  return bytes;
}

// Where a tool would carry `text`: a JSON object stays an object (a tool input such as
// {"client_secret": "..."}), anything else is a command string.
Json ToolInput(const std::string& text) {
  Json parsed = Json::parse(text, nullptr, false);
  if (!parsed.is_discarded() && parsed.is_object()) return parsed;
  return Json{{"command", text}};
}

constexpr std::string_view kToolId = "toolu_01A09q90qw90lq917835lq9";

// `f` planted in every place that reaches disk, across two interactions: a JSON request (user
// text, tool_use input, tool_result) answered by an SSE stream (text_delta, input_json_delta),
// and a text request (a log) answered by a JSON body with a tool_use block.
std::vector<Interaction> PlantEverywhere(const FakeSecret& f) {
  const Json input = ToolInput(f.text);
  const Json text_block = {{"type", "text"}, {"text", "please use " + f.text}};
  const Json tool_use = {{"type", "tool_use"}, {"id", kToolId}, {"name", "run"}, {"input", input}};
  const Json tool_result = {
      {"type", "tool_result"}, {"tool_use_id", kToolId}, {"content", "ok: " + f.text}};
  Interaction streamed =
      InteractionBuilder()
          .Path("/v1/echo/" + f.text)
          .Query("beta", "true")
          .Query("q", f.text)
          .RequestHeader("x-api-key", f.text)
          .RequestHeader("x-echo", f.text)
          .RequestHeader("anthropic-version", "2023-06-01")
          .RequestJson(
              {{"model", "claude-sonnet-4-5"},
               {"max_tokens", 1024},
               {"messages",
                Json::array({{{"role", "user"}, {"content", Json::array({text_block})}},
                             {{"role", "assistant"}, {"content", Json::array({tool_use})}},
                             {{"role", "user"}, {"content", Json::array({tool_result})}}})}})
          .ResponseHeader("x-debug", "seen " + f.text)
          .ResponseHeader("set-cookie", "sid=" + f.text + "; HttpOnly")
          .SseJson("message_start",
                   {{"type", "message_start"},
                    {"message",
                     {{"id", "msg_01XFDUDYJgAACzvnptvVoYEL"},
                      {"usage", {{"input_tokens", 377}, {"cache_creation_input_tokens", 0}}}}}},
                   100)
          .SseJson("content_block_delta",
                   {{"type", "content_block_delta"},
                    {"index", 0},
                    {"delta", {{"type", "text_delta"}, {"text", "it is " + f.text}}}},
                   200)
          .SseJson("content_block_delta",
                   {{"type", "content_block_delta"},
                    {"index", 1},
                    {"delta", {{"type", "input_json_delta"}, {"partial_json", input.dump()}}}},
                   300)
          .SseEvent("event: ping\ndata: {\"type\": \"ping\"}\n\n", 400)
          .Build();
  Interaction plain =
      InteractionBuilder()
          .RequestHeader("content-type", "text/plain")
          .RequestBody("2030-01-01T00:00:00Z deploy: " + f.text + "\nexit 0\n")
          .ResponseJson({{"id", "msg_01XFDUDYJgAACzvnptvVoYEL"},
                         {"content", Json::array({{{"type", "text"}, {"text", f.text}}, tool_use})},
                         {"usage", {{"input_tokens", 12}, {"output_tokens", 34}}}})
          .Build();
  return {streamed, plain};
}

// The places a scan reports, without byte offsets: "request.body -> jwt".
std::vector<std::string> Places(const Interaction& i) {
  std::vector<std::string> out;
  for (const SecretFinding& f : ScanInteraction(i, 0)) {
    out.push_back(f.where.substr(0, f.where.find(" at byte ")) + " -> " + f.rule);
  }
  return out;
}

TEST(RedactTest, EveryRuleIsRedactedInEveryPlace) {
  const Redactor redactor = MakeRedactor();
  for (const FakeSecret& f : AllFakeSecrets()) {
    SCOPED_TRACE(f.rule);
    const std::vector<Interaction> planted = PlantEverywhere(f);
    const std::string& r = f.rule;
    // Found in every place, under its own rule, and nothing else is.
    EXPECT_THAT(
        Places(planted[0]),
        ElementsAre(
            "request.path -> " + r, "request.query.q -> " + r,
            "request.headers.x-api-key -> credential-header", "request.headers.x-echo -> " + r,
            "request.body -> " + r, "request.body -> " + r, "request.body -> " + r,
            "response.headers.x-debug -> " + r, "response.headers.set-cookie -> credential-header",
            "response.stream.events[1] -> " + r, "response.stream.events[2] -> " + r));
    EXPECT_THAT(Places(planted[1]), ElementsAre("request.body -> " + r, "response.body -> " + r,
                                                "response.body -> " + r));

    const std::string placeholder = "[REDACTED:" + r + "]";
    for (const Interaction& before : planted) {
      Interaction after = before;
      RedactionReport report;
      redactor.RedactInteraction(&after, &report);
      EXPECT_THAT(ScanInteraction(after, 0), IsEmpty());
      // Byte for byte: only the secret changed, in every place; credential headers whole.
      auto expect_same_but_secret = [&](const std::string& got, const std::string& was) {
        EXPECT_EQ(got, ReplaceSecret(was, f.secret, placeholder));
        EXPECT_NE(got, was);
      };
      EXPECT_EQ(after.request.path, ReplaceSecret(before.request.path, f.secret, placeholder));
      for (size_t k = 0; k < before.request.headers.size(); ++k) {
        const auto& [name, value] = before.request.headers[k];
        if (name == "x-api-key") {
          EXPECT_EQ(after.request.headers[k].second, "[REDACTED]");
        } else if (value.find(f.secret) != std::string::npos) {
          expect_same_but_secret(after.request.headers[k].second, value);
        } else {
          EXPECT_EQ(after.request.headers[k], before.request.headers[k]);
        }
      }
      for (size_t k = 0; k < before.request.query.size(); ++k) {
        EXPECT_EQ(after.request.query[k].second,
                  ReplaceSecret(before.request.query[k].second, f.secret, placeholder));
      }
      expect_same_but_secret(after.request.body.bytes, before.request.body.bytes);
      for (size_t k = 0; k < before.response.headers.size(); ++k) {
        const auto& [name, value] = before.response.headers[k];
        EXPECT_EQ(after.response.headers[k].second,
                  name == "set-cookie" ? std::string("[REDACTED]")
                                       : ReplaceSecret(value, f.secret, placeholder));
      }
      if (before.response.stream) {
        const auto& was = before.response.stream->events;
        const auto& got = after.response.stream->events;
        ASSERT_EQ(got.size(), was.size());
        EXPECT_EQ(got[0], was[0]);
        expect_same_but_secret(got[1].bytes, was[1].bytes);
        expect_same_but_secret(got[2].bytes, was[2].bytes);
        EXPECT_EQ(got[3], was[3]);
        for (size_t k = 0; k < got.size(); ++k) EXPECT_EQ(got[k].at_us, was[k].at_us);
        // The stream still frames into the same events, each data line still JSON.
        std::vector<std::string> framed;
        SseFramer framer;
        framer.Feed(after.response.stream->Concatenated(), &framed);
        ASSERT_EQ(framed.size(), got.size());
        for (size_t k = 0; k < got.size(); ++k) {
          EXPECT_EQ(framed[k], got[k].bytes);
          EXPECT_TRUE(IsJson(ParseSseEvent(framed[k]).data)) << framed[k];
        }
        EXPECT_TRUE(IsJson(after.request.body.bytes));
      } else {
        expect_same_but_secret(after.response.body.bytes, before.response.body.bytes);
        EXPECT_TRUE(IsJson(after.response.body.bytes));
      }
      EXPECT_THAT(report.applied, Contains("request.body: " + r));
      for (const std::string& entry : report.applied) {
        EXPECT_THAT(entry, Not(HasSubstr(f.secret.substr(0, 12)))) << "reports hold no value";
      }
      // A second redaction changes nothing and reports nothing.
      Interaction twice = after;
      RedactionReport again;
      redactor.RedactInteraction(&twice, &again);
      EXPECT_EQ(twice, after);
      EXPECT_THAT(again.applied, IsEmpty());
    }
  }
}

TEST(RedactTest, JsonFieldsNamedSecretAreEditedInTheBytes) {
  // Pretty-printed, with odd spacing, escapes and number forms that a parse and dump would
  // change (1.50e5, \u00e9): only the secret values change.
  const std::string v = FakeSecretFieldValue();
  const std::string head = "{\n  \"model\" : \"claude\",\n  \"max_tokens\": 1024,\n";
  const std::string body =
      head + "  \"metadata\": {\"user_id\": \"u-1\", \"api_key\":   \"" + v + "\"},\n" +
      "  \"usage\": {\"input_tokens\": 12, \"cache_creation_input_tokens\": 0},\n" +
      "  \"password\": \"hunter22\", \"token\": null, \"type\": \"token\",\n" +
      "  \"note\": \"caf\\u00e9 \\\"quoted\\\"\", \"n\": 1.50e5,\n" +
      "  \"tool\": {\"input\": {\"db\": {\"passwd\": \"s3cr3t!x\"}}}\n}\n";
  Interaction i;
  i.request.body.bytes = body;
  i.response.body.bytes = body;
  RedactionReport report;
  MakeRedactor().RedactInteraction(&i, &report);
  std::string expected = ReplaceAll(body, v, "[REDACTED:secret-field]");
  expected = ReplaceAll(expected, "hunter22", "[REDACTED:secret-field]");
  expected = ReplaceAll(expected, "s3cr3t!x", "[REDACTED:secret-field]");
  EXPECT_EQ(i.request.body.bytes, expected);
  EXPECT_EQ(i.response.body.bytes, expected);
  EXPECT_TRUE(IsJson(i.request.body.bytes));
  EXPECT_THAT(report.applied,
              ElementsAre("request.body: secret-field", "response.body: secret-field"));
}

TEST(RedactTest, HeadersAndParamsNamedSecret) {
  const std::string v = FakeSecretFieldValue();
  Request r;
  r.query = {{"session_token", v}, {"page_token", v}, {"limit", "10"}};
  r.headers = {{"X-Service-Token", v},
               {"x-db-password", "hunter22"},
               {"anthropic-ratelimit-tokens-remaining", "398000"},
               {"x-request-id", v},
               {"x-csrf-token", "short"}};
  const Request before = r;
  RedactionReport report;
  MakeRedactor().RedactRequest(&r, &report);
  EXPECT_EQ(*FindHeader(r.headers, "x-service-token"), "[REDACTED]");
  EXPECT_EQ(*FindHeader(r.headers, "x-db-password"), "[REDACTED]");
  EXPECT_EQ(*FindHeader(r.headers, "anthropic-ratelimit-tokens-remaining"), "398000");
  EXPECT_EQ(*FindHeader(r.headers, "x-request-id"), v);
  EXPECT_EQ(*FindHeader(r.headers, "x-csrf-token"), "short");
  EXPECT_EQ(r.query[0].second, "[REDACTED]");
  EXPECT_EQ(r.query[1].second, v) << "a page token is not a credential";
  EXPECT_THAT(report.applied, ElementsAre("request.headers.x-service-token: credential header",
                                          "request.headers.x-db-password: credential header",
                                          "request.query.session_token: credential query param"));
  // The name rule is a default: without defaults, only user rules apply.
  RedactionRules no_defaults;
  no_defaults.defaults = false;
  Request untouched = before;
  MakeRedactor(no_defaults).RedactRequest(&untouched, nullptr);
  EXPECT_EQ(untouched, before);
}

}  // namespace
}  // namespace td::cassette
