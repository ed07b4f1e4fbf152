// File: cassette/record_target.h
//
// Where one run records, and the rules that keep recordings from being lost, in one place for
// every tool that writes a cassette (record, auto, exec, and the commands that rewrite one):
// - one writer per cassette (CassetteLock, held from Prepare to destruction);
// - a cassette that holds interactions is replaced only when asked (kOverwrite), and then only
//   on a clean close: the run writes `FILE.recording` (the ordinary format, crash-safe appends)
//   and Commit() renames it over FILE. Until then FILE is byte for byte what it was;
// - a run that recorded nothing replaces nothing (and leaves no new empty cassette behind);
// - a `FILE.recording` left by a run that was killed is never clobbered: the next start says it
//   is there and how to keep it.
//
//   Result<RecordTarget> target = RecordTarget::Prepare(path, ExistingCassette::kRefuse, {});
//   ... bind, check the upstream ...
//   Result<CassetteWriter*> writer = target->Open();
//   ... record ...
//   Status committed = target->Commit();
//
// Threading: one thread at a time (the CLI's main thread); the writer it opens follows
// CassetteWriter's rules.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cassette/base/status.h"
#include "cassette/cassette_lock.h"
#include "cassette/cassette_writer.h"
#include "cassette/codec.h"
#include "cassette/model.h"

namespace td::cassette {

// What a run does with a cassette that already holds interactions.
enum class ExistingCassette {
  kRefuse,     // refuse to start: the user must say --overwrite or --append
  kOverwrite,  // replace it, atomically, when the run closes cleanly having recorded something
  kAppend,     // add to it in place (crash-safe appends); create it when absent
};

// The path a run stages an overwrite in: `path + ".recording"`.
std::string StagingPath(const std::string& path);

// When a run that did not finish left `StagingPath(path)` holding interactions: a sentence
// saying so and how to keep them. std::nullopt when there is no such file (or it holds none).
std::optional<std::string> UnfinishedRecordingNote(const std::string& path,
                                                   const ReadOptions& read = {});

class RecordTarget {
 public:
  // Step 1, before anything listens or any file is created: takes the lock, then looks at the
  // cassette and at a staging file an earlier run may have left. Creates nothing but the lock
  // file; a staging file that holds no interaction is removed. Errors, naming the file:
  //  - kIo (exit 3): another process holds the lock, or a file cannot be read;
  //  - kParse (exit 3): the cassette is not readable and `existing` is not kOverwrite;
  //  - kInvalidArgument (exit 2): kRefuse and the cassette holds interactions (the message
  //    names --overwrite and --append), or kOverwrite and an earlier run's staging file holds
  //    interactions (the message says how to keep them).
  // `read` applies to every read of the cassette and the staging file (its line cap).
  static Result<RecordTarget> Prepare(const std::string& path, ExistingCassette existing,
                                      WriteOptions options, ReadOptions read = {});

  RecordTarget(RecordTarget&&) noexcept;
  RecordTarget& operator=(RecordTarget&&) noexcept;
  // Without Commit(): closes the writer and leaves every file as it is (as a crash would).
  ~RecordTarget();

  // The cassette as it was at Prepare, when it existed and was readable (auto mode serves it).
  // Moved out: call once.
  std::optional<Cassette> TakeExisting();
  size_t existing_interactions() const;
  // Warnings from Prepare (a cut tail recovered, a leftover staging file), one sentence each.
  const std::vector<std::string>& notes() const;

  // Step 2: creates the file this run writes (the cassette, or its staging file) and returns
  // its writer, owned by the target. Errors: kIo, kParse (see CassetteWriter::Open).
  Result<CassetteWriter*> Open();

  // Step 3, a clean close: closes the writer; then
  //  - staging: renames it over the cassette when it holds at least one interaction and no
  //    write failed; removes it when it holds none; keeps it (and the cassette as it was) when
  //    a write failed, and says so in the error;
  //  - a cassette this run created and wrote nothing to: removes it;
  //  - in place (append): nothing more.
  // Returns the first error (a failed write or close, a failed rename), whose message says what
  // was kept where. `summary` (may be null) gets a one-line account for the log.
  Status Commit(std::string* summary);

  // Replaces the cassette with `cassette`, atomically, keeping its form (zstd or plain). For
  // rewrites under the lock after Commit (auto --prune). kIo on failure, the file untouched.
  Status Rewrite(const Cassette& cassette);

  const std::string& path() const;
  // The file written during the run: path(), or StagingPath(path()).
  const std::string& writing_path() const;

 private:
  struct State;
  explicit RecordTarget(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace td::cassette
