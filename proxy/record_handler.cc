// RecordHandler: one Forward per exchange ties the client's sink, the upstream call and the
// recording tap together, and ends exactly once (complete, upstream error, upstream cut,
// client gone, or shutdown abort), logging one access line.
#include "proxy/record_handler.h"

#include <sys/resource.h>
#include <unistd.h>

#include <charconv>
#include <optional>
#include <thread>

#include "cassette/base/log.h"
#include "cassette/http_headers.h"
#include "cassette/provider.h"
#include "cassette/scrub.h"
#include "proxy/access_log.h"
#include "proxy/internal/bounded_queue.h"
#include "proxy/recording_tap.h"

namespace td::proxy {
namespace {

// The recording worker's nice value (0 is the loop's): 10 gives it about a tenth of a core
// the loop wants entirely, so a saturated proxy still writes what it records.
constexpr int kWorkerNice = 10;

// The request path as a log line may show it: redacted with the recording's rules (a key can
// sit in a path, and logs end up in CI output).
std::string LogPath(const cassette::Redactor& redactor, const std::string& path) {
  cassette::Request view;
  view.path = path;
  redactor.RedactRequest(&view, nullptr);
  return std::move(view.path);
}

}  // namespace

class RecordHandler::Forward {
 public:
  Forward(RecordHandler* owner, std::shared_ptr<Exchange> exchange, RecordDestination* destination)
      : owner_(owner),
        exchange_(std::move(exchange)),
        destination_(destination),
        recording_(destination->writer != nullptr || destination->on_recorded != nullptr),
        tap_(owner->clock_, exchange_->seq(), exchange_->request(), owner->options_.max_body_bytes),
        log_path_(LogPath(owner->options_.redactor, exchange_->request().path)) {}

  ~Forward() {
    // A forward dropped mid-flight (handler destroyed) must leave no callback into it behind.
    call_.reset();
    if (!ended_) {
      exchange_->SetOnClientGone(nullptr);
      exchange_->sink().SetOnDrained(nullptr);
    }
  }

  void Start() {
    const cassette::Request& request = exchange_->request();
    UpstreamClient* client = nullptr;
    std::string target = exchange_->target();
    if (!request.origin.empty()) {
      // Forward-proxy mode: the request names its upstream; mounts do not apply.
      Result<UpstreamClient*> found = owner_->ClientForOrigin(request.origin);
      if (!found.ok()) {
        AnswerUpstreamError(found.status().message());
        return;
      }
      client = *found;
    } else if (owner_->mounts_.empty()) {
      AnswerUnmounted();
      return;
    } else {
      size_t mount = 0;
      if (!owner_->mounts_.front().name.empty()) {
        std::optional<MountedTarget> mounted = FindMount(owner_->mounts_, target);
        if (!mounted) {
          AnswerUnmounted();
          return;
        }
        mount = mounted->mount;
        target = std::move(mounted->target);
      }
      target = JoinPath(owner_->mounts_[mount].url.path_prefix, target);
      client = owner_->clients_[mount].get();
    }
    UpstreamRequest up;
    up.method = request.method;
    up.target = std::move(target);
    up.headers = cassette::EndToEndHeaders(request.headers);
    cassette::RemoveHeader(&up.headers, "host");    // the client sets the upstream's
    cassette::RemoveHeader(&up.headers, "expect");  // the whole body is already here
    cassette::SetHeader(&up.headers, "Accept-Encoding", "identity");  // no gzip decoder here
    up.body = request.body.bytes;
    exchange_->SetOnClientGone([this] { OnClientGone(); });
    UpstreamCallbacks callbacks;
    callbacks.on_head = [this](const UpstreamResponseHead& head) { OnHead(head); };
    callbacks.on_body = [this](std::string_view bytes) { OnBody(bytes); };
    callbacks.on_done = [this](const UpstreamResult& result) { OnDone(result); };
    call_ = client->Send(std::move(up), std::move(callbacks));
  }

