// File: tools/har_commands.h
//
// `tapedeck cassette export-har IN OUT.har` and `tapedeck cassette import-har IN.har OUT`: the
// file side of cassette/har.h (reading with bounds, redaction on import, atomic writes, the
// --overwrite rule). Reports go to `out`, problems to `err`; each returns an exit code.
#pragma once

#include <optional>
#include <ostream>
#include <string_view>

#include "cassette/codec.h"
#include "cassette/redact.h"
#include "tools/config.h"

namespace td::cli {

// True for export-har and import-har.
bool IsHarVerb(std::string_view verb);

// Runs `verb` (IsHarVerb) on config.positional() (IN OUT). `read` caps reading: a cassette's
// lines for export; the HAR file's size for import (its parsed tree at twice that). Import runs
// every interaction through cassette::ScrubForDisk with `redactor` (the user's rules) and
// `fallback` (the built-in ones), both required for import. Blocking; the CLI's main thread.
int RunHarCommand(std::string_view verb, const Config& config, const cassette::ReadOptions& read,
                  const std::optional<cassette::Redactor>& redactor,
                  const std::optional<cassette::Redactor>& fallback, std::ostream& out,
                  std::ostream& err);

}  // namespace td::cli
