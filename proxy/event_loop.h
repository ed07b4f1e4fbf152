// File: proxy/event_loop.h
//
// The libevent loop every proxy component runs on: timers (it is the production Scheduler),
// deferred deletion (nothing frees a handle inside its own callback), signal handlers for
// graceful shutdown, and Post() so other threads (tests, the CLI) can hand work to the loop.
//
// Threading: everything but Post() and StopSoon() runs on the loop thread: the thread that
// calls Run() (or, before Run(), the thread that created the loop).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "cassette/base/status.h"
#include "proxy/exchange.h"

struct event_base;
struct event;

namespace td::proxy {

class EventLoop final : public Scheduler {
 public:
  // Creates a loop. The first call also ignores SIGPIPE for the process (a peer that closes
  // mid-write must give EPIPE, not kill tapedeck), routes libevent's own log messages into
  // TD_LOG (libevent debug messages only at LogLevel::kTrace), and raises the soft open-file
  // limit (RLIMIT_NOFILE) to the hard limit, logging the result at debug.
  static Result<std::unique_ptr<EventLoop>> Create();
  // The soft open-file limit the process had before the first Create() raised it (0 before).
  // A child process should be given it back: programs that use select() or size tables by the
  // limit misbehave with a soft limit of a million. Any thread.
  static uint64_t OriginalOpenFileLimit();
  ~EventLoop() override;
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Clock.
  Micros NowMicros() const override;
  Micros WallMicros() const override;

  // Scheduler: runs `fn` once on the loop after `delay_us` (0: next iteration, never inline).
  TimerHandle RunAfter(Micros delay_us, std::function<void()> fn) override;
  std::unique_ptr<RearmableTimer> NewTimer(std::function<void()> fn) override;

  // Destroys `object` on a later loop iteration, after the current callback has unwound.
  // Use it for anything whose own callback is on the stack (a connection closing itself).
  template <class T, class D>
  void DeferDelete(std::unique_ptr<T, D> object) {
    struct Holder final : Deletable {
      explicit Holder(std::unique_ptr<T, D> o) : object(std::move(o)) {}
      std::unique_ptr<T, D> object;
    };
    if (object) DeferDeleteImpl(std::make_unique<Holder>(std::move(object)));
  }

  // Runs the loop until Stop() (or StopSoon()). Returns an error if libevent fails.
  Status Run();
  // Makes Run() return after the current callback; called before Run(), makes the next Run()
  // return at once. Loop thread.
  void Stop();
  // Any thread: makes Run() return soon.
  void StopSoon();
  // Any thread: runs `fn` on the loop thread, in posting order.
  void Post(std::function<void()> fn);
  // Loop thread: runs what Post() has queued so far, now. For a shutdown that must deliver
  // what another thread posted after Run() returned.
  void RunPostedNow() { RunPosted(); }

  // Calls `fn` on the loop each time signal `signo` arrives (SIGINT, SIGTERM). Only one
  // EventLoop per process may handle signals.
  Status OnSignal(int signo, std::function<void()> fn);

  // For proxy internals (server, upstream client). The loop owns it.
  event_base* base() const;

 private:
  struct Deletable {
    virtual ~Deletable() = default;
  };
  struct Handles;  // the libevent handles (RAII owners) and their trampolines, in the .cc
  struct Signal;
  EventLoop();
  void DeferDeleteImpl(std::unique_ptr<Deletable> object);
  void RunDeferred();
  void RunPosted();

  std::unique_ptr<Handles> handles_;
  std::vector<std::unique_ptr<Deletable>> to_delete_;
  std::vector<std::unique_ptr<Signal>> signals_;
  std::mutex posted_mu_;
  std::vector<std::function<void()>> posted_;  // guarded by posted_mu_
  bool stop_requested_ = false;
};

}  // namespace td::proxy
