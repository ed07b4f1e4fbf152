// File: tools/cli.h
//
// The `tapedeck` command line: subcommand dispatch, help, version (the texts: tools/manual.h). Main() is the whole program
// minus the process entry point, so tests can drive it in-process.
#pragma once

#include <string>
#include <vector>

namespace td::cli {

// Runs tapedeck with `args` (argv without the program name) and the environment `env`
// ("NAME=VALUE"). Returns the process exit code.
int Main(const std::vector<std::string>& args, const std::vector<std::string>& env);

}  // namespace td::cli
