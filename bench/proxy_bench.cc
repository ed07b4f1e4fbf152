// proxy_bench: what the record proxy adds to a streamed response. Starts, in this process on
// loopback, a fake SSE upstream (each stream sends N events at a fixed interval, each stamped
// with its send time), the record proxy (EventLoop + HttpServer + RecordHandler writing a temp
// cassette) and a bare relay (the simplest forwarder: the cost of any extra hop here). Each
// round runs the same streams three times, directly to the upstream, through the bare relay
// and through the proxy, and prints time to first event and per-event delay (arrival minus send
// time) for each, with the excess over direct, the first event of each stream (sent while the
// hop is still admitting the other streams) on a row of its own, and the host's steal time in
// each path's rounds; then tapedeck's added event delay as a ratio to the relay's (pooled, and
// the median of the rounds' ratios) and the load average. Not a test: figures go to
// docs/performance.md.
// One epoll thread runs every client of a round and times each event by the kernel's receive
// stamp (bench/receive_stamp.h); the send stamps use the same clock. On a machine with two or
// more cores the proxy's threads (its loop and its cassette writer) and the relay run on core 0
// and everything else (the upstream, the clients) on core 1, as a proxy process and its load
// would; --no-pin lets the scheduler place every thread.
//
//   proxy_bench [--events N] [--interval-us U] [--rounds-1 R] [--rounds-64 R] [--on-loop]
//               [--concurrency C (default 64)] [--request-kb K]
//               [--passthrough] [--phase-locked] [--no-pin]
#include <pthread.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "bench/bare_relay.h"
#include "bench/host_steal.h"
#include "bench/pin_thread.h"
#include "bench/receive_stamp.h"
#include "bench/sched_stat.h"
#include "bench/sse_stream_client.h"
#include "cassette/base/log.h"
#include "cassette/cassette_writer.h"
#include "cassette/redact.h"
#include "proxy/event_loop.h"
#include "proxy/http_server.h"
#include "proxy/record_handler.h"
#include "proxy/upstream_url.h"

namespace {

using td::Micros;
using td::proxy::EventLoop;

// The clock of the send stamps and of the kernel's receive stamps.
Micros NowUs() { return td::bench::RealMicros(); }

// Pins the calling thread (and the threads it starts later) to one core.
void PinToCore(int core) {
  if (!td::bench::PinThisThreadToCore(core)) {
    std::fprintf(stderr, "proxy_bench: cannot pin a thread to core %d\n", core);
    std::exit(1);
  }
}

// CPU time used so far by the calling thread.
Micros ThreadCpuUs() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<Micros>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

// An EventLoop running on its own thread, named `name` (at most 15 characters) so that `perf
// sched` and `top -H` tell the upstream's loop from the proxy's.
class LoopThread {
 public:
  explicit LoopThread(const char* name) {
    auto loop = EventLoop::Create();
    if (!loop.ok()) Die(loop.status().message());
    loop_ = std::move(*loop);
    thread_ = std::thread([this, name] {
      pthread_setname_np(pthread_self(), name);
      (void)loop_->Run();
    });
  }
  ~LoopThread() {
    loop_->StopSoon();
    thread_.join();
  }
  EventLoop& loop() { return *loop_; }
  template <class F>
  void RunSync(F fn) {
    std::atomic<bool> done{false};
    loop_->Post([&] {
      fn();
      done = true;
      done.notify_one();
    });
    done.wait(false);
  }
  [[noreturn]] static void Die(const std::string& why) {
    std::fprintf(stderr, "proxy_bench: %s\n", why.c_str());
    std::exit(1);
  }

 private:
  std::unique_ptr<EventLoop> loop_;
  std::thread thread_;
};

// The fake upstream: every request gets `events` SSE events, one every `interval_us`, each
// carrying its send time: data: {"i":3,"t":123456789}
class SseUpstream final : public td::proxy::Handler {
 public:
  // Concurrent streams are spread over the interval (stream k's events come k/64 of an
  // interval later), as independent streams would be; with `phase_locked`, every stream sends
  // at the same moments, the worst case for any single-threaded hop.
  SseUpstream(EventLoop* loop, int events, Micros interval_us, bool phase_locked)
      : loop_(loop), events_(events), interval_us_(interval_us), phase_locked_(phase_locked) {}

