// File: tests/support/manual_scheduler.h
//
// A proxy::Scheduler (and Clock) whose time moves only when the test says so: Advance(us) fires
// every timer that falls due, in time order (FIFO among equal times), with NowMicros() equal to
// the timer's due time while it runs; RunUntilIdle() keeps going until no timer is left. Timers
// scheduled from a callback fire in the same Advance if they fall due in it. Like h2o's loopback
// connection, it lets the player be tested with no sockets and no sleeps.
//
// Header-only; single-threaded.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <utility>

#include "proxy/exchange.h"

namespace td::testing {

class ManualScheduler final : public proxy::Scheduler {
 public:
  // Wall time reported at monotonic time 0: 2026-11-21T08:32:33Z.
  static constexpr Micros kWallEpoch = 1795249953000000;

  explicit ManualScheduler(Micros start_us = 0) : now_(start_us) {}
  ManualScheduler(const ManualScheduler&) = delete;
  ManualScheduler& operator=(const ManualScheduler&) = delete;

  Micros NowMicros() const override { return now_; }
  Micros WallMicros() const override { return kWallEpoch + now_; }

  [[nodiscard]] proxy::TimerHandle RunAfter(Micros delay_us, std::function<void()> fn) override {
    auto entry = std::make_shared<Entry>();
    entry->fn = std::move(fn);
    Key key{now_ + (delay_us > 0 ? delay_us : 0), next_order_++};
    timers_.emplace(key, entry);
    return proxy::TimerHandle(std::make_unique<Handle>(entry));
  }

  // Moves time forward by `us`, firing each timer that falls due on the way. Returns how many
  // fired.
  size_t Advance(Micros us) { return AdvanceTo(now_ + us); }

  // Moves time to `until_us` (not backwards), firing due timers on the way.
  size_t AdvanceTo(Micros until_us) {
    size_t fired = 0;
    while (!timers_.empty() && timers_.begin()->first.due <= until_us) {
      fired += FireFirst();
    }
    if (until_us > now_) now_ = until_us;
    return fired;
  }

  // Fires timers, moving time to each, until none is left or `max_timers` fired (a guard
  // against a callback that keeps rescheduling itself). Returns how many fired.
  size_t RunUntilIdle(size_t max_timers = 1000000) {
    size_t fired = 0;
    while (!timers_.empty() && fired < max_timers) fired += FireFirst();
    return fired;
  }

  // Timers scheduled and neither fired nor cancelled.
  size_t pending() const {
    size_t n = 0;
    for (const auto& [key, entry] : timers_) n += entry->cancelled ? 0 : 1;
    return n;
  }
  // When the next live timer is due, or -1 when there is none.
  Micros next_due() const {
    for (const auto& [key, entry] : timers_) {
      if (!entry->cancelled) return key.due;
    }
    return -1;
  }

 private:
  struct Entry {
    std::function<void()> fn;
    bool cancelled = false;
  };
  struct Key {
    Micros due;
    std::uint64_t order;
    bool operator<(const Key& other) const {
      return due != other.due ? due < other.due : order < other.order;
    }
  };
  // Cancels its entry when destroyed (whether or not it fired).
  class Handle final : public proxy::TimerHandle::Impl {
   public:
    explicit Handle(std::shared_ptr<Entry> entry) : entry_(std::move(entry)) {}
    ~Handle() override {
      entry_->cancelled = true;
      entry_->fn = nullptr;
    }

   private:
    std::shared_ptr<Entry> entry_;
  };

  // Fires (or drops, if cancelled) the earliest timer. Returns 1 if a callback ran.
  size_t FireFirst() {
    auto it = timers_.begin();
    Key key = it->first;
    std::shared_ptr<Entry> entry = it->second;
    timers_.erase(it);
    if (entry->cancelled) return 0;
    if (key.due > now_) now_ = key.due;
    // Moved out first, so the callback may destroy or reassign its own handle.
    std::function<void()> fn = std::move(entry->fn);
    entry->fn = nullptr;
    entry->cancelled = true;
    fn();
    return 1;
  }

  Micros now_;
  std::uint64_t next_order_ = 0;
  std::map<Key, std::shared_ptr<Entry>> timers_;
};

}  // namespace td::testing
