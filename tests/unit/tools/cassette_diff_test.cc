// `tapedeck cassette diff`: DiffCassettes on cassettes built in memory, its text and JSON output
// against golden files (tests/golden/diff/; TAPEDECK_UPDATE_GOLDEN=1 rewrites them), and the
// command's exit codes through cli::Main.
#include "tools/cassette_diff.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "cassette/codec.h"
#include "tests/support/fixtures.h"
#include "tests/support/interaction_builder.h"
#include "tests/support/temp_dir.h"
#include "tools/cli.h"
#include "tools/exit_codes.h"

namespace td::cli {
namespace {

namespace fs = std::filesystem;
using cassette::Cassette;
using cassette::Interaction;
using cassette::Json;
using td::testing::InteractionBuilder;

constexpr Micros kCreated = 1795249953000000;

bool UpdateGolden() {
  const char* value = std::getenv("TAPEDECK_UPDATE_GOLDEN");
  return value != nullptr && std::string(value) == "1";
}

// Compares `actual` with tests/golden/diff/NAME (or writes it under TAPEDECK_UPDATE_GOLDEN=1).
void ExpectGolden(const std::string& name, const std::string& actual) {
  const fs::path path = fs::path(TD_SOURCE_DIR) / "tests" / "golden" / "diff" / name;
  if (UpdateGolden()) {
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << actual;
    return;
  }
  const std::string expected = td::testing::ReadFile(path);
  ASSERT_FALSE(expected.empty()) << path << " is missing; TAPEDECK_UPDATE_GOLDEN=1 writes it";
  EXPECT_EQ(actual, expected) << "differs from " << path
                              << " (TAPEDECK_UPDATE_GOLDEN=1 rewrites it; review the git diff)";
}

Cassette Of(std::vector<Interaction> interactions) {
  Cassette c;
  c.created_at_us = kCreated;
  c.interactions = std::move(interactions);
  return c;
}

Json Prompt(const std::string& text) {
  return {{"model", "claude-x"},
          {"max_tokens", 64},
          {"messages", Json::array({{{"role", "user"}, {"content", text}}})}};
}

Json Message(const std::string& text) {
  return {{"id", "msg_01AAAA"},
          {"type", "message"},
          {"model", "claude-x"},
          {"content", Json::array({{{"type", "text"}, {"text", text}}})},
          {"stop_reason", "end_turn"},
          {"stop_sequence", nullptr},
          {"usage", {{"input_tokens", 10}, {"output_tokens", 12}}}};
}

// A non-streamed exchange: `prompt` in, `response` out.
InteractionBuilder Plain(const std::string& prompt, const Json& response) {
  InteractionBuilder b;
  b.RequestHeader("anthropic-version", "2023-06-01")
      .RequestJson(Prompt(prompt))
      .ResponseHeader("request-id", "req_01")
      .ResponseHeader("date", "Fri, 21 Nov 2026 08:32:34 GMT")
      .ResponseJson(response);
  return b;
}

InteractionBuilder Models() {
  InteractionBuilder b;
  b.Method("GET").Path("/v1/models").ResponseJson({{"data", Json::array()}});
  return b;
}

// An Anthropic-style stream of text deltas, one event per `step` microseconds.
InteractionBuilder Streamed(const std::string& prompt, const std::vector<std::string>& deltas,
                            Micros step = 1000, const std::string& id = "msg_01SSSS") {
  Json request = Prompt(prompt);
  request["stream"] = true;
  InteractionBuilder b;
  Micros at = step;
  b.RequestJson(request).SseJson(
      "message_start",
      {{"type", "message_start"}, {"message", {{"id", id}, {"model", "claude-x"}}}}, at);
  b.SseJson("ping", {{"type", "ping"}}, at += step);
  for (const std::string& d : deltas) {
    b.SseJson("content_block_delta",
              {{"type", "content_block_delta"},
               {"index", 0},
               {"delta", {{"type", "text_delta"}, {"text", d}}}},
              at += step);
  }
  b.SseJson("message_stop", {{"type", "message_stop"}}, at += step);
  return b;
}

CassetteDiff Diff(const Cassette& a, const Cassette& b, DiffOptions options = {}) {
  Result<CassetteDiff> d = DiffCassettes(a, b, options);
  EXPECT_TRUE(d.ok()) << d.status().message();
  return d.ok() ? std::move(*d) : CassetteDiff{};
}

std::string Text(const CassetteDiff& d) { return RenderDiffText(d, "a.jsonl", "b.jsonl"); }

// The one pair's changes as "kind path" lines, for assertions that do not need the values.
std::vector<std::string> Kinds(const CassetteDiff& d) {
  std::vector<std::string> out;
  for (const PairDiff& p : d.changed) {
    for (const DiffChange& c : p.changes)
      out.push_back(std::string(ChangeKindName(c.kind)) + " " + c.path);
  }
  return out;
}

TEST(CassetteDiffTest, IdenticalCassettesAreTheSame) {
  Cassette a = Of({Plain("hi", Message("Hello")), Streamed("go", {"a", "b"}), Models()});
  CassetteDiff d = Diff(a, a);
  EXPECT_TRUE(d.same());
  EXPECT_EQ(d.pairs, 3u);
  ExpectGolden("identical.txt", Text(d));
  ExpectGolden("identical.json", RenderDiffJson(d));
}

TEST(CassetteDiffTest, AnInteractionOnlyBHasIsAdded) {
  Cassette a = Of({Plain("hi", Message("Hello"))});
  Cassette b = Of({Plain("hi", Message("Hello")), Models()});
  CassetteDiff d = Diff(a, b);
  EXPECT_FALSE(d.same());
  ASSERT_EQ(d.added.size(), 1u);
  EXPECT_EQ(d.added[0].index, 1u);
  EXPECT_EQ(d.added[0].request, "GET /v1/models");
  EXPECT_TRUE(d.removed.empty());
  EXPECT_TRUE(d.changed.empty());
  ExpectGolden("added.txt", Text(d));
}

TEST(CassetteDiffTest, AnInteractionOnlyAHasIsRemoved) {
  Cassette a = Of({Models(), Plain("hi", Message("Hello"))});
  Cassette b = Of({Plain("hi", Message("Hello"))});
  CassetteDiff d = Diff(a, b);
  ASSERT_EQ(d.removed.size(), 1u);
  EXPECT_EQ(d.removed[0].index, 0u);
  EXPECT_TRUE(d.added.empty());
  EXPECT_TRUE(d.changed.empty()) << "A#1 pairs with B#0 by key";
  ExpectGolden("removed.txt", Text(d));
}

TEST(CassetteDiffTest, StatusChange) {
  Cassette a = Of({Plain("hi", Message("Hello"))});
  Cassette b = Of({Plain("hi", {{"type", "error"}, {"error", {{"type", "overloaded_error"}}}})
                       .ResponseStatus(529)});
  CassetteDiff d = Diff(a, b);
  ASSERT_EQ(d.changed.size(), 1u);
  const DiffChange& status = d.changed[0].changes.front();
  ASSERT_EQ(ChangeKindName(status.kind), "status");
  ASSERT_TRUE(status.from && status.to);
  EXPECT_EQ(*status.from, 200);
  EXPECT_EQ(*status.to, 529);
  ExpectGolden("status.txt", Text(d));
}

TEST(CassetteDiffTest, HeadersCompareByNameCaseInsensitively) {
  Cassette a = Of({Plain("hi", Message("Hello"))
                       .RequestHeader("User-Agent", "sdk/1")
                       .ResponseHeader("Content-Type", "application/json")
                       .ResponseHeader("x-gone", "1")
                       .ResponseHeader("anthropic-organization-id", "org")});
  Cassette b = Of({Plain("hi", Message("Hello"))
                       .RequestHeader("user-agent", "sdk/2")
                       .ResponseHeader("content-type", "application/json")
                       .ResponseHeader("x-new", "2")
                       .ResponseHeader("Anthropic-Organization-Id", "org")});
  CassetteDiff d = Diff(a, b);
  EXPECT_EQ(Kinds(d), (std::vector<std::string>{"header changed request.headers.user-agent",
                                                "header removed response.headers.x-gone",
                                                "header added response.headers.x-new"}));
  ExpectGolden("headers.txt", Text(d));
}

TEST(CassetteDiffTest, AChangedRequestPairsByMethodAndPathAndNamesTheRequestPath) {
  Cassette a = Of({Plain("Say hello", Message("Hello")), Models()});
  Cassette b = Of({Plain("Say hi", Message("Hello")), Models()});
  CassetteDiff d = Diff(a, b);
  ASSERT_EQ(d.changed.size(), 1u);
  EXPECT_FALSE(d.changed[0].same_key);
  EXPECT_TRUE(d.added.empty());
  EXPECT_TRUE(d.removed.empty());
  EXPECT_EQ(Kinds(d), (std::vector<std::string>{"changed request.body.messages[0].content"}));
  ExpectGolden("request-path.txt", Text(d));
}

TEST(CassetteDiffTest, ResponseTextChangeIsShortenedAroundTheDifference) {
  const std::string long_a = std::string(100, 'x') + " Hello there, how are you today?";
  const std::string long_b = std::string(100, 'x') + " Hi there, what can I do for you?";
  Cassette a = Of({Plain("hi", Message(long_a))});
  Cassette b = Of({Plain("hi", Message(long_b))});
  CassetteDiff d = Diff(a, b);
  EXPECT_EQ(Kinds(d), (std::vector<std::string>{"changed response.body.content[0].text"}));
  ASSERT_EQ(d.changed.size(), 1u);
  ASSERT_TRUE(d.changed[0].changes[0].to.has_value());
  EXPECT_EQ(*d.changed[0].changes[0].to, long_b) << "the JSON output keeps whole values";
  ExpectGolden("response-text.txt", Text(d));
}

TEST(CassetteDiffTest, EventsPairByTypeAndExtraOnesAreAddedOrRemoved) {
  Cassette a = Of({Streamed("go", {"Hel", "lo"})});
  Cassette more = Of({Streamed("go", {"Hel", "lo", "!"})});
  CassetteDiff added = Diff(a, more);
  EXPECT_EQ(Kinds(added),
            (std::vector<std::string>{"event added response.events.content_block_delta[2]"}));
  ExpectGolden("event-added.txt", Text(added));

  Cassette fewer = Of({Streamed("go", {"Hi"})});
  CassetteDiff removed = Diff(a, fewer);
  EXPECT_EQ(Kinds(removed),
            (std::vector<std::string>{"changed response.events.content_block_delta[0].delta.text",
                                      "event removed response.events.content_block_delta[1]"}));
  ExpectGolden("event-removed.txt", Text(removed));
}

TEST(CassetteDiffTest, SchemaDriftFieldAddedGoneTypeChangedModelChanged) {
  Json old_body = Message("Hello");
  Json new_body = Message("Hello");
  new_body["usage"]["cache_read_input_tokens"] = 0;                     // field added
  new_body.erase("stop_sequence");                                      // field gone
  new_body["usage"]["output_tokens"] = "12";                            // type changed
  new_body["model"] = "claude-y";                                       // model changed
  new_body["content"].push_back({{"type", "text"}, {"text", "more"}});  // element added
  CassetteDiff d = Diff(Of({Plain("hi", old_body)}), Of({Plain("hi", new_body)}));
  EXPECT_EQ(Kinds(d), (std::vector<std::string>{
                          "element added response.body.content[1]",
                          "model changed response.body.model",
                          "field gone response.body.stop_sequence",
                          "field added response.body.usage.cache_read_input_tokens",
                          "type changed response.body.usage.output_tokens",
                      }));
  ExpectGolden("schema-drift.txt", Text(d));
  ExpectGolden("schema-drift.json", RenderDiffJson(d));
}

// A recording of the same conversation a week later: other clock, other ids, other pings.
Cassette Rerecorded() {
  Interaction plain = Plain("hi", Message("Hello")).RecordedAt(kCreated + 7 * 86400000000).Build();
  cassette::SetHeader(&plain.response.headers, "date", "Fri, 28 Nov 2026 08:00:00 GMT");
  cassette::SetHeader(&plain.response.headers, "request-id", "req_02");
  plain.response.headers.emplace_back("anthropic-ratelimit-requests-remaining", "49");
  plain.response.body.bytes = [] {
    Json m = Message("Hello");
    m["id"] = "msg_01ZZZZZZ";
    return m.dump();
  }();
  Interaction streamed = Streamed("go", {"a", "b"}, 1700, "msg_01TTTT").Timing(5, 9000).Build();
  streamed.response.stream->events[2].splits = {{10, 2500}};
  auto& events = streamed.response.stream->events;
  events.insert(events.begin() + 3, events[1]);  // a second ping
  events.insert(events.begin() + 1, {": keep-alive\n\n", 1500, {}});
  Cassette c = Of({plain, streamed});
  c.created_at_us = kCreated + 7 * 86400000000;
  return c;
}

TEST(CassetteDiffTest, TimingOnlyDifferencesAreTheSameUnlessCompareTiming) {
  Cassette a = Of({Plain("hi", Message("Hello")), Streamed("go", {"a", "b"})});
  Cassette b = Rerecorded();
  CassetteDiff d = Diff(a, b);
  EXPECT_TRUE(d.same()) << Text(d);

  DiffOptions timing;
  timing.compare_timing = true;
  CassetteDiff t = Diff(a, b, timing);
  EXPECT_FALSE(t.same());
  ASSERT_EQ(t.cassette.size(), 1u);
  EXPECT_EQ(t.cassette[0].path, "created_at");
  ExpectGolden("timing.txt", Text(t));
}

TEST(CassetteDiffTest, ProviderIdsAndCreationTimesAreNoiseUnlessCompareTiming) {
  auto chat = [](const std::string& id, int created, const std::string& call) {
    Json tool_call = {{"id", call}, {"type", "function"}};
    return Json{
        {"id", id},
        {"object", "chat.completion"},
        {"created", created},
        {"model", "gpt-x"},
        {"choices", Json::array({{{"message", {{"tool_calls", Json::array({tool_call})}}}}})}};
  };
  Cassette a = Of({Plain("hi", chat("chatcmpl-A1", 1700000000, "call_X1"))});
  Cassette b = Of({Plain("hi", chat("chatcmpl-B2", 1700000500, "call_Y2"))});
  EXPECT_TRUE(Diff(a, b).same()) << Text(Diff(a, b));
  DiffOptions timing;
  timing.compare_timing = true;
  EXPECT_EQ(
      Kinds(Diff(a, b, timing)),
      (std::vector<std::string>{"changed response.body.choices[0].message.tool_calls[0].id",
                                "changed response.body.created", "changed response.body.id"}));

  // A date string at created_at is content (a model's release date), not a recording's clock.
  Cassette m1 =
      Of({Models().ResponseJson({{"data", Json::array({{{"created_at", "2025-02-19"}}})}})});
  Cassette m2 =
      Of({Models().ResponseJson({{"data", Json::array({{{"created_at", "2025-05-14"}}})}})});
  EXPECT_EQ(Kinds(Diff(m1, m2)),
            (std::vector<std::string>{"changed response.body.data[0].created_at"}));
}

TEST(CassetteDiffTest, AnIdThatChangesShapeIsADifference) {
  Json other = Message("Hello");
  other["id"] = "resp-01";  // another prefix: not the same kind of id
  CassetteDiff d = Diff(Of({Plain("hi", Message("Hello"))}), Of({Plain("hi", other)}));
  EXPECT_EQ(Kinds(d), (std::vector<std::string>{"changed response.body.id"}));
}

TEST(CassetteDiffTest, RepeatedKeysPairFirstWithFirst) {
  Cassette a = Of({Plain("hi", Message("one")), Plain("hi", Message("two"))});
  Cassette b = Of({Plain("hi", Message("one")), Plain("hi", Message("2"))});
  CassetteDiff d = Diff(a, b);
  ASSERT_EQ(d.changed.size(), 1u);
  EXPECT_EQ(d.changed[0].a, 1u);
  EXPECT_EQ(d.changed[0].b, 1u);
  EXPECT_TRUE(d.changed[0].same_key);
}

TEST(CassetteDiffTest, PairsWithTheMatchOptionsReplayUses) {
  Json with_user = Prompt("hi");
  with_user["metadata"] = {{"user_id", "u1"}};
  Json other_user = Prompt("hi");
  other_user["metadata"] = {{"user_id", "u2"}};
  Cassette a = Of({InteractionBuilder().RequestJson(with_user).ResponseJson(Message("Hello"))});
  Cassette b = Of({InteractionBuilder().RequestJson(other_user).ResponseJson(Message("Hello"))});

  CassetteDiff plain = Diff(a, b);
  ASSERT_EQ(plain.changed.size(), 1u);
  EXPECT_FALSE(plain.changed[0].same_key);
  EXPECT_EQ(Kinds(plain), (std::vector<std::string>{"changed request.body.metadata.user_id"}));

  DiffOptions anthropic;
  Result<replay::MatchOptions> preset = replay::ApplyPreset("anthropic", {});
  ASSERT_TRUE(preset.ok());
  anthropic.match = *preset;  // ignores metadata.user_id
  EXPECT_TRUE(Diff(a, b, anthropic).same());

  DiffOptions ignore_ua;
  ignore_ua.match.ignore_headers = {"User-Agent"};
  Cassette ua1 = Of({Plain("hi", Message("Hello")).RequestHeader("user-agent", "sdk/1")});
  Cassette ua2 = Of({Plain("hi", Message("Hello")).RequestHeader("user-agent", "sdk/2")});
  EXPECT_FALSE(Diff(ua1, ua2).same());
  EXPECT_TRUE(Diff(ua1, ua2, ignore_ua).same()) << "--ignore-header is no difference either";
}

TEST(CassetteDiffTest, BadMatchOptionsAreAnError) {
  DiffOptions bad;
  bad.match.normalizers = {{"(unclosed", "x", ""}};
  Result<CassetteDiff> d = DiffCassettes(Of({}), Of({}), bad);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), StatusCode::kInvalidArgument);
}

