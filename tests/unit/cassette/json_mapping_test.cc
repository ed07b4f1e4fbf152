// Tests for the model <-> JSON mapping of one cassette line: every body form gives back the exact
// bytes (or, for non-exact request JSON, a stable re-serialisation), streams keep their events
// and splits, and decoding errors name the JSON path of the problem.
#include "cassette/json_mapping.h"

#include <gtest/gtest.h>

#include <string>

#include "cassette/internal/codec_text.h"
#include "cassette/model.h"
#include "tests/support/interaction_builder.h"

namespace td::cassette {
namespace {

using testing::InteractionBuilder;

// Encodes and decodes; fails the test when decoding fails.
Interaction RoundTrip(const Interaction& in) {
  Result<Interaction> out = InteractionFromJson(InteractionToJson(in));
  EXPECT_TRUE(out.ok()) << out.status().message();
  return out.ok() ? *out : Interaction{};
}

Interaction WithResponseBody(std::string bytes) {
  return InteractionBuilder().ResponseBody(std::move(bytes)).Build();
}

Interaction WithRequestBody(std::string bytes) {
  return InteractionBuilder().RequestBody(std::move(bytes)).Build();
}

Json ResponseBodyJson(const Interaction& i) { return InteractionToJson(i)["response"]["body"]; }
Json RequestBodyJson(const Interaction& i) { return InteractionToJson(i)["request"]["body"]; }

// Decodes `line` (a JSON text) and returns the error message ("" when it decoded).
std::string DecodeError(const std::string& line) {
  Json json = Json::parse(line);
  Result<Interaction> out = InteractionFromJson(json);
  if (out.ok()) return "";
  EXPECT_EQ(out.status().code(), StatusCode::kParse);
  return out.status().message();
}

// A valid minimal line with one part replaced, for error tests.
constexpr const char* kMinimal =
    R"({"seq":0,"request":{"method":"GET","path":"/"},"response":{"status":200}})";

TEST(JsonMappingTest, CompactJsonBodyIsStoredAsJsonAndRoundTripsExactly) {
  const std::string bytes = R"({"id":"msg_1","content":[{"type":"text","text":"hi é"}],"n":1.5})";
  Interaction in = WithResponseBody(bytes);
  Json body = ResponseBodyJson(in);
  ASSERT_TRUE(body.contains("json"));
  EXPECT_FALSE(body.contains("layout"));
  EXPECT_FALSE(body.contains("newline"));
  EXPECT_EQ(body["json"]["id"], "msg_1");
  EXPECT_EQ(RoundTrip(in), in);
}

TEST(JsonMappingTest, JsonBodyKeepsTheUpstreamKeyOrder) {
  const std::string bytes = R"({"zeta":1,"alpha":{"y":2,"b":3},"mid":[]})";
  Interaction in = WithRequestBody(bytes);
  const std::string line = InteractionToJson(in).dump();
  EXPECT_NE(line.find(R"("body":{"json":{"zeta":1,"alpha":{"y":2,"b":3},"mid":[]}})"),
            std::string::npos)
      << line;
  EXPECT_EQ(RoundTrip(in).request.body.bytes, bytes);
}

TEST(JsonMappingTest, PrettyJsonBodyRoundTripsWithAndWithoutTrailingNewline) {
  const Json value = Json::parse(R"({"object":"chat.completion","choices":[{"index":0}]})");
  for (const bool newline : {false, true}) {
    const std::string bytes = value.dump(2) + (newline ? "\n" : "");
    Interaction in = WithResponseBody(bytes);
    Json body = ResponseBodyJson(in);
    EXPECT_EQ(body["layout"], "pretty");
    EXPECT_EQ(body.contains("newline"), newline);
    Interaction out = RoundTrip(in);
    EXPECT_EQ(out.response.body.bytes, bytes);
    EXPECT_TRUE(out.response.body.exact);
  }
}

TEST(JsonMappingTest, CompactJsonWithTrailingNewlineRoundTrips) {
  const std::string bytes = "{\"ok\":true}\n";
  Interaction in = WithResponseBody(bytes);
  Json body = ResponseBodyJson(in);
  EXPECT_EQ(body["newline"], true);
  EXPECT_FALSE(body.contains("layout"));
  EXPECT_EQ(RoundTrip(in).response.body.bytes, bytes);
}

TEST(JsonMappingTest, RequestJsonThatCannotBeRespeltIsStoredAsNonExactJson) {
  // Python's json.dumps: ", " and ": " separators, \u escapes, a trailing zero.
  const std::string bytes = R"({"model": "claude-x", "temperature": 1.50, "name": "caf\u00e9"})";
  Interaction in = WithRequestBody(bytes);
  Json body = RequestBodyJson(in);
  EXPECT_EQ(body["exact"], false);
  EXPECT_EQ(body["json"]["name"], "café");

  Interaction out = RoundTrip(in);
  EXPECT_FALSE(out.request.body.exact);
  EXPECT_EQ(out.request.body.bytes, R"({"model":"claude-x","temperature":1.5,"name":"café"})");
  // Non-exact bodies are stable from then on.
  EXPECT_EQ(RoundTrip(out), out);
}

TEST(JsonMappingTest, ResponseJsonThatCannotBeRespeltIsStoredAsText) {
  const std::string bytes = R"({"type": "message", "price": 1.50})";
  Interaction in = WithResponseBody(bytes);
  Json body = ResponseBodyJson(in);
  EXPECT_EQ(body["text"], bytes);
  Interaction out = RoundTrip(in);
  EXPECT_EQ(out.response.body.bytes, bytes);
  EXPECT_TRUE(out.response.body.exact);
}

TEST(JsonMappingTest, JsonWithDuplicateKeysOrHugeNumbersIsNotRewritten) {
  for (const std::string bytes : {R"({"a":1,"a":2})", R"({"n":12345678901234567890123})",
                                  R"([1e5])", R"( {"leading":"space"})"}) {
    Interaction in = WithResponseBody(bytes);
    EXPECT_TRUE(ResponseBodyJson(in).contains("text")) << bytes;
    EXPECT_EQ(RoundTrip(in).response.body.bytes, bytes);
  }
}

TEST(JsonMappingTest, ScalarsAreTextNotJson) {
  Interaction in = WithResponseBody("42");
  EXPECT_EQ(ResponseBodyJson(in)["text"], "42");
  EXPECT_EQ(RoundTrip(in), in);
}

TEST(JsonMappingTest, DeeplyNestedJsonIsStoredAsTextWithoutCrashing) {
  const std::string bytes = std::string(5000, '[') + std::string(5000, ']');
  Interaction in = WithResponseBody(bytes);
  EXPECT_TRUE(ResponseBodyJson(in).contains("text"));
  EXPECT_EQ(RoundTrip(in).response.body.bytes, bytes);
}

TEST(JsonMappingTest, TextBodyRoundTrips) {
  const std::string bytes =
      std::string("plain text\r\nwith \x01 control, NUL \0 and emoji \xF0\x9F\x98\x80", 48);
  ASSERT_EQ(bytes.back(), '\x80');
  Interaction in = WithResponseBody(bytes);
  EXPECT_TRUE(ResponseBodyJson(in).contains("text"));
  EXPECT_EQ(RoundTrip(in), in);
}

TEST(JsonMappingTest, InvalidUtf8BodiesAreStoredAsBase64) {
  const std::string cases[] = {
      std::string("\xFF\xFE\x00zz", 5),  // not UTF-8 at all
      "\xC0\xAF",                        // overlong '/'
      "\xE0\x80\xAF",                    // overlong, 3 bytes
      "\xED\xA0\x80",                    // a surrogate, U+D800
      "\xF4\x90\x80\x80",                // above U+10FFFF
      "ok \xE2\x82",                     // cut in the middle of a sequence
  };
  for (const std::string& bytes : cases) {
    Interaction in = WithResponseBody(bytes);
    EXPECT_TRUE(ResponseBodyJson(in).contains("base64"));
    EXPECT_EQ(RoundTrip(in).response.body.bytes, bytes);
    // Requests too (they cannot be JSON either).
    Interaction req = WithRequestBody(bytes);
    EXPECT_TRUE(RequestBodyJson(req).contains("base64"));
    EXPECT_EQ(RoundTrip(req), req);
  }
}

TEST(JsonMappingTest, EmptyBodiesAndEmptyQueryAreLeftOut) {
  Interaction in = InteractionBuilder().Method("GET").Path("/v1/models").Build();
  Json json = InteractionToJson(in);
  EXPECT_FALSE(json["request"].contains("body"));
  EXPECT_FALSE(json["request"].contains("query"));
  EXPECT_FALSE(json["response"].contains("body"));
  EXPECT_FALSE(json["response"].contains("stream"));
  EXPECT_EQ(RoundTrip(in), in);
}

TEST(JsonMappingTest, QueryAndHeadersKeepOrderDuplicatesAndOddBytes) {
  Interaction in = InteractionBuilder()
                       .Target("/v1/messages?beta=true&flag&beta=false")
                       .RequestHeader("anthropic-version", "2023-06-01")
                       .ResponseHeader("set-cookie", "a=1")
                       .ResponseHeader("set-cookie", "b=2")
                       .ResponseHeader("x-latin1", "caf\xE9")  // obs-text, not UTF-8
                       .Build();
  Json json = InteractionToJson(in);
  EXPECT_EQ(json["request"]["query"].dump(), R"([["beta","true"],["flag",""],["beta","false"]])");
  EXPECT_TRUE(json["response"]["headers"][2][1].contains("base64"));
  EXPECT_EQ(RoundTrip(in), in);
}

TEST(JsonMappingTest, SseEventsRoundTripWithAndWithoutSplits) {
  Interaction in = InteractionBuilder()
                       .SseEvent(": ping\r\n\r\n", 100)
                       .SseEvent("event: message_start\ndata: {\"type\":\"message_start\"}\n\n",
                                 250, {{7, 120}, {30, 200}})
                       .SseEvent("data: [DONE]\n\n", 900)
                       .Build();
  Json stream = InteractionToJson(in)["response"]["stream"];
  EXPECT_EQ(stream["kind"], "sse");
  EXPECT_EQ(stream["events"][0]["data"], ": ping\r\n\r\n");
  EXPECT_FALSE(stream["events"][0].contains("splits"));
  EXPECT_EQ(stream["events"][1]["splits"].dump(), "[[7,120],[30,200]]");
  EXPECT_EQ(RoundTrip(in), in);
}

TEST(JsonMappingTest, ChunkStreamsAndBinaryEventsRoundTrip) {
  Interaction in = InteractionBuilder()
                       .Chunk("{\"a\":1}\n{\"b\"", 10)
                       .Chunk(std::string("\xFF\x00\x01", 3), 20)
                       .Build();
  Json stream = InteractionToJson(in)["response"]["stream"];
  EXPECT_EQ(stream["kind"], "chunks");
  EXPECT_TRUE(stream["events"][1].contains("data_b64"));
  EXPECT_EQ(RoundTrip(in), in);
}

TEST(JsonMappingTest, TruncatedTimingAndRecordedAtRoundTrip) {
  Interaction in = InteractionBuilder()
                       .Seq(42)
                       .RecordedAt(1795249953000001)
                       .Timing(1234, 5678)
                       .SseEvent("event: ping\ndata: {}\n\n", 5000)
                       .Truncated("upstream reset")
                       .Build();
  Json json = InteractionToJson(in);
  EXPECT_EQ(json["truncated"], "upstream reset");
  EXPECT_EQ(json["recorded_at"], "2026-11-21T08:32:33.000001Z");
  EXPECT_EQ(json["timing"].dump(), R"({"headers_us":1234,"done_us":5678})");
  EXPECT_EQ(RoundTrip(in), in);

  Interaction complete = InteractionBuilder().Build();
  EXPECT_FALSE(InteractionToJson(complete).contains("truncated"));
  EXPECT_FALSE(RoundTrip(complete).truncated.has_value());
}

TEST(JsonMappingTest, LinesKeepTheDocumentedKeyOrder) {
  Interaction in = InteractionBuilder().RequestJson({{"model", "m"}}).Truncated("cut").Build();
  std::string keys;
  const Json json = InteractionToJson(in);
  for (const auto& item : json.items()) keys += item.key() + ",";
  EXPECT_EQ(keys, "seq,recorded_at,request,response,timing,truncated,");
}

TEST(JsonMappingTest, ErrorsNameTheJsonPath) {
  EXPECT_EQ(DecodeError(R"({"seq":0,"request":{"method":"GET","path":"/"},"response":{"status":200,
      "stream":{"kind":"sse","events":[{"at_us":1,"data":"a\n\n"},{"at_us":2}]}}})"),
            "response.stream.events[1]: missing \"data\"");
  EXPECT_EQ(DecodeError(R"({"seq":0,"request":{"method":"GET"},"response":{"status":200}})"),
            "request: missing \"path\"");
  EXPECT_EQ(DecodeError(R"({"seq":0,"request":{"method":"GET","path":"/"}})"),
            "missing \"response\"");
  EXPECT_EQ(DecodeError(R"({"seq":0,"request":{"method":"GET","path":"/"},
      "response":{"status":"200"}})"),
            "response.status: expected an integer");
  EXPECT_EQ(DecodeError(R"({"seq":0,"request":{"method":"GET","path":"/",
      "headers":[["a","b"],["c"]]},"response":{"status":200}})"),
            "request.headers[1]: expected a [name, value] pair");
  EXPECT_EQ(DecodeError(R"({"seq":-1,"request":{"method":"GET","path":"/"},
      "response":{"status":200}})"),
            "seq: expected a non-negative integer");
  EXPECT_EQ(DecodeError("[]"), "expected an object");
}

