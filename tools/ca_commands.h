// File: tools/ca_commands.h
//
// `tapedeck ca init|path` and what forward-proxy mode needs of the local CA: where it lives
// (--ca-dir, else $XDG_DATA_HOME/tapedeck/ca, else ~/.local/share/tapedeck/ca), creating it on
// first use, and the trust bundle (the system's CAs plus tapedeck's) that tools replacing their
// whole CA store with one file (Python's SSL_CERT_FILE, requests, curl) are pointed at. The key
// and certificate themselves are made by proxy/local_ca.h.
#pragma once

#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "cassette/base/status.h"
#include "tools/config.h"

namespace td::cli {

// --ca-dir, or the default under XDG_DATA_HOME or HOME (from `env`, "NAME=VALUE").
// kInvalidArgument when there is neither.
Result<std::string> CaDirOf(const Config& config, const std::vector<std::string>& env);

struct TrustFiles {
  std::string ca_cert;   // the CA certificate alone (NODE_EXTRA_CA_CERTS adds it)
  std::string bundle;    // the system's CAs, then tapedeck's (SSL_CERT_FILE, CURL_CA_BUNDLE, ...)
  bool created = false;  // the CA was made just now
};
// The CA in `dir`, made first when it does not exist yet (a log line says where, and how to
// trust it), and the bundle rewritten (atomically) from the current system store.
Result<TrustFiles> EnsureLocalCa(const std::string& dir);

// `verb` is init or path. Returns an exit code (tools/exit_codes.h).
int RunCaCommand(std::string_view verb, const Config& config, const std::vector<std::string>& env,
                 std::ostream& out, std::ostream& err);

}  // namespace td::cli
