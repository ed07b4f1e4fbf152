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
  int level = 19;          // zstd level; the per-interaction flush keeps latency low anyway
  bool fsync = false;      // fsync after each interaction (write() alone survives kill -9)
};

// What a read found besides the interactions: a recovered cut tail, for example.
struct ReadReport {
  std::vector<std::string> warnings;  // "cassette t.zst: line 12 is incomplete (the recording
                                      //  was cut); kept the 11 interactions before it"
};

// Reads a cassette file (compressed or not: detected from the zstd magic number).
// Errors: kIo (cannot read), kParse (not a cassette, corrupt, or an unknown version), each
// naming the file and the line.
Result<Cassette> ReadCassette(const std::string& path, ReadReport* report = nullptr);
// The same over bytes already in memory; `name` is used in messages.
Result<Cassette> ParseCassette(std::string_view bytes, std::string_view name,
                               ReadReport* report = nullptr);

// The plain JSON Lines text of a cassette (what `zstd -dc` prints).
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
  static Result<std::unique_ptr<CassetteWriter>> Open(const std::string& path, OpenMode mode,
                                                      const WriteOptions& options);
  ~CassetteWriter();  // Close()s, logging an error if that fails
  CassetteWriter(const CassetteWriter&) = delete;
  CassetteWriter& operator=(const CassetteWriter&) = delete;

  Status Append(const Interaction& interaction);
  // Ends the zstd frame and closes the file. Safe to call twice.
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
