// File: tools/stable_view.h
//
// `tapedeck cassette cat --stable`: a cassette as text made for review diffs (git's
// diff.textconv). What changes on every recording of the same conversation is left out
// (recording times, arrival offsets, splits, and what cassette/volatile.h names: volatile
// headers, provider ids and creation times in JSON), each header is one line, JSON bodies and
// SSE data are pretty or compact JSON, so re-recording an identical conversation diffs to
// nothing and a changed reply diffs to the lines that changed. Not a cassette format: it does
// not read back (`cat` and `cat --jsonl` do).
#pragma once

#include <string>

#include "cassette/model.h"

namespace td::cli {

std::string StableView(const cassette::Cassette& cassette);

}  // namespace td::cli
