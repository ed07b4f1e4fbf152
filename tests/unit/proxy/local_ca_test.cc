// Unit tests for the local CA (proxy/local_ca.h) and the leaf minter: file modes and refusal to
// overwrite, every way Load refuses a CA, leaves that OpenSSL verifies against the CA alone
// (strict mode, as Python 3.13 checks), hostile host names, the per-host cache, and real TLS
// handshakes over a socketpair (ALPN http/1.1 only). Keys are generated at run time.
#include "proxy/local_ca.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <latch>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "cassette/base/unique_fd.h"
#include "proxy/internal/leaf_minter.h"
#include "proxy/internal/ssl_handles.h"
#include "proxy/internal/tls.h"
#include "tests/support/fake_clock.h"
#include "tests/support/temp_dir.h"

namespace td::proxy {
namespace {

using internal::BioPtr;
using internal::EvpPkeyPtr;
using internal::LeafMinter;
using internal::SslCtxPtr;
using internal::SslPtr;
using internal::X509Ptr;
using testing::ScopedTempDir;

using X509StorePtr = CPtr<X509_STORE, X509_STORE_free>;
using X509StoreCtxPtr = CPtr<X509_STORE_CTX, X509_STORE_CTX_free>;

std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void WriteBytes(const std::string& path, const std::string& bytes, mode_t mode = 0600) {
  std::ofstream(path, std::ios::binary) << bytes;
  ASSERT_EQ(::chmod(path.c_str(), mode), 0) << path;
}

mode_t ModeOf(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

X509Ptr ReadCert(const std::string& path) {
  CPtr<FILE, fclose> f(std::fopen(path.c_str(), "r"));
  if (!f) return nullptr;
  return X509Ptr(PEM_read_X509(f.get(), nullptr, nullptr, nullptr));
}

EvpPkeyPtr ReadKey(const std::string& path) {
  CPtr<FILE, fclose> f(std::fopen(path.c_str(), "r"));
  if (!f) return nullptr;
  return EvpPkeyPtr(PEM_read_PrivateKey(f.get(), nullptr, nullptr, nullptr));
}

std::string CertPem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), cert);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

std::string KeyPem(EVP_PKEY* key, const EVP_CIPHER* cipher = nullptr,
                   const std::string& pass = "") {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), key, cipher,
                           reinterpret_cast<const unsigned char*>(pass.data()),
                           static_cast<int>(pass.size()), nullptr, nullptr);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

bool IsP256(EVP_PKEY* key) {
  char group[64] = {};
  size_t len = 0;
  return EVP_PKEY_get_base_id(key) == EVP_PKEY_EC &&
         EVP_PKEY_get_group_name(key, group, sizeof group, &len) == 1 &&
         std::string(group) == "prime256v1";
}

bool ExtensionIsCritical(X509* cert, int nid) {
  const int at = X509_get_ext_by_NID(cert, nid, -1);
  return at >= 0 && X509_EXTENSION_get_critical(X509_get_ext(cert, at)) == 1;
}

// Seconds from `from` to `to`.
long long SecondsBetween(const ASN1_TIME* from, const ASN1_TIME* to) {
  int days = 0, secs = 0;
  EXPECT_EQ(ASN1_TIME_diff(&days, &secs, from, to), 1);
  return static_cast<long long>(days) * 86400 + secs;
}

// Verifies `leaf` as a TLS server certificate against a store holding only `ca`, strictly
// (X509_V_FLAG_X509_STRICT, Python 3.13's default), at `at` when non-zero. X509_V_OK or why not.
int VerifyLeaf(X509* leaf, X509* ca, time_t at = 0) {
  X509StorePtr store(X509_STORE_new());
  X509_STORE_add_cert(store.get(), ca);
  X509StoreCtxPtr ctx(X509_STORE_CTX_new());
  X509_STORE_CTX_init(ctx.get(), store.get(), leaf, nullptr);
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
  X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_X509_STRICT);
  X509_VERIFY_PARAM_set_purpose(param, X509_PURPOSE_SSL_SERVER);
  if (at != 0) X509_VERIFY_PARAM_set_time(param, at);
  if (X509_verify_cert(ctx.get()) == 1) return X509_V_OK;
  return X509_STORE_CTX_get_error(ctx.get());
}

// The types (GEN_DNS, GEN_IPADD, ...) of the subjectAltName entries of `cert`, in order.
std::vector<int> SanTypes(X509* cert) {
  std::vector<int> types;
  auto* names =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    types.push_back(sk_GENERAL_NAME_value(names, i)->type);
  }
  GENERAL_NAMES_free(names);
  return types;
}

X509* LeafOf(SSL_CTX* ctx) { return SSL_CTX_get0_certificate(ctx); }

