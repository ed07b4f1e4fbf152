// File: cassette/internal/codec_internal.h
//
// The pieces of the cassette format that CassetteWriter and tests need below the public API:
// the header line, the detailed parse result (was the file compressed, was it cut), the header
// sniff that keeps the writer from replacing other files, and the migration hook that upgrades
// lines of older format versions to kCassetteVersion. Defined in cassette/codec.cc.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "cassette/base/status.h"
#include "cassette/codec.h"
#include "cassette/json_mapping.h"
#include "cassette/model.h"

namespace td::cassette::internal {

// Nothing larger is read: neither a plain file nor a decompressed one.
inline constexpr std::uint64_t kMaxCassetteBytes = std::uint64_t{4} << 30;  // 4 GiB

// "cassette NAME", the subject of every message about a cassette file.
inline std::string CassetteWhere(std::string_view name) {
  std::string out = "cassette ";
  out += name;
  return out;
}

// The header line (without '\n') of a cassette created at `created_at_us` through `mounts`
// (written only when not empty), recorded by `recorded_by` (written when set).
std::string HeaderLine(Micros created_at_us, const std::vector<std::string>& mounts,
                       const std::optional<Provenance>& recorded_by);

// What a mount name must be, for messages.
inline constexpr std::string_view kMountNameRule =
    "1-64 characters of a-z, 0-9, '_' and '-', starting with a letter or digit";

// Why `mounts` cannot go in a header, as "mounts[2]: \"openai\" is listed twice", or "" when it
// can: every name valid (IsValidMountName), none twice.
std::string MountsProblem(const std::vector<std::string>& mounts);

// A parsed cassette file and what the writer needs to know to append to it.
struct ParsedFile {
  Cassette cassette;
  bool compressed = false;
  // The file ends in a cut: an incomplete zstd frame or a last line that is not whole JSON.
  bool cut = false;
  // The last line is whole but has no '\n' after it (a hand edit); appending must add one.
  bool missing_final_newline = false;
};
// Reads a cassette from memory (ParseCassette) or from a file in chunks (ReadCassette), with
// what the writer needs besides the cassette. Memory: the interactions plus about twice the
// longest line. Errors as ReadCassette's.
Result<ParsedFile> ParseCassetteFile(std::string_view bytes, std::string_view name,
                                     ReadReport* report, const ReadOptions& options = {},
                                     std::uint64_t max_bytes = kMaxCassetteBytes);
Result<ParsedFile> ReadCassetteFile(const std::string& path, ReadReport* report,
                                    const ReadOptions& options = {});
// The same handing the header and each interaction to `visitor` (the result's cassette then holds
// no interactions).
Result<ParsedFile> ReadCassetteFile(const std::string& path, ReadReport* report,
                                    const ReadOptions& options, const CassetteVisitor& visitor);

// True when the first line of the file at `path` (decompressed if it is zstd) is a tapedeck
// header; reads no further than that line. Used to refuse to overwrite files that are not
// cassettes. Errors: kIo when the file cannot be read.
Result<bool> FileStartsWithCassetteHeader(const std::string& path);

// ---------------------------------------------------------------------------------------------
// Migrations. Step i upgrades a line (the header line too, with `is_header`) from version i + 1
// to version i + 2; a new format version appends one step and keeps every older golden file
// loading (tests/golden/cassettes/vN/).
using MigrationStep = Status (*)(Json* line, bool is_header);
inline constexpr int kOldestCassetteVersion = 1;

// 1 -> 2: version 2 only added the header's optional "mounts", so a version 1 line reads as it
// is (with no mounts). A version 1 header that has "mounts" was not written by any tapedeck
// (version 1 readers refuse the key): say which version it needs rather than take it.
inline Status MigrateV1ToV2(Json* line, bool is_header) {
  if (is_header && line->contains("mounts")) {
    return ParseError("\"mounts\" needs version 2 or later (this header says version 1)");
  }
  return Status::Ok();
}

// 2 -> 3: version 3 only added the header's optional "recorded_by"; likewise.
inline Status MigrateV2ToV3(Json* line, bool is_header) {
  if (is_header && line->contains("recorded_by")) {
    return ParseError("\"recorded_by\" needs version 3 or later (this header says an older one)");
  }
  return Status::Ok();
}

inline constexpr std::array<MigrationStep, kCassetteVersion - kOldestCassetteVersion>
    kMigrationSteps{&MigrateV1ToV2, &MigrateV2ToV3};

// The oldest version whose interaction lines read as current ones: every step so far changes
// only the header line. The reader's fast path (internal/interaction_line.h) reads interaction
// lines without migrating them from this version on, so a step that changes interaction lines
// must raise it to the version it upgrades to.
inline constexpr int kOldestVersionOfCurrentInteractionLines = 1;

// Upgrades one line written by `from_version` to kCassetteVersion, in place.
inline Status MigrateLine(int from_version, Json* line, bool is_header) {
  for (int v = from_version; v < kCassetteVersion; ++v) {
    TD_RETURN_IF_ERROR(
        kMigrationSteps[static_cast<size_t>(v - kOldestCassetteVersion)](line, is_header));
  }
  return Status::Ok();
}

}  // namespace td::cassette::internal
