// CassetteSlot: one cassette's lock, file, replay index, recordings and end-of-run report.
#include "tools/cassette_slot.h"

#include <filesystem>
#include <nlohmann/json.hpp>

#include "cassette/base/log.h"
#include "cassette/provider.h"
#include "tools/exit_codes.h"

namespace td::cli {

// Auto mode: what the player cannot serve goes to the recorder, recorded into this slot.
class CassetteSlot::ToRecorder final : public proxy::Handler {
 public:
  explicit ToRecorder(CassetteSlot* slot) : slot_(slot) {}
  void Handle(std::shared_ptr<proxy::Exchange> exchange) override {
    slot_->recorder_->HandleInto(std::move(exchange), &slot_->destination_);
  }

 private:
  CassetteSlot* slot_;
};

std::string RecordStatsJson(const proxy::RecordStats& s) {
  nlohmann::json j = {{"forwarded", s.forwarded},       {"recorded", s.recorded},
                      {"truncated", s.truncated},       {"upstream_errors", s.upstream_errors},
                      {"write_errors", s.write_errors}, {"not_recorded", s.not_recorded}};
  return j.dump();
}

CassetteSlot::CassetteSlot(std::string name, std::string path, const SlotSettings* settings)
    : name_(std::move(name)), path_(std::move(path)), settings_(settings) {
  destination_.name = name_;
}

CassetteSlot::~CassetteSlot() = default;

Status CassetteSlot::Prepare() {
  if (!settings_->records) return Status::Ok();
  Result<cassette::RecordTarget> target = cassette::RecordTarget::Prepare(
      path_, settings_->existing, settings_->write, settings_->read);
  if (!target.ok()) return target.status();
  for (const std::string& note : target->notes()) TD_LOG(kWarn) << note;
  target_ = std::move(*target);
  return Status::Ok();
}

Status CassetteSlot::Load(proxy::EventLoop* loop, proxy::RecordHandler* recorder) {
  recorder_ = recorder;
  std::error_code ec;
  if (settings_->replays && !settings_->records && settings_->directory &&
      !std::filesystem::exists(path_, ec)) {
    missing_ = true;  // a directory's test that has no recording yet: its requests say so
    return Status::Ok();
  }
  if (settings_->replays && !settings_->records) {
    if (std::optional<std::string> note =
            cassette::UnfinishedRecordingNote(path_, settings_->read)) {
      TD_LOG(kWarn) << *note;
    }
    // Streamed in: each interaction goes to the player as soon as its line is read, so the
    // cassette is never held whole (docs/performance.md, "Loading big cassettes").
    // The requests are indexed on a helper thread while the file is read on (ReplayLoader).
    cassette::ReadReport report;
    cassette::CassetteVisitor visitor;
    std::optional<replay::ReplayLoader> loader;
    visitor.header = [&](cassette::Cassette&& header) {
      mounts_ = std::move(header.mounts);
      TD_RETURN_IF_ERROR(CreatePlayer({}, header.recorded_by, loop));
      loader.emplace(player_.get());
      return Status::Ok();
    };
    visitor.interaction = [&](cassette::Interaction&& interaction) {
      loader->Add(std::move(interaction));
      file_position_.push_back(file_interactions_++);
      return Status::Ok();
    };
    Status read = cassette::StreamCassette(path_, settings_->read, &report, visitor);
    if (loader) loader->Finish();
    if (!read.ok()) {
      player_.reset();
      return read;
    }
    for (const std::string& w : report.warnings) TD_LOG(kWarn) << w;
    for (const std::string& n : report.notes) TD_LOG(kInfo) << n;
    if (file_interactions_ > 0 && settings_->replay.match.live_workspace) {
      LogWorkspaceNormalizers();
    }
    return Status::Ok();
  }
  std::vector<cassette::Interaction> recorded;
  std::optional<cassette::Provenance> recorded_by;
  if (target_) {
    if (std::optional<cassette::Cassette> c = target_->TakeExisting()) {
      mounts_ = c->mounts;
      recorded_by = std::move(c->recorded_by);
      if (settings_->replays) recorded = std::move(c->interactions);
    }
  }
  if (!settings_->replays) return Status::Ok();
  const bool log_workspace =
      settings_->replay.match.live_workspace.has_value() && !recorded.empty();
  TD_RETURN_IF_ERROR(CreatePlayer(std::move(recorded), recorded_by, loop));
  if (log_workspace) LogWorkspaceNormalizers();
  return Status::Ok();
}

Status CassetteSlot::CreatePlayer(std::vector<cassette::Interaction> recorded,
                                  const std::optional<cassette::Provenance>& recorded_by,
                                  proxy::EventLoop* loop) {
  file_interactions_ = recorded.size();
  for (size_t i = 0; i < recorded.size(); ++i) file_position_.push_back(i);
  replay::ReplayOptions options = settings_->replay;
  options.log_cassette = name_;
  // The workspace normalisers, per cassette: each says where it was recorded. (The log says so
  // for a cassette that holds something: a new one has nothing to compare yet.)
  if (options.match.live_workspace && recorded_by) {
    const cassette::Provenance& p = *recorded_by;
    if (!(p.cwd.empty() && p.home.empty() && p.user.empty() && p.tmp.empty())) {
      options.match.recorded_workspace = replay::Workspace{p.cwd, p.home, p.user, p.tmp};
    }
  }
  if (settings_->records) {
    to_recorder_ = std::make_unique<ToRecorder>(this);
    // What gets recorded is served to the next identical request, and counts as used.
    destination_.on_recorded = [this](const cassette::Interaction& i, bool saved) {
      player_->AddInteraction(i, /*recorded=*/true);
      file_position_.push_back(saved ? std::optional<size_t>(file_interactions_++) : std::nullopt);
    };
  }
  Result<std::unique_ptr<replay::ReplayHandler>> player = replay::ReplayHandler::Create(
      std::move(recorded), std::move(options), settings_->redactor, *loop, to_recorder_.get());
  if (!player.ok()) return player.status();
  player_ = std::move(*player);
  return Status::Ok();
}

void CassetteSlot::LogWorkspaceNormalizers() const {
  const std::string who = name_.empty() ? "" : "cassette " + name_ + ": ";
  const std::vector<std::string>& notes = player_->normalizer().workspace_notes();
  if (!player_->normalizer().options().recorded_workspace) {
    TD_LOG(kInfo) << who << "no workspace normalisers: " << path_
                  << " does not say where it was recorded (its header's recorded_by.workspace, "
                     "which exec writes)";
    return;
  }
  std::string text;
  for (const std::string& note : notes) text += (text.empty() ? "" : "; ") + note;
  TD_LOG(kInfo) << who << "workspace normalisers: " << text;
}

Status CassetteSlot::Open() {
  if (!target_) return Status::Ok();
  Result<cassette::CassetteWriter*> writer = target_->Open();
  if (!writer.ok()) return writer.status();
  destination_.writer = *writer;
  return Status::Ok();
}

void CassetteSlot::Handle(std::shared_ptr<proxy::Exchange> exchange) {
  if (missing_) {
    AnswerMissingCassette(*exchange);
  } else if (player_) {
    player_->Handle(std::move(exchange));
  } else {
    recorder_->HandleInto(std::move(exchange), &destination_);
  }
}

void CassetteSlot::AnswerMissingCassette(proxy::Exchange& exchange) {
  ++missing_requests_;
  const std::string message = "tapedeck: no cassette \"" + name_ + "\" (" + path_ +
                              " does not exist): record it first (--mode record or auto)";
  TD_LOG(kWarn) << message;
  proxy::RespondWithError(exchange.sink(), 404, cassette::DetectProvider(exchange.request()),
                          "not_found_error", message,
                          {{"x-should-retry", "false"}, {"x-tapedeck-miss", "no-cassette"}});
}

std::string CassetteSlot::StatsJson() const {
  if (missing_) return nlohmann::json{{"missing", true}, {"requests", missing_requests_}}.dump();
  if (player_) return player_->StatsJson();
  return RecordStatsJson(destination_.stats);
}

std::optional<std::string> CassetteSlot::Problem(bool unused_fails) const {
  const proxy::RecordStats& s = destination_.stats;
  if (const uint64_t lost = s.write_errors + s.not_recorded; lost > 0) {
    return std::to_string(lost) + " interaction(s) not saved to " + path_ +
           (s.not_recorded > 0 ? " (a secret-shaped value could not be masked)" : "");
  }
  if (missing_ || (player_ && player_->StrictProblem(/*unused_ok=*/!unused_fails))) {
    return Summary();
  }
  return std::nullopt;
}

std::string CassetteSlot::Summary() const {
  const std::string who = name_.empty() ? "" : "cassette " + name_ + ": ";
  if (missing_) {
    return who + "not found; " + std::to_string(missing_requests_) + " request(s) answered 404";
  }
  if (player_) return who + player_->Summary();
  const proxy::RecordStats& s = destination_.stats;
  return who + "record: " + std::to_string(s.recorded) + " recorded, " +
         std::to_string(s.upstream_errors) + " upstream error(s)";
}

// auto --prune, after a clean commit: keeps, in their order, the interactions this run used
// (what it recorded included) and rewrites the cassette atomically, under the lock.
Status CassetteSlot::Prune(std::string* summary) {
  cassette::ReadReport report;
  Result<cassette::Cassette> c = cassette::ReadCassette(path_, settings_->read, &report);
  if (!c.ok()) return c.status().WithContext("--prune");
  if (c->interactions.size() != file_interactions_) {
    return FailedPreconditionError("--prune: cassette " + path_ + " holds " +
                                   std::to_string(c->interactions.size()) +
                                   " interactions where this run expected " +
                                   std::to_string(file_interactions_) + "; left as it is");
  }
  std::vector<bool> used(c->interactions.size(), false);
  const replay::ReplayStats stats = player_->Stats();
  for (size_t i = 0; i < stats.uses.size() && i < file_position_.size(); ++i) {
    if (stats.uses[i] > 0 && file_position_[i]) used[*file_position_[i]] = true;
  }
  cassette::Cassette kept;
  kept.created_at_us = c->created_at_us;
  kept.mounts = c->mounts;
  kept.recorded_by = c->recorded_by;  // a later replay elsewhere needs its workspace
  std::string dropped;
  for (size_t i = 0; i < c->interactions.size(); ++i) {
    if (used[i]) {
      kept.interactions.push_back(std::move(c->interactions[i]));
    } else {
      dropped += (dropped.empty() ? "#" : ", #") + std::to_string(i);
    }
  }
  if (dropped.empty()) {
    *summary = "cassette " + path_ + ": every interaction was used; nothing to prune";
    return Status::Ok();
  }
  TD_RETURN_IF_ERROR(target_->Rewrite(kept).WithContext("--prune"));
  *summary = "cassette " + path_ + ": pruned " +
             std::to_string(c->interactions.size() - kept.interactions.size()) +
             " unused interaction(s) (" + dropped + "); " +
             std::to_string(kept.interactions.size()) + " kept";
  return Status::Ok();
}

int CassetteSlot::Finish(bool strict, bool* strict_problem, std::ostream& err) {
  *strict_problem = false;
  if (player_) {
    TD_LOG(kInfo) << Summary();
    *strict_problem = strict && player_->StrictProblem(/*unused_ok=*/settings_->prune);
    if (*strict_problem) err << "tapedeck: strict replay failed: " << Summary() << "\n";
  } else if (missing_) {
    TD_LOG(kInfo) << Summary();
    *strict_problem = strict;
    if (strict) err << "tapedeck: strict replay failed: " << Summary() << "\n";
  }
  if (!target_) return kExitOk;

  const proxy::RecordStats& stats = destination_.stats;
  const uint64_t lost = stats.write_errors + stats.not_recorded;
  std::string summary;
  Status committed = target_->Commit(&summary);
  if (lost > 0) {
    err << "tapedeck: " << lost << " interaction" << (lost == 1 ? " was" : "s were")
        << " not saved to " << path_;
    if (stats.not_recorded > 0) {
      err << " (" << stats.not_recorded << " withheld: a secret-shaped value could not be masked)";
    }
    err << (committed.ok() ? "" : ": " + committed.message()) << "\n";
    return kExitCassette;
  }
  if (!committed.ok()) {
    err << "tapedeck: " << committed.message() << "\n";
    return kExitCassette;
  }
  TD_LOG(kInfo) << summary;
  if (settings_->prune && player_) {
    Status pruned = Prune(&summary);
    if (!pruned.ok()) {
      err << "tapedeck: " << pruned.message() << "\n";
      return kExitCassette;
    }
    TD_LOG(kInfo) << summary;
  }
  return kExitOk;
}

}  // namespace td::cli