  // No mount takes the path: the client gets a 404 in its provider's error shape naming the
  // mounts (it will not succeed on a retry), and nothing leaves the proxy.
  void AnswerUnmounted() {
    std::string message;
    if (owner_->mounts_.empty()) {
      message = "tapedeck: " + log_path_ +
                " came without a proxy target and no --upstream is set: this tapedeck is a "
                "forward proxy (set HTTPS_PROXY=http://HOST:PORT, or start it with --upstream)";
    } else {
      std::string mounts;
      for (const UpstreamMount& m : owner_->mounts_) {
        mounts += (mounts.empty() ? "/" : ", /") + m.name + " (" + m.url.ToString() + ")";
      }
      message = "tapedeck: no upstream is mounted at " + log_path_ + "; the mounts are " + mounts +
                ": point the client's base URL at one (e.g. http://HOST:PORT/" +
                owner_->mounts_.front().name + ")";
    }
    status_ = 404;
    bytes_ =
        RespondWithError(exchange_->sink(), status_, cassette::DetectProvider(exchange_->request()),
                         "not_found_error", message,
                         {{"x-should-retry", "false"}, {"x-tapedeck-error", "no-mount"}});
    End("error", std::nullopt, /*record=*/false, "no mount for this path");
  }

  // The upstream failed before answering (or could not be set up): a 502, nothing recorded.
  void AnswerUpstreamError(const std::string& message) {
    ++destination_->stats.upstream_errors;
    // No x-should-retry: an SDK should treat this like any 502 from the real API.
    status_ = 502;
    bytes_ = RespondWithError(
        exchange_->sink(), status_, cassette::DetectProvider(exchange_->request()), "api_error",
        "tapedeck: upstream request failed: " + message, {{"x-tapedeck-error", "upstream"}});
    End("error", std::nullopt, /*record=*/false, message);
  }

  // Shutdown: cut the exchange now.
  void Abort(const std::string& reason) {
    if (ended_) return;
    call_.reset();
    exchange_->sink().Reset();
    if (tap_.head_seen()) {
      End("truncated", reason, /*record=*/true, reason);
    } else {
      End("error", std::nullopt, /*record=*/false, reason);
    }
  }

 private:
  // The client gets each piece first; the tap records it after, with the time it arrived.
  void OnHead(const UpstreamResponseHead& head) {
    const Micros arrived = tap_.elapsed_us();
    status_ = head.status;
    ++destination_->stats.forwarded;
    std::optional<size_t> length;
    if (head.content_length) {
      length = static_cast<size_t>(*head.content_length);
    } else if (!head.has_body) {
      // HEAD/304: keep the upstream's Content-Length, which describes the resource.
      if (const std::string* value = cassette::FindHeader(head.headers, "content-length")) {
        size_t n = 0;
        auto [end, ec] = std::from_chars(value->data(), value->data() + value->size(), n);
        if (ec == std::errc() && end == value->data() + value->size()) length = n;
      }
    }
    exchange_->sink().Start(head.status, head.headers, length);
    tap_.OnHead(head.status, head.headers, head.content_length.has_value(), arrived);
  }

  void OnBody(std::string_view bytes) {
    const Micros arrived = recording_ ? tap_.elapsed_us() : 0;  // no clock read in passthrough
    bytes_ += bytes.size();
    ResponseSink& sink = exchange_->sink();
    // At once, one write per upstream read. A sink never reports the client gone from inside
    // Write(), so the tap below still records this piece.
    if (sink.IsOpen()) sink.Write(bytes);
    if (recording_) tap_.OnBody(bytes, arrived);
    if (!sink.IsOpen()) return;
    if (!paused_ && sink.BufferedBytes() > owner_->options_.high_watermark) {
      // The client reads slower than the upstream sends: hold the upstream back.
      paused_ = true;
      ++destination_->stats.pauses;
      call_->PauseReading();
      sink.SetOnDrained([this] {
        paused_ = false;
        if (call_) call_->ResumeReading();
      });
    }
  }

