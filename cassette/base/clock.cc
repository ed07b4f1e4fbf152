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
  char buf[40];
  size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm_utc);
  std::snprintf(buf + n, sizeof buf - n, ".%06ldZ", frac);
  return buf;
}

}  // namespace td
