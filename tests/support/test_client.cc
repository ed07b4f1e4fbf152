// TestClient: a blocking raw-socket HTTP/1.1 client with deadlines and its own small response
// decoder (deliberately not the proxy's parser, so the two check each other).
#include "tests/support/test_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>

namespace td::testing {
namespace {

using Clock = std::chrono::steady_clock;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

const char* EndName(ClientResponse::End end) {
  switch (end) {
    case ClientResponse::End::kNone:
      return "open";
    case ClientResponse::End::kComplete:
      return "complete";
    case ClientResponse::End::kEof:
      return "eof";
    case ClientResponse::End::kReset:
      return "reset";
  }
  return "?";
}

TestClient::TestClient(uint16_t port, std::string host) : host_(std::move(host)), port_(port) {}

TestClient::~TestClient() { Close(); }

::testing::AssertionResult TestClient::Connect() {
  Close();
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return ::testing::AssertionFailure() << "socket: " << std::strerror(errno);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port_);
  if (inet_pton(AF_INET, host_.c_str(), &addr.sin_addr) != 1) {
    return ::testing::AssertionFailure() << "bad address " << host_;
  }
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    int err = errno;
    Close();
    return ::testing::AssertionFailure()
           << "connect " << host_ << ":" << port_ << ": " << std::strerror(err);
  }
  int one = 1;
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  in_.clear();
  closed_by_peer_ = false;
  reset_by_peer_ = false;
  return ::testing::AssertionSuccess();
}

void TestClient::Close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

::testing::AssertionResult TestClient::Send(std::string_view bytes) {
  if (fd_ < 0) return ::testing::AssertionFailure() << "not connected";
  while (!bytes.empty()) {
    ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ::testing::AssertionFailure() << "send: " << std::strerror(errno);
    }
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return ::testing::AssertionSuccess();
}

std::string TestClient::BuildRequest(std::string_view method, std::string_view target,
                                     const cassette::Headers& headers, std::string_view body) {
  std::string out;
  out += method;
  out += ' ';
  out += target;
  out += " HTTP/1.1\r\n";
  bool has_host = false;
  for (const auto& [name, value] : headers) {
    if (cassette::HeaderNameEquals(name, "host")) has_host = true;
  }
  if (!has_host) out += "Host: tapedeck.test\r\n";
  for (const auto& [name, value] : headers) out += name + ": " + value + "\r\n";
  if (!body.empty() || method == "POST" || method == "PUT") {
    out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  }
  out += "\r\n";
  out += body;
  return out;
}

TestClient::Fill TestClient::FillOnce(Clock::time_point deadline) {
  if (fd_ < 0 || closed_by_peer_) return Fill::kEof;
  if (reset_by_peer_) return Fill::kReset;
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() < 0) return Fill::kTimeout;
    pollfd p{fd_, POLLIN, 0};
    int ready = ::poll(&p, 1, static_cast<int>(left.count()) + 1);
    if (ready < 0 && errno == EINTR) continue;
    if (ready == 0) {
      if (Clock::now() >= deadline) return Fill::kTimeout;
      continue;
    }
    char buf[65536];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n > 0) {
      in_.append(buf, static_cast<size_t>(n));
      return Fill::kData;
    }
    if (n == 0) {
      closed_by_peer_ = true;
      return Fill::kEof;
    }
    if (errno == EINTR || errno == EAGAIN) continue;
    reset_by_peer_ = true;
    return Fill::kReset;
  }
}

bool TestClient::WaitReadable(std::chrono::milliseconds timeout) {
  if (!in_.empty() || closed_by_peer_ || reset_by_peer_ || fd_ < 0) return true;
  const auto deadline = Clock::now() + timeout;
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() < 0) return false;
    pollfd p{fd_, POLLIN, 0};
    int ready = ::poll(&p, 1, static_cast<int>(left.count()));
    if (ready > 0) return true;
    if (ready == 0 && Clock::now() >= deadline) return false;
    if (ready < 0 && errno != EINTR) return true;  // let the next read report it
  }
}

::testing::AssertionResult TestClient::ReadHead(ClientResponse* response,
                                                std::chrono::milliseconds timeout,
                                                bool head_request) {
  *response = ClientResponse();
  const auto deadline = Clock::now() + timeout;
  size_t end;
  while ((end = in_.find("\r\n\r\n")) == std::string::npos) {
    Fill f = FillOnce(deadline);
    if (f == Fill::kTimeout) {
      return ::testing::AssertionFailure()
             << "timed out waiting for a response head; got " << ::testing::PrintToString(in_);
    }
    if (f != Fill::kData) {
      response->end = f == Fill::kReset ? ClientResponse::End::kReset : ClientResponse::End::kEof;
      return ::testing::AssertionFailure()
             << "connection ended before a response head (" << EndName(response->end) << "); got "
             << ::testing::PrintToString(in_);
    }
  }
  std::string head = in_.substr(0, end + 2);
  in_.erase(0, end + 4);
  size_t line_end = head.find("\r\n");
  std::string status_line = head.substr(0, line_end);
  if (status_line.size() < 12 || status_line.compare(0, 5, "HTTP/") != 0) {
    return ::testing::AssertionFailure() << "bad status line: " << status_line;
  }
  response->status = std::stoi(status_line.substr(9, 3));
  response->reason = status_line.size() > 13 ? status_line.substr(13) : "";
  size_t pos = line_end + 2;
  while (pos < head.size()) {
    size_t next = head.find("\r\n", pos);
    std::string_view line(head.data() + pos, next - pos);
    pos = next + 2;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) {
      return ::testing::AssertionFailure() << "bad header line: " << line;
    }
    response->headers.emplace_back(std::string(line.substr(0, colon)),
                                   std::string(Trim(line.substr(colon + 1))));
  }
  const std::string* te = cassette::FindHeader(response->headers, "transfer-encoding");
  const std::string* cl = cassette::FindHeader(response->headers, "content-length");
  if (head_request || response->status == 204 || response->status == 304 ||
      response->status < 200) {
    state_ = State::kDone;
  } else if (te && Lower(*te).find("chunked") != std::string::npos) {
    response->chunked = true;
    state_ = State::kChunkSize;
  } else if (cl) {
    remaining_ = std::stoull(*cl);
    state_ = remaining_ == 0 ? State::kDone : State::kLength;
  } else {
    state_ = State::kUntilClose;
  }
  if (state_ == State::kDone) response->end = ClientResponse::End::kComplete;
  return ::testing::AssertionSuccess();
}

