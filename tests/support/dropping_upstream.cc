// DroppingUpstream: blocking sockets on one thread, scripted to drop a pooled request.
#include "tests/support/dropping_upstream.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>

namespace td::testing {

DroppingUpstream::DroppingUpstream() {
  listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  EXPECT_EQ(::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  EXPECT_EQ(::listen(listener_, 16), 0);
  EXPECT_EQ(::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  port_ = ntohs(addr.sin_port);
  thread_ = std::thread([this] { Run(); });
}
DroppingUpstream::~DroppingUpstream() {
  ::shutdown(listener_, SHUT_RDWR);
  thread_.join();
  ::close(listener_);
}
std::vector<int> DroppingUpstream::connections_of_requests() {
  std::lock_guard<std::mutex> lock(mu_);
  return seen_;
}

void DroppingUpstream::Run() {
  int first = Accept();
  if (first < 0) return;
  if (ReadRequest(first, 1)) Answer(first, R"({"n":1})");
  ReadRequest(first, 1);  // the second request, on the pooled connection...
  ::close(first);         // ...dropped unanswered
  int second = Accept();
  if (second < 0) return;
  if (ReadRequest(second, 2)) Answer(second, R"({"n":2})");
  ::close(second);
}
int DroppingUpstream::Accept() {
  int fd = ::accept(listener_, nullptr, nullptr);
  if (fd >= 0) {
    timeval tv{10, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  return fd;
}
bool DroppingUpstream::ReadRequest(int fd, int connection) {
  std::string in;
  char buf[4096];
  size_t head_end = std::string::npos;
  size_t need = 0;
  while (head_end == std::string::npos || in.size() < head_end + 4 + need) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return false;
    in.append(buf, static_cast<size_t>(n));
    if (head_end == std::string::npos && (head_end = in.find("\r\n\r\n")) != std::string::npos) {
      std::string head = in.substr(0, head_end);
      for (char& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      size_t cl = head.find("content-length:");
      if (cl != std::string::npos) need = std::stoul(head.substr(cl + 15));
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  seen_.push_back(connection);
  return true;
}
void DroppingUpstream::Answer(int fd, const std::string& body) {
  std::string response = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: " +
                         std::to_string(body.size()) + "\r\n\r\n" + body;
  EXPECT_EQ(::send(fd, response.data(), response.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(response.size()));
}

}  // namespace td::testing
