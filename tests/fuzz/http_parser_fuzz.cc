// File: tests/fuzz/http_parser_fuzz.cc
//
// libFuzzer harness for proxy::internal::HttpParser. Input: one flags byte, then the bytes of a
// connection (one message or several, pipelined). The flags byte picks bit 0: request (0) or
// response (1); bit 1: a response to HEAD; bit 2: small limits (160 header bytes, 6 fields, 256
// body bytes) so the limit paths are reached; bits 3-7 salt the split seed. Property beyond "no
// crash": fed whole, one byte at a time and in seeded random pieces, the connection gives the
// same events: each head's fields, the body bytes, done, the same error, the same end of input.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "cassette/base/log.h"
#include "proxy/internal/http_parser.h"
#include "tests/fuzz/fuzz_support.h"

namespace td::proxy::internal {
namespace {

std::string DescribeHead(const HttpHead& h) {
  std::string out = "head method=" + fuzz::Quote(h.method) + " target=" + fuzz::Quote(h.target) +
                    " status=" + std::to_string(h.status) + " reason=" + fuzz::Quote(h.reason) +
                    " http/1." + std::to_string(h.version_minor) + " headers=[";
  for (const auto& [name, value] : h.headers) out += fuzz::Quote(name) + ":" + fuzz::Quote(value);
  out += "] body_kind=" + std::to_string(static_cast<int>(h.body_kind)) +
         " content_length=" + std::to_string(h.content_length) +
         " keep_alive=" + std::to_string(h.keep_alive) +
         " expect_continue=" + std::to_string(h.expect_continue);
  return out;
}

// Drives one parser over a connection the way HttpServer and UpstreamClient do (Reset after
// each message), and logs what it sees. Body pieces are merged: only their bytes must agree.
class Driver {
 public:
  Driver(MessageKind kind, HttpLimits limits, bool head_request)
      : parser_(kind, limits), head_request_(head_request) {
    parser_.SetHeadRequest(head_request_);
  }

  void Feed(std::string_view input) {
    int idle_steps = 0;
    while (!failed_) {
      const HttpParser::Step s = parser_.Next(input);
      TD_CHECK(s.consumed <= input.size())
          << "consumed " << s.consumed << " of " << input.size() << " bytes";
      idle_steps = s.consumed == 0 ? idle_steps + 1 : 0;
      TD_CHECK(idle_steps < 4) << "the parser makes no progress";
      switch (s.event) {
        case HttpParser::Event::kNeedMore:
          TD_CHECK(s.consumed == input.size())
              << "kNeedMore left " << input.size() - s.consumed << " bytes unconsumed";
          return;
        case HttpParser::Event::kHead:
          log_.push_back(DescribeHead(parser_.head()));
          body_ = 0;
          break;
        case HttpParser::Event::kBody:
          TD_CHECK(!s.body.empty()) << "empty kBody step";
          TD_CHECK(s.body.data() >= input.data() &&
                   s.body.data() + s.body.size() <= input.data() + s.consumed)
              << "the body view is not inside the consumed input";
          if (log_.empty() || !log_.back().starts_with("body ")) log_.emplace_back("body ");
          log_.back() += s.body;
          body_ += s.body.size();
          break;
        case HttpParser::Event::kDone:
          CheckDone();
          log_.emplace_back("done");
          parser_.Reset();
          parser_.SetHeadRequest(head_request_);
          break;
        case HttpParser::Event::kError:
          LogError();
          return;
      }
      input.remove_prefix(s.consumed);
    }
  }

  // The connection closed after the last byte.
  void End() {
    if (failed_) return;
    const HttpParser::Step s = parser_.Eof();
    switch (s.event) {
      case HttpParser::Event::kDone:
        CheckDone();
        log_.emplace_back("eof: done");
        break;
      case HttpParser::Event::kNeedMore:
        log_.emplace_back("eof: clean close");
        break;
      case HttpParser::Event::kError:
        log_.emplace_back("eof:");
        LogError();
        break;
      default:
        TD_CHECK(false) << "Eof() returned event " << static_cast<int>(s.event);
    }
  }

  const std::vector<std::string>& log() const { return log_; }

 private:
  void CheckDone() {
    TD_CHECK(parser_.body_bytes() == body_)
        << "body_bytes() is " << parser_.body_bytes() << " but " << body_ << " were delivered";
    const HttpHead& head = parser_.head();
    if (head.body_kind == BodyKind::kLength) {
      TD_CHECK(body_ == head.content_length)
          << "done after " << body_ << " body bytes, content-length " << head.content_length;
    }
  }
  void LogError() {
    failed_ = true;
    log_.push_back("error " + std::to_string(parser_.error().status) + " " +
                   parser_.error().reason);
  }

  HttpParser parser_;
  bool head_request_;
  bool failed_ = false;
  std::uint64_t body_ = 0;
  std::vector<std::string> log_;
};

std::vector<std::string> Run(MessageKind kind, HttpLimits limits, bool head_request,
                             std::string_view input, const std::vector<size_t>& pieces) {
  Driver driver(kind, limits, head_request);
  size_t pos = 0;
  for (size_t n : pieces) {
    driver.Feed(input.substr(pos, n));
    pos += n;
  }
  driver.End();
  return driver.log();
}

void CheckSame(const std::vector<std::string>& whole, const std::vector<std::string>& split,
               std::string_view how) {
  const size_t n = std::min(whole.size(), split.size());
  for (size_t i = 0; i < n; ++i) {
    TD_CHECK(whole[i] == split[i]) << "event " << i << " differs when fed " << how << ": whole "
                                   << fuzz::Quote(whole[i]) << ", split " << fuzz::Quote(split[i]);
  }
  TD_CHECK(whole.size() == split.size())
      << "fed " << how << ": " << split.size() << " events instead of " << whole.size()
      << "; the extra one: " << fuzz::Quote(whole.size() > split.size() ? whole[n] : split[n]);
}

}  // namespace
}  // namespace td::proxy::internal

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace td::proxy::internal;
  if (size == 0) return 0;
  const uint8_t flags = data[0];
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  const MessageKind kind = (flags & 1) != 0 ? MessageKind::kResponse : MessageKind::kRequest;
  const bool head_request = (flags & 2) != 0;
  HttpLimits limits;
  if ((flags & 4) != 0) {
    limits.max_header_bytes = 160;
    limits.max_headers = 6;
    limits.max_body_bytes = 256;
  }
  const std::uint64_t seed = td::fuzz::HashBytes(input) ^ (std::uint64_t{flags} << 56);

  const auto whole = Run(kind, limits, head_request, input, {input.size()});
  CheckSame(whole, Run(kind, limits, head_request, input, std::vector<size_t>(input.size(), 1)),
            "one byte at a time");
  CheckSame(whole,
            Run(kind, limits, head_request, input, td::fuzz::PieceLengths(input.size(), seed)),
            "in random pieces");
  return 0;
}
