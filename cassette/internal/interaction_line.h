// File: cassette/internal/interaction_line.h
//
// The reader's fast path: one interaction line decoded straight into the model, with no JSON tree
// in between (cassette/json_scan.h reads it), when the line is in the shape tapedeck writes. The
// general path (internal/json_line.h, then InteractionFromJson) reads everything else and names
// every error; this one only ever says "not mine". See docs/cassette-format.md ("Reading").
#pragma once

#include <cstdint>
#include <string_view>

#include "cassette/model.h"

namespace td::cassette::internal {

// The largest tree the general path may build for a line of `line_bytes`, per byte: a line the
// fast path takes must be one the general path would not refuse as too big (json_line.h charges
// at most ~27 bytes of tree per byte of text, for "[\"\",\"\",...]").
inline constexpr std::uint64_t kMaxTreeBytesPerTextByte = 32;

// Decodes an interaction line of the current format into `*out` and returns true when the line
// is one the general path reads without a note: an object of the known keys, none twice, no
// "x-"/"_" notes; strings where the format allows {"base64": ...} spelt as strings; bodies as
// "text", "base64", or "json" spelt exactly as nlohmann's compact dump spells the value (then the
// bytes are that text); stream splits inside their events. `*out` is then exactly what
// InteractionFromJson(ParseJsonLine(line)) gives. Returns false for anything else, valid or not,
// with `*out` unspecified: the caller reads the line with the general path. `*out` may hold the
// previous line's interaction: its strings and vectors are reused. Never throws.
bool DecodeInteractionLine(std::string_view line, Interaction* out);

// True when `json` is a JSON value exactly as nlohmann's compact dump would write it back after
// parsing it (no blanks, the dump's escapes, numbers in its spelling, no key twice in an object,
// nesting at most kMaxJsonDepth): the value's bytes are then its text.
bool IsCompactDump(std::string_view json);

}  // namespace td::cassette::internal
