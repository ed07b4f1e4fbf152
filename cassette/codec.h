// File: cassette/codec.h
//
// Cassettes on disk: JSON Lines (a header line, then one interaction per line), zstd-compressed
// as one frame that is flushed after every interaction, so `zstd -dc FILE | jq -c .` reads it and
// a killed recording keeps every interaction it had written. `compress = false` writes the same
// lines plainly. Readers accept a missing frame end and a cut last line (with a warning), and
// reject anything else with an error naming the file and line. Rewrites are atomic
// (temp file + rename). The schema is docs/cassette-format.md.
#pragma once

#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cassette/base/status.h"
#include "cassette/model.h"

namespace td::cassette {

struct WriteOptions {
  bool compress = true;
  // zstd level. 6, not 19: on a 50-turn agent session (bench/compression_bench) level 6 gives
  // 1.5% of raw against 1.4% at 19, but Append of a 120 KB line costs ~0.3 ms of compression
  // instead of ~8 ms, and the context holds 5 MB instead of 89 MB (docs/performance.md).
  int level = 6;
  bool fsync = false;  // fsync after each interaction (write() alone survives kill -9)
};

// What a read found besides the interactions: a recovered cut tail, for example.
struct ReadReport {
  std::vector<std::string> warnings;  // "cassette t.zst: line 12 is incomplete (the recording
                                      //  was cut); kept the 11 interactions before it"
};

// Reads a cassette file (compressed or not: detected from the zstd magic number).
// Errors: kIo (cannot read), kParse (not a cassette, corrupt, or an unknown version), each
// naming the file and the line. Lines of an older format version are migrated; the result's
// `version` says which version the file had. Warnings go to `report`, or to the log when it is
// null.
Result<Cassette> ReadCassette(const std::string& path, ReadReport* report = nullptr);
// The same over bytes already in memory; `name` is used in messages.
Result<Cassette> ParseCassette(std::string_view bytes, std::string_view name,
                               ReadReport* report = nullptr);

// The plain JSON Lines text of a cassette (what `zstd -dc` prints), always in the current
// format version (kCassetteVersion) whatever `cassette.version` says.
std::string SerializeCassette(const Cassette& cassette);
// One interaction as a single JSON line (no trailing newline).
std::string SerializeInteraction(const Interaction& interaction);

// Writes the whole cassette to `path` atomically: a temp file in the same folder, fsync,
// rename. On failure the old file is untouched.
Status WriteCassetteAtomic(const std::string& path, const Cassette& cassette,
                           const WriteOptions& options);

// Appends interactions as they complete. Each Append is on disk (in the OS) when it returns.
// Not thread-safe: one writer per file, called from one thread.
class CassetteWriter {
 public:
  enum class OpenMode {
    kTruncate,  // start a new cassette, replacing the file
    kAppend,    // keep what the file holds and add to it (a new zstd frame); creates it if absent
  };
  // Opens `path` and, for a new cassette, writes the header line. kAppend keeps an existing
  // file's form (plain or zstd, whatever options.compress says) and first rewrites a file that
  // ends in a cut (atomically, keeping its complete interactions). Neither mode ever replaces a
  // file that is not a tapedeck cassette (kParse). Errors: kIo naming the path, kInvalidArgument
  // for a zstd level out of range.
  static Result<std::unique_ptr<CassetteWriter>> Open(const std::string& path, OpenMode mode,
                                                      const WriteOptions& options);
  ~CassetteWriter();  // Close()s, logging an error if that fails
  CassetteWriter(const CassetteWriter&) = delete;
  CassetteWriter& operator=(const CassetteWriter&) = delete;

  // Writes one line (compressed and flushed) with write(2); when it returns the interaction is
  // in the OS, so a kill -9 keeps it. Errors: kIo; after one, further Appends fail too.
  Status Append(const Interaction& interaction);
  // Ends the zstd frame, fsyncs and closes the file. Safe to call twice (the second call does
  // nothing). Also returns the error of an earlier failed Append (the file may then end in a
  // partial line, which readers drop with a warning).
  Status Close();
  const std::string& path() const { return path_; }
  size_t appended() const { return appended_; }

 private:
  struct Impl;
  CassetteWriter(std::string path, std::unique_ptr<Impl> impl);
  std::string path_;
  std::unique_ptr<Impl> impl_;
  size_t appended_ = 0;
};

}  // namespace td::cassette
