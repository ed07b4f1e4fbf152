// File: replay/replay_handler.h
//
// The replay mode's proxy::Handler: redacts the live request with the recording's rules,
// matches it against the cassette (replay/index.h) and plays the recorded response
// (replay/player.h). A miss gets a provider-shaped, non-retryable 404 naming the nearest
// recorded interaction and where it differs, or, in auto mode, goes to the fallback handler
// (the record path). Nothing is ever forwarded anywhere by this class itself.
//
// Threading: the event-loop thread only (the scheduler's).
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "cassette/base/bulk_memory.h"
#include "cassette/base/status.h"
#include "cassette/model.h"
#include "cassette/redact.h"
#include "proxy/exchange.h"
#include "replay/index.h"
#include "replay/normalize.h"
#include "replay/play_options.h"
#include "replay/player.h"

namespace td::replay {

struct ReplayOptions {
  MatchOptions match;
  OnExhausted on_exhausted = OnExhausted::kRepeatLast;
  PlayOptions play;
  std::string log_mode = "replay";  // the access log's mode= field ("auto" in auto mode)
  std::string log_cassette;         // its cassette= field, when one tapedeck serves several
};

struct ReplayStats {
  std::uint64_t hits = 0;       // served from the cassette
  std::uint64_t misses = 0;     // no recorded interaction matched: answered with a miss error
  std::uint64_t exhausted = 0;  // matched, but every copy was used (on-exhausted=error)
  // Auto mode: requests the cassette could not serve, handed to the fallback (the record path)
  // instead of being answered with a miss; and the interactions it recorded for them, which
  // count as used. A forwarded request that was not recorded (the upstream failed) is a
  // problem for --strict, as a miss would be.
  std::uint64_t forwarded = 0;
  std::uint64_t recorded = 0;
  std::vector<std::uint64_t> uses;  // per interaction, in cassette order
  std::vector<size_t> unused;       // interactions never served
  size_t active = 0;                // responses still playing
};

class ReplayHandler final : public proxy::Handler {
 public:
  // Indexes `interactions` (in cassette order; their requests are redacted again with
  // `redactor`, so rules added since recording apply to both sides). `scheduler` must outlive
  // the handler; so must `miss_fallback` when given (auto mode). Errors name the bad option.
  static Result<std::unique_ptr<ReplayHandler>> Create(
      std::vector<cassette::Interaction> interactions, ReplayOptions options,
      cassette::Redactor redactor, proxy::Scheduler& scheduler,
      proxy::Handler* miss_fallback = nullptr);
  // Detaches from exchanges still playing (their responses stop where they are).
  ~ReplayHandler() override;

  void Handle(std::shared_ptr<proxy::Exchange> exchange) override;

  // Makes an interaction servable and returns its index. Auto mode adds what it recorded with
  // `recorded` true: it counts as used (a live request was answered with it) and as recorded.
  // What is kept is the index's part of the request and the prepared response, with their bytes
  // in bulk memory (cassette/base/bulk_memory.h), not the interaction: a caller streaming a
  // cassette in (cassette::StreamCassette) holds one interaction at a time.
  size_t AddInteraction(const cassette::Interaction& interaction, bool recorded = false);
  size_t AddInteraction(cassette::Interaction&& interaction, bool recorded = false);

  ReplayStats Stats() const;
  // Stats as JSON, for GET /__tapedeck/stats: {"hits":..,"misses":..,"exhausted":..,
  // "forwarded":..,"recorded":..,"interactions":N,"uses":[..],"unused":[..],"active":..,
  // "recent_misses":[..]}.
  std::string StatsJson() const;
  // For the shutdown log: "replay: 12 hits, 1 miss, 0 exhausted; 2 of 14 interactions never
  // used: #3, #9" (auto mode adds ", 2 forwarded, 2 recorded").
  std::string Summary() const;
  // True when --strict must fail the run: a miss, an exhausted request, a forwarded request
  // that was not recorded (auto mode: the upstream failed), or, unless `unused_ok` (auto
  // --prune drops them), an interaction never used.
  bool StrictProblem(bool unused_ok = false) const;
  // What requests are compared with (its workspace_notes() say what the workspace normalisers
  // rewrite). Valid as long as the handler.
  const RequestNormalizer& normalizer() const { return index_.normalizer(); }

