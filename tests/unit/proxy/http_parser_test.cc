// Unit tests for the incremental HTTP/1.x parser: every split point of every message, the RFC
// 9112 framing rules, limits, and the malformed and smuggling-shaped inputs a client may send.
#include "proxy/internal/http_parser.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace td::proxy::internal {
namespace {

using Event = HttpParser::Event;

struct Outcome {
  bool head = false;
  HttpHead parsed;
  std::string body;
  std::vector<std::string> body_pieces;
  bool done = false;
  bool error = false;
  HttpParseError err;
  size_t consumed = 0;  // bytes of input used when the parse stopped
};

bool operator==(const Outcome& a, const Outcome& b) {
  return a.head == b.head && a.parsed.method == b.parsed.method &&
         a.parsed.target == b.parsed.target && a.parsed.status == b.parsed.status &&
         a.parsed.headers == b.parsed.headers && a.parsed.body_kind == b.parsed.body_kind &&
         a.parsed.keep_alive == b.parsed.keep_alive && a.body == b.body && a.done == b.done &&
         a.error == b.error && a.err.status == b.err.status && a.err.reason == b.err.reason &&
         (a.error || a.consumed == b.consumed);  // where an error stops depends on the splits
}

std::ostream& operator<<(std::ostream& os, const Outcome& o) {
  return os << "{head=" << o.head << " done=" << o.done << " error=" << o.error << " "
            << o.err.status << " '" << o.err.reason << "' body='" << o.body
            << "' consumed=" << o.consumed << "}";
}

// Feeds `input` cut at `cuts` (ascending offsets) and records what the parser reported. Stops
// at the end of the first message or at an error. With `eof`, reports the end of input after.
Outcome ParsePieces(MessageKind kind, std::string_view input, const std::vector<size_t>& cuts,
                    HttpLimits limits = {}, bool eof = false, bool head_request = false) {
  HttpParser parser(kind, limits);
  parser.SetHeadRequest(head_request);
  Outcome out;
  size_t begin = 0;
  std::vector<size_t> ends = cuts;
  ends.push_back(input.size());
  auto handle = [&](const HttpParser::Step& s) {
    switch (s.event) {
      case Event::kHead:
        EXPECT_FALSE(out.head) << "head reported twice";
        out.head = true;
        out.parsed = parser.head();
        break;
      case Event::kBody:
        EXPECT_TRUE(out.head);
        EXPECT_FALSE(s.body.empty()) << "empty body step";
        out.body.append(s.body);
        out.body_pieces.emplace_back(s.body);
        break;
      case Event::kDone:
        out.done = true;
        break;
      case Event::kError:
        out.error = true;
        out.err = parser.error();
        break;
      case Event::kNeedMore:
        break;
    }
  };
  for (size_t end : ends) {
    std::string_view piece = input.substr(begin, end - begin);
    begin = end;
    while (true) {
      HttpParser::Step s = parser.Next(piece);
      EXPECT_LE(s.consumed, piece.size());
      piece.remove_prefix(s.consumed);
      out.consumed += s.consumed;
      handle(s);
      if (out.done || out.error) return out;
      if (s.event == Event::kNeedMore) {
        EXPECT_TRUE(piece.empty()) << "kNeedMore left input unconsumed";
        break;
      }
    }
  }
  if (eof) handle(parser.Eof());
  return out;
}

Outcome ParseWhole(MessageKind kind, std::string_view input, HttpLimits limits = {},
                   bool eof = false, bool head_request = false) {
  return ParsePieces(kind, input, {}, limits, eof, head_request);
}

// Parses `input` whole, cut in two at every offset, and one byte at a time, and checks that
// every way gives the same outcome. Returns it.
Outcome ParseEverySplit(MessageKind kind, std::string_view input, HttpLimits limits = {},
                        bool eof = false, bool head_request = false) {
  Outcome whole = ParseWhole(kind, input, limits, eof, head_request);
  for (size_t i = 1; i < input.size(); ++i) {
    Outcome split = ParsePieces(kind, input, {i}, limits, eof, head_request);
    EXPECT_EQ(split, whole) << "split at " << i;
    if (split != whole) break;
  }
  std::vector<size_t> bytes;
  for (size_t i = 1; i < input.size(); ++i) bytes.push_back(i);
  EXPECT_EQ(ParsePieces(kind, input, bytes, limits, eof, head_request), whole) << "byte by byte";
  return whole;
}

Outcome Req(std::string_view input, HttpLimits limits = {}) {
  return ParseEverySplit(MessageKind::kRequest, input, limits);
}

// Expects a request to be rejected with `status` and a reason containing `reason`.
void ExpectRejected(std::string_view input, int status, std::string_view reason,
                    HttpLimits limits = {}) {
  SCOPED_TRACE(::testing::Message() << "input: " << ::testing::PrintToString(std::string(input)));
  Outcome o = Req(input, limits);
  ASSERT_TRUE(o.error) << o;
  EXPECT_EQ(o.err.status, status);
  EXPECT_NE(o.err.reason.find(reason), std::string::npos) << o.err.reason;
  EXPECT_FALSE(o.done);
}

TEST(HttpParserTest, ParsesGetAtEverySplit) {
  Outcome o = Req("GET /v1/models?limit=2 HTTP/1.1\r\nHost: example.com\r\nX-A:  b c \r\n\r\n");
  ASSERT_TRUE(o.done) << o;
  EXPECT_EQ(o.parsed.method, "GET");
  EXPECT_EQ(o.parsed.target, "/v1/models?limit=2");
  EXPECT_EQ(o.parsed.version_minor, 1);
  EXPECT_EQ(o.parsed.body_kind, BodyKind::kNone);
  EXPECT_TRUE(o.parsed.keep_alive);
  cassette::Headers expected = {{"Host", "example.com"}, {"X-A", "b c"}};
  EXPECT_EQ(o.parsed.headers, expected);
  EXPECT_TRUE(o.body.empty());
}

TEST(HttpParserTest, ParsesContentLengthBodyAtEverySplit) {
  std::string body = "{\"model\":\"claude\",\"max_tokens\":5}";
  std::string input =
      "POST /v1/messages HTTP/1.1\r\nHost: h\r\nContent-Length: " + std::to_string(body.size()) +
      "\r\n\r\n" + body;
  Outcome o = Req(input);
  ASSERT_TRUE(o.done) << o;
  EXPECT_EQ(o.parsed.body_kind, BodyKind::kLength);
  EXPECT_EQ(o.parsed.content_length, body.size());
  EXPECT_EQ(o.body, body);
  EXPECT_EQ(o.consumed, input.size());
}

TEST(HttpParserTest, ParsesChunkedBodyWithExtensionsAndTrailersAtEverySplit) {
  std::string input =
      "POST /upload HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\nhello\r\n"
      "1A;name=value;flag\r\nabcdefghijklmnopqrstuvwxyz\r\n"
      "0\r\nX-Trailer: yes\r\n\r\n";
  Outcome o = Req(input);
  ASSERT_TRUE(o.done) << o;
  EXPECT_EQ(o.parsed.body_kind, BodyKind::kChunked);
  EXPECT_EQ(o.body, "helloabcdefghijklmnopqrstuvwxyz");
  EXPECT_EQ(o.consumed, input.size());
  // Trailers are validated and dropped, never added to the head.
  EXPECT_EQ(cassette::FindHeader(o.parsed.headers, "x-trailer"), nullptr);
}

TEST(HttpParserTest, ChunkedBodyDeliversBytesAsTheyArrive) {
  HttpParser p(MessageKind::kRequest, {});
  std::string_view head = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n";
  EXPECT_EQ(p.Next(head).event, Event::kHead);
  // Half a chunk: its bytes come out before the rest of the chunk arrives.
  HttpParser::Step s = p.Next("a\r\n01234");
  EXPECT_EQ(s.event, Event::kBody);
  EXPECT_EQ(s.body, "01234");
  EXPECT_EQ(s.consumed, 8u);
  s = p.Next("56789\r\n0\r\n\r\n");
  EXPECT_EQ(s.event, Event::kBody);
  EXPECT_EQ(s.body, "56789");
  std::string_view rest = std::string_view("56789\r\n0\r\n\r\n").substr(s.consumed);
  s = p.Next(rest);
  EXPECT_EQ(s.event, Event::kDone);
  EXPECT_EQ(s.consumed, rest.size());
}

TEST(HttpParserTest, StopsAtTheEndOfEachPipelinedMessage) {
  std::string first = "POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc";
  std::string second = "GET /b HTTP/1.1\r\nHost: h\r\n\r\n";
  std::string both = first + second;
  Outcome o = ParseEverySplit(MessageKind::kRequest, both);
  ASSERT_TRUE(o.done);
  EXPECT_EQ(o.consumed, first.size());
  EXPECT_EQ(o.body, "abc");

  HttpParser p(MessageKind::kRequest, {});
  std::string_view in = both;
  std::vector<std::string> targets;
  for (int message = 0; message < 2; ++message) {
    while (true) {
      HttpParser::Step s = p.Next(in);
      in.remove_prefix(s.consumed);
      if (s.event == Event::kHead) targets.push_back(p.head().target);
      if (s.event == Event::kDone) break;
      ASSERT_NE(s.event, Event::kError) << p.error().reason;
      ASSERT_NE(s.event, Event::kNeedMore);
    }
    p.Reset();
  }
  EXPECT_TRUE(in.empty());
  EXPECT_EQ(targets, (std::vector<std::string>{"/a", "/b"}));
}

TEST(HttpParserTest, KeepAliveFollowsVersionAndConnectionHeader) {
  EXPECT_TRUE(Req("GET / HTTP/1.1\r\nHost: h\r\n\r\n").parsed.keep_alive);
  EXPECT_FALSE(Req("GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n").parsed.keep_alive);
  EXPECT_FALSE(
      Req("GET / HTTP/1.1\r\nHost: h\r\nConnection: foo, Close\r\n\r\n").parsed.keep_alive);
  Outcome old = Req("GET / HTTP/1.0\r\n\r\n");
  ASSERT_TRUE(old.done) << old;
  EXPECT_EQ(old.parsed.version_minor, 0);
  EXPECT_FALSE(old.parsed.keep_alive);
  EXPECT_TRUE(Req("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").parsed.keep_alive);
}

TEST(HttpParserTest, AcceptsBareLfLineEndsAndLeadingEmptyLines) {
  Outcome o = Req("\r\n\nGET / HTTP/1.1\nHost: h\nContent-Length: 2\n\nok");
  ASSERT_TRUE(o.done) << o;
  EXPECT_EQ(o.body, "ok");
  EXPECT_EQ(o.parsed.target, "/");
}

TEST(HttpParserTest, TreatsHttp11MinorVersionsAbove1As11) {
  Outcome o = Req("GET / HTTP/1.7\r\nHost: h\r\n\r\n");
  ASSERT_TRUE(o.done) << o;
  EXPECT_EQ(o.parsed.version_minor, 1);
}

TEST(HttpParserTest, AcceptsAbsoluteFormAsteriskFormAndConnectAuthorities) {
  EXPECT_TRUE(Req("GET http://h/v1/models HTTP/1.1\r\nHost: h\r\n\r\n").done);
  EXPECT_TRUE(Req("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n").done);
  // The server decides what to do with a CONNECT (forward-proxy mode); the parser passes it on.
  auto connect = Req("CONNECT api.anthropic.com:443 HTTP/1.1\r\nHost: api.anthropic.com\r\n\r\n");
  EXPECT_TRUE(connect.done);
}

TEST(HttpParserTest, AcceptsRepeatedIdenticalContentLength) {
  Outcome o =
      Req("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 2, 2\r\nContent-Length: 2\r\n\r\nok");
  ASSERT_TRUE(o.done) << o;
  EXPECT_EQ(o.body, "ok");
}

TEST(HttpParserTest, AcceptsCaseAndWhitespaceVariantsOfChunked) {
  Outcome o = Req("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding:\tChunked \r\n\r\n0\r\n\r\n");
  ASSERT_TRUE(o.done) << o;
  EXPECT_EQ(o.parsed.body_kind, BodyKind::kChunked);
}

TEST(HttpParserTest, ReportsExpectContinue) {
  Outcome o =
      Req("POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\nx");
  ASSERT_TRUE(o.done) << o;
  EXPECT_TRUE(o.parsed.expect_continue);
  ExpectRejected("POST / HTTP/1.1\r\nHost: h\r\nExpect: bananas\r\n\r\n", 417,
                 "unsupported expectation");
}

TEST(HttpParserTest, RejectsMalformedRequestLines) {
  ExpectRejected("GET  / HTTP/1.1\r\nHost: h\r\n\r\n", 400, "malformed request line");
  ExpectRejected("GET /\r\n\r\n", 400, "malformed request line");
  ExpectRejected(" GET / HTTP/1.1\r\nHost: h\r\n\r\n", 400, "malformed request line");
  ExpectRejected("GET / HTTP/1.1 \r\nHost: h\r\n\r\n", 400, "malformed http version");
  ExpectRejected("GET /a b HTTP/1.1\r\nHost: h\r\n\r\n", 400, "malformed http version");
  ExpectRejected("GET / http/1.1\r\nHost: h\r\n\r\n", 400, "malformed http version");
  ExpectRejected("GET / HTTP/1\r\nHost: h\r\n\r\n", 400, "malformed http version");
  ExpectRejected("GET / HTTP/2.0\r\nHost: h\r\n\r\n", 505, "version not supported");
  ExpectRejected("GET / HTTP/0.9\r\nHost: h\r\n\r\n", 505, "version not supported");
  ExpectRejected("G@T / HTTP/1.1\r\nHost: h\r\n\r\n", 400, "invalid character in method");
  ExpectRejected("GET /\x01 HTTP/1.1\r\nHost: h\r\n\r\n", 400, "invalid character in request");
  ExpectRejected("GET /caf\xc3\xa9 HTTP/1.1\r\nHost: h\r\n\r\n", 400,
                 "invalid character in request");
  ExpectRejected("GET /a#frag HTTP/1.1\r\nHost: h\r\n\r\n", 400, "invalid character in request");
  ExpectRejected("GET v1/messages HTTP/1.1\r\nHost: h\r\n\r\n", 400, "invalid request target");
  ExpectRejected("GET * HTTP/1.1\r\nHost: h\r\n\r\n", 400, "invalid request target");
  ExpectRejected("CONNECT /x HTTP/1.1\r\nHost: h\r\n\r\n", 400, "host:port");
  ExpectRejected("CONNECT http://a:1/ HTTP/1.1\r\nHost: h\r\n\r\n", 400, "host:port");
  ExpectRejected("GET api.anthropic.com:443 HTTP/1.1\r\nHost: h\r\n\r\n", 400,
                 "invalid request target");
  ExpectRejected("GET / HTTP/1.1\rHost: h\r\n\r\n", 400, "bare carriage return");
}

TEST(HttpParserTest, RejectsMalformedHeaderFields) {
  ExpectRejected("GET / HTTP/1.1\r\nHost: h\r\nNoColon\r\n\r\n", 400, "without a colon");
  ExpectRejected("GET / HTTP/1.1\r\nHost: h\r\n: v\r\n\r\n", 400, "empty header field name");
  ExpectRejected("GET / HTTP/1.1\r\nHost : h\r\n\r\n", 400, "whitespace between");
  ExpectRejected("GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n  folded\r\n\r\n", 400,
                 "obsolete line folding");
  ExpectRejected("GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n\tfolded\r\n\r\n", 400,
                 "obsolete line folding");
  ExpectRejected("GET / HTTP/1.1\r\nHost: h\r\nX(A): 1\r\n\r\n", 400,
                 "invalid character in header field name");
  ExpectRejected(std::string("GET / HTTP/1.1\r\nHost: h\r\nX-A: a") + '\0' + "b\r\n\r\n", 400,
                 "invalid character in header field value");
  ExpectRejected("GET / HTTP/1.1\r\nHost: h\r\nX-A: a\x7f\r\n\r\n", 400,
                 "invalid character in header field value");
  ExpectRejected("GET / HTTP/1.1\r\nHost: h\r\nX-A: a\rb\r\n\r\n", 400, "bare carriage return");
}

TEST(HttpParserTest, RequiresExactlyOneHostOnHttp11) {
  ExpectRejected("GET / HTTP/1.1\r\n\r\n", 400, "missing host header");
  ExpectRejected("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, "more than one host");
}

TEST(HttpParserTest, RejectsBadContentLength) {
  for (std::string_view v :
       {"abc", "-1", "+5", "1 2", "0x10", "", "99999999999999999999", "5,", ", ,"}) {
    std::string input =
        "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: " + std::string(v) + "\r\n\r\n";
    if (v == "5,") {
      // "5," is the list {5}: valid.
      EXPECT_FALSE(Req(input + "12345").error);
      continue;
    }
    ExpectRejected(input, 400, "content-length");
  }
  ExpectRejected("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5, 6\r\n\r\n", 400,
                 "conflicting content-length");
  ExpectRejected("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
                 400, "conflicting content-length");
}

// Request smuggling shapes (RFC 9112 section 6.3 and section 11.2): every one is a 400, so a
// front end and this proxy can never disagree on where a request ends.
TEST(HttpParserTest, RejectsRequestSmugglingShapes) {
  ExpectRejected(
      "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n", 400,
      "both content-length and transfer-encoding");
  ExpectRejected(
      "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n", 400,
      "both content-length and transfer-encoding");
  ExpectRejected("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding : chunked\r\n\r\n", 400,
                 "whitespace between");
  ExpectRejected("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding:\r\n chunked\r\n\r\n", 400,
                 "obsolete line folding");
  ExpectRejected(
      "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: x\r\n\r\n",
      400, "does not end in chunked");
  ExpectRejected("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, identity\r\n\r\n", 400,
                 "does not end in chunked");
  ExpectRejected("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: xchunked\r\n\r\n", 400,
                 "does not end in chunked");
  ExpectRejected("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", 400,
                 "applied twice");
  ExpectRejected("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: ,\r\n\r\n", 400,
                 "empty transfer-encoding");
  ExpectRejected("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, "http/1.0");
  ExpectRejected("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501,
                 "gzip is not supported");
  // A chunk whose data is not followed by CRLF: the classic "extra bytes in a chunk" shape.
  ExpectRejected(
      "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3\r\nabcGET /smuggled HTTP/1.1\r\n\r\n",
      400, "chunk data not followed by crlf");
  ExpectRejected(
      "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\n0\r\n\r\n", 400,
      "chunk data not followed by crlf");
}

TEST(HttpParserTest, RejectsBadChunkSizes) {
  const std::string head = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n";
  ExpectRejected(head + "zz\r\n", 400, "invalid chunk size");
  ExpectRejected(head + "\r\n", 400, "invalid chunk size");
  ExpectRejected(head + "-1\r\n", 400, "invalid chunk size");
  ExpectRejected(head + "0x10\r\n", 400, "invalid chunk size");
  ExpectRejected(head + " 5\r\n", 400, "invalid chunk size");
  ExpectRejected(head + "5 x\r\n", 400, "invalid chunk size");
  ExpectRejected(head + "5\n", 400, "not ended by crlf");
  ExpectRejected(head + "5;a\x01\r\n", 400, "invalid character in chunk extension");
  ExpectRejected(head + "11111111111111111\r\n", 400, "chunk size too large");
  ExpectRejected(head + "ffffffffffffffff\r\n", 413, "larger than the limit");
  ExpectRejected(head + std::string(5000, '1') + "\r\n", 400, "chunk size line too long");
  // A chunk size with spaces before the extension is accepted (BWS).
  EXPECT_TRUE(Req(head + "3 ;ext\r\nabc\r\n0\r\n\r\n").done);
}

TEST(HttpParserTest, EnforcesHeaderAndBodyLimits) {
  HttpLimits small;
  small.max_header_bytes = 100;
  small.max_headers = 3;
  small.max_body_bytes = 10;
  ExpectRejected("GET /" + std::string(200, 'a') + " HTTP/1.1\r\n\r\n", 414,
                 "request line too long", small);
  ExpectRejected("GET / HTTP/1.1\r\nHost: h\r\nX-Big: " + std::string(100, 'b') + "\r\n\r\n", 431,
                 "header fields too large", small);
  ExpectRejected("GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", 431,
                 "too many header fields", small);
  ExpectRejected("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\n", 413,
                 "larger than the limit", small);
  ExpectRejected(
      "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
      "6\r\n123456\r\n6\r\n",
      413, "larger than the limit", small);
  ExpectRejected(
      "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
      "0\r\nX: " +
          std::string(120, 't') + "\r\n\r\n",
      431, "trailer section too large", small);
  // Exactly at the limits is fine.
  EXPECT_TRUE(
      Req("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n0123456789", small).done);

  // A header block of megabytes never ends: rejected once it passes the default limit,
  // without buffering the rest.
  HttpParser p(MessageKind::kRequest, {});
  std::string junk = "GET / HTTP/1.1\r\nHost: h\r\nX: " + std::string(70 * 1024, 'x');
  HttpParser::Step s = p.Next(junk);
  EXPECT_EQ(s.event, Event::kError);
  EXPECT_EQ(p.error().status, 431);
}

TEST(HttpParserTest, RejectsANonHttpClientBeforeItsLineEnds) {
  // A TLS ClientHello sent to the plain port never has a line end: judge it on its first bytes.
  HttpParser p(MessageKind::kRequest, {});
  HttpParser::Step s = p.Next(std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11));
  EXPECT_EQ(s.event, Event::kError);
  EXPECT_EQ(p.error().status, 400);
  EXPECT_EQ(p.error().reason, "invalid character in method");
  // A method still arriving is not judged early.
  HttpParser q(MessageKind::kRequest, {});
  EXPECT_EQ(q.Next("POS").event, Event::kNeedMore);
}

TEST(HttpParserTest, MethodIsJudgedFirstWhateverTheSplits) {
  // Found by tests/fuzz/http_parser_fuzz: fed whole, these failed on the bare CR or on the line
  // length; fed in pieces, on the method. The verdict must not depend on the splits.
  ExpectRejected(std::string("]\r\xa7]\n"), 400, "invalid character in method");
  HttpLimits small;
  small.max_header_bytes = 100;
  ExpectRejected("G]T /" + std::string(200, 'a') + " HTTP/1.1\r\n\r\n", 400,
                 "invalid character in method", small);
  // A valid method on a line too long is still 414, and a bare CR after it still 400.
  ExpectRejected("GET /" + std::string(200, 'a') + " HTTP/1.1\r\n\r\n", 414,
                 "request line too long", small);
  ExpectRejected("GET /a\rb HTTP/1.1\r\n\r\n", 400, "bare carriage return");
}

TEST(HttpParserTest, RejectsEndlessEmptyLines) {
  ExpectRejected(std::string(40, '\n') + "GET / HTTP/1.1\r\nHost: h\r\n\r\n", 400, "empty line");
}

TEST(HttpParserTest, ErrorIsSticky) {
  HttpParser p(MessageKind::kRequest, {});
  EXPECT_EQ(p.Next("BAD\r\n").event, Event::kError);
  EXPECT_EQ(p.Next("GET / HTTP/1.1\r\nHost: h\r\n\r\n").event, Event::kError);
  EXPECT_EQ(p.Eof().event, Event::kError);
}

TEST(HttpParserTest, EofBetweenMessagesIsClean) {
  HttpParser p(MessageKind::kRequest, {});
  EXPECT_EQ(p.Eof().event, Event::kNeedMore);
  HttpParser q(MessageKind::kRequest, {});
  EXPECT_EQ(q.Next("\r\n").event, Event::kNeedMore);
  EXPECT_EQ(q.Eof().event, Event::kNeedMore);
}

TEST(HttpParserTest, EofInsideAMessageIsAnError) {
  HttpParser head(MessageKind::kRequest, {});
  EXPECT_EQ(head.Next("GET / HT").event, Event::kNeedMore);
  EXPECT_EQ(head.Eof().event, Event::kError);
  EXPECT_NE(head.error().reason.find("before the head ended"), std::string::npos);

  HttpParser body(MessageKind::kRequest, {});
  EXPECT_EQ(body.Next("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\n").event,
            Event::kHead);
  EXPECT_EQ(body.Next("ab").event, Event::kBody);
  EXPECT_EQ(body.Eof().event, Event::kError);
  EXPECT_NE(body.error().reason.find("before the body ended"), std::string::npos);
}

// Responses (what the upstream client reads).

Outcome Resp(std::string_view input, bool eof = false, bool head_request = false) {
  HttpLimits limits;
  limits.max_body_bytes = UINT64_MAX;
  return ParseEverySplit(MessageKind::kResponse, input, limits, eof, head_request);
}

TEST(HttpParserTest, ParsesResponsesWithEachFraming) {
  Outcome length =
      Resp("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}");
  ASSERT_TRUE(length.done) << length;
  EXPECT_EQ(length.parsed.status, 200);
  EXPECT_EQ(length.parsed.reason, "OK");
  EXPECT_EQ(length.body, "{}");
  EXPECT_TRUE(length.parsed.keep_alive);

  std::string sse = "event: ping\r\ndata: {}\r\n\r\n";
  Outcome chunked = Resp("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + [&] {
    char size[16];
    std::snprintf(size, sizeof size, "%zx", sse.size());
    return std::string(size);
  }() + "\r\n" + sse + "\r\n0\r\n\r\n");
  ASSERT_TRUE(chunked.done) << chunked;
  EXPECT_EQ(chunked.body, sse);

  Outcome until_close = Resp("HTTP/1.1 200 OK\r\n\r\nstreamed until close", /*eof=*/true);
  ASSERT_TRUE(until_close.done) << until_close;
  EXPECT_EQ(until_close.parsed.body_kind, BodyKind::kUntilClose);
  EXPECT_FALSE(until_close.parsed.keep_alive);
  EXPECT_EQ(until_close.body, "streamed until close");
}

TEST(HttpParserTest, ResponseUntilCloseStopsAtTheLimitWhateverTheSplits) {
  // Found by tests/fuzz/http_parser_fuzz: fed whole, a body past the limit failed at once; fed
  // in pieces, the pieces that fit were delivered first. Now the bytes up to the limit come
  // through and the byte after them is the error, either way.
  HttpLimits small;
  small.max_body_bytes = 10;
  Outcome over = ParseEverySplit(MessageKind::kResponse, "HTTP/1.1 200 OK\r\n\r\n0123456789abc",
                                 small, /*eof=*/true);
  ASSERT_TRUE(over.error) << over;
  EXPECT_EQ(over.err.status, 502);
  EXPECT_EQ(over.err.reason, "response body larger than the limit");
  EXPECT_EQ(over.body, "0123456789");
  // Exactly at the limit is fine.
  Outcome at = ParseEverySplit(MessageKind::kResponse, "HTTP/1.1 200 OK\r\n\r\n0123456789", small,
                               /*eof=*/true);
  ASSERT_TRUE(at.done) << at;
  EXPECT_EQ(at.body, "0123456789");
}

TEST(HttpParserTest, ResponseStatusLineWithoutReasonIsAccepted) {
  Outcome o = Resp("HTTP/1.1 204\r\n\r\n");
  ASSERT_TRUE(o.done) << o;
  EXPECT_EQ(o.parsed.status, 204);
  EXPECT_EQ(o.parsed.reason, "");
}

TEST(HttpParserTest, ResponsesWithoutBodies) {
  Outcome head =
      Resp("HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n", false, /*head_request=*/true);
  ASSERT_TRUE(head.done) << head;
  EXPECT_EQ(head.parsed.body_kind, BodyKind::kNone);
  Outcome no_content = Resp("HTTP/1.1 204 No Content\r\n\r\n");
  ASSERT_TRUE(no_content.done);
  EXPECT_TRUE(no_content.parsed.keep_alive);
  Outcome not_modified = Resp("HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n");
  ASSERT_TRUE(not_modified.done);
}

TEST(HttpParserTest, SkipsInterimResponses) {
  Outcome o = Resp(
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
      "HTTP/1.1 201 Created\r\nContent-Length: 1\r\n\r\nx");
  ASSERT_TRUE(o.done) << o;
  EXPECT_EQ(o.parsed.status, 201);
  cassette::Headers expected = {{"Content-Length", "1"}};
  EXPECT_EQ(o.parsed.headers, expected);
}

TEST(HttpParserTest, ResponseTransferEncodingWinsOverContentLength) {
  Outcome o = Resp(
      "HTTP/1.1 200 OK\r\nContent-Length: 99\r\nTransfer-Encoding: chunked\r\n\r\n"
      "2\r\nhi\r\n0\r\n\r\n");
  ASSERT_TRUE(o.done) << o;
  EXPECT_EQ(o.body, "hi");
}

TEST(HttpParserTest, RejectsMalformedResponses) {
  for (std::string_view bad :
       {"HTTP/1.1 2000 OK\r\n\r\n", "HTTP/1.1 20 OK\r\n\r\n", "HTTP/1.1 abc OK\r\n\r\n",
        "HTTP/2 200 OK\r\n\r\n", "HTTP/1.1 099 Low\r\n\r\n", "ICY 200 OK\r\n\r\n",
        "HTTP/1.1 101 Switching Protocols\r\n\r\n", "HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n"}) {
    Outcome o = Resp(bad);
    EXPECT_TRUE(o.error) << bad;
    EXPECT_EQ(o.err.status, 502) << bad;
  }
}

TEST(HttpParserTest, ResponseCutBeforeItsEndIsAnError) {
  Outcome o = Resp("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n01234", /*eof=*/true);
  EXPECT_TRUE(o.error);
  Outcome chunked = Resp("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n01234\r\n",
                         /*eof=*/true);
  EXPECT_TRUE(chunked.error);
  EXPECT_EQ(chunked.body, "01234");
}

TEST(HttpParserTest, MutatedInputsParseTheSameWholeOrByteByByte) {
  // Many byte values at every position of a small request: whatever the verdict, it must not
  // depend on how the bytes were split, and the parse must end (done or error) once the input
  // ends. Sanitizer builds catch any out-of-bounds access on the way.
  std::string base =
      "POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n";
  std::vector<size_t> every_byte;
  for (size_t i = 1; i < base.size(); ++i) every_byte.push_back(i);
  for (size_t i = 0; i < base.size(); ++i) {
    for (int b = 0; b < 256; b += 5) {
      std::string mutated = base;
      mutated[i] = static_cast<char>(b);
      Outcome whole = ParseWhole(MessageKind::kRequest, mutated, {}, /*eof=*/true);
      Outcome bytes = ParsePieces(MessageKind::kRequest, mutated, every_byte, {}, /*eof=*/true);
      ASSERT_EQ(whole, bytes) << "byte " << b << " at " << i;
      EXPECT_TRUE(whole.done || whole.error) << "byte " << b << " at " << i;
    }
  }
}

}  // namespace
}  // namespace td::proxy::internal
