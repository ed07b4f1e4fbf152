#include "tools/config.h"

#include <cstdio>
#include <fstream>

#include <gtest/gtest.h>

#include "tools/cli.h"

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
  std::string file =
      WriteTemp("precedence.json", R"({"timing":"4","chunking":"byte","strict":true,
                                       "ignore_json_path":["a.b","c"]})");
  std::vector<std::string> env = {"TAPEDECK_CHUNKING=recorded", "TAPEDECK_CONFIG=" + file,
                                  "TAPEDECK_IGNORE_JSON_PATH=[\"x\",\"y\"]"};
  Result<Config> c = Config::Parse(kReplay, {"--chunking", "random:7"}, env);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->Get("timing"), "4");              // file
  EXPECT_TRUE(c->GetBool("strict"));             // file
  EXPECT_EQ(c->Get("chunking"), "random:7");     // flag beats env and file
  EXPECT_EQ(c->GetAll("ignore-json-path"), (std::vector<std::string>{"x", "y"}));  // env
  std::string d = c->Describe();
  EXPECT_NE(d.find("chunking = random:7  [flag: --chunking]"), std::string::npos) << d;
  EXPECT_NE(d.find("timing = 4  [config file: " + file + "]"), std::string::npos) << d;
  EXPECT_NE(d.find("[environment: TAPEDECK_IGNORE_JSON_PATH]"), std::string::npos) << d;
}

TEST(ConfigTest, RepeatableFlagsCollectEveryValue) {
  Result<Config> c = Config::Parse(
      kReplay, {"--ignore-header", "user-agent", "--ignore-header=x-stainless-os"}, {});
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->GetAll("ignore-header"),
            (std::vector<std::string>{"user-agent", "x-stainless-os"}));
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
  Result<Config> c = Config::Parse(
      kExec, {"--cassette", "t.zst", "--", "node", "app.js", "--timing", "x"}, {});
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

// README.md lists every flag; this keeps it honest as flags are added.
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