TEST(CassetteDiffTest, TextShowsAtMostMaxChangesPerPair) {
  Json many;
  Json other;
  for (int i = 0; i < 5; ++i) {
    many["k" + std::to_string(i)] = i;
    other["k" + std::to_string(i)] = i + 1;
  }
  CassetteDiff d = Diff(Of({Plain("hi", many)}), Of({Plain("hi", other)}));
  const std::string text = RenderDiffText(d, "a", "b", 2);
  EXPECT_NE(text.find("  response.body.k1: 1 -> 2\n  ... and 3 more changes (--json lists all)\n"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("response.body.k2"), std::string::npos) << text;
}

// --- the command, through cli::Main ---

class CassetteDiffCliTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& name, const Cassette& c) {
    const std::string path = dir_.Path(name);
    Status s = cassette::WriteCassetteAtomic(path, c, {});
    EXPECT_TRUE(s.ok()) << s.message();
    return path;
  }
  int Run(std::vector<std::string> args, std::string* out = nullptr) {
    args.insert(args.begin(), {"cassette", "diff"});
    ::testing::internal::CaptureStdout();
    ::testing::internal::CaptureStderr();
    const int code = Main(args, {});
    std::string captured = ::testing::internal::GetCapturedStdout();
    err_ = ::testing::internal::GetCapturedStderr();
    if (out != nullptr) *out = captured;
    return code;
  }

  td::testing::ScopedTempDir dir_;
  std::string err_;
};

