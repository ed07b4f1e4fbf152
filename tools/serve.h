// File: tools/serve.h
//
// The serving modes (record, replay, auto, passthrough, exec): builds each module's options
// from the Config, wires the handlers, runs the loop until a signal (or exec's child) ends it.
#pragma once

#include "tools/config.h"

namespace td::cli {

// Runs the mode named by config.command(). Returns the exit code.
int RunServe(const Config& config);

}  // namespace td::cli
