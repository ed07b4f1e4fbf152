// File: proxy/exchange.h
//
// The libevent-free seam between the HTTP plumbing and whatever answers requests. HttpServer
// turns each inbound request into an Exchange and hands it to a Handler; the handler answers
// through the exchange's ResponseSink, possibly later, from timers on a Scheduler. replay/ sees
// only this header, so the player and replay handler are unit-tested with fakes
// (tests/support/fake_sink.h, manual_scheduler.h) and no sockets.
//
// Threading: everything here is used on the event-loop thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "cassette/base/clock.h"
#include "cassette/model.h"
#include "cassette/provider.h"

namespace td::proxy {

// Bytes [begin, end) of a buffer.
struct ByteRange {
  size_t begin = 0;
  size_t end = 0;
};

// Where a response goes. Calls after the client has gone are ignored (IsOpen() is false).
class ResponseSink {
 public:
  virtual ~ResponseSink() = default;

  // Sends the status line and headers. `headers` are end-to-end headers; the sink adds the
  // framing: Content-Length when `content_length` is given, chunked transfer otherwise.
  // Hop-by-hop headers in `headers` are dropped. Call once, before anything else.
  virtual void Start(int status, const cassette::Headers& headers,
                     std::optional<size_t> content_length) = 0;
  // Sends `bytes` as one write (one chunk on a chunked response). Copies the bytes.
  virtual void Write(std::string_view bytes) = 0;
  // Writes each of `pieces` (ranges of `bytes`, in order) as Write() would, and returns how
  // many it wrote: fewer than all when the sink closed during the writes (a write during which
  // it closed does not count). For a producer with
  // many pieces due at once (instant replay of a stream): one call, and a sink may frame them
  // in one pass. The default calls Write() for each piece while IsOpen().
  virtual size_t WritePieces(std::string_view bytes, std::span<const ByteRange> pieces);
  // Writes `chunks`, whole chunks framed as proxy/chunked_coding.h frames them (FrameChunk),
  // each chunk one write as Write() of its payload would be. For a producer that frames its
  // writes ahead of time (replay frames a recorded stream's events once, at load): a chunked
  // response sends the bytes as they lie, without framing or copying them; within a batch it
  // keeps a reference only, so `chunks` must stay valid until EndBatch() (outside a batch,
  // until the call returns). Any other sink or framing gets each payload through Write().
  // Returns how many bytes of `chunks` it wrote: all of them unless the sink closed during the
  // writes, or `chunks` was malformed (logged as an error).
  virtual size_t WriteChunks(std::string_view chunks);
  // Writes between BeginBatch() and EndBatch() keep their framing (one chunk per Write) but may
  // reach the socket in one system call at EndBatch(): for a producer that writes many pieces
  // at once (instant replay writes a whole stream in one go). Finish() and Reset() flush a batch.
  virtual void BeginBatch() {}
  virtual void EndBatch() {}
  // Ends the response cleanly (terminating chunk; keep-alive may continue).
  virtual void Finish() = 0;
  // Ends the response abruptly: the connection is closed without a clean end (for a chunked
  // response, no terminating chunk), the way a network failure looks to the client.
  virtual void Reset() = 0;

  // False once the client has gone or the response was Finish()ed or Reset().
  virtual bool IsOpen() const = 0;
  // Bytes written but not yet taken by the socket. Producers that can wait (a recording
  // forwarding a stream) stop reading while this is above their high watermark...
  virtual size_t BufferedBytes() const = 0;
  // ...and are called back when it drains to the low watermark: once, after which the callback
  // is dropped (set it again to wait again). One callback at a time; replaces any earlier one.
  // Never called after the client has gone.
  virtual void SetOnDrained(std::function<void()> on_drained) = 0;
};

// One inbound request and the means to answer it. Owned by a shared_ptr: the server keeps it
// alive while the connection lives; a handler keeps its own reference as long as it works on it.
class Exchange {
 public:
  virtual ~Exchange() = default;

  // The request as received: method, path, raw query, headers, whole body.
  virtual const cassette::Request& request() const = 0;
  // The raw request target ("/v1/messages?beta=true"), byte for byte.
  virtual const std::string& target() const = 0;
  // Arrival sequence number, unique per server, ascending in arrival order.
  virtual std::uint64_t seq() const = 0;
  // Monotonic time (Scheduler/Clock NowMicros) when the whole request had arrived.
  virtual Micros arrived_us() const = 0;
  // "127.0.0.1:53422", for logs.
  virtual std::string peer() const = 0;

  virtual ResponseSink& sink() = 0;

  // Called once if the client goes away before the response was finished or reset, from the
  // loop and never from inside a sink call (a Write() that meets a dead socket only queues).
  // The handler must cancel its work (timers, upstream request). Replaces any earlier callback.
  virtual void SetOnClientGone(std::function<void()> on_gone) = 0;
};

// Answers the whole response at once with a JSON error in `provider`'s shape
// (cassette::ErrorBody: `type`, `message`): `status`, content-type application/json, then
// `headers` (x-should-retry, x-tapedeck-error, ...). Returns the body's size, for the access log.
size_t RespondWithError(ResponseSink& sink, int status, cassette::Provider provider,
                        std::string_view type, std::string_view message,
                        cassette::Headers headers = {});

// Answers exchanges. Handle() returns promptly; the answer may complete later on the loop.
class Handler {
 public:
  virtual ~Handler() = default;
  virtual void Handle(std::shared_ptr<Exchange> exchange) = 0;
};

// A pending timer. Move-only; destroying or Cancel()ing it cancels the timer if it has not fired.
class TimerHandle {
 public:
  // Implementations own the timer; their destructor cancels it.
  class Impl {
   public:
    virtual ~Impl() = default;
  };
  TimerHandle() = default;
  explicit TimerHandle(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
  TimerHandle(TimerHandle&&) = default;
  TimerHandle& operator=(TimerHandle&&) = default;
  void Cancel() { impl_.reset(); }
  explicit operator bool() const { return impl_ != nullptr; }

 private:
  std::unique_ptr<Impl> impl_;
};

// A timer armed again and again with one callback (a paced replay's next write): made once, so
// that arming it allocates nothing. Destroying it cancels it. Its callback may Arm() or
// Cancel() it, but must not destroy it.
class RearmableTimer {
 public:
  virtual ~RearmableTimer() = default;
  // Runs the callback once, `delay_us` from now (0: on the next loop iteration, never inline),
  // in place of any time it was armed for before.
  virtual void Arm(Micros delay_us) = 0;
  // Disarms it; it may be armed again.
  virtual void Cancel() = 0;
};

// Runs callbacks later on the loop. EventLoop implements it; tests use ManualScheduler.
class Scheduler : public Clock {
 public:
  // Runs `fn` once, `delay_us` from now (0: on the next loop iteration, never inline).
  // The handle must not outlive the scheduler.
  [[nodiscard]] virtual TimerHandle RunAfter(Micros delay_us, std::function<void()> fn) = 0;
  // A timer that runs `fn` each time it is armed and falls due. It must not outlive the
  // scheduler. The default arms through RunAfter (an allocation per Arm); EventLoop keeps one
  // libevent event per timer.
  [[nodiscard]] virtual std::unique_ptr<RearmableTimer> NewTimer(std::function<void()> fn);
};

}  // namespace td::proxy