TEST_F(CassetteDiffCliTest, ExitCodes) {
  const std::string a = Write("a.jsonl.zst", Of({Plain("hi", Message("Hello"))}));
  const std::string same = Write("same.jsonl.zst", Of({Plain("hi", Message("Hello"))}));
  const std::string other = Write("other.jsonl.zst", Of({Plain("hi", Message("Bye"))}));
  std::string out;
  EXPECT_EQ(Run({a, same}, &out), kExitOk) << err_;
  EXPECT_NE(out.find("same: 1 pair, no differences"), std::string::npos) << out;
  EXPECT_EQ(Run({a, other}, &out), kExitProblem) << err_;
  EXPECT_NE(out.find("response.body.content[0].text: \"Hello\" -> \"Bye\""), std::string::npos)
      << out;

  EXPECT_EQ(Run({a, dir_.Path("missing.jsonl.zst")}), kExitCassette);
  EXPECT_NE(err_.find("missing.jsonl.zst"), std::string::npos) << err_;
  std::ofstream(dir_.Path("junk.jsonl")) << "not a cassette\n";
  EXPECT_EQ(Run({dir_.Path("junk.jsonl"), a}), kExitCassette);

  EXPECT_EQ(Run({a}), kExitUsage);
  EXPECT_NE(err_.find("expected two cassette files"), std::string::npos) << err_;
  EXPECT_EQ(Run({a, same, other}), kExitUsage);
  EXPECT_EQ(Run({a, same, "--timing", "instant"}), kExitUsage) << "a replay-only flag";
}

