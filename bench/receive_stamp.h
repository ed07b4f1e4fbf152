// File: bench/receive_stamp.h
//
// When bytes reached a client socket, by the kernel's receive timestamp (SO_TIMESTAMPNS):
// what the hops before the socket decide, not when a busy client thread got around to reading.
// The benchmarks time every event this way and stamp what they send with RealMicros().
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>

namespace td::bench {

// CLOCK_REALTIME in microseconds: the clock of SO_TIMESTAMPNS.
inline std::int64_t RealMicros() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

// Asks the kernel to stamp what `fd` receives. False if it cannot.
inline bool EnableReceiveStamps(int fd) {
  int one = 1;
  return setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one) == 0;
}

// Reads what `fd` has into `buf` like recv(). With data, `*arrived` becomes the kernel's
// receive time of the newest bytes read (microseconds, CLOCK_REALTIME), or -1 without a stamp.
inline ssize_t RecvStamped(int fd, char* buf, size_t size, std::int64_t* arrived) {
  iovec iov{buf, size};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(timespec))];
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n = recvmsg(fd, &msg, 0);
  *arrived = -1;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); n > 0 && c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
      timespec ts;
      std::memcpy(&ts, CMSG_DATA(c), sizeof ts);
      *arrived = static_cast<std::int64_t>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
    }
  }
  return n;
}

// Linux turns receive stamping on for the whole stack a moment after the first socket asks for
// it (deferred work) and off when the last such socket closes. Every client socket of a round
// is closed before the next round starts, so without a socket that stays, the first bytes of a
// round can arrive unstamped. A bench holds one of these for its whole run.
class ReceiveStampKeeper {
 public:
  // Opens a loopback UDP socket that asks for stamps, and waits (up to a second) until a
  // datagram it sends itself comes back stamped.
  ReceiveStampKeeper() {
    fd_ = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (fd_ < 0 || !EnableReceiveStamps(fd_) ||
        bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      return;
    }
    for (int tries = 0; tries < 1000 && !on_; ++tries) {
      char byte = 0;
      std::int64_t arrived = -1;
      if (sendto(fd_, &byte, 1, 0, reinterpret_cast<sockaddr*>(&addr), len) != 1) return;
      on_ = RecvStamped(fd_, &byte, 1, &arrived) == 1 && arrived >= 0;
      if (!on_) {
        timespec ms{0, 1000000};
        nanosleep(&ms, nullptr);
      }
    }
  }
  ~ReceiveStampKeeper() {
    if (fd_ >= 0) close(fd_);
  }
  ReceiveStampKeeper(const ReceiveStampKeeper&) = delete;
  ReceiveStampKeeper& operator=(const ReceiveStampKeeper&) = delete;
  // True once the kernel stamps what loopback sockets receive.
  bool on() const { return on_; }

 private:
  int fd_ = -1;
  bool on_ = false;
};

}  // namespace td::bench
