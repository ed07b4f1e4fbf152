// File: bench/soak_process.cc
//
// TapedeckProcess: fork and exec (the child in its own process group, so a Ctrl-C at the
// terminal reaches the bench, which then stops tapedeck itself), stderr on a pipe, and /proc.
#include "bench/soak_process.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "bench/soak_http.h"

namespace td::bench::soak {
namespace {

constexpr char kListening[] = "tapedeck listening on http://";
constexpr int kEchoedLines = 20;

// Echoes `line` (without its newline) to our stderr, prefixed.
void Echo(std::string_view line) {
  std::fprintf(stderr, "tapedeck: %.*s\n", static_cast<int>(line.size()), line.data());
}

// utime + stime from a /proc stat file, in seconds; 0 when unreadable.
double CpuSecondsIn(const std::string& path) {
  std::ifstream stat(path);
  std::string all((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  const size_t paren = all.rfind(')');
  if (paren == std::string::npos || paren + 2 > all.size()) return 0;
  // After the command name: state (field 3) ... utime (14), stime (15).
  std::istringstream fields(all.substr(paren + 2));
  std::string skip;
  for (int f = 3; f < 14; ++f) fields >> skip;
  double utime = 0, stime = 0;
  fields >> utime >> stime;
  return (utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

}  // namespace

Result<std::unique_ptr<TapedeckProcess>> TapedeckProcess::Start(
    const std::string& bin, const std::vector<std::string>& args, int timeout_s) {
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) return IoErrno("pipe", errno);
  UniqueFd read_end(pipefd[0]), write_end(pipefd[1]);
  std::vector<std::string> argv_strings = {bin};
  argv_strings.insert(argv_strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_strings) argv.push_back(a.data());
  argv.push_back(nullptr);

  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) return IoErrno("fork", errno);
  if (pid == 0) {
    // Only async-signal-safe calls until exec.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    ::setpgid(0, 0);
    ::dup2(pipefd[1], 2);
    ::execv(bin.c_str(), argv.data());
    static constexpr char kFailed[] = "exec failed\n";
    [[maybe_unused]] ssize_t n = ::write(2, kFailed, sizeof kFailed - 1);
    ::_exit(127);
  }
  write_end.Reset();
  std::unique_ptr<TapedeckProcess> p(new TapedeckProcess());
  p->pid_ = pid;
  p->stderr_ = std::move(read_end);

  std::string err;
  const Micros deadline = NowUs() + Micros{timeout_s} * 1000000;
  size_t line_end = std::string::npos;
  size_t at = std::string::npos;
  while (at == std::string::npos || line_end == std::string::npos) {
    const Micros left = deadline - NowUs();
    pollfd pfd{p->stderr_.get(), POLLIN, 0};
    const int ready = left > 0 ? ::poll(&pfd, 1, static_cast<int>(left / 1000) + 1) : 0;
    char buf[4096];
    const ssize_t n = ready > 0 ? ::read(p->stderr_.get(), buf, sizeof buf) : 0;
    if (n <= 0) {
      p->Stop(5);
      return IoError(bin + " did not say it was listening" +
                     (ready == 0 ? " within " + std::to_string(timeout_s) + " s" : std::string()) +
                     "; it printed:\n" + err);
    }
    err.append(buf, static_cast<size_t>(n));
    at = err.find(kListening);
    if (at != std::string::npos) line_end = err.find('\n', at);
  }
  const size_t colon = err.rfind(':', line_end);
  p->port_ = static_cast<uint16_t>(std::atoi(err.c_str() + colon + 1));
  if (colon < at || p->port_ == 0) {
    p->Stop(5);
    return IoError("cannot read the port in tapedeck's line: " + err.substr(at, line_end - at));
  }
  // What came before the listening line (warnings) and after it in the same read.
  std::string rest = err.substr(0, at) + err.substr(line_end + 1);
  p->drain_ = std::thread([proc = p.get(), rest = std::move(rest)]() mutable {
    std::string pending = std::move(rest);
    while (true) {
      size_t nl;
      while ((nl = pending.find('\n')) != std::string::npos) {
        if (proc->stderr_lines_.fetch_add(1) < kEchoedLines) {
          Echo(std::string_view(pending).substr(0, nl));
        }
        pending.erase(0, nl + 1);
      }
      char buf[4096];
      const ssize_t n = ::read(proc->stderr_.get(), buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      pending.append(buf, static_cast<size_t>(n));
    }
    if (!pending.empty() && proc->stderr_lines_.fetch_add(1) < kEchoedLines) Echo(pending);
  });
  return p;
}

TapedeckProcess::~TapedeckProcess() { Stop(10); }

std::optional<ProcSample> TapedeckProcess::Sample() const {
  if (reaped_) return std::nullopt;
  const std::string dir = "/proc/" + std::to_string(pid_);
  ProcSample s;
  bool have_rss = false;
  std::ifstream status(dir + "/status");
  std::string line;
  while (std::getline(status, line)) {
    std::istringstream fields(line);
    std::string name;
    double value = 0;
    fields >> name >> value;
    if (name == "VmRSS:") {
      s.rss_mib = value / 1024;
      have_rss = true;
    } else if (name == "VmHWM:") {
      s.hwm_mib = value / 1024;
    } else if (name == "Threads:") {
      s.threads = static_cast<int>(value);
    }
  }
  if (!have_rss) return std::nullopt;  // gone, or a zombie
  if (DIR* d = ::opendir((dir + "/fd").c_str())) {
    while (dirent* e = ::readdir(d)) {
      if (e->d_name[0] != '.') ++s.fds;
    }
    ::closedir(d);
  }
  s.cpu_seconds = CpuSecondsIn(dir + "/stat");
  s.main_cpu_seconds = CpuSecondsIn(dir + "/task/" + std::to_string(pid_) + "/stat");
  return s;
}

int TapedeckProcess::Stop(int grace_s) {
  if (!reaped_ && pid_ > 0) {
    ::kill(pid_, SIGTERM);
    const Micros deadline = NowUs() + Micros{grace_s} * 1000000;
    while (true) {
      const pid_t r = ::waitpid(pid_, &status_, WNOHANG);
      if (r == pid_ || (r < 0 && errno != EINTR)) break;
      if (NowUs() >= deadline) {
        std::fprintf(stderr, "soak: tapedeck did not exit %d s after SIGTERM; killing it\n",
                     grace_s);
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status_, 0);
        break;
      }
      timespec ts{0, 20 * 1000 * 1000};
      nanosleep(&ts, nullptr);
    }
    reaped_ = true;
  }
  if (drain_.joinable()) drain_.join();
  return status_;
}

}  // namespace td::bench::soak