class LocalCaTest : public ::testing::Test {
 protected:
  // Makes a CA in DIR/name and returns its files.
  CaFiles MakeCa(const std::string& name = "ca") {
    CaFiles files = CaFilesIn(dir_.Path(name));
    Status made = CreateLocalCa(files.dir);
    EXPECT_TRUE(made.ok()) << made.message();
    return files;
  }

  std::unique_ptr<LeafMinter> LoadMinter(const CaFiles& files,
                                         size_t max_hosts = LeafMinter::kDefaultMaxHosts) {
    Result<std::unique_ptr<LeafMinter>> minter =
        LeafMinter::Load(files, SystemClock::Get(), max_hosts);
    EXPECT_TRUE(minter.ok()) << minter.status().message();
    return minter.ok() ? std::move(*minter) : nullptr;
  }

  // The Load error for `files`, which must fail.
  Status LoadError(const CaFiles& files) {
    Result<std::unique_ptr<LeafMinter>> minter = LeafMinter::Load(files);
    EXPECT_FALSE(minter.ok()) << "loaded " << files.cert << " + " << files.key;
    return minter.ok() ? Status::Ok() : minter.status();
  }

  ScopedTempDir dir_;
};

TEST_F(LocalCaTest, CaFilesInNamesTheTwoFiles) {
  CaFiles files = CaFilesIn("/x/ca");
  EXPECT_EQ(files.dir, "/x/ca");
  EXPECT_EQ(files.cert, "/x/ca/tapedeck-ca.pem");
  EXPECT_EQ(files.key, "/x/ca/tapedeck-ca.key");
  EXPECT_EQ(CaFilesIn("/x/ca/").key, "/x/ca/tapedeck-ca.key");
}

TEST_F(LocalCaTest, CreatesAPrivateKeyAndACaCertificateWhateverTheUmask) {
  const std::string dir = dir_.Path("nested/parents/ca");
  const mode_t old_umask = ::umask(0);  // a umask that would leave everything world-writable
  Status made = CreateLocalCa(dir);
  ::umask(old_umask);
  ASSERT_TRUE(made.ok()) << made.message();
  const CaFiles files = CaFilesIn(dir);

  EXPECT_EQ(ModeOf(dir), 0700u);
  EXPECT_EQ(ModeOf(files.key), 0600u);
  EXPECT_EQ(ModeOf(files.cert), 0644u);
  std::set<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    names.insert(entry.path().filename().string());
  }
  EXPECT_EQ(names, (std::set<std::string>{"tapedeck-ca.key", "tapedeck-ca.pem"}))
      << "no temporary file may remain";

  X509Ptr cert = ReadCert(files.cert);
  EvpPkeyPtr key = ReadKey(files.key);
  ASSERT_TRUE(cert && key);
  EXPECT_EQ(X509_check_ca(cert.get()), 1);
  EXPECT_EQ(X509_self_signed(cert.get(), 1), 1);
  EXPECT_EQ(X509_check_private_key(cert.get(), key.get()), 1);
  EXPECT_TRUE(IsP256(key.get()));
  EXPECT_EQ(X509_get_version(cert.get()), X509_VERSION_3);
  EXPECT_TRUE(ExtensionIsCritical(cert.get(), NID_basic_constraints));
  EXPECT_EQ(X509_get_pathlen(cert.get()), 0);
  EXPECT_TRUE(ExtensionIsCritical(cert.get(), NID_key_usage));
  EXPECT_EQ(X509_get_key_usage(cert.get()), static_cast<uint32_t>(KU_KEY_CERT_SIGN | KU_CRL_SIGN));
  EXPECT_NE(X509_get0_subject_key_id(cert.get()), nullptr);
  const long long lifetime =
      SecondsBetween(X509_get0_notBefore(cert.get()), X509_get0_notAfter(cert.get()));
  EXPECT_GE(lifetime, 10LL * 365 * 86400);
  EXPECT_LE(lifetime, 11LL * 365 * 86400);
  EXPECT_LE(X509_cmp_time(X509_get0_notBefore(cert.get()), nullptr), 0) << "valid already";
  char cn[128] = {};
  X509_NAME_get_text_by_NID(X509_get_subject_name(cert.get()), NID_commonName, cn, sizeof cn);
  EXPECT_EQ(std::string(cn).rfind("tapedeck local CA", 0), 0u) << cn;
}

TEST_F(LocalCaTest, TwoCasHaveDifferentKeysAndSerials) {
  X509Ptr a = ReadCert(MakeCa("a").cert);
  X509Ptr b = ReadCert(MakeCa("b").cert);
  ASSERT_TRUE(a && b);
  EXPECT_NE(ASN1_INTEGER_cmp(X509_get0_serialNumber(a.get()), X509_get0_serialNumber(b.get())), 0);
  EXPECT_NE(EVP_PKEY_eq(X509_get0_pubkey(a.get()), X509_get0_pubkey(b.get())), 1);
}

