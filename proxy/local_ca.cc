// Creating the local CA: its folder, a P-256 key and a self-signed CA certificate, each file
// written to a private temporary name and then hard-linked into place, so a file appears whole
// or not at all and an existing one is never replaced (link(2) fails with EEXIST).
#include "proxy/local_ca.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <pwd.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>
#include <filesystem>
#include <system_error>
#include <vector>

#include "cassette/base/ascii.h"
#include "cassette/base/unique_fd.h"
#include "proxy/internal/cert_util.h"
#include "proxy/internal/leaf_minter.h"
#include "proxy/internal/tls.h"

namespace td::proxy {
namespace {

using internal::BioPtr;
using internal::EvpPkeyPtr;
using internal::X509Ptr;

constexpr char kCertName[] = "tapedeck-ca.pem";
constexpr char kKeyName[] = "tapedeck-ca.key";
constexpr time_t kCaBackdateSeconds = 3600;  // clocks of clients a little behind still accept it
constexpr time_t kCaLifetimeSeconds = time_t{3653} * 86400;  // 10 years
constexpr size_t kMaxCommonName = 64;                        // ub-common-name (RFC 5280)

// "tapedeck local CA (user@host)": tells one machine's CA from another's in a trust store.
std::string CaCommonName() {
  std::string who;
  passwd pw;
  passwd* found = nullptr;
  std::vector<char> buf(16384);
  if (getpwuid_r(geteuid(), &pw, buf.data(), buf.size(), &found) == 0 && found != nullptr) {
    who = found->pw_name;
  }
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) == 0) {
    if (!who.empty()) who += '@';
    who += host;
  }
  std::string clean;
  for (char c : who) {
    if (IsAlnum(c) || c == '.' || c == '-' || c == '_' || c == '@') clean += c;
  }
  std::string cn = "tapedeck local CA";
  const size_t room = kMaxCommonName - cn.size() - 3;  // " (" and ")"
  if (!clean.empty()) cn += " (" + clean.substr(0, room) + ")";
  return cn;
}

Result<X509Ptr> MakeCaCertificate(EVP_PKEY* key) {
  X509Ptr cert(X509_new());
  if (!cert) return InternalError("cannot allocate a certificate: " + internal::DrainSslErrors());
  const time_t now = ::time(nullptr);
  TD_RETURN_IF_ERROR(internal::SetCertificateBasics(cert.get(), key, now - kCaBackdateSeconds,
                                                    now + kCaLifetimeSeconds));
  X509_NAME* name = X509_get_subject_name(cert.get());
  const std::string cn = CaCommonName();
  if (X509_NAME_add_entry_by_NID(name, NID_organizationName, MBSTRING_ASC,
                                 reinterpret_cast<const unsigned char*>("tapedeck"), -1, -1,
                                 0) != 1 ||
      X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_ASC,
                                 reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1,
                                 0) != 1 ||
      X509_set_issuer_name(cert.get(), name) != 1) {
    return InternalError("cannot name the ca certificate: " + internal::DrainSslErrors());
  }
  X509* self = cert.get();
  TD_RETURN_IF_ERROR(
      internal::AddExtension(self, self, NID_basic_constraints, "critical,CA:TRUE,pathlen:0"));
  TD_RETURN_IF_ERROR(
      internal::AddExtension(self, self, NID_key_usage, "critical,keyCertSign,cRLSign"));
  TD_RETURN_IF_ERROR(internal::AddExtension(self, self, NID_subject_key_identifier, "hash"));
  TD_RETURN_IF_ERROR(internal::SignCertificate(self, key));
  return cert;
}

// The PEM text `write` puts in a memory BIO.
template <class Write>
Result<std::string> ToPem(Write&& write, std::string_view what) {
  ERR_clear_error();
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || write(bio.get()) != 1) {
    return InternalError("cannot encode the " + std::string(what) + ": " +
                         internal::DrainSslErrors());
  }
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio.get(), &data);
  std::string out(data, static_cast<size_t>(size));
  OPENSSL_cleanse(data, static_cast<size_t>(size));  // the key's bytes leave no copy behind
  return out;
}

// Removes a temporary file when it goes out of scope.
class TempFile {
 public:
  TempFile() = default;
  ~TempFile() {
    if (!path_.empty()) ::unlink(path_.c_str());
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  std::string& path() { return path_; }

 private:
  std::string path_;
};

Status WriteAll(int fd, std::string_view bytes, const std::string& path) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return IoErrno("write " + path, errno);
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

// Writes `bytes` to a new file in `dir` (mkostemp: O_CREAT|O_EXCL, mode 0600 from the start),
// sets `mode` exactly, and flushes it to disk. `tmp` removes it unless it is linked and kept.
Status WriteTemp(const std::string& dir, std::string_view name, std::string_view bytes, mode_t mode,
                 TempFile& tmp) {
  std::string pattern = dir + "/." + std::string(name) + ".XXXXXX";
  UniqueFd fd(::mkostemp(pattern.data(), O_CLOEXEC));
  if (!fd.valid()) return IoErrno("create a file in " + dir, errno);
  tmp.path() = pattern;
  if (::fchmod(fd.get(), mode) != 0) return IoErrno("chmod " + pattern, errno);
  TD_RETURN_IF_ERROR(WriteAll(fd.get(), bytes, pattern));
  if (::fsync(fd.get()) != 0) return IoErrno("fsync " + pattern, errno);
  if (const int err = fd.Close(); err != 0) return IoErrno("close " + pattern, err);
  return Status::Ok();
}

Status AlreadyExists(std::string_view what, const std::string& path) {
  return FailedPreconditionError(std::string(what) + " " + path +
                                 " already exists: use that CA, or delete it first to make a "
                                 "new one");
}

// Fails when `path` exists (even as a dangling link) or cannot be looked at.
Status CheckAbsent(std::string_view what, const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) == 0) return AlreadyExists(what, path);
  if (errno != ENOENT) return IoErrno(std::string(what) + " " + path, errno);
  return Status::Ok();
}

