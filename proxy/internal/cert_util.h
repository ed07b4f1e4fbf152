// File: proxy/internal/cert_util.h
//
// The X.509 building blocks the local CA (proxy/local_ca.cc) and the leaf minter share: P-256
// keys, serials, validity, v3 extensions in OpenSSL's config syntax, signing, and reading a PEM
// file with errors that name it. OpenSSL 3 APIs only.
#pragma once

#include <sys/types.h>

#include <ctime>
#include <string>
#include <string_view>

#include "cassette/base/status.h"
#include "proxy/internal/ssl_handles.h"

namespace td::proxy::internal {

// A fresh ECDSA key on NIST P-256 (named curve).
Result<EvpPkeyPtr> GenerateP256Key();

// Makes `cert` a v3 certificate for `public_key` with a random positive 128-bit serial, valid
// from `not_before` to `not_after` (Unix seconds). Subject and issuer are the caller's.
Status SetCertificateBasics(X509* cert, EVP_PKEY* public_key, time_t not_before, time_t not_after);

// Adds the extension `nid` with `value` in OpenSSL's config syntax ("critical,CA:TRUE").
// `issuer` is the issuing certificate (authorityKeyIdentifier reads its key id); `cert` itself
// when self-signed.
Status AddExtension(X509* cert, X509* issuer, int nid, const char* value);

// Signs `cert` with `key`: SHA-256, or the key's own scheme for Ed25519/Ed448.
Status SignCertificate(X509* cert, EVP_PKEY* key);

// The bytes of the regular file `path` (at most 1 MiB), and its permission bits in `*mode` when
// `mode` is not null (read from the open descriptor, so they are the bytes' file's). Errors start
// with `what` and the path: "ca key /x/tapedeck-ca.key: No such file or directory".
Result<std::string> ReadSmallFile(const std::string& path, std::string_view what,
                                  mode_t* mode = nullptr);

// The first PEM certificate in `path`; errors as ReadSmallFile's.
Result<X509Ptr> ReadPemCertificate(const std::string& path, std::string_view what);

// "AB:01:..." : `bytes` as upper-case hex pairs joined by colons.
std::string ColonHex(const unsigned char* bytes, size_t size);

}  // namespace td::proxy::internal
