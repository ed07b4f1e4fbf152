// File: replay/play_options.h
//
// How a recorded response is played back: timing (recorded gaps, a speed factor, or none),
// chunking (how the bytes are cut into writes) and an optional injected fault. Parsed from the
// --timing, --chunking and --fault flags; every parse error names the flag and the bad value.
// docs/replay.md describes each mode.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "cassette/base/status.h"

namespace td::replay {

// --timing: how fast a replay plays back the recorded arrival times (cassette::Timing holds
// those times).
struct Pace {
  bool instant = false;  // no delays at all
  double factor = 1.0;   // > 0; recorded offsets are divided by it (4 = four times faster)
  friend bool operator==(const Pace&, const Pace&) = default;
};

enum class ChunkingKind {
  kEvent,     // one write per SSE event or recorded chunk (default); a plain body in one write
  kRecorded,  // one write per piece as it arrived from the upstream
  kByte,      // one byte per write
  kRandom,    // random cuts, deterministic from the seed
};
struct Chunking {
  ChunkingKind kind = ChunkingKind::kEvent;
  std::uint64_t seed = 0;  // kRandom only
  friend bool operator==(const Chunking&, const Chunking&) = default;
};

enum class FaultKind {
  kNone,
  kTruncate,  // after N events, a clean end
  kReset,     // after N events, the connection is reset
  kError,     // after N events, a provider-shaped overloaded error event, then a clean end
  kStall,     // after N events, silence: the response never ends
};
struct Fault {
  FaultKind kind = FaultKind::kNone;
  size_t after = 0;  // N
  friend bool operator==(const Fault&, const Fault&) = default;
};

struct PlayOptions {
  Pace timing;
  Chunking chunking;
  Fault fault;
  friend bool operator==(const PlayOptions&, const PlayOptions&) = default;
};

// "recorded" (factor 1), "instant", or a positive speed factor ("4", "0.5", "4x").
Result<Pace> ParseTiming(std::string_view text);
// "event", "recorded", "byte", "random" (seed 0) or "random:SEED" (a decimal uint64).
Result<Chunking> ParseChunking(std::string_view text);
// "" or "none", "truncate-after:N", "reset-after:N", "error-after:N", "stall-after:N".
Result<Fault> ParseFault(std::string_view text);

// The flag spellings back: "recorded", "instant", "4"; "random:7"; "reset-after:3".
std::string FormatTiming(const Pace& timing);
std::string FormatChunking(const Chunking& chunking);
std::string FormatFault(const Fault& fault);
// "timing=recorded chunking=event fault=none", for the start-up log line.
std::string FormatPlayOptions(const PlayOptions& options);

}  // namespace td::replay
