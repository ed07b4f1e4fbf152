// File: cassette/codec.h
//
// Cassettes on disk: JSON Lines (a header line, then one interaction per line), zstd-compressed
// as one frame that is flushed after every interaction, so `zstd -dc FILE | jq -c .` reads it and
// a killed recording keeps every interaction it had written. `compress = false` writes the same
// lines plainly. Readers accept a missing frame end and a cut last line (with a warning), and
// reject anything else with an error naming the file and line. Rewrites are atomic
// (temp file + rename). Appending as a recording goes: cassette/cassette_writer.h. The schema is
// docs/cassette-format.md.
#pragma once

#include <cstdint>
#include <functional>
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
  // The header's "mounts" for a NEW file that CassetteWriter::Open writes (kTruncate, or kAppend
  // to a missing or empty file): the mount names the recording goes through, in order, each a
  // valid mount name (IsValidMountName), none twice; empty writes no "mounts". Appending to an
  // existing cassette keeps that file's header, whatever this says. WriteCassetteAtomic ignores
  // it: it writes the Cassette's own `mounts`.
  std::vector<std::string> mounts;
  // The header's "recorded_by" for a NEW file, as `mounts`. WriteCassetteAtomic ignores it too.
  std::optional<Provenance> recorded_by;
};

// What a read found besides the interactions: a recovered cut tail, for example.
struct ReadReport {
  std::vector<std::string> warnings;  // "cassette t.zst: line 12 is incomplete (the recording
                                      //  was cut); kept the 11 interactions before it"
  // What was forgiven without losing anything that replays: "cassette t.jsonl: line 4:
  // response.stream.events[2].splits[1]: end offset 90 is past the event's 60 bytes (was the
  // event edited?): dropped it and the splits after it".
  std::vector<std::string> notes;
};

struct ReadOptions {
  // The longest line read, in bytes without its '\n'. A longer line is kParse
  // ("cassette t.zst: line 7 is longer than 256 MiB (--max-line-bytes); refusing to read it"),
  // found as soon as the line passes the cap, before more of it is held. Reading holds about
  // twice the longest line besides the interactions, so this bounds what a hostile file costs.
  std::uint64_t max_line_bytes = std::uint64_t{256} << 20;
};

// Reads a cassette file (compressed or not: detected from the zstd magic number) in chunks,
// parsing each line as it is decoded and dropping its text before the next.
// Errors: kIo (cannot read), kParse (not a cassette, corrupt, a line over the cap, or an
// unknown version), each naming the file and the line (or the byte, for corrupt zstd data).
// Lines of an older format version are migrated; the result's `version` says which version the
// file had. Warnings go to `report`, or to the log when it is null. Blocking; any thread.
Result<Cassette> ReadCassette(const std::string& path, const ReadOptions& options,
                              ReadReport* report = nullptr);
Result<Cassette> ReadCassette(const std::string& path, ReadReport* report = nullptr);
// The same over bytes already in memory; `name` is used in messages.
Result<Cassette> ParseCassette(std::string_view bytes, std::string_view name,
                               const ReadOptions& options, ReadReport* report = nullptr);
Result<Cassette> ParseCassette(std::string_view bytes, std::string_view name,
                               ReadReport* report = nullptr);

// What StreamCassette hands over as it reads.
struct CassetteVisitor {
  // Once, before any interaction: the cassette with every field but `interactions`.
  std::function<Status(Cassette&& header)> header;
  // Each interaction in file order, as soon as its line is read.
  std::function<Status(Interaction&& interaction)> interaction;
};
// ReadCassette without collecting the interactions: each goes to `visitor` as soon as its line is
// read, so memory is what the visitor keeps plus about twice the longest line (replay indexes a
// cassette this way). Errors, warnings and notes as ReadCassette's; an error a callback returns
// stops the read and is returned as it is. After an error the interactions already handed over
// are the caller's to drop. Blocking; any thread.
Status StreamCassette(const std::string& path, const ReadOptions& options, ReadReport* report,
                      const CassetteVisitor& visitor);

// The plain JSON Lines text of a cassette (what `zstd -dc` prints), always in the current
// format version (kCassetteVersion) whatever `cassette.version` says. The header lists
// `cassette.mounts` when there are any (as given: check them first, as WriteCassetteAtomic does).
std::string SerializeCassette(const Cassette& cassette);
// The same content pretty-printed, one document per line of the cassette (2-space indent; each
// document opens with a line holding only "{" and closes with one holding only "}"): for
// reading, review and hand edits (`cassette cat`, `cassette edit`). The reader takes it back.
std::string SerializeCassettePretty(const Cassette& cassette);
// One interaction as a single JSON line (no trailing newline).
std::string SerializeInteraction(const Interaction& interaction);

// Writes the whole cassette to `path` atomically: a temp file in the same folder, fsync,
// rename; the header lists `cassette.mounts` (options.mounts is not used). On failure the old
// file is untouched. Errors: kInvalidArgument when `cassette.mounts` holds a name that is not
// valid or one twice (nothing is written), kIo naming the path.
Status WriteCassetteAtomic(const std::string& path, const Cassette& cassette,
                           const WriteOptions& options);

}  // namespace td::cassette
