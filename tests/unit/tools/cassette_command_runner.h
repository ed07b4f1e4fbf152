// File: tests/unit/tools/cassette_command_runner.h
//
// Runs `tapedeck cassette VERB ARGS...` in-process (tools/cassette_commands.h) and keeps its exit
// code and what it wrote, for the tests of the cassette verbs.
#pragma once

#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "tools/cassette_commands.h"
#include "tools/config.h"
#include "tools/flags.h"

namespace td::cli {

struct CmdResult {
  int code;
  std::string out;
  std::string err;
};

// The flags in `args` are parsed as `tapedeck cassette` parses them (a parse error fails the
// test and returns code -1).
inline CmdResult Cmd(std::string_view verb, std::vector<std::string> args) {
  Result<Config> config = Config::Parse(kCassetteCmd, args, {});
  EXPECT_TRUE(config.ok()) << config.status().message();
  if (!config.ok()) return {-1, "", ""};
  std::ostringstream out, err;
  int code = RunCassetteCommand(verb, *config, out, err);
  return {code, out.str(), err.str()};
}

}  // namespace td::cli
