// File: tools/cassette_edit.h
//
// `tapedeck cassette edit FILE [--interaction N]`: the cassette (or one interaction) as pretty
// JSON in the user's editor ($VISUAL, else $EDITOR, else vi), under the cassette's lock.
// On save it is checked as the reader checks a cassette; a mistake re-opens the editor with the
// error at the top, as `#` lines (which are ignored); an empty save or an editor that fails
// cancels. The cassette is rewritten atomically, and only when something changed. Splits that no
// longer fit an edited event are dropped with a note (cassette/json_mapping.h).
#pragma once

#include <optional>
#include <ostream>
#include <string>

#include "cassette/codec.h"

namespace td::cli {

// `editor` is the command line run through /bin/sh with the file appended as "$1". Returns an
// exit code (tools/exit_codes.h): 0 written, unchanged or cancelled; 2 a bad --interaction;
// 3 the cassette cannot be read, locked or written.
int EditCassette(const std::string& path, std::optional<size_t> interaction,
                 const std::string& editor, const cassette::ReadOptions& read, std::ostream& out,
                 std::ostream& err);

}  // namespace td::cli
