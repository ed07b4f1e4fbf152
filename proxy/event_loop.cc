// The libevent loop: timers, deferred deletion, signals, cross-thread Post() via an eventfd, and
// the bridge from libevent's log callback to TD_LOG.
#include "proxy/event_loop.h"

#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <mutex>

#include "cassette/base/log.h"
#include "cassette/base/unique_fd.h"
#include "proxy/internal/ev_handles.h"

namespace td::proxy {
namespace {

// libevent calls this from deep inside itself: it must not call back into libevent.
void OnLibeventLog(int severity, const char* msg) noexcept {
  try {
    switch (severity) {
      case EVENT_LOG_DEBUG:
        TD_LOG(kTrace) << "libevent: " << msg;
        break;
      case EVENT_LOG_MSG:
        TD_LOG(kDebug) << "libevent: " << msg;
        break;
      case EVENT_LOG_WARN:
        TD_LOG(kWarn) << "libevent: " << msg;
        break;
      default:
        TD_LOG(kError) << "libevent: " << msg;
        break;
    }
  } catch (...) {
    // Nothing may cross into libevent; losing one log line is the lesser harm.
  }
}

std::atomic<uint64_t> g_original_open_file_limit{0};

// Raises the soft open-file limit to the hard one: the usual soft 1024 would run out under a
// thousand concurrent streams (each a client and an upstream socket). Logged at debug.
void RaiseOpenFileLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  g_original_open_file_limit = limit.rlim_cur;
  rlim_t target = limit.rlim_max;
  if (target == RLIM_INFINITY) {
    // The kernel refuses a soft limit above fs.nr_open, whatever the hard limit says.
    uint64_t nr_open = 1 << 20;
    std::ifstream("/proc/sys/fs/nr_open") >> nr_open;
    target = static_cast<rlim_t>(nr_open);
  }
  if (limit.rlim_cur >= target) {
    TD_LOG(kDebug) << "open-file limit: " << limit.rlim_cur << " (already the hard limit)";
    return;
  }
  const rlim_t before = limit.rlim_cur;
  limit.rlim_cur = target;
  if (setrlimit(RLIMIT_NOFILE, &limit) != 0) {
    TD_LOG(kDebug) << "open-file limit: " << before << "; raising it to " << target
                   << " failed: " << std::strerror(errno);
    return;
  }
  TD_LOG(kDebug) << "open-file limit raised from " << before << " to " << target;
}

void InitProcessOnce() {
  static std::once_flag once;
  std::call_once(once, [] {
    std::signal(SIGPIPE, SIG_IGN);
    event_set_log_callback(&OnLibeventLog);
    if (GetLogLevel() == LogLevel::kTrace) event_enable_debug_logging(EVENT_DBG_ALL);
    RaiseOpenFileLimit();
  });
}

timeval ToTimeval(Micros us) {
  if (us < 0) us = 0;
  timeval tv;
  tv.tv_sec = static_cast<time_t>(us / 1000000);
  tv.tv_usec = static_cast<suseconds_t>(us % 1000000);
  return tv;
}

// Adds timer event `ev` of `base` to fire `delay_us` from now.
void ArmTimerEvent(event_base* base, event* ev, Micros delay_us) {
  // libevent measures the delay from the time it cached when this loop iteration woke; a
  // timer armed late in a busy iteration would fire early by that much.
  if (delay_us > 0) event_base_update_cache_time(base);
  timeval tv = ToTimeval(delay_us);
  event_add(ev, &tv);
}

// Runs a timer's callback; one that throws is logged, never let into libevent.
void RunTimerCallback(std::function<void()>& fn) noexcept {
  internal::RunGuarded(
      fn, [](std::string_view what) { TD_LOG(kError) << "timer callback threw: " << what; });
}

// A one-shot timer owned by its TimerHandle; freeing it (event_free) cancels it.
class EvTimer final : public TimerHandle::Impl {
 public:
  EvTimer(event_base* base, std::function<void()> fn) : fn_(std::move(fn)) {
    ev_.reset(event_new(base, -1, 0, &EvTimer::OnFire, this));
    TD_CHECK(ev_ != nullptr) << "event_new failed";
  }
  void Arm(event_base* base, Micros delay_us) { ArmTimerEvent(base, ev_.get(), delay_us); }

