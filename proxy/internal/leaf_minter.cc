// LeafMinter: loading and checking the CA, minting leaves, and the per-host context cache.
#include "proxy/internal/leaf_minter.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <utility>

#include "cassette/base/ascii.h"
#include "cassette/base/log.h"
#include "proxy/internal/cert_util.h"
#include "proxy/internal/tls.h"

namespace td::proxy::internal {
namespace {

constexpr time_t kLeafBackdateSeconds = 3600;       // clients whose clock is a little behind
constexpr time_t kLeafLifetimeSeconds = 24 * 3600;  // short: a leaked leaf is soon worthless
constexpr time_t kLeafRefreshSeconds = 12 * 3600;   // re-mint well before the leaf expires
constexpr size_t kMaxHostBytes = 253;
constexpr size_t kMaxLabelBytes = 63;
constexpr size_t kMaxCommonName = 64;  // ub-common-name (RFC 5280); longer names go in SAN only

// `host` for an error message: quoted when it is printable ASCII, else only its length (a
// hostile SNI must not put control bytes in a log).
std::string HostForMessage(std::string_view host) {
  const bool printable =
      host.size() <= kMaxHostBytes &&
      std::all_of(host.begin(), host.end(), [](char c) { return c >= 0x20 && c < 0x7f; });
  if (printable) return "host \"" + std::string(host) + "\"";
  return "host (" + std::to_string(host.size()) + " bytes)";
}

// The canonical spelling of `host` (lower-case DNS name, or the IP literal as inet_ntop writes
// it), with `*is_ip` set for an IP literal; kInvalidArgument for anything that is neither.
Result<std::string> CanonicalHost(std::string_view host, bool* is_ip) {
  *is_ip = false;
  auto bad = [&](std::string_view why) {
    return InvalidArgumentError(HostForMessage(host) + ": " + std::string(why));
  };
  if (host.empty()) return bad("empty");
  if (host.size() > kMaxHostBytes) return bad("longer than 253 bytes");
  const std::string text(host);
  unsigned char addr[sizeof(in6_addr)];
  char buf[INET6_ADDRSTRLEN];
  for (int family : {AF_INET, AF_INET6}) {
    if (text.find('\0') == std::string::npos && inet_pton(family, text.c_str(), addr) == 1 &&
        inet_ntop(family, addr, buf, sizeof buf) != nullptr) {
      *is_ip = true;
      return std::string(buf);
    }
  }
  size_t label = 0;
  for (char c : host) {
    if (c == '.') {
      if (label == 0) return bad("has an empty label");
      label = 0;
    } else if (IsAlnum(c) || c == '-') {
      if (++label > kMaxLabelBytes) return bad("has a label longer than 63 bytes");
    } else {
      return bad("is neither a DNS name (letters, digits, '.', '-') nor an IP address");
    }
  }
  if (label == 0) return bad("has an empty label");
  return ToLowerAscii(host);
}

// ALPN: HTTP/1.1, else HTTP/1.0 (curl --http1.0 offers only that), or nothing. A client
// offering only h2 gets a no_application_protocol alert rather than a connection it would then
// speak h2 on.
int SelectHttp11(SSL*, const unsigned char** out, unsigned char* out_len, const unsigned char* in,
                 unsigned int in_len, void*) noexcept {
  static constexpr std::string_view kPreferred[] = {"http/1.1", "http/1.0"};
  for (std::string_view protocol : kPreferred) {
    for (unsigned int i = 0; i < in_len;) {
      const unsigned int len = in[i];
      if (len > in_len - i - 1) break;
      if (len == protocol.size() && std::memcmp(in + i + 1, protocol.data(), len) == 0) {
        *out = in + i + 1;
        *out_len = static_cast<unsigned char>(len);
        return SSL_TLSEXT_ERR_OK;
      }
      i += 1 + len;
    }
  }
  return SSL_TLSEXT_ERR_ALERT_FATAL;
}

// Refuses to prompt for a passphrase (OpenSSL's default would read the terminal) and records
// that one was asked for.
int NoPassphrase(char*, int, int, void* asked) noexcept {
  *static_cast<bool*>(asked) = true;
  return -1;
}

std::string ModeText(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode));
  return buf;
}

