// File: tools/serve.h
//
// The serving modes (record, replay, auto, passthrough, exec): builds each module's options
// from the Config, wires the handlers, runs the loop until a signal (or exec's child) ends it.
#pragma once

#include <string>
#include <vector>

#include "tools/config.h"

namespace td::cli {

// Runs the mode named by config.command(). `env` ("NAME=VALUE") is the environment exec's
// command inherits. Returns the exit code (README.md, "Exit codes").
int RunServe(const Config& config, const std::vector<std::string>& env);

}  // namespace td::cli
