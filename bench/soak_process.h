// File: bench/soak_process.h
//
// The tapedeck process under soak: started by the bench (and only ever signalled by it), its
// port read from the "tapedeck listening on http://HOST:PORT" line on stderr, the rest of its
// stderr drained on a thread so it never blocks on a full pipe; and what /proc says of it.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "cassette/base/status.h"
#include "cassette/base/unique_fd.h"

namespace td::bench::soak {

// One look at the process in /proc.
struct ProcSample {
  double rss_mib = 0;  // VmRSS
  double hwm_mib = 0;  // VmHWM: the peak RSS so far
  int fds = 0;         // entries of /proc/PID/fd
  int threads = 0;
  double cpu_seconds = 0;       // utime + stime, all threads
  double main_cpu_seconds = 0;  // the main thread's (the event loop's)
};

class TapedeckProcess {
 public:
  // Runs `bin` with `args` and waits (up to `timeout_s` seconds) for its listening line. kIo with
  // what it printed when it exits or says nothing in time. The child gets SIGKILL if the bench's
  // main thread dies first.
  static Result<std::unique_ptr<TapedeckProcess>> Start(const std::string& bin,
                                                        const std::vector<std::string>& args,
                                                        int timeout_s = 20);
  // Stop() when it was not called.
  ~TapedeckProcess();
  TapedeckProcess(const TapedeckProcess&) = delete;
  TapedeckProcess& operator=(const TapedeckProcess&) = delete;

  pid_t pid() const { return pid_; }
  uint16_t port() const { return port_; }
  // Lines it wrote to stderr after the listening line (the first few are echoed, prefixed).
  uint64_t stderr_lines() const { return stderr_lines_.load(); }

  // Reads /proc/PID/{status,fd,stat}; std::nullopt once the process is gone.
  std::optional<ProcSample> Sample() const;

  // SIGTERM, then waits up to `grace_s` seconds for it to exit before SIGKILL. Returns its exit
  // status as waitpid gives it (-1 if it was already reaped).
  int Stop(int grace_s);

 private:
  TapedeckProcess() = default;

  pid_t pid_ = -1;
  uint16_t port_ = 0;
  UniqueFd stderr_;
  std::thread drain_;
  std::atomic<uint64_t> stderr_lines_{0};
  bool reaped_ = false;
  int status_ = -1;
};

}  // namespace td::bench::soak
