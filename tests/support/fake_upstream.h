// File: tests/support/fake_upstream.h
//
// A scriptable upstream API for integration tests, on 127.0.0.1 with a free port, plain HTTP or
// TLS (test CA), running its own event loop on its own thread. Each request gets the next
// scripted response: fixed JSON, SSE events (all at once, or held back until the test releases
// them one by one), a reset mid-stream or before the head. It captures every request (headers,
// body) and notices when the proxy closes a connection mid-response (the cancel path).
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cassette/model.h"
#include "proxy/exchange.h"
#include "proxy/http_server.h"
#include "tests/support/loop_thread.h"
#include "tests/support/wait.h"

namespace td::testing {

struct FakeResponse {
  int status = 200;
  cassette::Headers headers;
  std::vector<std::string> pieces;  // the body, one write per piece
  bool content_length = false;      // frame by Content-Length; chunked otherwise
  bool hold = false;                // send pieces only when the test calls Release()
  bool reset_at_end = false;        // after the last piece, reset instead of finishing
  bool reset_before_head = false;   // reset the connection without answering
  // A body too big to hold: `generate(i)` makes piece i (empty: the end), written as the proxy
  // drains them (backpressure), so the fake upstream holds one piece at a time.
  std::function<std::string(uint64_t)> generate;

  // 200 application/json with a Content-Length.
  static FakeResponse Json(std::string body, int status = 200);
  // 200 text/event-stream, chunked, one write per event.
  static FakeResponse Sse(std::vector<std::string> events, bool hold = false);
  // 200 text/event-stream of `events` SSE events of `event_bytes` bytes each (different bytes
  // in each), generated as they are sent.
  static FakeResponse GeneratedSse(uint64_t events, size_t event_bytes);
};

struct CapturedRequest {
  uint64_t index = 0;  // arrival order, from 0
  std::string method;
  std::string target;
  cassette::Headers headers;
  std::string body;
  std::string peer;
  size_t pieces_sent = 0;
  bool finished = false;     // the response ended (finished or reset)
  bool client_gone = false;  // the proxy closed the connection before the response ended
};

class FakeUpstream {
 public:
  struct Options {
    std::string cert_file;  // TLS when both are set
    std::string key_file;
  };

  explicit FakeUpstream(Options options = {});
  ~FakeUpstream();
  FakeUpstream(const FakeUpstream&) = delete;
  FakeUpstream& operator=(const FakeUpstream&) = delete;

  uint16_t port() const { return port_; }
  // "http://127.0.0.1:PORT" or "https://localhost:PORT".
  std::string url() const;

  // The next request without a responder gets `response`; with the queue empty, requests get
  // the default response (404 JSON unless SetDefault).
  void Respond(FakeResponse response);
  void SetDefault(FakeResponse response);
  // Decides every response from the request instead (runs on the upstream's thread).
  void SetResponder(std::function<FakeResponse(const CapturedRequest&)> responder);

  // A held stream: sends its next `n` pieces (or all that are left), from any thread.
  void Release(uint64_t index, size_t n = 1);
  void ReleaseAll(uint64_t index);

  std::vector<CapturedRequest> requests();
  CapturedRequest request(uint64_t index);
  uint64_t accepted_connections();

  [[nodiscard]] ::testing::AssertionResult WaitForRequests(size_t n);
  [[nodiscard]] ::testing::AssertionResult WaitForPiecesSent(uint64_t index, size_t n);
  [[nodiscard]] ::testing::AssertionResult WaitForClientGone(uint64_t index);
  [[nodiscard]] ::testing::AssertionResult WaitForFinished(uint64_t index);

 private:
  class Handler;
  struct Stream {
    std::shared_ptr<proxy::Exchange> exchange;
    FakeResponse response;
    size_t sent = 0;
  };
  void HandleOnLoop(std::shared_ptr<proxy::Exchange> exchange);
  void SendPieces(uint64_t index, size_t n);
  void SendGenerated(uint64_t index);

  std::unique_ptr<LoopThread> thread_;
  std::unique_ptr<Handler> handler_;
  std::unique_ptr<proxy::HttpServer> server_;
  uint16_t port_ = 0;
  bool tls_ = false;

  Notifier notifier_;  // guards everything below
  std::vector<CapturedRequest> captured_;
  std::deque<FakeResponse> queue_;
  FakeResponse default_response_;
  std::function<FakeResponse(const CapturedRequest&)> responder_;

  std::map<uint64_t, Stream> streams_;  // loop thread only
};

}  // namespace td::testing