TEST_F(LocalCaTest, RefusesToOverwriteAnExistingKey) {
  const CaFiles files = CaFilesIn(dir_.Path("ca"));
  ASSERT_TRUE(std::filesystem::create_directory(files.dir));
  const std::string kept = "the user's own key bytes\n";
  WriteBytes(files.key, kept);
  Status made = CreateLocalCa(files.dir);
  ASSERT_FALSE(made.ok());
  EXPECT_EQ(made.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(made.message().find(files.key), std::string::npos) << made.message();
  EXPECT_NE(made.message().find("delete it first"), std::string::npos) << made.message();
  EXPECT_EQ(ReadBytes(files.key), kept);
  EXPECT_FALSE(std::filesystem::exists(files.cert)) << "a half-made CA must not remain";
}

TEST_F(LocalCaTest, RefusesToOverwriteAnExistingCertificate) {
  const CaFiles files = CaFilesIn(dir_.Path("ca"));
  ASSERT_TRUE(std::filesystem::create_directory(files.dir));
  const std::string kept = "the user's own certificate\n";
  WriteBytes(files.cert, kept, 0644);
  Status made = CreateLocalCa(files.dir);
  ASSERT_FALSE(made.ok());
  EXPECT_NE(made.message().find(files.cert), std::string::npos) << made.message();
  EXPECT_EQ(ReadBytes(files.cert), kept);
  EXPECT_FALSE(std::filesystem::exists(files.key)) << "a half-made CA must not remain";
}

TEST_F(LocalCaTest, RefusesToReplaceAWholeCa) {
  const CaFiles files = MakeCa();
  const std::string cert = ReadBytes(files.cert);
  const std::string key = ReadBytes(files.key);
  Status again = CreateLocalCa(files.dir);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(ReadBytes(files.cert), cert);
  EXPECT_EQ(ReadBytes(files.key), key);
  EXPECT_EQ(ModeOf(files.key), 0600u);
}

TEST_F(LocalCaTest, ConcurrentCreatorsMakeExactlyOneMatchingCa) {
  // Threads released together all pass the existence check while keys are generated; the
  // no-replace link is what must keep one CA whole.
  constexpr int kRounds = 5;
  constexpr int kThreads = 4;
  for (int round = 0; round < kRounds; ++round) {
    const std::string dir = dir_.Path("race" + std::to_string(round));
    std::latch start(kThreads);
    std::vector<Status> results(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        start.arrive_and_wait();
        results[t] = CreateLocalCa(dir);
      });
    }
    for (std::thread& t : threads) t.join();
    int ok = 0;
    for (const Status& s : results) {
      if (s.ok()) {
        ++ok;
      } else {
        EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition) << s.message();
      }
    }
    EXPECT_EQ(ok, 1) << "round " << round;
    const CaFiles files = CaFilesIn(dir);
    X509Ptr cert = ReadCert(files.cert);
    EvpPkeyPtr key = ReadKey(files.key);
    ASSERT_TRUE(cert && key);
    EXPECT_EQ(X509_check_private_key(cert.get(), key.get()), 1) << "round " << round;
    EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir), {}), 2)
        << "no temporary file may remain";
  }
}

TEST_F(LocalCaTest, FailsCleanlyWhenTheFolderCannotBeMade) {
  const std::string file = dir_.Path("plain-file");
  WriteBytes(file, "x");
  Status made = CreateLocalCa(file + "/ca");
  ASSERT_FALSE(made.ok());
  EXPECT_NE(made.message().find(file), std::string::npos) << made.message();
}

TEST_F(LocalCaTest, FingerprintIsTheSha256OfTheDerCertificate) {
  const CaFiles files = MakeCa();
  Result<std::string> fp = CaCertificateFingerprint(files.cert);
  ASSERT_TRUE(fp.ok()) << fp.status().message();
  // Computed another way: SHA-256 over the DER bytes.
  X509Ptr cert = ReadCert(files.cert);
  unsigned char* der = nullptr;
  const int der_len = i2d_X509(cert.get(), &der);
  ASSERT_GT(der_len, 0);
  unsigned char md[32];
  unsigned int md_len = 0;
  ASSERT_EQ(EVP_Digest(der, static_cast<size_t>(der_len), md, &md_len, EVP_sha256(), nullptr), 1);
  OPENSSL_free(der);
  std::string expected;
  char buf[4];
  for (unsigned int i = 0; i < md_len; ++i) {
    std::snprintf(buf, sizeof buf, i ? ":%02X" : "%02X", md[i]);
    expected += buf;
  }
  EXPECT_EQ(*fp, expected);
  EXPECT_EQ(fp->size(), 32u * 3 - 1);

  Result<std::string> missing = CaCertificateFingerprint(dir_.Path("nope.pem"));
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find(dir_.Path("nope.pem")), std::string::npos);
}

