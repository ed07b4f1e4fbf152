// Normalisation: what two requests must share to match, presets, and the built-in scanners.
#include "replay/normalize.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "replay/internal/builtin_normalizers.h"
#include "replay/matchers.h"

namespace td::replay {
namespace {

using nlohmann::json;

cassette::Request Post(std::string body, cassette::Headers headers = {},
                       std::string path = "/v1/messages") {
  cassette::Request r;
  r.method = "POST";
  r.path = std::move(path);
  r.headers = std::move(headers);
  r.body.bytes = std::move(body);
  return r;
}

NormalizedRequest Norm(const cassette::Request& r, const MatchOptions& options = {}) {
  Result<NormalizedRequest> n = Normalize(r, options);
  EXPECT_TRUE(n.ok()) << n.status().ToString();
  return n.ok() ? std::move(*n) : NormalizedRequest{};
}

MatchOptions Preset(std::string_view name) {
  Result<MatchOptions> options = ApplyPreset(name, MatchOptions{});
  EXPECT_TRUE(options.ok()) << options.status().ToString();
  return options.ok() ? *options : MatchOptions{};
}

// Equal canonical bodies and heads: what the index keys on.
bool SameRequest(const cassette::Request& a, const cassette::Request& b,
                 const MatchOptions& options = {}) {
  NormalizedRequest na = Norm(a, options);
  NormalizedRequest nb = Norm(b, options);
  return na.method == nb.method && na.path == nb.path && na.query == nb.query &&
         na.headers == nb.headers && na.CanonicalBody() == nb.CanonicalBody();
}

TEST(NormalizeTest, JsonKeyOrderAndWhitespaceDoNotMatter) {
  auto a = Post(R"({"model":"m","messages":[{"role":"user","content":"hi"}],"max_tokens":5})");
  auto b = Post(
      "{\n  \"max_tokens\": 5,\n  \"messages\": [ {\"content\": \"hi\", \"role\": "
      "\"user\"} ],\n  \"model\": \"m\"\n}\n");
  EXPECT_TRUE(SameRequest(a, b));
  EXPECT_TRUE(MatchBody(Norm(a), Norm(b)).ok);
  auto c = Post(R"({"model":"m","messages":[{"role":"user","content":"hi!"}],"max_tokens":5})");
  EXPECT_FALSE(SameRequest(a, c));
}

TEST(NormalizeTest, ArrayOrderStillMatters) {
  EXPECT_FALSE(SameRequest(Post(R"({"stop":["a","b"]})"), Post(R"({"stop":["b","a"]})")));
}

TEST(NormalizeTest, IgnoredJsonPathsAreErased) {
  auto a = Post(R"({"model":"m","metadata":{"user_id":"u1"},"tools":[{"name":"x","id":1}]})");
  auto b = Post(R"({"model":"m","metadata":{"user_id":"u2"},"tools":[{"name":"x","id":2}]})");
  EXPECT_FALSE(SameRequest(a, b));
  MatchOptions options;
  options.ignore_json_paths = {"metadata.user_id", "tools.*.id"};
  EXPECT_TRUE(SameRequest(a, b, options));
  NormalizedRequest n = Norm(a, options);
  ASSERT_TRUE(n.body_is_json);
  EXPECT_EQ(n.body_json, json::parse(R"({"model":"m","metadata":{},"tools":[{"name":"x"}]})"));
}

TEST(NormalizeTest, OnlyMatchHeadersMinusIgnoredHeadersAreCompared) {
  MatchOptions options;
  options.match_headers = {"Anthropic-Version", "anthropic-beta"};
  options.ignore_headers = {"ANTHROPIC-BETA"};
  auto r = Post("{}", {{"Anthropic-Version", "2023-06-01"},
                       {"anthropic-beta", "tools-2024"},
                       {"x-api-key", "[REDACTED]"},
                       {"user-agent", "sdk/1.0"}});
  NormalizedRequest n = Norm(r, options);
  ASSERT_EQ(n.headers.size(), 1u);
  EXPECT_EQ(n.headers[0].first, "anthropic-version");
  EXPECT_EQ(n.headers[0].second, "2023-06-01");
  // Headers nobody asked to match never cause a miss.
  auto other = Post("{}", {{"anthropic-version", "2023-06-01"}, {"user-agent", "sdk/2.0"}});
  EXPECT_TRUE(SameRequest(r, other, options));
}

TEST(NormalizeTest, QueryIsSortedAndIgnoredParamsDropped) {
  cassette::Request a = Post("");
  a.method = "GET";
  a.query = {{"limit", "10"}, {"after", "x"}, {"cache_bust", "123"}};
  cassette::Request b = a;
  b.query = {{"after", "x"}, {"cache_bust", "456"}, {"limit", "10"}};
  EXPECT_FALSE(SameRequest(a, b));
  MatchOptions options;
  options.ignore_query_params = {"cache_bust"};
  EXPECT_TRUE(SameRequest(a, b, options));
  NormalizedRequest n = Norm(a, options);
  ASSERT_EQ(n.query.size(), 2u);
  EXPECT_EQ(n.query[0].first, "after");
  EXPECT_EQ(n.query[1].first, "limit");
}

TEST(NormalizeTest, RegexNormalizersRewriteTextBeforeParsing) {
  MatchOptions options;
  options.normalizers = {Normalizer{"req_[0-9]+", "req_N", ""}};
  auto a = Post(R"({"text":"see req_123 and req_9"})");
  auto b = Post(R"({"text":"see req_77 and req_10000"})");
  EXPECT_FALSE(SameRequest(a, b));
  EXPECT_TRUE(SameRequest(a, b, options));
  EXPECT_EQ(Norm(a, options).body_json["text"], "see req_N and req_N");
}

TEST(NormalizeTest, NonJsonBodiesCompareAsNormalisedText) {
  MatchOptions options;
  options.normalizers = {Normalizer{"", "", "uuid"}};
  auto a = Post("id=123e4567-e89b-12d3-a456-426614174000&x=1");
  NormalizedRequest n = Norm(a, options);
  EXPECT_FALSE(n.body_is_json);
  EXPECT_EQ(n.body_text, "id=<UUID>&x=1");
  EXPECT_EQ(n.CanonicalBody(), "tid=<UUID>&x=1");
  // Broken JSON stays text too.
  EXPECT_FALSE(Norm(Post("{\"a\":")).body_is_json);
}

TEST(NormalizeTest, BadOptionsAreErrorsNamingTheRule) {
  MatchOptions bad_regex;
  bad_regex.normalizers = {Normalizer{"([a-z", "x", ""}};
  Result<RequestNormalizer> r = RequestNormalizer::Create(bad_regex);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("([a-z"), std::string::npos) << r.status().message();

