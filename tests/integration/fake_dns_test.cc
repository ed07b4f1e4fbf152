// Integration tests of FakeDns with libevent's real resolver (evdns_getaddrinfo, as the proxy
// resolves upstream hosts) on an event loop: an A answer, NXDOMAIN and back, a changed address,
// and the counts and names a test relies on to tell how many lookups were made.
#include "tests/support/fake_dns.h"

#include <arpa/inet.h>
#include <event2/dns.h>
#include <event2/util.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <deque>
#include <string>
#include <vector>

#include "tests/support/loop_thread.h"
#include "tests/support/wait.h"

namespace td::testing {
namespace {

// One evdns_getaddrinfo call, filled in by its callback on the loop thread.
struct Lookup {
  Notifier notifier;  // guards the fields below
  bool done = false;
  int result = -1;
  std::vector<sockaddr_in> v4;  // the IPv4 addresses answered, in order
  int v6 = 0;                   // how many IPv6 addresses were answered
};

void OnResolved(int result, evutil_addrinfo* addrs, void* arg) {
  auto* lookup = static_cast<Lookup*>(arg);
  lookup->notifier.Update([&] {
    lookup->done = true;
    lookup->result = result;
    for (evutil_addrinfo* ai = addrs; ai != nullptr; ai = ai->ai_next) {
      if (ai->ai_family == AF_INET) {
        lookup->v4.push_back(*reinterpret_cast<const sockaddr_in*>(ai->ai_addr));
      } else if (ai->ai_family == AF_INET6) {
        ++lookup->v6;
      }
    }
  });
  if (addrs != nullptr) evutil_freeaddrinfo(addrs);
}

std::string Ip(const sockaddr_in& addr) {
  char text[INET_ADDRSTRLEN] = {};
  inet_ntop(AF_INET, &addr.sin_addr, text, sizeof(text));
  return text;
}

class FakeDnsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NE(dns_server_.port(), 0);
    // No system nameservers (flags 0): the fake is the only one asked.
    dns_ = thread_.RunSync([this]() -> evdns_base* {
      evdns_base* dns = evdns_base_new(thread_.loop().base(), 0);
      if (dns != nullptr && evdns_base_nameserver_ip_add(dns, dns_server_.address().c_str()) != 0) {
        evdns_base_free(dns, 1);
        return nullptr;
      }
      return dns;
    });
    ASSERT_NE(dns_, nullptr) << "evdns_base_new or nameserver_ip_add " << dns_server_.address();
  }

  void TearDown() override {
    // Before the loop goes; a lookup still pending fails with EVUTIL_EAI_CANCEL, while its
    // Lookup (in lookups_) is still alive.
    if (dns_ != nullptr) thread_.RunSync([this] { evdns_base_free(dns_, 1); });
  }

  // Resolves `host` port 443 the way the proxy does (any family, TCP) and waits for the answer.
  Lookup& Resolve(const std::string& host) {
    Lookup& lookup = lookups_.emplace_back();
    thread_.RunSync([&] {
      evutil_addrinfo hints{};
      hints.ai_family = AF_UNSPEC;
      hints.ai_socktype = SOCK_STREAM;
      // May call back before returning, and then returns null: either way `lookup` is filled.
      evdns_getaddrinfo(dns_, host.c_str(), "443", &hints, &OnResolved, &lookup);
    });
    EXPECT_TRUE(lookup.notifier.WaitFor([&] { return lookup.done; }, "lookup of " + host));
    return lookup;
  }

  FakeDns dns_server_;
  LoopThread thread_;
  evdns_base* dns_ = nullptr;   // loop thread only
  std::deque<Lookup> lookups_;  // stable addresses for the callbacks
};

TEST_F(FakeDnsTest, AnswersALookupWithLoopback) {
  Lookup& lookup = Resolve("api.test");
  std::lock_guard<std::mutex> lock(lookup.notifier.mutex());
  ASSERT_EQ(lookup.result, 0) << evutil_gai_strerror(lookup.result);
  ASSERT_EQ(lookup.v4.size(), 1u);
  EXPECT_EQ(Ip(lookup.v4[0]), "127.0.0.1");
  EXPECT_EQ(ntohs(lookup.v4[0].sin_port), 443);
  EXPECT_EQ(lookup.v6, 0);  // AAAA gets an empty answer
  EXPECT_EQ(dns_server_.a_queries(), 1);
  EXPECT_EQ(dns_server_.a_names(), std::vector<std::string>{"api.test"});
  // evdns asks AAAA alongside A for AF_UNSPEC; both are answered before the callback runs.
  EXPECT_EQ(dns_server_.queries(), 2);
}

TEST_F(FakeDnsTest, NxdomainFailsTheLookupUntilTurnedOff) {
  dns_server_.set_nxdomain(true);
  {
    Lookup& lookup = Resolve("api.test");
    std::lock_guard<std::mutex> lock(lookup.notifier.mutex());
    EXPECT_NE(lookup.result, 0);
    EXPECT_NE(lookup.result, EVUTIL_EAI_CANCEL) << "the lookup was cancelled, not answered";
    EXPECT_TRUE(lookup.v4.empty());
  }
  EXPECT_EQ(dns_server_.a_queries(), 1);

  dns_server_.set_nxdomain(false);
  {
    Lookup& lookup = Resolve("api.test");
    std::lock_guard<std::mutex> lock(lookup.notifier.mutex());
    ASSERT_EQ(lookup.result, 0) << evutil_gai_strerror(lookup.result);
    ASSERT_EQ(lookup.v4.size(), 1u);
    EXPECT_EQ(Ip(lookup.v4[0]), "127.0.0.1");
  }
  // evdns caches nothing: the second lookup asked again.
  EXPECT_EQ(dns_server_.a_queries(), 2);
  EXPECT_EQ(dns_server_.a_names(), (std::vector<std::string>{"api.test", "api.test"}));
}

TEST_F(FakeDnsTest, SetAnswerChangesTheAddress) {
  dns_server_.set_answer("127.0.0.2");
  dns_server_.set_ttl(5);
  Lookup& lookup = Resolve("Other.API.test");
  std::lock_guard<std::mutex> lock(lookup.notifier.mutex());
  ASSERT_EQ(lookup.result, 0) << evutil_gai_strerror(lookup.result);
  ASSERT_EQ(lookup.v4.size(), 1u);
  EXPECT_EQ(Ip(lookup.v4[0]), "127.0.0.2");
  // Names are recorded lower-cased, whatever the caller's (and evdns's randomised) case.
  EXPECT_EQ(dns_server_.a_names(), std::vector<std::string>{"other.api.test"});
}

}  // namespace
}  // namespace td::testing
