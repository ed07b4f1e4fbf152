// File: cassette/scrub.h
//
// ScrubForDisk: the one pipeline that makes an interaction fit for a committed cassette, used by
// the record path (proxy/record_handler) and by `tapedeck cassette redact`: decode a compressed
// request body, redact, scan, mask what the scan still finds with the built-in rules, scan again.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "cassette/model.h"
#include "cassette/redact.h"

namespace td::cassette {

struct ScrubReport {
  // Every place redaction changed ("request.headers.x-api-key", ...), from `redactor` then the
  // fallback; and whether a compressed request body was stored decoded.
  RedactionReport redacted;
  bool decoded_request_body = false;
  // What a human should know, by rule and place, never by value: secrets the rules missed and
  // the fallback masked, bodies that cannot be decoded, secrets inside compressed bytes.
  std::vector<std::string> notes;
  // False when a secret-shaped value is left after all that (masked or not, inside compressed
  // bytes that must replay as they are): the interaction must then not be written, and the last
  // note says why.
  bool clean = true;
};

// Makes `interaction` fit for disk. First a compressed request body (Content-Encoding gzip,
// deflate, br, zstd or a list of them) is stored decoded, without its content-encoding header,
// so what follows reads plain bytes; one that cannot be decoded stays as sent and gets a note.
// Then it redacts with `redactor` and scans (ScanInteraction). Anything the scanner still finds
// is masked with `fallback` (the built-in rules: a default Redactor) and noted. Bodies still
// compressed (a response the upstream compressed anyway, stored as sent so it replays byte for
// byte) are decoded for the scan only. `index` is the interaction's place in its cassette.
// Thread: any; decoding is bounded by DecodeLimits' defaults.
ScrubReport ScrubForDisk(Interaction* interaction, const Redactor& redactor,
                         const Redactor& fallback, size_t index = 0);

}  // namespace td::cassette