// ---------------------------------------------------------------------------------------------
// LeafMinter::Load refusals: each names the file at fault.

TEST_F(LocalCaTest, LoadRefusesMissingFiles) {
  const CaFiles none = CaFilesIn(dir_.Path("none"));
  Status s = LoadError(none);
  EXPECT_NE(s.message().find(none.cert), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("No such file"), std::string::npos) << s.message();

  CaFiles no_key = MakeCa();
  ASSERT_EQ(::unlink(no_key.key.c_str()), 0);
  s = LoadError(no_key);
  EXPECT_NE(s.message().find(no_key.key), std::string::npos) << s.message();
}

TEST_F(LocalCaTest, LoadRefusesGarbage) {
  CaFiles files = MakeCa();
  const std::string good_cert = ReadBytes(files.cert);
  WriteBytes(files.cert, "not a certificate\n", 0644);
  Status s = LoadError(files);
  EXPECT_NE(s.message().find(files.cert), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("not a PEM certificate"), std::string::npos) << s.message();

  WriteBytes(files.cert, good_cert, 0644);
  WriteBytes(files.key, "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
  s = LoadError(files);
  EXPECT_NE(s.message().find(files.key), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("not a PEM private key"), std::string::npos) << s.message();
}

TEST_F(LocalCaTest, LoadRefusesACertificateThatIsNotACa) {
  auto minter = LoadMinter(MakeCa());
  ASSERT_TRUE(minter);
  Result<SSL_CTX*> ctx = minter->ServerContextFor("leaf.example");
  ASSERT_TRUE(ctx.ok()) << ctx.status().message();
  // A leaf and its own key: they match, but the certificate may not sign others.
  const CaFiles leaf = CaFilesIn(dir_.Path("leaf"));
  std::filesystem::create_directory(leaf.dir);
  WriteBytes(leaf.cert, CertPem(LeafOf(*ctx)), 0644);
  WriteBytes(leaf.key, KeyPem(SSL_CTX_get0_privatekey(*ctx)));
  Status s = LoadError(leaf);
  EXPECT_NE(s.message().find(leaf.cert), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("not a CA"), std::string::npos) << s.message();
}

TEST_F(LocalCaTest, LoadRefusesAKeyThatDoesNotMatch) {
  const CaFiles a = MakeCa("a");
  const CaFiles b = MakeCa("b");
  Status s = LoadError(CaFiles{a.dir, a.cert, b.key});
  EXPECT_NE(s.message().find(b.key), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("does not match"), std::string::npos) << s.message();
}

TEST_F(LocalCaTest, LoadRefusesAKeyOthersMayRead) {
  const CaFiles files = MakeCa();
  ASSERT_EQ(::chmod(files.key.c_str(), 0644), 0);
  Status s = LoadError(files);
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find(files.key), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("0644"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("chmod 600"), std::string::npos) << s.message();
  ASSERT_EQ(::chmod(files.key.c_str(), 0640), 0);
  EXPECT_NE(LoadError(files).message().find("0640"), std::string::npos);
  ASSERT_EQ(::chmod(files.key.c_str(), 0600), 0);
  EXPECT_TRUE(LoadMinter(files)) << "the mode was the only thing wrong";
}

TEST_F(LocalCaTest, LoadRefusesAnEncryptedKeyWithoutPrompting) {
  const CaFiles files = MakeCa();
  EvpPkeyPtr key = ReadKey(files.key);
  ASSERT_TRUE(key);
  const std::string passphrase(12, 'p');
  WriteBytes(files.key, KeyPem(key.get(), EVP_aes_256_cbc(), passphrase));
  Status s = LoadError(files);
  EXPECT_NE(s.message().find(files.key), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("encrypted"), std::string::npos) << s.message();
}

// ---------------------------------------------------------------------------------------------
// Minting.

TEST_F(LocalCaTest, MintedLeafVerifiesAgainstTheCaAloneForItsHostOnly) {
  const CaFiles files = MakeCa();
  auto minter = LoadMinter(files);
  ASSERT_TRUE(minter);
  Result<SSL_CTX*> ctx = minter->ServerContextFor("api.anthropic.com");
  ASSERT_TRUE(ctx.ok()) << ctx.status().message();
  X509* leaf = LeafOf(*ctx);
  ASSERT_NE(leaf, nullptr);
  X509Ptr ca = ReadCert(files.cert);

  EXPECT_EQ(VerifyLeaf(leaf, ca.get()), X509_V_OK)
      << X509_verify_cert_error_string(VerifyLeaf(leaf, ca.get()));
  X509Ptr other_ca = ReadCert(MakeCa("other").cert);
  EXPECT_NE(VerifyLeaf(leaf, other_ca.get()), X509_V_OK) << "only its own CA vouches for it";

  EXPECT_EQ(X509_check_host(leaf, "api.anthropic.com", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_host(leaf, "evil.example", 0, 0, nullptr), 0);
  EXPECT_EQ(X509_check_host(leaf, "x.api.anthropic.com", 0, 0, nullptr), 0);
  EXPECT_EQ(X509_check_ca(leaf), 0);
  EXPECT_EQ(SanTypes(leaf), std::vector<int>{GEN_DNS});
  EXPECT_EQ(X509_get_extended_key_usage(leaf), static_cast<uint32_t>(XKU_SSL_SERVER));
  EXPECT_EQ(X509_get_key_usage(leaf), static_cast<uint32_t>(KU_DIGITAL_SIGNATURE));
  EXPECT_NE(X509_get0_authority_key_id(leaf), nullptr);
  EXPECT_EQ(
      ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(leaf), X509_get0_subject_key_id(ca.get())),
      0);
  EXPECT_TRUE(IsP256(X509_get0_pubkey(leaf)));
  char cn[256] = {};
  X509_NAME_get_text_by_NID(X509_get_subject_name(leaf), NID_commonName, cn, sizeof cn);
  EXPECT_EQ(std::string(cn), "api.anthropic.com");
  const long long lifetime = SecondsBetween(X509_get0_notBefore(leaf), X509_get0_notAfter(leaf));
  EXPECT_EQ(lifetime, 25LL * 3600) << "1 h back-dated, 24 h ahead";

  STACK_OF(X509)* chain = nullptr;
  ASSERT_EQ(SSL_CTX_get0_chain_certs(*ctx, &chain), 1);
  ASSERT_EQ(sk_X509_num(chain), 1);
  EXPECT_EQ(X509_cmp(sk_X509_value(chain, 0), ca.get()), 0) << "the chain carries the CA";
}

TEST_F(LocalCaTest, LeavesShareOneKeyButNotSerials) {
  auto minter = LoadMinter(MakeCa());
  ASSERT_TRUE(minter);
  Result<SSL_CTX*> a = minter->ServerContextFor("a.example");
  Result<SSL_CTX*> b = minter->ServerContextFor("b.example");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(EVP_PKEY_eq(X509_get0_pubkey(LeafOf(*a)), X509_get0_pubkey(LeafOf(*b))), 1);
  EXPECT_NE(
      ASN1_INTEGER_cmp(X509_get0_serialNumber(LeafOf(*a)), X509_get0_serialNumber(LeafOf(*b))), 0);
}

TEST_F(LocalCaTest, IpLiteralsGetAnIpSubjectAltName) {
  const CaFiles files = MakeCa();
  auto minter = LoadMinter(files);
  ASSERT_TRUE(minter);
  X509Ptr ca = ReadCert(files.cert);
  for (const char* ip : {"127.0.0.1", "::1", "2001:db8::7"}) {
    Result<SSL_CTX*> ctx = minter->ServerContextFor(ip);
    ASSERT_TRUE(ctx.ok()) << ip << ": " << ctx.status().message();
    X509* leaf = LeafOf(*ctx);
    EXPECT_EQ(X509_check_ip_asc(leaf, ip, 0), 1) << ip;
    EXPECT_EQ(X509_check_ip_asc(leaf, "127.0.0.2", 0), 0) << ip;
    EXPECT_EQ(SanTypes(leaf), std::vector<int>{GEN_IPADD}) << ip << ": one IP name, no DNS name";
    EXPECT_EQ(VerifyLeaf(leaf, ca.get()), X509_V_OK) << ip;
  }
  // One address, two spellings: one context.
  Result<SSL_CTX*> short_form = minter->ServerContextFor("2001:db8::7");
  Result<SSL_CTX*> long_form = minter->ServerContextFor("2001:DB8:0:0:0:0:0:7");
  ASSERT_TRUE(short_form.ok() && long_form.ok());
  EXPECT_EQ(*short_form, *long_form);
}

TEST_F(LocalCaTest, CachesOneContextPerHostIgnoringCase) {
  auto minter = LoadMinter(MakeCa());
  ASSERT_TRUE(minter);
  Result<SSL_CTX*> first = minter->ServerContextFor("api.anthropic.com");
  Result<SSL_CTX*> again = minter->ServerContextFor("API.Anthropic.COM");
  Result<SSL_CTX*> other = minter->ServerContextFor("api.openai.com");
  ASSERT_TRUE(first.ok() && again.ok() && other.ok());
  EXPECT_EQ(*first, *again);
  EXPECT_NE(*first, *other);
  EXPECT_EQ(minter->cached_hosts(), 2u);
  EXPECT_EQ(X509_check_host(LeafOf(*first), "api.anthropic.com", 0, 0, nullptr), 1);
}

TEST_F(LocalCaTest, RefusesHostileHostNames) {
  auto minter = LoadMinter(MakeCa());
  ASSERT_TRUE(minter);
  const std::vector<std::string> hostile = {
      "",
      "a b",
      "x\n",
      std::string(300, 'a'),
      "*.x",
      "a..b",
      ".a",
      "a.",
      "[::1]",
      "host:443",
      "a/b",
      "a,DNS:evil.example",
      "a_b.example",
      std::string("a\0b", 3),
      std::string(64, 'l') + ".example",
      "\xc3\xa9.example",
  };
  for (const std::string& host : hostile) {
    Result<SSL_CTX*> ctx = minter->ServerContextFor(host);
    ASSERT_FALSE(ctx.ok()) << "accepted " << ::testing::PrintToString(host);
    EXPECT_EQ(ctx.status().code(), StatusCode::kInvalidArgument);
    for (char c : ctx.status().message()) {
      EXPECT_TRUE(c >= 0x20 && c < 0x7f) << "unprintable byte in " << ctx.status().message();
    }
  }
  EXPECT_EQ(minter->cached_hosts(), 0u);
}

TEST_F(LocalCaTest, LongNamesGoInTheSubjectAltNameOnly) {
  const CaFiles files = MakeCa();
  auto minter = LoadMinter(files);
  ASSERT_TRUE(minter);
  X509Ptr ca = ReadCert(files.cert);
  // 253 bytes (the most a DNS name has), labels of 63: too long for a CN (64 at most).
  const std::string label(63, 'a');
  const std::string longest = label + "." + label + "." + label + "." + std::string(61, 'b');
  ASSERT_EQ(longest.size(), 253u);
  for (const std::string& host : {std::string(label + ".example"), longest}) {
    Result<SSL_CTX*> ctx = minter->ServerContextFor(host);
    ASSERT_TRUE(ctx.ok()) << ctx.status().message();
    EXPECT_EQ(X509_check_host(LeafOf(*ctx), host.c_str(), host.size(), 0, nullptr), 1);
    EXPECT_EQ(VerifyLeaf(LeafOf(*ctx), ca.get()), X509_V_OK);
  }
}

TEST_F(LocalCaTest, EvictsTheOldestHostButAnSslKeepsItsContext) {
  auto minter = LoadMinter(MakeCa(), /*max_hosts=*/2);
  ASSERT_TRUE(minter);
  Result<SSL_CTX*> a = minter->ServerContextFor("a.example");
  ASSERT_TRUE(a.ok());
  SslPtr in_use(SSL_new(*a));
  ASSERT_TRUE(in_use);
  Result<SSL_CTX*> b = minter->ServerContextFor("b.example");
  Result<SSL_CTX*> c = minter->ServerContextFor("c.example");  // evicts a
  ASSERT_TRUE(b.ok() && c.ok());
  EXPECT_EQ(minter->cached_hosts(), 2u);
  Result<SSL_CTX*> a2 = minter->ServerContextFor("a.example");  // minted again; evicts b
  ASSERT_TRUE(a2.ok());
  EXPECT_NE(*a2, *a) << "the old context is still alive (in_use), so a new one has a new address";
  Result<SSL_CTX*> c2 = minter->ServerContextFor("c.example");
  ASSERT_TRUE(c2.ok());
  EXPECT_EQ(*c2, *c) << "c was newer than b: kept";
  // The evicted context still serves its SSL (ASan would catch a use after free).
  EXPECT_EQ(SSL_get_SSL_CTX(in_use.get()), *a);
  EXPECT_EQ(X509_check_host(SSL_get_certificate(in_use.get()), "a.example", 0, 0, nullptr), 1);
}

TEST_F(LocalCaTest, MintsAFreshLeafBeforeTheCachedOneExpires) {
  const CaFiles files = MakeCa();
  testing::FakeClock clock(1, SystemClock::Get().WallMicros());
  Result<std::unique_ptr<LeafMinter>> minter = LeafMinter::Load(files, clock);
  ASSERT_TRUE(minter.ok()) << minter.status().message();
  X509Ptr ca = ReadCert(files.cert);
  const time_t start = static_cast<time_t>(clock.WallMicros() / 1000000);

  Result<SSL_CTX*> first = (*minter)->ServerContextFor("api.anthropic.com");
  ASSERT_TRUE(first.ok());
  SslPtr in_use(SSL_new(*first));  // keeps the first context alive past its replacement
  clock.Advance(11LL * 3600 * 1000000);
  Result<SSL_CTX*> later = (*minter)->ServerContextFor("api.anthropic.com");
  ASSERT_TRUE(later.ok());
  EXPECT_EQ(*later, *first) << "11 h old: still cached";

  clock.Advance(2LL * 3600 * 1000000);
  Result<SSL_CTX*> fresh = (*minter)->ServerContextFor("api.anthropic.com");
  ASSERT_TRUE(fresh.ok());
  ASSERT_NE(*fresh, *first) << "13 h old: minted again";
  EXPECT_EQ(SecondsBetween(X509_get0_notAfter(LeafOf(*first)), X509_get0_notAfter(LeafOf(*fresh))),
            13LL * 3600);
  // 23 h after the first mint, the fresh leaf is what keeps clients working.
  const time_t at = start + 23 * 3600 + 30 * 60;
  EXPECT_EQ(VerifyLeaf(LeafOf(*fresh), ca.get(), at), X509_V_OK);
  EXPECT_EQ(VerifyLeaf(LeafOf(*first), ca.get(), at + 3600), X509_V_ERR_CERT_HAS_EXPIRED);
  EXPECT_EQ((*minter)->cached_hosts(), 1u);
}

// ---------------------------------------------------------------------------------------------
// Real handshakes over a socketpair, both ends driven in turn on this thread (non-blocking).

struct Handshake {
  bool client_ok = false;
  bool server_ok = false;
  std::string client_error;
  std::string server_error;
};

Handshake RunHandshake(SSL* client, SSL* server) {
  Handshake out;
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) != 0) {
    ADD_FAILURE() << "socketpair failed";
    return out;
  }
  UniqueFd client_fd(fds[0]);
  UniqueFd server_fd(fds[1]);
  SSL_set_fd(client, client_fd.get());
  SSL_set_fd(server, server_fd.get());
  bool client_failed = false;
  bool server_failed = false;
  // Each step either finishes, fails or waits for the other side; a handshake takes a few
  // flights, so 50 rounds without progress means something is stuck.
  for (int round = 0; round < 50; ++round) {
    auto step = [](SSL* ssl, int (*fn)(SSL*), bool& ok, bool& failed, std::string& error) {
      if (ok || failed) return;
      ERR_clear_error();
      const int rc = fn(ssl);
      if (rc == 1) {
        ok = true;
        return;
      }
      const int e = SSL_get_error(ssl, rc);
      if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return;
      failed = true;
      error = internal::DrainSslErrors();
    };
    step(client, SSL_connect, out.client_ok, client_failed, out.client_error);
    step(server, SSL_accept, out.server_ok, server_failed, out.server_error);
    if ((out.client_ok || client_failed) && (out.server_ok || server_failed)) break;
  }
  return out;
}

