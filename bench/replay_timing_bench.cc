// Replay timing error under load: starts `tapedeck replay --timing recorded` on a generated
// cassette (an SSE stream of N events G ms apart), then, for each of R rounds, requests the
// stream on S concurrent connections at once and measures when each event's last byte arrived.
// Prints p50/p99/max of |replayed gap - recorded gap| and of each event's offset from the
// recorded one, by round and over all rounds, measured two ways:
//   - by the kernel's receive timestamp of the bytes (SO_TIMESTAMPNS): when they reached the
//     client's socket, which is what the server controls;
//   - by when the client's one epoll thread got to read them, which adds the client's own
//     queueing (S sockets become readable at the same instants).
// Before each round it measures the machine's floor the same way: one bare thread sleeping
// until each of the same N due times (clock_nanosleep, absolute), with no server at all.
// Last, the goal's figure: tapedeck's gap error p99 at the socket / the bare loop's, pooled over
// all rounds and as the median of the rounds' ratios, with the load average; and where each
// server's gaps more than 0.5 ms off lie (Tails): at each stream's first gap (the start of the
// burst), in stalls that move a whole event index, or elsewhere.
//
// Usage: replay_timing_bench TAPEDECK_BIN [--streams S] [--events N] [--gap-ms G] [--rounds R]
//                            [--server-cpu C]   (run tapedeck under `taskset -c C`)
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "bench/host_steal.h"
#include "bench/pin_thread.h"
#include "bench/receive_stamp.h"
#include "bench/sched_stat.h"
#include "cassette/codec.h"

namespace {

// The clock of the kernel's receive stamps, in microseconds.
double RealMicros() { return static_cast<double>(td::bench::RealMicros()); }

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(v.size()))) - 1;
  return v[std::min(i, v.size() - 1)];
}

// Errors of one run: |replayed gap - recorded gap| and (offset - recorded offset) per event.
struct Errors {
  std::vector<double> gap;
  std::vector<double> offset;

  // `times[e]` is when event e arrived, `start` when the request was sent.
  void Add(const std::vector<double>& times, double start, const std::vector<double>& at) {
    for (size_t e = 0; e < times.size(); ++e) {
      offset.push_back(times[e] - start - at[e]);
      if (e > 0) gap.push_back(std::fabs(times[e] - times[e - 1] - (at[e] - at[e - 1])));
    }
  }
  void Append(const Errors& other) {
    gap.insert(gap.end(), other.gap.begin(), other.gap.end());
    offset.insert(offset.end(), other.offset.begin(), other.offset.end());
  }
  void Print(const char* label) const {
    std::printf(
        "  %-28s gap error p50 %5.0f us  p99 %5.0f us  max %5.0f us   "
        "offset p50 %5.0f us  p99 %5.0f us\n",
        label, Percentile(gap, 50), Percentile(gap, 99), Percentile(gap, 100),
        Percentile(offset, 50), Percentile(offset, 99));
  }
};

// Where a run's large gap errors lie, to tell a server's own tail from the machine's. Gaps of
// one stream are consecutive in `gap` (`per_stream` of them), streams in the order they were
// requested. A gap more than `threshold_us` off is counted as:
//   - first: the stream's first gap (event 0 to event 1): the start of the burst, where every
//     stream's head and first event fall due within a few milliseconds of each other;
//   - stall: at an index where at least 90% of the streams are that far off, and the gap after
//     it: one late wake-up of the server (or a stolen CPU) moving a whole cluster;
//   - other: the rest.
struct Tails {
  size_t first = 0, stall = 0, other = 0;
  size_t stalls = 0;  // runs of consecutive such indices: one late event costs two gaps each

