// File: proxy/internal/http_parser.h
//
// An incremental HTTP/1.x message parser, pure (bytes in, no I/O), for requests (HttpServer) and
// responses (UpstreamClient). Input may be split anywhere. It is strict where leniency enables
// request smuggling (RFC 9112): conflicting or malformed Content-Length, Transfer-Encoding with
// Content-Length, obsolete line folding, whitespace before the colon, bare CR, bad chunk sizes.
// Every malformed input ends in kError with a status to answer and a plain lower-case reason.
//
//   HttpParser p(MessageKind::kRequest, limits);
//   for (;;) {
//     HttpParser::Step s = p.Next(input);   // s.body views `input`: use it before input changes
//     input.remove_prefix(s.consumed);
//     ... kHead: p.head() is ready; kBody: s.body; kDone: message complete; kError: p.error()
//   }
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "cassette/model.h"

namespace td::proxy::internal {

struct HttpLimits {
  size_t max_header_bytes = 64 * 1024;  // start line + fields, line ends included; trailers alike
  size_t max_headers = 256;             // header fields per message
  uint64_t max_body_bytes = 64ull << 20;
};

enum class MessageKind { kRequest, kResponse };

enum class BodyKind {
  kNone,        // no body (no framing headers on a request; HEAD/1xx/204/304 responses)
  kLength,      // Content-Length bytes
  kChunked,     // Transfer-Encoding: chunked
  kUntilClose,  // responses only: the body runs until the connection closes
};

struct HttpHead {
  // Requests.
  std::string method;
  std::string target;
  // Responses.
  int status = 0;
  std::string reason;

  int version_minor = 1;  // HTTP/1.<version_minor>: 0 or 1
  cassette::Headers headers;

  // Derived from the fields above.
  BodyKind body_kind = BodyKind::kNone;
  uint64_t content_length = 0;   // for kLength
  bool keep_alive = true;        // the connection may carry another message after this one
  bool expect_continue = false;  // request said "Expect: 100-continue"
};

struct HttpParseError {
  int status = 400;    // what to answer a client with: 400, 413, 414, 417, 431, 501, 505
  std::string reason;  // "invalid content-length", safe to show the peer
};

class HttpParser {
 public:
  enum class Event {
    kNeedMore,  // all of `input` was consumed; feed more
    kHead,      // the head is complete: head() is valid (returned once per message)
    kBody,      // `body` holds the next body bytes (a view into the input)
    kDone,      // the message is complete; call Reset() before parsing the next one
    kError,     // error() says why; the parser stays in error
  };
  struct Step {
    Event event = Event::kNeedMore;
    size_t consumed = 0;    // bytes of the input used by this step (framing and body)
    std::string_view body;  // for kBody: a view into the input passed to Next()
  };

  HttpParser(MessageKind kind, HttpLimits limits);

  // For a response: the request was HEAD, so there is no body whatever the headers say.
  // Cleared by Reset().
  void SetHeadRequest(bool head_request) { head_request_ = head_request; }

  // Parses from `input`. Never consumes bytes past the end of the current message.
  Step Next(std::string_view input);
  // The peer closed the connection: kDone when that ends the message (a body read until
  // close), kNeedMore when no byte of a message had arrived (a clean close between messages),
  // kError otherwise.
  Step Eof();
  // Ready for the next message on the same connection.
  void Reset();

  const HttpHead& head() const { return head_; }
  HttpHead& mutable_head() { return head_; }
  const HttpParseError& error() const { return error_; }
  // True once any byte of the current message has been consumed.
  bool started() const { return started_; }
  uint64_t body_bytes() const { return body_bytes_; }

 private:
  enum class State {
    kStartLine,
    kFields,
    kLengthBody,
    kChunkSize,
    kChunkData,
    kChunkDataEnd,
    kTrailers,
    kUntilClose,
    kDone,
    kError,
  };

  // Appends input[*pos..] up to and including the next '\n' to line_ (without the '\n');
  // true when the line is complete. Sets *overflow instead when that would take more than
  // `limit` bytes of input.
  bool TakeLine(std::string_view input, size_t* pos, size_t limit, bool* overflow);
  Step Fail(int status, std::string reason, size_t consumed);
  bool MethodPrefixValid();  // the partial request line's method has only token characters
  bool ParseRequestLine(std::string_view line);
  bool ParseStatusLine(std::string_view line);
  bool ParseField(std::string_view line, bool trailer);
  bool FinishHead();
  bool ParseChunkSize(std::string_view line);

  MessageKind kind_;
  HttpLimits limits_;
  State state_ = State::kStartLine;
  HttpHead head_;
  HttpParseError error_;
  std::string line_;         // the line being collected
  size_t head_bytes_ = 0;    // bytes of start line + fields (or trailers) so far
  size_t empty_lines_ = 0;   // empty lines before a request line
  uint64_t remaining_ = 0;   // body or chunk bytes left
  uint64_t body_bytes_ = 0;  // body bytes delivered
  bool head_request_ = false;
  bool started_ = false;
  int chunk_end_seen_ = 0;  // bytes of the CRLF after chunk data seen
  size_t method_scan_ = 0;  // bytes of a partial request line checked (SIZE_MAX: method done)
};

// True for RFC 9110 token characters (method names, header names).
bool IsTokenChar(unsigned char c);

}  // namespace td::proxy::internal
