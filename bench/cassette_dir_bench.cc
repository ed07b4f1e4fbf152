// File: bench/cassette_dir_bench.cc
//
// What a --cassette-dir of many cassettes costs `tapedeck replay` compared with a directory of 1:
// time from spawn to the listening line, the first request (a hit in a cassette no request has
// touched), a request to a second untouched cassette, and that request again (loaded by then:
// what a request costs without the load). Rounds alternate the two directories, and the medians
// and their ratios come from the same run; `tapedeck --version` gives the floor of a start.
// Not a test: it prints figures.
//
// Usage: cassette_dir_bench [--cassettes N (5000)] [--rounds N (21)] [--tapedeck PATH]
// Exit status: 0 when every request got its recorded answer, 1 when one did not or tapedeck
// misbehaved (or on SIGINT/SIGTERM, after stopping tapedeck and removing the temporary folder),
// 2 on bad flags.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
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
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "bench/soak_http.h"
#include "bench/soak_process.h"
#include "cassette/base/unique_fd.h"
#include "cassette/codec.h"
#include "cassette/model.h"

#ifndef TD_BENCH_DEFAULT_TAPEDECK
#define TD_BENCH_DEFAULT_TAPEDECK "tools/tapedeck"
#endif

namespace td::bench {
namespace {

using soak::NowUs;
using soak::TapedeckProcess;

constexpr Micros kRequestTimeoutUs = 10000000;

volatile sig_atomic_t g_interrupted = 0;
void OnSignal(int) { g_interrupted = 1; }

struct Flags {
  int cassettes = 5000;
  int rounds = 21;
  std::string tapedeck = TD_BENCH_DEFAULT_TAPEDECK;
};

[[noreturn]] void Usage(const char* argv0, const std::string& problem) {
  std::fprintf(stderr, "%s: %s\nusage: %s [--cassettes N] [--rounds N] [--tapedeck PATH]\n", argv0,
               problem.c_str(), argv0);
  std::exit(2);
}

Flags ParseFlags(int argc, char** argv) {
  Flags f;
  for (int i = 1; i < argc; ++i) {
    const std::string name = argv[i];
    if (i + 1 >= argc) Usage(argv[0], name + " needs a value");
    const std::string value = argv[++i];
    auto number = [&](long min) {
      char* end = nullptr;
      const long n = std::strtol(value.c_str(), &end, 10);
      if (end == value.c_str() || *end != '\0' || n < min || n > 1000000) {
        Usage(argv[0], name + ": expected a number from " + std::to_string(min) + ", not " + value);
      }
      return static_cast<int>(n);
    };
    if (name == "--cassettes") {
      f.cassettes = number(2);  // the second request needs a second cassette
    } else if (name == "--rounds") {
      f.rounds = number(1);
    } else if (name == "--tapedeck") {
      f.tapedeck = value;
    } else {
      Usage(argv[0], "unknown flag " + name);
    }
  }
  return f;
}

// A folder under $TMPDIR (or /tmp), removed with everything in it when this goes away.
class TempDir {
 public:
  static Result<TempDir> Create() {
    const char* base = std::getenv("TMPDIR");
    std::string pattern = std::string(base && *base ? base : "/tmp") + "/cassette-dir-bench-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) return IoErrno("mkdtemp " + pattern, errno);
    return TempDir(std::move(pattern));
  }
  TempDir(TempDir&& other) noexcept : path_(std::exchange(other.path_, "")) {}
  TempDir& operator=(TempDir&&) = delete;
  ~TempDir() {
    if (path_.empty()) return;
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
    if (ec) {
      std::fprintf(stderr, "cassette_dir_bench: cannot remove %s: %s\n", path_.c_str(),
                   ec.message().c_str());
    }
  }
  const std::string& path() const { return path_; }

 private:
  explicit TempDir(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

std::string CassetteName(int i) {
  char name[16];
  std::snprintf(name, sizeof name, "t%05d", i);
  return name;
}

// The request a test named `name` sends, and the answer recorded for it: each cassette is
// different, so a hit proves the right file was loaded.
std::string RequestBody(const std::string& name) {
  return R"({"model":"claude-bench-1","max_tokens":64,"messages":[{"role":"user","content":)"
         R"("Which cassette is this? )" +
         name + R"("}]})";
}

