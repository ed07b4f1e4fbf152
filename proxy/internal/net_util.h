// File: proxy/internal/net_util.h
//
// Small socket helpers shared by the server and the upstream client: address (and timeout)
// formatting for logs, TCP_NODELAY (SSE events are small and must not wait for Nagle), and
// SO_LINGER 0 so a close sends RST (the way a network failure looks to a client), timevals
// for libevent and the IP-literal test.
#pragma once

#include <sys/socket.h>
#include <sys/time.h>

#include <string>

#include "cassette/base/clock.h"

namespace td::proxy::internal {

// "30 s" for whole seconds, else "300 ms": for messages that name a timeout.
std::string DurationText(Micros us);

// "127.0.0.1:53422" or "[::1]:8080"; "?" for an unknown family.
std::string FormatSockaddr(const sockaddr* addr);
// The local address a socket is bound to, or an empty string.
std::string LocalAddress(int fd, int* port);

// True for "127.0.0.1" and "::1" (no brackets): addresses, not names to resolve or to send as
// TLS SNI.
bool IsIpLiteral(const std::string& host);

timeval ToTimeval(Micros us);

void SetNoDelay(int fd);
// The next close() of `fd` sends RST and drops unsent data.
void SetLingerZero(int fd);

}  // namespace td::proxy::internal
