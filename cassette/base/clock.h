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

// "2026-11-21T08:32:33.123456Z" for a wall time in microseconds.
std::string FormatRfc3339Micros(Micros wall_us);

}  // namespace td