std::string ResponseBody(const std::string& name) {
  return R"({"id":"msg_bench_)" + name +
         R"(","type":"message","role":"assistant","model":"claude-bench-1","content":[{"type":)"
         R"("text","text":"This is cassette )" +
         name +
         R"(."}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":12,)"
         R"("output_tokens":6}})";
}

cassette::Cassette MakeCassette(const std::string& name) {
  cassette::Interaction it;
  it.recorded_at_us = 1795249953123456;  // 2026-11-21T08:32:33Z
  it.request.method = "POST";
  it.request.path = "/v1/messages";
  it.request.headers = {{"content-type", "application/json"}, {"anthropic-version", "2023-06-01"}};
  it.request.body.bytes = RequestBody(name);
  it.response.status = 200;
  it.response.headers = {{"content-type", "application/json"}};
  it.response.body.bytes = ResponseBody(name);
  it.timing = {900, 1000};
  cassette::Cassette c;
  c.created_at_us = it.recorded_at_us;
  c.interactions.push_back(std::move(it));
  return c;
}

// Writes DIR/NAME.jsonl.zst with tapedeck's own writer (zstd, atomic, fsync'd).
Status WriteOne(const std::string& dir, const std::string& name) {
  return cassette::WriteCassetteAtomic(dir + "/" + name + ".jsonl.zst", MakeCassette(name), {});
}

// One request on a new connection: connect, send, read the whole answer. Returns the time from
// before connect() to the last byte, or an error saying what came back instead of the recorded
// 200 for `name`.
Result<Micros> Request(uint16_t port, const std::string& name) {
  const std::string body = RequestBody(name);
  const std::string request = "POST /cassette/" + name +
                              "/v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                              "content-type: application/json\r\nanthropic-version: 2023-06-01\r\n"
                              "connection: close\r\ncontent-length: " +
                              std::to_string(body.size()) + "\r\n\r\n" + body;
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
  std::optional<size_t> total;  // head + body, once the head is in
  while (!total || in.size() < *total) {
    const Micros left = start + kRequestTimeoutUs - NowUs();
    pollfd pfd{fd.get(), POLLIN, 0};
    const int ready = left > 0 ? ::poll(&pfd, 1, static_cast<int>(left / 1000) + 1) : 0;
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return IoError("no complete answer for " + name + " within 10 s: " + in);
    char buf[16384];
    const ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return IoErrno("read the answer", errno);
    if (n == 0) break;  // connection: close, and no content-length
    in.append(buf, static_cast<size_t>(n));
    const size_t head_end = in.find("\r\n\r\n");
    if (!total && head_end != std::string::npos) {
      std::optional<std::string_view> length =
          soak::HeadHeader(std::string_view(in).substr(0, head_end + 2), "content-length");
      if (length) total = head_end + 4 + std::strtoul(std::string(*length).c_str(), nullptr, 10);
    }
  }
  const Micros elapsed = NowUs() - start;
  if (in.compare(0, 12, "HTTP/1.1 200") != 0 || !in.ends_with(ResponseBody(name))) {
    return IoError("cassette " + name + ": expected its recorded 200, got:\n" + in);
  }
  return elapsed;
}

// One start of tapedeck on a directory: the times, and the RSS after the requests.
struct Sample {
  Micros listening_us = 0;
  Micros first_us = 0;
  Micros second_us = 0;
  Micros again_us = 0;  // the second cassette once more, now loaded: a request's own cost
  double rss_mib = 0;
};

