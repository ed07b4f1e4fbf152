// FakeUpstream: an HttpServer on its own loop thread answering with scripted responses.
#include "tests/support/fake_upstream.h"

#include "cassette/base/log.h"

namespace td::testing {

FakeResponse FakeResponse::Json(std::string body, int status) {
  FakeResponse r;
  r.status = status;
  r.headers = {{"content-type", "application/json"}, {"request-id", "req_fake"}};
  r.pieces = {std::move(body)};
  r.content_length = true;
  return r;
}

FakeResponse FakeResponse::Sse(std::vector<std::string> events, bool hold) {
  FakeResponse r;
  r.headers = {{"content-type", "text/event-stream; charset=utf-8"},
               {"cache-control", "no-cache"},
               {"request-id", "req_fake_stream"}};
  r.pieces = std::move(events);
  r.hold = hold;
  return r;
}

FakeResponse FakeResponse::GeneratedSse(uint64_t events, size_t event_bytes) {
  FakeResponse r = Sse({});
  r.generate = [events, event_bytes](uint64_t i) -> std::string {
    if (i >= events) return {};
    std::string event = "data: ";
    std::uint32_t seed = static_cast<std::uint32_t>(i) * 2654435761u + 1;
    while (event.size() + 2 < event_bytes) {
      seed = seed * 1664525u + 1013904223u;
      event += static_cast<char>('a' + (seed >> 24) % 26);
    }
    return event + "\n\n";
  };
  return r;
}

class FakeUpstream::Handler final : public proxy::Handler {
 public:
  explicit Handler(FakeUpstream* owner) : owner_(owner) {}
  void Handle(std::shared_ptr<proxy::Exchange> exchange) override {
    owner_->HandleOnLoop(std::move(exchange));
  }

