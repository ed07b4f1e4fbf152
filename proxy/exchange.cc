// Out-of-line anchors for the interfaces in exchange.h, and the one error responder.
#include "proxy/exchange.h"

#include "cassette/base/log.h"
#include "proxy/chunked_coding.h"

namespace td::proxy {

size_t ResponseSink::WritePieces(std::string_view bytes, std::span<const ByteRange> pieces) {
  size_t written = 0;
  for (const ByteRange& piece : pieces) {
    if (!IsOpen()) break;
    Write(bytes.substr(piece.begin, piece.end - piece.begin));
    if (!IsOpen()) break;  // closed during the write: the piece was not taken
    ++written;
  }
  return written;
}

size_t ResponseSink::WriteChunks(std::string_view chunks) {
  const size_t size = chunks.size();
  std::string_view payload;
  while (!chunks.empty() && IsOpen()) {
    std::string_view rest = chunks;
    if (!TakeChunk(&rest, &payload)) {
      TD_LOG(kError) << "malformed chunk framing handed to a response sink, "
                     << size - chunks.size() << " bytes in; the rest is not written";
      break;
    }
    Write(payload);
    if (!IsOpen()) break;  // closed during the write: the chunk was not taken
    chunks = rest;
  }
  return size - chunks.size();
}

namespace {

// Scheduler::NewTimer's default: each Arm() is a RunAfter().
class RunAfterTimer final : public RearmableTimer {
 public:
  RunAfterTimer(Scheduler& scheduler, std::function<void()> fn)
      : scheduler_(scheduler), fn_(std::move(fn)) {}
  // Re-armed from inside the callback, the handle being replaced is the one that fired: a
  // RunAfter callback may destroy its own handle.
  void Arm(Micros delay_us) override {
    handle_ = scheduler_.RunAfter(delay_us, [this] { fn_(); });
  }
  void Cancel() override { handle_.Cancel(); }

 private:
  Scheduler& scheduler_;
  std::function<void()> fn_;
  TimerHandle handle_;
};

}  // namespace

std::unique_ptr<RearmableTimer> Scheduler::NewTimer(std::function<void()> fn) {
  return std::make_unique<RunAfterTimer>(*this, std::move(fn));
}

size_t RespondWithError(ResponseSink& sink, int status, cassette::Provider provider,
                        std::string_view type, std::string_view message,
                        cassette::Headers headers) {
  const std::string body = cassette::ErrorBody(provider, type, message);
  headers.insert(headers.begin(), {"content-type", "application/json"});
  sink.Start(status, headers, body.size());
  sink.Write(body);
  sink.Finish();
  return body.size();
}

}  // namespace td::proxy
