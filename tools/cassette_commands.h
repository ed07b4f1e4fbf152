// File: tools/cassette_commands.h
//
// `tapedeck cassette ls|show|cat|verify|redact FILE...` and `tapedeck cassette diff A B`: the
// tools for looking at, checking, cleaning and comparing cassettes without a proxy. Each writes
// its report to `out`, problems to `err`, and returns an exit code (tools/exit_codes.h).
#pragma once

#include <ostream>

#include "tools/config.h"

namespace td::cli {

// `verb` is ls, show, cat, verify, redact or diff; the files are config.positional().
int RunCassetteCommand(std::string_view verb, const Config& config, std::ostream& out,
                       std::ostream& err);

// True when `path` starts with the zstd magic number (a compressed cassette keeps that form
// when a command rewrites it).
bool IsZstdFile(const std::string& path);

}  // namespace td::cli
