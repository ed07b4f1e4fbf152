// The incremental HTTP/1.x parser: start line, fields, framing (RFC 9112 section 6), chunked
// bodies with extensions and trailers. Lines are collected into line_ so input may be split at
// any byte; body bytes are returned as views into the caller's input, never copied.
#include "proxy/internal/http_parser.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>
#include <vector>

#include "cassette/base/ascii.h"

namespace td::proxy::internal {
namespace {

constexpr size_t kMaxChunkLineBytes = 4096;  // chunk size plus extensions
constexpr size_t kMaxEmptyLinesBeforeRequest = 8;

// Splits a comma-separated field value into trimmed elements; empty elements are dropped
// (RFC 9110 section 5.6.1 lets recipients ignore them).
// Calls `each` with every non-empty item of a comma-separated header value, trimmed.
template <typename Each>
void ForEachListItem(std::string_view value, Each&& each) {
  while (true) {
    size_t comma = value.find(',');
    std::string_view item = TrimSpaceAndTab(value.substr(0, comma));
    if (!item.empty()) each(item);
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
}

void SplitList(std::string_view value, std::vector<std::string_view>* out) {
  ForEachListItem(value, [out](std::string_view item) { out->push_back(item); });
}

// Whether `name` is `lower` (a lower-case field name) in any case; the length is compared
// first, so the fields FinishHead does not look for cost one comparison each.
bool IsField(std::string_view name, std::string_view lower) {
  return name.size() == lower.size() && cassette::HeaderNameEquals(name, lower);
}

// "HTTP/1.1" -> major 1, minor 1. False when the text is not "HTTP/" DIGIT "." DIGIT.
bool ParseVersion(std::string_view text, int* major, int* minor) {
  if (text.size() != 8 || text.substr(0, 5) != "HTTP/" || text[6] != '.') return false;
  if (text[5] < '0' || text[5] > '9' || text[7] < '0' || text[7] > '9') return false;
  *major = text[5] - '0';
  *minor = text[7] - '0';
  return true;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

bool IsTokenChar(unsigned char c) {
  // RFC 9110 tchar, as a table: every byte of every field name is asked.
  static constexpr auto kTokenChars = [] {
    std::array<bool, 256> table{};
    for (int b = 0; b < 256; ++b) table[b] = IsAlnum(static_cast<char>(b));
    for (unsigned char b : std::string_view("!#$%&'*+-.^_`|~")) table[b] = true;
    return table;
  }();
  return kTokenChars[c];
}

HttpParser::HttpParser(MessageKind kind, HttpLimits limits) : kind_(kind), limits_(limits) {}

void HttpParser::Reset() {
  state_ = State::kStartLine;
  head_ = HttpHead();
  error_ = HttpParseError();
  line_.clear();
  head_bytes_ = 0;
  empty_lines_ = 0;
  remaining_ = 0;
  body_bytes_ = 0;
  head_request_ = false;
  started_ = false;
  chunk_end_seen_ = 0;
  method_scan_ = 0;
}

HttpParser::Step HttpParser::Fail(int status, std::string reason, size_t consumed) {
  state_ = State::kError;
  error_.status = status;
  error_.reason = std::move(reason);
  return Step{Event::kError, consumed, {}};
}

bool HttpParser::TakeLine(std::string_view input, size_t* pos, size_t limit, bool* overflow) {
  size_t start = *pos;
  const void* nl = std::memchr(input.data() + start, '\n', input.size() - start);
  size_t end = nl ? static_cast<size_t>(static_cast<const char*>(nl) - input.data()) : input.size();
  size_t take = end - start + (nl ? 1 : 0);
  if (take > limit) {
    *overflow = true;
    return false;
  }
  line_.append(input.data() + start, end - start);
  *pos = start + take;
  return nl != nullptr;
}

HttpParser::Step HttpParser::Next(std::string_view input) {
  size_t pos = 0;
  while (true) {
    switch (state_) {
      case State::kStartLine:
      case State::kFields:
      case State::kTrailers: {
        if (pos == input.size()) return Step{Event::kNeedMore, pos, {}};
        started_ = true;
        const bool trailers = state_ == State::kTrailers;
        size_t before = pos;
        bool overflow = false;
        size_t budget = limits_.max_header_bytes - std::min(head_bytes_, limits_.max_header_bytes);
        bool complete = TakeLine(input, &pos, budget, &overflow);
        // A request's method is judged on the line's bytes as they arrive, before its line end,
        // a bare CR or the size limit: a TLS handshake sent to a plain port (no line end to wait
        // for) is rejected at once, and the verdict never depends on how the input was split.
        const bool judge_method = state_ == State::kStartLine && kind_ == MessageKind::kRequest;
        if (overflow && judge_method) {
          line_.append(input.substr(before, budget));  // the bytes that fit, as pieces would
          if (!MethodPrefixValid()) return Fail(400, "invalid character in method", pos);
        }
        if (overflow) {
          if (trailers) return Fail(431, "chunked trailer section too large", pos);
          if (kind_ == MessageKind::kResponse) return Fail(502, "response head too large", pos);
          if (state_ == State::kStartLine) return Fail(414, "request line too long", pos);
          return Fail(431, "request header fields too large", pos);
        }
        head_bytes_ += pos - before;
        if (judge_method && !MethodPrefixValid()) {
          return Fail(400, "invalid character in method", pos);
        }
        if (!complete) return Step{Event::kNeedMore, pos, {}};
        std::string_view line = line_;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (line.find('\r') != std::string_view::npos) {
          return Fail(400, "bare carriage return in message head", pos);
        }
        if (state_ == State::kStartLine) {
          if (line.empty()) {
            // RFC 9112 section 2.2: ignore empty lines before a request line (but not forever).
            if (kind_ == MessageKind::kRequest && ++empty_lines_ <= kMaxEmptyLinesBeforeRequest) {
              line_.clear();
              method_scan_ = 0;
              continue;
            }
            return Fail(400, "empty line where the start line should be", pos);
          }
          bool ok = kind_ == MessageKind::kRequest ? ParseRequestLine(line) : ParseStatusLine(line);
          if (!ok) return Step{Event::kError, pos, {}};
          line_.clear();
          state_ = State::kFields;
          continue;
        }
        if (!line.empty()) {
          if (!ParseField(line, trailers)) return Step{Event::kError, pos, {}};
          line_.clear();
          continue;
        }
        line_.clear();
        if (trailers) {
          state_ = State::kDone;
          continue;
        }
        if (!FinishHead()) return Step{Event::kError, pos, {}};
        if (kind_ == MessageKind::kResponse && head_.status < 200) {
          // An interim response (100 Continue, 103 Early Hints): skip it, read the real one.
          bool head_request = head_request_;
          head_ = HttpHead();
          head_bytes_ = 0;
          head_request_ = head_request;
          state_ = State::kStartLine;
          continue;
        }
        switch (head_.body_kind) {
          case BodyKind::kNone:
            state_ = State::kDone;
            break;
          case BodyKind::kLength:
            remaining_ = head_.content_length;
            state_ = remaining_ == 0 ? State::kDone : State::kLengthBody;
            break;
          case BodyKind::kChunked:
            state_ = State::kChunkSize;
            break;
          case BodyKind::kUntilClose:
            state_ = State::kUntilClose;
            break;
        }
        return Step{Event::kHead, pos, {}};
      }
      case State::kLengthBody:
      case State::kChunkData: {
        if (pos == input.size()) return Step{Event::kNeedMore, pos, {}};
        size_t n = static_cast<size_t>(
            std::min<uint64_t>(remaining_, static_cast<uint64_t>(input.size() - pos)));
        Step step{Event::kBody, pos + n, input.substr(pos, n)};
        remaining_ -= n;
        body_bytes_ += n;
        if (remaining_ == 0) {
          if (state_ == State::kLengthBody) {
            state_ = State::kDone;
          } else {
            state_ = State::kChunkDataEnd;
            chunk_end_seen_ = 0;
          }
        }
        return step;
      }
      case State::kChunkDataEnd: {
        while (chunk_end_seen_ < 2) {
          if (pos == input.size()) return Step{Event::kNeedMore, pos, {}};
          char expected = chunk_end_seen_ == 0 ? '\r' : '\n';
          if (input[pos] != expected) return Fail(400, "chunk data not followed by crlf", pos);
          ++pos;
          ++chunk_end_seen_;
        }
        state_ = State::kChunkSize;
        continue;
      }
      case State::kChunkSize: {
        if (pos == input.size()) return Step{Event::kNeedMore, pos, {}};
        bool overflow = false;
        bool complete = TakeLine(input, &pos, kMaxChunkLineBytes - line_.size(), &overflow);
        if (overflow) return Fail(400, "chunk size line too long", pos);
        if (!complete) return Step{Event::kNeedMore, pos, {}};
        std::string_view line = line_;
        if (line.empty() || line.back() != '\r') {
          return Fail(400, "chunk size line not ended by crlf", pos);
        }
        line.remove_suffix(1);
        if (!ParseChunkSize(line)) return Step{Event::kError, pos, {}};
        line_.clear();
        if (remaining_ == 0) {
          state_ = State::kTrailers;
          head_bytes_ = 0;
        } else {
          state_ = State::kChunkData;
        }
        continue;
      }
      case State::kUntilClose: {
        if (pos == input.size()) return Step{Event::kNeedMore, pos, {}};
        // Bytes up to the limit are delivered and the first byte past it is the error,
        // whatever the splits (failing a whole piece would lose the part that fit).
        const uint64_t room = limits_.max_body_bytes - body_bytes_;
        if (room == 0) return Fail(502, "response body larger than the limit", pos);
        const size_t n = static_cast<size_t>(
            std::min<uint64_t>(room, static_cast<uint64_t>(input.size() - pos)));
        body_bytes_ += n;
        return Step{Event::kBody, pos + n, input.substr(pos, n)};
      }
      case State::kDone:
        return Step{Event::kDone, pos, {}};
      case State::kError:
        return Step{Event::kError, pos, {}};
    }
  }
}

HttpParser::Step HttpParser::Eof() {
  switch (state_) {
    case State::kUntilClose:
      state_ = State::kDone;
      return Step{Event::kDone, 0, {}};
    case State::kDone:
      return Step{Event::kDone, 0, {}};
    case State::kError:
      return Step{Event::kError, 0, {}};
    case State::kStartLine:
      // Nothing, or only blank lines, arrived: a clean close between messages.
      if (line_.empty()) return Step{Event::kNeedMore, 0, {}};
      return Fail(400, "connection closed before the head ended", 0);
    case State::kFields:
      return Fail(400, "connection closed before the head ended", 0);
    default:
      return Fail(400, "connection closed before the body ended", 0);
  }
}

bool HttpParser::MethodPrefixValid() {
  // Scans only bytes not scanned before, up to the first space.
  for (; method_scan_ < line_.size(); ++method_scan_) {
    char c = line_[method_scan_];
    if (c == ' ' || c == '\r') {
      // The method ended, or a CR that the complete line will judge: nothing more to check.
      method_scan_ = SIZE_MAX;
      return true;
    }
    if (!IsTokenChar(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

bool HttpParser::ParseRequestLine(std::string_view line) {
  size_t sp1 = line.find(' ');
  // The method first, as MethodPrefixValid() judges a partial line: same verdict either way.
  for (char c : line.substr(0, sp1)) {
    if (!IsTokenChar(static_cast<unsigned char>(c))) {
      Fail(400, "invalid character in method", 0);
      return false;
    }
  }
  if (sp1 == std::string_view::npos || sp1 == 0) {
    Fail(400, "malformed request line", 0);
    return false;
  }
  std::string_view method = line.substr(0, sp1);
  std::string_view rest = line.substr(sp1 + 1);
  size_t sp2 = rest.find(' ');
  if (sp2 == std::string_view::npos) {
    Fail(400, "malformed request line", 0);
    return false;
  }
  std::string_view target = rest.substr(0, sp2);
  std::string_view version = rest.substr(sp2 + 1);
  if (target.empty()) {
    Fail(400, "malformed request line", 0);
    return false;
  }
  for (char c : target) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f || c == '#') {
      Fail(400, "invalid character in request target", 0);
      return false;
    }
  }
  int major = 0;
  int minor = 0;
  if (!ParseVersion(version, &major, &minor)) {
    Fail(400, "malformed http version", 0);
    return false;
  }
  if (major != 1) {
    Fail(505, "http version not supported", 0);
    return false;
  }
  // CONNECT names an authority ("host:443"), which the server checks (forward-proxy mode).
  const bool authority_form =
      method == "CONNECT" && target.front() != '/' && target.find('/') == std::string_view::npos;
  if (method == "CONNECT" && !authority_form) {
    Fail(400, "CONNECT needs a host:port target", 0);
    return false;
  }
  bool origin_form = target.front() == '/';
  bool asterisk_form = target == "*" && method == "OPTIONS";
  bool absolute_form =
      StartsWithIgnoreCaseAt(target, 0, "http://") || StartsWithIgnoreCaseAt(target, 0, "https://");
  if (!origin_form && !asterisk_form && !absolute_form && !authority_form) {
    Fail(400, "invalid request target", 0);
    return false;
  }
  head_.method = std::string(method);
  head_.target = std::string(target);
  head_.version_minor = minor == 0 ? 0 : 1;
  return true;
}

bool HttpParser::ParseStatusLine(std::string_view line) {
  int major = 0;
  int minor = 0;
  if (line.size() < 12 || !ParseVersion(line.substr(0, 8), &major, &minor) || line[8] != ' ') {
    Fail(502, "malformed status line", 0);
    return false;
  }
  if (major != 1) {
    Fail(502, "unsupported http version in status line", 0);
    return false;
  }
  int status = 0;
  for (size_t i = 9; i < 12; ++i) {
    if (line[i] < '0' || line[i] > '9') {
      Fail(502, "malformed status code", 0);
      return false;
    }
    status = status * 10 + (line[i] - '0');
  }
  if (status < 100) {
    Fail(502, "malformed status code", 0);
    return false;
  }
  std::string_view reason;
  if (line.size() > 12) {
    if (line[12] != ' ') {
      Fail(502, "malformed status line", 0);
      return false;
    }
    reason = line.substr(13);
  }
  for (char c : reason) {
    auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\t') || u == 0x7f) {
      Fail(502, "invalid character in reason phrase", 0);
      return false;
    }
  }
  head_.status = status;
  head_.reason = std::string(reason);
  head_.version_minor = minor == 0 ? 0 : 1;
  return true;
}

bool HttpParser::ParseField(std::string_view line, bool trailer) {
  const int bad = kind_ == MessageKind::kRequest ? 400 : 502;
  if (IsSpaceOrTab(line.front())) {
    Fail(bad, "obsolete line folding in header field", 0);
    return false;
  }
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) {
    Fail(bad, "header field without a colon", 0);
    return false;
  }
  if (colon == 0) {
    Fail(bad, "empty header field name", 0);
    return false;
  }
  std::string_view name = line.substr(0, colon);
  if (IsSpaceOrTab(name.back())) {
    Fail(bad, "whitespace between header field name and colon", 0);
    return false;
  }
  for (char c : name) {
    if (!IsTokenChar(static_cast<unsigned char>(c))) {
      Fail(bad, "invalid character in header field name", 0);
      return false;
    }
  }
  std::string_view value = TrimSpaceAndTab(line.substr(colon + 1));
  for (char c : value) {
    auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\t') || u == 0x7f) {
      Fail(bad, "invalid character in header field value", 0);
      return false;
    }
  }
  if (trailer) return true;  // validated, then dropped: trailers are not forwarded
  if (head_.headers.size() >= limits_.max_headers) {
    Fail(kind_ == MessageKind::kRequest ? 431 : 502, "too many header fields", 0);
    return false;
  }
  // Room for a usual request's fields at once, rather than growing 1, 2, 4, 8: the head's
  // fields move into the request, so no capacity carries over to the next message.
  if (head_.headers.empty()) head_.headers.reserve(std::min<size_t>(limits_.max_headers, 8));
  head_.headers.emplace_back(std::string(name), std::string(value));
  return true;
}

bool HttpParser::FinishHead() {
  const bool request = kind_ == MessageKind::kRequest;
  const int bad = request ? 400 : 502;
  bool has_length = false;
  uint64_t length = 0;
  std::vector<std::string_view> codings;
  bool has_te = false;
  bool conn_close = false;
  bool conn_keep_alive = false;
  int hosts = 0;
  for (const auto& [name, value] : head_.headers) {
    if (IsField(name, "content-length")) {
      // The first problem in the list is the one reported.
      const char* error = nullptr;
      size_t items = 0;
      ForEachListItem(value, [&](std::string_view item) {
        ++items;
        if (error != nullptr) return;
        uint64_t v = 0;
        for (char c : item) {
          if (c < '0' || c > '9' || item.size() > 19) {
            error = "invalid content-length";
            return;
          }
          v = v * 10 + static_cast<uint64_t>(c - '0');
        }
        if (has_length && v != length) {
          error = "conflicting content-length values";
          return;
        }
        has_length = true;
        length = v;
      });
      if (items == 0) error = "invalid content-length";
      if (error != nullptr) {
        Fail(bad, error, 0);
        return false;
      }
    } else if (IsField(name, "transfer-encoding")) {
      has_te = true;
      SplitList(value, &codings);
    } else if (IsField(name, "connection")) {
      ForEachListItem(value, [&](std::string_view item) {
        if (cassette::HeaderNameEquals(item, "close")) conn_close = true;
        if (cassette::HeaderNameEquals(item, "keep-alive")) conn_keep_alive = true;
      });
    } else if (IsField(name, "host")) {
      ++hosts;
    } else if (request && IsField(name, "expect")) {
      if (!cassette::HeaderNameEquals(TrimSpaceAndTab(value), "100-continue")) {
        Fail(417, "unsupported expectation", 0);
        return false;
      }
      head_.expect_continue = head_.version_minor >= 1;
    }
  }
  if (request) {
    if (hosts > 1) {
      Fail(400, "more than one host header", 0);
      return false;
    }
    if (hosts == 0 && head_.version_minor >= 1) {
      Fail(400, "missing host header", 0);
      return false;
    }
  } else if (head_.status == 101) {
    Fail(502, "unexpected 101 switching protocols", 0);
    return false;
  }
  head_.keep_alive = head_.version_minor >= 1 ? !conn_close : (conn_keep_alive && !conn_close);

  const bool no_body = !request && (head_request_ || head_.status < 200 || head_.status == 204 ||
                                    head_.status == 304);
  if (has_te) {
    if (request && head_.version_minor == 0) {
      Fail(400, "transfer-encoding in an http/1.0 request", 0);
      return false;
    }
    if (request && has_length) {
      Fail(400, "both content-length and transfer-encoding", 0);
      return false;
    }
    if (codings.empty()) {
      Fail(bad, "empty transfer-encoding", 0);
      return false;
    }
    size_t chunked = 0;
    for (std::string_view c : codings) {
      if (cassette::HeaderNameEquals(c, "chunked")) ++chunked;
    }
    if (!cassette::HeaderNameEquals(codings.back(), "chunked")) {
      Fail(bad, "transfer-encoding does not end in chunked", 0);
      return false;
    }
    if (chunked > 1) {
      Fail(bad, "chunked transfer-encoding applied twice", 0);
      return false;
    }
    if (codings.size() > 1) {
      Fail(request ? 501 : 502,
           "transfer-encoding " + ToLowerAscii(codings.front()) + " is not supported", 0);
      return false;
    }
  }
  if (no_body) {
    head_.body_kind = BodyKind::kNone;
  } else if (has_te) {
    head_.body_kind = BodyKind::kChunked;
  } else if (has_length) {
    if (length > limits_.max_body_bytes) {
      Fail(request ? 413 : 502,
           "body of " + std::to_string(length) + " bytes is larger than the limit of " +
               std::to_string(limits_.max_body_bytes),
           0);
      return false;
    }
    head_.body_kind = BodyKind::kLength;
    head_.content_length = length;
  } else {
    head_.body_kind = request ? BodyKind::kNone : BodyKind::kUntilClose;
  }
  if (head_.body_kind == BodyKind::kUntilClose) head_.keep_alive = false;
  return true;
}

bool HttpParser::ParseChunkSize(std::string_view line) {
  const int bad = kind_ == MessageKind::kRequest ? 400 : 502;
  size_t i = 0;
  uint64_t value = 0;
  for (; i < line.size() && HexValue(line[i]) >= 0; ++i) {
    if (i >= 16) {
      Fail(bad, "chunk size too large", 0);
      return false;
    }
    value = value * 16 + static_cast<uint64_t>(HexValue(line[i]));
  }
  if (i == 0) {
    Fail(bad, "invalid chunk size", 0);
    return false;
  }
  std::string_view ext = line.substr(i);
  while (!ext.empty() && IsSpaceOrTab(ext.front())) ext.remove_prefix(1);
  if (!ext.empty()) {
    if (ext.front() != ';') {
      Fail(bad, "invalid chunk size", 0);
      return false;
    }
    for (char c : ext) {
      auto u = static_cast<unsigned char>(c);
      if ((u < 0x20 && c != '\t') || u == 0x7f) {
        Fail(bad, "invalid character in chunk extension", 0);
        return false;
      }
    }
  }
  if (value > limits_.max_body_bytes - body_bytes_) {
    Fail(kind_ == MessageKind::kRequest ? 413 : 502,
         "body larger than the limit of " + std::to_string(limits_.max_body_bytes) + " bytes", 0);
    return false;
  }
  remaining_ = value;
  return true;
}

}  // namespace td::proxy::internal