  void OnDone(const UpstreamResult& result) {
    const cassette::Request& request = exchange_->request();
    if (result.ok()) {
      exchange_->sink().Finish();
      End(recording_ ? "recorded" : "forwarded", std::nullopt, /*record=*/true, "");
      return;
    }
    if (!tap_.head_seen()) {
      TD_LOG(kWarn) << "upstream " << UpstreamErrorName(result.error) << " failure for "
                    << request.method << " " << log_path_ << " seq=" << exchange_->seq() << ": "
                    << result.message;
      AnswerUpstreamError(result.message);
      return;
    }
    TD_LOG(kWarn) << "upstream response to " << request.method << " " << log_path_
                  << " seq=" << exchange_->seq() << " cut short: " << result.message
                  << "; resetting the client connection";
    exchange_->sink().Reset();  // the client sees an abrupt end, not a made-up clean one
    End("truncated", result.message, /*record=*/true, result.message);
  }

  void OnClientGone() {
    if (ended_) return;
    call_.reset();  // cancels the upstream request: its connection closes
    if (tap_.head_seen()) {
      End("truncated", std::string("client disconnected"), /*record=*/true, "client disconnected");
    } else {
      End("error", std::nullopt, /*record=*/false,
          "client disconnected before the upstream answered");
    }
  }

  void End(std::string_view result, std::optional<std::string> truncated, bool record,
           std::string_view detail) {
    if (ended_) return;
    ended_ = true;
    exchange_->SetOnClientGone(nullptr);
    call_.reset();
    if (record && recording_) owner_->Record(tap_.Finish(std::move(truncated)), destination_);
    const cassette::Request& request = exchange_->request();
    AccessLogEntry entry;
    entry.mode = owner_->mode_;
    entry.cassette = destination_->name;
    entry.result = result;
    entry.status = status_;
    entry.bytes = bytes_;
    entry.duration_us = tap_.elapsed_us();
    entry.method = request.method;
    entry.path = log_path_;
    entry.id = exchange_->seq();
    entry.detail = detail;
    LogAccess(entry);
    owner_->Done(this);
  }

  RecordHandler* owner_;
  std::shared_ptr<Exchange> exchange_;
  RecordDestination* destination_;
  const bool recording_;
  RecordingTap tap_;
  const std::string log_path_;  // redacted: every log line about this exchange uses it
  std::unique_ptr<UpstreamCall> call_;
  int status_ = 0;
  uint64_t bytes_ = 0;
  bool paused_ = false;
  bool ended_ = false;
};

// Scrubs and appends completed interactions in completion order on its own thread, and posts
// each result back to the loop. The queue holds at most kMaxQueuedBytes of interactions: past
// that, Submit() (on the loop) waits for the writer. The writer runs at a low priority so that
// forwarding comes first; on a machine too busy to give it any time, the proxy slows to the
// pace it writes at instead of growing without bound (docs/recording.md).
class RecordHandler::Worker {
 public:
  explicit Worker(RecordHandler* owner, size_t max_queued_bytes)
      : owner_(owner), queue_(max_queued_bytes), thread_([this] { Run(); }) {}

  // Finishes what was submitted, then stops.
  ~Worker() {
    queue_.Stop();
    thread_.join();
  }

  void Submit(cassette::Interaction interaction, RecordDestination* destination) {
    const size_t bytes = ApproximateBytes(interaction);
    if (queue_.Push(Job{std::move(interaction), destination}, bytes) && !behind_logged_) {
      behind_logged_ = true;
      TD_LOG(kWarn) << "the cassette writer is behind (" << (queue_.bytes() >> 20)
                    << " MiB waiting): forwarding waits for it, so that nothing recorded is "
                       "lost and memory stays bounded";
    }
  }

  void Flush() { queue_.Flush(); }

 private:
  // What an interaction holds, roughly: its bodies and events.
  static size_t ApproximateBytes(const cassette::Interaction& i) {
    size_t n = 1024 + i.request.body.bytes.size() + i.response.body.bytes.size();
    if (i.response.stream) n += i.response.stream->TotalBytes();
    return n;
  }