  static Tails Of(const std::vector<double>& gap, size_t per_stream, double threshold_us) {
    Tails t;
    if (per_stream == 0 || gap.empty()) return t;
    const size_t streams = gap.size() / per_stream;
    std::vector<size_t> off_at(per_stream, 0);
    for (size_t i = 0; i < streams * per_stream; ++i) {
      if (gap[i] > threshold_us) ++off_at[i % per_stream];
    }
    std::vector<bool> stalled(per_stream, false);
    for (size_t k = 1; k < per_stream; ++k) {  // the first gap is counted as such
      stalled[k] = off_at[k] * 10 >= streams * 9;
      if (stalled[k] && !stalled[k - 1]) ++t.stalls;
    }
    for (size_t i = 0; i < streams * per_stream; ++i) {
      if (gap[i] <= threshold_us) continue;
      const size_t k = i % per_stream;
      if (k == 0) {
        ++t.first;
      } else if (stalled[k] || stalled[k - 1]) {
        ++t.stall;
      } else {
        ++t.other;
      }
    }
    return t;
  }
  void Add(const Tails& o) {
    first += o.first;
    stall += o.stall;
    other += o.other;
    stalls += o.stalls;
  }
};

// The gaps of `gap` other than each stream's first.
std::vector<double> AfterFirstGap(const std::vector<double>& gap, size_t per_stream) {
  std::vector<double> rest;
  for (size_t i = 0; i < gap.size(); ++i) {
    if (i % per_stream != 0) rest.push_back(gap[i]);
  }
  return rest;
}

struct Conn {
  int fd = -1;
  double sent = 0;
  std::string in;    // raw bytes not yet de-chunked
  std::string body;  // de-chunked body so far
  bool head_done = false;
  size_t next_event = 0;        // index of the next event whose end we wait for
  std::vector<double> arrived;  // kernel receive time of each event's last byte, us
  std::vector<double> read;     // when the client read it, us (same clock)
  bool done = false;
};

// De-chunks what `c.in` holds into `c.body`. Returns false on a framing error.
bool Dechunk(Conn& c) {
  if (!c.head_done) {
    size_t end = c.in.find("\r\n\r\n");
    if (end == std::string::npos) return true;
    if (c.in.compare(0, 12, "HTTP/1.1 200") != 0) return false;
    c.in.erase(0, end + 4);
    c.head_done = true;
  }
  while (true) {
    size_t eol = c.in.find("\r\n");
    if (eol == std::string::npos) return true;
    size_t size = std::strtoul(c.in.c_str(), nullptr, 16);
    if (size == 0) {
      c.done = true;
      return true;
    }
    if (c.in.size() < eol + 2 + size + 2) return true;
    c.body.append(c.in, eol + 2, size);
    c.in.erase(0, eol + 2 + size + 2);
  }
}

// Pins the calling thread to `cpu` (a number, or empty for no pinning).
void PinThread(const std::string& cpu) {
  if (!cpu.empty() && !td::bench::PinThisThreadToCore(std::atoi(cpu.c_str()))) {
    std::fprintf(stderr, "cannot pin the bare server's thread to core %s\n", cpu.c_str());
    std::exit(1);
  }
}

