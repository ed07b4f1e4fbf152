// File: cassette/http_headers.h
//
// Which header fields belong to one hop and which to the message (RFC 9110 section 7.6.1): the
// one rule the server, the upstream client, the recorder and the player all apply, so a field
// that never crosses the proxy is never recorded and never replayed either. And the standard
// reason phrases of status codes.
#pragma once

#include <string_view>

#include "cassette/model.h"

namespace td::cassette {

// Connection, Keep-Alive, Proxy-Connection, Proxy-Authenticate, Proxy-Authorization, TE,
// Trailer, Transfer-Encoding, Upgrade and Content-Length (whoever sends the message recomputes
// its framing), compared case-insensitively.
bool IsHopByHopHeader(std::string_view name);

// `headers` minus the hop-by-hop fields above and every field named in a Connection header, in
// their order.
Headers EndToEndHeaders(const Headers& headers);

// The standard reason phrase for a status ("OK", "Bad Request"), "Unknown" when none: what the
// server's status line and a HAR's statusText say.
std::string_view ReasonPhrase(int status);

}  // namespace td::cassette
