// File: proxy/internal/headers.h
//
// Header rules shared by the server, the upstream client and the record path: which fields are
// hop-by-hop (RFC 9110 section 7.6.1) and so never cross the proxy, and which fields are safe to
// put on the wire (no CR/LF smuggled in from a hand-edited cassette).
#pragma once

#include <string_view>

#include "cassette/model.h"

namespace td::proxy::internal {

// Connection, Keep-Alive, Proxy-Connection, TE, Trailer, Transfer-Encoding, Upgrade and
// Content-Length (the proxy recomputes framing), compared case-insensitively.
bool IsHopByHopHeader(std::string_view name);

// `headers` minus the hop-by-hop fields above and every field named in a Connection header.
cassette::Headers EndToEndHeaders(const cassette::Headers& headers);

// A field name is a non-empty token; a value has no CR, LF, NUL or other control byte but HTAB.
bool IsValidFieldName(std::string_view name);
bool IsValidFieldValue(std::string_view value);

}  // namespace td::proxy::internal
