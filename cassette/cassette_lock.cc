// The one-writer lock: flock on FILE.lock, the holder's PID inside, the file removed on release.
#include "cassette/cassette_lock.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <string_view>

namespace td::cassette {
namespace {

// A holder that exits removes the lock file while still holding the lock; a process that opened
// the old file just before finds its inode gone and tries again. Three tries are plenty.
constexpr int kAttempts = 3;

std::optional<pid_t> ReadPid(int fd) {
  char buf[32];
  const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
  if (n <= 0) return std::nullopt;
  std::string_view text(buf, static_cast<size_t>(n));
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
  pid_t pid = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), pid);
  if (ec != std::errc() || end != text.data() + text.size() || pid <= 0) return std::nullopt;
  return pid;
}

bool Alive(pid_t pid) { return ::kill(pid, 0) == 0 || errno == EPERM; }

}  // namespace

std::string CassetteLock::LockPath(const std::string& cassette_path) {
  return cassette_path + ".lock";
}

Result<CassetteLock> CassetteLock::Acquire(const std::string& cassette_path) {
  const std::string path = LockPath(cassette_path);
  const std::string where = "cassette " + cassette_path;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
    if (!fd.valid()) return IoErrno(where + ": cannot create its lock file " + path, errno);
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
      if (errno != EWOULDBLOCK) return IoErrno(where + ": lock " + path, errno);
      std::optional<pid_t> holder = ReadPid(fd.get());
      return IoError(where + " is being written by another tapedeck (" +
                     (holder ? "pid " + std::to_string(*holder) : std::string("pid unknown")) +
                     "); one writer per cassette: wait for it to finish, or record to another "
                     "file");
    }
    struct stat held {};
    struct stat named {};
    if (::fstat(fd.get(), &held) != 0) return IoErrno(where + ": stat " + path, errno);
    if (::stat(path.c_str(), &named) != 0 || named.st_ino != held.st_ino ||
        named.st_dev != held.st_dev) {
      continue;  // the previous holder removed this file as we locked it: lock the new one
    }
    const std::string pid = std::to_string(::getpid()) + "\n";
    if (::ftruncate(fd.get(), 0) != 0 ||
        ::pwrite(fd.get(), pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
      return IoErrno(where + ": write " + path, errno);
    }
    return CassetteLock(cassette_path, std::move(fd));
  }
  return IoError(where + ": its lock file " + path + " keeps being replaced; try again");
}

std::optional<pid_t> CassetteLock::Holder(const std::string& cassette_path) {
  UniqueFd fd(::open(LockPath(cassette_path).c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return std::nullopt;
  std::optional<pid_t> pid = ReadPid(fd.get());
  if (!pid || !Alive(*pid)) return std::nullopt;
  return pid;
}

CassetteLock::~CassetteLock() {
  if (!fd_.valid()) return;  // moved from
  // Unlink while still holding the lock, so no one can lock the old file after this.
  ::unlink(LockPath(cassette_path_).c_str());
  fd_.Reset();
}

}  // namespace td::cassette
