// File: cassette/internal/json_line.h
//
// A strict JSON parser (RFC 8259) for one cassette line, written for memory: each string is
// decoded into a buffer reserved once at its final size, so a line that holds one long string
// costs that string once more than the line. nlohmann's parser holds every token twice, in
// buffers that grow by doubling (up to 3x the string while one of them is copied), which is what
// made reading a 1 GiB line take 5 GiB. The values it builds are the ones
// nlohmann::ordered_json::parse builds (the same number types, duplicate keys keep the last
// value in the first key's place, a leading UTF-8 byte order mark is skipped), which
// tests/unit/cassette/json_line_test.cc checks against nlohmann on every form.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "cassette/json_mapping.h"

namespace td::cassette::internal {

// Parses `text` (one line without its '\n') into `*out`. Containers nested deeper than
// `max_depth`, and a tree whose estimated size passes `max_tree_bytes` (many tiny values cost
// up to ~20 bytes of tree per byte of text), are refused before they are built. On failure
// returns false and `*why` is "invalid JSON at column N" (N counts bytes from 1; the end of the
// line is its length + 1), "JSON nested deeper than N levels", or "its JSON would take more than
// 512 MiB of memory" (then `*too_big` is set, when given). Never throws; recursion is bounded by
// `max_depth`.
bool ParseJsonLine(std::string_view text, size_t max_depth, Json* out, std::string* why,
                   std::uint64_t max_tree_bytes = UINT64_MAX, bool* too_big = nullptr);

}  // namespace td::cassette::internal