bool TestClient::Decode(ClientResponse* response) {
  while (true) {
    switch (state_) {
      case State::kDone:
        return true;
      case State::kUntilClose:
        response->body += in_;
        in_.clear();
        return false;
      case State::kLength: {
        size_t n = static_cast<size_t>(std::min<uint64_t>(remaining_, in_.size()));
        response->body.append(in_, 0, n);
        in_.erase(0, n);
        remaining_ -= n;
        if (remaining_ > 0) return false;
        state_ = State::kDone;
        continue;
      }
      case State::kChunkSize: {
        size_t eol = in_.find("\r\n");
        if (eol == std::string::npos) return false;
        remaining_ = std::stoull(in_.substr(0, eol), nullptr, 16);
        in_.erase(0, eol + 2);
        if (remaining_ == 0) {
          state_ = State::kTrailers;
        } else {
          response->chunk_sizes.push_back(static_cast<size_t>(remaining_));
          state_ = State::kChunkData;
        }
        continue;
      }
      case State::kChunkData: {
        size_t n = static_cast<size_t>(std::min<uint64_t>(remaining_, in_.size()));
        response->body.append(in_, 0, n);
        in_.erase(0, n);
        remaining_ -= n;
        if (remaining_ > 0) return false;
        state_ = State::kChunkEnd;
        continue;
      }
      case State::kChunkEnd:
        if (in_.size() < 2) return false;
        in_.erase(0, 2);
        state_ = State::kChunkSize;
        continue;
      case State::kTrailers: {
        size_t eol = in_.find("\r\n");
        if (eol == std::string::npos) return false;
        in_.erase(0, eol + 2);
        if (eol == 0) state_ = State::kDone;
        continue;
      }
    }
  }
}

::testing::AssertionResult TestClient::ReadBodyUntil(
    ClientResponse* response, const std::function<bool(const std::string&)>& done,
    std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (true) {
    bool complete = Decode(response);
    if (done(response->body)) return ::testing::AssertionSuccess();
    if (complete) {
      response->end = ClientResponse::End::kComplete;
      return ::testing::AssertionFailure() << "the response ended before the expected bytes; body "
                                           << ::testing::PrintToString(response->body);
    }
    Fill f = FillOnce(deadline);
    if (f == Fill::kData) continue;
    if (f == Fill::kTimeout) {
      return ::testing::AssertionFailure()
             << "timed out; body so far " << ::testing::PrintToString(response->body);
    }
    Decode(response);
    response->end = f == Fill::kReset ? ClientResponse::End::kReset : ClientResponse::End::kEof;
    if (done(response->body)) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << "connection ended (" << EndName(response->end)
                                         << "); body " << ::testing::PrintToString(response->body);
  }
}

::testing::AssertionResult TestClient::ReadToEnd(ClientResponse* response,
                                                 std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (true) {
    if (Decode(response)) {
      response->end = ClientResponse::End::kComplete;
      return ::testing::AssertionSuccess();
    }
    Fill f = FillOnce(deadline);
    if (f == Fill::kData) continue;
    if (f == Fill::kTimeout) {
      return ::testing::AssertionFailure()
             << "timed out reading the body; so far " << ::testing::PrintToString(response->body);
    }
    Decode(response);
    response->end = f == Fill::kReset ? ClientResponse::End::kReset : ClientResponse::End::kEof;
    return ::testing::AssertionSuccess();
  }
}

::testing::AssertionResult TestClient::ReadResponse(ClientResponse* response,
                                                    std::chrono::milliseconds timeout) {
  ::testing::AssertionResult head = ReadHead(response, timeout);
  if (!head) return head;
  ::testing::AssertionResult body = ReadToEnd(response, timeout);
  if (!body) return body;
  if (response->end == ClientResponse::End::kComplete ||
      (state_ == State::kUntilClose && response->end == ClientResponse::End::kEof)) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure() << "response ended early (" << EndName(response->end)
                                       << "); body " << ::testing::PrintToString(response->body);
}

::testing::AssertionResult TestClient::ReadUntilClosed(std::string* raw,
                                                       std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (true) {
    Fill f = FillOnce(deadline);
    if (f == Fill::kData) continue;
    raw->append(in_);
    in_.clear();
    if (f == Fill::kTimeout) {
      return ::testing::AssertionFailure()
             << "the server did not close the connection; got " << ::testing::PrintToString(*raw);
    }
    return ::testing::AssertionSuccess();
  }
}

}  // namespace td::testing
