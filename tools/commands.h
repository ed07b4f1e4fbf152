// File: tools/commands.h
//
// What the tapedeck command is made of, each in one table: its subcommands, the verbs of
// `tapedeck cassette` and `tapedeck ca`, its exit codes and its version. The dispatcher (tools/cli.cc) reads
// them, and so does everything that describes the command (tools/manual.h: --help, the man
// page and the shell completions), so the descriptions cannot drift from what runs.
#pragma once

#include <string_view>
#include <vector>

namespace td::cli {

struct CommandSpec {
  std::string_view name;     // "replay"
  unsigned bit;              // its CommandBit (tools/flags.h): which flags it takes
  std::string_view usage;    // "tapedeck replay --cassette FILE ...", may span lines
  std::string_view summary;  // one sentence, lower case, no final period
};

// The subcommands, in the order --help lists them.
const std::vector<CommandSpec>& AllCommands();
// The subcommand called `name`, or nullptr.
const CommandSpec* FindCommand(std::string_view name);

struct VerbSpec {
  std::string_view name;     // "verify"
  std::string_view summary;  // one sentence, lower case, no final period
};

// The verbs of a command that takes one (`tapedeck cassette VERB FILE...`, `tapedeck ca VERB`),
// by its CommandBit; empty for the others.
const std::vector<VerbSpec>& VerbsOf(unsigned command_bit);
bool IsVerbOf(unsigned command_bit, std::string_view name);

struct ExitCodeSpec {
  int code;
  std::string_view meaning;  // "2 usage or configuration error": the meaning part
};

// The documented exit codes (tools/exit_codes.h), in order.
const std::vector<ExitCodeSpec>& ExitCodes();

// "0.1.0": the project version CMake was given.
std::string_view Version();

}  // namespace td::cli
