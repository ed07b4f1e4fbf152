// `tapedeck ca init|path`, the CA's folder, first-use creation and the trust bundle.
#include "tools/ca_commands.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "cassette/base/log.h"
#include "proxy/local_ca.h"
#include "tools/child_process.h"
#include "tools/exit_codes.h"

namespace td::cli {
namespace {

// Where the distributions keep the system's trusted CAs as one PEM file.
constexpr const char* kSystemBundles[] = {
    "/etc/ssl/certs/ca-certificates.crt",  // Debian, Ubuntu, Alpine, Arch
    "/etc/pki/tls/certs/ca-bundle.crt",    // Fedora, RHEL
    "/etc/ssl/ca-bundle.pem",              // openSUSE
    "/etc/ssl/cert.pem",                   // macOS, BSDs
};

Result<std::string> ReadWhole(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return IoError(path + ": cannot read it");
  std::ostringstream text;
  text << in.rdbuf();
  if (!in.good() && !in.eof()) return IoError(path + ": read failed");
  return text.str();
}

// DIR/tapedeck-ca-bundle.pem: the system's CAs, then tapedeck's, replaced atomically.
Result<std::string> WriteBundle(const proxy::CaFiles& files) {
  Result<std::string> ca = ReadWhole(files.cert);
  if (!ca.ok()) return ca.status();
  std::string bundle;
  for (const char* system : kSystemBundles) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(system, ec)) continue;
    Result<std::string> text = ReadWhole(system);
    if (!text.ok()) continue;
    bundle = std::move(*text);
    if (!bundle.empty() && bundle.back() != '\n') bundle += '\n';
    break;
  }
  if (bundle.empty()) {
    TD_LOG(kWarn) << "no system CA bundle found (looked in " << kSystemBundles[0]
                  << " and others): the trust bundle holds tapedeck's CA alone, so tunnelled "
                     "hosts will not verify for tools that use it";
  }
  bundle += *ca;
  const std::string path = files.dir + "/tapedeck-ca-bundle.pem";
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << bundle;
    out.flush();
    if (!out) {
      std::filesystem::remove(tmp);
      return IoError(tmp + ": cannot write the trust bundle");
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::filesystem::remove(tmp, ec);
    return IoError(path + ": " + ec.message());
  }
  return path;
}

// How to trust the CA, for `ca init` and the log line of first use.
std::string TrustInstructions(const TrustFiles& files) {
  std::ostringstream out;
  out << "Trust it where tests run (tapedeck exec --forward-proxy sets all of these for its "
         "command):\n"
      << "  Node.js:  NODE_EXTRA_CA_CERTS=" << files.ca_cert << "\n"
      << "  Python:   SSL_CERT_FILE=" << files.bundle << "\n"
      << "            REQUESTS_CA_BUNDLE=" << files.bundle << "\n"
      << "  curl:     CURL_CA_BUNDLE=" << files.bundle << " (or --cacert " << files.ca_cert << ")\n"
      << "  system:   sudo cp " << files.ca_cert
      << " /usr/local/share/ca-certificates/tapedeck-ca.crt && sudo update-ca-certificates\n"
      << "            (Debian and Ubuntu; every program on the machine then trusts it)\n"
      << "The bundle is the system's CAs plus tapedeck's, for tools that read one file instead "
         "of the system store.\n";
  return out.str();
}

}  // namespace

Result<std::string> CaDirOf(const Config& config, const std::vector<std::string>& env) {
  if (!config.Get("ca-dir").empty()) return config.Get("ca-dir");
  const std::string xdg = EnvValue(env, "XDG_DATA_HOME");
  if (!xdg.empty() && xdg.front() == '/') return xdg + "/tapedeck/ca";
  const std::string home = EnvValue(env, "HOME");
  if (!home.empty()) return home + "/.local/share/tapedeck/ca";
  return InvalidArgumentError(
      "no folder for tapedeck's local CA: set --ca-dir DIR (or XDG_DATA_HOME or HOME)");
}

Result<TrustFiles> EnsureLocalCa(const std::string& dir) {
  const proxy::CaFiles files = proxy::CaFilesIn(dir);
  TrustFiles out;
  out.ca_cert = files.cert;
  std::error_code ec;
  if (!std::filesystem::exists(files.cert, ec) && !std::filesystem::exists(files.key, ec)) {
    Status created = proxy::CreateLocalCa(dir);
    // Another tapedeck starting at the same moment may have won the race: use its CA.
    if (!created.ok() && !std::filesystem::exists(files.cert, ec)) return created;
    out.created = created.ok();
  }
  // Refused here, before anything listens: the server would refuse it too, later.
  Status usable = proxy::CheckLocalCa(files);
  if (!usable.ok()) return usable;
  Result<std::string> bundle = WriteBundle(files);
  if (!bundle.ok()) return bundle.status();
  out.bundle = std::move(*bundle);
  if (out.created) {
    TD_LOG(kInfo) << "created tapedeck's local CA in " << dir << " (first use). "
                  << TrustInstructions(out);
  }
  return out;
}

int RunCaCommand(std::string_view verb, const Config& config, const std::vector<std::string>& env,
                 std::ostream& out, std::ostream& err) {
  if (!config.positional().empty()) {
    err << "tapedeck ca " << verb << ": unexpected argument \"" << config.positional()[0] << "\"\n";
    return kExitUsage;
  }
  Result<std::string> dir = CaDirOf(config, env);
  if (!dir.ok()) {
    err << "tapedeck ca: " << dir.status().message() << "\n";
    return kExitUsage;
  }
  const proxy::CaFiles files = proxy::CaFilesIn(*dir);
  if (verb == "path") {
    std::error_code ec;
    if (!std::filesystem::exists(files.cert, ec)) {
      err << "tapedeck ca path: no CA in " << *dir << " yet (tapedeck ca init makes one)\n";
      return kExitCassette;
    }
    out << files.cert << "\n";
    return kExitOk;
  }
  if (verb != "init") {
    err << "tapedeck ca: unknown command \"" << verb << "\" (init or path)\n";
    return kExitUsage;
  }
  Status created = proxy::CreateLocalCa(*dir);
  if (!created.ok()) {
    err << "tapedeck ca init: " << created.message() << "\n";
    return kExitCassette;
  }
  Result<std::string> bundle = WriteBundle(files);
  if (!bundle.ok()) {
    err << "tapedeck ca init: " << bundle.status().message() << "\n";
    return kExitCassette;
  }
  Result<std::string> fingerprint = proxy::CaCertificateFingerprint(files.cert);
  out << "created tapedeck's local CA in " << *dir << "\n"
      << "  certificate: " << files.cert << "\n";
  if (fingerprint.ok()) out << "  SHA-256:     " << *fingerprint << "\n";
  out << "  key:         " << files.key
      << " (mode 0600; it never leaves this file: keep it out of version control)\n"
      << "  bundle:      " << *bundle << "\n\n"
      << TrustInstructions(TrustFiles{files.cert, *bundle, true});
  return kExitOk;
}

}  // namespace td::cli
