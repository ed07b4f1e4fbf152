// File: bench/cassette_load_bench.cc
//
// How long a big cassette takes to become servable, and what it costs. Generates cassettes of
// N interactions (each a ~3 KB Anthropic request that differs per interaction, answered by a
// 32-event SSE stream with recorded timings), written by tapedeck's own CassetteWriter, then for
// each: time from spawning `tapedeck replay --cassette F --listen 127.0.0.1:0` to its listening
// line, the CPU time it used by then (user + system, all threads: steadier than the wall time
// when other work shares the machine), VmHWM and VmRSS at that moment, the first request (the
// file's LAST interaction, whose answer is checked byte for byte), a second one (the first
// interaction), and the wall time of `tapedeck cassette ls F`. Medians over rounds; with --baseline
// an older binary is measured in the same rounds, alternating. Not a test: it prints figures
// (docs/performance.md, "Loading big cassettes").
//
// Usage: cassette_load_bench [--sizes 1000,10000,50000] [--rounds N (3)] [--tapedeck PATH]
//                            [--baseline PATH] [--keep DIR]
// --keep DIR writes the cassettes into DIR and leaves them there (reusing any already there, for
// profiling by hand). Exit status: 0 when every answer was the recorded one, 1 otherwise, 2 on
// bad flags.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "bench/agent_traffic.h"
#include "bench/soak_http.h"
#include "bench/soak_process.h"
#include "cassette/base/unique_fd.h"
#include "cassette/cassette_writer.h"
#include "cassette/model.h"

#ifndef TD_BENCH_DEFAULT_TAPEDECK
#define TD_BENCH_DEFAULT_TAPEDECK "tools/tapedeck"
#endif

