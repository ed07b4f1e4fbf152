// File: tests/support/fake_clock.h
//
// A Clock the test moves by hand, so recorded timings are exact numbers. Thread-safe: the proxy
// reads it on its loop thread while the test advances it.
#pragma once

#include <atomic>

#include "cassette/base/clock.h"

namespace td::testing {

class FakeClock final : public Clock {
 public:
  explicit FakeClock(Micros now_us = 1'000'000, Micros wall_us = 1'700'000'000'000'000)
      : now_us_(now_us), wall_offset_us_(wall_us - now_us) {}

  Micros NowMicros() const override { return now_us_.load(); }
  Micros WallMicros() const override { return now_us_.load() + wall_offset_us_; }

  void Advance(Micros us) { now_us_.fetch_add(us); }
  void Set(Micros now_us) { now_us_.store(now_us); }

 private:
  std::atomic<Micros> now_us_;
  const Micros wall_offset_us_;
};

}  // namespace td::testing