// Starts `tapedeck replay --cassette-dir DIR`, asks for `first`, then (after `before_second`,
// if given) for `second` twice, and stops it.
Result<Sample> RunOnce(const Flags& flags, const std::string& dir, const std::string& first,
                       const std::string& second, const std::function<Status()>& before_second) {
  Sample s;
  const Micros start = NowUs();
  Result<std::unique_ptr<TapedeckProcess>> proc = TapedeckProcess::Start(
      flags.tapedeck,
      {"replay", "--cassette-dir", dir, "--listen", "127.0.0.1:0", "--timing", "instant"});
  if (!proc.ok()) return proc.status();
  s.listening_us = NowUs() - start;
  Result<Micros> a = Request((*proc)->port(), first);
  if (!a.ok()) return a.status();
  s.first_us = *a;
  if (before_second) {
    Status ready = before_second();
    if (!ready.ok()) return ready;
  }
  Result<Micros> b = Request((*proc)->port(), second);
  if (!b.ok()) return b.status();
  s.second_us = *b;
  Result<Micros> c = Request((*proc)->port(), second);
  if (!c.ok()) return c.status();
  s.again_us = *c;
  if (std::optional<soak::ProcSample> sample = (*proc)->Sample()) s.rss_mib = sample->rss_mib;
  const int status = (*proc)->Stop(10);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return IoError("tapedeck did not exit 0 on SIGTERM (wait status " + std::to_string(status) +
                   ")");
  }
  return s;
}