class HandshakeTest : public LocalCaTest {
 protected:
  void SetUp() override {
    files_ = MakeCa();
    minter_ = LoadMinter(files_);
    ASSERT_TRUE(minter_);
  }

  // A client that trusts only the CA, checks `host` and offers `alpn` (wire format).
  SslPtr NewClient(const std::string& host, const std::string& alpn) {
    client_ctx_.reset(SSL_CTX_new(TLS_client_method()));
    SSL_CTX_set_verify(client_ctx_.get(), SSL_VERIFY_PEER, nullptr);
    EXPECT_EQ(SSL_CTX_load_verify_locations(client_ctx_.get(), files_.cert.c_str(), nullptr), 1);
    X509_VERIFY_PARAM_set_flags(SSL_CTX_get0_param(client_ctx_.get()), X509_V_FLAG_X509_STRICT);
    SslPtr ssl(SSL_new(client_ctx_.get()));
    SSL_set_tlsext_host_name(ssl.get(), host.c_str());
    SSL_set1_host(ssl.get(), host.c_str());
    if (!alpn.empty()) {
      SSL_set_alpn_protos(ssl.get(), reinterpret_cast<const unsigned char*>(alpn.data()),
                          static_cast<unsigned int>(alpn.size()));
    }
    return ssl;
  }

