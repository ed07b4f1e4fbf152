// File: proxy/local_ca.h
//
// The local certificate authority of forward-proxy mode: where its two files live, creating it
// (`tapedeck ca init`) and its fingerprint. Names no OpenSSL type, so tools/ can use it; the
// leaf certificates it signs are minted by proxy/internal/leaf_minter.h.
#pragma once

#include <string>

#include "cassette/base/status.h"

namespace td::proxy {

// The two files of a local CA inside `dir`.
struct CaFiles {
  std::string dir;
  std::string cert;  // DIR/tapedeck-ca.pem: the CA certificate (PEM), what clients trust
  std::string key;   // DIR/tapedeck-ca.key: its private key (PEM, PKCS#8, mode 0600)
};

// The CA files inside `dir` (nothing is read or checked).
CaFiles CaFilesIn(const std::string& dir);

// Creates `dir` (its missing parents too; `dir` itself with mode 0700) and in it a new CA: an
// ECDSA P-256 key (mode 0600 from the moment it exists, whatever the umask) and a self-signed
// certificate (mode 0644) valid for 10 years: CA:TRUE pathlen:0, keyCertSign and cRLSign.
// Refuses (kFailedPrecondition, naming the path) when either file already exists, and leaves it
// untouched. Each file appears complete or not at all; on failure nothing it made remains
// (a folder it created may). Any thread; two processes racing: one wins, the other is refused.
Status CreateLocalCa(const std::string& dir);

// Reads and checks the CA in `files` as forward-proxy mode will use it, without keeping it: the
// certificate is a CA and not expired, the key is PEM, unencrypted, matches it, and neither group
// nor others may read it. Each error names the file and what is wrong (for the key's mode, the
// chmod to run), so a start refuses a CA it could not mint with before it listens.
Status CheckLocalCa(const CaFiles& files);

// The SHA-256 fingerprint of the PEM certificate in `cert_file`, as upper-case hex pairs joined
// by colons ("AB:01:..."), the way `openssl x509 -fingerprint -sha256` prints it.
Result<std::string> CaCertificateFingerprint(const std::string& cert_file);

}  // namespace td::proxy