TEST(JsonMappingTest, UnknownKeysAreRejectedByName) {
  const std::string message = DecodeError(
      R"({"seq":0,"request":{"metod":"GET","method":"GET","path":"/"},"response":{"status":200}})");
  EXPECT_EQ(message.rfind("request: unknown key \"metod\" (known: method, path, query", 0), 0u)
      << message;
  EXPECT_NE(DecodeError(R"({"seq":0,"requets":{},"request":{"method":"GET","path":"/"},
      "response":{"status":200},"respone":1})")
                .find("unknown keys \"requets\", \"respone\""),
            std::string::npos);
}

TEST(JsonMappingTest, NoteKeysStartingWithXOrUnderscoreAreAllowed) {
  EXPECT_EQ(DecodeError(R"({"_note":"edited by hand","seq":0,
      "request":{"method":"GET","path":"/","x-why":"flaky upstream"},
      "response":{"status":200,"body":{"text":"hi","_was":"hello"}}})"),
            "");
}

TEST(JsonMappingTest, BodyFormErrors) {
  auto with_response_body = [](const std::string& body) {
    return R"({"seq":0,"request":{"method":"GET","path":"/"},"response":{"status":200,"body":)" +
           body + "}}";
  };
  EXPECT_EQ(DecodeError(with_response_body(R"({"json":{},"exact":false})")),
            "response.body.exact: false is allowed only in a request body (responses replay "
            "byte for byte)");
  EXPECT_EQ(DecodeError(with_response_body(R"({"json":{},"text":"{}"})")),
            "response.body: needs exactly one of \"json\", \"text\" or \"base64\"");
  EXPECT_EQ(DecodeError(with_response_body(R"({})")),
            "response.body: needs exactly one of \"json\", \"text\" or \"base64\"");
  EXPECT_EQ(DecodeError(with_response_body(R"({"base64":"AB$="})")),
            "response.body.base64: invalid base64 at offset 2");
  EXPECT_EQ(DecodeError(with_response_body(R"({"json":{},"layout":"wide"})")),
            "response.body.layout: expected \"pretty\" (leave it out for compact JSON)");
  EXPECT_EQ(DecodeError(with_response_body(R"({"text":"x","layout":"pretty"})")),
            "response.body: \"layout\" applies only to a \"json\" body");
}