  SslPtr NewServer(const std::string& host) {
    Result<SSL_CTX*> ctx = minter_->ServerContextFor(host);
    EXPECT_TRUE(ctx.ok()) << ctx.status().message();
    return ctx.ok() ? SslPtr(SSL_new(*ctx)) : nullptr;
  }

  static std::string Alpn(const SSL* ssl) {
    const unsigned char* data = nullptr;
    unsigned int len = 0;
    SSL_get0_alpn_selected(ssl, &data, &len);
    return std::string(reinterpret_cast<const char*>(data), len);
  }

  static inline const std::string kH2AndHttp11 = std::string("\x02h2\x08http/1.1", 12);

  CaFiles files_;
  std::unique_ptr<LeafMinter> minter_;
  SslCtxPtr client_ctx_;
};

TEST_F(HandshakeTest, ClientOfferingH2AndHttp11VerifiesAndGetsHttp11) {
  SslPtr client = NewClient("api.anthropic.com", kH2AndHttp11);
  SslPtr server = NewServer("api.anthropic.com");
  ASSERT_TRUE(client && server);
  Handshake h = RunHandshake(client.get(), server.get());
  ASSERT_TRUE(h.client_ok) << h.client_error;
  ASSERT_TRUE(h.server_ok) << h.server_error;
  EXPECT_EQ(SSL_get_verify_result(client.get()), X509_V_OK);
  EXPECT_EQ(Alpn(client.get()), "http/1.1");
  EXPECT_EQ(Alpn(server.get()), "http/1.1");
  EXPECT_TRUE(LeafMinter::SniMatches(server.get(), "API.anthropic.com"));
  EXPECT_FALSE(LeafMinter::SniMatches(server.get(), "evil.example"));
}

