// File: bench/pin_thread.h
//
// Pins the calling thread to one core, so a benchmark can put the server and its load on
// different cores of a small machine. Threads started afterwards inherit the pinning.
#pragma once

#include <pthread.h>
#include <sched.h>

namespace td::bench {

// False if the kernel refused (no such core).
inline bool PinThisThreadToCore(int core) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(core, &set);
  return pthread_setaffinity_np(pthread_self(), sizeof set, &set) == 0;
}

}  // namespace td::bench
