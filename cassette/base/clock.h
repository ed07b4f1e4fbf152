// File: cassette/base/clock.h
//
// Time sources. Recording stamps arrival offsets from a Clock so tests can drive time by hand
// (tests/support/fake_clock.h); production uses SystemClock. Offsets in cassettes are integer
// microseconds relative to the start of an exchange, so they survive JSON exactly.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace td {

using Micros = std::int64_t;

class Clock {
 public:
  virtual ~Clock() = default;
  // Monotonic time in microseconds since an arbitrary epoch; never goes backwards.
  virtual Micros NowMicros() const = 0;
  // Wall-clock time in microseconds since the Unix epoch (for "recorded_at").
  virtual Micros WallMicros() const = 0;
};

class SystemClock final : public Clock {
 public:
  Micros NowMicros() const override {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
  Micros WallMicros() const override {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  // A process-wide instance; it has no state.
  static const SystemClock& Get() {
    static const SystemClock clock;
    return clock;
  }
};

// The wall times a cassette can spell: 0000-01-01T00:00:00.000000Z ..
// 9999-12-31T23:59:59.999999Z (RFC 3339 has a 4-digit year).
inline constexpr Micros kMinRfc3339Micros = -62167219200LL * 1000000;
inline constexpr Micros kMaxRfc3339Micros = 253402300800LL * 1000000 - 1;

// "2026-11-21T08:32:33.123456Z" for a wall time in microseconds; the year always has 4 digits
// ("0026-..."). A time outside kMinRfc3339Micros..kMaxRfc3339Micros is written as the nearer
// end of that range (the reader refuses any other spelling of a year).
std::string FormatRfc3339Micros(Micros wall_us);

}  // namespace td
