// X.509 building blocks shared by the local CA and the leaf minter.
#include "proxy/internal/cert_util.h"

#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "cassette/base/unique_fd.h"
#include "proxy/internal/tls.h"

namespace td::proxy::internal {
namespace {

constexpr size_t kMaxPemFileBytes = 1 << 20;

std::string Named(std::string_view what, const std::string& path) {
  std::string out(what);
  out += ' ';
  out += path;
  return out;
}

}  // namespace

Result<EvpPkeyPtr> GenerateP256Key() {
  ERR_clear_error();
  EvpPkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (!key) return InternalError("cannot generate a P-256 key: " + DrainSslErrors());
  return key;
}

Status SetCertificateBasics(X509* cert, EVP_PKEY* public_key, time_t not_before, time_t not_after) {
  ERR_clear_error();
  // 128 random bits with the top one cleared: a positive DER INTEGER of at most 16 bytes.
  unsigned char serial[16];
  if (RAND_bytes(serial, sizeof serial) != 1) {
    return InternalError("cannot draw a certificate serial: " + DrainSslErrors());
  }
  serial[0] &= 0x7f;
  serial[sizeof serial - 1] |= 0x01;  // never zero, which strict verifiers refuse
  BignumPtr bn(BN_bin2bn(serial, sizeof serial, nullptr));
  if (X509_set_version(cert, X509_VERSION_3) != 1 || !bn ||
      BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert)) == nullptr ||
      ASN1_TIME_set(X509_getm_notBefore(cert), not_before) == nullptr ||
      ASN1_TIME_set(X509_getm_notAfter(cert), not_after) == nullptr ||
      X509_set_pubkey(cert, public_key) != 1) {
    return InternalError("cannot fill a certificate: " + DrainSslErrors());
  }
  return Status::Ok();
}

Status AddExtension(X509* cert, X509* issuer, int nid, const char* value) {
  ERR_clear_error();
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509ExtensionPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) {
    return InternalError(std::string("cannot add certificate extension ") + OBJ_nid2sn(nid) +
                         " = " + value + ": " + DrainSslErrors());
  }
  return Status::Ok();
}

Status SignCertificate(X509* cert, EVP_PKEY* key) {
  ERR_clear_error();
  const int type = EVP_PKEY_get_base_id(key);
  const EVP_MD* md = (type == EVP_PKEY_ED25519 || type == EVP_PKEY_ED448) ? nullptr : EVP_sha256();
  if (X509_sign(cert, key, md) <= 0) {
    return InternalError("cannot sign a certificate: " + DrainSslErrors());
  }
  return Status::Ok();
}

Result<std::string> ReadSmallFile(const std::string& path, std::string_view what, mode_t* mode) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (!fd.valid()) return IoErrno(Named(what, path), errno);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return IoErrno(Named(what, path), errno);
  if (!S_ISREG(st.st_mode)) return IoError(Named(what, path) + ": not a regular file");
  if (static_cast<unsigned long long>(st.st_size) > kMaxPemFileBytes) {
    return IoError(Named(what, path) + ": larger than 1 MiB, not a PEM file");
  }
  if (mode != nullptr) *mode = st.st_mode & 07777;
  std::string bytes;
  char buf[16384];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return IoErrno(Named(what, path), errno);
    if (n == 0) break;
    bytes.append(buf, static_cast<size_t>(n));
    if (bytes.size() > kMaxPemFileBytes) {
      return IoError(Named(what, path) + ": larger than 1 MiB, not a PEM file");
    }
  }
  return bytes;
}

Result<X509Ptr> ReadPemCertificate(const std::string& path, std::string_view what) {
  Result<std::string> bytes = ReadSmallFile(path, what);
  if (!bytes.ok()) return bytes.status();
  ERR_clear_error();
  BioPtr bio(BIO_new_mem_buf(bytes->data(), static_cast<int>(bytes->size())));
  if (!bio) return InternalError("cannot create a memory BIO: " + DrainSslErrors());
  X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) {
    std::string detail = DrainSslErrors();
    return ParseError(Named(what, path) + ": not a PEM certificate" +
                      (detail.empty() ? "" : " (" + detail + ")"));
  }
  return cert;
}

std::string ColonHex(const unsigned char* bytes, size_t size) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(size * 3);
  for (size_t i = 0; i < size; ++i) {
    if (i) out += ':';
    out += kHex[bytes[i] >> 4];
    out += kHex[bytes[i] & 0xf];
  }
  return out;
}

}  // namespace td::proxy::internal
