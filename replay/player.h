// File: replay/player.h
//
// Plays one recorded response into a ResponseSink on a Scheduler: status and recorded headers,
// then the body byte-exact, cut into writes per the chunking mode and paced per the timing
// mode, optionally ending in an injected fault. Deterministic: the same response, options and
// seed give the same writes at the same offsets. docs/replay.md describes the behaviour.
//
//   PreparedResponse prepared = PreparedResponse::From(interaction);   // once, at load
//   Player player(prepared, options, exchange.sink(), scheduler);
//   player.set_on_done([&] { ... });                                  // later, on the loop
//   player.Start();
//
// Threading: the event-loop thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <memory_resource>
#include <string>
#include <vector>

#include "cassette/model.h"
#include "cassette/provider.h"
#include "proxy/exchange.h"
#include "replay/play_options.h"

namespace td::replay {

// What playing a response needs, computed once per interaction at load so a hit costs no
// copying, parsing or framing. Independent of the play options.
struct PreparedResponse {
  // When recorded bytes arrived: bytes [previous end, end) of the body had all arrived at
  // `at_us`.
  struct Arrival {
    size_t end = 0;
    Micros at_us = 0;
  };

  // `memory` (not owned) holds the bytes and the arrays; it must outlive the response. The
  // replay handler passes its bulk memory (cassette/base/bulk_memory.h).
  explicit PreparedResponse(std::pmr::memory_resource* memory = std::pmr::get_default_resource())
      : body(memory), chunks(memory), arrivals(memory) {}

  int status = 0;
  // The recorded end-to-end headers (Date and request ids kept) without the framing the sink
  // recomputes: hop-by-hop headers, Content-Length, Transfer-Encoding.
  cassette::Headers headers;
  std::pmr::string body;  // a plain body (empty for a stream)
  bool streamed = false;
  cassette::StreamKind kind = cassette::StreamKind::kSse;
  // A stream: every event framed as one chunk of chunked transfer coding, as the default
  // chunking writes it (proxy/chunked_coding.h). A run of events is one range of it, written
  // as it lies (ResponseSink::WriteChunks); the chunks are also where the events' boundaries
  // are kept. An empty event (only a hand-edited cassette has one) is dropped: it has nothing
  // to write, and a fault's N does not count it.
  std::pmr::string chunks;
  size_t events = 0;       // a stream: how many chunks `chunks` holds
  size_t stream_size = 0;  // a stream: its bytes unframed, what a client reads
  // In body bytes (a stream's unframed bytes); ascending in `end` and `at_us`. Consecutive
  // pieces that arrived at the same time (the end of one event and the start of the next, in
  // one upstream read) are one arrival.
  std::pmr::vector<Arrival> arrivals;
  Micros headers_us = 0;
  Micros done_us = 0;
  bool truncated = false;  // the recording was cut: replay ends with a reset too
  cassette::Provider provider = cassette::Provider::kGeneric;

  // Each array is sized once, so memory that never frees (BulkMemory) holds no spare copies.
  static PreparedResponse From(
      const cassette::Interaction& interaction,
      std::pmr::memory_resource* memory = std::pmr::get_default_resource());

  // The bytes a client reads: the plain body's, or the stream's (its events, unframed).
  size_t body_size() const { return streamed ? stream_size : body.size(); }
  // Where a stream's first `n` events end: in `chunks`, and in the stream's bytes. Walks the
  // chunks, unless `n` covers them all.
  struct StreamPosition {
    size_t chunk = 0;
    size_t stream = 0;
  };
  StreamPosition PositionAfter(size_t n) const;
  // A stream's events concatenated, unframed (for the chunkings that cut across events).
  std::string StreamBytes() const;
  // When body byte `byte` had arrived (done_us without arrivals). `*hint` (start it at 0)
  // carries the search between calls, which must ask in ascending order.
  Micros ArrivalOf(size_t byte, size_t* hint) const;
};

class Player {
 public:
  enum class Outcome {
    kPlaying,    // not ended yet
    kFinished,   // ended cleanly (also after a truncate or error fault)
    kReset,      // ended abruptly (reset fault, or a recording that was cut)
    kStalled,    // stall fault: nothing more will be written; waits for Cancel()
    kCancelled,  // Cancel() was called, or the client was found gone
  };

  // `response`, `sink` and `scheduler` must outlive the player. `salt` varies random chunking
  // per interaction (the handler passes the interaction's index).
  Player(const PreparedResponse& response, const PlayOptions& options, proxy::ResponseSink& sink,
         proxy::Scheduler& scheduler, std::uint64_t salt = 0);
  // Cancels pending timers. Never destroy a player from inside its own callbacks (on_done, or
  // a sink callback its writes trigger): defer it to a later loop iteration.
  ~Player();
  Player(const Player&) = delete;
  Player& operator=(const Player&) = delete;

  // Called once when the play ends (finished, reset, or the client found gone), but never from
  // inside Start() or Cancel(): their callers see the outcome directly.
  void set_on_done(std::function<void()> on_done) { on_done_ = std::move(on_done); }

  // Begins playing; call once. With instant timing and no backpressure the whole response is
  // written before Start() returns (done() is then true).
  void Start();
  // The client has gone: cancels every pending timer; nothing more is written. Safe to call
  // from a sink callback during a write, and more than once.
  void Cancel();

  Outcome outcome() const { return outcome_; }
  // True once no more writes will come and nothing is pending (a stall is not done).
  bool done() const { return outcome_ != Outcome::kPlaying && outcome_ != Outcome::kStalled; }
  // The status sent (the recorded one, or the error fault's), once started.
  int status() const { return status_; }
  // Body bytes written so far (an injected error event included; chunk framing not counted).
  size_t bytes_written() const { return bytes_written_; }

 private:
  struct State;
  void Pump();
  // Write the next run of the body that is due and fits (in `*room`, which they take from);
  // false when nothing could be written.
  bool WriteChunkRun(Micros now, size_t* room);
  bool WritePieceRun(Micros now, size_t* room);
  bool BodyDone() const;
  void Schedule(Micros due);
  void OnDrained();
  Micros Due(Micros at_us);
  void End(Outcome outcome);

  const PreparedResponse* response_;
  PlayOptions options_;
  proxy::ResponseSink& sink_;
  proxy::Scheduler& scheduler_;
  std::uint64_t salt_;
  std::unique_ptr<State> state_;
  std::function<void()> on_done_;
  // The next paced step: made on the first wait (an instant play never has one) and armed
  // again for each later one, without an allocation per write.
  std::unique_ptr<proxy::RearmableTimer> timer_;
  bool drain_hooked_ = false;  // a drain callback was set at some point: cleared on destruction
  bool in_start_ = false;
  Outcome outcome_ = Outcome::kPlaying;
  int status_ = 0;
  size_t bytes_written_ = 0;
};

}  // namespace td::replay
