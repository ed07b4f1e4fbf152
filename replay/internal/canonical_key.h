// File: replay/internal/canonical_key.h
//
// A canonical body's fingerprint without the canonical body: the hash and the length of
// NormalizedRequest::CanonicalBody() ("j" + the sorted, compact JSON with the ignored paths
// erased, or "t" + the text), read in one pass over the body's JSON text with no tree
// (cassette/json_scan.h). Equal canonical bodies have equal keys. The index confirms a match of
// keys by comparing the canonical bodies themselves, so a collision costs time, never a wrong
// match (replay/index.h).
//
// Threading: pure functions.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "cassette/json_path.h"
#include "replay/normalize.h"

namespace td::replay::internal {

// Sizes count the canonical body's leading "j" or "t".
using CanonicalKey = BodyKey;

// The key of a JSON body (`json` after the normalisers, which LooksLikeJson), with what `ignore`
// reaches left out, as RequestNormalizer::NormalizeBody erases it. Returns false when it cannot
// tell, and the caller must build the canonical body: `json` is not JSON as nlohmann reads it (it
// may then be a text body), an object has a key twice (nlohmann keeps the last), it nests deeper
// than 512 levels, or an ignored path erases an array element by its index (which moves the
// elements after it). Never throws.
bool JsonCanonicalKey(std::string_view json, const std::vector<cassette::JsonPath>& ignore,
                      CanonicalKey* out);

// The key of a text body: its canonical body is "t" + `text`.
CanonicalKey TextCanonicalKey(std::string_view text);

// The key of a canonical body built the slow way ("j..." or "t...").
CanonicalKey KeyOfCanonical(std::string_view canonical);

}  // namespace td::replay::internal