// Spawn to exit of `tapedeck --version`: what starting the binary costs before it does anything
// (exec, dynamic linking, static initialisers), the floor under the time to listening.
Result<Micros> VersionRun(const std::string& bin) {
  const Micros start = NowUs();
  const pid_t pid = ::fork();
  if (pid < 0) return IoErrno("fork", errno);
  if (pid == 0) {
    const int null = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (null >= 0) ::dup2(null, 1);
    ::execl(bin.c_str(), bin.c_str(), "--version", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return IoErrno("waitpid", errno);
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return IoError(bin + " --version failed (wait status " + std::to_string(status) + ")");
  }
  return NowUs() - start;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double Ms(Micros us) { return static_cast<double>(us) / 1000.0; }

int Run(const Flags& flags) {
  Result<TempDir> tmp = TempDir::Create();
  if (!tmp.ok()) {
    std::fprintf(stderr, "cassette_dir_bench: %s\n", tmp.status().message().c_str());
    return 1;
  }
  const std::string one_dir = tmp->path() + "/one";
  const std::string many_dir = tmp->path() + "/many";
  const std::string scratch_dir = tmp->path() + "/scratch";
  for (const std::string& d : {one_dir, many_dir, scratch_dir}) {
    std::filesystem::create_directories(d);
  }

  // The directory of N: t00000 .. t(N-1). The directory of 1: t00000 alone.
  const Micros gen_start = NowUs();
  for (int i = 0; i < flags.cassettes && !g_interrupted; ++i) {
    if (Status w = WriteOne(many_dir, CassetteName(i)); !w.ok()) {
      std::fprintf(stderr, "cassette_dir_bench: %s\n", w.message().c_str());
      return 1;
    }
  }
  if (Status w = WriteOne(one_dir, CassetteName(0)); !w.ok()) {
    std::fprintf(stderr, "cassette_dir_bench: %s\n", w.message().c_str());
    return 1;
  }
  const Micros gen_us = NowUs() - gen_start;
  if (g_interrupted) {
    std::fprintf(stderr, "cassette_dir_bench: interrupted\n");
    return 1;
  }
  uintmax_t bytes = 0;
  for (const auto& entry : std::filesystem::directory_iterator(many_dir)) {
    bytes += entry.file_size();
  }
  std::printf(
      "cassette_dir_bench: %d cassettes of one interaction (%.0f bytes each on average) "
      "written in %.1f s with WriteCassetteAtomic, under %s\n",
      flags.cassettes, static_cast<double>(bytes) / flags.cassettes,
      static_cast<double>(gen_us) / 1e6, tmp->path().c_str());
  std::printf(
      "%d rounds; each starts `tapedeck replay --cassette-dir DIR --timing instant` once per "
      "directory (order alternating), asks for a first cassette, then twice for a second one.\n"
      "The directory of 1 gets its second cassette written just before the second request (the\n"
      "directory of %d: the same write in another folder).\n\n",
      flags.rounds, flags.cassettes);
  std::printf("round  dir    listening   first hit   second cassette   loaded again   RSS after\n");

  // [0]: the directory of 1, [1]: of N.
  std::vector<double> listen[2], first[2], second[2], again[2], rss[2];
  std::vector<double> version;
  const std::string second_one = CassetteName(1);
  for (int round = 0; round < flags.rounds && !g_interrupted; ++round) {
    Result<Micros> v = VersionRun(flags.tapedeck);
    if (!v.ok()) {
      std::fprintf(stderr, "cassette_dir_bench: %s\n", v.status().message().c_str());
      return 1;
    }
    version.push_back(Ms(*v));
    for (int k = 0; k < 2 && !g_interrupted; ++k) {
      const int which = (round + k) % 2;  // alternate which directory goes first
      Result<Sample> s = [&]() -> Result<Sample> {
        if (which == 0) {
          Result<Sample> r = RunOnce(flags, one_dir, CassetteName(0), second_one,
                                     [&] { return WriteOne(one_dir, second_one); });
          std::error_code ec;
          std::filesystem::remove(one_dir + "/" + second_one + ".jsonl.zst", ec);
          return r;
        }
        // Different untouched cassettes every round, spread over the folder. The same write
        // (and fsync) as the directory of 1 before the second request, elsewhere, so that both
        // ask with the machine in the same state (a core idle in the fsync wakes late).
        const int a = (round * 997 + 13) % flags.cassettes;
        const int b = (a + flags.cassettes / 2) % flags.cassettes;
        Result<Sample> r = RunOnce(flags, many_dir, CassetteName(a), CassetteName(b),
                                   [&] { return WriteOne(scratch_dir, second_one); });
        std::error_code ec;
        std::filesystem::remove(scratch_dir + "/" + second_one + ".jsonl.zst", ec);
        return r;
      }();
      if (!s.ok()) {
        std::fprintf(stderr, "cassette_dir_bench: round %d, directory of %d: %s\n", round + 1,
                     which == 0 ? 1 : flags.cassettes, s.status().message().c_str());
        return 1;
      }
      listen[which].push_back(Ms(s->listening_us));
      first[which].push_back(Ms(s->first_us));
      second[which].push_back(Ms(s->second_us));
      again[which].push_back(Ms(s->again_us));
      rss[which].push_back(s->rss_mib);
      std::printf("%-6d %-6d %8.2f ms  %7.2f ms  %12.2f ms  %9.2f ms  %8.1f MiB\n", round + 1,
                  which == 0 ? 1 : flags.cassettes, Ms(s->listening_us), Ms(s->first_us),
                  Ms(s->second_us), Ms(s->again_us), s->rss_mib);
      std::fflush(stdout);
    }
  }
  if (g_interrupted) {
    std::fprintf(stderr, "cassette_dir_bench: interrupted\n");
    return 1;
  }
  std::printf("\nmedians over %d rounds       dir of 1     dir of %d   %d/1\n", flags.rounds,
              flags.cassettes, flags.cassettes);
  auto row = [&](const char* what, std::vector<double>* v, const char* unit) {
    const double one = Median(v[0]);
    const double many = Median(v[1]);
    std::printf("%-28s %8.2f %-3s  %8.2f %-3s  %5.2f\n", what, one, unit, many, unit, many / one);
  };
  row("spawn to listening line", listen, "ms");
  row("first request (a hit)", first, "ms");
  row("second, untouched cassette", second, "ms");
  row("second again, loaded", again, "ms");
  row("RSS after the requests", rss, "MiB");
  std::printf("tapedeck --version, spawn to exit: median %.2f ms (the floor under listening)\n",
              Median(version));
  return 0;
}

}  // namespace
}  // namespace td::bench

int main(int argc, char** argv) {
  const td::bench::Flags flags = td::bench::ParseFlags(argc, argv);
  struct sigaction sa {};
  sa.sa_handler = td::bench::OnSignal;
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
  return td::bench::Run(flags);
}
