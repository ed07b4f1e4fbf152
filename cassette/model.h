// File: cassette/model.h
//
// The in-memory cassette: what one recorded exchange is. The model holds wire truth (exact
// bytes); how those bytes look on disk (JSON for JSON bodies, text, base64) is the codec's
// business (cassette/codec.h, docs/cassette-format.md). Times are integer microseconds relative
// to the moment the proxy had the whole request and started answering it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cassette/base/clock.h"

namespace td::cassette {

// Headers in wire order, names as received. Duplicates (set-cookie) are separate entries.
// Names compare case-insensitively (use the helpers below).
using Header = std::pair<std::string, std::string>;
using Headers = std::vector<Header>;

bool HeaderNameEquals(std::string_view a, std::string_view b);
// The first value of `name`, or nullptr.
const std::string* FindHeader(const Headers& headers, std::string_view name);
// Removes every entry named `name`; returns how many were removed.
size_t RemoveHeader(Headers* headers, std::string_view name);
// Replaces every entry named `name` with one entry (appended when absent).
void SetHeader(Headers* headers, std::string_view name, std::string value);

// A message body as bytes. `exact` is false only for request bodies that were stored as JSON
// whose original spelling could not be kept (the bytes are then the re-serialised JSON; see
// docs/cassette-format.md). Replayed response bodies are always exact.
struct Body {
  std::string bytes;
  bool exact = true;

  bool empty() const { return bytes.empty(); }
  friend bool operator==(const Body&, const Body&) = default;
};

struct Request {
  std::string method;  // "POST"
  std::string path;    // "/v1/messages", no query, as received (not percent-decoded)
  // Query parameters in wire order, raw (not percent-decoded): "a=1&b" -> {{"a","1"},{"b",""}}.
  std::vector<std::pair<std::string, std::string>> query;
  Headers headers;
  Body body;
  // Where a forward-proxied request was going, "https://api.anthropic.com:443" (scheme, lower
  // case host, explicit port: MakeOrigin); empty for a request sent to tapedeck's own address
  // (base-URL mode), which is every request a cassette held before forward-proxy mode.
  std::string origin;

  // path + "?" + query, as it goes on the wire.
  std::string Target() const;
  // origin + Target(): "https://api.anthropic.com:443/v1/messages", or Target() alone in
  // base-URL mode. For what people read (ls, show, miss reports), never for matching.
  std::string Url() const { return origin + Target(); }
  friend bool operator==(const Request&, const Request&) = default;
};

// "https://api.anthropic.com:443": `scheme` and `host` lower-cased, an IPv6 host in brackets.
std::string MakeOrigin(std::string_view scheme, std::string_view host, uint16_t port);
// True for what MakeOrigin makes: "http" or "https", "://", a host of letters, digits, '.'
// and '-' (or a bracketed IPv6 literal), ':' and a port 1..65535. A cassette's origin is checked
// with it, so a hostile file cannot smuggle control characters into `ls` or a log line.
bool IsValidOrigin(std::string_view origin);

// Splits a raw request target ("/v1/messages?beta=true") into path and query.
void SplitTarget(std::string_view target, std::string* path,
                 std::vector<std::pair<std::string, std::string>>* query);

// A part of an event that arrived before the rest of it: bytes [0, end) of the event had
// arrived at `at_us`. Replay with recorded chunking writes each piece when it arrived.
struct Split {
  size_t end = 0;
  Micros at_us = 0;
  friend bool operator==(const Split&, const Split&) = default;
};

// One unit of a streamed body: an SSE event (its exact bytes, the blank line that ends it
// included) or, for a stream that is not SSE, one chunk as read from the upstream.
struct StreamEvent {
  std::string bytes;
  Micros at_us = 0;           // when its last byte arrived
  std::vector<Split> splits;  // earlier partial arrivals, ascending; empty when it came whole
  friend bool operator==(const StreamEvent&, const StreamEvent&) = default;
};

enum class StreamKind {
  kSse,     // text/event-stream: events are SSE events
  kChunks,  // any other streamed body: events are the chunks as they arrived
};

struct Stream {
  StreamKind kind = StreamKind::kSse;
  // In order. The concatenation of every event's bytes is the body, byte for byte. For a
  // truncated SSE stream the last entry may be an incomplete event (the bytes that came).
  std::vector<StreamEvent> events;

