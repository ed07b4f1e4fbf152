// File: bench/soak_bench.cc
//
// Soak: keeps N paced SSE streams (50 events 20 ms apart, ~1 s each) in flight through the real
// tapedeck binary for a bounded time, in replay and in record, and samples the process every
// second: RSS, peak RSS, open descriptors, threads, CPU, streams completed and in flight. Prints
// a row every 10 s and a summary: RSS after warm-up and at the end, its slope, MiB per 1,000
// streams, descriptors, and every stream that failed or whose bytes differed (must be none);
// then the memory figures to quote (idle, steady = median after warm-up, min/max and growth
// after warm-up, MiB per 1,000 streams from the steady RSS) and the load average.
//
// Usage: soak_bench [--mode replay|record|both] [--seconds N] [--streams N] [--tapedeck PATH]
//                   [--client-threads N]
// Exit status: 0 when every stream delivered exactly the expected bytes, 1 when one did not,
// tapedeck misbehaved or the run was interrupted (SIGINT, SIGTERM: it still stops tapedeck and
// removes its temporary folder), 2 on bad flags or a too-low RLIMIT_NOFILE hard limit.
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zstd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bench/host_steal.h"
#include "bench/soak_http.h"
#include "bench/soak_load.h"
#include "bench/soak_process.h"
#include "bench/soak_upstream.h"
#include "cassette/base/unique_fd.h"
#include "cassette/codec.h"
#include "cassette/model.h"
#include "cassette/record_target.h"

#ifndef TD_SOAK_DEFAULT_TAPEDECK
#define TD_SOAK_DEFAULT_TAPEDECK "tools/tapedeck"
#endif

