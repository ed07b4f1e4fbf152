// File: tools/cli.h
//
// The `tapedeck` command line: subcommand dispatch, help, version. Main() is the whole program
// minus the process entry point, so tests can drive it in-process.
#pragma once

#include <string>
#include <vector>

namespace td::cli {

// Runs tapedeck with `args` (argv without the program name) and the environment `env`
// ("NAME=VALUE"). Returns the process exit code.
int Main(const std::vector<std::string>& args, const std::vector<std::string>& env);

// Help text for a subcommand ("" for the overview).
std::string HelpText(std::string_view command);

}  // namespace td::cli