  MatchOptions bad_builtin;
  bad_builtin.normalizers = {Normalizer{"", "", "dates"}};
  r = RequestNormalizer::Create(bad_builtin);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("\"dates\""), std::string::npos);
  EXPECT_NE(r.status().message().find("iso-date"), std::string::npos);

  MatchOptions bad_path;
  bad_path.ignore_json_paths = {"metadata..user_id"};
  EXPECT_FALSE(RequestNormalizer::Create(bad_path).ok());
}

TEST(NormalizeTest, ParsesNormalizeFlags) {
  Result<Normalizer> n = ParseNormalizer("req_[0-9]+=>req_N");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->pattern, "req_[0-9]+");
  EXPECT_EQ(n->replacement, "req_N");
  n = ParseNormalizer("[0-9]{4}");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->replacement, "<NORMALIZED>");
  n = ParseNormalizer("builtin:uuid");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->builtin, "uuid");
  EXPECT_FALSE(ParseNormalizer("builtin:nope").ok());
  EXPECT_FALSE(ParseNormalizer("=>x").ok());
}

TEST(PresetTest, UnknownPresetListsTheKnownOnes) {
  Result<MatchOptions> r = ApplyPreset("claude", MatchOptions{});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  for (const char* name : {"\"claude\"", "anthropic", "openai", "agent-cli"}) {
    EXPECT_NE(r.status().message().find(name), std::string::npos) << r.status().message();
  }
}