namespace td::bench {
namespace {

using cassette::Interaction;
using cassette::Json;
using soak::NowUs;
using soak::TapedeckProcess;
using traffic::Paragraph;
using traffic::Rng;
using traffic::Sentence;
using traffic::SseEvent;
using traffic::SystemPrompt;

constexpr Micros kRequestTimeoutUs = 30000000;
constexpr int kListenTimeoutS = 300;  // an old build reads 50,000 interactions in ~20 s

struct Flags {
  std::vector<size_t> sizes = {1000, 10000, 50000};
  int rounds = 3;
  std::string tapedeck = TD_BENCH_DEFAULT_TAPEDECK;
  std::string baseline;  // optional: an older build, measured in the same rounds
  std::string keep;      // optional: where the cassettes go and stay
};

[[noreturn]] void Usage(const char* argv0, const std::string& problem) {
  std::fprintf(stderr,
               "%s: %s\nusage: %s [--sizes N,N,...] [--rounds N] [--tapedeck PATH] "
               "[--baseline PATH] [--keep DIR]\n",
               argv0, problem.c_str(), argv0);
  std::exit(2);
}

Flags ParseFlags(int argc, char** argv) {
  Flags f;
  for (int i = 1; i < argc; ++i) {
    const std::string name = argv[i];
    if (i + 1 >= argc) Usage(argv[0], name + " needs a value");
    const std::string value = argv[++i];
    auto number = [&](std::string_view text) {
      char* end = nullptr;
      const std::string s(text);
      const long n = std::strtol(s.c_str(), &end, 10);
      if (end == s.c_str() || *end != '\0' || n < 1 || n > 10000000) {
        Usage(argv[0], name + ": expected a number from 1, not " + s);
      }
      return static_cast<size_t>(n);
    };
    if (name == "--sizes") {
      f.sizes.clear();
      for (size_t start = 0; start <= value.size();) {
        size_t comma = value.find(',', start);
        if (comma == std::string::npos) comma = value.size();
        f.sizes.push_back(number(std::string_view(value).substr(start, comma - start)));
        start = comma + 1;
      }
    } else if (name == "--rounds") {
      f.rounds = static_cast<int>(number(value));
    } else if (name == "--tapedeck") {
      f.tapedeck = value;
    } else if (name == "--baseline") {
      f.baseline = value;
    } else if (name == "--keep") {
      f.keep = value;
    } else {
      Usage(argv[0], "unknown flag " + name);
    }
  }
  return f;
}

// ---------------------------------------------------------------------------------------------
// The traffic

// The system prompt every request carries (~1.2 KB), the same in each.
const std::string& SharedSystem() {
  static const std::string system = SystemPrompt(1100);
  return system;
}

std::string RequestBody(size_t i) {
  Rng rng(1000003 + i);
  Json body = Json::object();
  body["model"] = "claude-sonnet-4-5";
  body["max_tokens"] = 4096;
  body["system"] = Json::array({{{"type", "text"}, {"text", SharedSystem()}}});
  // A question of its own per interaction (~1.5 KB), so every body differs from the others
  // everywhere, not only in a counter.
  std::string question = "Task " + std::to_string(i) + ": " + Paragraph(rng, 9);
  body["messages"] = Json::array({{{"role", "user"}, {"content", std::move(question)}}});
  body["metadata"] = {{"user_id", "user_4f2a_account_9c1e_session_" + std::to_string(i)}};
  body["stream"] = true;
  return body.dump();
}

// The answer: message_start, content_block_start, ping, 26 text deltas, content_block_stop,
// message_delta, message_stop (32 events), ~40 ms apart after ~400 ms to the first, a few of
// them arriving in two reads.
cassette::Stream ResponseStream(size_t i) {
  Rng rng(2000003 + i);
  cassette::Stream stream;
  Micros at = 380000 + static_cast<Micros>(rng.Below(200000));
  auto add = [&](std::string bytes) {
    cassette::StreamEvent event{std::move(bytes), at, {}};
    if (rng.Below(8) == 0 && event.bytes.size() > 40) {
      event.splits.push_back({event.bytes.size() / 2, at - 3000});
    }
    stream.events.push_back(std::move(event));
    at += 8000 + static_cast<Micros>(rng.Below(60000));
  };
  const std::string msg_id = "msg_01" + std::to_string(1000000 + i) + "Abc";
  add(SseEvent("message_start",
               {{"type", "message_start"},
                {"message",
                 {{"id", msg_id},
                  {"type", "message"},
                  {"role", "assistant"},
                  {"model", "claude-sonnet-4-5-20250929"},
                  {"content", Json::array()},
                  {"stop_reason", nullptr},
                  {"stop_sequence", nullptr},
                  {"usage", {{"input_tokens", 700 + rng.Below(300)}, {"output_tokens", 1}}}}}}));
  add(SseEvent("content_block_start", {{"type", "content_block_start"},
                                       {"index", 0},
                                       {"content_block", {{"type", "text"}, {"text", ""}}}}));
  add("event: ping\ndata: {\"type\": \"ping\"}\n\n");
  for (int p = 0; p < 26; ++p) {
    std::string piece = Sentence(rng);
    piece.resize(std::min<size_t>(piece.size(), 6 + rng.Below(24)));
    add(SseEvent("content_block_delta",
                 {{"type", "content_block_delta"},
                  {"index", 0},
                  {"delta", {{"type", "text_delta"}, {"text", piece + " "}}}}));
  }
  add(SseEvent("content_block_stop", {{"type", "content_block_stop"}, {"index", 0}}));
  add(SseEvent("message_delta",
               {{"type", "message_delta"},
                {"delta", {{"stop_reason", "end_turn"}, {"stop_sequence", nullptr}}},
                {"usage", {{"output_tokens", 200 + rng.Below(400)}}}}));
  add(SseEvent("message_stop", {{"type", "message_stop"}}));
  return stream;
}

Interaction MakeInteraction(size_t i) {
  Interaction it;
  it.seq = i;
  it.recorded_at_us = 1795249953123456 + static_cast<Micros>(i) * 4000000;
  it.request.method = "POST";
  it.request.path = "/v1/messages";
  it.request.headers = {{"host", "api.anthropic.com"},
                        {"content-type", "application/json"},
                        {"anthropic-version", "2023-06-01"},
                        {"x-api-key", "[REDACTED]"},
                        {"user-agent", "claude-cli/2.0.14 (external, cli)"}};
  it.request.body.bytes = RequestBody(i);
  it.response.status = 200;
  it.response.headers = {{"content-type", "text/event-stream; charset=utf-8"},
                         {"cache-control", "no-cache"},
                         {"request-id", "req_011CV" + std::to_string(4000000 + i)},
                         {"anthropic-organization-id", "[REDACTED]"},
                         {"via", "1.1 google"}};
  it.response.stream = ResponseStream(i);
  it.timing.headers_us = 350000;
  it.timing.done_us = it.response.stream->events.back().at_us;
  return it;
}

// Writes `n` interactions to `path` as a recording does (CassetteWriter, default level).
Status Generate(const std::string& path, size_t n, std::uint64_t* raw_bytes) {
  cassette::WriteOptions options;
  Result<std::unique_ptr<cassette::CassetteWriter>> writer =
      cassette::CassetteWriter::Open(path, cassette::CassetteWriter::OpenMode::kTruncate, options);
  if (!writer.ok()) return writer.status();
  *raw_bytes = 0;
  for (size_t i = 0; i < n; ++i) {
    const Interaction it = MakeInteraction(i);
    *raw_bytes += cassette::SerializeInteraction(it).size() + 1;
    TD_RETURN_IF_ERROR((*writer)->Append(it));
  }
  return (*writer)->Close();
}

// ---------------------------------------------------------------------------------------------
// Measuring

// The body of a chunked HTTP/1.1 message, or nullopt when `body` is not whole chunked framing.
std::optional<std::string> Dechunk(std::string_view body) {
  std::string out;
  for (;;) {
    const size_t eol = body.find("\r\n");
    if (eol == std::string_view::npos) return std::nullopt;
    const size_t size = std::strtoul(std::string(body.substr(0, eol)).c_str(), nullptr, 16);
    body.remove_prefix(eol + 2);
    if (size == 0) return out;
    if (body.size() < size + 2) return std::nullopt;
    out.append(body.substr(0, size));
    body.remove_prefix(size + 2);
  }
}

// POSTs interaction `i`'s request on a new connection (Connection: close) and reads the whole
// answer. Returns connect-to-last-byte, or an error saying what came back instead of the
// recorded stream.
Result<Micros> Ask(uint16_t port, size_t i) {
  const Interaction it = MakeInteraction(i);
  const std::string& body = it.request.body.bytes;
  std::string request = "POST /v1/messages HTTP/1.1\r\nhost: 127.0.0.1\r\n";
  for (const auto& [name, value] : it.request.headers) {
    if (name != "host") request += name + ": " + value + "\r\n";
  }
  request += "connection: close\r\ncontent-length: " + std::to_string(body.size()) + "\r\n\r\n";
  request += body;
  const Micros start = NowUs();
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return IoErrno("socket", errno);
  int one = 1;
  ::setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    return IoErrno("connect to tapedeck", errno);
  }
  for (size_t sent = 0; sent < request.size();) {
    const ssize_t n = ::write(fd.get(), request.data() + sent, request.size() - sent);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return IoErrno("send the request", errno);
    sent += static_cast<size_t>(n);
  }
  std::string in;
  for (;;) {
    const Micros left = start + kRequestTimeoutUs - NowUs();
    pollfd pfd{fd.get(), POLLIN, 0};
    const int ready = left > 0 ? ::poll(&pfd, 1, static_cast<int>(left / 1000) + 1) : 0;
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return IoError("no complete answer within 30 s: " + in.substr(0, 300));
    char buf[65536];
    const ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return IoErrno("read the answer", errno);
    if (n == 0) break;
    in.append(buf, static_cast<size_t>(n));
  }
  const Micros elapsed = NowUs() - start;
  const size_t head_end = in.find("\r\n\r\n");
  std::optional<std::string> got;
  if (head_end != std::string::npos) got = Dechunk(std::string_view(in).substr(head_end + 4));
  if (in.compare(0, 12, "HTTP/1.1 200") != 0 || !got ||
      *got != it.response.stream->Concatenated()) {
    return IoError("interaction " + std::to_string(i) + ": expected its recorded stream, got:\n" +
                   in.substr(0, 600));
  }
  return elapsed;
}

// Spawn to exit of `bin cassette ls path` (its output to /dev/null).
Result<Micros> TimeLs(const std::string& bin, const std::string& path) {
  const Micros start = NowUs();
  const pid_t pid = ::fork();
  if (pid < 0) return IoErrno("fork", errno);
  if (pid == 0) {
    const int null = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (null >= 0) ::dup2(null, 1);
    ::execl(bin.c_str(), bin.c_str(), "cassette", "ls", path.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return IoErrno("waitpid", errno);
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return IoError(bin + " cassette ls failed (wait status " + std::to_string(status) + ")");
  }
  return NowUs() - start;
}

struct Sample {
  double listening_ms = 0;
  double cpu_ms = 0;   // user + system CPU time of tapedeck at the listening line (all threads)
  double hwm_mib = 0;  // VmHWM at the listening line: the peak of the load
  double rss_mib = 0;  // VmRSS at the listening line
  double first_ms = 0;
  double second_ms = 0;
  double ls_ms = 0;
};

double Ms(Micros us) { return static_cast<double>(us) / 1000.0; }

Result<Sample> RunOnce(const std::string& bin, const std::string& path, size_t n) {
  Sample s;
  const Micros start = NowUs();
  Result<std::unique_ptr<TapedeckProcess>> proc =
      TapedeckProcess::Start(bin,
                             {"replay", "--cassette", path, "--listen", "127.0.0.1:0", "--timing",
                              "instant", "--log-level", "warn"},
                             kListenTimeoutS);
  if (!proc.ok()) return proc.status();
  s.listening_ms = Ms(NowUs() - start);
  if (std::optional<soak::ProcSample> sample = (*proc)->Sample()) {
    s.hwm_mib = sample->hwm_mib;
    s.rss_mib = sample->rss_mib;
    s.cpu_ms = sample->cpu_seconds * 1000.0;
  }
  Result<Micros> first = Ask((*proc)->port(), n - 1);
  if (!first.ok()) return first.status();
  s.first_ms = Ms(*first);
  Result<Micros> second = Ask((*proc)->port(), 0);
  if (!second.ok()) return second.status();
  s.second_ms = Ms(*second);
  const int status = (*proc)->Stop(30);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return IoError(bin + " did not exit 0 on SIGTERM (wait status " + std::to_string(status) + ")");
  }
  Result<Micros> ls = TimeLs(bin, path);
  if (!ls.ok()) return ls.status();
  s.ls_ms = Ms(*ls);
  return s;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

struct Medians {
  double listening_ms, cpu_ms, hwm_mib, rss_mib, first_ms, second_ms, ls_ms;
};

Medians MedianOf(const std::vector<Sample>& samples) {
  auto m = [&](double Sample::*field) {
    std::vector<double> v;
    for (const Sample& s : samples) v.push_back(s.*field);
    return Median(std::move(v));
  };
  return {m(&Sample::listening_ms), m(&Sample::cpu_ms),    m(&Sample::hwm_mib), m(&Sample::rss_mib),
          m(&Sample::first_ms),     m(&Sample::second_ms), m(&Sample::ls_ms)};
}

int Run(const Flags& flags) {
  std::string dir = flags.keep;
  bool remove_dir = false;
  if (dir.empty()) {
    const char* base = std::getenv("TMPDIR");
    dir = std::string(base && *base ? base : "/tmp") + "/cassette-load-bench-XXXXXX";
    if (::mkdtemp(dir.data()) == nullptr) {
      std::perror("cassette_load_bench: mkdtemp");
      return 1;
    }
    remove_dir = true;
  } else {
    std::filesystem::create_directories(dir);
  }
  struct Cleanup {
    std::string dir;
    bool remove;
    ~Cleanup() {
      std::error_code ec;
      if (remove) std::filesystem::remove_all(dir, ec);
    }
  } cleanup{dir, remove_dir};

  std::vector<std::pair<std::string, std::string>> builds = {{"new", flags.tapedeck}};
  if (!flags.baseline.empty()) builds.emplace_back("old", flags.baseline);

  std::printf(
      "cassette_load_bench: %d round(s); each starts `tapedeck replay --cassette F "
      "--listen 127.0.0.1:0 --timing instant`,\nasks for the last interaction, then "
      "the first, stops it, and times `tapedeck cassette ls F`.\n",
      flags.rounds);
  for (const auto& [label, bin] : builds) std::printf("  %s: %s\n", label.c_str(), bin.c_str());

  struct Row {
    size_t n;
    std::string build;
    Medians m;
  };
  std::vector<Row> rows;
  for (size_t n : flags.sizes) {
    const std::string path = dir + "/load-" + std::to_string(n) + ".jsonl.zst";
    std::uint64_t raw = 0;
    std::error_code ec;
    if (!flags.keep.empty() && std::filesystem::exists(path, ec)) {
      std::printf("\n%zu interactions: reusing %s\n", n, path.c_str());
    } else {
      const Micros gen_start = NowUs();
      if (Status g = Generate(path, n, &raw); !g.ok()) {
        std::fprintf(stderr, "cassette_load_bench: %s\n", g.message().c_str());
        return 1;
      }
      std::printf(
          "\n%zu interactions: %.1f MB of JSON Lines, %.2f MB compressed, written in "
          "%.1f s (%s)\n",
          n, static_cast<double>(raw) / 1e6,
          static_cast<double>(std::filesystem::file_size(path)) / 1e6,
          static_cast<double>(NowUs() - gen_start) / 1e6, path.c_str());
    }
    std::printf(
        "round build   listening   CPU used      VmHWM      VmRSS   first req  second req  "
        "cassette ls  load\n");
    std::vector<std::vector<Sample>> samples(builds.size());
    for (int round = 0; round < flags.rounds; ++round) {
      for (size_t k = 0; k < builds.size(); ++k) {
        const size_t b = (k + static_cast<size_t>(round)) % builds.size();  // alternate
        Result<Sample> s = RunOnce(builds[b].second, path, n);
        if (!s.ok()) {
          std::fprintf(stderr, "cassette_load_bench: %s, %zu interactions: %s\n",
                       builds[b].first.c_str(), n, s.status().message().c_str());
          return 1;
        }
        double load = 0;  // the machine's load average: what else competed for the 2 cores
        ::getloadavg(&load, 1);
        std::printf(
            "%-5d %-5s %9.1f ms %7.1f ms %6.1f MiB %6.1f MiB %8.2f ms %8.2f ms %9.1f ms %5.2f\n",
            round + 1, builds[b].first.c_str(), s->listening_ms, s->cpu_ms, s->hwm_mib, s->rss_mib,
            s->first_ms, s->second_ms, s->ls_ms, load);
        std::fflush(stdout);
        samples[b].push_back(*s);
      }
    }
    for (size_t b = 0; b < builds.size(); ++b) {
      rows.push_back({n, builds[b].first, MedianOf(samples[b])});
    }
  }
  std::printf(
      "\nmedians of %d round(s)\ninteractions build   listening   CPU used      VmHWM"
      "      VmRSS   first req  second req  cassette ls   listening per 1k\n",
      flags.rounds);
  for (const Row& r : rows) {
    std::printf(
        "%12zu %-5s %9.1f ms %7.1f ms %6.1f MiB %6.1f MiB %8.2f ms %8.2f ms %9.1f ms %11.1f ms\n",
        r.n, r.build.c_str(), r.m.listening_ms, r.m.cpu_ms, r.m.hwm_mib, r.m.rss_mib, r.m.first_ms,
        r.m.second_ms, r.m.ls_ms, r.m.listening_ms * 1000.0 / static_cast<double>(r.n));
  }
  return 0;
}

}  // namespace
}  // namespace td::bench

int main(int argc, char** argv) { return td::bench::Run(td::bench::ParseFlags(argc, argv)); }
