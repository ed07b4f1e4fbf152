// The player: headers, paced writes, the end (clean, reset, fault) and backpressure.
#include "replay/player.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <span>

#include "cassette/http_headers.h"
#include "proxy/chunked_coding.h"
#include "replay/internal/chunk_cursor.h"
#include "replay/internal/piece_cursor.h"

namespace td::replay {
namespace {

// Above this many unsent bytes in the sink, wait for it to drain before writing more (byte
// chunking of a large body would otherwise queue megabytes of chunk framing).
constexpr size_t kHighWatermark = 256 * 1024;

// Pieces handed to the sink per call (byte or random chunking): a byte-chunked body is many
// calls, each framing its pieces in one pass.
constexpr size_t kRunPieces = 64;

}  // namespace

PreparedResponse PreparedResponse::From(const cassette::Interaction& interaction,
                                        std::pmr::memory_resource* memory) {
  const cassette::Response& response = interaction.response;
  PreparedResponse p(memory);
  p.status = response.status;
  p.headers = cassette::EndToEndHeaders(response.headers);
  p.headers_us = std::max<Micros>(0, interaction.timing.headers_us);
  p.done_us = std::max(p.headers_us, interaction.timing.done_us);
  p.truncated = interaction.truncated.has_value();
  p.provider = cassette::DetectProvider(interaction.request);

  // Arrival times never go backwards, even in a hand-edited cassette.
  auto add_arrival = [&p](size_t end, Micros at_us) {
    if (!p.arrivals.empty()) {
      at_us = std::max(at_us, p.arrivals.back().at_us);
      if (p.arrivals.back().at_us == at_us) {
        p.arrivals.back().end = end;
        return;
      }
    }
    p.arrivals.push_back(Arrival{end, at_us});
  };
  if (response.stream) {
    p.streamed = true;
    p.kind = response.stream->kind;
    size_t chunk_bytes = 0;
    size_t pieces = 0;
    for (const cassette::StreamEvent& event : response.stream->events) {
      chunk_bytes += proxy::FramedChunkSize(event.bytes.size());
      pieces += 1 + event.splits.size();
    }
    p.chunks.resize(chunk_bytes);
    p.arrivals.reserve(pieces);
    char* out = p.chunks.data();
    for (const cassette::StreamEvent& event : response.stream->events) {
      if (event.bytes.empty()) continue;  // nothing to write: dropped
      size_t prev = 0;
      for (const cassette::Split& split : event.splits) {
        size_t end = std::min(split.end, event.bytes.size());
        if (end <= prev) continue;
        add_arrival(p.stream_size + end, split.at_us);
        prev = end;
      }
      out = proxy::FrameChunk(event.bytes, out);
      p.stream_size += event.bytes.size();
      ++p.events;
      if (event.bytes.size() > prev) add_arrival(p.stream_size, event.at_us);
    }
    if (!p.arrivals.empty()) p.done_us = std::max(p.done_us, p.arrivals.back().at_us);
  } else {
    p.body.assign(response.body.bytes);
    if (!p.body.empty()) p.arrivals.push_back(Arrival{p.body.size(), p.done_us});
  }
  return p;
}

std::string PreparedResponse::StreamBytes() const {
  std::string bytes;
  bytes.reserve(body_size());
  std::string_view rest = chunks;
  std::string_view payload;
  while (proxy::TakeChunk(&rest, &payload)) bytes += payload;
  return bytes;
}

PreparedResponse::StreamPosition PreparedResponse::PositionAfter(size_t n) const {
  if (n >= events) return StreamPosition{chunks.size(), stream_size};
  StreamPosition at;
  std::string_view rest = chunks;
  std::string_view payload;
  for (size_t i = 0; i < n && proxy::TakeChunk(&rest, &payload); ++i) {
    at.stream += payload.size();
  }
  at.chunk = chunks.size() - rest.size();
  return at;
}

Micros PreparedResponse::ArrivalOf(size_t byte, size_t* hint) const {
  if (arrivals.empty()) return done_us;
  size_t& i = *hint;
  while (i + 1 < arrivals.size() && arrivals[i].end <= byte) ++i;
  return arrivals[i].at_us;
}

// Per-play state, kept out of the header so the cursors stay internal.
struct Player::State {
  enum class Phase { kHeaders, kBody, kEnd };
  Phase phase = Phase::kHeaders;
  const PreparedResponse* playing = nullptr;         // the recording, or `error_response`
  std::unique_ptr<PreparedResponse> error_response;  // error fault on a plain body only
  // The body's writes: a stream in event chunking (the default) as ranges of its framed
  // chunks; a plain body, or a stream in another chunking, as pieces of its bytes.
  std::optional<internal::ChunkCursor> chunks;
  std::optional<internal::PieceCursor> pieces;
  std::string stream_bytes;      // a stream cut into pieces: its events' bytes, unframed
  std::string_view piece_bytes;  // what the pieces are ranges of
  std::optional<size_t> content_length;
  bool fault_due = false;    // a streamed response: the fault fires when the cursor runs out
  bool plain_fault = false;  // a plain body: it fires if the cursor produced fault.after pieces
  // Paced timing: the next write is known (for pieces, `piece`) and due at `next_due`.
  bool have_next = false;
  Micros next_due = 0;
  internal::Piece piece;
  std::optional<Micros> end_due;
  Micros t0 = 0;
  Micros last_due = 0;
  bool waiting_drain = false;
};

Player::Player(const PreparedResponse& response, const PlayOptions& options,
               proxy::ResponseSink& sink, proxy::Scheduler& scheduler, std::uint64_t salt)
    : response_(&response),
      options_(options),
      sink_(sink),
      scheduler_(scheduler),
      salt_(salt),
      state_(std::make_unique<State>()) {}

Player::~Player() {
  if (drain_hooked_) sink_.SetOnDrained(nullptr);
}

void Player::Start() {
  in_start_ = true;
  State& s = *state_;
  s.t0 = scheduler_.NowMicros();
  s.last_due = s.t0;
  s.playing = response_;
  const Fault& fault = options_.fault;
  size_t limit = response_->body_size();
  size_t max_pieces = SIZE_MAX;
  if (response_->streamed) {
    size_t events = response_->events;
    // Faults count events; one beyond the last event never fires.
    if (fault.kind != FaultKind::kNone && fault.after <= events) {
      s.fault_due = true;
      events = fault.after;
    }
    if (options_.chunking.kind == ChunkingKind::kEvent) {
      s.chunks.emplace(*response_, events);
    } else {
      limit = response_->PositionAfter(events).stream;
      s.stream_bytes = response_->StreamBytes();
      s.piece_bytes = s.stream_bytes;
    }
  } else if (fault.kind == FaultKind::kError) {
    // A plain body cannot carry an error event: the whole response becomes the provider's
    // overloaded error, as an overloaded API answers a non-streaming request.
    s.error_response = std::make_unique<PreparedResponse>();
    PreparedResponse& e = *s.error_response;
    e.status = response_->provider == cassette::Provider::kAnthropic ? 529 : 503;
    e.headers = {{"content-type", "application/json"}, {"x-tapedeck-fault", "error"}};
    e.body.assign(cassette::ErrorBody(response_->provider, "overloaded_error", "Overloaded"));
    e.arrivals.push_back({e.body.size(), response_->headers_us});
    e.headers_us = e.done_us = response_->headers_us;
    e.provider = response_->provider;
    s.playing = &e;
    limit = e.body.size();
  } else if (fault.kind != FaultKind::kNone) {
    // Faults on a plain body count the pieces of the chosen chunking.
    s.plain_fault = true;
    max_pieces = fault.after;
  }
  if (!s.playing->streamed) {
    s.piece_bytes = s.playing->body;
    if (fault.kind != FaultKind::kTruncate) s.content_length = s.playing->body.size();
  }
  if (!s.chunks) {
    s.pieces.emplace(*s.playing, options_.chunking, limit, max_pieces, salt_,
                     /*arrival_times=*/!options_.timing.instant);
  }
  Pump();
  in_start_ = false;
}

void Player::Cancel() {
  if (outcome_ == Outcome::kPlaying || outcome_ == Outcome::kStalled) {
    outcome_ = Outcome::kCancelled;
  }
  if (timer_) timer_->Cancel();
}

Micros Player::Due(Micros at_us) {
  State& s = *state_;
  if (options_.timing.instant) return s.last_due;  // never after the clock reading of a pump
  at_us = std::max<Micros>(0, at_us);
  Micros offset =
      options_.timing.factor == 1.0
          ? at_us
          : static_cast<Micros>(std::llround(static_cast<double>(at_us) / options_.timing.factor));
  // Measured from the start, not chained from the previous write, so rounding and late timers
  // never accumulate; and never earlier than the write before.
  s.last_due = std::max(s.last_due, s.t0 + offset);
  return s.last_due;
}

void Player::Schedule(Micros due) {
  if (!timer_) timer_ = scheduler_.NewTimer([this] { Pump(); });
  timer_->Arm(std::max<Micros>(0, due - scheduler_.NowMicros()));
}

void Player::OnDrained() {
  if (!state_->waiting_drain) return;
  state_->waiting_drain = false;
  Pump();
}

void Player::End(Outcome outcome) {
  outcome_ = outcome;
  if (timer_) timer_->Cancel();
  if (!in_start_ && on_done_) on_done_();
}

void Player::Pump() {
  // Everything written in one pump (a whole stream with instant timing) leaves in one system
  // call; each write keeps its own chunk on the wire.
  struct Batch {
    explicit Batch(proxy::ResponseSink& s) : sink_(s) { sink_.BeginBatch(); }
    ~Batch() { sink_.EndBatch(); }
    proxy::ResponseSink& sink_;
  } batch(sink_);
  State& s = *state_;
  const PreparedResponse& r = *s.playing;
  // One clock reading per pump: what is due by now is written; the rest waits for a timer.
  const Micros now = scheduler_.NowMicros();
  // How much more may be queued in the sink before waiting for it to drain. Tracked here
  // rather than asked of the sink before every piece: a stream is hundreds of pieces.
  size_t room = kHighWatermark - std::min(kHighWatermark, sink_.BufferedBytes());
  while (outcome_ == Outcome::kPlaying) {
    if (!sink_.IsOpen()) {
      End(Outcome::kCancelled);
      return;
    }
    switch (s.phase) {
      case State::Phase::kHeaders: {
        Micros due = Due(r.headers_us);
        if (due > now) return Schedule(due);
        status_ = r.status;
        sink_.Start(r.status, r.headers, s.content_length);
        s.phase = State::Phase::kBody;
        break;
      }
      case State::Phase::kBody: {
        if (s.chunks ? WriteChunkRun(now, &room) : WritePieceRun(now, &room)) {
          break;  // the loop's next turn sees whether the sink is still open
        }
        if (BodyDone()) {
          s.phase = State::Phase::kEnd;
          break;
        }
        if (s.have_next && s.next_due > now) return Schedule(s.next_due);
        // No room: the sink calls back once per wait.
        s.waiting_drain = true;
        drain_hooked_ = true;
        sink_.SetOnDrained([this] { OnDrained(); });
        return;
      }
      case State::Phase::kEnd: {
        const Fault& fault = options_.fault;
        bool fault_fires = s.fault_due || (s.plain_fault && s.pieces->produced() == fault.after);
        if (fault_fires) {
          switch (fault.kind) {
            case FaultKind::kNone:
              break;
            case FaultKind::kTruncate:
              sink_.Finish();
              return End(Outcome::kFinished);
            case FaultKind::kReset:
              sink_.Reset();
              return End(Outcome::kReset);
            case FaultKind::kError: {
              std::string event =
                  r.kind == cassette::StreamKind::kSse
                      ? cassette::StreamErrorEvent(r.provider, "overloaded_error", "Overloaded")
                      : cassette::ErrorBody(r.provider, "overloaded_error", "Overloaded") + "\n";
              bytes_written_ += event.size();
              sink_.Write(event);
              if (outcome_ != Outcome::kPlaying) return;  // the client left during the write
              sink_.Finish();
              return End(Outcome::kFinished);
            }
            case FaultKind::kStall:
              // Silence until the client gives up; Cancel() ends it.
              outcome_ = Outcome::kStalled;
              return;
          }
        }
        if (!s.end_due) s.end_due = Due(r.done_us);
        if (*s.end_due > now) return Schedule(*s.end_due);
        if (r.truncated) {
          sink_.Reset();
          return End(Outcome::kReset);
        }
        sink_.Finish();
        return End(Outcome::kFinished);
      }
    }
  }
}

bool Player::WriteChunkRun(Micros now, size_t* room) {
  State& s = *state_;
  internal::ChunkCursor& cursor = *s.chunks;
  internal::ChunkRun run = cursor.StartRun();
  if (options_.timing.instant) {  // everything is due now: one range, without arrival times
    cursor.TakeUpTo(room, &run);
  } else {
    while (!cursor.done()) {
      if (!s.have_next) {
        s.next_due = Due(cursor.NextArrival());
        s.have_next = true;
      }
      if (s.next_due > now || *room == 0) break;
      s.have_next = false;
      const size_t end = run.end;
      cursor.Take(&run);
      *room -= std::min(*room, run.end - end);
    }
  }
  if (run.empty()) return false;
  const std::string_view chunks =
      std::string_view(s.playing->chunks).substr(run.begin, run.end - run.begin);
  const size_t written = sink_.WriteChunks(chunks);
  if (written == chunks.size()) {
    bytes_written_ += run.body_bytes;
  } else {  // the client left during the writes: count what went
    std::string_view went = chunks.substr(0, written);
    std::string_view payload;
    while (proxy::TakeChunk(&went, &payload)) bytes_written_ += payload.size();
  }
  return true;
}

bool Player::WritePieceRun(Micros now, size_t* room) {
  State& s = *state_;
  internal::PieceCursor& cursor = *s.pieces;
  proxy::ByteRange run[kRunPieces];
  size_t count = 0;
  if (options_.timing.instant) {  // every piece is due now: cut without arrival times
    if (cursor.done()) return false;
    count = cursor.NextRanges(run, kRunPieces, room);
  } else {
    while (count < kRunPieces) {
      if (!s.have_next) {
        if (!cursor.Next(&s.piece)) break;
        s.have_next = true;
        s.next_due = Due(s.piece.at_us);
      }
      if (s.next_due > now || *room == 0) break;
      s.have_next = false;
      run[count++] = proxy::ByteRange{s.piece.begin, s.piece.end};
      *room -= std::min(*room, s.piece.end - s.piece.begin);
    }
  }
  if (count == 0) return false;
  const size_t written = sink_.WritePieces(s.piece_bytes, std::span(run, count));
  // The pieces are consecutive bytes of the body.
  if (written > 0) bytes_written_ += run[written - 1].end - run[0].begin;
  return true;
}

bool Player::BodyDone() const {
  const State& s = *state_;
  return s.chunks ? s.chunks->done() : !s.have_next && s.pieces->done();
}

}  // namespace td::replay
