// File: cassette/base/unique_fd.h
//
// UniqueFd: owns one file descriptor and closes it when destroyed, so no code path (an early
// return, an error) leaks one. The one fd owner of the tree: the codec, the cassette lock, the
// event loop's eventfd and accepted sockets all use it.
//
//   UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
//   if (!fd.valid()) return IoErrno("open " + path, errno);
#pragma once

#include <unistd.h>

#include <cerrno>
#include <utility>

namespace td {

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { Reset(); }
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) {
      Reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  // Gives up ownership without closing (for an API that takes the descriptor over).
  int release() { return std::exchange(fd_, -1); }
  // Closes now and returns the errno close(2) gave, or 0 (close can report a failed write-back,
  // which a writer must not ignore).
  int Close() {
    if (fd_ < 0) return 0;
    const int rc = ::close(std::exchange(fd_, -1));
    return rc == 0 ? 0 : errno;
  }
  // Closes now, ignoring errors (for descriptors nothing was written through).
  void Reset() {
    if (fd_ >= 0) ::close(std::exchange(fd_, -1));
  }

 private:
  int fd_ = -1;
};

}  // namespace td
