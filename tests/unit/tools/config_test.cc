#include "tools/config.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "replay/normalize.h"
#include "tests/support/log_capture.h"
#include "tools/cli.h"
#include "tools/manual.h"

namespace td::cli {
namespace {

std::string WriteTemp(const std::string& name, const std::string& text) {
  std::string path = ::testing::TempDir() + name;
  std::ofstream(path) << text;
  return path;
}

TEST(ConfigTest, DefaultsApplyWhenNothingIsGiven) {
  Result<Config> c = Config::Parse(kReplay, {"--cassette", "t.zst"}, {});
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->Get("timing"), "recorded");
  EXPECT_EQ(c->Get("chunking"), "event");
  EXPECT_EQ(c->Get("listen"), "127.0.0.1:8765");
  EXPECT_FALSE(c->GetBool("strict"));
  EXPECT_FALSE(c->IsSet("timing"));
}

TEST(ConfigTest, FlagsBeatEnvWhichBeatsConfigFile) {
  std::string file = WriteTemp("precedence.json", R"({"timing":"4","chunking":"byte","strict":true,
                                       "ignore_json_path":["a.b","c"]})");
  std::vector<std::string> env = {"TAPEDECK_CHUNKING=recorded", "TAPEDECK_CONFIG=" + file,
                                  "TAPEDECK_IGNORE_JSON_PATH=[\"x\",\"y\"]"};
  Result<Config> c = Config::Parse(kReplay, {"--chunking", "random:7"}, env);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->Get("timing"), "4");           // file
  EXPECT_TRUE(c->GetBool("strict"));          // file
  EXPECT_EQ(c->Get("chunking"), "random:7");  // flag beats env and file
  EXPECT_EQ(c->GetAll("ignore-json-path"), (std::vector<std::string>{"x", "y"}));  // env
  std::string d = c->Describe();
  EXPECT_NE(d.find("chunking = random:7  [flag]\n"), std::string::npos) << d;
  EXPECT_NE(d.find("timing = 4  [file: " + file + "]\n"), std::string::npos) << d;
  EXPECT_NE(d.find("ignore-json-path = [\"x\",\"y\"]  [env: TAPEDECK_IGNORE_JSON_PATH]\n"),
            std::string::npos)
      << d;
  EXPECT_NE(d.find("config = " + file + "  [env: TAPEDECK_CONFIG]\n"), std::string::npos) << d;
}

TEST(ConfigTest, RepeatableFlagsCollectEveryValue) {
  Result<Config> c = Config::Parse(
      kReplay, {"--ignore-header", "user-agent", "--ignore-header=x-stainless-os"}, {});
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->GetAll("ignore-header"), (std::vector<std::string>{"user-agent", "x-stainless-os"}));
}

TEST(ConfigTest, UnknownOrMisplacedFlagsAreUsageErrors) {
  Result<Config> unknown = Config::Parse(kReplay, {"--timming", "instant"}, {});
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(unknown.status().message().find("--timming"), std::string::npos);

  Result<Config> misplaced = Config::Parse(kRecord, {"--timing", "instant"}, {});
  ASSERT_FALSE(misplaced.ok());
  EXPECT_NE(misplaced.status().message().find("does not apply"), std::string::npos);

  Result<Config> missing = Config::Parse(kReplay, {"--cassette"}, {});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("needs a value"), std::string::npos);
}

TEST(ConfigTest, BadConfigFilesNameTheKey) {
  std::string typo = WriteTemp("typo.json", R"({"timming":"instant"})");
  Result<Config> c = Config::Parse(kReplay, {"--config", typo}, {});
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("key \"timming\" is not a tapedeck setting"),
            std::string::npos)
      << c.status().message();
  std::string broken = WriteTemp("broken.json", "{not json");
  EXPECT_FALSE(Config::Parse(kReplay, {"--config", broken}, {}).ok());
  EXPECT_FALSE(Config::Parse(kReplay, {"--config", "/nonexistent/t.json"}, {}).ok());
  std::string wrong_type = WriteTemp("wrongtype.json", R"({"strict":"yes"})");
  EXPECT_FALSE(Config::Parse(kReplay, {"--config", wrong_type}, {}).ok());
}

