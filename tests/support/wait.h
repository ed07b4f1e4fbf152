// File: tests/support/wait.h
//
// Waiting without sleeps: code on other threads (a fake upstream, the proxy's loop) calls
// Notifier::Notify() whenever it changes what a test may wait for; the test thread blocks on a
// condition variable until its predicate holds or the timeout passes, and fails saying what it
// waited for.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>

namespace td::testing {

inline constexpr std::chrono::milliseconds kWaitTimeout{10'000};

class Notifier {
 public:
  // Runs `change` under the lock, then wakes every waiter.
  void Update(const std::function<void()>& change) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      change();
    }
    cv_.notify_all();
  }
  void Notify() {
    Update([] {});
  }

  // Waits until `pred` (evaluated under the lock) holds.
  [[nodiscard]] ::testing::AssertionResult WaitFor(
      const std::function<bool()>& pred, const std::string& what,
      std::chrono::milliseconds timeout = kWaitTimeout) {
    std::unique_lock<std::mutex> lock(mu_);
    if (cv_.wait_for(lock, timeout, pred)) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure()
           << "timed out after " << timeout.count() << " ms waiting for " << what;
  }

  // For reading state guarded by this notifier.
  std::mutex& mutex() { return mu_; }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
};

// For state no Notifier covers (stats read through LoopThread::RunSync): checks `pred` every
// 2 ms until it holds or the timeout passes.
[[nodiscard]] inline ::testing::AssertionResult WaitUntil(
    const std::function<bool()>& pred, const std::string& what,
    std::chrono::milliseconds timeout = kWaitTimeout) {
  std::mutex mu;
  std::condition_variable never;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::unique_lock<std::mutex> lock(mu);
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= deadline) {
      return ::testing::AssertionFailure()
             << "timed out after " << timeout.count() << " ms waiting for " << what;
    }
    never.wait_for(lock, std::chrono::milliseconds(2));
  }
  return ::testing::AssertionSuccess();
}

}  // namespace td::testing