  void Run() {
    // Forwarding comes first: when the loop and this thread want the same core, the loop's
    // next event must not wait for a compressor. Linux applies the nice value to this thread
    // only. Interactions still get written: the loop sleeps between events, and waits for this
    // thread when the queue is full.
    if (setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), kWorkerNice) != 0) {
      TD_LOG(kDebug) << "recording worker: cannot lower its priority";
    }
    while (std::optional<std::pair<Job, size_t>> next = queue_.Take()) {
      cassette::Interaction& interaction = next->first.interaction;
      RecordDestination* destination = next->first.destination;
      try {
        Persisted persisted = owner_->Persist(&interaction, destination);
        std::shared_ptr<bool> alive = owner_->alive_;
        RecordHandler* owner = owner_;
        owner_->loop_->Post(
            [alive, owner, destination, interaction = std::move(interaction), persisted] {
              if (*alive) owner->Recorded(interaction, persisted, destination);
            });
      } catch (const std::exception& e) {
        TD_LOG(kError) << "recording worker: " << e.what();
      }
      queue_.Done(next->second);
    }
  }

  struct Job {
    cassette::Interaction interaction;
    RecordDestination* destination;
  };

  RecordHandler* owner_;
  internal::BoundedQueue<Job> queue_;
  bool behind_logged_ = false;  // the loop's
  std::thread thread_;          // last: starts once the rest exists
};

RecordHandler::RecordHandler(EventLoop* loop, RecordOptions options,
                             std::vector<UpstreamMount> mounts,
                             std::vector<std::unique_ptr<UpstreamClient>> clients,
                             cassette::Redactor fallback)
    : loop_(loop),
      options_(std::move(options)),
      clock_(options_.clock ? options_.clock : loop),
      mounts_(std::move(mounts)),
      clients_(std::move(clients)),
      fallback_redactor_(std::move(fallback)) {
  own_.writer = options_.writer;
  own_.on_recorded = options_.on_recorded;
  mode_ = !options_.log_mode.empty() ? options_.log_mode
          : options_.writer          ? "record"
                                     : "passthrough";
  if (options_.write_on_worker) {
    worker_ = std::make_unique<Worker>(this, options_.max_queued_bytes);
  }
}

RecordHandler::~RecordHandler() {
  forwards_.clear();
  worker_.reset();  // writes what is queued
  *alive_ = false;  // results it posted back find no handler
}

Result<std::unique_ptr<RecordHandler>> RecordHandler::Create(EventLoop* loop,
                                                             RecordOptions options) {
  std::vector<UpstreamMount> mounts = options.mounts;
  if (mounts.empty() && !options.upstream_url.host.empty()) {
    mounts.push_back(UpstreamMount{"", options.upstream_url});
  }
  std::vector<std::unique_ptr<UpstreamClient>> clients;
  for (const UpstreamMount& mount : mounts) {
    if (mounts.size() > 1 && mount.name.empty()) {
      return InvalidArgumentError("an unnamed upstream cannot be mixed with named ones");
    }
    Result<std::unique_ptr<UpstreamClient>> client =
        UpstreamClient::Create(loop, mount.url, options.upstream);
    if (!client.ok()) return client.status();
    clients.push_back(std::move(*client));
    if (options.upstream.insecure && mount.url.tls()) {
      TD_LOG(kWarn) << "TLS certificate verification for " << mount.url.ToString()
                    << " is OFF: anyone on the path can read the API key";
    }
  }
  Result<cassette::Redactor> fallback = cassette::Redactor::Create(cassette::RedactionRules{});
  if (!fallback.ok()) return fallback.status().WithContext("record");
  return std::unique_ptr<RecordHandler>(new RecordHandler(
      loop, std::move(options), std::move(mounts), std::move(clients), std::move(*fallback)));
}

Result<UpstreamClient*> RecordHandler::ClientForOrigin(const std::string& origin) {
  auto found = origin_clients_.find(origin);
  if (found != origin_clients_.end()) return found->second.get();
  Result<UpstreamUrl> url = ParseUpstreamUrl(origin);
  if (!url.ok()) return url.status();
  Result<std::unique_ptr<UpstreamClient>> client =
      UpstreamClient::Create(loop_, *url, options_.upstream);
  if (!client.ok()) return client.status();
  if (options_.upstream.insecure && url->tls()) {
    TD_LOG(kWarn) << "TLS certificate verification for " << origin
                  << " is OFF: anyone on the path can read the API key";
  }
  UpstreamClient* raw = client->get();
  origin_clients_.emplace(origin, std::move(*client));
  return raw;
}