namespace td::bench::soak {
namespace {

constexpr int kEvents = 50;
constexpr Micros kGapUs = 20000;
constexpr int kRowEverySeconds = 10;
// Descriptors the bench and tapedeck need besides one per socket: listeners, epoll sets,
// pipes, the cassette, libevent's own.
constexpr rlim_t kFdSlack = 200;

volatile sig_atomic_t g_interrupted = 0;
void OnSignal(int) { g_interrupted = 1; }

struct Flags {
  std::string mode = "both";
  int seconds = 120;
  int streams = 1000;
  int client_threads = 3;
  std::string tapedeck = TD_SOAK_DEFAULT_TAPEDECK;
};

[[noreturn]] void Usage(const char* argv0, const std::string& problem) {
  std::fprintf(stderr,
               "%s: %s\nusage: %s [--mode replay|record|both] [--seconds N] [--streams N] "
               "[--tapedeck PATH] [--client-threads N]\n",
               argv0, problem.c_str(), argv0);
  std::exit(2);
}

Flags ParseFlags(int argc, char** argv) {
  Flags f;
  for (int i = 1; i < argc; ++i) {
    const std::string name = argv[i];
    if (i + 1 >= argc) Usage(argv[0], name + " needs a value");
    const std::string value = argv[++i];
    auto number = [&] {
      char* end = nullptr;
      const long n = std::strtol(value.c_str(), &end, 10);
      if (end == value.c_str() || *end != '\0' || n < 1 || n > 1000000) {
        Usage(argv[0], name + ": not a positive number: " + value);
      }
      return static_cast<int>(n);
    };
    if (name == "--mode") {
      f.mode = value;
      if (f.mode != "replay" && f.mode != "record" && f.mode != "both") {
        Usage(argv[0], "--mode: replay, record or both, not " + value);
      }
    } else if (name == "--seconds") {
      f.seconds = number();
    } else if (name == "--streams") {
      f.streams = number();
    } else if (name == "--client-threads") {
      f.client_threads = number();
    } else if (name == "--tapedeck") {
      f.tapedeck = value;
    } else {
      Usage(argv[0], "unknown flag " + name);
    }
  }
  return f;
}

// Raises the soft RLIMIT_NOFILE to the hard limit (tapedeck inherits it, and raises its own
// anyway). False, having said why, when the hard limit is below `needed`.
bool RaiseOpenFileLimit(rlim_t needed) {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) {
    std::perror("soak: getrlimit(RLIMIT_NOFILE)");
    return false;
  }
  rlim_t target = limit.rlim_max;
  if (target == RLIM_INFINITY) {
    // The kernel refuses a soft limit above fs.nr_open, whatever the hard limit says.
    target = 1 << 20;
    std::ifstream("/proc/sys/fs/nr_open") >> target;
  }
  if (target < needed) {
    std::fprintf(stderr,
                 "soak: the open-file hard limit (RLIMIT_NOFILE) is %llu, but this run needs "
                 "about %llu descriptors (a socket per client, one more per stream in record "
                 "mode, plus %llu); raise it (ulimit -Hn, as root) or pass fewer --streams\n",
                 static_cast<unsigned long long>(target), static_cast<unsigned long long>(needed),
                 static_cast<unsigned long long>(kFdSlack));
    return false;
  }
  if (limit.rlim_cur < target) {
    limit.rlim_cur = target;
    if (setrlimit(RLIMIT_NOFILE, &limit) != 0) {
      std::perror("soak: setrlimit(RLIMIT_NOFILE)");
      return false;
    }
  }
  return true;
}

// What every stream is: the request the clients send, the SSE events the response carries.
struct Payload {
  std::string request_body;
  std::string request;  // the whole HTTP request
  std::vector<std::string> events;
  std::vector<Micros> at_us;
  std::string body;  // the events, concatenated
};

Payload MakePayload() {
  Payload p;
  p.request_body =
      R"({"model":"claude-sonnet-4-5","max_tokens":1024,"stream":true,"messages":[{"role":)"
      R"("user","content":"Explain what a record-and-replay proxy does for the tests of an )"
      R"(LLM client, in three short paragraphs."}]})";
  p.request =
      "POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\n"
      "content-type: application/json\r\nanthropic-version: 2023-06-01\r\n"
      "content-length: " +
      std::to_string(p.request_body.size()) + "\r\n\r\n" + p.request_body;
  // Text deltas as Claude streams them: a few words each, ~150 bytes per event on the wire.
  static constexpr std::string_view kText =
      "A record-and-replay proxy sits between the client under test and the model's API. "
      "While recording, it forwards each request upstream, streams the answer back as it "
      "arrives, and writes the exchange to a cassette with the arrival time of every event. "
      "While replaying, it answers the same requests from the cassette alone, byte for byte, "
      "at the recorded pace or faster, so the tests need no network, no key and no budget, "
      "and they fail the same way every time they fail. Secrets never reach the file. ";
  constexpr size_t kPiece = 36;
  for (int i = 0; i < kEvents; ++i) {
    const size_t from = (static_cast<size_t>(i) * kPiece) % (kText.size() - kPiece);
    const std::string text(kText.substr(from, kPiece));
    p.events.push_back(
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,"
        "\"delta\":{\"type\":\"text_delta\",\"text\":\"" +
        text + "\"}}\n\n");
    p.at_us.push_back(kGapUs * (i + 1));
    p.body += p.events.back();
  }
  return p;
}

// The replay cassette: the one interaction, as if recorded from the fake upstream.
cassette::Cassette MakeCassette(const Payload& p) {
  cassette::Interaction it;
  it.recorded_at_us = 1795249953123456;  // 2026-11-21T08:32:33Z
  it.request.method = "POST";
  it.request.path = "/v1/messages";
  it.request.headers = {{"content-type", "application/json"}, {"anthropic-version", "2023-06-01"}};
  it.request.body.bytes = p.request_body;
  it.response.status = 200;
  it.response.headers = {{"content-type", "text/event-stream; charset=utf-8"},
                         {"cache-control", "no-cache"}};
  it.response.stream.emplace();
  for (size_t e = 0; e < p.events.size(); ++e) {
    it.response.stream->events.push_back({p.events[e], p.at_us[e], {}});
  }
  it.timing = {0, p.at_us.back()};
  cassette::Cassette c;
  c.created_at_us = it.recorded_at_us;
  c.interactions.push_back(std::move(it));
  return c;
}

const char kUpstreamHead[] =
    "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream; charset=utf-8\r\n"
    "cache-control: no-cache\r\ntransfer-encoding: chunked\r\n\r\n";

