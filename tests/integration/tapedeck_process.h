// File: tests/integration/tapedeck_process.h
//
// Runs the real `tapedeck` binary for integration tests: spawned with its stderr on a pipe, so a
// test can wait for the "tapedeck listening on http://HOST:PORT" line, send signals, and wait for
// the exit status with a deadline. Waiting for exit means reading stderr to EOF (the pipe closes
// when the process and its children are gone), then reaping: no sleeps.
#pragma once

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <string>
#include <vector>

namespace td::testing {

inline std::string TapedeckBinary() { return std::string(TD_BINARY_DIR) + "/tools/tapedeck"; }

class TapedeckProcess {
 public:
  // `cwd`, when not empty, is the folder tapedeck starts in (exec's command inherits it).
  explicit TapedeckProcess(std::vector<std::string> args, std::vector<std::string> extra_env = {},
                           const std::string& cwd = "")
      : args_(std::move(args)) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    if (!cwd.empty()) posix_spawn_file_actions_addchdir_np(&actions, cwd.c_str());
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDERR_FILENO);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    std::vector<std::string> argv_s = {TapedeckBinary()};
    argv_s.insert(argv_s.end(), args_.begin(), args_.end());
    std::vector<char*> argv;
    for (auto& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<std::string> env_s;
    // `extra_env` replaces a variable of the same name rather than adding a second one (which
    // lookups that take the first would never see).
    auto overridden = [&](std::string_view kv) {
      const std::string_view name = kv.substr(0, kv.find('='));
      for (const std::string& extra : extra_env) {
        if (extra.compare(0, name.size(), name) == 0 && extra.size() > name.size() &&
            extra[name.size()] == '=') {
          return true;
        }
      }
      return false;
    };
    for (char** e = environ; *e != nullptr; ++e) {
      // Settings from the developer's shell must not leak into tests.
      if (std::strncmp(*e, "TAPEDECK_", 9) != 0 && !overridden(*e)) env_s.emplace_back(*e);
    }
    env_s.insert(env_s.end(), extra_env.begin(), extra_env.end());
    std::vector<char*> envp;
    for (auto& e : env_s) envp.push_back(e.data());
    envp.push_back(nullptr);
    int rc = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    close(fds[1]);
    err_fd_ = fds[0];
    if (rc != 0) pid_ = -1;
  }

  ~TapedeckProcess() {
    if (pid_ > 0 && !exited_) {
      kill(pid_, SIGKILL);
      int status;
      waitpid(pid_, &status, 0);
    }
    if (err_fd_ >= 0) close(err_fd_);
  }

  TapedeckProcess(const TapedeckProcess&) = delete;
  TapedeckProcess& operator=(const TapedeckProcess&) = delete;

  // Waits for the listening line and parses the port from it.
  [[nodiscard]] ::testing::AssertionResult WaitListening(
      std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    const std::string marker = "tapedeck listening on http://";
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      size_t at = stderr_.find(marker);
      if (at != std::string::npos) {
        size_t eol = stderr_.find('\n', at);
        if (eol != std::string::npos) {
          std::string hostport = stderr_.substr(at + marker.size(), eol - at - marker.size());
          url_ = "http://" + hostport;
          port_ = static_cast<uint16_t>(std::stoi(hostport.substr(hostport.rfind(':') + 1)));
          return ::testing::AssertionSuccess();
        }
      }
      if (!ReadSome(deadline)) {
        return ::testing::AssertionFailure() << "no listening line; stderr so far:\n" << stderr_;
      }
    }
  }

  // Waits for the process to exit; *code is its exit status (or 128 + signal).
  [[nodiscard]] ::testing::AssertionResult WaitExit(
      int* code, std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!eof_) {
      if (!ReadSome(deadline) && !eof_) {
        return ::testing::AssertionFailure() << "tapedeck did not exit; stderr:\n" << stderr_;
      }
    }
    int status = 0;
    if (waitpid(pid_, &status, 0) != pid_) return ::testing::AssertionFailure() << "waitpid";
    exited_ = true;
    *code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return ::testing::AssertionSuccess();
  }

  // Waits until stderr contains `text`.
  [[nodiscard]] ::testing::AssertionResult WaitForStderr(
      const std::string& text, std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (stderr_.find(text) == std::string::npos) {
      if (!ReadSome(deadline)) {
        return ::testing::AssertionFailure() << "no \"" << text << "\" in stderr:\n" << stderr_;
      }
    }
    return ::testing::AssertionSuccess();
  }

  void Signal(int signo) const {
    if (pid_ > 0 && !exited_) kill(pid_, signo);
  }
  bool started() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  uint16_t port() const { return port_; }
  const std::string& url() const { return url_; }
  const std::string& stderr_text() const { return stderr_; }

 private:
  // Reads what stderr has; false on EOF or when the deadline passes.
  bool ReadSome(std::chrono::steady_clock::time_point deadline) {
    if (eof_ || err_fd_ < 0) return false;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{err_fd_, POLLIN, 0};
    int r = poll(&p, 1, static_cast<int>(left.count()));
    if (r <= 0) return false;
    char buf[4096];
    ssize_t n = read(err_fd_, buf, sizeof buf);
    if (n <= 0) {
      eof_ = true;
      return false;
    }
    stderr_.append(buf, static_cast<size_t>(n));
    return true;
  }

  std::vector<std::string> args_;
  pid_t pid_ = -1;
  int err_fd_ = -1;
  bool eof_ = false;
  bool exited_ = false;
  std::string stderr_;
  std::string url_;
  uint16_t port_ = 0;
};

}  // namespace td::testing