TEST(PresetTest, PresetsAddToExistingOptionsWithoutDuplicates) {
  MatchOptions options;
  options.ignore_json_paths = {"metadata.user_id", "x"};
  Result<MatchOptions> r = ApplyPreset("anthropic", options);
  ASSERT_TRUE(r.ok());
  r = ApplyPreset("anthropic", *r);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->ignore_json_paths, (std::vector<std::string>{"metadata.user_id", "x"}));
  EXPECT_EQ(r->match_headers, (std::vector<std::string>{"anthropic-version", "anthropic-beta"}));
}

TEST(PresetTest, AnthropicIgnoresUserIdAndMatchesVersionAndBetaHeaders) {
  MatchOptions options = Preset("anthropic");
  auto body = [](std::string_view user) {
    return R"({"model":"claude-sonnet-4-5","max_tokens":1024,"metadata":{"user_id":")" +
           std::string(user) + R"("},"messages":[{"role":"user","content":"Hello"}]})";
  };
  cassette::Headers headers = {{"anthropic-version", "2023-06-01"},
                               {"anthropic-beta", "prompt-caching-2024-07-31"},
                               {"x-api-key", "[REDACTED]"}};
  auto a = Post(body("user_1"), headers);
  auto b = Post(body("user_2"), headers);
  EXPECT_TRUE(SameRequest(a, b, options));
  cassette::Headers other_beta = headers;
  other_beta[1].second = "computer-use-2024-10-22";
  EXPECT_FALSE(SameRequest(a, Post(body("user_1"), other_beta), options));
  cassette::Headers no_beta = {headers[0], headers[2]};
  EXPECT_FALSE(SameRequest(a, Post(body("user_1"), no_beta), options));
}

TEST(PresetTest, OpenAIIgnoresEndUserFields) {
  MatchOptions options = Preset("openai");
  auto body = [](std::string_view user) {
    return R"({"model":"gpt-4o","user":")" + std::string(user) +
           R"(","messages":[{"role":"user","content":"Hello"}],"stream":true})";
  };
  auto a = Post(body("alice"), {{"authorization", "[REDACTED]"}}, "/v1/chat/completions");
  auto b = Post(body("bob"), {{"authorization", "[REDACTED]"}, {"openai-beta", "x"}},
                "/v1/chat/completions");
  EXPECT_FALSE(SameRequest(a, b));
  EXPECT_TRUE(SameRequest(a, b, options));
  EXPECT_TRUE(options.match_headers.empty());
}

// What Claude Code sends each turn, shaped after a real request: the environment block with
// working directory, platform, OS version and date, a git status snapshot, a session id in
// metadata, paths in the conversation.
json AgentRequest(std::string_view cwd, std::string_view date, std::string_view os,
                  std::string_view branch, std::string_view session, std::string_view tmp,
                  std::string_view user_text) {
  std::string env =
      "You are an interactive CLI tool that helps users with software engineering tasks.\n\n"
      "Here is useful information about the environment you are running in:\n<env>\n"
      "Working directory: " +
      std::string(cwd) +
      "\nIs directory a git repo: Yes\n"
      "Platform: linux\nOS Version: " +
      std::string(os) + "\nToday's date: " + std::string(date) +
      "\n</env>\nYou are powered by the model named Sonnet 4.5.";
  std::string git =
      "gitStatus: This is the git status at the start of the conversation. Note that this "
      "status is a snapshot in time, and will not update during the conversation.\n"
      "Current branch: " +
      std::string(branch) +
      "\n\nMain branch (you will usually use this "
      "for PRs): main\n\nStatus:\nM src/main.cc\n?? notes.txt\n\nRecent commits:\n"
      "3f2a1bc Fix the parser\n9e8d7c6 Add tests";
  return json{
      {"model", "claude-sonnet-4-5-20250929"},
      {"max_tokens", 32000},
      {"stream", true},
      {"system",
       json::array({json{{"type", "text"},
                         {"text", "You are Claude Code, Anthropic's official CLI for Claude."},
                         {"cache_control", {{"type", "ephemeral"}}}},
                    json{{"type", "text"}, {"text", env}}, json{{"type", "text"}, {"text", git}}})},
      {"messages",
       json::array(
           {json{{"role", "user"},
                 {"content",
                  json::array({json{{"type", "text"},
                                    {"text",
                                     "<system-reminder>As you answer the user's "
                                     "questions, you can use the following "
                                     "context. Today's date is " +
                                         std::string(date) + ".</system-reminder>"}},
                               json{{"type", "text"},
                                    {"text", std::string(user_text) + " See " + std::string(cwd) +
                                                 "/src/main.cc and the log in " + std::string(tmp) +
                                                 "/build.log"}}})}}})},
      {"tools", json::array({json{{"name", "Bash"},
                                  {"description", "Run a command in " + std::string(cwd)},
                                  {"input_schema", {{"type", "object"}}}}})},
      {"metadata", {{"user_id", "user_4f1c9a_account__session_" + std::string(session)}}},
  };
}