// Counts the lines of a JSON Lines cassette (zstd or plain) while it is being appended to,
// reading only what was added since the last call: the writer flushes a zstd block after every
// interaction, so each complete line is readable as soon as it is written. Main thread.
class LineCounter {
 public:
  explicit LineCounter(std::string path) : path_(std::move(path)) {}

  // Lines so far; -1 while the file does not exist, or once it turned out not to be zstd or
  // JSON Lines.
  long long Count() {
    if (broken_) return -1;
    if (!fd_.valid()) {
      fd_ = UniqueFd(::open(path_.c_str(), O_RDONLY | O_CLOEXEC));
      if (!fd_.valid()) return -1;
    }
    std::vector<char> in(ZSTD_DStreamInSize()), out(ZSTD_DStreamOutSize());
    ssize_t n;
    while ((n = ::read(fd_.get(), in.data(), in.size())) > 0) {
      if (first_) {
        compressed_ = n >= 4 && static_cast<unsigned char>(in[0]) == 0x28 &&
                      static_cast<unsigned char>(in[1]) == 0xb5;
        first_ = false;
      }
      if (!compressed_) {
        lines_ += std::count(in.begin(), in.begin() + n, '\n');
        continue;
      }
      ZSTD_inBuffer ib{in.data(), static_cast<size_t>(n), 0};
      while (ib.pos < ib.size) {
        ZSTD_outBuffer ob{out.data(), out.size(), 0};
        if (ZSTD_isError(ZSTD_decompressStream(dctx_.get(), &ob, &ib))) {
          broken_ = true;
          return -1;
        }
        lines_ += std::count(out.begin(), out.begin() + static_cast<long>(ob.pos), '\n');
      }
    }
    return lines_;
  }

 private:
  std::string path_;
  UniqueFd fd_;
  std::unique_ptr<ZSTD_DCtx, size_t (*)(ZSTD_DCtx*)> dctx_{ZSTD_createDCtx(), ZSTD_freeDCtx};
  bool first_ = true;
  bool compressed_ = false;
  bool broken_ = false;
  long long lines_ = 0;
};

long long FileSize(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<long long>(st.st_size) : -1;
}

struct Row {
  double t = 0;  // seconds since the clients started
  ProcSample proc;
  LoadCounts load;
  double client_cpu = 0;
  double upstream_cpu = 0;
  long long cassette_bytes = -1;
  long long written = -1;  // interactions in the cassette so far
};

// Interactions the clients got in full that the cassette does not hold yet: about the record
// worker's queue. Approximate: a client reads the last bytes after tapedeck queued the
// interaction, so a queue of a few reads as 0.
long long Unwritten(const Row& r) {
  return std::max(
      0LL, static_cast<long long>(r.load.completed + r.load.differed) - std::max(0LL, r.written));
}

// Least-squares slope of RSS (MiB) against time (minutes) over `rows`.
double SlopeMibPerMinute(const std::vector<Row>& rows) {
  if (rows.size() < 2) return 0;
  double n = 0, sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (const Row& r : rows) {
    const double x = r.t / 60.0, y = r.proc.rss_mib;
    n += 1;
    sx += x;
    sy += y;
    sxx += x * x;
    sxy += x * y;
  }
  const double d = n * sxx - sx * sx;
  return d == 0 ? 0 : (n * sxy - sx * sy) / d;
}

void PrintHeader(bool record) {
  std::printf("%6s %8s %6s %4s %10s %7s %7s %7s %7s%s\n", "t s", "RSS MiB", "fds", "thr",
              "completed", "flight", "per s", "td cpu", "clients",
              record ? "  writer upstream  cassette MiB  unwritten" : "");
}

