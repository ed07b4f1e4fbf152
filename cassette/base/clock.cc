// Wall-time formatting for cassettes: RFC 3339 in UTC with a 4-digit year, clamped to the years
// 0000..9999 that the format (and the reader, internal::ParseRfc3339Micros) can spell.
#include "cassette/base/clock.h"

#include <algorithm>
#include <cstdio>
#include <ctime>

namespace td {

std::string FormatRfc3339Micros(Micros wall_us) {
  wall_us = std::clamp(wall_us, kMinRfc3339Micros, kMaxRfc3339Micros);
  std::time_t secs = static_cast<std::time_t>(wall_us / 1000000);
  long frac = static_cast<long>(wall_us % 1000000);
  if (frac < 0) {
    frac += 1000000;
    --secs;
  }
  std::tm tm_utc{};
  gmtime_r(&secs, &tm_utc);
  // Not strftime("%Y"): it writes year 26 as "26", which no reader takes back.
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm_utc.tm_year + 1900,
                tm_utc.tm_mon + 1, tm_utc.tm_mday, tm_utc.tm_hour, tm_utc.tm_min, tm_utc.tm_sec,
                frac);
  return buf;
}

}  // namespace td
