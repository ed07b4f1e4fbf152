// File: tests/support/fake_dns.h
//
// A fake DNS server for integration tests, on 127.0.0.1 with a free UDP port, running its own
// thread: point evdns at address(). It answers every A query, for any name, with the configured
// IPv4 address (127.0.0.1 unless set_answer) or, while set_nxdomain(true), with NXDOMAIN; AAAA
// and every other query type get an empty NOERROR answer. The question is echoed byte for byte
// (evdns randomises the name's letter case and checks the echo). It counts the queries and keeps
// the names asked in A queries, so a test can tell how many lookups the code under test made.
// Malformed packets are dropped unanswered.
#pragma once

#include <array>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace td::testing {

class FakeDns {
 public:
  // Binds 127.0.0.1:0 (UDP) and starts the thread. If that fails, the test fails (ADD_FAILURE)
  // and port() is 0.
  FakeDns();
  // Stops and joins the thread.
  ~FakeDns();
  FakeDns(const FakeDns&) = delete;
  FakeDns& operator=(const FakeDns&) = delete;

  uint16_t port() const { return port_; }
  // "127.0.0.1:PORT", what evdns_base_nameserver_ip_add takes.
  std::string address() const;

  // Answer A queries with NXDOMAIN (rcode 3) while true; with the address while false (default).
  void set_nxdomain(bool on);
  // The IPv4 address A answers carry (default "127.0.0.1"); anything else fails the test.
  void set_answer(const std::string& ipv4);
  // TTL in seconds put in A answers (default 300).
  void set_ttl(uint32_t seconds);

  // A queries received so far, and all well-formed queries (any type). A query is counted
  // before it is answered, so once a lookup's callback has run its queries are counted.
  int a_queries() const;
  int queries() const;
  // The names asked in A queries, lower-cased, in order (e.g. "api.test").
  std::vector<std::string> a_names() const;

 private:
  void Serve();
  void HandlePacket(const uint8_t* data, size_t len, std::vector<uint8_t>* reply);

  int fd_ = -1;    // the UDP socket
  int wake_ = -1;  // eventfd: the destructor writes it to stop the thread
  uint16_t port_ = 0;
  std::thread thread_;

  mutable std::mutex mu_;  // guards everything below
  bool nxdomain_ = false;
  std::array<uint8_t, 4> answer_ = {127, 0, 0, 1};
  uint32_t ttl_ = 300;
  int a_queries_ = 0;
  int queries_ = 0;
  std::vector<std::string> a_names_;
};

}  // namespace td::testing
