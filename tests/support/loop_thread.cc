// LoopThread: an EventLoop on its own thread.
#include "tests/support/loop_thread.h"

#include "cassette/base/log.h"

namespace td::testing {

LoopThread::LoopThread() {
  Result<std::unique_ptr<proxy::EventLoop>> loop = proxy::EventLoop::Create();
  TD_CHECK(loop.ok()) << loop.status().message();
  loop_ = std::move(*loop);
  thread_ = std::thread([this] {
    Status run = loop_->Run();
    TD_CHECK(run.ok()) << run.message();
  });
}

LoopThread::~LoopThread() {
  loop_->StopSoon();
  thread_.join();
  // Deferred deletions still queued run in the loop's destructor, on this thread.
  loop_.reset();
}

}  // namespace td::testing