TEST(ConfigTest, ExecStopsAtTheDoubleDash) {
  Result<Config> c =
      Config::Parse(kExec, {"--cassette", "t.zst", "--", "node", "app.js", "--timing", "x"}, {});
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->positional(), (std::vector<std::string>{"node", "app.js", "--timing", "x"}));
  EXPECT_EQ(c->Get("timing"), "recorded");
}

TEST(ConfigTest, ParsesListenAddresses) {
  Result<HostPort> a = ParseHostPort("127.0.0.1:0");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 0);
  Result<HostPort> b = ParseHostPort("[::1]:8080");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->host, "::1");
  EXPECT_EQ(b->port, 8080);
  Result<HostPort> c = ParseHostPort("9000");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->port, 9000);
  EXPECT_FALSE(ParseHostPort("localhost:http").ok());
  EXPECT_FALSE(ParseHostPort("127.0.0.1:70000").ok());
  EXPECT_FALSE(ParseHostPort("::1:80").ok());
}

TEST(ConfigTest, ParsesSeconds) {
  Result<std::int64_t> s = ParseSeconds("grace-period", "2.5");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(*s, 2500000);
  EXPECT_FALSE(ParseSeconds("grace-period", "-1").ok());
  EXPECT_FALSE(ParseSeconds("grace-period", "soon").ok());
}

TEST(CliTest, UnknownCommandIsAUsageError) {
  EXPECT_EQ(Main({"recrod"}, {}), 2);
  EXPECT_EQ(Main({}, {}), 2);
  EXPECT_EQ(Main({"--version"}, {}), 0);
  EXPECT_NE(HelpText("replay").find("--chunking"), std::string::npos);
  EXPECT_EQ(HelpText("record").find("--chunking"), std::string::npos);
}

}  // namespace
}  // namespace td::cli