void RecordHandler::Handle(std::shared_ptr<Exchange> exchange) {
  HandleInto(std::move(exchange), &own_);
}

void RecordHandler::HandleInto(std::shared_ptr<Exchange> exchange, RecordDestination* destination) {
  auto forward = std::make_unique<Forward>(this, std::move(exchange), destination);
  Forward* raw = forward.get();
  forwards_.emplace(raw, std::move(forward));
  raw->Start();
}

void RecordHandler::AbortAll(const std::string& reason) {
  std::vector<Forward*> all;
  all.reserve(forwards_.size());
  for (auto& [raw, owned] : forwards_) all.push_back(raw);
  for (Forward* forward : all) forward->Abort(reason);
}

void RecordHandler::Done(Forward* forward) {
  auto it = forwards_.find(forward);
  if (it == forwards_.end()) return;
  // Its callback is on the stack: free it on a later iteration.
  loop_->DeferDelete(std::move(it->second));
  forwards_.erase(it);
}

void RecordHandler::Record(cassette::Interaction interaction, RecordDestination* destination) {
  if (worker_) {
    worker_->Submit(std::move(interaction), destination);
    return;
  }
  Persisted persisted = Persist(&interaction, destination);
  Recorded(interaction, persisted, destination);
}

RecordHandler::Persisted RecordHandler::Persist(cassette::Interaction* interaction,
                                                RecordDestination* destination) {
  Persisted out;
  out.seq = interaction->seq;
  out.truncated = interaction->truncated.has_value();
  cassette::ScrubReport scrub =
      cassette::ScrubForDisk(interaction, options_.redactor, fallback_redactor_);
  const std::vector<std::string>& notes = scrub.notes;
  out.clean = scrub.clean;
  for (const std::string& note : notes) {
    TD_LOG(kWarn) << "interaction seq=" << interaction->seq << ": " << note;
  }
  if (!out.clean) {
    TD_LOG(kError) << "interaction seq=" << interaction->seq
                   << " not recorded: a secret-shaped value could not be masked"
                   << (notes.empty() ? "" : ": ") << (notes.empty() ? "" : notes.back());
    return out;
  }
  if (destination->writer) {
    // Nothing needs the interaction after the Append unless auto mode serves it next: move its
    // bodies into the line then, so a long body is never copied while it is written.
    out.written = destination->on_recorded ? destination->writer->Append(*interaction)
                                           : destination->writer->Append(std::move(*interaction));
    if (!out.written.ok()) {
      if (!destination->write_failure_logged) {
        destination->write_failure_logged = true;
        TD_LOG(kError) << "CASSETTE WRITE FAILED: " << out.written.message()
                       << "; interaction seq=" << out.seq
                       << " and every later one will not be saved (clients still get their "
                          "responses; the run ends with an error naming how many were lost)";
      } else {
        TD_LOG(kDebug) << "interaction seq=" << out.seq << " not saved: " << out.written.message();
      }
    }
  }
  return out;
}

void RecordHandler::Recorded(const cassette::Interaction& interaction, const Persisted& persisted,
                             RecordDestination* destination) {
  if (!persisted.clean) {
    ++destination->stats.not_recorded;
    return;
  }
  if (destination->writer) {
    if (persisted.written.ok()) {
      ++destination->stats.recorded;
      if (persisted.truncated) ++destination->stats.truncated;
      TD_LOG(kDebug) << "recorded seq=" << persisted.seq << " to " << destination->writer->path();
    } else {
      ++destination->stats.write_errors;
    }
  }
  if (destination->on_recorded) {
    destination->on_recorded(interaction, destination->writer != nullptr && persisted.written.ok());
  }
}

void RecordHandler::Flush() {
  if (!worker_) return;
  worker_->Flush();
  loop_->RunPostedNow();  // the results the worker posted back, which a stopped loop holds
}

}  // namespace td::proxy
