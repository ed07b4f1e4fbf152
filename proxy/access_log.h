// File: proxy/access_log.h
//
// One line per exchange, for record, passthrough, auto and replay alike:
//   mode=record result=recorded status=200 bytes=5321 ms=12 POST /v1/messages seq=3
// Plain data in, no libevent: replay/ may use it through this header. The path is logged
// without its query (queries can carry keys); nothing else from the request is.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "cassette/base/clock.h"

namespace td::proxy {

struct AccessLogEntry {
  std::string_view mode;    // "record", "passthrough", "auto", "replay"
  std::string_view result;  // record: "recorded", "forwarded", "error", "truncated";
                            // replay: "hit", "miss", ...
  int status = 0;           // 0 when no response was sent
  uint64_t bytes = 0;       // response body bytes sent to the client
  Micros duration_us = 0;   // request arrival to response end
  std::string_view method;
  std::string_view path;             // no query
  std::string_view id_name = "seq";  // "seq" (arrival order) or "interaction" (replay)
  uint64_t id = 0;
  std::string_view detail;  // optional, appended as `detail="..."` (an error reason)
};

// The line, without a trailing newline. Control characters and quotes in free text are
// escaped so one entry is always one line.
std::string FormatAccessLine(const AccessLogEntry& entry);

// Writes the line through TD_LOG(kInfo).
void LogAccess(const AccessLogEntry& entry);

}  // namespace td::proxy
