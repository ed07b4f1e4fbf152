// File: tests/support/fake_sink.h
//
// FakeSink: a proxy::ResponseSink that records every call (Start's arguments, each Write's
// bytes and the scheduler time it happened at, Finish, Reset) and lets a test play the client:
// leave (SimulateClientGone), hold bytes unsent (buffered bytes, Drain) or leave in the middle
// of a write. Calls that break the sink's contract (Write before Start, Start twice, a body
// longer or shorter than the Content-Length given) are collected in protocol_errors().
// FakeExchange wraps a request and a FakeSink into a proxy::Exchange.
//
// Header-only; single-threaded.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cassette/base/clock.h"
#include "cassette/model.h"
#include "proxy/exchange.h"

namespace td::testing {

class FakeSink final : public proxy::ResponseSink {
 public:
  struct Call {
    enum class Kind { kStart, kWrite, kFinish, kReset };
    Kind kind;
    Micros at_us = 0;   // the clock's NowMicros() when the call was made (0 without a clock)
    std::string bytes;  // kWrite only
  };

  // `clock` (may be null) stamps each call; it must outlive the sink.
  explicit FakeSink(const Clock* clock = nullptr) : clock_(clock) {}

  // --- proxy::ResponseSink ---
  void Start(int status, const cassette::Headers& headers,
             std::optional<size_t> content_length) override {
    if (!open_) return Ignored();
    if (started_) protocol_errors_.push_back("Start called twice");
    started_ = true;
    status_ = status;
    headers_ = headers;
    content_length_ = content_length;
    calls_.push_back({Call::Kind::kStart, Now(), {}});
  }
  void Write(std::string_view bytes) override {
    if (open_ && gone_before_write_ && writes_.size() == *gone_before_write_) {
      gone_before_write_.reset();
      SimulateClientGone();
    }
    if (!open_) return Ignored();
    if (!started_) protocol_errors_.push_back("Write before Start");
    if (bytes.empty()) protocol_errors_.push_back("empty Write");
    writes_.emplace_back(bytes);
    write_times_.push_back(Now());
    body_.append(bytes);
    if (buffer_writes_) buffered_ += bytes.size();
    calls_.push_back({Call::Kind::kWrite, Now(), std::string(bytes)});
    if (content_length_ && body_.size() > *content_length_) {
      protocol_errors_.push_back("body longer than Content-Length");
    }
  }
  void Finish() override {
    if (!open_) return Ignored();
    if (!started_) protocol_errors_.push_back("Finish before Start");
    if (content_length_ && body_.size() != *content_length_) {
      protocol_errors_.push_back("Finish after " + std::to_string(body_.size()) + " of " +
                                 std::to_string(*content_length_) + " bytes");
    }
    finished_ = true;
    open_ = false;
    calls_.push_back({Call::Kind::kFinish, Now(), {}});
  }
  void Reset() override {
    if (!open_) return Ignored();
    reset_ = true;
    open_ = false;
    calls_.push_back({Call::Kind::kReset, Now(), {}});
  }
  bool IsOpen() const override { return open_; }
  size_t BufferedBytes() const override { return buffered_; }
  void SetOnDrained(std::function<void()> on_drained) override {
    on_drained_ = std::move(on_drained);
  }

  // --- playing the client ---
  // The client leaves: the sink closes (later calls are ignored) and, through FakeExchange,
  // the exchange's client-gone callback runs.
  void SimulateClientGone() {
    if (!open_) return;
    open_ = false;
    gone_ = true;
    if (on_gone_) on_gone_();
  }
  // The client leaves just before write number `n` (0-based) is accepted, and the sink says so
  // from inside Write(). The server's sink never does (it reports from the loop, later); a
  // producer that survives this survives the real one.
  void GoneBeforeWrite(size_t n) { gone_before_write_ = n; }
  // Every Write adds its size to BufferedBytes() until Drain().
  void set_buffer_writes(bool on) { buffer_writes_ = on; }
  void SetBufferedBytes(size_t n) { buffered_ = n; }
  // The socket took everything: BufferedBytes() becomes 0 and the drained callback, if one
  // is set, runs once and is dropped, as the server's sink does.
  void Drain() {
    buffered_ = 0;
    if (gone_ || !on_drained_) return;
    std::function<void()> fn = std::move(on_drained_);
    on_drained_ = nullptr;  // the callback may set a new one
    fn();
  }
  // Used by FakeExchange.
  void set_on_gone(std::function<void()> on_gone) { on_gone_ = std::move(on_gone); }