 private:
  FakeUpstream* owner_;
};

FakeUpstream::FakeUpstream(Options options) {
  default_response_ = FakeResponse::Json(R"({"type":"error","error":{"type":"not_found_error",)"
                                         R"("message":"fake upstream: no response scripted"}})",
                                         404);
  tls_ = !options.cert_file.empty();
  thread_ = std::make_unique<LoopThread>();
  handler_ = std::make_unique<Handler>(this);
  proxy::ServerOptions server_options;
  server_options.host = "127.0.0.1";
  server_options.tls.cert_file = options.cert_file;
  server_options.tls.key_file = options.key_file;
  Result<std::unique_ptr<proxy::HttpServer>> server = thread_->RunSync(
      [&] { return proxy::HttpServer::Create(&thread_->loop(), server_options, handler_.get()); });
  TD_CHECK(server.ok()) << "fake upstream: " << server.status().message();
  server_ = std::move(*server);
  port_ = server_->port();
}

FakeUpstream::~FakeUpstream() {
  thread_->RunSync([this] {
    streams_.clear();
    server_.reset();
  });
  thread_.reset();
}

std::string FakeUpstream::url() const {
  return (tls_ ? "https://localhost:" : "http://127.0.0.1:") + std::to_string(port_);
}

void FakeUpstream::Respond(FakeResponse response) {
  notifier_.Update([&] { queue_.push_back(std::move(response)); });
}

void FakeUpstream::SetDefault(FakeResponse response) {
  notifier_.Update([&] { default_response_ = std::move(response); });
}

void FakeUpstream::SetResponder(std::function<FakeResponse(const CapturedRequest&)> responder) {
  notifier_.Update([&] { responder_ = std::move(responder); });
}

void FakeUpstream::HandleOnLoop(std::shared_ptr<proxy::Exchange> exchange) {
  const cassette::Request& request = exchange->request();
  CapturedRequest captured;
  captured.method = request.method;
  captured.target = exchange->target();
  captured.headers = request.headers;
  captured.body = request.body.bytes;
  captured.peer = exchange->peer();
  FakeResponse response;
  std::function<FakeResponse(const CapturedRequest&)> responder;
  notifier_.Update([&] {
    captured.index = captured_.size();
    captured_.push_back(captured);
    responder = responder_;
    if (!responder) {
      if (queue_.empty()) {
        response = default_response_;
      } else {
        response = std::move(queue_.front());
        queue_.pop_front();
      }
    }
  });
  if (responder) response = responder(captured);
  const uint64_t index = captured.index;
  exchange->SetOnClientGone([this, index] {
    notifier_.Update([&] { captured_[index].client_gone = true; });
    streams_.erase(index);
  });
  if (response.reset_before_head) {
    exchange->sink().Reset();
    notifier_.Update([&] { captured_[index].finished = true; });
    return;
  }
  size_t total = 0;
  for (const std::string& piece : response.pieces) total += piece.size();
  std::optional<size_t> length;
  if (response.content_length) length = total;
  exchange->sink().Start(response.status, response.headers, length);
  const bool hold = response.hold;
  const size_t count = response.pieces.size();
  const bool generated = static_cast<bool>(response.generate);
  streams_[index] = Stream{std::move(exchange), std::move(response), 0};
  if (generated) {
    SendGenerated(index);
  } else if (!hold || count == 0) {
    SendPieces(index, count);
  }
}

void FakeUpstream::SendGenerated(uint64_t index) {
  auto it = streams_.find(index);
  if (it == streams_.end()) return;
  Stream& stream = it->second;
  proxy::ResponseSink& sink = stream.exchange->sink();
  constexpr size_t kHighWatermark = 1 << 20;
  while (sink.IsOpen()) {
    if (sink.BufferedBytes() > kHighWatermark) {
      sink.SetOnDrained([this, index] { SendGenerated(index); });
      return;
    }
    std::string piece = stream.response.generate(stream.sent);
    if (piece.empty()) break;
    sink.Write(piece);
    ++stream.sent;
  }
  if (sink.IsOpen()) sink.Finish();
  const size_t sent = stream.sent;
  notifier_.Update([&] {
    captured_[index].pieces_sent = sent;
    captured_[index].finished = true;
  });
  streams_.erase(index);
}

void FakeUpstream::SendPieces(uint64_t index, size_t n) {
  auto it = streams_.find(index);
  if (it == streams_.end()) return;
  Stream& stream = it->second;
  proxy::ResponseSink& sink = stream.exchange->sink();
  for (size_t i = 0; i < n && stream.sent < stream.response.pieces.size(); ++i) {
    sink.Write(stream.response.pieces[stream.sent]);
    ++stream.sent;
  }
  const size_t sent = stream.sent;
  const bool last = sent == stream.response.pieces.size();
  if (last) {
    if (stream.response.reset_at_end) {
      sink.Reset();
    } else {
      sink.Finish();
    }
  }
  notifier_.Update([&] {
    captured_[index].pieces_sent = sent;
    if (last) captured_[index].finished = true;
  });
  if (last) streams_.erase(index);
}

void FakeUpstream::Release(uint64_t index, size_t n) {
  thread_->loop().Post([this, index, n] { SendPieces(index, n); });
}

void FakeUpstream::ReleaseAll(uint64_t index) { Release(index, SIZE_MAX); }

std::vector<CapturedRequest> FakeUpstream::requests() {
  std::lock_guard<std::mutex> lock(notifier_.mutex());
  return captured_;
}

CapturedRequest FakeUpstream::request(uint64_t index) {
  std::lock_guard<std::mutex> lock(notifier_.mutex());
  return index < captured_.size() ? captured_[index] : CapturedRequest{};
}

uint64_t FakeUpstream::accepted_connections() {
  return thread_->RunSync([this] { return server_->accepted_connections(); });
}

::testing::AssertionResult FakeUpstream::WaitForRequests(size_t n) {
  return notifier_.WaitFor([&] { return captured_.size() >= n; },
                           std::to_string(n) + " request(s) at the fake upstream");
}

::testing::AssertionResult FakeUpstream::WaitForPiecesSent(uint64_t index, size_t n) {
  return notifier_.WaitFor(
      [&] { return index < captured_.size() && captured_[index].pieces_sent >= n; },
      "fake upstream to send " + std::to_string(n) + " piece(s) of response " +
          std::to_string(index));
}

::testing::AssertionResult FakeUpstream::WaitForClientGone(uint64_t index) {
  return notifier_.WaitFor(
      [&] { return index < captured_.size() && captured_[index].client_gone; },
      "the proxy to close upstream connection of request " + std::to_string(index));
}

::testing::AssertionResult FakeUpstream::WaitForFinished(uint64_t index) {
  return notifier_.WaitFor([&] { return index < captured_.size() && captured_[index].finished; },
                           "fake upstream response " + std::to_string(index) + " to end");
}

}  // namespace td::testing