  void Handle(std::shared_ptr<td::proxy::Exchange> exchange) override {
    auto stream = std::make_shared<Stream>();
    stream->exchange = std::move(exchange);
    stream->exchange->sink().Start(200, {{"content-type", "text/event-stream"}}, std::nullopt);
    Stream* raw = stream.get();
    stream->phase_us = phase_locked_ ? 0 : (next_phase_++ % 64) * interval_us_ / 64;
    streams_[raw] = stream;
    stream->exchange->SetOnClientGone([this, raw] { streams_.erase(raw); });
    Send(raw);
  }

 private:
  struct Stream {
    std::shared_ptr<td::proxy::Exchange> exchange;
    int sent = 0;
    Micros phase_us = 0;  // added before the second event only
    td::proxy::TimerHandle timer;
  };

  void Send(Stream* stream) {
    char event[96];
    int n = std::snprintf(event, sizeof event, "event: delta\ndata: {\"i\":%d,\"t\":%lld}\n\n",
                          stream->sent, static_cast<long long>(NowUs()));
    stream->exchange->sink().Write(std::string_view(event, static_cast<size_t>(n)));
    if (++stream->sent == events_) {
      stream->exchange->sink().Finish();
      streams_.erase(stream);
      return;
    }
    Micros delay = interval_us_ + (stream->sent == 1 ? stream->phase_us : 0);
    stream->timer = loop_->RunAfter(delay, [this, stream] { Send(stream); });
  }

  EventLoop* loop_;
  int events_;
  Micros interval_us_;
  bool phase_locked_;
  uint64_t next_phase_ = 0;
  std::map<Stream*, std::shared_ptr<Stream>> streams_;
};

struct Samples {
  std::vector<Micros> ttfb;
  std::vector<Micros> first;  // each stream's first event: sent while the hop admits the rest
  std::vector<Micros> delay;
  int failed = 0;
};

// Runs `streams` concurrent streams from one epoll thread (a thread per stream would make the
// clients' own scheduling, on the same two cores, the largest part of the delay).
void RunRound(uint16_t port, int streams, int events, const std::string& body_json, Samples* out) {
  const std::string request =
      "POST /v1/messages HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
      "x-api-key: bench-placeholder\r\nContent-Length: " +
      std::to_string(body_json.size()) + "\r\n\r\n" + body_json;
  int ep = ::epoll_create1(EPOLL_CLOEXEC);
  std::vector<std::unique_ptr<td::bench::SseStreamClient>> clients;
  size_t open = 0;
  for (int i = 0; i < streams; ++i) {
    auto& client =
        clients.emplace_back(std::make_unique<td::bench::SseStreamClient>(port, request));
    if (client->finished()) continue;
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = client.get();
    ::epoll_ctl(ep, EPOLL_CTL_ADD, client->fd(), &ev);
    ++open;
  }
  const Micros deadline = NowUs() + 60'000'000;
  std::vector<epoll_event> ready(64);
  while (open > 0 && NowUs() < deadline) {
    int n = ::epoll_wait(ep, ready.data(), static_cast<int>(ready.size()), 1000);
    for (int k = 0; k < n; ++k) {
      auto* client =
          static_cast<td::bench::SseStreamClient*>(ready[static_cast<size_t>(k)].data.ptr);
      if (!client->Read()) {
        ::epoll_ctl(ep, EPOLL_CTL_DEL, client->fd(), nullptr);
        --open;
      }
    }
  }
  ::close(ep);
  for (const auto& client : clients) {
    if (!client->ok(events)) {
      ++out->failed;
      continue;
    }
    out->ttfb.push_back(client->ttfb_us());
    out->first.push_back(client->delays_us().front());
    out->delay.insert(out->delay.end(), client->delays_us().begin(), client->delays_us().end());
  }
}

Micros Percentile(std::vector<Micros> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

// The same streams over three paths: straight to the upstream, through a bare relay, and
// through tapedeck record.
enum Path { kDirect, kRelay, kTapedeck, kPaths };
constexpr const char* kPathNames[kPaths] = {"direct", "bare relay", "tapedeck"};

// tapedeck's added delay over the relay's (added = a path's figure minus direct's), or none when
// the relay added nothing (a ratio to zero or less means nothing).
std::optional<double> AddedRatio(Micros direct, Micros relay, Micros tapedeck) {
  if (relay - direct <= 0) return std::nullopt;
  return static_cast<double>(tapedeck - direct) / static_cast<double>(relay - direct);
}

// "1.23x", or "n/a" for no ratio.
std::string RatioText(std::optional<double> ratio) {
  if (!ratio) return "n/a";
  char text[32];
  std::snprintf(text, sizeof text, "%.2fx", *ratio);
  return text;
}

// The goal's figure at one percentile: tapedeck's added event delay / the relay's, pooled over
// every round, and per round (skipping rounds where the relay added nothing) with their median.
void PrintAddedRatios(const char* label, const Micros (&all)[kPaths],
                      const std::vector<Micros> (&by_round)[kPaths]) {
  const std::optional<double> pooled = AddedRatio(all[kDirect], all[kRelay], all[kTapedeck]);
  std::vector<double> ratios;
  std::string list;
  for (size_t r = 0; r < by_round[kDirect].size(); ++r) {
    const std::optional<double> ratio =
        AddedRatio(by_round[kDirect][r], by_round[kRelay][r], by_round[kTapedeck][r]);
    list += " " + RatioText(ratio);
    if (ratio) ratios.push_back(*ratio);
  }
  std::sort(ratios.begin(), ratios.end());
  const size_t n = ratios.size();
  std::optional<double> median;
  if (n > 0) median = n % 2 ? ratios[n / 2] : (ratios[n / 2 - 1] + ratios[n / 2]) / 2;
  std::printf(
      "  RATIO event %s added, tapedeck / bare relay: pooled %s (+%lld / +%lld us); median of "
      "%zu rounds' ratios %s\n    by round:%s\n",
      label, RatioText(pooled).c_str(), static_cast<long long>(all[kTapedeck] - all[kDirect]),
      static_cast<long long>(all[kRelay] - all[kDirect]), n, RatioText(median).c_str(),
      list.c_str());
}

// One figure (ttfb or event delay) for every path, with each path's excess over direct.
void PrintRows(const char* what, const Samples (&samples)[kPaths],
               std::vector<Micros> Samples::*field) {
  const std::vector<Micros>& direct = samples[kDirect].*field;
  const Micros d50 = Percentile(direct, 0.5), d99 = Percentile(direct, 0.99);
  for (int path = 0; path < kPaths; ++path) {
    const std::vector<Micros>& v = samples[path].*field;
    const Micros p50 = Percentile(v, 0.5), p99 = Percentile(v, 0.99), max = Percentile(v, 1);
    std::printf("  %-6s %-10s n=%-6zu p50 %6lld us  p99 %6lld us  max %6lld us", path ? "" : what,
                kPathNames[path], v.size(), static_cast<long long>(p50),
                static_cast<long long>(p99), static_cast<long long>(max));
    if (path != kDirect) {
      std::printf("   added p50 %6lld us  p99 %6lld us", static_cast<long long>(p50 - d50),
                  static_cast<long long>(p99 - d99));
    }
    std::printf("\n");
  }
}

int IntFlag(int argc, char** argv, const char* name, int fallback) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], name) == 0) return std::atoi(argv[i + 1]);
  }
  return fallback;
}

}  // namespace

