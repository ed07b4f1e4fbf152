// File: cassette/har.h
//
// Cassettes to and from HAR 1.2 (the HTTP Archive format browsers and Polly.JS write), pure:
// JSON trees in, JSON trees out, no files. What HAR cannot hold exactly (streamed events and
// their times, seq, exact times, strings that are not UTF-8, ...) rides in `_tapedeck` objects,
// so export then import gives back the same cassette. The mapping: docs/cassette-format.md, "HAR".
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "cassette/base/status.h"
#include "cassette/json_mapping.h"
#include "cassette/model.h"

namespace td::cassette {

// The HAR request URL's origin for every exported entry: cassettes keep paths only (the path is
// what tapedeck served, mount prefix included), and ".invalid" (RFC 2606) never resolves, so a
// tool that replays the HAR cannot reach a real host by accident.
inline constexpr std::string_view kHarOrigin = "http://tapedeck.invalid";

// The version of the `_tapedeck` extension this build writes and reads (log._tapedeck.version).
inline constexpr int kHarExtensionVersion = 1;

// The HAR of `cassette`: log.version "1.2", creator tapedeck, one entry per interaction in
// order, log._tapedeck holding the cassette header and each entry's _tapedeck what its HAR
// fields cannot hold exactly. Errors: kInvalidArgument only for a cassette no file can hold
// (a mount name that is not valid, or one listed twice). Pure; any thread.
// `creator_version` is the exporting tapedeck's (log.creator.version).
Result<cassette::Json> CassetteToHar(const cassette::Cassette& cassette,
                                     std::string_view creator_version);

// What an import made, besides the interactions: one sentence per entry skipped or changed in a
// way the user should know about ("entries[4]: a data: URL, not an HTTP request; skipped").
struct HarImport {
  cassette::Cassette cassette;
  std::vector<size_t> entries;  // entries[i]: the HAR entry interaction i came from
  std::vector<std::string> notes;
};

// The cassette a HAR describes. Entries with a `_tapedeck` object (written by CassetteToHar)
// come back exactly as exported; other entries (a browser's, Polly's) are read as a recording
// would have stored them: non-streamed, except a text/event-stream body, which becomes an SSE
// stream whose events all arrived when the HAR says the body had (its `receive` ended);
// HTTP/2 pseudo-headers and hop-by-hop headers dropped; and, since HAR response content is
// decoded, the response's Content-Encoding dropped. Redaction is the caller's (ScrubForDisk).
// Errors (kParse), naming the place: "not a HAR (no log.entries)", "entries[3]: missing
// \"response\"", "entries[3].request.headers[1].value: expected a string",
// "entries[3]._tapedeck: response.stream.events[0]: missing \"data\"". Pure; any thread.
Result<HarImport> HarToCassette(const cassette::Json& har);

// Parses the text of a HAR file with the cassette reader's parser (bounded depth, bounded
// tree). Errors (kParse): "line 12, column 5: invalid JSON" (lines and
// columns count from 1, columns in bytes), "JSON nested deeper than N levels", and a tree whose
// estimated size passes `max_tree_bytes` ("its JSON would take more than 512 MiB of memory
// (2 x --max-line-bytes); refusing to read it"). Never throws. Pure; any thread.
Result<cassette::Json> ParseHarText(std::string_view text, std::uint64_t max_tree_bytes);

// The HAR file at `path`, at most `max_bytes` of it (checked before and while reading, for a
// file that grows or is a pipe), parsed by ParseHarText with a tree bound of 2 x `max_bytes`.
// Errors: kIo when it cannot be read, kParse ("har X: file is larger than 256 MiB; refusing
// to read it", or ParseHarText's, prefixed "har X: ").
Result<cassette::Json> ReadHarFile(const std::string& path, std::uint64_t max_bytes);

// Writes `har` to `path`, pretty (2 spaces), atomically (a temporary file renamed over it).
Status WriteHarFileAtomic(const std::string& path, const cassette::Json& har);

}  // namespace td::cassette
