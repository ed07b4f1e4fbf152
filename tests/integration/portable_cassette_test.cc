// Portable cassettes, through the real binary: an agent-like client whose system prompt embeds
// its working directory, the slug agent CLIs make of it, HOME, the user, the temp directory and
// today's date records with `tapedeck exec` in one checkout, and replays strictly in another
// checkout, HOME and day. Without the workspace normalisers the same replay misses.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "cassette/codec.h"
#include "tests/integration/tapedeck_process.h"
#include "tests/support/fake_upstream.h"
#include "tests/support/temp_dir.h"

namespace td::testing {
namespace {

namespace fs = std::filesystem;

// The client: two turns of a conversation (the first TURNS), each with the system prompt an
// agent CLI sends (Claude Code's <env> block and memory folder), the date taken from
// FAKE_TODAY. Exits 1 on any answer but 200. Standard library only.
constexpr const char* kClient = R"PY(
import json, os, sys, urllib.error, urllib.request

cwd = os.getcwd()
home = os.environ["HOME"]
user = os.environ["USER"]
tmp = os.environ["TMPDIR"]
slug = "".join(c if c.isascii() and c.isalnum() else "-" for c in cwd)
system = (
    "You are an interactive CLI tool.\n<env>\nWorking directory: " + cwd +
    "\nIs directory a git repo: No\nPlatform: linux\nToday's date: " + os.environ["FAKE_TODAY"] +
    "\n</env>\nYou have a persistent memory in " + home + "/.claude/projects/" + slug +
    "/memory/ (user " + user + "); scratch files go in " + tmp + "/agent.")
base = os.environ["ANTHROPIC_BASE_URL"]
turns = ["List the files.", "Read " + cwd + "/README.md and " + home + "/.gitconfig"]
for turn in turns[:int(os.environ.get("TURNS", "2"))]:
    body = {"model": "claude-sonnet-4-5", "max_tokens": 64, "system": system,
            "messages": [{"role": "user", "content": turn}]}
    request = urllib.request.Request(
        base + "/v1/messages", data=json.dumps(body).encode(),
        headers={"content-type": "application/json", "anthropic-version": "2023-06-01",
                 "x-api-key": os.environ["ANTHROPIC_API_KEY"]})
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            response.read()
    except urllib.error.HTTPError as e:
        print("client: %d %s" % (e.code, e.read().decode()), file=sys.stderr)
        sys.exit(1)
)PY";

// How Claude Code names ~/.claude/projects/<slug> (ASCII paths).
std::string Slug(const std::string& path) {
  std::string slug = path;
  for (char& c : slug) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '-';
  }
  return slug;
}

std::string ShellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool HavePython() { return std::system("command -v python3 >/dev/null 2>&1") == 0; }

// A checkout, a HOME, a user, a temp directory and a day.
struct Machine {
  std::string dir, home, user, tmp, today;
  std::vector<std::string> Env() const {
    return {"HOME=" + home, "USER=" + user, "TMPDIR=" + tmp, "FAKE_TODAY=" + today};
  }
};

class PortableCassetteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!HavePython()) GTEST_SKIP() << "no python3 on PATH";
    const fs::path root = tmp_.path();
    // Different depths and names: the paths differ in length too.
    a_ = {(root / "ci" / "work" / "proj").string(), (root / "home-a").string(), "alice",
          (root / "tmp-a").string(), "2026-12-06"};
    b_ = {(root / "checkout-b").string(), (root / "users" / "home-b").string(), "bobby",
          (root / "tmp-b").string(), "2027-01-15"};
    for (const Machine* m : {&a_, &b_}) {
      for (const std::string& d : {m->dir, m->home, m->tmp}) fs::create_directories(d);
    }
    script_ = tmp_.Path("agent.py");
    std::ofstream(script_) << kClient;
    cassette_ = tmp_.Path("agent.jsonl.zst");
  }

  // Records the two turns with `tapedeck exec --mode record` on machine A.
  void Record() {
    FakeUpstream upstream;
    upstream.SetDefault(FakeResponse::Json(
        R"({"type":"message","role":"assistant","content":[{"type":"text","text":"ok"}]})"));
    TapedeckProcess rec({"exec", "--mode", "record", "--cassette", cassette_, "--upstream",
                         upstream.url(), "--", "python3", script_},
                        a_.Env(), a_.dir);
    int code = -1;
    ASSERT_TRUE(rec.WaitExit(&code));
    ASSERT_EQ(code, 0) << rec.stderr_text();
    ASSERT_EQ(upstream.requests().size(), 2u);
    Result<cassette::Cassette> c = cassette::ReadCassette(cassette_);
    ASSERT_TRUE(c.ok()) << c.status().message();
    ASSERT_EQ(c->interactions.size(), 2u);
    ASSERT_TRUE(c->recorded_by.has_value());
    EXPECT_EQ(c->recorded_by->cwd, a_.dir);
    EXPECT_EQ(c->recorded_by->home, a_.home);
    // What the client sent really names machine A and its day.
    const std::string& body = c->interactions[1].request.body.bytes;
    for (const std::string& part :
         {a_.dir + "/README.md", a_.home + "/.claude/projects/" + Slug(a_.dir) + "/memory/",
          std::string("(user alice)"), a_.tmp + "/agent",
          std::string("Today's date: 2026-12-06")}) {
      EXPECT_NE(body.find(part), std::string::npos) << part << " not in " << body;
    }
  }

  // Runs the client on machine B against `url`; returns its exit status, its stderr in `err`.
  int RunClientOnB(const std::string& url, std::string* err) {
    const std::string err_path = tmp_.Path("client.err");
    std::string command = "cd " + ShellQuote(b_.dir) + " && env";
    for (const std::string& kv : b_.Env()) command += " " + ShellQuote(kv);
    command += " " + ShellQuote("ANTHROPIC_BASE_URL=" + url) +
               " ANTHROPIC_API_KEY=tapedeck-placeholder-key python3 " + ShellQuote(script_) +
               " 2>" + ShellQuote(err_path);
    const int status = std::system(command.c_str());
    *err = ReadFile(err_path);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
  }

  int Stop(TapedeckProcess& process) {
    process.Signal(SIGTERM);
    int code = -1;
    EXPECT_TRUE(process.WaitExit(&code));
    return code;
  }

  ScopedTempDir tmp_;
  Machine a_, b_;
  std::string script_, cassette_;
};