namespace td::cli {
namespace {

TEST(ConfigTest, ByteSizesTakeBinarySuffixes) {
  EXPECT_EQ(*ParseByteSize("max-body-bytes", "1048576"), 1048576u);
  EXPECT_EQ(*ParseByteSize("max-body-bytes", "64KiB"), 65536u);
  EXPECT_EQ(*ParseByteSize("max-body-bytes", "256MiB"), 268435456u);
  EXPECT_EQ(*ParseByteSize("max-body-bytes", "256M"), 268435456u);
  EXPECT_EQ(*ParseByteSize("max-body-bytes", "2gb"), 2147483648u);
  for (std::string_view bad : {"", "0", "-1", "12 MiB", "1.5MiB", "MiB", "10TiB", "99999999999G"}) {
    Result<std::uint64_t> r = ParseByteSize("max-body-bytes", bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.status().message().find("--max-body-bytes"), std::string::npos);
  }
}

// README.md lists every flag; this keeps it honest as flags are added.
TEST(ReadmeTest, DocumentsEveryFlag) {
  std::ifstream in(std::string(TD_SOURCE_DIR) + "/README.md");
  ASSERT_TRUE(in) << "README.md not found";
  std::string readme((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (const FlagSpec& f : AllFlags()) {
    EXPECT_NE(readme.find("--" + std::string(f.name)), std::string::npos)
        << "README.md does not mention --" << f.name;
  }
}

}  // namespace
}  // namespace td::cli

namespace td::cli {
namespace {

std::string WriteFile(const std::string& name, const std::string& text) {
  std::string path = ::testing::TempDir() + name;
  std::ofstream(path) << text;
  return path;
}

// `config --print` output as name -> "value  [source]"; every line must be a setting, once.
std::map<std::string, std::string> PrintedLines(const std::string& text) {
  std::map<std::string, std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    size_t eq = line.find(" = ");
    if (eq == std::string::npos) {
      ADD_FAILURE() << "not a setting line: " << line;
      continue;
    }
    EXPECT_TRUE(out.emplace(line.substr(0, eq), line.substr(eq + 3)).second) << "twice: " << line;
  }
  return out;
}

std::set<std::string> FlagsOf(unsigned bits) {
  std::set<std::string> names;
  for (const FlagSpec& f : AllFlags()) {
    if ((f.commands & bits) != 0 && f.name != "help" && f.name != "print") {
      names.insert(std::string(f.name));
    }
  }
  return names;
}

std::set<std::string> Names(const std::map<std::string, std::string>& lines) {
  std::set<std::string> names;
  for (const auto& [name, rest] : lines) names.insert(name);
  return names;
}

TEST(ConfigPrintTest, ShowsEveryFlagOfTheModeWithItsSource) {
  // The file also holds a record-only key: skipped for replay, not an error.
  std::string file = WriteFile("print.json", R"({"chunking": "byte", "strict": true,
                                                 "upstream": "https://api.example.com"})");
  std::vector<std::string> env = {"TAPEDECK_FAULT=reset-after:3", "TAPEDECK_CHUNKING=recorded",
                                  "HOME=/home/someone"};
  Result<Config> c =
      Config::Parse(kConfigCmd,
                    {"--print", "replay", "--config", file, "--timing", "instant",
                     "--ignore-header", "user-agent", "--ignore-header=x-stainless-os"},
                    env);
  ASSERT_TRUE(c.ok()) << c.status().message();
  std::map<std::string, std::string> lines = PrintedLines(c->Describe());
  EXPECT_EQ(lines["timing"], "instant  [flag]");
  EXPECT_EQ(lines["chunking"], "recorded  [env: TAPEDECK_CHUNKING]");  // env beats the file
  EXPECT_EQ(lines["fault"], "reset-after:3  [env: TAPEDECK_FAULT]");
  EXPECT_EQ(lines["strict"], "true  [file: " + file + "]");
  EXPECT_EQ(lines["on-exhausted"], "repeat-last  [default]");
  EXPECT_EQ(lines["cassette"], "(unset)  [default]");
  EXPECT_EQ(lines["ignore-header"], R"(["user-agent","x-stainless-os"]  [flag])");
  EXPECT_EQ(lines["match-header"], "[]  [default]");
  EXPECT_EQ(lines["config"], file + "  [flag]");
  EXPECT_EQ(Names(lines), FlagsOf(kReplay));  // every replay flag, and no other
}

TEST(ConfigPrintTest, WithoutAModeShowsEveryServingFlag) {
  Result<Config> c = Config::Parse(
      kConfigCmd, {"--print", "--timing", "instant", "--upstream", "https://api.example.com"}, {});
  ASSERT_TRUE(c.ok()) << c.status().message();
  std::map<std::string, std::string> lines = PrintedLines(c->Describe());
  EXPECT_EQ(Names(lines), FlagsOf(kServing));
  EXPECT_EQ(lines["timing"], "instant  [flag]");
  EXPECT_EQ(lines["upstream"], "[\"https://api.example.com\"]  [flag]");  // repeatable
  EXPECT_EQ(lines.count("interaction"), 0u);                              // a cassette-command flag
}

TEST(ConfigPrintTest, MainPrintsToStdoutAndChecksTheFlagsAsTheModeWould) {
  testing::LogCapture log(LogLevel::kInfo);
  ::testing::internal::CaptureStdout();
  int code = Main({"config", "--print", "--timing", "instant"}, {"TAPEDECK_TIMMING=4"});
  std::string out = ::testing::internal::GetCapturedStdout();
  EXPECT_EQ(code, 0);
  EXPECT_NE(out.find("timing = instant  [flag]\n"), std::string::npos) << out;
  EXPECT_TRUE(log.Contains("did you mean TAPEDECK_TIMING?"))
      << ::testing::PrintToString(log.lines());
  EXPECT_EQ(out.find("TIMMING"), std::string::npos);  // warnings stay off stdout

  ::testing::internal::CaptureStdout();
  EXPECT_EQ(Main({"config", "--print", "record", "--timing", "instant"}, {}), 2);
  EXPECT_EQ(Main({"config", "--print", "replay", "--timing", "fast"}, {}), 2);
  EXPECT_EQ(::testing::internal::GetCapturedStdout(), "");
}

TEST(ConfigPrintTest, NeverShowsASecret) {
  const std::string key = "hunter" + std::to_string(2) + "-shared-secret";
  Result<Config> c = Config::Parse(kConfigCmd, {"replay", "--require-key", key}, {});
  ASSERT_TRUE(c.ok()) << c.status().message();
  std::string d = c->Describe();
  EXPECT_EQ(d.find(key), std::string::npos) << d;
  EXPECT_NE(d.find("require-key = (set, not shown)  [flag]\n"), std::string::npos) << d;

  // An upstream URL with credentials is refused, and the message masks them.
  const std::string url = "https://user:" + key + "@api.example.com";
  Result<Config> flag = Config::Parse(kConfigCmd, {"record", "--upstream", url}, {});
  ASSERT_FALSE(flag.ok());
  EXPECT_EQ(flag.status().message().find(key), std::string::npos) << flag.status().message();
  EXPECT_NE(flag.status().message().find("--upstream: \"https://***@api.example.com\""),
            std::string::npos)
      << flag.status().message();
  Result<Config> env = Config::Parse(kConfigCmd, {"record"}, {"TAPEDECK_UPSTREAM=" + url});
  ASSERT_FALSE(env.ok());
  EXPECT_EQ(env.status().message().find(key), std::string::npos) << env.status().message();
  EXPECT_EQ(env.status().message().rfind("TAPEDECK_UPSTREAM: ", 0), 0u) << env.status().message();
}

TEST(ConfigPrintTest, ExecShowsItsCommandAndOtherModesTakeNoOperands) {
  Result<Config> c =
      Config::Parse(kConfigCmd, {"--print", "exec", "--mode", "record", "--", "npm", "test"}, {});
  ASSERT_TRUE(c.ok()) << c.status().message();
  std::map<std::string, std::string> lines = PrintedLines(c->Describe());
  EXPECT_EQ(lines["mode"], "record  [flag]");
  EXPECT_EQ(lines["command"], R"(["npm","test"]  [flag])");

  Result<Config> extra = Config::Parse(kConfigCmd, {"--print", "replay", "t.zst"}, {});
  ASSERT_FALSE(extra.ok());
  EXPECT_NE(extra.status().message().find("unexpected argument \"t.zst\""), std::string::npos);
  Result<Config> typo = Config::Parse(kConfigCmd, {"--print", "replya"}, {});
  ASSERT_FALSE(typo.ok());
  EXPECT_NE(typo.status().message().find("did you mean replay?"), std::string::npos)
      << typo.status().message();
}

TEST(DidYouMeanTest, MistypedFlagsNameTheNearestFlag) {
  struct Case {
    unsigned command;
    std::vector<std::string> args;
    std::string says;
  };
  for (const Case& c : {
           Case{kReplay,
                {"--timming", "instant"},
                "unknown flag --timming (did you mean --timing?)"},
           Case{kReplay, {"--ignore-query-params", "x"}, "(did you mean --ignore-query-param?)"},
           Case{kReplay, {"--Strict"}, "(did you mean --strict?)"},
           Case{kReplay, {"-timing", "x"}, "unknown flag -timing (did you mean --timing?)"},
           // An abbreviation is refused: it would change meaning when a flag is added.
           Case{kReplay, {"--tim", "instant"}, "unknown flag --tim (did you mean --timing?)"},
           Case{kRecord,
                {"--timming", "x"},
                "(did you mean --timing? it is for replay, auto or exec)"},
           Case{kRecord,
                {"--timing", "x"},
                "--timing does not apply to record (it is for replay, auto or exec)"},
           Case{kReplay, {"--zzzzzzzzzz"}, "unknown flag --zzzzzzzzzz (see --help)"},
       }) {
    Result<Config> r = Config::Parse(c.command, c.args, {});
    ASSERT_FALSE(r.ok()) << c.args[0];
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find(c.says), std::string::npos) << r.status().message();
  }
  EXPECT_EQ(ClosestMatch("replya", {"record", "replay"}), "replay");
  EXPECT_EQ(ClosestMatch("x", {"record", "replay"}), "");
}

TEST(DidYouMeanTest, UnknownTapedeckVariablesAreReportedNotRead) {
  std::vector<std::string> env = {
      "TAPEDECK_TIMMING=instant",                   // a typo: reported, not read
      "TAPEDECK_QWERTYUIOP=1",                      // nothing near: reported
      "TAPEDECK_BIN=/opt/tapedeck",                 // the test scripts' own variable
      "TAPEDECK_UPSTREAM=https://api.example.com",  // a record flag: fine in replay's env
      "TAPEDECK_HELP=1",                            // never read from the environment
      "NOT_TAPEDECK_TIMMING=1"};
  Result<Config> c = Config::Parse(kReplay, {}, env);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->Get("timing"), "recorded");
  ASSERT_EQ(c->warnings().size(), 3u) << ::testing::PrintToString(c->warnings());
  EXPECT_EQ(c->warnings()[0],
            "unknown environment variable TAPEDECK_TIMMING ignored (did you mean "
            "TAPEDECK_TIMING?)");
  EXPECT_EQ(c->warnings()[1], "unknown environment variable TAPEDECK_QWERTYUIOP ignored");
  EXPECT_NE(c->warnings()[2].find("TAPEDECK_HELP"), std::string::npos);

