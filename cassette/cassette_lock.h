// File: cassette/cassette_lock.h
//
// One writer per cassette. A process that writes a cassette (record, auto, exec, the editing
// commands) holds an exclusive advisory lock for as long as it writes: `flock` on a lock file
// beside the cassette, `FILE.lock`, which holds the writer's PID so a second writer can say who
// is in the way. Readers (replay, ls, show, verify) never take the lock and never wait for it.
//
//   Result<CassetteLock> lock = CassetteLock::Acquire("s.jsonl.zst");
//   if (!lock.ok()) return lock.status();   // "... is being written by another tapedeck (pid 42)"
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include "cassette/base/status.h"
#include "cassette/base/unique_fd.h"

namespace td::cassette {

class CassetteLock {
 public:
  // The lock file of `cassette_path`: the same path plus ".lock".
  static std::string LockPath(const std::string& cassette_path);

  // Takes the lock without waiting. The lock file is created (0644) when absent, and holds this
  // process's PID while locked. Errors (kIo, so the CLI exits 3): another process holds the lock
  // ("cassette s.jsonl.zst is being written by another tapedeck (pid 42); one writer per
  // cassette"), or the lock file cannot be created (its folder is missing or read-only).
  static Result<CassetteLock> Acquire(const std::string& cassette_path);

  // The PID of the process writing `cassette_path`, when one holds its lock. Never blocks and
  // never takes the lock (it reads the PID the holder wrote and checks that the process lives).
  static std::optional<pid_t> Holder(const std::string& cassette_path);

  CassetteLock(CassetteLock&&) = default;
  CassetteLock& operator=(CassetteLock&&) = default;
  // Removes the lock file, then releases the lock.
  ~CassetteLock();

  const std::string& cassette_path() const { return cassette_path_; }

 private:
  CassetteLock(std::string cassette_path, UniqueFd fd)
      : cassette_path_(std::move(cassette_path)), fd_(std::move(fd)) {}

  std::string cassette_path_;
  UniqueFd fd_;  // holds the flock; invalid once moved from
};

}  // namespace td::cassette