 private:
  static void OnFire(evutil_socket_t, short, void* arg) noexcept {
    auto* self = static_cast<EvTimer*>(arg);
    // The callback may destroy its own handle (and so this timer): run a local copy.
    std::function<void()> fn = std::move(self->fn_);
    self->fn_ = nullptr;
    if (!fn) return;
    RunTimerCallback(fn);
  }

  internal::EventPtr ev_;
  std::function<void()> fn_;
};

// A timer armed many times: one event for its whole life (EventLoop::NewTimer).
class EvRearmableTimer final : public RearmableTimer {
 public:
  EvRearmableTimer(event_base* base, std::function<void()> fn) : base_(base), fn_(std::move(fn)) {
    ev_.reset(event_new(base, -1, 0, &EvRearmableTimer::OnFire, this));
    TD_CHECK(ev_ != nullptr) << "event_new failed";
  }
  void Arm(Micros delay_us) override { ArmTimerEvent(base_, ev_.get(), delay_us); }
  void Cancel() override { event_del(ev_.get()); }

 private:
  static void OnFire(evutil_socket_t, short, void* arg) noexcept {
    // The callback may re-arm or cancel this timer, never destroy it (RearmableTimer).
    RunTimerCallback(static_cast<EvRearmableTimer*>(arg)->fn_);
  }

  event_base* base_;
  internal::EventPtr ev_;
  std::function<void()> fn_;
};

}  // namespace

struct EventLoop::Signal {
  internal::EventPtr ev;
  std::function<void()> fn;
};

struct EventLoop::Handles {
  // libevent trampolines (members, so they may reach the loop's private parts).
  static void OnDeferred(evutil_socket_t, short, void* arg) noexcept {
    static_cast<EventLoop*>(arg)->RunDeferred();
  }
  static void OnWake(evutil_socket_t fd, short, void* arg) noexcept {
    uint64_t value = 0;
    [[maybe_unused]] ssize_t n = ::read(fd, &value, sizeof value);
    static_cast<EventLoop*>(arg)->RunPosted();
  }
  static void OnSignal(evutil_socket_t, short, void* arg) noexcept {
    auto* sig = static_cast<Signal*>(arg);
    try {
      if (sig->fn) sig->fn();
    } catch (...) {
      TD_LOG(kError) << "signal handler threw";
    }
  }

  ~Handles() {
    // Events before the base they belong to; the eventfd after its event.
    deferred.reset();
    wake.reset();
  }
  internal::EventBasePtr base;  // freed last
  internal::EventPtr deferred;
  internal::EventPtr wake;
  UniqueFd wake_fd;  // closed after the body above freed its event
};

EventLoop::EventLoop() : handles_(std::make_unique<Handles>()) {}

EventLoop::~EventLoop() {
  // Objects waiting for deferred deletion may still own handles on this base.
  while (!to_delete_.empty()) {
    std::vector<std::unique_ptr<Deletable>> batch;
    batch.swap(to_delete_);
  }
  signals_.clear();
  // A bufferevent freed on the last iteration (a TLS connection closed at shutdown) is finished
  // by callbacks libevent deferred to the next one, which event_base_free cancels without
  // running: the bufferevent and its TLS state would leak. One non-blocking turn runs them
  // (bufferevent_free has already cleared their user callbacks).
  event_base_loop(handles_->base.get(), EVLOOP_NONBLOCK);
  while (!to_delete_.empty()) {
    std::vector<std::unique_ptr<Deletable>> batch;
    batch.swap(to_delete_);
  }
}

