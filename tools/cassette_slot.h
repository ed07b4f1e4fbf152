// File: tools/cassette_slot.h
//
// CassetteSlot: one cassette a serving run uses, with everything that is per cassette: its lock
// and the file the run writes (record, auto: cassette::RecordTarget), its replay index and
// counts (replay, auto: replay::ReplayHandler), the destination its recordings go to, and what
// the end of the run does with it (commit, report what was lost, prune, strict). A run with
// --cassette has one slot; a run with --cassette-dir one per cassette a request picked
// (tools/cassette_router.h), so the interactions of two cassettes never meet.
//
// A slot is made ready in three steps, so a single --cassette fails at the right moment (a
// held lock before anything listens, the file created only once the listener is bound):
// Prepare, Load, Open. A directory's slots take the three at their first request.
//
// Threading: the event-loop thread (Finish too, once the loop has stopped).
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "cassette/base/status.h"
#include "cassette/codec.h"
#include "cassette/record_target.h"
#include "cassette/redact.h"
#include "proxy/event_loop.h"
#include "proxy/exchange.h"
#include "proxy/record_handler.h"
#include "replay/replay_handler.h"

namespace td::cli {

// What every cassette of a run shares. Owned by the run; outlives its slots.
struct SlotSettings {
  bool records = false;  // record, auto: a RecordTarget and a writer
  bool replays = false;  // replay, auto: a ReplayHandler over the file's interactions
  cassette::ExistingCassette existing = cassette::ExistingCassette::kRefuse;
  cassette::WriteOptions write;  // its `mounts` go into the header of a new file
  cassette::ReadOptions read;
  // With match.live_workspace set (exec; --preset agent-cli) each slot turns on the workspace
  // normalisers with where its own cassette was recorded (its header's recorded_by.workspace).
  replay::ReplayOptions replay;
  cassette::Redactor redactor;
  bool prune = false;  // auto: drop what the run never used, on a clean close
  // Several cassettes: each name goes into the access log; a missing cassette in replay is
  // answered 404 per request instead of failing the start.
  bool directory = false;
};

class CassetteSlot {
 public:
  // `name` is "" for a single --cassette. Nothing is read or locked yet.
  CassetteSlot(std::string name, std::string path, const SlotSettings* settings);
  ~CassetteSlot();
  CassetteSlot(const CassetteSlot&) = delete;
  CassetteSlot& operator=(const CassetteSlot&) = delete;

  // Step 1 (record, auto): takes the cassette's lock and looks at the file and at what an
  // earlier run may have left (notes are logged). Creates no file but the lock file.
  Status Prepare();
  // Step 2: the replay handler over what the file holds (replay, auto); `recorder` (record,
  // auto; not owned, outlives the slot) forwards auto's misses and every record exchange. In a
  // directory, a missing cassette in replay mode is not an error: its requests get a 404.
  Status Load(proxy::EventLoop* loop, proxy::RecordHandler* recorder);
  // Step 3 (record, auto): creates the file the run writes.
  Status Open();

  // Plays, records or forwards one exchange of this cassette.
  void Handle(std::shared_ptr<proxy::Exchange> exchange);

  // After the loop stopped and the recorder flushed: commits the file, says on `err` what was
  // lost if anything was, prunes (auto --prune), and reports the strict verdict. Returns the
  // exit code for the cassette (kExitOk or kExitCassette); sets `*strict_problem`.
  int Finish(bool strict, bool* strict_problem, std::ostream& err);

  // For GET /__tapedeck/stats and the shutdown log.
  std::string StatsJson() const;
  std::string Summary() const;
  // What fails this cassette so far, in one sentence, or nullopt: in replay and auto what
  // --strict refuses (misses, exhausted repeats, a cassette that does not exist; interactions
  // not yet used only with `unused_fails`), in record and auto an interaction that was not
  // saved. For GET /__tapedeck/stats/NAME, which a test runner asks after each test.
  std::optional<std::string> Problem(bool unused_fails) const;
  // The mounts the cassette's header lists (replay reads them from the file).
  const std::vector<std::string>& mounts() const { return mounts_; }
  const std::string& name() const { return name_; }
  const std::string& path() const { return path_; }

 private:
  class ToRecorder;  // auto's miss fallback: the recorder, into this slot's destination

  // The replay handler over `recorded` (more may be added as a stream is read), with the
  // workspace normalisers of where the cassette was recorded.
  Status CreatePlayer(std::vector<cassette::Interaction> recorded,
                      const std::optional<cassette::Provenance>& recorded_by,
                      proxy::EventLoop* loop);
  Status Prune(std::string* summary);
  void AnswerMissingCassette(proxy::Exchange& exchange);
  // Says, at info, what the workspace normalisers rewrite for this cassette, or why it has none.
  void LogWorkspaceNormalizers() const;

  std::string name_;
  std::string path_;
  const SlotSettings* settings_;
  proxy::RecordHandler* recorder_ = nullptr;
  std::optional<cassette::RecordTarget> target_;
  proxy::RecordDestination destination_;
  std::unique_ptr<ToRecorder> to_recorder_;
  std::unique_ptr<replay::ReplayHandler> player_;
  std::vector<std::string> mounts_;
  // Replay in a directory: the file does not exist; requests for it are counted as misses.
  bool missing_ = false;
  uint64_t missing_requests_ = 0;
  // Auto --prune: each interaction the player serves, by index, and its position in the file
  // (none when its Append failed).
  std::vector<std::optional<size_t>> file_position_;
  size_t file_interactions_ = 0;
};

// The counts of a record destination as JSON, for GET /__tapedeck/stats.
std::string RecordStatsJson(const proxy::RecordStats& stats);

}  // namespace td::cli
