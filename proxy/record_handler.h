// File: proxy/record_handler.h
//
// The record path: forwards each request to the upstream unchanged
// (method, target with the path prefix joined, query, body, end-to-end headers, the client's
// credentials), streams the response back as it arrives (one sink Write per upstream read,
// never buffered whole, upstream reads paused while the client is slow), and records the
// exchange: timing from an injected Clock, redaction and a secret scan, then one Append per
// completed interaction. With no writer it is passthrough: forward only, write nothing.
//
// Faults: an upstream that fails before answering gets the client a 502 in the provider's error
// shape with `x-tapedeck-error: upstream` (no x-should-retry: SDK retry rules stay as they
// would be for a real 5xx), and nothing is recorded. An upstream that breaks mid-stream resets
// the client's connection and is recorded truncated; a client that leaves cancels the upstream
// request and is recorded truncated ("client disconnected").
//
// Threading: create, use and destroy on the loop thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "cassette/base/clock.h"
#include "cassette/cassette_writer.h"
#include "cassette/model.h"
#include "cassette/redact.h"
#include "proxy/event_loop.h"
#include "proxy/exchange.h"
#include "proxy/recording_tap.h"
#include "proxy/upstream_client.h"
#include "proxy/upstream_url.h"

namespace td::proxy {

struct RecordOptions {
  // The unnamed upstream: every request goes there (`--upstream URL`). Ignored when `mounts`
  // is not empty. Neither set (a forward proxy): only requests that carry their origin
  // (cassette::Request::origin) are forwarded, the rest get a 404 saying so.
  UpstreamUrl upstream_url;
  // Named upstreams (`--upstream NAME=URL`): a request under /NAME goes to that upstream only,
  // the prefix taken off (and the URL's own path joined as for the unnamed one); a request
  // under no mount is answered 404 in the provider's error shape, naming the mounts, and
  // nothing is forwarded. A credential so only ever reaches the upstream of its own mount.
  std::vector<UpstreamMount> mounts;
  UpstreamOptions upstream;
  cassette::Redactor redactor;  // applied before anything is written
  // Not owned; must outlive the handler. nullptr: passthrough (forward only, record nothing),
  // unless AttachWriter() sets one before the first request.
  cassette::CassetteWriter* writer = nullptr;
  // Stamps timings. Not owned. nullptr: the loop's clock.
  const Clock* clock = nullptr;
  // Called with each interaction as written (redacted), after the Append; auto mode adds it
  // to the replay index. Called even when the Append failed (the interaction is still valid):
  // `saved` says whether it reached the cassette.
  std::function<void(const cassette::Interaction&, bool saved)> on_recorded;
  // Upstream reads pause while the client's unsent bytes exceed this.
  size_t high_watermark = 1 << 20;
  // What a recording keeps of one response body (RecordingTap); the client gets all of it.
  uint64_t max_body_bytes = RecordingTap::kUnlimited;
  // The access log's mode= field; empty: "record", or "passthrough" when writer is null.
  std::string log_mode;
  // Redact, scan and Append on a worker thread instead of the loop. Serialising a long agent
  // interaction takes milliseconds; on the loop, that time delays every other stream's events.
  // The worker then is the writer's only user until Flush(): call Flush() before closing the
  // writer (the destructor flushes too). on_recorded still runs on the loop, after the Append.
  bool write_on_worker = false;
  // With write_on_worker: finished interactions waiting for the worker hold at most this many
  // bytes; past it the loop waits for the worker (bounded memory on a starved machine).
  size_t max_queued_bytes = 64 << 20;
};

struct RecordStats {
  uint64_t forwarded = 0;        // exchanges that got an upstream response head
  uint64_t recorded = 0;         // interactions appended
  uint64_t truncated = 0;        // of those, cut short (upstream reset, client gone)
  uint64_t upstream_errors = 0;  // 502s: the upstream failed before answering
  uint64_t write_errors = 0;     // appends that failed (logged loudly; the client was served)
  uint64_t not_recorded = 0;     // interactions withheld because a secret could not be masked
  uint64_t pauses = 0;           // times upstream reading paused for a slow client
};

// Where the recordings of some exchanges go, and their counts: one per cassette. The handler's
// own (RecordOptions' writer and on_recorded) serves Handle(); HandleInto() takes another.
struct RecordDestination {
  std::string name;  // the access log's cassette= field, when one tapedeck serves several
  // nullptr: record nothing (passthrough), unless on_recorded is set.
  cassette::CassetteWriter* writer = nullptr;
  // As RecordOptions::on_recorded, for this destination's interactions.
  std::function<void(const cassette::Interaction&, bool saved)> on_recorded;
  RecordStats stats;  // loop thread
  // The first failed Append is logged loudly, the rest quietly (the writing thread's).
  bool write_failure_logged = false;
};

class RecordHandler final : public Handler {
 public:
  // Creates the upstream client (TLS context, CA file). `loop` must outlive the handler.
  static Result<std::unique_ptr<RecordHandler>> Create(EventLoop* loop, RecordOptions options);
  // In-flight exchanges are abandoned without being recorded (call AbortAll first to keep them).
  ~RecordHandler() override;

