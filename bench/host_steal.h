// File: bench/host_steal.h
//
// Time the hypervisor took a virtual core away (steal time, from /proc/stat). On a small VM a
// few milliseconds of steal in a round put a hole of that size into every stream at once; the
// latency benches report it beside their figures so a reader can tell the host's tail from
// the code's. The kernel counts it in clock ticks (10 ms at USER_HZ 100), so a round shows
// either none or at least one tick. LoadAverageText says how busy the machine was around a run.
#pragma once

#include <stdlib.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>

namespace td::bench {

// Steal time of `core` so far, in microseconds; -1 if /proc/stat does not say.
inline std::int64_t StolenMicros(int core) {
  std::FILE* f = std::fopen("/proc/stat", "r");
  if (f == nullptr) return -1;
  char want[16];
  std::snprintf(want, sizeof want, "cpu%d ", core);
  char line[512];
  long long steal = -1;
  while (std::fgets(line, sizeof line, f) != nullptr) {
    if (std::strncmp(line, want, std::strlen(want)) != 0) continue;
    long long user, nice, system, idle, iowait, irq, softirq;
    if (std::sscanf(line + std::strlen(want), "%lld %lld %lld %lld %lld %lld %lld %lld", &user,
                    &nice, &system, &idle, &iowait, &irq, &softirq, &steal) != 8) {
      steal = -1;
    }
    break;
  }
  std::fclose(f);
  const long ticks_per_second = sysconf(_SC_CLK_TCK);
  if (steal < 0 || ticks_per_second <= 0) return -1;
  return static_cast<std::int64_t>(steal) * 1000000 / ticks_per_second;
}

// The 1-, 5- and 15-minute load averages as "1.23 0.98 0.77" (getloadavg), or "unknown".
inline std::string LoadAverageText() {
  double load[3];
  if (::getloadavg(load, 3) != 3) return "unknown";
  char text[64];
  std::snprintf(text, sizeof text, "%.2f %.2f %.2f", load[0], load[1], load[2]);
  return text;
}

}  // namespace td::bench
