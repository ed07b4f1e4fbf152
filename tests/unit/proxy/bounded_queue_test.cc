// Tests for the record path's writer queue: a producer that outruns its consumer waits once the
// queue holds its cap in bytes, and only then; items come out in order; Flush and Stop end it.
#include "proxy/internal/bounded_queue.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <thread>
#include <vector>

namespace td::proxy::internal {
namespace {

TEST(BoundedQueueTest, QueuedBytesNeverPassTheCap) {
  // A producer far faster than its consumer: the consumer finds at most the cap queued (an item
  // counts until Done), and every item arrives, in order.
  constexpr size_t kCap = 100;
  BoundedQueue<int> queue(kCap);
  std::vector<int> seen;
  size_t most = 0;
  std::thread consumer([&] {
    while (std::optional<std::pair<int, size_t>> item = queue.Take()) {
      most = std::max(most, queue.bytes());
      seen.push_back(item->first);
      queue.Done(item->second);
    }
  });
  for (int i = 0; i < 2000; ++i) queue.Push(i, 30);  // waits whenever the consumer lags
  queue.Flush();
  queue.Stop();
  consumer.join();
  EXPECT_LE(most, kCap);
  ASSERT_EQ(seen.size(), 2000u);
  for (int i = 0; i < 2000; ++i) EXPECT_EQ(seen[static_cast<size_t>(i)], i);
  EXPECT_EQ(queue.bytes(), 0u);
}

TEST(BoundedQueueTest, RoomComesBackWhenAnItemIsDoneNotWhenItIsTaken) {
  BoundedQueue<std::string> queue(/*max_bytes=*/100);
  EXPECT_FALSE(queue.Push("a", 60));
  EXPECT_FALSE(queue.Push("b", 40));  // exactly at the cap
  std::optional<std::pair<std::string, size_t>> a = queue.Take();
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(queue.bytes(), 100u) << "a taken item still counts";
  queue.Done(a->second);
  EXPECT_EQ(queue.bytes(), 40u);
  EXPECT_FALSE(queue.Push("c", 60)) << "room again: no wait";
}

TEST(BoundedQueueTest, AnItemLargerThanTheCapIsTakenWhenTheQueueIsEmpty) {
  BoundedQueue<std::string> queue(/*max_bytes=*/10);
  EXPECT_FALSE(queue.Push("huge", 1000));
  std::optional<std::pair<std::string, size_t>> item = queue.Take();
  ASSERT_TRUE(item.has_value());
  EXPECT_EQ(item->second, 1000u);
  queue.Done(item->second);
}

TEST(BoundedQueueTest, FlushWaitsForEveryItemAndStopEndsTheConsumer) {
  BoundedQueue<int> queue(/*max_bytes=*/1 << 20);
  std::vector<int> seen;
  std::thread consumer([&] {
    while (std::optional<std::pair<int, size_t>> item = queue.Take()) {
      seen.push_back(item->first);
      queue.Done(item->second);
    }
  });
  for (int i = 0; i < 1000; ++i) queue.Push(i, 100);
  queue.Flush();
  EXPECT_EQ(seen.size(), 1000u) << "Flush returned before every item was processed";
  queue.Stop();
  consumer.join();
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(seen[static_cast<size_t>(i)], i);
}

}  // namespace
}  // namespace td::proxy::internal