void PrintRow(const Row& r, const Row* prev, bool record) {
  const double dt = prev ? r.t - prev->t : 0;
  auto pct = [&](double now, double before) { return dt > 0 ? 100 * (now - before) / dt : 0; };
  const double rate =
      dt > 0 ? static_cast<double>(r.load.completed - prev->load.completed) / dt : 0;
  std::printf("%6.0f %8.1f %6d %4d %10llu %7lld %7.0f %6.0f%% %6.0f%%", r.t, r.proc.rss_mib,
              r.proc.fds, r.proc.threads, static_cast<unsigned long long>(r.load.completed),
              static_cast<long long>(r.load.in_flight), rate,
              prev ? pct(r.proc.cpu_seconds, prev->proc.cpu_seconds) : 0,
              prev ? pct(r.client_cpu, prev->client_cpu) : 0);
  if (record) {
    const double writer = r.proc.cpu_seconds - r.proc.main_cpu_seconds;
    const double writer_before = prev ? prev->proc.cpu_seconds - prev->proc.main_cpu_seconds : 0;
    std::printf(" %6.0f%% %7.0f%% %13.1f %10lld", prev ? pct(writer, writer_before) : 0,
                prev ? pct(r.upstream_cpu, prev->upstream_cpu) : 0,
                r.cassette_bytes < 0 ? 0 : static_cast<double>(r.cassette_bytes) / (1 << 20),
                Unwritten(r));
  }
  std::printf("\n");
  std::fflush(stdout);
}

// The memory figures a reader can quote, from the idle sample and the rows after warm-up:
// steady RSS (their median), min/max, growth from the first to the last, and MiB per 1,000
// streams = (steady - idle) x 1000 / streams. Also the load average at the start and now.
void PrintMemory(const char* name, int streams, double idle_mib, const std::vector<Row>& steady,
                 const std::string& load_at_start) {
  std::vector<double> rss;
  for (const Row& r : steady) rss.push_back(r.proc.rss_mib);
  std::sort(rss.begin(), rss.end());
  const size_t n = rss.size();
  const double median = n % 2 ? rss[n / 2] : (rss[n / 2 - 1] + rss[n / 2]) / 2;
  const double first = steady.front().proc.rss_mib, last = steady.back().proc.rss_mib;
  const double growth = last - first;
  std::printf("  %s memory, to quote:\n", name);
  std::printf("    RSS before load (idle, listening)  %8.1f MiB\n", idle_mib);
  std::printf("    RSS steady (median, %3.0f..%3.0f s)   %8.1f MiB (%zu samples)\n",
              steady.front().t, steady.back().t, median, n);
  std::printf("    RSS min / max after warm-up        %8.1f / %.1f MiB\n", rss.front(), rss.back());
  std::printf("    growth %3.0f s -> %3.0f s              %+8.1f MiB (%+.1f%%)\n", steady.front().t,
              steady.back().t, growth, first > 0 ? 100 * growth / first : 0);
  // The second half alone: a plateau reached late in the warm-up shows as no growth here.
  const Row* mid = &steady.front();
  for (const Row& r : steady) {
    if (r.t >= (steady.front().t + steady.back().t) / 2) {
      mid = &r;
      break;
    }
  }
  const double late = last - mid->proc.rss_mib;
  std::printf("    growth %3.0f s -> %3.0f s (second half)  %+6.1f MiB (%+.1f%%)\n", mid->t,
              steady.back().t, late, mid->proc.rss_mib > 0 ? 100 * late / mid->proc.rss_mib : 0);
  std::printf("    MiB per 1,000 streams              %8.1f (steady minus idle, x 1000/%d)\n",
              (median - idle_mib) * 1000.0 / static_cast<double>(streams), streams);
  std::printf("    load average (1/5/15 min)          at the start %s; at the end %s\n",
              load_at_start.c_str(), LoadAverageText().c_str());
}

// Sleeps until `t` (NowUs clock) or an interrupt.
void SleepUntil(Micros t) {
  while (!g_interrupted) {
    const Micros left = t - NowUs();
    if (left <= 0) return;
    const Micros step = std::min<Micros>(left, 100000);
    timespec ts{static_cast<time_t>(step / 1000000), static_cast<long>(step % 1000000) * 1000};
    nanosleep(&ts, nullptr);
  }
}

