// The replay handler: redact, match, play or explain the miss; stats and the access log.
#include "replay/replay_handler.h"

#include <nlohmann/json.hpp>

#include "cassette/base/log.h"
#include "cassette/content_encoding.h"
#include "cassette/provider.h"
#include "proxy/access_log.h"
#include "replay/miss_report.h"

namespace td::replay {
namespace {

constexpr size_t kRecentMisses = 20;

std::string_view EndName(Player::Outcome outcome) {
  switch (outcome) {
    case Player::Outcome::kFinished:
      return "";
    case Player::Outcome::kReset:
      return "reset";
    case Player::Outcome::kStalled:
      return "stalled";
    case Player::Outcome::kCancelled:
      return "client-gone";
    case Player::Outcome::kPlaying:
      return "playing";
  }
  return "";
}

}  // namespace

struct ReplayHandler::ActivePlay {
  // Declared first so it is destroyed last: the player writes into its sink.
  std::shared_ptr<proxy::Exchange> exchange;
  std::unique_ptr<Player> player;
  std::uint64_t id = 0;
  size_t index = 0;
  Micros start_us = 0;
  std::string log_path;  // the redacted path, for the access log
};

Result<std::unique_ptr<ReplayHandler>> ReplayHandler::Create(
    std::vector<cassette::Interaction> interactions, ReplayOptions options,
    cassette::Redactor redactor, proxy::Scheduler& scheduler, proxy::Handler* miss_fallback) {
  Result<Index> index = Index::Create(options.match, options.on_exhausted);
  if (!index.ok()) return index.status().WithContext("replay");
  std::unique_ptr<ReplayHandler> handler(new ReplayHandler(
      std::move(*index), std::move(options), std::move(redactor), scheduler, miss_fallback));
  for (cassette::Interaction& interaction : interactions) {
    handler->AddInteraction(std::move(interaction));
  }
  return handler;
}

ReplayHandler::ReplayHandler(Index index, ReplayOptions options, cassette::Redactor redactor,
                             proxy::Scheduler& scheduler, proxy::Handler* miss_fallback)
    : bulk_(std::make_unique<BulkMemory>()),
      index_(std::move(index)),
      options_(std::move(options)),
      redactor_(std::move(redactor)),
      scheduler_(scheduler),
      miss_fallback_(miss_fallback) {}

ReplayHandler::~ReplayHandler() {
  for (auto& [id, play] : active_) play->exchange->SetOnClientGone(nullptr);
}

size_t ReplayHandler::AddInteraction(const cassette::Interaction& interaction, bool recorded) {
  PrepareResponse(interaction);
  return IndexRequest(cassette::Request(interaction.request), recorded);
}

size_t ReplayHandler::AddInteraction(cassette::Interaction&& interaction, bool recorded) {
  PrepareResponse(interaction);
  return IndexRequest(std::move(interaction.request), recorded);
}

void ReplayHandler::PrepareResponse(const cassette::Interaction& interaction) {
  prepared_.push_back(PreparedResponse::From(interaction, bulk_.get()));
}

size_t ReplayHandler::IndexRequest(cassette::Request&& request, bool recorded) {
  // A body recorded compressed (before tapedeck decoded request bodies, or imported) is indexed
  // decoded, like a live one; one that cannot be decoded is indexed as stored.
  (void)cassette::DecodeRequestBody(&request);
  redactor_.RedactRequest(&request, nullptr);
  const size_t index = index_.Add(request);
  if (recorded) {
    ++recorded_;
    index_.CountUse(index);
  }
  return index;
}

void ReplayHandler::Handle(std::shared_ptr<proxy::Exchange> exchange) {
  Micros start_us = scheduler_.NowMicros();
  // Match in redacted form, like the recording: a key in the live request never causes a miss
  // and never reaches a log line. A body equal to a recorded one is already in redacted form
  // (recordings are redacted; redaction is idempotent), so the scan of large bodies is skipped
  // on the common exact-bytes hit.
  //
  // Headers count in a match only through the --match-header names, so only those are copied
  // and redacted here; the rest join them, redacted, when a miss is reported (RespondMiss),
  // the only place the live headers are shown.
  const cassette::Request& in = exchange->request();
  cassette::Request live;
  live.origin = in.origin;
  live.method = in.method;
  live.path = in.path;
  live.query = in.query;
  for (const auto& header : in.headers) {
    if (index_.normalizer().MatchesHeader(header.first)) live.headers.push_back(header);
  }
  bool recorded_body = index_.IsRecordedBody(in.body.bytes);
  // A compressed body is matched decoded and without its Content-Encoding, the form the record
  // path stores. One that cannot be decoded is matched as sent (so it misses) and the miss says
  // why. Without Content-Encoding this costs one header lookup.
  bool body_copied = false;
  bool all_headers = false;
  std::string body_note;
  if (!recorded_body && cassette::FindHeader(in.headers, "content-encoding") != nullptr) {
    live.body = in.body;
    live.headers = in.headers;  // all of them: the decoder drops Content-Encoding
    all_headers = true;
    body_copied = true;
    Status decoded = cassette::DecodeRequestBody(&live);
    if (decoded.ok()) {
      recorded_body = index_.IsRecordedBody(live.body.bytes);
    } else {
      body_note = "the request body could not be decoded (cannot decode " + decoded.message() +
                  "), so it was matched as sent";
    }
  }
  if (recorded_body) {
    cassette::Body body = body_copied ? std::move(live.body) : in.body;
    live.body = {};
    redactor_.RedactRequest(&live, nullptr);
    live.body = std::move(body);
  } else {
    if (!body_copied) live.body = in.body;
    redactor_.RedactRequest(&live, nullptr);
  }
  Index::Lookup lookup = index_.Next(index_.Key(live));
  if (lookup.kind == Index::Lookup::Kind::kHit) {
    ++hits_;
    Play(exchange, lookup.index, start_us, std::move(live.path));
    return;
  }
  if (miss_fallback_ != nullptr) {
    // Auto mode: the record path answers, and its access line says result=recorded.
    ++forwarded_;
    TD_LOG(kDebug) << "not in the cassette ("
                   << (lookup.kind == Index::Lookup::Kind::kMiss ? "miss" : "exhausted")
                   << "): forwarding " << live.method << " " << live.path;
    miss_fallback_->Handle(std::move(exchange));
    return;
  }
  if (lookup.kind == Index::Lookup::Kind::kExhausted) {
    ++exhausted_;
  } else {
    ++misses_;
  }
  if (!all_headers) {  // the report shows every header, redacted
    cassette::Request headers_only;
    headers_only.headers = in.headers;
    redactor_.RedactRequest(&headers_only, nullptr);
    live.headers = std::move(headers_only.headers);
  }
  RespondMiss(*exchange, live, lookup, start_us, body_note);
}

void ReplayHandler::RespondMiss(proxy::Exchange& exchange, const cassette::Request& live,
                                const Index::Lookup& lookup, Micros start_us,
                                std::string_view body_note) {
  bool exhausted = lookup.kind == Index::Lookup::Kind::kExhausted;
  MissReport report =
      exhausted ? ExplainExhausted(live, index_, lookup) : ExplainMiss(live, index_);
  std::string message = report.Message();
  if (!body_note.empty()) message += "; " + std::string(body_note);
  for (const std::string& line : report.LogLines()) TD_LOG(kWarn) << line;
  if (!body_note.empty()) TD_LOG(kWarn) << "  " << body_note;
  recent_misses_.push_back(message);
  if (recent_misses_.size() > kRecentMisses) recent_misses_.pop_front();

  const size_t body_bytes = proxy::RespondWithError(
      exchange.sink(), 404, cassette::DetectProvider(live), "not_found_error", message,
      {{"x-should-retry", "false"}, {"x-tapedeck-miss", exhausted ? "exhausted" : "1"}});
  proxy::AccessLogEntry entry;
  entry.mode = options_.log_mode;
  entry.cassette = options_.log_cassette;
  entry.result = exhausted ? "exhausted" : "miss";
  entry.status = 404;
  entry.bytes = body_bytes;
  entry.duration_us = scheduler_.NowMicros() - start_us;
  entry.method = live.method;
  entry.path = live.path;  // redacted, like everything in `live`
  proxy::LogAccess(entry);
}

void ReplayHandler::Play(const std::shared_ptr<proxy::Exchange>& exchange, size_t index,
                         Micros start_us, std::string log_path) {
  auto player = std::make_unique<Player>(prepared_[index], options_.play, exchange->sink(),
                                         scheduler_, index);
  player->Start();
  if (player->done()) {  // instant timing: the whole response went out inside Start()
    LogHit(*exchange, *player, index, start_us, log_path, EndName(player->outcome()));
    return;
  }
  if (!exchange->sink().IsOpen()) {  // the client left during Start()
    player->Cancel();
    LogHit(*exchange, *player, index, start_us, log_path, EndName(Player::Outcome::kCancelled));
    return;
  }
  // It goes on from timers and drain callbacks: kept until it ends or the client leaves.
  auto play = std::make_unique<ActivePlay>();
  play->exchange = exchange;
  play->index = index;
  play->start_us = start_us;
  play->log_path = std::move(log_path);
  play->id = next_play_id_++;
  play->player = std::move(player);
  std::uint64_t id = play->id;
  play->player->set_on_done([this, id] { OnPlayDone(id); });
  exchange->SetOnClientGone([this, id] { OnClientGone(id); });
  active_.emplace(id, std::move(play));
}

void ReplayHandler::OnPlayDone(std::uint64_t id) {
  auto it = active_.find(id);
  if (it == active_.end()) return;
  std::unique_ptr<ActivePlay> play = std::move(it->second);
  active_.erase(it);
  // Not inside the client-gone callback here, so clearing it is safe; the exchange may outlive
  // this handler on a keep-alive connection.
  play->exchange->SetOnClientGone(nullptr);
  LogHit(*play->exchange, *play->player, play->index, play->start_us, play->log_path,
         EndName(play->player->outcome()));
  Retire(std::move(play));
}

void ReplayHandler::OnClientGone(std::uint64_t id) {
  auto it = active_.find(id);
  if (it == active_.end()) return;
  std::unique_ptr<ActivePlay> play = std::move(it->second);
  active_.erase(it);
  play->player->Cancel();
  LogHit(*play->exchange, *play->player, play->index, play->start_us, play->log_path,
         EndName(Player::Outcome::kCancelled));
  Retire(std::move(play));
}

void ReplayHandler::Retire(std::unique_ptr<ActivePlay> play) {
  retired_.push_back(std::move(play));
  if (sweep_pending_) return;
  sweep_pending_ = true;
  sweep_timer_ = scheduler_.RunAfter(0, [this] {
    sweep_pending_ = false;
    std::vector<std::unique_ptr<ActivePlay>> retired = std::move(retired_);
    retired_.clear();
  });
}

void ReplayHandler::LogHit(const proxy::Exchange& exchange, const Player& player, size_t index,
                           Micros start_us, std::string_view log_path, std::string_view end) const {
  proxy::AccessLogEntry entry;
  entry.mode = options_.log_mode;
  entry.cassette = options_.log_cassette;
  entry.result = "hit";
  entry.status = player.status();
  entry.bytes = player.bytes_written();
  entry.duration_us = scheduler_.NowMicros() - start_us;
  entry.method = exchange.request().method;
  entry.path = log_path;
  entry.id_name = "interaction";
  entry.id = index;
  entry.end = end;
  proxy::LogAccess(entry);
}

ReplayStats ReplayHandler::Stats() const {
  ReplayStats stats;
  stats.hits = hits_;
  stats.misses = misses_;
  stats.exhausted = exhausted_;
  stats.forwarded = forwarded_;
  stats.recorded = recorded_;
  for (size_t i = 0; i < index_.size(); ++i) stats.uses.push_back(index_.uses(i));
  stats.unused = index_.Unused();
  stats.active = active_.size();
  return stats;
}

std::string ReplayHandler::StatsJson() const {
  ReplayStats stats = Stats();
  nlohmann::ordered_json j = {
      {"hits", stats.hits},
      {"misses", stats.misses},
      {"exhausted", stats.exhausted},
      {"forwarded", stats.forwarded},
      {"recorded", stats.recorded},
      {"interactions", stats.uses.size()},
      {"uses", stats.uses},
      {"unused", stats.unused},
      {"active", stats.active},
      {"recent_misses", std::vector<std::string>(recent_misses_.begin(), recent_misses_.end())},
  };
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

bool ReplayHandler::StrictProblem(bool unused_ok) const {
  return misses_ > 0 || exhausted_ > 0 || forwarded_ > recorded_ ||
         (!unused_ok && !index_.Unused().empty());
}

std::string ReplayHandler::Summary() const {
  ReplayStats stats = Stats();
  auto plural = [](std::uint64_t n, std::string_view one, std::string_view many) {
    return std::to_string(n) + " " + std::string(n == 1 ? one : many);
  };
  std::string out = "replay: " + plural(stats.hits, "hit", "hits") + ", " +
                    plural(stats.misses, "miss", "misses") + ", " +
                    std::to_string(stats.exhausted) + " exhausted";
  if (stats.forwarded > 0 || stats.recorded > 0) {
    out += ", " + std::to_string(stats.forwarded) + " forwarded, " +
           std::to_string(stats.recorded) + " recorded";
  }
  if (stats.unused.empty()) {
    return out + "; all " + plural(stats.uses.size(), "interaction", "interactions") + " used";
  }
  out += "; " + std::to_string(stats.unused.size()) + " of " +
         plural(stats.uses.size(), "interaction", "interactions") + " never used: ";
  for (size_t i = 0; i < stats.unused.size(); ++i) {
    if (i > 0) out += ", ";
    out += "#" + std::to_string(stats.unused[i]);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// ReplayLoader

namespace {

// Requests per hand-over, and batches queued before the reader waits (~1.5 MB of 3 KB
// requests).
constexpr size_t kBatch = 64;
constexpr size_t kMaxQueuedBatches = 8;

}  // namespace

ReplayLoader::ReplayLoader(ReplayHandler* handler) : handler_(handler) {
  batch_.reserve(kBatch);
  helper_ = std::thread([this] { Run(); });
}

ReplayLoader::~ReplayLoader() { Finish(); }

void ReplayLoader::Add(cassette::Interaction&& interaction) {
  handler_->PrepareResponse(interaction);
  batch_.push_back(std::move(interaction.request));
  if (batch_.size() == kBatch) Flush();
}

void ReplayLoader::Flush() {
  if (batch_.empty()) return;
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait(lock, [this] { return queue_.size() < kMaxQueuedBatches; });
  queue_.push_back(std::move(batch_));
  lock.unlock();
  changed_.notify_all();
  batch_ = {};
  batch_.reserve(kBatch);
}

void ReplayLoader::Finish() {
  if (!helper_.joinable()) return;
  Flush();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    closing_ = true;
  }
  changed_.notify_all();
  helper_.join();
}

void ReplayLoader::Run() {
  for (;;) {
    std::vector<cassette::Request> batch;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      changed_.wait(lock, [this] { return closing_ || !queue_.empty(); });
      if (queue_.empty()) return;  // closing, and everything is added
      batch = std::move(queue_.front());
      queue_.pop_front();
    }
    changed_.notify_all();
    for (cassette::Request& request : batch) handler_->IndexRequest(std::move(request), false);
  }
}

}  // namespace td::replay