  std::string typo = WriteFile("plural.json", R"({"ignore_query_params": ["cache_bust"]})");
  Result<Config> file = Config::Parse(kReplay, {"--config", typo}, {});
  ASSERT_FALSE(file.ok());
  EXPECT_NE(file.status().message().find(
                "key \"ignore_query_params\" is not a tapedeck setting (did you mean "
                "\"ignore_query_param\"?)"),
            std::string::npos)
      << file.status().message();
}

TEST(ConfigFileTest, BadJsonNamesTheFileLineAndColumn) {
  std::string path =
      WriteFile("badjson.json", "{\n  \"timing\": \"instant\",\n  \"strict\": tru\n}\n");
  Result<Config> c = Config::Parse(kReplay, {"--config", path}, {});
  ASSERT_FALSE(c.ok());
  // Line 3 is `  "strict": tru`: the newline after "tru", column 16, ends the bad literal.
  EXPECT_EQ(c.status().message().rfind("config " + path + ": line 3, column 16: invalid JSON", 0),
            0u)
      << c.status().message();

  std::string crlf = WriteFile("crlf.json", "{\r\n\"a\": 1,\r\n,\r\n}");
  Result<Config> c2 = Config::Parse(kReplay, {}, {"TAPEDECK_CONFIG=" + crlf});
  ASSERT_FALSE(c2.ok());
  EXPECT_NE(c2.status().message().find(crlf + " (TAPEDECK_CONFIG): line 3, column 1:"),
            std::string::npos)
      << c2.status().message();

  // The part of the file nlohmann quotes ("last read: ...") may be a secret: not shown.
  std::string secret = "s3cr3t" + std::string("-value");
  std::string open = WriteFile("open.json", "{\"require_key\": \"" + secret);
  Result<Config> c3 = Config::Parse(kReplay, {"--config", open}, {});
  ASSERT_FALSE(c3.ok());
  EXPECT_NE(c3.status().message().find("line 1, column"), std::string::npos);
  EXPECT_EQ(c3.status().message().find(secret), std::string::npos) << c3.status().message();
}