TEST_F(PortableCassetteTest, RecordedInOneCheckoutReplaysInAnotherThroughExec) {
  ASSERT_NO_FATAL_FAILURE(Record());
  // Another checkout, HOME, user, temp directory and day; --strict: a miss or an unused
  // interaction fails the run. agent-cli for the date (exec brings the workspace normalisers).
  TapedeckProcess play({"exec", "--cassette", cassette_, "--strict", "--preset", "agent-cli", "--",
                        "python3", script_},
                       b_.Env(), b_.dir);
  int code = -1;
  ASSERT_TRUE(play.WaitExit(&code));
  EXPECT_EQ(code, 0) << play.stderr_text();
  EXPECT_NE(play.stderr_text().find("workspace normalisers: cwd \"" + a_.dir +
                                    "\" (recorded) and \"" + b_.dir + "\" (live)"),
            std::string::npos)
      << play.stderr_text();
}

TEST_F(PortableCassetteTest, StandaloneReplayBringsThemWithTheAgentCliPresetOnly) {
  ASSERT_NO_FATAL_FAILURE(Record());
  // replay --preset agent-cli, started on machine B: its own directory, HOME... are the live
  // workspace.
  {
    TapedeckProcess play({"replay", "--cassette", cassette_, "--listen", "127.0.0.1:0", "--strict",
                          "--preset", "agent-cli"},
                         b_.Env(), b_.dir);
    ASSERT_TRUE(play.WaitListening());
    std::string err;
    EXPECT_EQ(RunClientOnB(play.url(), &err), 0) << err << play.stderr_text();
    EXPECT_EQ(Stop(play), 0) << play.stderr_text();
  }
  // The same matching spelt out (agent-cli's headers, ignored path and every built-in), but
  // without the preset, so without the workspace normalisers: the slug, HOME, the user and the
  // temp directory still differ, and the client gets a miss.
  std::vector<std::string> args = {"replay",         "--cassette",         cassette_,
                                   "--listen",       "127.0.0.1:0",        "--strict",
                                   "--match-header", "anthropic-version",  "--match-header",
                                   "anthropic-beta", "--ignore-json-path", "metadata.user_id"};
  for (const char* builtin : {"cwd", "git-status", "todays-date", "iso-date", "uuid", "temp-path",
                              "home-path", "os-version"}) {
    args.push_back("--normalize");
    args.push_back(std::string("builtin:") + builtin);
  }
  TapedeckProcess play(args, b_.Env(), b_.dir);
  ASSERT_TRUE(play.WaitListening());
  std::string err;
  EXPECT_EQ(RunClientOnB(play.url(), &err), 1) << err;
  EXPECT_NE(err.find("client: 404"), std::string::npos) << err;
  EXPECT_EQ(Stop(play), 1) << "--strict fails on the miss: " << play.stderr_text();
  EXPECT_NE(play.stderr_text().find("no recorded interaction matches"), std::string::npos)
      << play.stderr_text();
  EXPECT_NE(play.stderr_text().find("home-b"), std::string::npos)
      << "the miss shows where the bodies differ: " << play.stderr_text();
}

TEST_F(PortableCassetteTest, AutoModeHitsAcrossCheckoutsAndPruneKeepsWhereItWasRecorded) {
  ASSERT_NO_FATAL_FAILURE(Record());
  // Auto mode on machine B: the first turn is served from the cassette (no upstream is
  // reachable, so a miss would fail), the second is never asked and --prune drops it.
  std::vector<std::string> env = b_.Env();
  env.push_back("TURNS=1");
  TapedeckProcess play({"exec", "--mode", "auto", "--strict", "--prune", "--preset", "agent-cli",
                        "--no-upstream-check", "--upstream", "http://127.0.0.1:1", "--cassette",
                        cassette_, "--", "python3", script_},
                       env, b_.dir);
  int code = -1;
  ASSERT_TRUE(play.WaitExit(&code));
  EXPECT_EQ(code, 0) << play.stderr_text();
  EXPECT_NE(play.stderr_text().find("result=hit"), std::string::npos) << play.stderr_text();
  Result<cassette::Cassette> c = cassette::ReadCassette(cassette_);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->interactions.size(), 1u) << play.stderr_text();
  // The rewritten file still says where it was recorded, so it still replays elsewhere.
  ASSERT_TRUE(c->recorded_by.has_value());
  EXPECT_EQ(c->recorded_by->cwd, a_.dir);
  EXPECT_EQ(c->recorded_by->home, a_.home);
}

}  // namespace
}  // namespace td::testing
