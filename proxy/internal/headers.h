// File: proxy/internal/headers.h
//
// Header fields on the wire: which are safe to write (no CR/LF smuggled in from a hand-edited
// cassette) and the one writer of "Name: value" lines, for the server's responses and the
// upstream client's requests. Which fields cross the proxy at all is cassette/http_headers.h.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "cassette/model.h"

namespace td::proxy::internal {

// A field name is a non-empty token; a value has no CR, LF, NUL or other control byte but HTAB.
bool IsValidFieldName(std::string_view name);
bool IsValidFieldValue(std::string_view value);

// Appends "Name: value\r\n" to `out` for each end-to-end field of `headers`
// (cassette::EndToEndHeaders), in order, except a field named `skip` (e.g. "host", which the
// caller writes itself) and a field whose name or value is not safe on the wire. Returns the
// names of the unsafe fields it left out, for the caller to report.
std::vector<std::string> AppendHeaderLines(const cassette::Headers& headers, std::string& out,
                                           std::string_view skip = {});

}  // namespace td::proxy::internal