Status AddNameEntry(X509_NAME* name, int nid, const std::string& value) {
  if (X509_NAME_add_entry_by_NID(name, nid, MBSTRING_ASC,
                                 reinterpret_cast<const unsigned char*>(value.c_str()), -1, -1,
                                 0) != 1) {
    return InternalError("cannot name a certificate: " + DrainSslErrors());
  }
  return Status::Ok();
}

}  // namespace

LeafMinter::LeafMinter(X509Ptr ca_cert, EvpPkeyPtr ca_key, EvpPkeyPtr leaf_key, const Clock& clock,
                       size_t max_hosts)
    : ca_cert_(std::move(ca_cert)),
      ca_key_(std::move(ca_key)),
      leaf_key_(std::move(leaf_key)),
      clock_(clock),
      max_hosts_(std::max<size_t>(max_hosts, 1)) {}

Result<std::unique_ptr<LeafMinter>> LeafMinter::Load(const CaFiles& files, const Clock& clock,
                                                     size_t max_hosts) {
  const std::string& cert_path = files.cert;
  const std::string& key_path = files.key;
  Result<X509Ptr> cert = ReadPemCertificate(cert_path, "ca certificate");
  if (!cert.ok()) return cert.status();
  if (X509_check_ca(cert->get()) == 0) {
    return InvalidArgumentError("ca certificate " + cert_path +
                                ": not a CA certificate (it may not sign others)");
  }
  time_t now = static_cast<time_t>(clock.WallMicros() / 1000000);
  if (X509_cmp_time(X509_get0_notAfter(cert->get()), &now) < 0) {
    return FailedPreconditionError("ca certificate " + cert_path +
                                   ": expired; make a new CA (delete both files first)");
  }

  mode_t mode = 0;
  Result<std::string> key_pem = ReadSmallFile(key_path, "ca key", &mode);
  if (!key_pem.ok()) return key_pem.status();
  if ((mode & 077) != 0) {
    OPENSSL_cleanse(key_pem->data(), key_pem->size());
    return FailedPreconditionError("ca key " + key_path + ": mode " + ModeText(mode) +
                                   " lets group or others read it; refusing to use it (run chmod "
                                   "600 " +
                                   key_path + ")");
  }
  ERR_clear_error();
  bool passphrase_asked = false;
  EvpPkeyPtr key;
  {
    BioPtr bio(BIO_new_mem_buf(key_pem->data(), static_cast<int>(key_pem->size())));
    if (bio)
      key.reset(PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassphrase, &passphrase_asked));
  }
  OPENSSL_cleanse(key_pem->data(), key_pem->size());
  if (!key) {
    if (passphrase_asked) {
      DrainSslErrors();
      return InvalidArgumentError("ca key " + key_path +
                                  ": encrypted with a passphrase; tapedeck needs it unencrypted "
                                  "(mode 0600 protects it)");
    }
    std::string detail = DrainSslErrors();
    return ParseError("ca key " + key_path + ": not a PEM private key" +
                      (detail.empty() ? "" : " (" + detail + ")"));
  }
  if (X509_check_private_key(cert->get(), key.get()) != 1) {
    DrainSslErrors();
    return InvalidArgumentError("ca key " + key_path + " does not match ca certificate " +
                                cert_path);
  }
  Result<EvpPkeyPtr> leaf_key = GenerateP256Key();
  if (!leaf_key.ok()) return leaf_key.status().WithContext("leaf certificates");
  return std::unique_ptr<LeafMinter>(
      new LeafMinter(std::move(*cert), std::move(key), std::move(*leaf_key), clock, max_hosts));
}

time_t LeafMinter::WallSeconds() const {
  return static_cast<time_t>(clock_.WallMicros() / 1000000);
}

