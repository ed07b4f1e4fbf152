// Integration tests of the record path to an HTTPS upstream: the test CA makes it work, its
// absence (or a certificate for another host) is a TLS error 502, and the explicit insecure
// switch turns verification off.
#include <gtest/gtest.h>

#include <filesystem>

#include "tests/integration/record_fixture.h"

namespace td::testing {
namespace {

std::string CertsDir() { return TD_TEST_CERTS_DIR; }

bool HaveCerts() { return std::filesystem::exists(CertsDir() + "/ca.pem"); }

class RecordTlsTest : public RecordTest {
 protected:
  void SetUp() override {
    if (!HaveCerts()) GTEST_SKIP() << "no test certificates in " << CertsDir();
    RecordTest::SetUp();
  }

  void StartTlsUpstream(std::string_view name = "server") {
    FakeUpstream::Options options;
    options.cert_file = CertsDir() + "/" + std::string(name) + ".pem";
    options.key_file = CertsDir() + "/" + std::string(name) + ".key";
    StartUpstream(options);
    upstream_->SetDefault(FakeResponse::Sse({"event: ping\ndata: {}\n\n", "data: [DONE]\n\n"}));
  }

  ClientResponse Post() {
    auto client = Client();
    EXPECT_TRUE(client->Send(TestClient::BuildRequest(
        "POST", "/v1/messages", {{"x-api-key", "test-key"}}, R"({"stream":true})")));
    ClientResponse response;
    EXPECT_TRUE(client->ReadResponse(&response));
    return response;
  }
};

TEST_F(RecordTlsTest, HttpsUpstreamWithTheTestCaWorks) {
  StartTlsUpstream();
  RecordProxyConfig config;
  config.upstream.ca_file = CertsDir() + "/ca.pem";
  ASSERT_TRUE(StartProxy(config));
  ClientResponse response = Post();
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, "event: ping\ndata: {}\n\ndata: [DONE]\n\n");
  ASSERT_TRUE(upstream_->WaitForRequests(1));
  EXPECT_EQ(*cassette::FindHeader(upstream_->request(0).headers, "host"),
            "localhost:" + std::to_string(upstream_->port()));
  ASSERT_TRUE(WaitForRecorded(1));
  cassette::Cassette cassette = ReadBack();
  ASSERT_EQ(cassette.interactions.size(), 1u);
  EXPECT_EQ(cassette.interactions[0].response.stream->events.size(), 2u);
}

TEST_F(RecordTlsTest, IpLiteralUpstreamIsVerifiedAgainstTheIpSan) {
  StartTlsUpstream();
  RecordProxyConfig config;
  config.upstream_url = "https://127.0.0.1:" + std::to_string(upstream_->port());
  config.upstream.ca_file = CertsDir() + "/ca.pem";
  ASSERT_TRUE(StartProxy(config));
  EXPECT_EQ(Post().status, 200);
}

TEST_F(RecordTlsTest, WithoutTheCaTheClientGetsATlsError502) {
  StartTlsUpstream();
  ASSERT_TRUE(StartProxy());
  ClientResponse response = Post();
  EXPECT_EQ(response.status, 502);
  EXPECT_NE(response.body.find("tls handshake with localhost:" + std::to_string(upstream_->port()) +
                               " failed"),
            std::string::npos)
      << response.body;
  EXPECT_NE(response.body.find("certificate verify failed"), std::string::npos) << response.body;
  EXPECT_TRUE(upstream_->requests().empty()) << "no request may go out over an unverified link";
  EXPECT_TRUE(ReadBack().interactions.empty());
}

TEST_F(RecordTlsTest, CertificateForAnotherHostIsRejected) {
  StartTlsUpstream("wrong-host");
  RecordProxyConfig config;
  config.upstream.ca_file = CertsDir() + "/ca.pem";
  ASSERT_TRUE(StartProxy(config));
  ClientResponse response = Post();
  EXPECT_EQ(response.status, 502);
  EXPECT_NE(response.body.find("hostname mismatch"), std::string::npos) << response.body;
  EXPECT_TRUE(upstream_->requests().empty());
}

TEST_F(RecordTlsTest, InsecureSkipsVerification) {
  StartTlsUpstream("wrong-host");
  RecordProxyConfig config;
  config.upstream.insecure = true;
  ASSERT_TRUE(StartProxy(config));
  EXPECT_EQ(Post().status, 200);
}

TEST_F(RecordTlsTest, HttpsToAPlainHttpUpstreamIsATlsError) {
  StartUpstream();  // plain HTTP
  RecordProxyConfig config;
  config.upstream_url = "https://127.0.0.1:" + std::to_string(upstream_->port());
  ASSERT_TRUE(StartProxy(config));
  ClientResponse response = Post();
  EXPECT_EQ(response.status, 502);
  EXPECT_NE(response.body.find("tls handshake with 127.0.0.1:" + std::to_string(upstream_->port()) +
                               " failed"),
            std::string::npos)
      << response.body;
}

TEST_F(RecordTlsTest, HttpsToAClosedPortIsAConnectError) {
  StartTlsUpstream();
  const uint16_t port = upstream_->port();
  upstream_.reset();
  RecordProxyConfig config;
  config.upstream_url = "https://localhost:" + std::to_string(port);
  config.upstream.ca_file = CertsDir() + "/ca.pem";
  ASSERT_TRUE(StartProxy(config));
  ClientResponse response = Post();
  EXPECT_EQ(response.status, 502);
  EXPECT_NE(response.body.find("connect to localhost:" + std::to_string(port) +
                               " failed: Connection refused"),
            std::string::npos)
      << response.body;
}

TEST_F(RecordTlsTest, UnreadableCaFileFailsAtStart) {
  StartTlsUpstream();
  RecordProxyConfig config;
  config.upstream.ca_file = (dir_ / "missing-ca.pem").string();
  ::testing::AssertionResult started = StartProxy(config);
  ASSERT_FALSE(started);
  EXPECT_NE(std::string(started.message()).find("upstream CA file " + config.upstream.ca_file),
            std::string::npos)
      << started.message();
}

}  // namespace
}  // namespace td::testing