TEST(ConfigValueTest, ABadValueNamesWhereItCameFrom) {
  std::string file = WriteFile("badvalue.json", R"({"timing": "fast"})");
  struct Case {
    unsigned command;
    std::vector<std::string> args;
    std::vector<std::string> env;
    std::string message;
  };
  for (const Case& c : {
           Case{kReplay,
                {},
                {"TAPEDECK_TIMING=fast"},
                "TAPEDECK_TIMING=fast: expected recorded, instant or a positive speed factor"},
           Case{kReplay,
                {"--timing", "fast"},
                {},
                "--timing \"fast\": expected recorded, instant or a positive speed factor"},
           Case{kReplay,
                {"--config", file},
                {},
                "config " + file +
                    ": key \"timing\" = \"fast\": expected recorded, instant or a positive "
                    "speed factor"},
           Case{
               kReplay, {}, {"TAPEDECK_STRICT=yes"}, "TAPEDECK_STRICT=yes: expected true or false"},
           Case{kReplay, {"--strict=yes"}, {}, "--strict \"yes\": expected true or false"},
           Case{kRecord,
                {},
                {"TAPEDECK_IDLE_TIMEOUT=0"},
                "TAPEDECK_IDLE_TIMEOUT=0: must be more than 0"},
           Case{kRecord,
                {},
                {"TAPEDECK_MAX_BODY_BYTES=lots"},
                "TAPEDECK_MAX_BODY_BYTES=lots: expected a size in bytes, e.g. 1048576, 64KiB, "
                "256MiB or 1GiB"},
           Case{kReplay,
                {},
                {"TAPEDECK_LOG_LEVEL=loud"},
                "TAPEDECK_LOG_LEVEL=loud: unknown log level"},
           Case{kAuto,
                {},
                {"TAPEDECK_IGNORE_QUERY_PARAM=[\"\"]"},
                "TAPEDECK_IGNORE_QUERY_PARAM=: expected a query parameter name"},
           Case{kReplay, {}, {"TAPEDECK_NORMALIZE=(unclosed"}, "TAPEDECK_NORMALIZE=(unclosed: "},
       }) {
    Result<Config> r = Config::Parse(c.command, c.args, c.env);
    ASSERT_FALSE(r.ok()) << c.message;
    EXPECT_EQ(r.status().message().rfind(c.message, 0), 0u) << r.status().message();
  }
}

