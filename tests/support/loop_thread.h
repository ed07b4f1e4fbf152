// File: tests/support/loop_thread.h
//
// An EventLoop running on its own thread, for integration tests: the proxy and the fake
// upstream each get one. RunSync() runs a function on the loop and waits for its result, so a
// test can create, inspect and destroy loop-owned objects safely.
#pragma once

#include <future>
#include <memory>
#include <thread>
#include <type_traits>

#include "proxy/event_loop.h"

namespace td::testing {

class LoopThread {
 public:
  LoopThread();
  // Stops the loop and joins the thread. Destroy loop-owned objects first (RunSync).
  ~LoopThread();
  LoopThread(const LoopThread&) = delete;
  LoopThread& operator=(const LoopThread&) = delete;

  proxy::EventLoop& loop() { return *loop_; }

  // Runs `fn` on the loop thread and returns its result.
  template <class F>
  auto RunSync(F&& fn) -> std::invoke_result_t<F> {
    using R = std::invoke_result_t<F>;
    auto task = std::make_shared<std::packaged_task<R()>>(std::forward<F>(fn));
    std::future<R> result = task->get_future();
    loop_->Post([task] { (*task)(); });
    return result.get();
  }

 private:
  std::unique_ptr<proxy::EventLoop> loop_;
  std::thread thread_;
};

}  // namespace td::testing