  // --- inspection ---
  bool started() const { return started_; }
  bool finished() const { return finished_; }
  bool reset() const { return reset_; }
  bool gone() const { return gone_; }
  int status() const { return status_; }
  const cassette::Headers& headers() const { return headers_; }
  const std::optional<size_t>& content_length() const { return content_length_; }
  // The first value of header `name`, or "" when absent.
  std::string header(std::string_view name) const {
    const std::string* v = cassette::FindHeader(headers_, name);
    return v == nullptr ? std::string() : *v;
  }
  const std::string& body() const { return body_; }
  const std::vector<std::string>& writes() const { return writes_; }
  const std::vector<Micros>& write_times() const { return write_times_; }
  const std::vector<Call>& calls() const { return calls_; }
  // When Start was called, or -1.
  Micros start_time() const { return TimeOf(Call::Kind::kStart); }
  // When Finish or Reset was called, or -1.
  Micros end_time() const {
    Micros t = TimeOf(Call::Kind::kFinish);
    return t >= 0 ? t : TimeOf(Call::Kind::kReset);
  }
  // Calls made after the sink had closed (allowed, and ignored, by the contract).
  size_t ignored_calls() const { return ignored_calls_; }
  const std::vector<std::string>& protocol_errors() const { return protocol_errors_; }
  bool has_on_drained() const { return static_cast<bool>(on_drained_); }

 private:
  Micros Now() const { return clock_ == nullptr ? 0 : clock_->NowMicros(); }
  void Ignored() { ++ignored_calls_; }
  Micros TimeOf(Call::Kind kind) const {
    for (const Call& c : calls_) {
      if (c.kind == kind) return c.at_us;
    }
    return -1;
  }

  const Clock* clock_;
  bool open_ = true;
  bool started_ = false;
  bool finished_ = false;
  bool reset_ = false;
  bool gone_ = false;
  bool buffer_writes_ = false;
  std::optional<size_t> gone_before_write_;
  int status_ = 0;
  cassette::Headers headers_;
  std::optional<size_t> content_length_;
  std::string body_;
  std::vector<std::string> writes_;
  std::vector<Micros> write_times_;
  std::vector<Call> calls_;
  size_t buffered_ = 0;
  size_t ignored_calls_ = 0;
  std::vector<std::string> protocol_errors_;
  std::function<void()> on_drained_;
  std::function<void()> on_gone_;
};

class FakeExchange final : public proxy::Exchange {
 public:
  // `clock` (may be null) stamps the sink's calls and arrived_us(); it must outlive this.
  explicit FakeExchange(cassette::Request request, const Clock* clock = nullptr,
                        std::uint64_t seq = 0)
      : request_(std::move(request)),
        target_(request_.Target()),
        seq_(seq),
        arrived_us_(clock == nullptr ? 0 : clock->NowMicros()),
        sink_(clock) {
    sink_.set_on_gone([this] {
      if (!on_client_gone_) return;
      std::function<void()> fn = std::move(on_client_gone_);  // called once
      on_client_gone_ = nullptr;
      fn();
    });
  }

  const cassette::Request& request() const override { return request_; }
  const std::string& target() const override { return target_; }
  std::uint64_t seq() const override { return seq_; }
  Micros arrived_us() const override { return arrived_us_; }
  std::string peer() const override { return "127.0.0.1:40000"; }
  proxy::ResponseSink& sink() override { return sink_; }
  void SetOnClientGone(std::function<void()> on_gone) override {
    on_client_gone_ = std::move(on_gone);
  }

  FakeSink& fake_sink() { return sink_; }
  // The client leaves (no-op once the response has ended).
  void SimulateClientGone() { sink_.SimulateClientGone(); }
  bool has_on_client_gone() const { return static_cast<bool>(on_client_gone_); }

 private:
  cassette::Request request_;
  std::string target_;
  std::uint64_t seq_;
  Micros arrived_us_;
  FakeSink sink_;
  std::function<void()> on_client_gone_;
};

}  // namespace td::testing