Result<SSL_CTX*> LeafMinter::ServerContextFor(std::string_view host) {
  bool is_ip = false;
  Result<std::string> canonical = CanonicalHost(host, &is_ip);
  if (!canonical.ok()) return canonical.status().WithContext("leaf certificate");
  const std::string& name = *canonical;
  const time_t now = WallSeconds();

  auto it = cache_.find(name);
  if (it != cache_.end()) {
    const time_t age = now - it->second.minted_at;
    if (age > -kLeafBackdateSeconds / 2 && age < kLeafRefreshSeconds) return it->second.ctx.get();
  }
  Result<SslCtxPtr> ctx = Mint(name, is_ip, now);
  if (!ctx.ok()) return ctx.status().WithContext("leaf certificate for " + name);
  TD_LOG(kDebug) << "minted a leaf certificate for " << name;

  if (it != cache_.end()) {  // refreshed: the old context lives on in the SSLs that use it
    it->second = Entry{std::move(*ctx), now};
    order_.erase(std::find(order_.begin(), order_.end(), name));
    order_.push_back(name);
    return it->second.ctx.get();
  }
  while (cache_.size() >= max_hosts_ && !order_.empty()) {
    cache_.erase(order_.front());
    order_.pop_front();
  }
  SSL_CTX* out = ctx->get();
  cache_.emplace(name, Entry{std::move(*ctx), now});
  order_.push_back(name);
  return out;
}

Result<SslCtxPtr> LeafMinter::Mint(const std::string& host, bool is_ip, time_t now) const {
  ERR_clear_error();
  X509Ptr leaf(X509_new());
  if (!leaf) return InternalError("cannot allocate a certificate: " + DrainSslErrors());
  X509* cert = leaf.get();
  TD_RETURN_IF_ERROR(SetCertificateBasics(cert, leaf_key_.get(), now - kLeafBackdateSeconds,
                                          now + kLeafLifetimeSeconds));
  X509_NAME* subject = X509_get_subject_name(cert);
  TD_RETURN_IF_ERROR(AddNameEntry(subject, NID_organizationName, "tapedeck"));
  if (host.size() <= kMaxCommonName) {
    TD_RETURN_IF_ERROR(AddNameEntry(subject, NID_commonName, host));
  }
  if (X509_set_issuer_name(cert, X509_get_subject_name(ca_cert_.get())) != 1) {
    return InternalError("cannot set the issuer: " + DrainSslErrors());
  }
  X509* ca = ca_cert_.get();
  // `host` passed CanonicalHost: no ',' or ':' that could smuggle another name into the syntax.
  const std::string san = (is_ip ? "IP:" : "DNS:") + host;
  TD_RETURN_IF_ERROR(AddExtension(cert, ca, NID_basic_constraints, "critical,CA:FALSE"));
  TD_RETURN_IF_ERROR(AddExtension(cert, ca, NID_key_usage, "critical,digitalSignature"));
  TD_RETURN_IF_ERROR(AddExtension(cert, ca, NID_ext_key_usage, "serverAuth"));
  TD_RETURN_IF_ERROR(AddExtension(cert, ca, NID_subject_alt_name, san.c_str()));
  TD_RETURN_IF_ERROR(AddExtension(cert, ca, NID_subject_key_identifier, "hash"));
  // A CA without a key id (not one `ca init` made) is named by issuer and serial instead.
  TD_RETURN_IF_ERROR(
      AddExtension(cert, ca, NID_authority_key_identifier,
                   X509_get0_subject_key_id(ca) != nullptr ? "keyid:always" : "issuer:always"));
  TD_RETURN_IF_ERROR(SignCertificate(cert, ca_key_.get()));

  SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()));
  if (!ctx) return InternalError("cannot create a server context: " + DrainSslErrors());
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  SSL_CTX_set_options(ctx.get(), SSL_OP_NO_RENEGOTIATION);
  if (SSL_CTX_use_certificate(ctx.get(), cert) != 1 ||
      SSL_CTX_use_PrivateKey(ctx.get(), leaf_key_.get()) != 1 ||
      SSL_CTX_add1_chain_cert(ctx.get(), ca) != 1 || SSL_CTX_check_private_key(ctx.get()) != 1) {
    return InternalError("cannot set up the server context: " + DrainSslErrors());
  }
  SSL_CTX_set_alpn_select_cb(ctx.get(), SelectHttp11, nullptr);
  return ctx;
}

bool LeafMinter::SniMatches(const SSL* ssl, std::string_view host) {
  const char* sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  return sni == nullptr || EqualsIgnoreCase(sni, host);
}

}  // namespace td::proxy::internal