int main(int argc, char** argv) {
  const int events = IntFlag(argc, argv, "--events", 50);
  const Micros interval_us = IntFlag(argc, argv, "--interval-us", 2000);
  const int rounds_1 = IntFlag(argc, argv, "--rounds-1", 40);
  const int rounds_64 = IntFlag(argc, argv, "--rounds-64", 4);
  const int many = IntFlag(argc, argv, "--concurrency", 64);  // the "64 streams" case
  // --request-kb K: pad each request with a K KB system prompt, as agents send (recording a
  // long interaction costs the writer milliseconds).
  const int request_kb = IntFlag(argc, argv, "--request-kb", 0);
  std::string body_json = R"({"model":"claude-sonnet-4-5","max_tokens":256,"stream":true,)";
  if (request_kb > 0) {
    std::string prompt;
    for (int i = 0; prompt.size() < static_cast<size_t>(request_kb) * 1024; ++i) {
      prompt += "Rule " + std::to_string(i) +
                ": be precise, cite the file and line, and prefer "
                "small diffs. ";
    }
    body_json += R"("system":")" + prompt + R"(",)";
  }
  body_json += R"("messages":[{"role":"user","content":"bench"}]})";
  bool passthrough = false;   // --passthrough: forward only, record nothing (for comparison)
  bool on_loop = false;       // --on-loop: redact and write on the loop, not a worker thread
  bool phase_locked = false;  // --phase-locked: all streams send at the same moments
  bool pin = std::thread::hardware_concurrency() >= 2;  // --no-pin: let the scheduler place
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--no-pin") == 0) pin = false;
    phase_locked |= std::strcmp(argv[i], "--phase-locked") == 0;
    passthrough |= std::strcmp(argv[i], "--passthrough") == 0;
    on_loop |= std::strcmp(argv[i], "--on-loop") == 0;
  }
  td::SetLogLevel(td::LogLevel::kWarn);  // no access log lines in the figures

  const td::bench::ReceiveStampKeeper stamps;  // every round's first bytes stamped too
  if (!stamps.on()) {
    std::fprintf(stderr, "%s: the kernel does not stamp received bytes (SO_TIMESTAMPNS)\n",
                 argv[0]);
    return 1;
  }

  const std::string cassette_path = (std::filesystem::temp_directory_path() /
                                     ("proxy_bench-" + std::to_string(::getpid()) + ".jsonl.zst"))
                                        .string();

  if (pin) PinToCore(1);  // this thread, the upstream's loop and every client thread
  LoopThread upstream_thread("pb-upstream");
  SseUpstream upstream_handler(&upstream_thread.loop(), events, interval_us, phase_locked);
  std::unique_ptr<td::proxy::HttpServer> upstream_server;
  upstream_thread.RunSync([&] {
    auto server = td::proxy::HttpServer::Create(&upstream_thread.loop(), {}, &upstream_handler);
    if (!server.ok()) LoopThread::Die(server.status().message());
    upstream_server = std::move(*server);
  });
  const uint16_t upstream_port = upstream_server->port();

  LoopThread proxy_thread("pb-proxy");
  std::unique_ptr<td::cassette::CassetteWriter> writer;
  std::unique_ptr<td::proxy::RecordHandler> handler;
  std::unique_ptr<td::proxy::HttpServer> proxy_server;
  proxy_thread.RunSync([&] {
    if (pin) PinToCore(0);  // before RecordHandler starts its writer thread, which inherits it
    auto opened = td::cassette::CassetteWriter::Open(
        cassette_path, td::cassette::CassetteWriter::OpenMode::kTruncate, {});
    if (!opened.ok()) LoopThread::Die(opened.status().message());
    writer = std::move(*opened);
    auto url = td::proxy::ParseUpstreamUrl("http://127.0.0.1:" + std::to_string(upstream_port));
    auto redactor = td::cassette::Redactor::Create({});
    if (!url.ok() || !redactor.ok()) LoopThread::Die("bad set-up");
    td::proxy::RecordOptions options;
    options.upstream_url = *url;
    options.redactor = *redactor;
    options.writer = passthrough ? nullptr : writer.get();
    options.write_on_worker = !on_loop;
    auto created = td::proxy::RecordHandler::Create(&proxy_thread.loop(), std::move(options));
    if (!created.ok()) LoopThread::Die(created.status().message());
    handler = std::move(*created);
    auto server = td::proxy::HttpServer::Create(&proxy_thread.loop(), {}, handler.get());
    if (!server.ok()) LoopThread::Die(server.status().message());
    proxy_server = std::move(*server);
  });
  const uint16_t proxy_port = proxy_server->port();
  int proxy_tid = 0;
  proxy_thread.RunSync([&] { proxy_tid = td::bench::CurrentTid(); });

  std::printf("proxy_bench: %d events per stream, one every %lld us; the proxy %s %s%s\n", events,
              static_cast<long long>(interval_us),
              passthrough ? "forwards only (passthrough), no cassette; was to be" : "records to",
              cassette_path.c_str(),
              passthrough ? ""
              : on_loop   ? " (writes on the loop)"
                          : " (writes on a worker thread)");
  std::printf("  threads: %s\n", pin ? "the proxy's and the relay on core 0, the rest on core 1"
                                     : "not pinned (--no-pin)");
  std::printf(
      "  ttfb: connect start to first complete event; event: arrival minus send stamp;\n"
      "  first: the same, for each stream's first event only (streams start at once)\n");
  std::printf("  request body %zu bytes; load average (1/5/15 min) at the start %s\n",
              body_json.size(), td::bench::LoadAverageText().c_str());
  std::printf("  concurrent streams send %s\n",
              phase_locked ? "at the same moments (--phase-locked)"
                           : "spread over the interval (independent phases)");
  std::printf(
      "  added: a path's percentile minus direct's (same run, paths alternate in a round)\n");
  td::bench::BareRelay relay(upstream_port, pin ? 0 : -1);
  // Waits until the last path's connections are closed everywhere, so that one path's
  // teardown (64 closes take the relay or the proxy a millisecond) does not land in the next
  // path's round: the relay and the proxy hold no client connection, and the upstream's
  // connection count (the proxy's pooled ones stay open) has stopped changing.
  auto settle = [&] {
    const Micros give_up = NowUs() + 2'000'000;
    size_t upstream_open = SIZE_MAX;
    int unchanged_ms = 0;
    while (NowUs() < give_up) {
      size_t proxy_open = 0, now_open = 0;
      proxy_thread.RunSync([&] { proxy_open = proxy_server->open_connections(); });
      upstream_thread.RunSync([&] { now_open = upstream_server->open_connections(); });
      unchanged_ms = now_open == upstream_open ? unchanged_ms + 1 : 0;
      upstream_open = now_open;
      if (relay.open_pairs() == 0 && proxy_open == 0 && unchanged_ms >= 5) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  };
  for (auto [streams, rounds] : {std::pair{1, rounds_1}, std::pair{many, rounds_64}}) {
    if (rounds <= 0) continue;  // --rounds-1 0: only the many-stream case
    const uint16_t ports[kPaths] = {upstream_port, relay.port(), proxy_port};
    Samples all[kPaths];
    // Each round's event p99 by path: one stall of this machine (they last milliseconds, every
    // few seconds, and hit every stream at once) moves the pooled p99 of a short run; the
    // median round shows what a hop adds when none hits.
    std::vector<Micros> round_p99[kPaths];
    std::vector<Micros> round_p50[kPaths];
    // Host steal (both cores) during each path's rounds, and the events of the rounds it
    // spared: what a hop adds when the hypervisor does not take the core away.
    Micros stolen_us[kPaths] = {};
    std::vector<Micros> spared[kPaths];
    int spared_rounds[kPaths] = {};
    const bool steal_known = td::bench::StolenMicros(0) >= 0;
    // What the scheduler did to each hop's thread during that hop's rounds: the relay's
    // thread in the relay's, the proxy's loop thread in tapedeck's.
    td::bench::SchedStat hop_sched[kPaths];
    const int hop_tid[kPaths] = {0, relay.tid(), proxy_tid};
    auto stolen_now = [] { return td::bench::StolenMicros(0) + td::bench::StolenMicros(1); };
    for (int r = 0; r < rounds; ++r) {
      for (int path = 0; path < kPaths; ++path) {
        Samples round;
        const Micros steal_before = stolen_now();
        const td::bench::SchedStat sched_before =
            hop_tid[path] ? td::bench::ReadSchedStat(hop_tid[path]) : td::bench::SchedStat{};
        RunRound(ports[path], streams, events, body_json, &round);
        const Micros stolen = stolen_now() - steal_before;
        if (hop_tid[path])
          hop_sched[path] += td::bench::ReadSchedStat(hop_tid[path]) - sched_before;
        settle();
        stolen_us[path] += stolen;
        if (stolen == 0) {
          ++spared_rounds[path];
          spared[path].insert(spared[path].end(), round.delay.begin(), round.delay.end());
        }
        round_p99[path].push_back(Percentile(round.delay, 0.99));
        round_p50[path].push_back(Percentile(round.delay, 0.5));
        Samples& to = all[path];
        to.ttfb.insert(to.ttfb.end(), round.ttfb.begin(), round.ttfb.end());
        to.first.insert(to.first.end(), round.first.begin(), round.first.end());
        to.delay.insert(to.delay.end(), round.delay.begin(), round.delay.end());
        to.failed += round.failed;
      }
    }
    std::printf("streams=%d rounds=%d (failed streams: direct %d, bare relay %d, tapedeck %d)\n",
                streams, rounds, all[kDirect].failed, all[kRelay].failed, all[kTapedeck].failed);
    PrintRows("ttfb", all, &Samples::ttfb);
    PrintRows("first", all, &Samples::first);
    PrintRows("event", all, &Samples::delay);
    if (rounds > 1) {
      std::printf("  event p99 by round (us), direct / bare relay / tapedeck:");
      for (int r = 0; r < rounds; ++r) {
        std::printf(" %lld/%lld/%lld", static_cast<long long>(round_p99[kDirect][r]),
                    static_cast<long long>(round_p99[kRelay][r]),
                    static_cast<long long>(round_p99[kTapedeck][r]));
      }
      Micros median[kPaths];
      for (int path = 0; path < kPaths; ++path) median[path] = Percentile(round_p99[path], 0.5);
      std::printf(
          "\n  median round's event p99: direct %lld us, bare relay %lld us (added %lld), "
          "tapedeck %lld us (added %lld)\n",
          static_cast<long long>(median[kDirect]), static_cast<long long>(median[kRelay]),
          static_cast<long long>(median[kRelay] - median[kDirect]),
          static_cast<long long>(median[kTapedeck]),
          static_cast<long long>(median[kTapedeck] - median[kDirect]));
    }
    {
      Micros pooled_p99[kPaths], pooled_p50[kPaths];
      for (int path = 0; path < kPaths; ++path) {
        pooled_p99[path] = Percentile(all[path].delay, 0.99);
        pooled_p50[path] = Percentile(all[path].delay, 0.5);
      }
      PrintAddedRatios("p99", pooled_p99, round_p99);
      PrintAddedRatios("p50", pooled_p50, round_p50);
      std::printf("  load average (1/5/15 min) after these rounds: %s\n",
                  td::bench::LoadAverageText().c_str());
      const long long n_events = static_cast<long long>(streams) * rounds * events;
      std::printf("  the hop's thread during its own rounds (/proc/TID/schedstat), per event:\n");
      td::bench::PrintSchedStatPer("bare relay thread", hop_sched[kRelay], n_events);
      td::bench::PrintSchedStatPer("tapedeck loop thread", hop_sched[kTapedeck], n_events);
    }
    if (steal_known) {
      std::printf(
          "  host steal during each path's rounds: direct %lld ms, bare relay %lld ms, "
          "tapedeck %lld ms\n",
          static_cast<long long>(stolen_us[kDirect] / 1000),
          static_cast<long long>(stolen_us[kRelay] / 1000),
          static_cast<long long>(stolen_us[kTapedeck] / 1000));
      Micros p99[kPaths];
      for (int path = 0; path < kPaths; ++path) p99[path] = Percentile(spared[path], 0.99);
      std::printf(
          "  rounds with no steal: direct %d, bare relay %d, tapedeck %d of %d; their "
          "event p99: direct %lld us, bare relay %lld us (added %lld), tapedeck %lld us "
          "(added %lld)\n",
          spared_rounds[kDirect], spared_rounds[kRelay], spared_rounds[kTapedeck], rounds,
          static_cast<long long>(p99[kDirect]), static_cast<long long>(p99[kRelay]),
          static_cast<long long>(p99[kRelay] - p99[kDirect]),
          static_cast<long long>(p99[kTapedeck]),
          static_cast<long long>(p99[kTapedeck] - p99[kDirect]));
    }
  }

  uint64_t recorded = 0;
  Micros proxy_cpu_us = 0;
  Micros upstream_cpu_us = 0;
  upstream_thread.RunSync([&] { upstream_cpu_us = ThreadCpuUs(); });
  proxy_thread.RunSync([&] { handler->Flush(); });  // results post back to the loop...
  proxy_thread.RunSync([&] {                        // ...and are counted by now
    proxy_cpu_us = ThreadCpuUs();
    recorded = handler->stats().recorded;
    proxy_server.reset();
    handler.reset();
    (void)writer->Close();
    writer.reset();
  });
  upstream_thread.RunSync([&] { upstream_server.reset(); });
  relay.Stop();
  std::error_code ec;
  const long long proxied_streams = rounds_1 + static_cast<long long>(many) * rounds_64;
  const long long proxied_events = proxied_streams * events;
  std::printf(
      "proxy loop thread CPU: %lld ms for %lld streams / %lld events (%.1f us per event, "
      "all work included: parse, forward, record, redact, scan, compress, write)\n",
      static_cast<long long>(proxy_cpu_us / 1000), proxied_streams, proxied_events,
      proxied_events ? static_cast<double>(proxy_cpu_us) / static_cast<double>(proxied_events)
                     : 0.0);
  std::printf("bare relay thread CPU: %lld ms for as many events (%.1f us per event)\n",
              static_cast<long long>(relay.cpu_us() / 1000),
              proxied_events
                  ? static_cast<double>(relay.cpu_us()) / static_cast<double>(proxied_events)
                  : 0.0);
  std::printf("upstream loop thread CPU: %lld ms (all three paths together)\n",
              static_cast<long long>(upstream_cpu_us / 1000));
  std::printf("recorded %llu interactions, cassette %llu bytes\n",
              static_cast<unsigned long long>(recorded),
              static_cast<unsigned long long>(std::filesystem::file_size(cassette_path, ec)));
  std::filesystem::remove(cassette_path, ec);
  return 0;
}
