// Record's memory is bounded by --max-body-bytes, not by what the upstream sends: the tapedeck
// binary records a 300 MB streamed answer with a 64 MiB cap; the client gets all 300 MB, the
// cassette keeps the first 64 MiB marked truncated, and the process's peak RSS stays under
// 128 MiB.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <string>

#include "cassette/codec.h"
#include "tests/integration/tapedeck_process.h"
#include "tests/support/fake_upstream.h"
#include "tests/support/sanitizers.h"
#include "tests/support/temp_dir.h"

namespace td::testing {
namespace {

// The process's peak resident set (VmHWM), in KiB; 0 when it cannot be read.
uint64_t PeakRssKib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stoull(line.substr(6));
  }
  return 0;
}

// Sends an HTTP/1.0 request (so the answer ends with the connection) and counts the body
// bytes without keeping them. Returns the body size, or -1 on a failure or after 120 s.
int64_t PostAndCountBody(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  const std::string request =
      "POST /v1/messages HTTP/1.0\r\ncontent-type: application/json\r\ncontent-length: 15\r\n\r\n"
      "{\"stream\":true}";
  if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size())) {
    ::close(fd);
    return -1;
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  std::string head;
  int64_t body = 0;
  bool in_body = false;
  char buf[1 << 16];
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 1000) <= 0) continue;
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n < 0) break;
    if (n == 0) {
      ::close(fd);
      return in_body ? body : -1;
    }
    if (in_body) {
      body += n;
      continue;
    }
    head.append(buf, static_cast<size_t>(n));
    const size_t end = head.find("\r\n\r\n");
    if (end != std::string::npos) {
      in_body = true;
      body = static_cast<int64_t>(head.size() - end - 4);
    }
  }
  ::close(fd);
  return -1;
}

TEST(BoundedMemoryTest, ARecordedBodyCostsAtMostTheCapWhateverTheUpstreamSends) {
  ScopedTempDir dir;
  const std::string path = dir.Path("big.jsonl.zst");
  constexpr uint64_t kEvents = 300 * 64;  // 300 MiB in 16 KiB events
  constexpr size_t kEventBytes = 16 * 1024;
  constexpr uint64_t kCap = 64ull << 20;
  FakeUpstream upstream;
  upstream.SetDefault(FakeResponse::GeneratedSse(kEvents, kEventBytes));
  TapedeckProcess rec({"record", "--upstream", upstream.url(), "--cassette", path, "--listen",
                       "127.0.0.1:0", "--max-body-bytes", std::to_string(kCap), "--log-level",
                       "debug"});
  ASSERT_TRUE(rec.WaitListening());
  EXPECT_EQ(PostAndCountBody(rec.port()), static_cast<int64_t>(kEvents * kEventBytes))
      << "the client gets the whole body";
  ASSERT_TRUE(rec.WaitForStderr("recorded seq=1", std::chrono::seconds(120)));
  const uint64_t peak_kib = PeakRssKib(rec.pid());
  rec.Signal(SIGTERM);
  int code = -1;
  ASSERT_TRUE(rec.WaitExit(&code));
  EXPECT_EQ(code, 0) << rec.stderr_text();
  // Under ASan freed memory sits in quarantine: RSS says nothing there.
  if constexpr (!kUnderAddressSanitizer) {
    EXPECT_GT(peak_kib, kCap / 1024) << "the cap's worth of body was held";
    EXPECT_LT(peak_kib, 128u * 1024) << "peak RSS " << peak_kib / 1024 << " MiB";
  }

  Result<cassette::Cassette> c = cassette::ReadCassette(path);
  ASSERT_TRUE(c.ok()) << c.status().message();
  ASSERT_EQ(c->interactions.size(), 1u);
  const cassette::Interaction& cut = c->interactions[0];
  ASSERT_TRUE(cut.response.stream.has_value());
  EXPECT_EQ(cut.response.stream->TotalBytes(), kCap);
  ASSERT_TRUE(cut.truncated.has_value());
  EXPECT_EQ(*cut.truncated, "body over --max-body-bytes: kept the first " + std::to_string(kCap) +
                                " of " + std::to_string(kEvents * kEventBytes) + " bytes");
}

}  // namespace
}  // namespace td::testing