 private:
  struct ActivePlay;

  ReplayHandler(Index index, ReplayOptions options, cassette::Redactor redactor,
                proxy::Scheduler& scheduler, proxy::Handler* miss_fallback);
  friend class ReplayLoader;  // adds in two halves, one on each thread

  // The two halves of AddInteraction, which touch nothing in common: the response prepared
  // (into prepared_ and bulk_), and the request indexed (decoded, redacted; into index_),
  // counted as used when `recorded`.
  void PrepareResponse(const cassette::Interaction& interaction);
  size_t IndexRequest(cassette::Request&& request, bool recorded);
  void Play(const std::shared_ptr<proxy::Exchange>& exchange, size_t index, Micros start_us,
            std::string log_path);
  // `body_note`, when set, says why the live body could not be decoded (it was matched as sent).
  void RespondMiss(proxy::Exchange& exchange, const cassette::Request& live,
                   const Index::Lookup& lookup, Micros start_us, std::string_view body_note);
  void OnPlayDone(std::uint64_t id);
  void OnClientGone(std::uint64_t id);
  void Retire(std::unique_ptr<ActivePlay> play);
  // The access line of a hit; `log_path` is the redacted path.
  void LogHit(const proxy::Exchange& exchange, const Player& player, size_t index, Micros start_us,
              std::string_view log_path, std::string_view end) const;

  // Declared first, so destroyed last: the prepared responses' bytes live in it.
  std::unique_ptr<BulkMemory> bulk_;
  Index index_;
  ReplayOptions options_;
  cassette::Redactor redactor_;
  proxy::Scheduler& scheduler_;
  proxy::Handler* miss_fallback_;
  std::deque<PreparedResponse> prepared_;  // per interaction; a deque keeps them in place

  std::uint64_t hits_ = 0;
  std::uint64_t misses_ = 0;
  std::uint64_t exhausted_ = 0;
  std::uint64_t forwarded_ = 0;
  std::uint64_t recorded_ = 0;
  std::deque<std::string> recent_misses_;  // the last few miss messages, for StatsJson

  std::uint64_t next_play_id_ = 1;
  std::unordered_map<std::uint64_t, std::unique_ptr<ActivePlay>> active_;
  // Ended plays wait here for a later loop iteration: they may end inside their own callbacks.
  std::vector<std::unique_ptr<ActivePlay>> retired_;
  proxy::TimerHandle sweep_timer_;
  bool sweep_pending_ = false;
};

// Adds interactions to a ReplayHandler in two halves, the requests' on a helper thread: loading a
// cassette at start, reading the file and preparing the responses (zstd, parsing, copying) take
// about as long as indexing the requests (the redactor's scan, the canonical keys), so on two
// cores the load takes about half as long. The handler must not be used otherwise until
// Finish() has returned (the destructor calls it). Hands requests over in batches, and waits
// when the helper is far behind, so what is queued stays small.
//
// Threading: Add and Finish on one thread (the caller's); the helper only indexes requests.
class ReplayLoader {
 public:
  // `handler` (not owned) must outlive the loader.
  explicit ReplayLoader(ReplayHandler* handler);
  ~ReplayLoader();
  ReplayLoader(const ReplayLoader&) = delete;
  ReplayLoader& operator=(const ReplayLoader&) = delete;

  // Adds `interaction` to the handler: its response now, its request in order on the helper.
  void Add(cassette::Interaction&& interaction);
  // Waits until the helper has added everything queued, and stops it. Idempotent.
  void Finish();

 private:
  void Run();
  void Flush();  // hands `batch_` to the helper

  ReplayHandler* handler_;
  std::vector<cassette::Request> batch_;  // the caller's, until Flush
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::vector<cassette::Request>> queue_;  // guarded by mutex_
  bool closing_ = false;                              // guarded by mutex_
  std::thread helper_;
};

}  // namespace td::replay
