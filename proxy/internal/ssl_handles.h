// File: proxy/internal/ssl_handles.h
//
// RAII owners for OpenSSL handles (CPtr). An SslPtr handed to
// bufferevent_openssl_socket_new is release()d inside that call: libevent frees the SSL even
// when the call fails.
#pragma once

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "proxy/internal/ev_handles.h"

namespace td::proxy::internal {

using SslCtxPtr = CPtr<SSL_CTX, SSL_CTX_free>;
using SslPtr = CPtr<SSL, SSL_free>;
using X509Ptr = CPtr<X509, X509_free>;
using X509ExtensionPtr = CPtr<X509_EXTENSION, X509_EXTENSION_free>;
using EvpPkeyPtr = CPtr<EVP_PKEY, EVP_PKEY_free>;
using BioPtr = CPtr<BIO, BIO_free_all>;
using BignumPtr = CPtr<BIGNUM, BN_free>;

}  // namespace td::proxy::internal