cassette::Headers ClaudeCodeHeaders(std::string_view session) {
  return {{"anthropic-version", "2023-06-01"},
          {"anthropic-beta", "claude-code-20250219,interleaved-thinking-2025-05-14"},
          {"x-api-key", "[REDACTED]"},
          {"x-claude-code-session-id", std::string(session)},
          {"user-agent", "claude-cli/2.0.14 (external, cli)"}};
}

TEST(PresetTest, AgentCliMatchesPromptsDifferingOnlyInMachineAndDay) {
  MatchOptions options = Preset("agent-cli");
  auto recorded = Post(AgentRequest("/home/alice/src/widget", "2026-11-21", "Linux 6.1.0-18-amd64",
                                    "feature/x", "0b7e6c1e-8d5a-4c7e-9f3a-2b1d4e5f6a7b",
                                    "/tmp/tmp.Q2x9Lp", "Fix the failing test.")
                           .dump(),
                       ClaudeCodeHeaders("0b7e6c1e-8d5a-4c7e-9f3a-2b1d4e5f6a7b"));
  auto live =
      Post(AgentRequest("/home/runner/work/widget/widget", "2026-12-02", "Linux 6.5.0-1025-azure",
                        "main", "a1b2c3d4-e5f6-4789-abcd-ef0123456789", "/tmp/tmp.zz81Ka",
                        "Fix the failing test.")
               .dump(2),  // pretty-printed: whitespace must not matter either
           ClaudeCodeHeaders("a1b2c3d4-e5f6-4789-abcd-ef0123456789"));
  EXPECT_FALSE(SameRequest(recorded, live, Preset("anthropic")));
  EXPECT_TRUE(SameRequest(recorded, live, options))
      << MatchBody(Norm(live, options), Norm(recorded, options)).diffs[0];

  // macOS temp dirs and home directories normalise too.
  auto mac =
      Post(AgentRequest("/Users/bob/code/widget", "November 30, 2026", "Darwin 24.1.0", "main",
                        "a1b2c3d4-e5f6-4789-abcd-ef0123456789",
                        "/var/folders/8x/k2j3h4g5f6d7s8a9/T/tmp.abc123", "Fix the failing test.")
               .dump(),
           ClaudeCodeHeaders("a1b2c3d4-e5f6-4789-abcd-ef0123456789"));
  EXPECT_TRUE(SameRequest(recorded, mac, options))
      << MatchBody(Norm(mac, options), Norm(recorded, options)).diffs[0];
}

TEST(PresetTest, AgentCliStillTellsDifferentTurnsApart) {
  MatchOptions options = Preset("agent-cli");
  auto a =
      Post(AgentRequest("/home/alice/p", "2026-11-21", "Linux 6.1", "main",
                        "0b7e6c1e-8d5a-4c7e-9f3a-2b1d4e5f6a7b", "/tmp/a", "Fix the failing test.")
               .dump(),
           ClaudeCodeHeaders("s"));
  auto b = Post(AgentRequest("/home/alice/p", "2026-11-21", "Linux 6.1", "main",
                             "0b7e6c1e-8d5a-4c7e-9f3a-2b1d4e5f6a7b", "/tmp/a", "Now add a test.")
                    .dump(),
                ClaudeCodeHeaders("s"));
  EXPECT_FALSE(SameRequest(a, b, options));
  MatchResult diff = MatchBody(Norm(b, options), Norm(a, options));
  ASSERT_FALSE(diff.ok);
  EXPECT_EQ(diff.diffs.size(), 1u);
  EXPECT_EQ(diff.diffs[0].rfind("body.messages[0].content[1].text: ", 0), 0u) << diff.diffs[0];
}

