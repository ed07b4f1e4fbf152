// Unit tests for EventLoop: timers in order, cancelling by dropping the handle, deferred
// deletion after the current callback, and Post() from another thread. No sockets.
#include "proxy/event_loop.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace td::proxy {
namespace {

std::unique_ptr<EventLoop> NewLoop() {
  Result<std::unique_ptr<EventLoop>> loop = EventLoop::Create();
  EXPECT_TRUE(loop.ok()) << loop.status().message();
  return std::move(*loop);
}

TEST(EventLoopTest, RunsTimersInDeadlineOrderNeverInline) {
  auto loop = NewLoop();
  std::vector<int> order;
  TimerHandle late = loop->RunAfter(3000, [&] {
    order.push_back(3);
    loop->Stop();
  });
  TimerHandle soon = loop->RunAfter(1000, [&] { order.push_back(2); });
  TimerHandle now = loop->RunAfter(0, [&] { order.push_back(1); });
  EXPECT_TRUE(order.empty()) << "RunAfter(0) must not run inline";
  ASSERT_TRUE(loop->Run().ok());
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
}

TEST(EventLoopTest, DroppingTheHandleCancelsTheTimer) {
  auto loop = NewLoop();
  bool fired = false;
  {
    TimerHandle handle = loop->RunAfter(0, [&] { fired = true; });
  }
  TimerHandle cancelled = loop->RunAfter(0, [&] { fired = true; });
  cancelled.Cancel();
  EXPECT_FALSE(static_cast<bool>(cancelled));
  TimerHandle stop = loop->RunAfter(1000, [&] { loop->Stop(); });
  ASSERT_TRUE(loop->Run().ok());
  EXPECT_FALSE(fired);
}

TEST(EventLoopTest, ATimerMayDestroyItsOwnHandle) {
  auto loop = NewLoop();
  TimerHandle self;
  int runs = 0;
  self = loop->RunAfter(0, [&] {
    ++runs;
    self.Cancel();  // destroys the timer whose callback is running
    loop->Stop();
  });
  ASSERT_TRUE(loop->Run().ok());
  EXPECT_EQ(runs, 1);
}

struct Flag {
  explicit Flag(bool* destroyed) : destroyed_(destroyed) {}
  ~Flag() { *destroyed_ = true; }
  bool* destroyed_;
};

TEST(EventLoopTest, DeferDeleteRunsAfterTheCurrentCallback) {
  auto loop = NewLoop();
  bool destroyed = false;
  bool destroyed_inside = true;
  TimerHandle t = loop->RunAfter(0, [&] {
    loop->DeferDelete(std::make_unique<Flag>(&destroyed));
    destroyed_inside = destroyed;
  });
  TimerHandle stop = loop->RunAfter(2000, [&] { loop->Stop(); });
  ASSERT_TRUE(loop->Run().ok());
  EXPECT_FALSE(destroyed_inside);
  EXPECT_TRUE(destroyed);
}

TEST(EventLoopTest, PostRunsOnTheLoopThreadInOrder) {
  auto loop = NewLoop();
  std::vector<int> seen;
  std::thread::id loop_thread;
  std::thread runner([&] {
    loop_thread = std::this_thread::get_id();
    ASSERT_TRUE(loop->Run().ok());
  });
  std::vector<std::thread::id> ran_on;
  for (int i = 0; i < 100; ++i) {
    loop->Post([&, i] {
      seen.push_back(i);
      ran_on.push_back(std::this_thread::get_id());
    });
  }
  loop->StopSoon();
  runner.join();
  ASSERT_EQ(seen.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(seen[i], i);
  for (std::thread::id id : ran_on) EXPECT_EQ(id, loop_thread);
}

TEST(EventLoopTest, ClocksAdvance) {
  auto loop = NewLoop();
  Micros a = loop->NowMicros();
  Micros b = loop->NowMicros();
  EXPECT_LE(a, b);
  EXPECT_GT(loop->WallMicros(), 1'600'000'000'000'000);
}

}  // namespace
}  // namespace td::proxy