TEST_F(HandshakeTest, ClientWithoutAlpnIsServed) {
  SslPtr client = NewClient("api.anthropic.com", "");
  SslPtr server = NewServer("api.anthropic.com");
  ASSERT_TRUE(client && server);
  Handshake h = RunHandshake(client.get(), server.get());
  ASSERT_TRUE(h.client_ok) << h.client_error;
  ASSERT_TRUE(h.server_ok) << h.server_error;
  EXPECT_EQ(Alpn(server.get()), "");
}

TEST_F(HandshakeTest, Http10ClientGetsHttp10) {
  // curl --http1.0 offers only "http/1.0": tapedeck speaks it, so the handshake must not fail.
  SslPtr client = NewClient("api.anthropic.com", std::string("\x08http/1.0", 9));
  SslPtr server = NewServer("api.anthropic.com");
  ASSERT_TRUE(client && server);
  Handshake h = RunHandshake(client.get(), server.get());
  ASSERT_TRUE(h.client_ok) << h.client_error;
  ASSERT_TRUE(h.server_ok) << h.server_error;
  EXPECT_EQ(Alpn(server.get()), "http/1.0");
}

TEST_F(HandshakeTest, H2OnlyClientIsRefusedWithAnAlert) {
  SslPtr client = NewClient("api.anthropic.com", std::string("\x02h2", 3));
  SslPtr server = NewServer("api.anthropic.com");
  ASSERT_TRUE(client && server);
  Handshake h = RunHandshake(client.get(), server.get());
  EXPECT_FALSE(h.server_ok);
  EXPECT_FALSE(h.client_ok);
  EXPECT_NE(h.client_error.find("no application protocol"), std::string::npos) << h.client_error;
}

