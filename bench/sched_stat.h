// File: bench/sched_stat.h
//
// What the scheduler did to one thread, from /proc/TID/schedstat: time on a CPU, time waiting
// runnable on a run queue (woken or preempted, not yet running) and the number of times it ran.
// The latency benches take it for the server thread of each path around its rounds, so a tail
// can be laid at the door of CPU per event or of waiting for a core.
#pragma once

#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>

namespace td::bench {

struct SchedStat {
  std::int64_t on_cpu_ns = 0;
  std::int64_t wait_ns = 0;  // runnable but not running
  std::int64_t runs = 0;     // times it was put on a CPU

  SchedStat operator-(const SchedStat& o) const {
    return {on_cpu_ns - o.on_cpu_ns, wait_ns - o.wait_ns, runs - o.runs};
  }
  SchedStat& operator+=(const SchedStat& o) {
    on_cpu_ns += o.on_cpu_ns;
    wait_ns += o.wait_ns;
    runs += o.runs;
    return *this;
  }
};

// The calling thread's id (for ReadSchedStat from another thread).
inline int CurrentTid() { return static_cast<int>(::syscall(SYS_gettid)); }

// Thread `tid`'s counters so far (any thread of any process: /proc/TID/schedstat); zeros when
// the kernel does not keep them.
inline SchedStat ReadSchedStat(int tid) {
  SchedStat s;
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/schedstat", tid);
  std::FILE* f = std::fopen(path, "r");
  if (f == nullptr) return s;
  long long on = 0, wait = 0, runs = 0;
  if (std::fscanf(f, "%lld %lld %lld", &on, &wait, &runs) == 3) s = {on, wait, runs};
  std::fclose(f);
  return s;
}

// "on-CPU 12.3 us, run-queue wait 4.5 us, 0.9 runs" per `per` (events), for a report line.
inline void PrintSchedStatPer(const char* label, const SchedStat& s, long long per) {
  if (per <= 0) return;
  const double n = static_cast<double>(per);
  std::printf("    %-22s on-CPU %6.1f us, run-queue wait %6.1f us, %4.2f runs per event\n", label,
              static_cast<double>(s.on_cpu_ns) / 1e3 / n, static_cast<double>(s.wait_ns) / 1e3 / n,
              static_cast<double>(s.runs) / n);
}

}  // namespace td::bench
