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

// The header line (without '\n') of a cassette created at `created_at_us`.
std::string HeaderLine(Micros created_at_us);

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

// True when the first line of the file at `path` (decompressed if it is zstd) is a tapedeck
// header; reads no further than that line. Used to refuse to overwrite files that are not
// cassettes. Errors: kIo when the file cannot be read.
Result<bool> FileStartsWithCassetteHeader(const std::string& path);

// ---------------------------------------------------------------------------------------------
// Migrations. Step i upgrades a line (the header line too, with `is_header`) from version i + 1
// to version i + 2; a new format version appends one step and keeps every older golden file
// loading. There is only version 1 so far, so the table is empty.
using MigrationStep = Status (*)(Json* line, bool is_header);
inline constexpr int kOldestCassetteVersion = 1;
inline constexpr std::array<MigrationStep, kCassetteVersion - kOldestCassetteVersion>
    kMigrationSteps{};

// Upgrades one line written by `from_version` to kCassetteVersion, in place.
inline Status MigrateLine(int from_version, Json* line, bool is_header) {
  for (int v = from_version; v < kCassetteVersion; ++v) {
    TD_RETURN_IF_ERROR(
        kMigrationSteps[static_cast<size_t>(v - kOldestCassetteVersion)](line, is_header));
  }
  return Status::Ok();
}

}  // namespace td::cassette::internal
