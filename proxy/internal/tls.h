// File: proxy/internal/tls.h
//
// OpenSSL set-up for both ends: the client context the upstream client verifies servers with
// (system CA store, an optional extra CA file, TLS 1.2+, ALPN http/1.1) and the server context
// a TLS listener uses (tests' fake upstreams). OpenSSL errors are drained into Status messages
// where they happen, leaving nothing on the thread's error queue for a later call to misread.
#pragma once

#include <string>

#include "cassette/base/status.h"
#include "proxy/internal/ssl_handles.h"

namespace td::proxy::internal {

// The thread's queued OpenSSL errors as "reason; reason", emptying the queue. Empty if none.
std::string DrainSslErrors();

// `ca_file` (PEM, may be empty) is trusted in addition to the system store. With `insecure`,
// peers are not verified at all (the caller warns loudly).
Result<SslCtxPtr> CreateClientTlsContext(const std::string& ca_file, bool insecure);

Result<SslCtxPtr> CreateServerTlsContext(const std::string& cert_file, const std::string& key_file);

}  // namespace td::proxy::internal