TEST(ConfigValueTest, EveryCommandsDefaultsPassTheirOwnChecks) {
  for (unsigned bit : {kRecord, kReplay, kAuto, kPassthrough, kExec, kCassetteCmd, kConfigCmd}) {
    Result<Config> c = Config::Parse(bit, {}, {});
    EXPECT_TRUE(c.ok()) << CommandName(bit) << ": " << c.status().message();
  }
}

TEST(ConfigValueTest, ASwitchGivenAValueOnTheCommandLineOverridesTheFile) {
  std::string file = WriteFile("strict.json", R"({"strict": true})");
  Result<Config> off = Config::Parse(kReplay, {"--config", file, "--strict=false"}, {});
  ASSERT_TRUE(off.ok()) << off.status().message();
  EXPECT_FALSE(off->GetBool("strict"));
  Result<Config> on = Config::Parse(kReplay, {}, {"TAPEDECK_STRICT=1"});
  ASSERT_TRUE(on.ok()) << on.status().message();
  EXPECT_EQ(on->Get("strict"), "true");
}

// --ignore-query-param from each source reaches replay's matching: a request that differs
// from the recording only in an ignored parameter normalises to the same form.
TEST(IgnoreQueryParamTest, FromAnySourceItMakesRequestsMatch) {
  std::string file = WriteFile("ignoreq.json", R"({"ignore_query_param": ["cache_bust"]})");
  for (const auto& [args, env] : {
           std::pair<std::vector<std::string>, std::vector<std::string>>{
               {"--ignore-query-param", "cache_bust"}, {}},
           {{}, {"TAPEDECK_IGNORE_QUERY_PARAM=[\"cache_bust\"]"}},
           {{}, {"TAPEDECK_IGNORE_QUERY_PARAM=cache_bust"}},
           {{"--config", file}, {}},
       }) {
    for (unsigned mode : {kReplay, kAuto, kExec}) {
      Result<Config> c = Config::Parse(mode, args, env);
      ASSERT_TRUE(c.ok()) << c.status().message();
      ASSERT_EQ(c->GetAll("ignore-query-param"), std::vector<std::string>{"cache_bust"});
      replay::MatchOptions options;
      options.ignore_query_params = c->GetAll("ignore-query-param");
      Result<replay::RequestNormalizer> n = replay::RequestNormalizer::Create(options);
      ASSERT_TRUE(n.ok());
      cassette::Request recorded{"GET", "/v1/models", {{"limit", "2"}, {"cache_bust", "1"}},
                                 {},    {},           {}};
      cassette::Request live{"GET", "/v1/models", {{"cache_bust", "99"}, {"limit", "2"}},
                             {},    {},           {}};
      cassette::Request other{"GET", "/v1/models", {{"cache_bust", "1"}, {"limit", "3"}},
                              {},    {},           {}};
      EXPECT_EQ(n->NormalizeHead(recorded).query, n->NormalizeHead(live).query);
      EXPECT_NE(n->NormalizeHead(recorded).query, n->NormalizeHead(other).query);
    }
  }
  Result<Config> record = Config::Parse(kRecord, {"--ignore-query-param", "cache_bust"}, {});
  ASSERT_FALSE(record.ok());
  EXPECT_NE(record.status().message().find("does not apply to record"), std::string::npos);
}

}  // namespace
}  // namespace td::cli
