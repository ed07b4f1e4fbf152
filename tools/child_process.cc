// Spawning and reaping exec's child.
#include "tools/child_process.h"

#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace td::cli {
std::string EnvValue(const std::vector<std::string>& env, const std::string& name) {
  const std::string prefix = name + "=";
  for (const std::string& kv : env) {
    if (kv.compare(0, prefix.size(), prefix) == 0) return kv.substr(prefix.size());
  }
  return "";
}

namespace {

void SetVar(std::vector<std::string>* env, const std::string& name, const std::string& value,
            bool only_if_unset) {
  std::string prefix = name + "=";
  for (std::string& kv : *env) {
    if (kv.compare(0, prefix.size(), prefix) != 0) continue;
    if (only_if_unset && kv.size() > prefix.size()) return;
    kv = prefix + value;
    return;
  }
  env->push_back(prefix + value);
}

}  // namespace

ChildWorkspace WorkspaceOf(const std::vector<std::string>& env) {
  ChildWorkspace w;
  std::error_code ec;
  w.cwd = std::filesystem::current_path(ec).string();
  w.home = EnvValue(env, "HOME");
  w.user = EnvValue(env, "USER");
  if (w.user.empty()) w.user = EnvValue(env, "LOGNAME");
  w.tmp = EnvValue(env, "TMPDIR");
  if (w.tmp.empty()) w.tmp = "/tmp";
  return w;
}

std::vector<std::string> ChildEnvironment(const std::vector<std::string>& env,
                                          const std::string& base_url,
                                          const std::vector<std::string>& mounts,
                                          const ChildProxy* proxy) {
  std::vector<std::string> out = env;
  if (proxy != nullptr) {
    for (const char* name : {"HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"}) {
      SetVar(&out, name, proxy->proxy_url, false);
    }
    for (const char* name : {"NO_PROXY", "no_proxy"}) {
      SetVar(&out, name, "localhost,127.0.0.1,::1", false);
    }
    SetVar(&out, "NODE_USE_ENV_PROXY", "1", false);
    SetVar(&out, "NODE_EXTRA_CA_CERTS", proxy->ca_cert, false);
    for (const char* name :
         {"SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "AWS_CA_BUNDLE"}) {
      SetVar(&out, name, proxy->ca_bundle, false);
    }
  } else if (mounts.empty()) {
    SetVar(&out, "ANTHROPIC_BASE_URL", base_url, false);
    SetVar(&out, "OPENAI_BASE_URL", base_url + "/v1", false);
  } else {
    for (const std::string& mount : mounts) {
      if (mount == "anthropic") SetVar(&out, "ANTHROPIC_BASE_URL", base_url + "/anthropic", false);
      if (mount == "openai") SetVar(&out, "OPENAI_BASE_URL", base_url + "/openai/v1", false);
      if (mount == "gemini") SetVar(&out, "GOOGLE_GEMINI_BASE_URL", base_url + "/gemini", false);
    }
  }
  SetVar(&out, "ANTHROPIC_API_KEY", std::string(kPlaceholderKey), true);
  SetVar(&out, "OPENAI_API_KEY", std::string(kPlaceholderKey), true);
  return out;
}

Result<ChildProcess> ChildProcess::Spawn(const std::vector<std::string>& argv,
                                         const std::vector<std::string>& env,
                                         std::uint64_t open_file_limit) {
  if (argv.empty()) return InvalidArgumentError("exec: no command given after --");
  std::vector<char*> cargv;
  for (const std::string& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  std::vector<char*> cenv;
  for (const std::string& e : env) cenv.push_back(const_cast<char*>(e.c_str()));
  cenv.push_back(nullptr);

  // The child starts with default signal dispositions and an empty mask, whatever the proxy's
  // event loop did with SIGPIPE, SIGINT and SIGTERM.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t defaults;
  sigemptyset(&defaults);
  for (int s : {SIGPIPE, SIGINT, SIGTERM, SIGCHLD, SIGHUP, SIGXFSZ}) sigaddset(&defaults, s);
  sigset_t empty;
  sigemptyset(&empty);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setsigmask(&attr, &empty);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  // posix_spawn has no rlimit attribute: lower ours for the moment of the spawn (start-up, on
  // the main thread, before any traffic), then raise it again.
  rlimit ours{};
  const bool lower = open_file_limit != 0 && ::getrlimit(RLIMIT_NOFILE, &ours) == 0 &&
                     ours.rlim_cur > open_file_limit;
  if (lower) {
    rlimit child = ours;
    child.rlim_cur = static_cast<rlim_t>(open_file_limit);
    ::setrlimit(RLIMIT_NOFILE, &child);
  }
  pid_t pid = -1;
  int rc = posix_spawnp(&pid, cargv[0], nullptr, &attr, cargv.data(), cenv.data());
  posix_spawnattr_destroy(&attr);
  if (lower) ::setrlimit(RLIMIT_NOFILE, &ours);
  if (rc != 0) {
    std::string message = "exec: cannot start \"" + argv[0] + "\": " + std::strerror(rc);
    if (rc == ENOENT) return NotFoundError(message + " (not found in PATH)");
    return FailedPreconditionError(std::move(message));
  }
  return ChildProcess(pid);
}

bool ChildProcess::Poll(int* exit_code) {
  if (pid_ <= 0) return true;
  int status = 0;
  pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == 0) return false;
  if (r < 0) {
    *exit_code = 1;
    pid_ = -1;
    return true;
  }
  *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  pid_ = -1;
  return true;
}

int ChildProcess::Wait() {
  if (pid_ <= 0) return 1;
  int status = 0;
  pid_t r;
  do {
    r = waitpid(pid_, &status, 0);
  } while (r < 0 && errno == EINTR);
  pid_ = -1;
  if (r < 0) return 1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

void ChildProcess::Signal(int signo) const {
  if (pid_ > 0) kill(pid_, signo);
}

}  // namespace td::cli