// The baseline, as nginx is for throughput: the same schedule served by the simplest timer
// loop there is, on the same core: one thread accepts `streams` connections, reads each
// request, then sleeps (clock_nanosleep, absolute) to each due write in turn and writes the
// recorded head and chunks with one write(2) each. No HTTP parsing, no event library, no
// matching. Listens on `listener`; returns once every stream is written, with what the
// scheduler did to its thread meanwhile in `sched`.
void ServeBare(int listener, int streams, size_t request_size, const std::string& head,
               const std::vector<std::string>& chunks, const std::vector<double>& at,
               double head_us, const std::string& cpu, td::bench::SchedStat* sched) {
  pthread_setname_np(pthread_self(), "bare-timer");  // for perf sched and top -H
  PinThread(cpu);
  const int tid = td::bench::CurrentTid();
  const td::bench::SchedStat sched_before = td::bench::ReadSchedStat(tid);
  struct Write {
    double due_us;  // CLOCK_MONOTONIC
    int fd;
    const std::string* bytes;
  };
  auto now_us = [] {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec) / 1e3;
  };
  std::vector<int> fds;
  for (int i = 0; i < streams; ++i) {
    int fd = accept(listener, nullptr, nullptr);
    if (fd < 0) break;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fds.push_back(fd);
  }
  std::vector<Write> writes;
  for (int fd : fds) {
    char buf[4096];
    for (size_t got = 0; got < request_size;) {
      ssize_t n = read(fd, buf, std::min(sizeof buf, request_size - got));
      if (n <= 0) break;
      got += static_cast<size_t>(n);
    }
    double t0 = now_us();
    writes.push_back({t0 + head_us, fd, &head});
    for (size_t e = 0; e < chunks.size(); ++e) writes.push_back({t0 + at[e], fd, &chunks[e]});
  }
  std::stable_sort(writes.begin(), writes.end(),
                   [](const Write& a, const Write& b) { return a.due_us < b.due_us; });
  for (const Write& w : writes) {
    double wait = w.due_us - now_us();
    if (wait > 0) {
      timespec due;
      clock_gettime(CLOCK_MONOTONIC, &due);
      long long ns = static_cast<long long>(due.tv_nsec) + static_cast<long long>(wait * 1e3);
      due.tv_sec += static_cast<time_t>(ns / 1000000000);
      due.tv_nsec = static_cast<long>(ns % 1000000000);
      clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &due, nullptr);
    }
    if (write(w.fd, w.bytes->data(), w.bytes->size()) < 0) break;
  }
  for (int fd : fds) close(fd);
  *sched = td::bench::ReadSchedStat(tid) - sched_before;
}

struct Round {
  Errors wire;  // kernel receive timestamps
  Errors read;  // client read times
  bool ok = false;
};

// Requests the stream on `streams` connections at once and times every event.
Round MeasureServer(int port, int streams, const std::string& request, const std::string& body,
                    const std::vector<size_t>& ends, const std::vector<double>& at) {
  Round round;
  int ep = epoll_create1(0);
  std::vector<Conn> conns(static_cast<size_t>(streams));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  for (size_t i = 0; i < conns.size(); ++i) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (!td::bench::EnableReceiveStamps(fd)) {
      std::perror("SO_TIMESTAMPNS");
      return round;
    }
    if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      std::perror("connect");
      return round;
    }
    conns[i].fd = fd;
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = i;
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
  }
  for (Conn& c : conns) {
    c.sent = RealMicros();
    if (write(c.fd, request.data(), request.size()) != static_cast<ssize_t>(request.size())) {
      std::perror("write");
      return round;
    }
  }
  size_t finished = 0;
  double deadline = RealMicros() + 30e6 + at.back();
  std::vector<epoll_event> ready(64);
  while (finished < conns.size() && RealMicros() < deadline) {
    int n = epoll_wait(ep, ready.data(), static_cast<int>(ready.size()), 1000);
    for (int k = 0; k < n; ++k) {
      Conn& c = conns[ready[static_cast<size_t>(k)].data.u64];
      char buf[65536];
      std::int64_t arrived = -1;
      ssize_t r = td::bench::RecvStamped(c.fd, buf, sizeof buf, &arrived);
      double stamp = static_cast<double>(arrived);
      double now = RealMicros();
      if (r <= 0) {
        std::fprintf(stderr, "a connection ended early\n");
        return round;
      }
      if (stamp < 0) {
        std::fprintf(stderr, "no receive timestamp from the kernel\n");
        return round;
      }
      c.in.append(buf, static_cast<size_t>(r));
      if (!Dechunk(c)) {
        std::fprintf(stderr, "bad response framing\n");
        return round;
      }
      while (c.next_event < ends.size() && c.body.size() >= ends[c.next_event]) {
        c.arrived.push_back(stamp);
        c.read.push_back(now);
        ++c.next_event;
      }
      if (c.done && c.next_event == ends.size()) {
        ++finished;
        epoll_ctl(ep, EPOLL_CTL_DEL, c.fd, nullptr);
      }
    }
  }
  close(ep);
  round.ok = finished == conns.size();
  if (!round.ok) std::fprintf(stderr, "only %zu of %zu streams finished\n", finished, conns.size());
  for (Conn& c : conns) {
    close(c.fd);
    if (c.body != body) {
      std::fprintf(stderr, "a stream's bytes differ from the recording\n");
      round.ok = false;
    }
    round.wire.Add(c.arrived, c.sent, at);
    round.read.Add(c.read, c.sent, at);
  }
  return round;
}