// One mode's run. Returns true when every stream was exact and tapedeck behaved.
bool RunMode(const Flags& flags, bool record, const Payload& payload, const std::string& dir) {
  const char* name = record ? "record" : "replay";
  std::printf("\n== %s: %d streams for %d s (50 events 20 ms apart, ~1 s per stream) ==\n", name,
              flags.streams, flags.seconds);
  std::unique_ptr<FakeSseUpstream> upstream;
  std::vector<std::string> args;
  const std::string cassette_path = dir + "/" + name + ".jsonl.zst";
  if (record) {
    UpstreamOptions uo;
    uo.head = kUpstreamHead;
    uo.events = payload.events;
    uo.at_us = payload.at_us;
    uo.threads = 2;
    upstream = std::make_unique<FakeSseUpstream>(uo);
    args = {"record",
            "--upstream",
            "http://127.0.0.1:" + std::to_string(upstream->port()),
            "--cassette",
            cassette_path,
            "--overwrite",
            "--no-upstream-check",
            "--listen",
            "127.0.0.1:0",
            "--log-level",
            "warn"};
  } else {
    Status written = cassette::WriteCassetteAtomic(cassette_path, MakeCassette(payload), {});
    if (!written.ok()) {
      std::fprintf(stderr, "soak: %s\n", written.ToString().c_str());
      return false;
    }
    args = {"replay",   "--cassette", cassette_path, "--listen", "127.0.0.1:0",
            "--timing", "recorded",   "--log-level", "warn"};
  }
  auto started = TapedeckProcess::Start(flags.tapedeck, args);
  if (!started.ok()) {
    std::fprintf(stderr, "soak: %s\n", started.status().ToString().c_str());
    return false;
  }
  TapedeckProcess& td = **started;
  const std::string load_at_start = LoadAverageText();
  std::printf("tapedeck pid %d on 127.0.0.1:%u: %s", static_cast<int>(td.pid()), td.port(),
              flags.tapedeck.c_str());
  for (const auto& a : args) std::printf(" %s", a.c_str());
  std::printf("\n");

  // The idle process, right after start (a moment for it to settle).
  SleepUntil(NowUs() + 500000);
  const std::optional<ProcSample> idle = td.Sample();
  if (!idle) {
    std::fprintf(stderr, "soak: tapedeck exited right after start\n");
    td.Stop(5);
    return false;
  }

  LoadOptions lo;
  lo.port = td.port();
  lo.connections = flags.streams;
  lo.threads = flags.client_threads;
  lo.request = payload.request;
  lo.body = payload.body;
  SoakLoad load(lo);
  const Micros t0 = NowUs();
  const double warmup = std::min(10.0, flags.seconds / 2.0);

  std::unique_ptr<LineCounter> counter;  // of the file being written, once it exists
  auto take = [&](Row* row) {
    row->t = static_cast<double>(NowUs() - t0) / 1e6;
    const std::optional<ProcSample> s = td.Sample();
    if (!s) return false;
    row->proc = *s;
    row->load = load.Counts();
    row->client_cpu = load.CpuSeconds();
    row->upstream_cpu = upstream ? upstream->CpuSeconds() : 0;
    if (record) {
      // An overwrite writes the staging file and renames it at the end.
      const std::string staging = cassette::StagingPath(cassette_path);
      const std::string& writing = FileSize(staging) >= 0 ? staging : cassette_path;
      if (!counter) counter = std::make_unique<LineCounter>(writing);
      row->cassette_bytes = FileSize(writing);
      const long long n = counter->Count();
      row->written = n > 0 ? n - 1 : 0;  // the first line is the cassette's header
    }
    return true;
  };

  std::vector<Row> rows;
  Row first;
  first.proc = *idle;
  first.client_cpu = load.CpuSeconds();
  first.upstream_cpu = upstream ? upstream->CpuSeconds() : 0;
  rows.push_back(first);
  PrintHeader(record);
  PrintRow(first, nullptr, record);
  size_t last_printed = 0;
  bool alive = true;
  for (int s = 1; s <= flags.seconds && !g_interrupted; ++s) {
    SleepUntil(t0 + Micros{s} * 1000000);
    if (g_interrupted) break;
    Row row;
    if (!take(&row)) {
      std::fprintf(stderr, "soak: tapedeck is gone (t=%d s)\n", s);
      alive = false;
      break;
    }
    rows.push_back(row);
    if (s % kRowEverySeconds == 0 || s == flags.seconds) {
      PrintRow(rows.back(), &rows[last_printed], record);
      last_printed = rows.size() - 1;
    }
  }
  if (g_interrupted) std::printf("interrupted: stopping\n");

  // Let the streams in flight finish, then look once more (peak RSS too), with the
  // connections idle but open; then close them and look again.
  const bool drained = load.Drain(NowUs() + 30000000);
  Row end;
  const bool have_end = alive && take(&end);
  load.Close();
  SleepUntil(NowUs() + 2000000);
  Row after;
  const bool have_after = alive && take(&after);
  const LoadCounts counts = load.Counts();
  const int td_status = td.Stop(30);
  const uint64_t td_lines = td.stderr_lines();
  const uint64_t upstream_accepted = upstream ? upstream->accepted() : 0;
  const uint64_t upstream_bad = upstream ? upstream->bad_requests() : 0;
  upstream.reset();  // after tapedeck: it must not see its upstream vanish mid-stream

  // The summary.
  std::vector<Row> steady;
  for (const Row& r : rows) {
    if (r.t >= warmup - 0.5) steady.push_back(r);
  }
  if (steady.empty()) steady.push_back(rows.back());  // stopped before the warm-up ended
  const Row* warm = &steady.front();
  const Row& last = rows.back();
  std::printf("\n%s summary (%d streams, %.0f s%s)\n", name, flags.streams, last.t,
              g_interrupted ? ", interrupted" : "");
  std::printf("  RSS idle after start         %8.1f MiB\n", idle->rss_mib);
  std::printf("  RSS at %2.0f s (after warm-up)  %8.1f MiB\n", warm->t, warm->proc.rss_mib);
  std::printf("  RSS at the end (%3.0f s)       %8.1f MiB\n", last.t, last.proc.rss_mib);
  if (have_end) {
    std::printf("  RSS peak (VmHWM)             %8.1f MiB\n", end.proc.hwm_mib);
  }
  if (have_after) {
    std::printf("  RSS 2 s after clients closed %8.1f MiB\n", after.proc.rss_mib);
  }
  const double slope = SlopeMibPerMinute(steady);
  std::printf("  RSS slope after warm-up      %+8.2f MiB/min (least squares, %zu samples)\n", slope,
              steady.size());
  const double per_1000 =
      (warm->proc.rss_mib - idle->rss_mib) * 1000.0 / static_cast<double>(flags.streams);
  std::printf("  RSS per 1,000 streams        %8.1f MiB (RSS at %.0f s minus idle, x 1000/%d)\n",
              per_1000, warm->t, flags.streams);
  int fd_min = 1 << 30, fd_max = 0, thr_max = 0;
  for (const Row& r : steady) {
    fd_min = std::min(fd_min, r.proc.fds);
    fd_max = std::max(fd_max, r.proc.fds);
    thr_max = std::max(thr_max, r.proc.threads);
  }
  std::printf(
      "  fds                          idle %d; after warm-up %d..%d; at the end %d; "
      "after close %d\n",
      idle->fds, fd_min, fd_max, have_end ? end.proc.fds : -1, have_after ? after.proc.fds : -1);
  std::printf("  threads                      idle %d; at most %d\n", idle->threads, thr_max);
  const double span = last.t - warm->t;
  if (span > 0) {
    std::printf("  streams/s after warm-up      %8.0f\n",
                static_cast<double>(last.load.completed - warm->load.completed) / span);
    std::printf(
        "  CPU after warm-up            tapedeck %.0f%% (main thread %.0f%%), clients %.0f%%",
        100 * (last.proc.cpu_seconds - warm->proc.cpu_seconds) / span,
        100 * (last.proc.main_cpu_seconds - warm->proc.main_cpu_seconds) / span,
        100 * (last.client_cpu - warm->client_cpu) / span);
    if (record) {
      std::printf(", upstream %.0f%%", 100 * (last.upstream_cpu - warm->upstream_cpu) / span);
    }
    std::printf(" of one core\n");
  }
  if (record) {
    long long most = 0;
    for (const Row& r : rows) {
      most = std::max(most, Unwritten(r));
    }
    std::printf("  answered, not yet written    at most %lld interactions (sampled each second)\n",
                most);
  }
  const auto& hist = load.DurationsMs();
  std::printf("  stream duration              p50 %.0f ms, p99 %.0f ms, max %.0f ms\n",
              SoakLoad::PercentileMs(hist, 50), SoakLoad::PercentileMs(hist, 99),
              SoakLoad::PercentileMs(hist, 100));
  std::printf("  completed streams            %llu (client connections opened: %llu)\n",
              static_cast<unsigned long long>(counts.completed),
              static_cast<unsigned long long>(counts.connects));
  std::printf("  bytes differed               %llu\n",
              static_cast<unsigned long long>(counts.differed));
  std::printf("  failed                       %llu%s\n",
              static_cast<unsigned long long>(counts.failed),
              drained ? "" : " (some streams had not finished 30 s after the end)");
  for (const auto& [why, n] : load.Failures()) {
    std::printf("    %llu x %s\n", static_cast<unsigned long long>(n), why.c_str());
  }
  bool ok = alive && counts.differed == 0 && counts.failed == 0 && counts.completed > 0;
  if (record) {
    std::printf(
        "  upstream connections         %llu accepted by the fake upstream; %llu bad "
        "requests\n",
        static_cast<unsigned long long>(upstream_accepted),
        static_cast<unsigned long long>(upstream_bad));
    if (upstream_bad > 0) ok = false;
    const long long size = FileSize(cassette_path);
    const long long lines = LineCounter(cassette_path).Count();
    std::printf("  cassette                     %.1f MiB, %lld interactions",
                static_cast<double>(std::max(0LL, size)) / (1 << 20), lines > 0 ? lines - 1 : 0);
    if (lines > 1) {
      std::printf(" (%.0f bytes each)", static_cast<double>(size) / static_cast<double>(lines - 1));
    }
    std::printf("\n");
    if (lines - 1 != static_cast<long long>(counts.completed + counts.differed)) {
      std::printf("  the cassette does not hold one interaction per answered stream (%llu)\n",
                  static_cast<unsigned long long>(counts.completed + counts.differed));
      ok = false;
    }
  }
  PrintMemory(name, flags.streams, idle->rss_mib, steady, load_at_start);
  const bool clean_exit = WIFEXITED(td_status) && WEXITSTATUS(td_status) == 0;
  const std::string exit_text = clean_exit ? "0 (clean)"
                                : WIFEXITED(td_status)
                                    ? "status " + std::to_string(WEXITSTATUS(td_status))
                                    : "killed by a signal";
  std::printf("  tapedeck exit                %s; %llu line(s) on stderr after start\n",
              exit_text.c_str(), static_cast<unsigned long long>(td_lines));
  std::fflush(stdout);
  std::error_code ec;
  std::filesystem::remove(cassette_path, ec);
  return ok && clean_exit;
}

}  // namespace
}  // namespace td::bench::soak

