// Unit tests for EventLoop: timers in order, cancelling by dropping the handle, rearmable
// timers (the loop's and Scheduler's default), deferred deletion after the current callback,
// and Post() from another thread. No sockets.
#include "proxy/event_loop.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "tests/support/manual_scheduler.h"

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

TEST(EventLoopTest, ARearmableTimerFiresOncePerArmAndMayRearmItself) {
  // A paced replay's timer: armed again from its own callback; a second Arm replaces the
  // first; Cancel() and destruction disarm. The disarmed timers were due first, so by the time
  // the third firing stops the loop they would have fired.
  auto loop = NewLoop();
  int disarmed_fired = 0;
  auto cancelled = loop->NewTimer([&] { ++disarmed_fired; });
  cancelled->Arm(0);
  cancelled->Cancel();
  auto dropped = loop->NewTimer([&] { ++disarmed_fired; });
  dropped->Arm(0);
  dropped.reset();
  int fired = 0;
  std::unique_ptr<RearmableTimer> timer;
  timer = loop->NewTimer([&] {
    if (++fired < 3) {
      timer->Arm(fired * 1000);
    } else {
      loop->Stop();
    }
  });
  timer->Arm(0);
  timer->Arm(500);  // one firing for both
  EXPECT_EQ(fired, 0) << "Arm(0) must not run inline";
  ASSERT_TRUE(loop->Run().ok());
  EXPECT_EQ(fired, 3);
  EXPECT_EQ(disarmed_fired, 0);
}

TEST(SchedulerTest, TheDefaultRearmableTimerArmsThroughRunAfter) {
  testing::ManualScheduler scheduler(1000);
  std::vector<Micros> fired;
  std::unique_ptr<RearmableTimer> timer;
  timer = scheduler.NewTimer([&] {
    fired.push_back(scheduler.NowMicros());
    if (fired.size() < 3) timer->Arm(100);  // from its own callback
  });
  timer->Arm(50);
  timer->Arm(10);  // replaces the first
  EXPECT_EQ(scheduler.pending(), 1u);
  scheduler.RunUntilIdle();
  EXPECT_EQ(fired, (std::vector<Micros>{1010, 1110, 1210}));
  timer->Arm(5);
  timer->Cancel();
  EXPECT_EQ(scheduler.pending(), 0u);
  timer->Arm(7);
  timer.reset();
  EXPECT_EQ(scheduler.pending(), 0u);
  EXPECT_EQ(scheduler.RunUntilIdle(), 0u);
}

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