// --- built-in scanners, on raw JSON text (newlines inside strings are `\n`) ---

std::string Apply(internal::BuiltinFn fn, std::string text) {
  std::string once = text;
  fn(&once);
  std::string twice = once;
  EXPECT_FALSE(fn(&twice)) << "not idempotent on: " << once;
  EXPECT_EQ(twice, once);
  return once;
}

TEST(BuiltinNormalizerTest, WorkingDirectoryReplacesTheDirectoryEverywhere) {
  EXPECT_EQ(Apply(&internal::NormalizeWorkingDirectory,
                  R"({"a":"<env>\nWorking directory: /home/al/p\nPlatform: linux",)"
                  R"("b":"cat /home/al/p/x.c; ls /home/al/q"})"),
            R"({"a":"<env>\nWorking directory: <CWD>\nPlatform: linux",)"
            R"("b":"cat <CWD>/x.c; ls /home/al/q"})");
  // "Primary working directory: " (newer CLIs), and Windows paths spelt with "\\" in JSON.
  EXPECT_EQ(Apply(&internal::NormalizeWorkingDirectory,
                  R"("Primary working directory: C:\\Users\\al\\p\n","C:\\Users\\al\\p\\a")"),
            R"("Primary working directory: <CWD>\n","<CWD>\\a")");
  std::string none = R"({"text":"my working directory: is unknown"})";
  EXPECT_FALSE(internal::NormalizeWorkingDirectory(&none));
}

TEST(BuiltinNormalizerTest, GitStatusRunsToTheEndOfItsString) {
  EXPECT_EQ(Apply(&internal::NormalizeGitStatus,
                  R"([{"text":"gitStatus: This is the git status.\nCurrent branch: x\n\"q\"\n)"
                  R"(Status:\nM a"},{"text":"next"}])"),
            R"([{"text":"gitStatus: <GIT-STATUS>"},{"text":"next"}])");
}