int main(int argc, char** argv) {
  using namespace td::bench::soak;
  const Flags flags = ParseFlags(argc, argv);
  if (::access(flags.tapedeck.c_str(), X_OK) != 0) {
    std::fprintf(stderr, "soak: cannot run %s: %s (pass --tapedeck PATH)\n", flags.tapedeck.c_str(),
                 std::strerror(errno));
    return 2;
  }
  const bool replay = flags.mode != "record", record = flags.mode != "replay";
  const rlim_t needed = static_cast<rlim_t>(flags.streams) * (record ? 2 : 1) + kFdSlack;
  if (!RaiseOpenFileLimit(needed)) return 2;

  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);

  char dir_template[] = "/tmp/tapedeck-soak-XXXXXX";
  if (!::mkdtemp(dir_template)) {
    std::perror("soak: mkdtemp");
    return 1;
  }
  const std::string dir = dir_template;
  const Payload payload = MakePayload();
  std::printf(
      "soak: %d streams, %d client threads, %zu-byte events (%zu bytes per stream), "
      "temp folder %s\n",
      flags.streams, flags.client_threads, payload.events.front().size(), payload.body.size(),
      dir.c_str());
  bool ok = true;
  if (replay && !g_interrupted) ok = RunMode(flags, false, payload, dir) && ok;
  if (record && !g_interrupted) ok = RunMode(flags, true, payload, dir) && ok;
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  if (ec) std::fprintf(stderr, "soak: cannot remove %s: %s\n", dir.c_str(), ec.message().c_str());
  if (g_interrupted) {
    std::printf("\nsoak: interrupted\n");
    return 1;
  }
  std::printf("\nsoak: %s\n", ok ? "ok" : "FAILED (see above)");
  return ok ? 0 : 1;
}