  size_t TotalBytes() const;
  std::string Concatenated() const;
  friend bool operator==(const Stream&, const Stream&) = default;
};

struct Response {
  int status = 0;
  Headers headers;               // end-to-end headers as received (hop-by-hop ones removed)
  Body body;                     // the body when it was not streamed
  std::optional<Stream> stream;  // the body when it was streamed; `body` is then empty

  bool streamed() const { return stream.has_value(); }
  friend bool operator==(const Response&, const Response&) = default;
};

struct Timing {
  Micros headers_us = 0;  // request forwarded -> response headers received
  Micros done_us = 0;     // request forwarded -> body complete (or cut)
  friend bool operator==(const Timing&, const Timing&) = default;
};

struct Interaction {
  std::uint64_t seq = 0;      // request-arrival order within the recording session
  Micros recorded_at_us = 0;  // wall time (Unix epoch) the request arrived
  Request request;
  Response response;
  Timing timing;
  // Why the response ended early ("upstream reset", "client disconnected", ...). Absent for
  // a complete response. A truncated interaction replays truncated.
  std::optional<std::string> truncated;
  friend bool operator==(const Interaction&, const Interaction&) = default;
};

// The format version this build writes. Every version ever shipped must still load.
// 2 added the header's "mounts", 3 its "recorded_by" (docs/cassette-format.md, "Versioning
// policy").
inline constexpr int kCassetteVersion = 3;

// The longest mount name, in bytes.
inline constexpr size_t kMaxMountNameBytes = 64;

// The one rule for a mount name (the NAME of `--upstream NAME=URL`, served under "/NAME/..."):
// 1 to 64 characters of a-z, 0-9, '_' and '-', the first a letter or a digit. So a name is one
// path segment that needs no escaping and cannot be "." or "..". The cassette reader and the
// flag parser both call this. Pure; any thread.
bool IsValidMountName(std::string_view name);

// Who made a recording, and where (the header's "recorded_by", version 3): for `cassette ls`, for
// a reviewer, and for replaying a cassette recorded in another checkout (exec's workspace
// normalisers). Never a credential: upstream URLs keep no query and no user information.
struct Provenance {
  std::string tapedeck;  // the version that recorded: "0.1.0"
  // "record", "auto", "exec record", "exec auto"; " --forward-proxy" follows when the run was
  // also a forward proxy (its interactions then carry their origin).
  std::string mode;
  // Where requests were forwarded: one unnamed upstream as {"", URL}, or each mount as
  // {NAME, URL}, in the order given.
  std::vector<std::pair<std::string, std::string>> upstreams;
  // exec only, what its command ran in ("" when not known): working directory, home
  // directory, user name and temp directory.
  std::string cwd, home, user, tmp;
  friend bool operator==(const Provenance&, const Provenance&) = default;
};

struct Cassette {
  int version = kCassetteVersion;
  Micros created_at_us = 0;
  // The mounts the recording was made through, in the order they were given ({"anthropic",
  // "openai"}); request paths keep their "/NAME" prefix. Empty: recorded through one unnamed
  // upstream, or not known (every version 1 file). Each is a valid mount name, none twice.
  std::vector<std::string> mounts;
  std::optional<Provenance> recorded_by;  // absent in files before version 3, and when unknown
  std::vector<Interaction> interactions;
  friend bool operator==(const Cassette&, const Cassette&) = default;
};

// The model name a request body names ("model": "..."), for listings. Empty when none.
std::string ModelOf(const Request& request);

}  // namespace td::cassette