TEST(BuiltinNormalizerTest, TodaysDateInCommonForms) {
  EXPECT_EQ(Apply(&internal::NormalizeTodaysDate, R"("Today's date is 2026-11-21.")"),
            R"("Today's date is <DATE>.")");
  EXPECT_EQ(Apply(&internal::NormalizeTodaysDate, R"("Today's date: 2026-11-21\n</env>")"),
            R"("Today's date: <DATE>\n</env>")");
  EXPECT_EQ(
      Apply(&internal::NormalizeTodaysDate, R"("today's date is Friday, November 21, 2026. Go")"),
      R"("today's date is <DATE>. Go")");
  EXPECT_EQ(Apply(&internal::NormalizeTodaysDate, R"("Today is 21.11.2026")"),
            R"("Today is <DATE>")");
  // Without a digit it is not a date.
  EXPECT_EQ(Apply(&internal::NormalizeTodaysDate, R"("Today is a good day.")"),
            R"("Today is a good day.")");
}

TEST(BuiltinNormalizerTest, IsoDatesAndTimestamps) {
  EXPECT_EQ(Apply(&internal::NormalizeIsoDates,
                  "on 2026-11-21, at 2026-11-21T08:32:33.123Z and 2026-01-02 09:10:11+01:00 or "
                  "2026-11-21T08:32"),
            "on <DATE>, at <TIMESTAMP> and <TIMESTAMP> or <TIMESTAMP>");
  // Inside a tag (Codex's environment context).
  EXPECT_EQ(Apply(&internal::NormalizeIsoDates, "<current_date>2026-12-06</current_date>"),
            "<current_date><DATE></current_date>");
  // Not dates: impossible months, longer numbers, version-like strings.
  for (std::string text : {"2026-13-01", "12026-11-21", "2026-11-211", "v1.2026-11-21-3"}) {
    EXPECT_EQ(Apply(&internal::NormalizeIsoDates, text), text);
  }
}

TEST(BuiltinNormalizerTest, Uuids) {
  EXPECT_EQ(Apply(&internal::NormalizeUuids,
                  "session_0b7e6c1e-8d5a-4c7e-9f3a-2b1d4e5f6a7b/A1B2C3D4-E5F6-4789-ABCD-"
                  "EF0123456789"),
            "session_<UUID>/<UUID>");
  std::string not_uuid = "x0b7e6c1e-8d5a-4c7e-9f3a-2b1d4e5f6a7b 0b7e6c1e-8d5a-4c7e-9f3a-2b1d4e5f6a";
  EXPECT_EQ(Apply(&internal::NormalizeUuids, not_uuid), not_uuid);
}

TEST(BuiltinNormalizerTest, TempPaths) {
  EXPECT_EQ(Apply(&internal::NormalizeTempPaths,
                  R"(["/tmp/tmp.Q2x9Lp/build.log","/var/folders/8x/k2j3/T/tmp.abc/x",)"
                  R"("/private/var/folders/8x/k2j3/T/","cd /tmp/y"])"),
            R"(["<TMP>/build.log","<TMP>/x","<TMP>/","cd <TMP>"])");
  std::string untouched = R"(["/data/tmp/x","/tmp/","tmp/x"])";
  EXPECT_EQ(Apply(&internal::NormalizeTempPaths, untouched), untouched);
  // At the start of a line inside a JSON string (after the escape `\n`).
  EXPECT_EQ(Apply(&internal::NormalizeTempPaths, R"("ls\n/tmp/tmp.Q2/x\\n/tmp/y")"),
            R"("ls\n<TMP>/x\\n/tmp/y")");
  // Below the workspace normaliser's temp directory, which runs first: one component, as below
  // /tmp.
  EXPECT_EQ(Apply(&internal::NormalizeTempPaths, R"(["<TMPDIR>/tmp.Q2/x","<TMPDIR>","<TMPDIR>/"])"),
            R"(["<TMP>/x","<TMPDIR>","<TMPDIR>/"])");
}

TEST(BuiltinNormalizerTest, HomePaths) {
  EXPECT_EQ(Apply(&internal::NormalizeHomePaths, R"("/home/alice/src and /Users/bob, ~/x")"),
            R"("/home/<USER>/src and /Users/<USER>, ~/x")");
  EXPECT_EQ(Apply(&internal::NormalizeHomePaths, R"("a\n/home/alice/x")"),
            R"("a\n/home/<USER>/x")");
  std::string untouched = R"("/srv/home/alice /home/")";
  EXPECT_EQ(Apply(&internal::NormalizeHomePaths, untouched), untouched);
}

TEST(BuiltinNormalizerTest, OsVersionAndPlatform) {
  EXPECT_EQ(Apply(&internal::NormalizeOsVersion,
                  R"("Platform: darwin\nOS Version: Darwin 24.1.0\nToday")"),
            R"("Platform: <PLATFORM>\nOS Version: <OS>\nToday")");
}

TEST(BuiltinNormalizerTest, LinearOnLargeBodies) {
  // A 4 MB body with many candidates: must finish quickly and never recurse.
  std::string big;
  for (int i = 0; i < 40000; ++i) big += "2026-11-21 /tmp/x 0b7e6c1e-8d5a-4c7e-9f3a-2b1d4e5f6a7b ";
  for (const auto& b : internal::Builtins()) {
    std::string text = big;
    b.fn(&text);
  }
  std::string text = big;
  internal::NormalizeIsoDates(&text);
  internal::NormalizeUuids(&text);
  internal::NormalizeTempPaths(&text);
  EXPECT_EQ(text.substr(0, 23), "<DATE> <TMP> <UUID> <DA");
}

}  // namespace
}  // namespace td::replay
