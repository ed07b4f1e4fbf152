// File: bench/receive_stamp.h
//
// When bytes reached a client socket, by the kernel's receive timestamp (SO_TIMESTAMPNS):
// what the hops before the socket decide, not when a busy client thread got around to reading.
// The benchmarks time every event this way and stamp what they send with RealMicros().
#pragma once

#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>

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

}  // namespace td::bench
