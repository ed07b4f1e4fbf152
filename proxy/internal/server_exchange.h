// File: proxy/internal/server_exchange.h
//
// The Exchange and ResponseSink a ServerConnection hands to the handler for one request: it
// frames the response (Content-Length, chunked, or until close for an HTTP/1.0 client), batches
// writes between BeginBatch and EndBatch, and reports when the output drained. An exchange
// outlives its connection safely: once detached, every sink call is a no-op.
#pragma once

#include <sys/uio.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "proxy/exchange.h"
#include "proxy/internal/ev_handles.h"

namespace td::proxy::internal {

class ServerConnection;

class ServerExchange final : public Exchange,
                             public ResponseSink,
                             public std::enable_shared_from_this<ServerExchange> {
 public:
  ServerExchange(ServerConnection* conn, uint64_t seq, cassette::Request request,
                 std::string target, Micros arrived_us, std::string peer, bool head_request,
                 int version_minor, bool client_keep_alive);

  // Exchange.
  const cassette::Request& request() const override { return request_; }
  const std::string& target() const override { return target_; }
  std::uint64_t seq() const override { return seq_; }
  Micros arrived_us() const override { return arrived_us_; }
  std::string peer() const override { return peer_; }
  ResponseSink& sink() override { return *this; }
  void SetOnClientGone(std::function<void()> on_gone) override {
    // Once the response ended it can never be called: do not keep what it captured alive.
    on_client_gone_ = IsOpen() ? std::move(on_gone) : nullptr;
  }

  // ResponseSink.
  void Start(int status, const cassette::Headers& headers,
             std::optional<size_t> content_length) override;
  void Write(std::string_view bytes) override;
  size_t WritePieces(std::string_view bytes, std::span<const ByteRange> pieces) override;
  size_t WriteChunks(std::string_view chunks) override;
  void Finish() override;
  void Reset() override;
  void BeginBatch() override { batching_ = true; }
  void EndBatch() override;
  bool IsOpen() const override { return conn_ != nullptr && !ended_; }
  size_t BufferedBytes() const override;
  void SetOnDrained(std::function<void()> on_drained) override;

  // Connection side.
  void Detach();      // the connection is going away without telling the handler
  void ClientGone();  // the client left: detach, then call on_client_gone once
  void Drained();     // the output fell to the low watermark: call on_drained once
  bool started() const { return started_; }
  int status() const { return status_; }

 private:
  enum class Framing { kNone, kLength, kChunked, kUntilClose };

  // Open, started, and the body goes out in chunks: framed chunks can be sent as they are.
  bool SendsChunksAsTheyAre() const {
    return IsOpen() && started_ && framing_ == Framing::kChunked && !head_request_ &&
           !StatusHasNoBody(status_);
  }
  static bool StatusHasNoBody(int status) { return status < 200 || status == 204 || status == 304; }
  // Sends now, or appends to the batch between BeginBatch and EndBatch.
  void Emit(const iovec* iov, int count);
  void FlushBatch();
  // With a drain wait pending and the output already at or below the low watermark: calls
  // back on the next iteration (no write callback will come to do it).
  void DrainedSoonIfDrained();

  ServerConnection* conn_;  // null once detached
  uint64_t seq_;
  cassette::Request request_;
  std::string target_;
  Micros arrived_us_;
  std::string peer_;
  bool head_request_;
  int version_minor_;
  bool client_keep_alive_;

  bool started_ = false;
  bool ended_ = false;
  int status_ = 0;
  Framing framing_ = Framing::kNone;
  uint64_t content_length_ = 0;
  uint64_t written_ = 0;  // body bytes through Write(): checked against Content-Length
  bool keep_alive_ = true;
  bool overflow_logged_ = false;
  bool batching_ = false;  // framed bytes go to the connection's batch buffer until EndBatch
  std::function<void()> on_client_gone_;
  std::function<void()> on_drained_;
  TimerHandle drained_timer_;
};

}  // namespace td::proxy::internal
