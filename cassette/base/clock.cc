// Wall-time formatting for cassettes.
#include "cassette/base/clock.h"

#include <cstdio>
#include <ctime>

namespace td {

std::string FormatRfc3339Micros(Micros wall_us) {
  std::time_t secs = static_cast<std::time_t>(wall_us / 1000000);
  long frac = static_cast<long>(wall_us % 1000000);
  if (frac < 0) {
    frac += 1000000;
    --secs;
  }
  std::tm tm_utc{};
  gmtime_r(&secs, &tm_utc);
  // Not strftime's %Y: glibc writes year 889 as "889", which no RFC 3339 reader accepts.
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm_utc.tm_year + 1900,
                tm_utc.tm_mon + 1, tm_utc.tm_mday, tm_utc.tm_hour, tm_utc.tm_min, tm_utc.tm_sec,
                frac);
  return buf;
}

}  // namespace td