TEST(JsonMappingTest, NonExactRequestJsonIsAnObjectOrArrayNotNestedTooDeep) {
  // Found by tests/fuzz/cassette_reader_fuzz: {"json": 5, "exact": false} loaded but was written
  // back as {"text": "5"}, so read, write, read lost "exact": false.
  auto with_request_body = [](const std::string& body) {
    return R"({"seq":0,"request":{"method":"POST","path":"/","body":)" + body +
           R"(},"response":{"status":200}})";
  };
  for (const char* scalar : {"5", R"("x")", "null"}) {
    EXPECT_EQ(
        DecodeError(with_request_body(std::string(R"({"json":)") + scalar + R"(,"exact":false})")),
        "request.body.json: \"exact\": false needs a JSON object or array")
        << scalar;
  }
  const std::string too_deep = std::string(513, '[') + std::string(513, ']');
  EXPECT_EQ(DecodeError(with_request_body(R"({"json":)" + too_deep + R"(,"exact":false})")),
            "request.body.json: nested deeper than 512 levels, too deep for \"exact\": false");
  // As deep as a writer keeps as JSON: loads, and round-trips with "exact": false.
  const std::string deep = std::string(512, '[') + std::string(512, ']');
  Result<Interaction> in = InteractionFromJson(
      Json::parse(with_request_body(R"({"json":)" + deep + R"(,"exact":false})")));
  ASSERT_TRUE(in.ok()) << in.status().message();
  EXPECT_FALSE(in->request.body.exact);
  EXPECT_EQ(RoundTrip(*in), *in);
  // A scalar with the exact spelling stays accepted.
  EXPECT_EQ(DecodeError(with_request_body(R"({"json":5})")), "");
}

