// File: tools/flags.h
//
// Every flag tapedeck knows, in one table, and how a value is resolved from its four sources:
// defaults < --config FILE (JSON; keys are the long flags in snake_case) < TAPEDECK_<FLAG>
// environment variables < command-line flags. A higher source replaces a lower one, also for
// repeatable flags. Unknown flags, unknown config keys and flags that do not belong to the
// subcommand are errors (exit 2), so a typo never silently changes behaviour.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "cassette/base/status.h"

namespace td::cli {

// Which subcommands accept a flag (a bit set).
enum CommandBit : unsigned {
  kRecord = 1u << 0,
  kReplay = 1u << 1,
  kAuto = 1u << 2,
  kPassthrough = 1u << 3,
  kExec = 1u << 4,
  kCassetteCmd = 1u << 5,
  kConfigCmd = 1u << 6,
};
inline constexpr unsigned kServing = kRecord | kReplay | kAuto | kPassthrough | kExec;
inline constexpr unsigned kRecording = kRecord | kAuto | kExec;
inline constexpr unsigned kReplaying = kReplay | kAuto | kExec;
inline constexpr unsigned kAnyCommand = 0x7f;

struct FlagSpec {
  std::string_view name;  // long name, "ignore-json-path"
  std::string_view arg;   // metavariable, "" for a switch
  bool repeatable;
  unsigned commands;  // CommandBit set
  std::string_view default_value;
  std::string_view help;
};

// The table, in the order `--help` lists it.
const std::vector<FlagSpec>& AllFlags();
const FlagSpec* FindFlag(std::string_view name);

enum class Source { kDefault, kConfigFile, kEnv, kFlag };
std::string_view SourceName(Source source);

// A resolved value. Switches hold "true"/"false". Repeatable flags hold every value.
struct Setting {
  std::vector<std::string> values;
  Source source = Source::kDefault;
  std::string origin;  // "--timing", "TAPEDECK_TIMING", "tapedeck.json"
};

struct ParsedArgs {
  std::map<std::string, Setting, std::less<>> settings;  // by long flag name
  std::vector<std::string> positional;  // operands (cassette files; exec's command)
};

// Parses `args` (after the subcommand) for `command` (one CommandBit) and layers the config
// file (from --config or TAPEDECK_CONFIG) and the environment `env` (NAME=VALUE strings) under
// them. For exec, everything after "--" is positional. Errors are kInvalidArgument.
Result<ParsedArgs> ParseArgs(unsigned command, const std::vector<std::string>& args,
                             const std::vector<std::string>& env);

// "TAPEDECK_IGNORE_JSON_PATH" for "ignore-json-path".
std::string EnvName(std::string_view flag);

}  // namespace td::cli
