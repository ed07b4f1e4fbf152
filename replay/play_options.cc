// Parsing and printing of the replay flags --timing, --chunking and --fault.
#include "replay/play_options.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <sstream>

namespace td::replay {
namespace {

std::string Quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

// A whole decimal number that fits uint64, digits only.
bool ParseUint64(std::string_view text, std::uint64_t* out) {
  if (text.empty() || text.size() > 20) return false;
  std::uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    std::uint64_t d = static_cast<std::uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return false;
    v = v * 10 + d;
  }
  *out = v;
  return true;
}

struct FaultName {
  std::string_view prefix;
  FaultKind kind;
};
constexpr FaultName kFaults[] = {
    {"truncate-after:", FaultKind::kTruncate},
    {"reset-after:", FaultKind::kReset},
    {"error-after:", FaultKind::kError},
    {"stall-after:", FaultKind::kStall},
};

}  // namespace

Result<Pace> ParseTiming(std::string_view text) {
  Pace t;
  if (text == "recorded") return t;
  if (text == "instant") {
    t.instant = true;
    return t;
  }
  std::string number(text);
  if (!number.empty() && (number.back() == 'x' || number.back() == 'X')) number.pop_back();
  const char* begin = number.c_str();
  char* end = nullptr;
  errno = 0;
  double factor = number.empty() ? 0 : std::strtod(begin, &end);
  bool whole = !number.empty() && end == begin + number.size() && errno == 0;
  // strtod also reads "inf", "nan" and hex floats; only plain finite numbers are factors.
  bool plain = number.find_first_not_of("0123456789.") == std::string::npos;
  if (!whole || !plain || !std::isfinite(factor) || factor <= 0) {
    return InvalidArgumentError("--timing " + Quoted(text) +
                                ": expected recorded, instant or a positive speed factor");
  }
  t.factor = factor;
  return t;
}

Result<Chunking> ParseChunking(std::string_view text) {
  Chunking c;
  if (text == "event") return c;
  if (text == "recorded") {
    c.kind = ChunkingKind::kRecorded;
  } else if (text == "byte") {
    c.kind = ChunkingKind::kByte;
  } else if (text == "random") {
    c.kind = ChunkingKind::kRandom;
  } else if (text.rfind("random:", 0) == 0) {
    c.kind = ChunkingKind::kRandom;
    if (!ParseUint64(text.substr(7), &c.seed)) {
      return InvalidArgumentError("--chunking " + Quoted(text) +
                                  ": the seed must be a whole number from 0 to " +
                                  std::to_string(UINT64_MAX));
    }
  } else {
    return InvalidArgumentError("--chunking " + Quoted(text) +
                                ": expected event, recorded, byte, random or random:SEED");
  }
  return c;
}

Result<Fault> ParseFault(std::string_view text) {
  Fault f;
  if (text.empty() || text == "none") return f;
  for (const FaultName& name : kFaults) {
    if (text.rfind(name.prefix, 0) != 0) continue;
    std::uint64_t n = 0;
    if (!ParseUint64(text.substr(name.prefix.size()), &n)) {
      return InvalidArgumentError("--fault " + Quoted(text) +
                                  ": N must be a whole number of events (0 or more)");
    }
    f.kind = name.kind;
    f.after = static_cast<size_t>(n);
    return f;
  }
  return InvalidArgumentError(
      "--fault " + Quoted(text) +
      ": expected none, truncate-after:N, reset-after:N, error-after:N or stall-after:N");
}

std::string FormatTiming(const Pace& timing) {
  if (timing.instant) return "instant";
  if (timing.factor == 1.0) return "recorded";
  std::ostringstream out;
  out << timing.factor;
  return out.str();
}

std::string FormatChunking(const Chunking& chunking) {
  switch (chunking.kind) {
    case ChunkingKind::kEvent:
      return "event";
    case ChunkingKind::kRecorded:
      return "recorded";
    case ChunkingKind::kByte:
      return "byte";
    case ChunkingKind::kRandom:
      return "random:" + std::to_string(chunking.seed);
  }
  return "event";
}

std::string FormatFault(const Fault& fault) {
  for (const FaultName& name : kFaults) {
    if (name.kind == fault.kind) return std::string(name.prefix) + std::to_string(fault.after);
  }
  return "none";
}

std::string FormatPlayOptions(const PlayOptions& options) {
  return "timing=" + FormatTiming(options.timing) +
         " chunking=" + FormatChunking(options.chunking) + " fault=" + FormatFault(options.fault);
}

}  // namespace td::replay