  void Handle(std::shared_ptr<Exchange> exchange) override;
  // Forwards like Handle() and records into `destination` (not owned): it must outlive the
  // exchange and the Flush() that follows it.
  void HandleInto(std::shared_ptr<Exchange> exchange, RecordDestination* destination);

  // Sets the cassette to record to, for a caller that opens it only once the listener is bound
  // and the upstream checked (so a failed start creates no file). Before the first request.
  void AttachWriter(cassette::CassetteWriter* writer) { own_.writer = writer; }

  // Shutdown after the grace period: every in-flight exchange is cut (the client's connection
  // reset, the upstream request cancelled) and recorded truncated with `reason`, if it had a
  // response head.
  void AbortAll(const std::string& reason);

  // With write_on_worker: blocks until every completed interaction has been written (Append
  // returned), then delivers those results (stats, on_recorded) on the calling thread. Call it
  // before closing the writer. A no-op otherwise. Loop thread (also once Run() returned).
  void Flush();

  size_t in_flight() const { return forwards_.size(); }
  // The counts of Handle()'s exchanges (the handler's own destination).
  const RecordStats& stats() const { return own_.stats; }
  // One client per mount (one for the unnamed upstream, none for a forward proxy without one),
  // in the order of RecordOptions::mounts. Forward-proxied requests have their own clients.
  size_t upstream_count() const { return clients_.size(); }
  UpstreamClient& upstream(size_t i = 0) { return *clients_[i]; }
  const UpstreamMount& mount(size_t i = 0) const { return mounts_[i]; }

  class Forward;  // one forwarded exchange; defined in record_handler.cc
  class Worker;   // the write_on_worker thread; defined in record_handler.cc

 private:
  // What writing one interaction came to.
  struct Persisted {
    bool clean = true;  // nothing secret-shaped left; false: withheld
    Status written;     // the Append, when there is a writer and it was clean
    uint64_t seq = 0;
    bool truncated = false;
  };
  RecordHandler(EventLoop* loop, RecordOptions options, std::vector<UpstreamMount> mounts,
                std::vector<std::unique_ptr<UpstreamClient>> clients, cassette::Redactor fallback);
  friend class Forward;
  friend class Worker;
  void Done(Forward* forward);  // the forward ended: release it (deferred)
  // Forward-proxy mode: the client of a request's origin, made on first use and kept (with
  // its keep-alive pool) for the handler's life. Errors name the origin.
  Result<UpstreamClient*> ClientForOrigin(const std::string& origin);
  void Record(cassette::Interaction interaction, RecordDestination* destination);
  // Scrub and Append: the part that may run on the worker thread.
  Persisted Persist(cassette::Interaction* interaction, RecordDestination* destination);
  // Stats and on_recorded: loop thread.
  void Recorded(const cassette::Interaction& interaction, const Persisted& persisted,
                RecordDestination* destination);

  EventLoop* loop_;
  RecordOptions options_;
  const Clock* clock_;
  std::vector<UpstreamMount> mounts_;  // the named ones, or the unnamed upstream alone
  std::vector<std::unique_ptr<UpstreamClient>> clients_;  // one per mount
  std::unordered_map<std::string, std::unique_ptr<UpstreamClient>> origin_clients_;
  cassette::Redactor fallback_redactor_;  // built-in rules: masks what the scanner still finds
  std::string mode_;
  std::unordered_map<Forward*, std::unique_ptr<Forward>> forwards_;
  RecordDestination own_;  // Handle()'s: RecordOptions' writer and on_recorded
  // Set false (on the loop) when the handler goes, for results the worker posted back.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  std::unique_ptr<Worker> worker_;  // with write_on_worker
};

}  // namespace td::proxy
