// The Markdown files of the tree against the flag table (tools/flags.h): each `--flag` they name
// exists, each `tapedeck SUBCOMMAND ...` they show uses flags that subcommand accepts, each
// TAPEDECK_NAME is a flag's variable. ReadmeTest (config_test.cc) checks README names every flag.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "cassette/base/ascii.h"
#include "tests/support/fixtures.h"
#include "tools/commands.h"
#include "tools/flags.h"

namespace td::cli {
namespace {

// Flags of other programs that the docs show, with their owner. Not consulted on a `tapedeck
// SUBCOMMAND` line, so an entry here never lets a doc give tapedeck a flag it lacks. An entry
// that no doc uses any more, or that the flag table has gained, fails
// AllowListsHoldOnlyWhatTheDocsNeed.
const std::map<std::string_view, std::string_view> kForeignFlags = {
    {"build", "cmake --build DIR"},
    {"target", "cmake --build DIR --target"},
    {"install", "cmake --install DIR"},
    {"system", "tests/install/deb_test.sh"},
    {"test-dir", "ctest"},
    {"cacert", "curl"},
    {"output-on-failure", "ctest"},
    {"test", "node --test"},
    {"test-reporter", "node --test"},
    {"gtest_filter", "GoogleTest binaries"},
    {"latency", "wrk"},
    {"repeat", "bench/compression_bench"},
    {"events", "bench/proxy_bench"},
    {"interval-us", "bench/proxy_bench"},
    {"rounds-1", "bench/proxy_bench"},
    {"rounds-64", "bench/proxy_bench"},
    {"concurrency", "bench/proxy_bench"},
    {"request-kb", "bench/proxy_bench"},
    {"on-loop", "bench/proxy_bench"},
    {"passthrough", "bench/proxy_bench"},
    {"phase-locked", "bench/proxy_bench"},
    {"no-pin", "bench/proxy_bench"},
    {"seconds", "bench/soak_bench"},
    {"streams", "bench/soak_bench"},
    {"client-threads", "bench/soak_bench"},
    {"tapedeck", "bench/soak_bench"},
    {"gap-ms", "bench/replay_timing_bench"},
    {"server-cpu", "bench/replay_timing_bench"},
    {"sizes", "bench/cassette_load_bench"},
    {"rounds", "bench/cassette_load_bench"},
    {"baseline", "bench/cassette_load_bench"},
    {"tapedeck-mode", "pytest_tapedeck"},
    {"tapedeck-bin", "pytest_tapedeck"},
    {"tapedeck-cassette-dir", "pytest_tapedeck"},
    {"tapedeck-upstream", "pytest_tapedeck"},
    {"tapedeck-timing", "pytest_tapedeck"},
    {"tapedeck-fail-on-unused", "pytest_tapedeck"},
    {"tapedeck-start-timeout", "pytest_tapedeck"},
    {"tapedeck-arg", "pytest_tapedeck"},
    {"tb", "pytest"},
    {"save-dev", "npm install"},
    {"experimental-vm-modules", "node (jest's ES modules)"},
};

// Flags another branch adds to the table; treated as tapedeck's until it is merged.
// Empty on main.
const std::set<std::string_view> kPendingFlags = {};

// TAPEDECK_* names in the docs that are not flags' environment variables.
const std::map<std::string_view, std::string_view> kOtherVariables = {
    {"TAPEDECK_WERROR", "CMake option, CMakeLists.txt"},
    {"TAPEDECK_BUILD_FUZZ", "CMake option, CMakeLists.txt"},
    {"TAPEDECK_BUILD_TESTS", "CMake option, CMakeLists.txt"},
    {"TAPEDECK_BUILD_BENCH", "CMake option, CMakeLists.txt"},
    {"TAPEDECK_BIN", "the binary tests/e2e and the pytest plugin (docs/pytest.md) run"},
    {"TAPEDECK_UPDATE_GOLDEN", "tests/unit/cassette/golden_test.cc"},
    {"TAPEDECK_URL", "the running tapedeck's address, integrations/node (docs/node.md)"},
};

// `tapedeck --version` is read by tools/cli.cc before any subcommand, outside the table.
constexpr std::string_view kTopLevelFlag = "version";

// One logical line of a doc: continuation lines (ending in a backslash) joined to it.
struct DocLine {
  std::string file;  // relative to the source root
  int number;        // of its first physical line
  std::string text;
};

// Every .md file under the source root but build trees (they hold CMakeCache.txt), npm's
// node_modules and hidden folders.
std::vector<std::filesystem::path> MarkdownFiles() {
  namespace fs = std::filesystem;
  const fs::path root(TD_SOURCE_DIR);
  std::vector<fs::path> files;
  fs::recursive_directory_iterator it(root, fs::directory_options::skip_permission_denied);
  for (; it != fs::recursive_directory_iterator(); ++it) {
    const fs::path& path = it->path();
    const std::string name = path.filename().string();
    if (it->is_directory()) {
      if (name.starts_with('.') || name == "node_modules" || fs::exists(path / "CMakeCache.txt")) {
        it.disable_recursion_pending();
      }
    } else if (path.extension() == ".md") {
      files.push_back(fs::relative(path, root));
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::vector<DocLine> ReadDocLines() {
  std::vector<DocLine> lines;
  for (const std::filesystem::path& file : MarkdownFiles()) {
    const std::string text = td::testing::ReadFile(std::filesystem::path(TD_SOURCE_DIR) / file);
    int number = 0;
    bool continued = false;
    size_t pos = 0;
    while (pos < text.size()) {
      size_t end = text.find('\n', pos);
      if (end == std::string::npos) end = text.size();
      std::string_view line(text.data() + pos, end - pos);
      pos = end + 1;
      ++number;
      if (continued) {
        lines.back().text += " ";
        lines.back().text += line;
      } else {
        lines.push_back(DocLine{file.string(), number, std::string(line)});
      }
      continued = !line.empty() && line.back() == '\\';
      if (continued) lines.back().text.pop_back();
    }
  }
  return lines;
}

bool IsWordChar(char c) { return IsAlnum(c) || c == '-' || c == '_'; }

// Every `--name` in `text` that begins a word, without the dashes: `--timing`, `--gtest_filter`.
// Not `--` alone (exec's separator) nor a markdown rule `---`.
std::vector<std::string> FlagsIn(std::string_view text) {
  std::vector<std::string> flags;
  for (size_t i = 0; i + 2 < text.size(); ++i) {
    if (text[i] != '-' || text[i + 1] != '-' || !IsLower(text[i + 2])) continue;
    if (i > 0 && IsWordChar(text[i - 1])) continue;
    size_t end = i + 2;
    while (end < text.size() && IsWordChar(text[end])) ++end;
    std::string name(text.substr(i + 2, end - i - 2));
    while (name.back() == '-' || name.back() == '_') name.pop_back();  // "--flag-" in prose
    flags.push_back(std::move(name));
    i = end;
  }
  return flags;
}

// Every TAPEDECK_NAME in `text` (not the placeholder TAPEDECK_<FLAG>).
std::vector<std::string> VariablesIn(std::string_view text) {
  std::vector<std::string> names;
  constexpr std::string_view kPrefix = "TAPEDECK_";
  for (size_t i = text.find(kPrefix); i != std::string_view::npos; i = text.find(kPrefix, i + 1)) {
    // After a word character it is part of another name, unless it is CMake's -DTAPEDECK_X.
    const bool cmake_define = i >= 2 && text.substr(i - 2, 2) == "-D";
    if (i > 0 && (IsAlnum(text[i - 1]) || text[i - 1] == '_') && !cmake_define) continue;
    size_t end = i + kPrefix.size();
    while (end < text.size() && (IsUpper(text[end]) || IsDigit(text[end]) || text[end] == '_')) {
      ++end;
    }
    if (end == i + kPrefix.size()) continue;
    std::string name(text.substr(i, end - i));
    while (name.back() == '_') name.pop_back();
    names.push_back(std::move(name));
  }
  return names;
}

// A `tapedeck SUBCOMMAND ...` command shown in a doc: from the subcommand to the end of the
// command (a backtick, a ` #` comment, `|`, `;`, `&`, or exec's ` -- ` before the child's own
// arguments).
struct CommandSpan {
  std::string_view subcommand;
  unsigned bit;
  std::string_view text;
};

std::vector<CommandSpan> TapedeckCommandsIn(std::string_view line) {
  std::vector<CommandSpan> spans;
  constexpr std::string_view kName = "tapedeck";
  for (size_t at = line.find(kName); at != std::string_view::npos; at = line.find(kName, at + 1)) {
    // The program word: at the start, or after a space, a backtick, `(` or a directory.
    if (at > 0 && std::string_view(" \t`(/").find(line[at - 1]) == std::string_view::npos) {
      continue;
    }
    size_t word = at + kName.size();
    if (word >= line.size() || line[word] != ' ') continue;
    while (word < line.size() && line[word] == ' ') ++word;
    size_t word_end = word;
    while (word_end < line.size() && IsLower(line[word_end])) ++word_end;
    const CommandSpec* command = FindCommand(line.substr(word, word_end - word));
    if (command == nullptr) continue;
    if (word_end < line.size() && line[word_end] != ' ' && line[word_end] != '`') continue;
    size_t stop = word_end;
    while (stop < line.size()) {
      const char c = line[stop];
      if (c == '`' || c == '|' || c == ';' || c == '&') break;
      if (c == '#' && line[stop - 1] == ' ') break;
      if (line.substr(stop).starts_with(" --") &&
          (stop + 3 == line.size() || line[stop + 3] == ' ')) {
        break;
      }
      ++stop;
    }
    while (stop > word_end && line[stop - 1] == ' ') --stop;
    spans.push_back(
        CommandSpan{command->name, command->bit, line.substr(word_end, stop - word_end)});
  }
  return spans;
}

bool IsTapedeckFlag(std::string_view name) {
  return FindFlag(name) != nullptr || kPendingFlags.contains(name) || name == kTopLevelFlag;
}

TEST(DocsTest, FindsTheDocs) {
  std::vector<std::filesystem::path> files = MarkdownFiles();
  auto has = [&](std::string_view f) {
    return std::find(files.begin(), files.end(), std::filesystem::path(f)) != files.end();
  };
  EXPECT_TRUE(has("README.md"));
  EXPECT_TRUE(has("docs/replay.md"));
  EXPECT_TRUE(has("examples/curl/README.md"));
}

TEST(DocsTest, EveryFlagMentionedExists) {
  for (const DocLine& line : ReadDocLines()) {
    for (const std::string& flag : FlagsIn(line.text)) {
      EXPECT_TRUE(IsTapedeckFlag(flag) || kForeignFlags.contains(flag))
          << line.file << ":" << line.number << ": --" << flag
          << " is not a tapedeck flag (tools/flags.cc); if it is another program's, add it to "
             "kForeignFlags in tests/unit/tools/docs_test.cc";
    }
  }
}

TEST(DocsTest, CommandLinesUseFlagsTheSubcommandAccepts) {
  int commands = 0;
  for (const DocLine& line : ReadDocLines()) {
    for (const CommandSpan& command : TapedeckCommandsIn(line.text)) {
      ++commands;
      for (const std::string& flag : FlagsIn(command.text)) {
        const FlagSpec* spec = FindFlag(flag);
        if (spec == nullptr) {
          EXPECT_TRUE(kPendingFlags.contains(flag))
              << line.file << ":" << line.number << ": `tapedeck " << command.subcommand
              << "` is given --" << flag << ", which tapedeck does not have";
          continue;
        }
        EXPECT_NE(spec->commands & command.bit, 0u)
            << line.file << ":" << line.number << ": `tapedeck " << command.subcommand
            << "` is given --" << flag << ", which it does not accept";
      }
    }
  }
  EXPECT_GT(commands, 20) << "the docs show tapedeck commands; the scanner finds too few";
}

TEST(DocsTest, EveryTapedeckVariableIsAFlagOrABuildVariable) {
  std::set<std::string> env_names;
  for (const FlagSpec& f : AllFlags()) {
    if (f.name != "help") env_names.insert(EnvName(f.name));  // TAPEDECK_HELP is not read
  }
  for (std::string_view f : kPendingFlags) env_names.insert(EnvName(f));
  for (const DocLine& line : ReadDocLines()) {
    for (const std::string& name : VariablesIn(line.text)) {
      EXPECT_TRUE(env_names.contains(name) || kOtherVariables.contains(name))
          << line.file << ":" << line.number << ": " << name
          << " is neither a flag's environment variable nor in kOtherVariables";
    }
  }
}

TEST(DocsTest, AllowListsHoldOnlyWhatTheDocsNeed) {
  std::set<std::string> flags;
  std::set<std::string> variables;
  for (const DocLine& line : ReadDocLines()) {
    for (std::string& f : FlagsIn(line.text)) flags.insert(std::move(f));
    for (std::string& v : VariablesIn(line.text)) variables.insert(std::move(v));
  }
  for (const auto& [flag, owner] : kForeignFlags) {
    EXPECT_EQ(FindFlag(flag), nullptr)
        << "--" << flag << " is in the flag table now: remove it from kForeignFlags";
    EXPECT_TRUE(flags.contains(std::string(flag)))
        << "no doc mentions --" << flag << " (" << owner << "): remove it from kForeignFlags";
  }
  for (std::string_view flag : kPendingFlags) {
    EXPECT_EQ(FindFlag(flag), nullptr)
        << "--" << flag << " is in the flag table now: remove it from kPendingFlags";
  }
  for (const auto& [name, owner] : kOtherVariables) {
    EXPECT_TRUE(variables.contains(std::string(name)))
        << "no doc mentions " << name << " (" << owner << "): remove it from kOtherVariables";
  }
}

TEST(DocsTest, ScannersFindWhatTheyShould) {
  EXPECT_EQ(FlagsIn("a `--timing instant` b --gtest_filter='X.*' -- cmd --- x--y --flag-"),
            (std::vector<std::string>{"timing", "gtest_filter", "flag"}));
  EXPECT_EQ(VariablesIn("TAPEDECK_<FLAG> (`TAPEDECK_TIMING=instant`) MY_TAPEDECK_X -DTAPEDECK_W=1"),
            (std::vector<std::string>{"TAPEDECK_TIMING", "TAPEDECK_W"}));
  std::vector<CommandSpan> spans = TapedeckCommandsIn(
      "run `build/tools/tapedeck exec --mode auto -- pytest --lf` or tapedeck replay --strict "
      "# note --x; tapedeck: warn; `tools/tapedeck` --tapedeck; x-tapedeck-key");
  ASSERT_EQ(spans.size(), 2u);
  EXPECT_EQ(spans[0].subcommand, "exec");
  EXPECT_EQ(spans[0].text, " --mode auto");
  EXPECT_EQ(spans[1].subcommand, "replay");
  EXPECT_EQ(spans[1].text, " --strict");
}

}  // namespace
}  // namespace td::cli
