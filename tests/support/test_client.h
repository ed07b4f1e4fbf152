// File: tests/support/test_client.h
//
// A raw-socket HTTP/1.1 client for integration tests, independent of the proxy's own parser:
// it sends exact bytes and reads a response incrementally (head, then body as it arrives,
// de-chunked), so a test can assert on the first SSE event while the upstream still holds the
// rest back, see an abrupt end (EOF or ECONNRESET without the last chunk), or disconnect
// mid-stream. Blocking with deadlines (poll), on the test thread.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "cassette/model.h"
#include "tests/support/wait.h"

namespace td::testing {

struct ClientResponse {
  enum class End {
    kNone,      // still open (or not read to its end)
    kComplete,  // the body ended as framed (last chunk, Content-Length reached)
    kEof,       // the server closed the connection (the end, for a body read until close)
    kReset,     // the connection was reset (ECONNRESET)
  };
  int status = 0;
  std::string reason;
  cassette::Headers headers;
  std::string body;  // de-chunked
  bool chunked = false;
  End end = End::kNone;
  // For chunked bodies: the size of each chunk as framed by the server, in order.
  std::vector<size_t> chunk_sizes;
};

const char* EndName(ClientResponse::End end);

class TestClient {
 public:
  explicit TestClient(uint16_t port, std::string host = "127.0.0.1");
  ~TestClient();
  TestClient(const TestClient&) = delete;
  TestClient& operator=(const TestClient&) = delete;

  [[nodiscard]] ::testing::AssertionResult Connect();
  [[nodiscard]] ::testing::AssertionResult Send(std::string_view bytes);

  // "METHOD target HTTP/1.1", Host, the headers, Content-Length when there is a body.
  static std::string BuildRequest(std::string_view method, std::string_view target,
                                  const cassette::Headers& headers = {},
                                  std::string_view body = {});

  // Reads a response head. With `head_request`, the response has no body.
  [[nodiscard]] ::testing::AssertionResult ReadHead(
      ClientResponse* response, std::chrono::milliseconds timeout = kWaitTimeout,
      bool head_request = false);
  // Reads body bytes until `done(body)` holds. Fails if the response ends first or on timeout.
  [[nodiscard]] ::testing::AssertionResult ReadBodyUntil(
      ClientResponse* response, const std::function<bool(const std::string&)>& done,
      std::chrono::milliseconds timeout = kWaitTimeout);
  // Reads until the response ends in any way (response->end says how). Fails on timeout.
  [[nodiscard]] ::testing::AssertionResult ReadToEnd(
      ClientResponse* response, std::chrono::milliseconds timeout = kWaitTimeout);
  // ReadHead + ReadToEnd, and the response must be complete.
  [[nodiscard]] ::testing::AssertionResult ReadResponse(
      ClientResponse* response, std::chrono::milliseconds timeout = kWaitTimeout);
  // Reads raw bytes until the server closes the connection.
  [[nodiscard]] ::testing::AssertionResult ReadUntilClosed(
      std::string* raw, std::chrono::milliseconds timeout = kWaitTimeout);
  // Waits up to `timeout` for the server to send something (or close): true as soon as a read
  // would not block. For a client that paces its own sending (bytes at an interval) and must
  // stop as soon as it is answered.
  [[nodiscard]] bool WaitReadable(std::chrono::milliseconds timeout);
  // Sends nothing more and closes (FIN): the client leaving.
  void Close();

  bool connected() const { return fd_ >= 0; }

 private:
  enum class Fill { kData, kEof, kReset, kTimeout };
  Fill FillOnce(std::chrono::steady_clock::time_point deadline);
  // Moves decodable body bytes from in_ to response->body; true when the body is complete.
  bool Decode(ClientResponse* response);

  std::string host_;
  uint16_t port_;
  int fd_ = -1;
  std::string in_;  // bytes received and not yet consumed
  // Body decoding state of the current response.
  enum class State { kLength, kChunkSize, kChunkData, kChunkEnd, kTrailers, kUntilClose, kDone };
  State state_ = State::kDone;
  uint64_t remaining_ = 0;
  bool closed_by_peer_ = false;
  bool reset_by_peer_ = false;
};

}  // namespace td::testing