// Creates `dir` with mode 0700 (its missing parents as the umask says), or accepts an existing
// folder as it is.
Status MakeCaDir(std::string dir) {
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  std::filesystem::path path(dir);
  std::error_code ec;
  if (path.has_parent_path() && path.has_relative_path()) {
    std::filesystem::create_directories(path.parent_path(), ec);
    if (ec) return IoError("create " + path.parent_path().string() + ": " + ec.message());
  }
  if (::mkdir(dir.c_str(), 0700) == 0) {
    if (::chmod(dir.c_str(), 0700) != 0) return IoErrno("chmod " + dir, errno);
    return Status::Ok();
  }
  if (errno != EEXIST) return IoErrno("create " + dir, errno);
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) return IoErrno(dir, errno);
  if (!S_ISDIR(st.st_mode)) return IoError(dir + ": exists and is not a folder");
  return Status::Ok();
}

void SyncDir(const std::string& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.valid()) ::fsync(fd.get());  // best effort: the files themselves are already synced
}

}  // namespace

CaFiles CaFilesIn(const std::string& dir) {
  std::string prefix = dir;
  if (!prefix.empty() && prefix.back() != '/') prefix += '/';
  return CaFiles{dir, prefix + kCertName, prefix + kKeyName};
}

Status CheckLocalCa(const CaFiles& files) { return internal::LeafMinter::Load(files).status(); }

Status CreateLocalCa(const std::string& dir) {
  if (dir.empty()) return InvalidArgumentError("ca folder: empty path");
  const CaFiles files = CaFilesIn(dir);
  TD_RETURN_IF_ERROR(CheckAbsent("ca key", files.key));
  TD_RETURN_IF_ERROR(CheckAbsent("ca certificate", files.cert));
  TD_RETURN_IF_ERROR(MakeCaDir(dir));

  Result<EvpPkeyPtr> key = internal::GenerateP256Key();
  if (!key.ok()) return key.status().WithContext("ca");
  Result<X509Ptr> cert = MakeCaCertificate(key->get());
  if (!cert.ok()) return cert.status().WithContext("ca");
  Result<std::string> key_pem = ToPem(
      [&](BIO* bio) {
        return PEM_write_bio_PrivateKey(bio, key->get(), nullptr, nullptr, 0, nullptr, nullptr);
      },
      "ca key");
  if (!key_pem.ok()) return key_pem.status();
  Result<std::string> cert_pem =
      ToPem([&](BIO* bio) { return PEM_write_bio_X509(bio, cert->get()); }, "ca certificate");
  if (!cert_pem.ok()) return cert_pem.status();

  TempFile key_tmp;
  TempFile cert_tmp;
  Status written = WriteTemp(dir, kKeyName, *key_pem, 0600, key_tmp);
  OPENSSL_cleanse(key_pem->data(), key_pem->size());
  TD_RETURN_IF_ERROR(written);
  TD_RETURN_IF_ERROR(WriteTemp(dir, kCertName, *cert_pem, 0644, cert_tmp));

  // link(2) never replaces an existing file: the last guard against overwriting a CA made since
  // the check above (another `ca init`, another process's first use).
  if (::link(key_tmp.path().c_str(), files.key.c_str()) != 0) {
    if (errno == EEXIST) return AlreadyExists("ca key", files.key);
    return IoErrno("create " + files.key, errno);
  }
  if (::link(cert_tmp.path().c_str(), files.cert.c_str()) != 0) {
    const int err = errno;
    ::unlink(files.key.c_str());  // ours: linked just above
    if (err == EEXIST) return AlreadyExists("ca certificate", files.cert);
    return IoErrno("create " + files.cert, err);
  }
  SyncDir(dir);
  return Status::Ok();
}

Result<std::string> CaCertificateFingerprint(const std::string& cert_file) {
  Result<X509Ptr> cert = internal::ReadPemCertificate(cert_file, "ca certificate");
  if (!cert.ok()) return cert.status();
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  ERR_clear_error();
  if (X509_digest(cert->get(), EVP_sha256(), md, &size) != 1) {
    return InternalError("ca certificate " + cert_file +
                         ": cannot hash it: " + internal::DrainSslErrors());
  }
  return internal::ColonHex(md, size);
}

}  // namespace td::proxy