TEST(JsonMappingTest, StreamErrors) {
  auto with_stream = [](const std::string& stream) {
    return R"({"seq":0,"request":{"method":"GET","path":"/"},"response":{"status":200,"stream":)" +
           stream + "}}";
  };
  // An event shortened by hand: the splits past its end are dropped with a note, not refused.
  std::vector<std::string> notes;
  Result<Interaction> shortened = InteractionFromJson(
      Json::parse(with_stream(R"({"kind":"sse","events":[{"at_us":1,"data":"abc",
      "splits":[[2,0],[9,1],[12,2]]}]})")),
      &notes);
  ASSERT_TRUE(shortened.ok()) << shortened.status().message();
  EXPECT_EQ(shortened->response.stream->events[0].splits, (std::vector<Split>{{2, 0}}));
  EXPECT_EQ(notes, (std::vector<std::string>{
                       "response.stream.events[0].splits[1]: end offset 9 is past the event's 3 "
                       "bytes (was the event edited?): dropped it and the splits after it"}));
  EXPECT_EQ(DecodeError(with_stream(R"({"kind":"sse","events":[{"at_us":1,"data":"abc",
      "splits":[[0,0]]}]})")),
            "response.stream.events[0].splits[0]: end offset 0: a split ends after its first "
            "byte");
  EXPECT_EQ(DecodeError(with_stream(R"({"kind":"sse","events":[{"at_us":1,"data":"abc",
      "splits":[[2,0],[2,1]]}]})")),
            "response.stream.events[0].splits[1]: end offsets must increase");
  EXPECT_EQ(DecodeError(with_stream(R"({"kind":"websocket","events":[]})")),
            "response.stream.kind: expected \"sse\" or \"chunks\"");
  EXPECT_EQ(DecodeError(with_stream(R"({"kind":"sse","events":[{"at_us":1.5,"data":""}]})")),
            "response.stream.events[0].at_us: expected an integer");
  EXPECT_EQ(DecodeError(with_stream(R"({"kind":"sse","events":[{"at_us":1,"data":"",
      "data_b64":""}]})")),
            "response.stream.events[0]: has both \"data\" and \"data_b64\"");
  EXPECT_EQ(DecodeError(R"({"seq":0,"request":{"method":"GET","path":"/"},"response":{
      "status":200,"body":{"text":""},"stream":{"kind":"sse","events":[]}}})"),
            "response: has both \"body\" and \"stream\" (a response has one or the other)");
}