TEST_F(HandshakeTest, ClientExpectingAnotherHostRejectsTheLeaf) {
  SslPtr client = NewClient("evil.example", kH2AndHttp11);
  SslPtr server = NewServer("api.anthropic.com");
  ASSERT_TRUE(client && server);
  Handshake h = RunHandshake(client.get(), server.get());
  EXPECT_FALSE(h.client_ok);
  EXPECT_NE(h.client_error.find("certificate verify failed"), std::string::npos) << h.client_error;
  EXPECT_FALSE(LeafMinter::SniMatches(server.get(), "api.anthropic.com"));
}

TEST_F(HandshakeTest, Tls11ClientIsRefused) {
  SslPtr client = NewClient("api.anthropic.com", kH2AndHttp11);
  SslPtr server = NewServer("api.anthropic.com");
  ASSERT_TRUE(client && server);
  // Security level 0 on both ends lets TLS 1.1 through everything but the context's minimum.
  SSL_set_security_level(client.get(), 0);
  SSL_set_security_level(server.get(), 0);
  SSL_set_min_proto_version(client.get(), TLS1_VERSION);
  SSL_set_max_proto_version(client.get(), TLS1_1_VERSION);
  Handshake h = RunHandshake(client.get(), server.get());
  EXPECT_FALSE(h.server_ok);
  EXPECT_FALSE(h.client_ok);
}

TEST_F(HandshakeTest, AnSslFromAnEvictedContextStillHandshakes) {
  minter_ = LoadMinter(files_, /*max_hosts=*/1);
  ASSERT_TRUE(minter_);
  SslPtr server = NewServer("api.anthropic.com");
  ASSERT_TRUE(minter_->ServerContextFor("other.example").ok());  // evicts api.anthropic.com
  SslPtr client = NewClient("api.anthropic.com", kH2AndHttp11);
  ASSERT_TRUE(client && server);
  Handshake h = RunHandshake(client.get(), server.get());
  ASSERT_TRUE(h.client_ok) << h.client_error;
  ASSERT_TRUE(h.server_ok) << h.server_error;
}

}  // namespace
}  // namespace td::proxy
