// FakeDns: a UDP DNS responder (RFC 1035 wire format) on its own thread, woken by an eventfd.
#include "tests/support/fake_dns.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>

namespace td::testing {
namespace {

constexpr size_t kHeaderSize = 12;
constexpr size_t kMaxNameSize = 255;  // RFC 1035 2.3.4, on the wire
constexpr uint16_t kTypeA = 1;
constexpr uint16_t kClassIn = 1;
constexpr uint8_t kRcodeNxdomain = 3;

uint16_t Get16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }

void Put16(std::vector<uint8_t>* out, uint16_t v) {
  out->push_back(static_cast<uint8_t>(v >> 8));
  out->push_back(static_cast<uint8_t>(v & 0xff));
}

void Put32(std::vector<uint8_t>* out, uint32_t v) {
  Put16(out, static_cast<uint16_t>(v >> 16));
  Put16(out, static_cast<uint16_t>(v & 0xffff));
}

}  // namespace

FakeDns::FakeDns() {
  fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0) {
    ADD_FAILURE() << "FakeDns: socket: " << std::strerror(errno);
    return;
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = 0;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t addr_len = sizeof(addr);
  if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &addr_len) != 0) {
    ADD_FAILURE() << "FakeDns: bind 127.0.0.1:0: " << std::strerror(errno);
    ::close(fd_);
    fd_ = -1;
    return;
  }
  wake_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_ < 0) {
    ADD_FAILURE() << "FakeDns: eventfd: " << std::strerror(errno);
    ::close(fd_);
    fd_ = -1;
    return;
  }
  port_ = ntohs(addr.sin_port);
  thread_ = std::thread([this] { Serve(); });
}

FakeDns::~FakeDns() {
  if (thread_.joinable()) {
    const uint64_t one = 1;
    ssize_t n;
    do {
      n = ::write(wake_, &one, sizeof(one));
    } while (n < 0 && errno == EINTR);
    thread_.join();
  }
  if (wake_ >= 0) ::close(wake_);
  if (fd_ >= 0) ::close(fd_);
}

std::string FakeDns::address() const { return "127.0.0.1:" + std::to_string(port_); }

void FakeDns::set_nxdomain(bool on) {
  std::lock_guard<std::mutex> lock(mu_);
  nxdomain_ = on;
}

void FakeDns::set_answer(const std::string& ipv4) {
  in_addr parsed{};
  if (inet_pton(AF_INET, ipv4.c_str(), &parsed) != 1) {
    ADD_FAILURE() << "FakeDns::set_answer: not an IPv4 address: \"" << ipv4 << "\"";
    return;
  }
  std::lock_guard<std::mutex> lock(mu_);
  std::memcpy(answer_.data(), &parsed.s_addr, answer_.size());  // already network order
}

void FakeDns::set_ttl(uint32_t seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  ttl_ = seconds;
}

int FakeDns::a_queries() const {
  std::lock_guard<std::mutex> lock(mu_);
  return a_queries_;
}

int FakeDns::queries() const {
  std::lock_guard<std::mutex> lock(mu_);
  return queries_;
}

std::vector<std::string> FakeDns::a_names() const {
  std::lock_guard<std::mutex> lock(mu_);
  return a_names_;
}

void FakeDns::Serve() {
  std::vector<uint8_t> packet(65536);  // the largest UDP payload fits
  std::vector<uint8_t> reply;
  for (;;) {
    pollfd fds[2] = {{fd_, POLLIN, 0}, {wake_, POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      ADD_FAILURE() << "FakeDns: poll: " << std::strerror(errno);
      return;
    }
    if (fds[1].revents != 0) return;
    if (fds[0].revents == 0) continue;
    // Drain every datagram queued, then poll again.
    for (;;) {
      sockaddr_storage peer{};
      socklen_t peer_len = sizeof(peer);
      const ssize_t n = ::recvfrom(fd_, packet.data(), packet.size(), MSG_TRUNC,
                                   reinterpret_cast<sockaddr*>(&peer), &peer_len);
      if (n < 0) {
        if (errno == EINTR) continue;
        break;  // EAGAIN, or an ICMP error queued by an earlier reply: nothing more to read
      }
      // MSG_TRUNC: n is the datagram's real length; one longer than the buffer is dropped.
      if (static_cast<size_t>(n) > packet.size()) continue;
      reply.clear();
      HandlePacket(packet.data(), static_cast<size_t>(n), &reply);
      if (reply.empty()) continue;
      // A lost reply is what UDP does anyway: evdns retries.
      (void)::sendto(fd_, reply.data(), reply.size(), 0, reinterpret_cast<sockaddr*>(&peer),
                     peer_len);
    }
  }
}

void FakeDns::HandlePacket(const uint8_t* data, size_t len, std::vector<uint8_t>* reply) {
  if (len < kHeaderSize) return;
  const uint16_t id = Get16(data);
  const uint8_t flags_hi = data[2];
  if ((flags_hi & 0x80) != 0) return;  // QR=1: a response, not a query
  if (Get16(data + 4) != 1) return;    // QDCOUNT
  // QNAME: length-prefixed labels up to a zero byte. Pointers (and the reserved 01/10 label
  // types) have no place in a question: drop the packet.
  size_t pos = kHeaderSize;
  std::string name;
  for (;;) {
    if (pos >= len) return;
    const uint8_t label = data[pos];
    if (label == 0) {
      ++pos;
      break;
    }
    if ((label & 0xc0) != 0) return;
    if (pos + 1 + label > len) return;
    if (!name.empty()) name += '.';
    for (size_t i = 0; i < label; ++i) {
      name += static_cast<char>(std::tolower(data[pos + 1 + i]));
    }
    pos += 1 + label;
    if (pos - kHeaderSize > kMaxNameSize) return;
  }
  if (pos + 4 > len) return;  // QTYPE, QCLASS
  const uint16_t qtype = Get16(data + pos);
  const size_t question_end = pos + 4;
  // Whatever follows the question (an EDNS OPT record, say) is ignored.

  const bool is_a = qtype == kTypeA;
  bool answer = false;
  uint8_t rcode = 0;
  std::array<uint8_t, 4> address{};
  uint32_t ttl = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++queries_;
    if (is_a) {
      ++a_queries_;
      a_names_.push_back(name);
      if (nxdomain_) {
        rcode = kRcodeNxdomain;
      } else {
        answer = true;
        address = answer_;
        ttl = ttl_;
      }
    }
  }

  Put16(reply, id);
  // QR=1, opcode copied, AA=1, TC=0, RD copied; RA=1, Z/AD/CD=0, RCODE.
  reply->push_back(static_cast<uint8_t>(0x80 | (flags_hi & 0x78) | 0x04 | (flags_hi & 0x01)));
  reply->push_back(static_cast<uint8_t>(0x80 | rcode));
  Put16(reply, 1);               // QDCOUNT
  Put16(reply, answer ? 1 : 0);  // ANCOUNT
  Put16(reply, 0);               // NSCOUNT
  Put16(reply, 0);               // ARCOUNT
  // The question exactly as asked: evdns checks the echo of its randomised letter case.
  reply->insert(reply->end(), data + kHeaderSize, data + question_end);
  if (answer) {
    reply->push_back(0xc0);  // NAME: a pointer to the question's name, at offset 12
    reply->push_back(static_cast<uint8_t>(kHeaderSize));
    Put16(reply, kTypeA);
    Put16(reply, kClassIn);
    Put32(reply, ttl);
    Put16(reply, static_cast<uint16_t>(address.size()));  // RDLENGTH
    reply->insert(reply->end(), address.begin(), address.end());
  }
}

}  // namespace td::testing