TEST(JsonMappingTest, RecordedAtMustBeAUtcTime) {
  Json json = Json::parse(kMinimal);
  json["recorded_at"] = "2026-11-21 08:32:33";
  Result<Interaction> out = InteractionFromJson(json);
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.status().message().rfind("recorded_at: expected a UTC time", 0), 0u);
  json["recorded_at"] = "2026-02-29T00:00:00Z";  // not a leap year
  EXPECT_FALSE(InteractionFromJson(json).ok());
}

TEST(CodecTextTest, Utf8ValidatorAcceptsAllScalarValuesAndRejectsTheRest) {
  EXPECT_TRUE(internal::IsValidUtf8(""));
  EXPECT_TRUE(internal::IsValidUtf8("\x7F\xC2\x80\xDF\xBF\xE0\xA0\x80\xEF\xBF\xBF"));
  EXPECT_TRUE(internal::IsValidUtf8("\xED\x9F\xBF\xEE\x80\x80\xF0\x90\x80\x80\xF4\x8F\xBF\xBF"));
  EXPECT_FALSE(internal::IsValidUtf8("\x80"));
  EXPECT_FALSE(internal::IsValidUtf8("\xC1\xBF"));
  EXPECT_FALSE(internal::IsValidUtf8("\xF0\x8F\xBF\xBF"));  // overlong 4-byte
  EXPECT_FALSE(internal::IsValidUtf8("\xED\xBF\xBF"));      // low surrogate
  EXPECT_FALSE(internal::IsValidUtf8("\xF5\x80\x80\x80"));
  EXPECT_FALSE(internal::IsValidUtf8("\xE2\x28\xA1"));
}

