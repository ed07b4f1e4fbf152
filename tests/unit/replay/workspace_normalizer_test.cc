// The workspace normalisers: a cassette recorded in one checkout, HOME and user replays in
// another; what is replaced (longest first, slugs, whole words), what is skipped and why, and
// that a real difference still misses with an explanation.
#include "replay/internal/workspace_normalizer.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "replay/index.h"
#include "replay/miss_report.h"
#include "replay/normalize.h"

namespace td::replay {
namespace {

using internal::AgentSlug;
using internal::WorkspaceNormalizer;
using nlohmann::json;

Workspace Alice() { return {"/home/alice/src/widget", "/home/alice", "alice", "/tmp"}; }
Workspace Runner() {
  return {"/home/runner/work/widget/widget", "/home/runner", "runner", "/var/folders/8x/k2/T/"};
}

// Rewrites `text` once, checks a second rewrite changes nothing, returns the first.
std::string Apply(const WorkspaceNormalizer& n, std::string text) {
  n.Apply(&text);
  std::string again = text;
  EXPECT_FALSE(n.Apply(&again)) << "not idempotent on: " << text << "\nsecond: " << again;
  return text;
}

TEST(AgentSlugTest, EveryCharacterButAsciiLettersAndDigitsIsADash) {
  EXPECT_EQ(AgentSlug("/home/u/proj"), "-home-u-proj");
  EXPECT_EQ(AgentSlug("/Users/me/.agents/my_proj v2"), "-Users-me--agents-my-proj-v2");
  EXPECT_EQ(AgentSlug("C:\\Users\\al\\p"), "C--Users-al-p");
  // One dash per UTF-16 code unit, as JavaScript's replace counts: "é" (2 bytes) and "あ"
  // (3 bytes) one each, an emoji (4 bytes, a surrogate pair) two, a stray byte one.
  EXPECT_EQ(AgentSlug("/x/\xC3\xA9\xE3\x81\x82\xF0\x9F\x98\x80\xFF"), "-x------");
}

TEST(WorkspaceNormalizerTest, ReplacesBothSidesValuesLongestFirst) {
  std::vector<std::string> notes;
  WorkspaceNormalizer n = WorkspaceNormalizer::Create(Alice(), Runner(), &notes);
  // The working directory lives under HOME: <CWD> wins there, <HOME> elsewhere.
  EXPECT_EQ(Apply(n, R"({"a":"cd /home/alice/src/widget/lib && cat /home/alice/.bashrc"})"),
            R"({"a":"cd <CWD>/lib && cat <HOME>/.bashrc"})");
  EXPECT_EQ(Apply(n, R"({"a":"/home/runner/work/widget/widget: ok; ~ is /home/runner."})"),
            R"({"a":"<CWD>: ok; ~ is <HOME>."})");
  // A temp dir with its trailing slash, written with or without it.
  EXPECT_EQ(Apply(n, R"(["/var/folders/8x/k2/T/tmp.1/x","/var/folders/8x/k2/T","/tmp/y"])"),
            R"(["<TMPDIR>/tmp.1/x","<TMPDIR>","<TMPDIR>/y"])");
  ASSERT_EQ(notes.size(), 4u);
  EXPECT_EQ(notes[0],
            R"(cwd "/home/alice/src/widget" (recorded) and "/home/runner/work/widget/widget" )"
            R"((live) -> <CWD>, their slugs -> <CWD-SLUG>)");
  EXPECT_EQ(notes[3], R"(user "alice" (recorded) and "runner" (live) -> <USER>)");
}

TEST(WorkspaceNormalizerTest, PathsOnlyWholeOrAsAPrefix) {
  WorkspaceNormalizer n = WorkspaceNormalizer::Create(Alice(), Runner(), nullptr);
  // Not a longer directory, not under another root, not a file with a suffix: there only the
  // shorter HOME (or the user name, a word of its own) is replaced.
  EXPECT_EQ(Apply(n, R"(["/home/alice2/x","/data/home/alice/x","/home/alice/src/widget.git"])"),
            R"(["/home/alice2/x","/data/home/<USER>/x","<HOME>/src/widget.git"])");
  // After a JSON escape (a path at the start of a line), a URL scheme, a space; before an
  // escape, a quote, a colon.
  EXPECT_EQ(Apply(n, R"("ls\n/home/alice/src/widget\nfile:///home/alice/a.md:3 /home/alice")"),
            R"("ls\n<CWD>\nfile://<HOME>/a.md:3 <HOME>")");
  // Inside a tag named like a placeholder (Codex's environment context).
  EXPECT_EQ(Apply(n, R"("<cwd>/home/alice/src/widget</cwd>")"), R"("<cwd><CWD></cwd>")");
  // Spelt with escaped slashes ("\/", PHP's json_encode).
  EXPECT_EQ(Apply(n, R"({"p":"\/home\/alice\/src\/widget\/x"})"), R"({"p":"<CWD>\/x"})");
}

TEST(WorkspaceNormalizerTest, SlugsAsAgentClisDeriveThem) {
  WorkspaceNormalizer n = WorkspaceNormalizer::Create(Alice(), Runner(), nullptr);
  EXPECT_EQ(Apply(n, R"("<HOME>/.claude/projects/-home-alice-src-widget/memory/")"),
            R"("<HOME>/.claude/projects/<CWD-SLUG>/memory/")");
  EXPECT_EQ(Apply(n, R"("/home/runner/.claude/projects/-home-runner-work-widget-widget/m")"),
            R"("<HOME>/.claude/projects/<CWD-SLUG>/m")");
  // Only whole: a sibling checkout's slug, or one with a prefix, is not the working
  // directory's (the user name in it is a word of its own).
  EXPECT_EQ(Apply(n, R"(["projects/-home-alice-src-widget-2/","x-home-alice-src-widget"])"),
            R"(["projects/-home-<USER>-src-widget-2/","x-home-<USER>-src-widget"])");
  EXPECT_EQ(Apply(n, R"("projects/-home-alice/")"), R"("projects/<HOME-SLUG>/")");
}

TEST(WorkspaceNormalizerTest, LongSlugsAreCutAndHashedLikeClaudeCode) {
  const std::string deep = "/srv/" + std::string(250, 'd');
  Workspace recorded = Alice();
  recorded.cwd = deep;
  WorkspaceNormalizer n = WorkspaceNormalizer::Create(recorded, Runner(), nullptr);
  const std::string cut = AgentSlug(deep).substr(0, internal::kAgentSlugCut);
  EXPECT_EQ(Apply(n, "\"projects/" + cut + "-on930v/memory\""), R"("projects/<CWD-SLUG>/memory")");
  EXPECT_EQ(Apply(n, "\"projects/" + AgentSlug(deep) + "/\""), R"("projects/<CWD-SLUG>/")");
  const std::string no_hash = "\"projects/" + cut + "/\"";
  EXPECT_EQ(Apply(n, no_hash), no_hash);
}

TEST(WorkspaceNormalizerTest, UserNameOnlyAsAWholeWord) {
  WorkspaceNormalizer n = WorkspaceNormalizer::Create(Alice(), Runner(), nullptr);
  EXPECT_EQ(Apply(n, R"("alice@host, by alice\nrunner-7 /srv/runner/x")"),
            R"("<USER>@host, by <USER>\n<USER>-7 /srv/<USER>/x")");
  for (std::string text : {R"("malice aliced alice_b runners")", R"("\u00e9alice")"}) {
    EXPECT_EQ(Apply(n, text), text);
  }
}

TEST(WorkspaceNormalizerTest, JsonEscapedSpellingsOfOddValues) {
  Workspace recorded = {"/home/al\"x/p\xC3\xA9", "/home/al\"x", "jos\xC3\xA9", "/tmp"};
  Workspace live = {"/w/p", "/h/u", "bob", "/tmp"};
  WorkspaceNormalizer n = WorkspaceNormalizer::Create(recorded, live, nullptr);
  // A quote inside a JSON string is escaped; Python's json.dumps writes é as \u00e9.
  EXPECT_EQ(Apply(n, R"(["/home/al\"x/p\u00e9/a","/home/al\"x/pé","josé","jos\u00e9"])"),
            R"(["<CWD>/a","<CWD>","<USER>","<USER>"])");
}

TEST(WorkspaceNormalizerTest, UnknownShortOrOddValuesAreSkippedWithAReason) {
  Workspace recorded = {"/", "/home/al", "al", ""};
  Workspace live = {"relative/dir", "/home/bob", "bob", "/tmp"};
  std::vector<std::string> notes;
  WorkspaceNormalizer n = WorkspaceNormalizer::Create(recorded, live, &notes);
  EXPECT_EQ(notes, (std::vector<std::string>{
                       R"(cwd skipped: recorded "/" is too short (under 3 characters), live )"
                       R"("relative/dir" is not an absolute path)",
                       R"(home "/home/al" (recorded) and "/home/bob" (live) -> <HOME>, their )"
                       R"(slugs -> <HOME-SLUG>)",
                       "tmp skipped: recorded not known",
                       R"(user skipped: recorded "al" is too short (under 3 characters))",
                   }));
  // Only home is replaced: a part one side does not know stays as it is on both sides.
  EXPECT_EQ(Apply(n, R"("/ /tmp al bob /home/al/x")"), R"("/ /tmp al bob <HOME>/x")");

  WorkspaceNormalizer none = WorkspaceNormalizer::Create(Workspace{}, Alice(), &notes);
  EXPECT_TRUE(none.empty());
}

TEST(WorkspaceNormalizerTest, LinearOnLargeBodies) {
  WorkspaceNormalizer n = WorkspaceNormalizer::Create(Alice(), Runner(), nullptr);
  std::string big;
  for (int i = 0; i < 40000; ++i) big += "/home/alice/src/widget/a alice -home-alice /tmp/q aaaa ";
  EXPECT_TRUE(n.Apply(&big));
  EXPECT_EQ(big.substr(0, 42), "<CWD>/a <USER> <HOME-SLUG> <TMPDIR>/q aaaa");
}

// --- through MatchOptions: what the index compares ---

// An agent's turn: its environment block, its memory folder and a file path in the
// conversation, all under the workspace.
cassette::Request Turn(const Workspace& w, const std::string& question) {
  std::string tmp = w.tmp;
  if (tmp.back() == '/') tmp.pop_back();
  const std::string system = "You are an agent.\n<env>\nWorking directory: " + w.cwd +
                             "\nPlatform: linux\n</env>\nYour memory is in " + w.home +
                             "/.claude/projects/" + AgentSlug(w.cwd) + "/memory/ (user " + w.user +
                             ", scratch space " + tmp + "/agent).";
  json body = {
      {"model", "claude-sonnet-4-5"},
      {"system", system},
      {"messages",
       json::array({{{"role", "user"}, {"content", question + " See " + w.cwd + "/main.cc"}}})}};
  cassette::Request r;
  r.method = "POST";
  r.path = "/v1/messages";
  r.body.bytes = body.dump();
  return r;
}

MatchOptions Between(const Workspace& recorded, const Workspace& live) {
  MatchOptions options;
  options.recorded_workspace = recorded;
  options.live_workspace = live;
  return options;
}

Index Recorded(const cassette::Request& request, MatchOptions options) {
  Result<Index> index = Index::Create(std::move(options), OnExhausted::kRepeatLast);
  EXPECT_TRUE(index.ok()) << index.status().ToString();
  index->Add(request);
  return std::move(*index);
}

TEST(WorkspaceMatchTest, ARequestDifferingOnlyInWorkspaceHits) {
  cassette::Request recorded = Turn(Alice(), "Fix the test.");
  cassette::Request live = Turn(Runner(), "Fix the test.");
  Index without = Recorded(recorded, MatchOptions{});
  EXPECT_NE(without.Key(live), without.Key(recorded));
  Index index = Recorded(recorded, Between(Alice(), Runner()));
  EXPECT_EQ(index.Key(live), index.Key(recorded));
  EXPECT_EQ(index.Next(index.Key(live)).kind, Index::Lookup::Kind::kHit);
  // Only when both sides are known.
  Index one_side = Recorded(recorded, Between(Workspace{}, Runner()));
  EXPECT_NE(one_side.Key(live), one_side.Key(recorded));
}

TEST(WorkspaceMatchTest, WithTheAgentCliPresetToo) {
  Result<MatchOptions> options = ApplyPreset("agent-cli", Between(Alice(), Runner()));
  ASSERT_TRUE(options.ok());
  Index index = Recorded(Turn(Alice(), "Fix the test."), *options);
  EXPECT_EQ(index.Key(Turn(Runner(), "Fix the test.")), index.Key(Turn(Alice(), "Fix the test.")));
  // Without the workspace normalisers the built-ins alone leave the slug apart.
  Result<MatchOptions> plain = ApplyPreset("agent-cli", MatchOptions{});
  ASSERT_TRUE(plain.ok());
  Index builtins_only = Recorded(Turn(Alice(), "Fix the test."), *plain);
  EXPECT_NE(builtins_only.Key(Turn(Runner(), "Fix the test.")),
            builtins_only.Key(Turn(Alice(), "Fix the test.")));
}

TEST(WorkspaceMatchTest, ARealDifferenceStillMissesAndTheReportShowsItNormalised) {
  Index index = Recorded(Turn(Alice(), "Fix the test."), Between(Alice(), Runner()));
  cassette::Request live = Turn(Runner(), "Fix the build.");
  EXPECT_NE(index.Key(live), index.Key(Turn(Alice(), "Fix the test.")));
  MissReport report = ExplainMiss(live, index);
  ASSERT_TRUE(report.nearest.has_value());
  EXPECT_EQ(report.failed, (std::vector<std::string>{"body"}));
  // One difference, the question; the paths around it are placeholders on both sides.
  ASSERT_EQ(report.diffs.size(), 1u) << report.Message();
  EXPECT_EQ(report.diffs[0], R"(body.messages[0].content: "Fix the build. See <CWD>/main.cc" != )"
                             R"("Fix the test. See <CWD>/main.cc")");
}

}  // namespace
}  // namespace td::replay
