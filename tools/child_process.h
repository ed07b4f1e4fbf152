// File: tools/child_process.h
//
// `tapedeck exec`'s child: started with posix_spawnp and an environment that points the SDKs at
// the proxy, waited for without blocking the event loop.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "cassette/base/status.h"

namespace td::cli {

// The value of `name` in `env` ("NAME=VALUE" entries), or "".
std::string EnvValue(const std::vector<std::string>& env, const std::string& name);

// `exec --forward-proxy`: the child reaches the APIs through tapedeck as its HTTP(S) proxy.
struct ChildProxy {
  std::string proxy_url;  // "http://127.0.0.1:PORT"
  std::string ca_cert;    // tapedeck's CA certificate
  std::string ca_bundle;  // the system's CAs plus tapedeck's
};

// The child's environment: `env` plus what points it at tapedeck, replacing any values there.
// ANTHROPIC_API_KEY and OPENAI_API_KEY are set to a placeholder where unset or empty, in every
// mode: the SDKs refuse to start without a key, a replay needs none, and when recording a real
// key set in `env` passes through (an upstream that needs one answers 401 to the placeholder).
// Base-URL mode (`proxy` null), without `mounts` (one unnamed upstream):
// ANTHROPIC_BASE_URL=`base_url`, OPENAI_BASE_URL=`base_url`/v1. With mounts, for each that
// exists: ANTHROPIC_BASE_URL=`base_url`/anthropic, OPENAI_BASE_URL=`base_url`/openai/v1,
// GOOGLE_GEMINI_BASE_URL=`base_url`/gemini.
// Forward-proxy mode (`proxy` set): no base URL is touched; HTTPS_PROXY and HTTP_PROXY (and
// their lower-case forms, which curl reads) name the proxy, NO_PROXY the loopback addresses,
// NODE_USE_ENV_PROXY=1 makes Node's own fetch use them (Node 24+), NODE_EXTRA_CA_CERTS adds
// tapedeck's CA, and SSL_CERT_FILE, REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE and AWS_CA_BUNDLE (the
// AWS SDKs', for Bedrock) name the bundle.
std::vector<std::string> ChildEnvironment(const std::vector<std::string>& env,
                                          const std::string& base_url,
                                          const std::vector<std::string>& mounts = {},
                                          const ChildProxy* proxy = nullptr);

// What exec's command runs in, as a cassette's header records it ("recorded_by"."workspace"):
// the working directory (tapedeck's own: the command inherits it), HOME, the user name (USER,
// else LOGNAME) and the temp directory (TMPDIR, else /tmp), read from `env` ("NAME=VALUE").
// A part that cannot be known is "".
struct ChildWorkspace {
  std::string cwd, home, user, tmp;
};
ChildWorkspace WorkspaceOf(const std::vector<std::string>& env);

// The placeholder key exec sets: obviously fake, and not secret-shaped.
inline constexpr std::string_view kPlaceholderKey = "tapedeck-placeholder-key";

class ChildProcess {
 public:
  // Starts `argv[0]` (searched in PATH) with `argv` and `env`. Errors name the command:
  // kNotFound when there is no such command, kFailedPrecondition when it cannot be run.
  // `open_file_limit`, when not 0, is the soft RLIMIT_NOFILE the child starts with: the one
  // the user's shell gave tapedeck before its event loop raised its own
  // (EventLoop::OriginalOpenFileLimit()), so the command runs as it would without tapedeck.
  static Result<ChildProcess> Spawn(const std::vector<std::string>& argv,
                                    const std::vector<std::string>& env,
                                    std::uint64_t open_file_limit = 0);
  pid_t pid() const { return pid_; }
  // Non-blocking: true once the child has exited; *exit_code is its status, or 128 + signal.
  bool Poll(int* exit_code);
  // Blocks until the child exits; returns its status, or 128 + signal.
  int Wait();
  // Sends `signo` to the child.
  void Signal(int signo) const;

 private:
  explicit ChildProcess(pid_t pid) : pid_(pid) {}
  pid_t pid_ = -1;
};

}  // namespace td::cli
