// File: proxy/access_log.h
//
// The access log: one record per exchange, for record, passthrough, auto and replay alike, built
// by one formatter so every mode's lines carry the same fields:
//   mode=record result=recorded status=200 bytes=5321 ms=12 POST /v1/messages seq=3
//   mode=replay result=hit status=200 bytes=812 ms=0 POST /v1/messages interaction=3 end=reset
// With --log-format json the same record is an object whose fields are keys (mode, result,
// status, bytes, ms, method, path, seq or interaction, end, cassette, detail).
// Plain data in, no libevent: replay/ uses it through this header. The path must be the
// redacted view of the request's path (a key can sit in a path); it is logged without its
// query (queries carry keys); nothing else from the request is logged.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "cassette/base/clock.h"

namespace td::proxy {

struct AccessLogEntry {
  std::string_view mode;    // "record", "passthrough", "auto", "replay"
  std::string_view result;  // record: "recorded", "forwarded", "error", "truncated";
                            // replay: "hit", "miss", "exhausted"
  int status = 0;           // 0 when no response was sent
  uint64_t bytes = 0;       // response body bytes sent to the client
  Micros duration_us = 0;   // request arrival to response end
  std::string_view method;
  std::string_view path;             // redacted, no query
  std::string_view id_name = "seq";  // "seq" (arrival order) or "interaction" (replay)
  std::optional<uint64_t> id;        // absent: no id field (a miss has no interaction)
  std::string_view end;              // how a replayed response ended early: "reset", ...
  std::string_view cassette;         // the cassette, when one tapedeck serves several
  std::string_view detail;           // optional, `detail="..."` (an error reason)
};

// The text line, without a trailing newline. Control characters and quotes in free text are
// escaped so one entry is always one line.
std::string FormatAccessLine(const AccessLogEntry& entry);

// Writes the record at info level, in the configured format (text line, or JSON fields).
void LogAccess(const AccessLogEntry& entry);

}  // namespace td::proxy