TEST_F(CassetteDiffCliTest, JsonAndMatchingFlags) {
  Json u1 = Prompt("hi");
  u1["metadata"] = {{"user_id", "u1"}};
  Json u2 = Prompt("hi");
  u2["metadata"] = {{"user_id", "u2"}};
  const std::string a = Write("a.jsonl", Of({InteractionBuilder().RequestJson(u1)}));
  const std::string b = Write("b.jsonl", Of({InteractionBuilder().RequestJson(u2)}));
  std::string out;
  ASSERT_EQ(Run({"--json", a, b}, &out), kExitProblem) << err_;
  nlohmann::json j = nlohmann::json::parse(out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << out;
  EXPECT_EQ(j["same"], false);
  EXPECT_EQ(j["changed"][0]["changes"][0]["path"], "request.body.metadata.user_id");
  EXPECT_EQ(j["changed"][0]["changes"][0]["from"], "u1");

  EXPECT_EQ(Run({"--ignore-json-path", "metadata.user_id", a, b}), kExitOk) << err_;
  EXPECT_EQ(Run({"--preset", "anthropic", a, b}), kExitOk) << err_;
  EXPECT_EQ(Run({"--preset", "nope", a, b}), kExitUsage);
}

TEST_F(CassetteDiffCliTest, CompareTimingCountsTiming) {
  const std::string a =
      Write("a.jsonl", Of({Plain("hi", Message("Hello")), Streamed("go", {"a", "b"})}));
  const std::string b = Write("b.jsonl", Rerecorded());
  EXPECT_EQ(Run({a, b}), kExitOk) << err_;
  EXPECT_EQ(Run({"--compare-timing", a, b}), kExitProblem) << err_;
}

}  // namespace
}  // namespace td::cli
