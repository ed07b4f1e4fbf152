// File: tools/flags.h
//
// Every flag tapedeck knows, in one table, and how a value is resolved from its four sources:
// defaults < --config FILE (JSON; keys are the long flags in snake_case) < TAPEDECK_<FLAG>
// environment variables < command-line flags. A higher source replaces a lower one, also for
// repeatable flags. Unknown or abbreviated flags, unknown config keys and flags that do not
// belong to the subcommand are errors (exit 2) with a "did you mean" when one is close, so a
// typo never silently changes behaviour; an unknown TAPEDECK_* variable is a warning.
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
  kCaCmd = 1u << 7,
};
inline constexpr unsigned kServing = kRecord | kReplay | kAuto | kPassthrough | kExec;
inline constexpr unsigned kRecording = kRecord | kAuto | kExec;
inline constexpr unsigned kReplaying = kReplay | kAuto | kExec;
inline constexpr unsigned kAnyCommand = 0xff;

// "record", "replay", ... for one CommandBit; "" for anything else.
std::string_view CommandName(unsigned bit);
// The serving mode called `name` (record, replay, auto, passthrough, exec), or 0.
unsigned ServingModeBit(std::string_view name);
// The subcommands in `bits`, for messages: "replay, auto or exec".
std::string CommandList(unsigned bits);

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
// Flags whose value is a credential: never printed or echoed in a message.
bool IsSecretFlag(std::string_view name);

enum class Source { kDefault, kConfigFile, kEnv, kFlag };
// "default", "file", "env" or "flag".
std::string_view SourceName(Source source);

// A resolved value. Switches hold "true"/"false". Repeatable flags hold every value.
struct Setting {
  std::vector<std::string> values;
  Source source = Source::kDefault;
  std::string origin;  // "--timing", "TAPEDECK_TIMING", the config file's path, "default"
};

// Where one value of `flag` came from, spelt the way the user wrote it, for the front of an
// error message: `--timing "fast"`, `TAPEDECK_TIMING=fast`, `config t.json: key "timing" =
// "fast"`. A secret flag's value and the upstream URL (which a message shows masked) are left
// out.
std::string ValueOrigin(std::string_view flag, const Setting& setting, std::string_view value);

struct ParsedArgs {
  std::map<std::string, Setting, std::less<>> settings;  // by long flag name
  std::vector<std::string> positional;  // operands (cassette files; exec's command)
  // The CommandBits whose flags were read: the command's own bit; for `config`, its MODE's bit
  // (every serving mode's when no MODE is given) and kConfigCmd.
  unsigned commands = 0;
  std::string mode;  // config: the MODE operand, "" when none was given
  // Problems worth telling but not fatal: unknown TAPEDECK_* variables.
  std::vector<std::string> warnings;
};

// Parses `args` (after the subcommand) for `command` (one CommandBit) and layers the config
// file (from --config or TAPEDECK_CONFIG) and the environment `env` (NAME=VALUE strings) under
// them. Flags are `--name VALUE`, `--name=VALUE`, `--switch`, `--switch=true|false` and `-h`;
// `--` ends the flags. For exec, the first operand and everything after it is its command. For
// config, the first operand names the MODE whose flags apply (record, replay, auto,
// passthrough, exec; without one, every serving mode's flags apply); exec's command may follow
// it. Switch values from a file or the environment must be true/false/1/0 and are stored as
// "true"/"false". Errors are kInvalidArgument and name the flag, variable or file (with line
// and column for bad JSON).
Result<ParsedArgs> ParseArgs(unsigned command, const std::vector<std::string>& args,
                             const std::vector<std::string>& env);

// "TAPEDECK_IGNORE_JSON_PATH" for "ignore-json-path".
std::string EnvName(std::string_view flag);

// The candidate closest to `word` by edit distance (insertions, deletions, substitutions and
// swaps of neighbours each count 1), when it is close enough to be a likely typo (at most 1 for
// short words, up to 3 for long ones); "" otherwise. Ties go to the earlier candidate.
std::string_view ClosestMatch(std::string_view word,
                              const std::vector<std::string_view>& candidates);

}  // namespace td::cli
