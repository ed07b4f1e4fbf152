// File: tests/integration/record_fixture.h
//
// The RecordTest fixture: a FakeUpstream on its own thread, and the record proxy (EventLoop +
// HttpServer + RecordHandler + CassetteWriter) on another, both on 127.0.0.1 with free ports.
// Tests talk to the proxy with TestClient and read the cassette back from disk.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "cassette/cassette_writer.h"
#include "cassette/codec.h"
#include "cassette/model.h"
#include "cassette/redact.h"
#include "proxy/http_server.h"
#include "proxy/record_handler.h"
#include "proxy/upstream_url.h"
#include "tests/support/fake_clock.h"
#include "tests/support/fake_upstream.h"
#include "tests/support/loop_thread.h"
#include "tests/support/test_client.h"
#include "tests/support/wait.h"

namespace td::testing {

struct RecordProxyConfig {
  std::string upstream_url;  // empty: the fixture's FakeUpstream
  proxy::UpstreamOptions upstream;
  cassette::RedactionRules redaction;
  bool passthrough = false;  // no cassette writer
  bool compress = true;
  const Clock* clock = nullptr;
  proxy::ServerOptions server;
  bool write_on_worker = false;
};

class RecordTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = std::filesystem::path(::testing::TempDir()) /
           ("tapedeck-" + std::string(info->test_suite_name()) + "-" + info->name() + "-" +
            std::to_string(::getpid()));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    cassette_path_ = (dir_ / "cassette.jsonl.zst").string();
  }

  void TearDown() override {
    StopProxy();
    upstream_.reset();
    std::filesystem::remove_all(dir_);
  }

  FakeUpstream& StartUpstream(FakeUpstream::Options options = {}) {
    upstream_ = std::make_unique<FakeUpstream>(std::move(options));
    return *upstream_;
  }

  // Starts the proxy; fails the test (and returns false) if it cannot.
  [[nodiscard]] ::testing::AssertionResult StartProxy(RecordProxyConfig config = {}) {
    if (config.upstream_url.empty()) config.upstream_url = upstream_->url();
    Result<proxy::UpstreamUrl> url = proxy::ParseUpstreamUrl(config.upstream_url);
    if (!url.ok()) return ::testing::AssertionFailure() << url.status().message();
    Result<cassette::Redactor> redactor = cassette::Redactor::Create(config.redaction);
    if (!redactor.ok()) return ::testing::AssertionFailure() << redactor.status().message();
    proxy_thread_ = std::make_unique<LoopThread>();
    Status started = proxy_thread_->RunSync([&]() -> Status {
      if (!config.passthrough) {
        cassette::WriteOptions write;
        write.compress = config.compress;
        write.level = 3;
        Result<std::unique_ptr<cassette::CassetteWriter>> writer = cassette::CassetteWriter::Open(
            cassette_path_, cassette::CassetteWriter::OpenMode::kTruncate, write);
        if (!writer.ok()) return writer.status();
        writer_ = std::move(*writer);
      }
      proxy::RecordOptions options;
      options.upstream_url = *url;
      options.upstream = config.upstream;
      options.redactor = *redactor;
      options.writer = writer_.get();
      options.clock = config.clock;
      options.write_on_worker = config.write_on_worker;
      options.on_recorded = [this](const cassette::Interaction& interaction, bool) {
        recorded_.Update([&] { recorded_list_.push_back(interaction); });
      };
      Result<std::unique_ptr<proxy::RecordHandler>> handler =
          proxy::RecordHandler::Create(&proxy_thread_->loop(), std::move(options));
      if (!handler.ok()) return handler.status();
      handler_ = std::move(*handler);
      Result<std::unique_ptr<proxy::HttpServer>> server =
          proxy::HttpServer::Create(&proxy_thread_->loop(), config.server, handler_.get());
      if (!server.ok()) return server.status();
      server_ = std::move(*server);
      return Status::Ok();
    });
    if (!started.ok()) return ::testing::AssertionFailure() << started.message();
    return ::testing::AssertionSuccess();
  }

  void StopProxy() {
    if (!proxy_thread_) return;
    proxy_thread_->RunSync([this] {
      server_.reset();
      handler_.reset();
      if (writer_) {
        Status closed = writer_->Close();
        EXPECT_TRUE(closed.ok()) << closed.message();
      }
      writer_.reset();
    });
    proxy_thread_.reset();
  }

  uint16_t proxy_port() const { return proxy_port_cached(); }

  proxy::RecordStats stats() {
    return proxy_thread_->RunSync([this] { return handler_->stats(); });
  }

  [[nodiscard]] ::testing::AssertionResult WaitForRecorded(size_t n) {
    return recorded_.WaitFor([&] { return recorded_list_.size() >= n; },
                             std::to_string(n) + " recorded interaction(s)");
  }

  std::vector<cassette::Interaction> recorded() {
    std::lock_guard<std::mutex> lock(recorded_.mutex());
    return recorded_list_;
  }

  cassette::Interaction recorded_front() {
    std::lock_guard<std::mutex> lock(recorded_.mutex());
    return recorded_list_.empty() ? cassette::Interaction{} : recorded_list_.front();
  }

  // Stops the proxy (closing the cassette) and reads the cassette file back.
  cassette::Cassette ReadBack() {
    StopProxy();
    Result<cassette::Cassette> cassette = cassette::ReadCassette(cassette_path_);
    EXPECT_TRUE(cassette.ok()) << cassette.status().message();
    return cassette.ok() ? *cassette : cassette::Cassette{};
  }

  std::unique_ptr<TestClient> Client() {
    auto client = std::make_unique<TestClient>(proxy_port());
    EXPECT_TRUE(client->Connect());
    return client;
  }

  std::filesystem::path dir_;
  std::string cassette_path_;
  // For tests that inject time (RecordProxyConfig::clock = &clock_). A member, not a local of
  // the test: the proxy's loop may still read it after the test body returns, until TearDown.
  FakeClock clock_;
  std::unique_ptr<FakeUpstream> upstream_;
  std::unique_ptr<LoopThread> proxy_thread_;
  // Loop-thread objects (created and destroyed through RunSync).
  std::unique_ptr<cassette::CassetteWriter> writer_;
  std::unique_ptr<proxy::RecordHandler> handler_;
  std::unique_ptr<proxy::HttpServer> server_;

 private:
  uint16_t proxy_port_cached() const { return server_ ? server_->port() : 0; }

  Notifier recorded_;
  std::vector<cassette::Interaction> recorded_list_;
};

}  // namespace td::testing
