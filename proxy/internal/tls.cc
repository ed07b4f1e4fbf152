// OpenSSL contexts and error draining.
#include "proxy/internal/tls.h"

#include <openssl/err.h>

namespace td::proxy::internal {

std::string DrainSslErrors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    const char* reason = ERR_reason_error_string(e);
    std::string text;
    if (reason) {
      text = reason;
    } else {
      char buf[256];
      ERR_error_string_n(e, buf, sizeof buf);
      text = buf;
    }
    if (out.find(text) != std::string::npos) continue;  // OpenSSL often repeats itself
    if (!out.empty()) out += "; ";
    out += text;
  }
  return out;
}

Result<SslCtxPtr> CreateClientTlsContext(const std::string& ca_file, bool insecure) {
  ERR_clear_error();
  SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  if (!ctx) return InternalError("tls: cannot create a client context: " + DrainSslErrors());
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  static const unsigned char kAlpn[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  SSL_CTX_set_alpn_protos(ctx.get(), kAlpn, sizeof kAlpn);
  if (insecure) {
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
    return ctx;
  }
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  if (SSL_CTX_set_default_verify_paths(ctx.get()) != 1) {
    return InternalError("tls: cannot load the system CA store: " + DrainSslErrors());
  }
  if (!ca_file.empty() && SSL_CTX_load_verify_locations(ctx.get(), ca_file.c_str(), nullptr) != 1) {
    return InvalidArgumentError("upstream CA file " + ca_file + ": " + DrainSslErrors());
  }
  return ctx;
}

Result<SslCtxPtr> CreateServerTlsContext(const std::string& cert_file,
                                         const std::string& key_file) {
  ERR_clear_error();
  SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()));
  if (!ctx) return InternalError("tls: cannot create a server context: " + DrainSslErrors());
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), cert_file.c_str()) != 1) {
    return InvalidArgumentError("tls certificate " + cert_file + ": " + DrainSslErrors());
  }
  if (SSL_CTX_use_PrivateKey_file(ctx.get(), key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    return InvalidArgumentError("tls key " + key_file + ": " + DrainSslErrors());
  }
  if (SSL_CTX_check_private_key(ctx.get()) != 1) {
    return InvalidArgumentError("tls key " + key_file + " does not match " + cert_file + ": " +
                                DrainSslErrors());
  }
  return ctx;
}

}  // namespace td::proxy::internal