Result<std::unique_ptr<EventLoop>> EventLoop::Create() {
  InitProcessOnce();
  std::unique_ptr<EventLoop> loop(new EventLoop());
  Handles& h = *loop->handles_;
  // Precise timers: libevent otherwise reads CLOCK_MONOTONIC_COARSE (a few ms per tick here)
  // and waits in whole milliseconds, so replayed gaps would be off by milliseconds. With the
  // flag it reads CLOCK_MONOTONIC and waits on a timerfd, to the microsecond.
  internal::EventConfigPtr config(event_config_new());
  if (!config) return InternalError("event loop: event_config_new failed");
  event_config_set_flag(config.get(), EVENT_BASE_FLAG_PRECISE_TIMER);
  // Interest changes made during one iteration reach the kernel as one epoll_ctl per socket
  // at the next wait (a connection enabling, then disabling, writes costs nothing). libevent
  // warns this breaks with dup()ed sockets; tapedeck never dups one.
  event_config_set_flag(config.get(), EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
  h.base.reset(event_base_new_with_config(config.get()));
  if (!h.base) return InternalError("event loop: event_base_new_with_config failed");
  h.wake_fd = UniqueFd(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!h.wake_fd.valid()) return IoErrno("event loop: eventfd", errno);
  h.wake.reset(
      event_new(h.base.get(), h.wake_fd.get(), EV_READ | EV_PERSIST, &Handles::OnWake, loop.get()));
  h.deferred.reset(event_new(h.base.get(), -1, 0, &Handles::OnDeferred, loop.get()));
  if (!h.wake || !h.deferred || event_add(h.wake.get(), nullptr) != 0) {
    return InternalError("event loop: cannot create its internal events");
  }
  return loop;
}

event_base* EventLoop::base() const { return handles_->base.get(); }

uint64_t EventLoop::OriginalOpenFileLimit() { return g_original_open_file_limit; }

Micros EventLoop::NowMicros() const { return SystemClock::Get().NowMicros(); }
Micros EventLoop::WallMicros() const { return SystemClock::Get().WallMicros(); }

TimerHandle EventLoop::RunAfter(Micros delay_us, std::function<void()> fn) {
  auto timer = std::make_unique<EvTimer>(base(), std::move(fn));
  timer->Arm(base(), delay_us);
  return TimerHandle(std::move(timer));
}

std::unique_ptr<RearmableTimer> EventLoop::NewTimer(std::function<void()> fn) {
  return std::make_unique<EvRearmableTimer>(base(), std::move(fn));
}

void EventLoop::DeferDeleteImpl(std::unique_ptr<Deletable> object) {
  to_delete_.push_back(std::move(object));
  event_active(handles_->deferred.get(), EV_TIMEOUT, 0);
}

void EventLoop::RunDeferred() {
  // Destructors may defer more deletions; those run on the next iteration.
  std::vector<std::unique_ptr<Deletable>> batch;
  batch.swap(to_delete_);
  try {
    batch.clear();
  } catch (...) {
    TD_LOG(kError) << "a deferred deletion threw";
  }
}

Status EventLoop::Run() {
  // A Stop() before Run() (a shutdown decided during start-up, e.g. exec's child exiting at
  // once) must not be lost: event_base_loop clears libevent's own break flag when it starts.
  if (stop_requested_) {
    stop_requested_ = false;
    return Status::Ok();
  }
  // Linux lets a sleeping thread's timers fire up to 50 us late by default (timer slack) to
  // batch wake-ups; replayed gaps want the loop woken when its earliest timer is due.
  prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
  int rc = event_base_loop(base(), EVLOOP_NO_EXIT_ON_EMPTY);
  stop_requested_ = false;
  if (rc < 0) return InternalError("event loop: event_base_loop failed");
  return Status::Ok();
}

void EventLoop::Stop() {
  stop_requested_ = true;
  event_base_loopbreak(base());
}

void EventLoop::StopSoon() {
  Post([this] { Stop(); });
}

void EventLoop::Post(std::function<void()> fn) {
  {
    std::lock_guard<std::mutex> lock(posted_mu_);
    posted_.push_back(std::move(fn));
  }
  uint64_t one = 1;
  // EAGAIN means the counter is already non-zero: the loop will wake anyway.
  [[maybe_unused]] ssize_t n = ::write(handles_->wake_fd.get(), &one, sizeof one);
}

void EventLoop::RunPosted() {
  std::vector<std::function<void()>> batch;
  {
    std::lock_guard<std::mutex> lock(posted_mu_);
    batch.swap(posted_);
  }
  for (auto& fn : batch) {
    internal::RunGuarded(
        fn, [](std::string_view what) { TD_LOG(kError) << "posted task threw: " << what; });
  }
}

Status EventLoop::OnSignal(int signo, std::function<void()> fn) {
  auto sig = std::make_unique<Signal>();
  sig->fn = std::move(fn);
  sig->ev.reset(evsignal_new(base(), signo, &Handles::OnSignal, sig.get()));
  if (!sig->ev || event_add(sig->ev.get(), nullptr) != 0) {
    return InternalError("event loop: cannot handle signal " + std::to_string(signo));
  }
  signals_.push_back(std::move(sig));
  return Status::Ok();
}

}  // namespace td::proxy