// Starts tapedeck replay on `path` (pinned to `cpu` unless it is empty) and returns its port
// (0 on failure).
int StartTapedeck(const std::string& bin, const std::string& path, const std::string& cpu,
                  pid_t* pid) {
  int errpipe[2];
  if (pipe(errpipe) != 0) return 0;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, errpipe[1], 2);
  std::vector<std::string> args = {bin,           "replay",      "--cassette", path,
                                   "--listen",    "127.0.0.1:0", "--timing",   "recorded",
                                   "--log-level", "warn"};
  if (!cpu.empty()) args.insert(args.begin(), {"taskset", "-c", cpu});
  std::vector<char*> cargs;
  for (auto& a : args) cargs.push_back(a.data());
  cargs.push_back(nullptr);
  if (posix_spawnp(pid, cargs[0], &fa, nullptr, cargs.data(), environ) != 0) return 0;
  close(errpipe[1]);
  std::string err;
  static constexpr char kListening[] = "listening on http://127.0.0.1:";
  while (true) {
    char buf[512];
    ssize_t n = read(errpipe[0], buf, sizeof buf);
    if (n <= 0) {
      std::fprintf(stderr, "tapedeck did not start: %s\n", err.c_str());
      return 0;
    }
    err.append(buf, static_cast<size_t>(n));
    size_t p = err.find(kListening);
    if (p != std::string::npos && err.find('\n', p) != std::string::npos) {
      return std::atoi(err.c_str() + p + std::strlen(kListening));
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr,
                 "usage: %s TAPEDECK_BIN [--streams S] [--events N] [--gap-ms G] [--rounds R]\n",
                 argv[0]);
    return 2;
  }
  std::string bin = argv[1];
  int streams = 100, events = 50, rounds = 5;
  double gap_ms = 20;
  std::string server_cpu;
  for (int i = 2; i + 1 < argc; i += 2) {
    std::string f = argv[i];
    if (f == "--streams") streams = std::atoi(argv[i + 1]);
    if (f == "--events") events = std::atoi(argv[i + 1]);
    if (f == "--gap-ms") gap_ms = std::atof(argv[i + 1]);
    if (f == "--rounds") rounds = std::atoi(argv[i + 1]);
    if (f == "--server-cpu") server_cpu = argv[i + 1];
  }
  if (streams < 1 || events < 2 || gap_ms <= 0 || rounds < 1) {
    std::fprintf(stderr, "bad flags\n");
    return 2;
  }

  const td::bench::ReceiveStampKeeper stamps;  // every round's first bytes stamped too
  if (!stamps.on()) {
    std::fprintf(stderr, "%s: the kernel does not stamp received bytes (SO_TIMESTAMPNS)\n",
                 argv[0]);
    return 1;
  }

  // The cassette: one streamed interaction, `events` events `gap_ms` apart.
  td::cassette::Cassette cassette;
  td::cassette::Interaction it;
  it.request.method = "POST";
  it.request.path = "/v1/messages";
  it.request.body.bytes = R"({"model":"bench","stream":true})";
  it.response.status = 200;
  it.response.headers = {{"content-type", "text/event-stream"}};
  it.response.stream.emplace();
  std::vector<double> at;
  for (int i = 0; i < events; ++i) {
    td::cassette::StreamEvent e;
    e.bytes =
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,"
        "\"delta\":{\"type\":\"text_delta\",\"text\":\"token " +
        std::to_string(i) + "\"}}\n\n";
    e.at_us = 5000 + static_cast<td::Micros>(i * gap_ms * 1000);
    at.push_back(static_cast<double>(e.at_us));
    it.response.stream->events.push_back(e);
  }
  it.timing = {4000, static_cast<td::Micros>(at.back())};
  cassette.interactions.push_back(it);
  char dir_template[] = "/tmp/tapedeck-bench-XXXXXX";
  std::string dir = mkdtemp(dir_template);
  std::string path = dir + "/timing.jsonl";
  td::cassette::WriteOptions plain;
  plain.compress = false;
  if (!td::cassette::WriteCassetteAtomic(path, cassette, plain).ok()) return 1;

  pid_t pid = 0;
  int port = StartTapedeck(bin, path, server_cpu, &pid);
  unlink(path.c_str());
  rmdir(dir.c_str());
  if (port == 0) return 1;

  std::string request =
      "POST /v1/messages HTTP/1.1\r\nHost: bench\r\ncontent-type: "
      "application/json\r\ncontent-length: " +
      std::to_string(it.request.body.bytes.size()) + "\r\n\r\n" + it.request.body.bytes;
  std::string body = it.response.stream->Concatenated();
  std::vector<size_t> ends;
  size_t total = 0;
  for (const auto& e : it.response.stream->events) ends.push_back(total += e.bytes.size());

  std::printf(
      "replay timing: %d rounds of %d concurrent streams x %d events, recorded gaps "
      "%.1f ms\n",
      rounds, streams, events, gap_ms);
  // The bare server's bytes: tapedeck's head and chunk framing, so the client reads both alike.
  const std::string head =
      "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n";
  std::vector<std::string> chunks;
  for (const auto& e : it.response.stream->events) {
    char size[24];
    std::snprintf(size, sizeof size, "%zx\r\n", e.bytes.size());
    chunks.push_back(size + e.bytes + "\r\n");
  }
  chunks.back() += "0\r\n\r\n";
  int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in bare_addr{};
  bare_addr.sin_family = AF_INET;
  bare_addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t bare_len = sizeof bare_addr;
  if (bind(listener, reinterpret_cast<sockaddr*>(&bare_addr), sizeof bare_addr) != 0 ||
      listen(listener, 1024) != 0 ||
      getsockname(listener, reinterpret_cast<sockaddr*>(&bare_addr), &bare_len) != 0) {
    std::perror("bare server");
    return 1;
  }
  const int bare_port = ntohs(bare_addr.sin_port);

  Errors all_bare, all_wire, all_read;
  const size_t per_stream = static_cast<size_t>(events - 1);
  constexpr double kTailUs = 500;
  Tails bare_tails, td_tails;
  std::vector<double> round_p99;       // at the socket
  std::vector<double> round_bare_p99;  // the bare loop's, at the socket
  const std::string load_at_start = td::bench::LoadAverageText();
  // What the scheduler did to each server's thread during its rounds (tapedeck replay is
  // one thread: its pid's counters).
  td::bench::SchedStat bare_sched, td_sched;
  bool ok = true;
  for (int r = 1; r <= rounds && ok; ++r) {
    td::bench::SchedStat bare_round;
    std::thread bare(ServeBare, listener, streams, request.size(), std::cref(head),
                     std::cref(chunks), std::cref(at), 4000.0, server_cpu, &bare_round);
    Round baseline = MeasureServer(bare_port, streams, request, body, ends, at);
    bare.join();
    bare_sched += bare_round;
    const td::bench::SchedStat td_before = td::bench::ReadSchedStat(pid);
    Round round = MeasureServer(port, streams, request, body, ends, at);
    td_sched += td::bench::ReadSchedStat(pid) - td_before;
    ok = baseline.ok && round.ok;
    std::printf("round %d\n", r);
    baseline.wire.Print("bare timer loop, at socket");
    round.wire.Print("tapedeck, at the socket");
    round.read.Print("tapedeck, read by client");
    const Tails bare_round_tails = Tails::Of(baseline.wire.gap, per_stream, kTailUs);
    const Tails td_round_tails = Tails::Of(round.wire.gap, per_stream, kTailUs);
    std::printf(
        "  gaps > %.0f us off (first gap / in stalls / other): bare loop %zu / %zu / %zu, "
        "tapedeck %zu / %zu / %zu\n",
        kTailUs, bare_round_tails.first, bare_round_tails.stall, bare_round_tails.other,
        td_round_tails.first, td_round_tails.stall, td_round_tails.other);
    bare_tails.Add(bare_round_tails);
    td_tails.Add(td_round_tails);
    round_p99.push_back(Percentile(round.wire.gap, 99));
    round_bare_p99.push_back(Percentile(baseline.wire.gap, 99));
    all_bare.Append(baseline.wire);
    all_wire.Append(round.wire);
    all_read.Append(round.read);
  }
  close(listener);
  kill(pid, SIGTERM);
  int status;
  waitpid(pid, &status, 0);
  if (!ok) return 1;
  std::printf("all rounds (%zu gaps; bytes identical to the recording on every stream)\n",
              all_wire.gap.size());
  all_bare.Print("bare timer loop, at socket");
  all_wire.Print("tapedeck, at the socket");
  all_read.Print("tapedeck, read by client");
  std::printf("median of the rounds' gap error p99 at the socket: %.0f us\n",
              Percentile(round_p99, 50));
  // The goal's figure: tapedeck's p99 over the bare loop's, from the same rounds.
  std::vector<double> ratios;
  std::printf("RATIO gap error p99 at the socket, tapedeck / bare timer loop, by round:");
  for (size_t r = 0; r < round_p99.size(); ++r) {
    if (round_bare_p99[r] <= 0) {
      std::printf(" n/a");
      continue;
    }
    ratios.push_back(round_p99[r] / round_bare_p99[r]);
    std::printf(" %.0f/%.0f=%.2fx", round_p99[r], round_bare_p99[r], ratios.back());
  }
  std::sort(ratios.begin(), ratios.end());
  const size_t n = ratios.size();
  const double median_ratio = n == 0  ? 0
                              : n % 2 ? ratios[n / 2]
                                      : (ratios[n / 2 - 1] + ratios[n / 2]) / 2;
  const double bare_p99 = Percentile(all_bare.gap, 99), td_p99 = Percentile(all_wire.gap, 99);
  std::printf(
      "\nRATIO gap error p99, tapedeck / bare timer loop: pooled %.2fx (%.0f / %.0f us); "
      "median of %zu rounds' ratios %.2fx; p50 pooled %.2fx (%.0f / %.0f us)\n",
      bare_p99 > 0 ? td_p99 / bare_p99 : 0, td_p99, bare_p99, n, median_ratio,
      Percentile(all_bare.gap, 50) > 0 ? Percentile(all_wire.gap, 50) / Percentile(all_bare.gap, 50)
                                       : 0,
      Percentile(all_wire.gap, 50), Percentile(all_bare.gap, 50));
  // Where the tails came from (Tails): the goal's p99 counts every gap; these say which.
  std::printf(
      "gaps more than %.0f us off, at the socket, over all rounds (of %zu each):\n"
      "  bare timer loop   %5zu at each stream's first gap, %5zu in %zu whole-index stalls, "
      "%5zu other\n"
      "  tapedeck          %5zu at each stream's first gap, %5zu in %zu whole-index stalls, "
      "%5zu other\n",
      kTailUs, all_wire.gap.size(), bare_tails.first, bare_tails.stall, bare_tails.stalls,
      bare_tails.other, td_tails.first, td_tails.stall, td_tails.stalls, td_tails.other);
  const double bare_rest = Percentile(AfterFirstGap(all_bare.gap, per_stream), 99);
  const double td_rest = Percentile(AfterFirstGap(all_wire.gap, per_stream), 99);
  std::printf(
      "gap error p99 without each stream's first gap (not the goal's figure): bare %.0f us, "
      "tapedeck %.0f us, %.2fx\n",
      bare_rest, td_rest, bare_rest > 0 ? td_rest / bare_rest : 0);
  const long long n_events = static_cast<long long>(streams) * events * rounds;
  std::printf("each server's thread during its rounds (/proc/TID/schedstat), per event:\n");
  td::bench::PrintSchedStatPer("bare timer loop", bare_sched, n_events);
  td::bench::PrintSchedStatPer("tapedeck", td_sched, n_events);
  std::printf("load average (1/5/15 min): at the start %s; at the end %s\n", load_at_start.c_str(),
              td::bench::LoadAverageText().c_str());
  return 0;
}