TEST(CodecTextTest, Base64RoundTripsEveryLengthAndIsStrict) {
  std::string bytes;
  for (int n = 0; n < 20; ++n) {
    const std::string encoded = internal::Base64Encode(bytes);
    std::optional<std::string> decoded = internal::Base64Decode(encoded);
    ASSERT_TRUE(decoded.has_value()) << encoded;
    EXPECT_EQ(*decoded, bytes);
    bytes += static_cast<char>(n * 37 + 200);
  }
  EXPECT_EQ(internal::Base64Encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(internal::Base64Encode("fo"), "Zm8=");
  for (const char* bad : {"Zm9", "Zm=v", "Z===", "Zm9v\n", "Zm9=Zm9v", "Zm9vYh==", "Zm9vYmF="}) {
    EXPECT_FALSE(internal::Base64Decode(bad).has_value()) << bad;
  }
}

TEST(CodecTextTest, Rfc3339ParsesWhatFormatWrites) {
  for (const Micros t : {Micros{0}, Micros{1795249953123456}, Micros{951782400000000}, Micros{-1},
                         Micros{4102444799999999}}) {
    std::optional<Micros> back = internal::ParseRfc3339Micros(FormatRfc3339Micros(t));
    ASSERT_TRUE(back.has_value()) << FormatRfc3339Micros(t);
    EXPECT_EQ(*back, t);
  }
  EXPECT_EQ(internal::ParseRfc3339Micros("2026-11-21T08:32:33Z"), Micros{1795249953000000});
  EXPECT_EQ(internal::ParseRfc3339Micros("2026-11-21T08:32:33.5Z"), Micros{1795249953500000});
  EXPECT_FALSE(internal::ParseRfc3339Micros("2026-11-21T08:32:33+01:00").has_value());
  EXPECT_FALSE(internal::ParseRfc3339Micros("2026-13-01T00:00:00Z").has_value());
  EXPECT_FALSE(internal::ParseRfc3339Micros("2026-11-21T08:32:33.Z").has_value());
}

TEST(JsonMappingTest, OriginIsWrittenOnlyWhenSetAndRoundTrips) {
  Interaction base = InteractionBuilder().Build();
  EXPECT_FALSE(InteractionToJson(base)["request"].contains("origin"))
      << "a base-URL recording must not change shape";
  Interaction proxied = base;
  proxied.request.origin = "https://api.anthropic.com:443";
  Json json = InteractionToJson(proxied);
  EXPECT_EQ(json["request"]["origin"], "https://api.anthropic.com:443");
  EXPECT_EQ(RoundTrip(proxied).request.origin, "https://api.anthropic.com:443");
}

TEST(JsonMappingTest, AHostileOriginIsRefusedWithItsPath) {
  for (const char* origin :
       {"ftp://x:1", "https://x", "https://x:0", "https://x:70000", "https://EVIL.example:443",
        "https://a\nb:443", "https://x:443/p", "https://[zz]:443", ""}) {
    Interaction proxied = InteractionBuilder().Build();
    Json json = InteractionToJson(proxied);
    json["request"]["origin"] = origin;
    Result<Interaction> out = InteractionFromJson(json);
    ASSERT_FALSE(out.ok()) << origin;
    EXPECT_NE(out.status().message().find("request.origin"), std::string::npos)
        << out.status().message();
  }
}

TEST(ModelTest, MakeOriginSpellsSchemeHostAndPortTheOneWay) {
  EXPECT_EQ(MakeOrigin("HTTPS", "Api.Anthropic.com", 443), "https://api.anthropic.com:443");
  EXPECT_EQ(MakeOrigin("http", "::1", 8080), "http://[::1]:8080");
  EXPECT_TRUE(IsValidOrigin(MakeOrigin("https", "127.0.0.1", 1)));
  EXPECT_TRUE(IsValidOrigin(MakeOrigin("http", "::1", 65535)));
  Request r;
  r.path = "/v1/messages";
  EXPECT_EQ(r.Url(), "/v1/messages");
  r.origin = "https://api.openai.com:443";
  EXPECT_EQ(r.Url(), "https://api.openai.com:443/v1/messages");
}

}  // namespace
}  // namespace td::cassette
