// HAR export and import (cassette/har.h, tools/har_commands.h): every golden cassette survives
// export then import unchanged; a browser's HAR imports as a recording would have stored it;
// keys in a foreign HAR never reach the cassette; malformed input is refused by name and
// nothing is written.
#include "cassette/har.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "cassette/codec.h"
#include "cassette/internal/codec_text.h"
#include "cassette/secret_scan.h"
#include "tests/support/compress.h"
#include "tests/support/fake_secrets.h"
#include "tests/support/interaction_builder.h"
#include "tests/support/temp_dir.h"
#include "tests/unit/tools/cassette_command_runner.h"
#include "tools/cassette_commands.h"
#include "tools/commands.h"
#include "tools/exit_codes.h"

namespace td::cli {
namespace {

namespace fs = std::filesystem;
using cassette::Cassette;
using cassette::HarImport;
using cassette::HarToCassette;
using cassette::Interaction;
using cassette::Json;
using cassette::ParseHarText;
using td::testing::InteractionBuilder;
using td::testing::ScopedTempDir;

const fs::path kGoldenRoot = fs::path(TD_SOURCE_DIR) / "tests" / "golden" / "cassettes";
const fs::path kHarData = fs::path(TD_SOURCE_DIR) / "tests" / "data" / "har";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void WriteFile(const std::string& path, std::string_view text) {
  std::ofstream(path, std::ios::binary) << text;
}

// Export, write as the verb writes it, read back, import: the pure round trip.
Result<HarImport> RoundTrip(const Cassette& c) {
  Result<Json> har = cassette::CassetteToHar(c, "0.0.0-test");
  if (!har.ok()) return har.status();
  Result<Json> parsed = ParseHarText(har->dump(2), std::uint64_t{1} << 30);
  if (!parsed.ok()) return parsed.status();
  return HarToCassette(*parsed);
}

// The first difference between two cassettes, for a failure message.
std::string FirstDifference(const Cassette& a, const Cassette& b) {
  if (a.version != b.version)
    return "version " + std::to_string(a.version) + " vs " + std::to_string(b.version);
  if (a.created_at_us != b.created_at_us) return "created_at";
  if (a.mounts != b.mounts) return "mounts";
  if (a.interactions.size() != b.interactions.size()) return "interaction count";
  for (size_t i = 0; i < a.interactions.size(); ++i) {
    if (a.interactions[i] != b.interactions[i]) {
      return "interaction " + std::to_string(i) + ":\n" +
             cassette::SerializeInteraction(a.interactions[i]) + "\n" +
             cassette::SerializeInteraction(b.interactions[i]);
    }
  }
  return "";
}

std::vector<fs::path> GoldenFiles() {
  std::vector<fs::path> files;
  for (const char* version : {"v1", "v2"}) {
    for (const auto& entry : fs::directory_iterator(kGoldenRoot / version)) {
      const std::string name = entry.path().filename().string();
      if (name.ends_with(".jsonl") || name.ends_with(".jsonl.zst")) files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

TEST(HarTest, EveryGoldenCassetteSurvivesExportThenImport) {
  const std::vector<fs::path> files = GoldenFiles();
  ASSERT_GE(files.size(), 9u) << "golden cassettes not found under " << kGoldenRoot;
  for (const fs::path& file : files) {
    SCOPED_TRACE(file.string());
    Result<Cassette> original = cassette::ReadCassette(file.string());
    ASSERT_TRUE(original.ok()) << original.status().message();
    Result<HarImport> back = RoundTrip(*original);
    ASSERT_TRUE(back.ok()) << back.status().message();
    EXPECT_TRUE(back->cassette == *original) << FirstDifference(*original, back->cassette);
    EXPECT_TRUE(back->notes.empty());
    // Every replayed byte, spelled out: bodies and each event with its times and splits.
    for (size_t i = 0; i < original->interactions.size(); ++i) {
      const cassette::Response& want = original->interactions[i].response;
      const cassette::Response& got = back->cassette.interactions[i].response;
      EXPECT_EQ(got.body.bytes, want.body.bytes);
      ASSERT_EQ(got.stream.has_value(), want.stream.has_value());
      if (want.stream) {
        EXPECT_EQ(got.stream->events, want.stream->events);
      }
    }
  }
}

// What the golden files do not hold: sub-millisecond times, strings that are not UTF-8, targets
// a URL cannot spell, a request body whose spelling was not kept, a response the upstream
// compressed anyway, a cut stream of chunks with splits, negative and inverted timings.
TEST(HarTest, EdgeCasesSurviveExportThenImport) {
  Cassette c;
  c.created_at_us = 1795249953123457;
  c.mounts = {"anthropic", "openai"};
  c.interactions.push_back(InteractionBuilder()
                               .Seq(7)
                               .RecordedAt(1795249953123457)
                               .Method("P\xC3\x28ST")
                               .Path("/anthropic/a b#c?d")
                               .Query("x&y", "1=2")
                               .Query("", "")
                               .Query("caf\xE9", "")
                               .RequestHeader("x-bin\xFF", "v\x80")
                               .RequestHeader("X-Mixed-Case", "Kept As Is")
                               .RequestBody("{\"b\": 1.50, \"a\": \"\\u00e9\"}", false)
                               .ResponseHeader("content-encoding", "gzip")
                               .ResponseHeader("content-type", "application/json")
                               .ResponseBody(td::testing::Gzip("{\"ok\":true}"))
                               .Timing(-5, -9)
                               .Build());
  c.interactions.push_back(InteractionBuilder()
                               .Seq(3)
                               .RecordedAt(-1)
                               .Path("")
                               .Chunk("{\"a\":", 10)
                               .Chunk("1}\n\xFF", 20)
                               .Timing(30, 5)
                               .Truncated("upstream \xFF reset")
                               .Build());
  c.interactions.push_back(InteractionBuilder()
                               .Seq(0)
                               .Path("/openai/v1/chat/completions")
                               .RequestJson({{"stream", true}})
                               .SseEvent("data: {\"x\":1}\r\n\r\n", 1500, {{3, 1200}, {9, 1400}})
                               .SseEvent(": keep-alive\n\n", 2500)
                               .SseEvent("data: [DONE]\n\n", 3000)
                               .Build());
  c.interactions[2].request.body.exact = false;  // empty exact=false is held too
  c.interactions[2].request.body.bytes.clear();
  Result<HarImport> back = RoundTrip(c);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_TRUE(back->cassette == c) << FirstDifference(c, back->cassette);
}

TEST(HarTest, ExportedHarIsWhatViewersRead) {
  Cassette c;
  c.created_at_us = 1795249953000000;
  c.interactions.push_back(InteractionBuilder()
                               .RecordedAt(1795249954001234)
                               .Target("/v1/messages?beta=true")
                               .RequestHeader("x-api-key", "[REDACTED]")
                               .RequestJson({{"model", "m"}})
                               .SseEvent("event: a\ndata: 1\n\n", 400000)
                               .SseEvent("event: b\ndata: 2\n\n", 500000)
                               .Timing(300000, 500250)
                               .Build());
  c.interactions.push_back(InteractionBuilder()
                               .Seq(1)
                               .Method("GET")
                               .Path("/logo.png")
                               .ResponseStatus(404)
                               .ResponseHeader("content-type", "image/png")
                               .ResponseBody(std::string("\x89PNG\r\n\x1a\n", 8))
                               .Build());
  Result<Json> har = cassette::CassetteToHar(c, Version());
  ASSERT_TRUE(har.ok()) << har.status().message();
  // Copies, so that a missing key reads as null (and fails below) instead of asserting.
  Json log = (*har)["log"];
  EXPECT_EQ(log["version"], "1.2");
  EXPECT_EQ(log["creator"]["name"], "tapedeck");
  EXPECT_EQ(log["creator"]["version"], std::string(Version()));
  ASSERT_EQ(log["entries"].size(), 2u);

  Json sse = log["entries"][0];
  EXPECT_EQ(sse["startedDateTime"], "2026-11-21T08:32:34.001Z");
  EXPECT_EQ(sse["request"]["url"], "http://tapedeck.invalid/v1/messages?beta=true");
  EXPECT_EQ(sse["request"]["method"], "POST");
  EXPECT_EQ(sse["request"]["httpVersion"], "HTTP/1.1");
  EXPECT_EQ(sse["request"]["queryString"][0]["name"], "beta");
  EXPECT_EQ(sse["request"]["headersSize"], -1);
  EXPECT_EQ(sse["request"]["postData"]["mimeType"], "application/json");
  EXPECT_EQ(sse["request"]["postData"]["text"], "{\"model\":\"m\"}");
  EXPECT_EQ(sse["response"]["status"], 200);
  EXPECT_EQ(sse["response"]["statusText"], "OK");
  EXPECT_EQ(sse["response"]["content"]["mimeType"], "text/event-stream");
  // A browser shows the whole stream as the body.
  EXPECT_EQ(sse["response"]["content"]["text"], "event: a\ndata: 1\n\nevent: b\ndata: 2\n\n");
  EXPECT_EQ(sse["response"]["bodySize"], 36);
  EXPECT_EQ(sse["timings"]["wait"], 300.0);
  EXPECT_EQ(sse["timings"]["receive"], 200.25);
  EXPECT_EQ(sse["time"], 500.25);
  EXPECT_TRUE(sse["cache"].is_object());
  Json ext = sse["_tapedeck"];
  EXPECT_EQ(ext["recorded_at"], "2026-11-21T08:32:34.001234Z");
  EXPECT_EQ(ext["response"]["stream"]["kind"], "sse");
  EXPECT_EQ(ext["response"]["stream"]["events"][1]["at_us"], 500000);
  EXPECT_FALSE(ext.contains("request")) << ext.dump();  // the HAR fields hold it all

  Json png = log["entries"][1];
  EXPECT_EQ(png["response"]["statusText"], "Not Found");
  EXPECT_EQ(png["response"]["content"]["encoding"], "base64");
  EXPECT_EQ(png["response"]["content"]["text"],
            cassette::internal::Base64Encode(std::string("\x89PNG\r\n\x1a\n", 8)));
  EXPECT_EQ(png["response"]["content"]["size"], 8);
  EXPECT_FALSE(png["_tapedeck"].contains("response"));
  EXPECT_EQ(log["_tapedeck"]["version"], 1);
  EXPECT_EQ(log["_tapedeck"]["header"]["created_at"], "2026-11-21T08:32:33.000000Z");
}

TEST(HarTest, CompressedResponseShowsDecodedAndKeepsTheBytes) {
  Cassette c;
  const std::string gz = td::testing::Gzip("{\"ok\":true}");
  c.interactions.push_back(InteractionBuilder()
                               .ResponseHeader("content-type", "application/json")
                               .ResponseHeader("content-encoding", "gzip")
                               .ResponseBody(gz)
                               .Build());
  Result<Json> har = cassette::CassetteToHar(c, "0.0.0-test");
  ASSERT_TRUE(har.ok());
  Json entry = (*har)["log"]["entries"][0];
  EXPECT_EQ(entry["response"]["content"]["text"], "{\"ok\":true}");
  EXPECT_EQ(entry["response"]["bodySize"], gz.size());
  EXPECT_EQ(entry["_tapedeck"]["response"]["body"]["base64"], cassette::internal::Base64Encode(gz));
}

Json LoadJson(const fs::path& path) {
  Result<Json> j = ParseHarText(ReadFile(path.string()), std::uint64_t{1} << 30);
  EXPECT_TRUE(j.ok()) << j.status().message();
  return j.ok() ? *j : Json();
}

TEST(HarTest, BrowserHarImportsAsARecordingWouldHaveStoredIt) {
  Result<HarImport> imported = HarToCassette(LoadJson(kHarData / "chrome-session.har"));
  ASSERT_TRUE(imported.ok()) << imported.status().message();
  const Cassette& c = imported->cassette;
  ASSERT_EQ(c.interactions.size(), 4u);
  EXPECT_EQ(imported->entries, (std::vector<size_t>{0, 1, 2, 5}));
  EXPECT_EQ(c.version, cassette::kCassetteVersion);
  EXPECT_TRUE(c.mounts.empty());
  // The earliest entry kept: the logo at 10:15:29.990.
  EXPECT_EQ(FormatRfc3339Micros(c.created_at_us), "2026-03-04T10:15:29.990000Z");

  // POST over HTTP/2 with a JSON body; the response was gzip on the wire, decoded in the HAR.
  const Interaction& post = c.interactions[0];
  EXPECT_EQ(post.seq, 0u);
  EXPECT_EQ(FormatRfc3339Micros(post.recorded_at_us), "2026-03-04T10:15:30.123000Z");
  EXPECT_EQ(post.request.method, "POST");
  EXPECT_EQ(post.request.path, "/v1/messages");
  EXPECT_EQ(post.request.query,
            (std::vector<std::pair<std::string, std::string>>{{"beta", "true"}}));
  EXPECT_EQ(post.request.headers, (cassette::Headers{{"accept", "application/json"},
                                                     {"anthropic-version", "2023-06-01"},
                                                     {"content-type", "application/json"},
                                                     {"x-api-key", "placeholder"}}));
  EXPECT_EQ(post.request.body.bytes,
            "{\"model\":\"claude-sonnet-4-5\",\"max_tokens\":64,\"messages\":[{\"role\":\"user\","
            "\"content\":\"Hi\"}]}");
  EXPECT_TRUE(post.request.body.exact);
  EXPECT_EQ(post.response.status, 200);
  EXPECT_EQ(post.response.headers, (cassette::Headers{{"content-type", "application/json"},
                                                      {"date", "Wed, 04 Mar 2026 10:15:30 GMT"},
                                                      {"request-id", "req_011CWxyz"}}));
  EXPECT_FALSE(post.response.streamed());
  EXPECT_TRUE(post.response.body.bytes.starts_with("{\"id\":\"msg_01Abc\""));
  EXPECT_EQ(post.timing.headers_us, 412300);
  EXPECT_EQ(post.timing.done_us, 414000);

  // GET over HTTP/1.1: hop-by-hop headers gone, the fragment dropped, cookies as headers only.
  const Interaction& get = c.interactions[1];
  EXPECT_EQ(get.seq, 1u);
  EXPECT_EQ(get.request.method, "GET");
  EXPECT_EQ(get.request.Target(), "/v1/models?limit=2");
  EXPECT_EQ(get.request.headers, (cassette::Headers{{"Host", "api.anthropic.com"},
                                                    {"Accept", "*/*"},
                                                    {"Cookie", "session=placeholder"},
                                                    {"Authorization", "Bearer placeholder"}}));
  EXPECT_TRUE(get.request.body.empty());
  EXPECT_EQ(get.response.headers,
            (cassette::Headers{{"Content-Type", "application/json"},
                               {"Set-Cookie", "session=placeholder; Path=/; HttpOnly"}}));
  EXPECT_EQ(get.response.body.bytes,
            "{\"data\":[{\"id\":\"claude-sonnet-4-5\"}],\"has_more\":false}\n");
  EXPECT_EQ(get.timing.headers_us, 30000);
  EXPECT_EQ(get.timing.done_us, 33200);

  // The SSE response becomes a stream of its events, all at the end of the receive time.
  const Interaction& sse = c.interactions[2];
  ASSERT_TRUE(sse.response.streamed());
  EXPECT_EQ(sse.response.stream->kind, cassette::StreamKind::kSse);
  ASSERT_EQ(sse.response.stream->events.size(), 3u);
  EXPECT_EQ(sse.response.stream->events[0].bytes,
            "event: message_start\ndata: {\"type\":\"message_start\"}\n\n");
  EXPECT_EQ(sse.response.stream->events[2].bytes,
            "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n");
  for (const cassette::StreamEvent& e : sse.response.stream->events) {
    EXPECT_EQ(e.at_us, sse.timing.done_us);
    EXPECT_TRUE(e.splits.empty());
  }
  EXPECT_EQ(sse.timing.done_us, 1250000);

  // A binary body given as base64.
  const Interaction& png = c.interactions[3];
  EXPECT_EQ(png.request.path, "/logo.png");
  EXPECT_EQ(png.response.body.bytes, *cassette::internal::Base64Decode("iVBORw0KGgoAAAANSUhEUg=="));
  EXPECT_EQ(png.response.headers, (cassette::Headers{{"Content-Type", "image/png"}}));

  // What was skipped or changed, by entry.
  const std::vector<std::string> want = {
      "entries[0]: dropped the response's content-encoding header (HAR content is stored decoded)",
      "entries[3]: a data: URL, not an HTTP request; skipped",
      "entries[4]: status 0: the browser got no response (net::ERR_BLOCKED_BY_CLIENT); skipped",
  };
  EXPECT_EQ(imported->notes, want);
}

TEST(HarTest, ForeignTimesWithOffsetsAndFormParams) {
  Json har = Json::parse(R"({"log": {"entries": [{
      "startedDateTime": "2026-03-04T11:15:30.250+01:00",
      "request": {"method": "POST", "url": "HTTP://Example.invalid?a=1",
                  "postData": {"mimeType": "application/x-www-form-urlencoded",
                               "params": [{"name": "q", "value": "x"},
                                          {"name": "n", "value": "2"}]}},
      "response": {"status": 204, "content": {"size": 0, "mimeType": "x-unknown"}}}]}})");
  Result<HarImport> imported = HarToCassette(har);
  ASSERT_TRUE(imported.ok()) << imported.status().message();
  const Interaction& it = imported->cassette.interactions.at(0);
  EXPECT_EQ(FormatRfc3339Micros(it.recorded_at_us), "2026-03-04T10:15:30.250000Z");
  EXPECT_EQ(it.request.Target(), "/?a=1");
  EXPECT_EQ(it.request.body.bytes, "q=x&n=2");
  EXPECT_EQ(it.response.status, 204);
  EXPECT_EQ(it.timing, cassette::Timing{});
}

// --- through the command ---------------------------------------------------------------------

TEST(HarCommandTest, ExportThenImportGivesBackTheGoldenCassettes) {
  ScopedTempDir dir;
  for (const fs::path& file : GoldenFiles()) {
    SCOPED_TRACE(file.string());
    const std::string name =
        file.parent_path().filename().string() + "-" + file.filename().string();
    const std::string har = dir.Path(name + ".har");
    const std::string back = dir.Path(name + ".back.jsonl.zst");
    CmdResult e = Cmd("export-har", {file.string(), har});
    ASSERT_EQ(e.code, kExitOk) << e.err;
    EXPECT_NE(e.out.find(": exported "), std::string::npos) << e.out;
    CmdResult i = Cmd("import-har", {har, back});
    ASSERT_EQ(i.code, kExitOk) << i.err;
    EXPECT_TRUE(IsZstdFile(back));
    Result<Cassette> original = cassette::ReadCassette(file.string());
    Result<Cassette> got = cassette::ReadCassette(back);
    ASSERT_TRUE(original.ok() && got.ok());
    got->version = original->version;  // a file is always written in the current version
    EXPECT_TRUE(*got == *original) << FirstDifference(*original, *got);
  }
}

TEST(HarCommandTest, ImportsTheBrowserHarRedacted) {
  ScopedTempDir dir;
  const std::string out = dir.Path("browser.jsonl");
  CmdResult r = Cmd("import-har", {(kHarData / "chrome-session.har").string(), out});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_FALSE(IsZstdFile(out));  // no .zst: plain JSON Lines
  EXPECT_NE(r.out.find("imported 4 interactions"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("entries[3]: a data: URL"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("entries[1]: redacted request.headers.authorization"), std::string::npos)
      << r.out;
  Result<Cassette> c = cassette::ReadCassette(out);
  ASSERT_TRUE(c.ok()) << c.status().message();
  ASSERT_EQ(c->interactions.size(), 4u);
  EXPECT_EQ(*cassette::FindHeader(c->interactions[0].request.headers, "x-api-key"), "[REDACTED]");
  EXPECT_EQ(*cassette::FindHeader(c->interactions[1].request.headers, "cookie"), "[REDACTED]");
  EXPECT_EQ(*cassette::FindHeader(c->interactions[1].response.headers, "set-cookie"), "[REDACTED]");
}

// A key planted in a foreign HAR's header, query, request body and response body is masked,
// and never reaches the file.
TEST(HarCommandTest, KeysInAForeignHarNeverReachTheCassette) {
  using namespace td::testing;  // NOLINT: the fake keys
  const std::vector<std::string> keys = {FakeAnthropicKey(), FakeOpenAiKey(), FakeGoogleKey(),
                                         FakeGithubToken(), FakeStripeKey()};
  Json entry = Json::parse(R"({"startedDateTime": "2026-03-04T10:15:30.000Z",
      "request": {"method": "POST", "headers": [{"name": "content-type",
                                                 "value": "application/json"}]},
      "response": {"status": 200, "headers": [], "content": {"mimeType": "text/plain"}}})");
  entry["request"]["url"] = "https://api.example.invalid/v1/chat?key=" + keys[2] + "&x=1";
  entry["request"]["headers"].push_back({{"name", "x-api-key"}, {"value", keys[0]}});
  entry["request"]["headers"].push_back({{"name", "x-debug-note"}, {"value", "k " + keys[4]}});
  entry["request"]["postData"] = {{"mimeType", "application/json"},
                                  {"text", "{\"prompt\":\"use " + keys[1] + " please\"}"}};
  entry["response"]["content"]["text"] = "your token is " + keys[3] + "\n";
  // Keys where a note could quote them: a URL with no scheme, an error of a failed request.
  Json odd = Json::parse(R"({"request": {"method": "GET"}, "response": {"status": 200}})");
  odd["request"]["url"] = keys[0];
  Json failed = Json::parse(R"({"request": {"method": "GET", "url": "https://h.invalid/"},
                                "response": {"status": 0}})");
  failed["response"]["_error"] = "net::ERR_" + keys[4];
  Json har = {{"log", {{"version", "1.2"}, {"entries", Json::array({entry, odd, failed})}}}};

  ScopedTempDir dir;
  const std::string in = dir.Path("foreign.har");
  const std::string out = dir.Path("foreign.jsonl");
  WriteFile(in, har.dump(2));
  CmdResult r = Cmd("import-har", {in, out});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  const std::string written = ReadFile(out);
  for (const std::string& key : keys) {
    EXPECT_EQ(written.find(key), std::string::npos) << "a key reached the cassette";
    EXPECT_EQ(r.out.find(key), std::string::npos) << "a key reached the report";
    EXPECT_EQ(r.err.find(key), std::string::npos) << "a key reached the report";
  }
  EXPECT_NE(r.out.find("entries[1]: an unknown URL, not an HTTP request; skipped"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("entries[2]: status 0: the browser got no response; skipped"),
            std::string::npos)
      << r.out;
  Result<Cassette> c = cassette::ReadCassette(out);
  ASSERT_TRUE(c.ok()) << c.status().message();
  ASSERT_EQ(c->interactions.size(), 1u);
  EXPECT_TRUE(cassette::ScanInteraction(c->interactions[0], 0).empty());
  EXPECT_EQ(*cassette::FindHeader(c->interactions[0].request.headers, "x-api-key"), "[REDACTED]");
  EXPECT_EQ(c->interactions[0].request.query.back(),
            (std::pair<std::string, std::string>{"x", "1"}));
  EXPECT_NE(c->interactions[0].request.body.bytes.find("please"), std::string::npos);
}

// A key inside compressed bytes that must replay as they are cannot be masked: that interaction
// is not written, the others are, and the exit status says so.
TEST(HarCommandTest, AnInteractionWhoseKeyCannotBeMaskedIsNotWritten) {
  const std::string gz = td::testing::Gzip("token " + td::testing::FakeGithubToken());
  Json bad = Json::parse(R"({"startedDateTime": "2026-03-04T10:15:30.000Z",
      "request": {"method": "GET", "url": "http://tapedeck.invalid/secret", "headers": []},
      "response": {"status": 200, "headers": [{"name": "content-encoding", "value": "gzip"}],
                   "content": {"size": 0, "mimeType": "text/plain"}}})");
  bad["_tapedeck"] = {{"seq", 0},
                      {"response", {{"body", {{"base64", cassette::internal::Base64Encode(gz)}}}}}};
  Json good = Json::parse(R"({"startedDateTime": "2026-03-04T10:15:31.000Z",
      "request": {"method": "GET", "url": "http://tapedeck.invalid/fine", "headers": []},
      "response": {"status": 200, "headers": [], "content": {"size": 2, "mimeType": "text/plain",
                                                             "text": "ok"}}})");
  Json har = {{"log", {{"entries", Json::array({bad, good})}}}};
  ScopedTempDir dir;
  const std::string in = dir.Path("mixed.har");
  const std::string out = dir.Path("mixed.jsonl");
  WriteFile(in, har.dump());
  CmdResult r = Cmd("import-har", {in, out});
  EXPECT_EQ(r.code, kExitProblem) << r.err;
  EXPECT_NE(r.err.find("entries[0]: not written: a secret-shaped value could not be masked"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.out.find("imported 1 interaction from"), std::string::npos) << r.out;
  Result<Cassette> c = cassette::ReadCassette(out);
  ASSERT_TRUE(c.ok()) << c.status().message();
  ASSERT_EQ(c->interactions.size(), 1u);
  EXPECT_EQ(c->interactions[0].request.path, "/fine");
  EXPECT_EQ(ReadFile(out).find(cassette::internal::Base64Encode(gz)), std::string::npos);
}

struct Malformed {
  std::string name;
  std::string text;
  std::string message;  // expected in the error, after "har IN: "
};

TEST(HarCommandTest, MalformedInputIsRefusedByNameAndNothingIsWritten) {
  const std::string entry_ok =
      R"({"request": {"method": "GET", "url": "http://h/", "headers": []},
          "response": {"status": 200, "headers": [], "content": {"size": 0, "mimeType": ""}}})";
  const std::vector<Malformed> cases = {
      {"bad json", "{\n  \"log\": {\n    \"entries\": [1,]\n  }\n}\n",
       "line 3, column 19: invalid JSON"},
      {"cut json", "{\"log\": {\"entries\": [", "line 1, column 22: invalid JSON"},
      {"not a har", R"({"hello": "world"})", "not a HAR (no log.entries array)"},
      {"entries not array", R"({"log": {"entries": {}}})", "not a HAR (no log.entries array)"},
      {"entry not object", R"({"log": {"entries": [42]}})", "entries[0]: expected an object"},
      {"no response",
       R"({"log": {"entries": [)" + entry_ok +
           R"(, {"request": {"method": "GET", "url": "http://h/"}}]}})",
       "entries[1]: missing \"response\""},
      {"no request", R"({"log": {"entries": [{"response": {"status": 200}}]}})",
       "entries[0]: missing \"request\""},
      {"header value", R"({"log": {"entries": [{"request": {"method": "GET", "url": "http://h/",
          "headers": [{"name": "a", "value": 1}]}, "response": {"status": 200}}]}})",
       "entries[0].request.headers[0].value: expected a string"},
      {"no url", R"({"log": {"entries": [{"request": {"method": "GET"},
          "response": {"status": 200}}]}})",
       "entries[0].request: missing \"url\""},
      {"bad status", R"({"log": {"entries": [{"request": {"method": "GET", "url": "http://h/"},
          "response": {"status": "200"}}]}})",
       "entries[0].response.status: expected a status code 0..999"},
      {"bad base64", R"({"log": {"entries": [{"request": {"method": "GET", "url": "http://h/"},
          "response": {"status": 200, "content": {"text": "a$==", "encoding": "base64"}}}]}})",
       "entries[0].response.content.text: invalid base64 at offset 1"},
      {"bad time", R"({"log": {"entries": [{"startedDateTime": "yesterday",
          "request": {"method": "GET", "url": "http://h/"}, "response": {"status": 200}}]}})",
       "entries[0].startedDateTime: expected an ISO 8601 time"},
      {"bad extension", R"({"log": {"entries": [{"_tapedeck": {"response": {"stream":
          {"kind": "sse", "events": [{"at_us": 1}]}}},
          "request": {"method": "GET", "url": "http://h/"}, "response": {"status": 200}}]}})",
       "entries[0]._tapedeck: response.stream.events[0]: missing \"data\""},
      {"edited stream", R"({"log": {"entries": [{"_tapedeck": {"response": {"stream":
          {"kind": "sse", "events": [{"at_us": 1, "data": "data: 1\n\n"}]}}},
          "request": {"method": "GET", "url": "http://h/"},
          "response": {"status": 200, "content": {"text": "data: 2\n\n"}}}]}})",
       "entries[0].response.content.text: differs from the events in _tapedeck.response.stream"},
      {"newer extension", R"({"log": {"_tapedeck": {"version": 2, "header": {}},
          "entries": []}})",
       "log._tapedeck.version: 2 is newer than this tapedeck reads (1)"},
      {"bad mounts", R"({"log": {"_tapedeck": {"version": 1, "header": {"tapedeck": "cassette",
          "version": 2, "mounts": ["../x"]}}, "entries": []}})",
       "log._tapedeck.header: mounts[0]: \"../x\" is not a valid mount name"},
  };
  ScopedTempDir dir;
  for (const Malformed& m : cases) {
    SCOPED_TRACE(m.name);
    const std::string in = dir.Path("bad.har");
    const std::string out = dir.Path("out.jsonl");
    WriteFile(in, m.text);
    CmdResult r = Cmd("import-har", {in, out});
    EXPECT_EQ(r.code, kExitCassette);
    EXPECT_NE(r.err.find("tapedeck: har " + in + ": " + m.message), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(out)) << "something was written";
  }
}

TEST(HarCommandTest, UnreadableOrOversizedInputWritesNothing) {
  ScopedTempDir dir;
  const std::string out = dir.Path("out.jsonl");
  CmdResult missing = Cmd("import-har", {dir.Path("nope.har"), out});
  EXPECT_EQ(missing.code, kExitCassette);
  EXPECT_NE(missing.err.find("har " + dir.Path("nope.har") + ": cannot open"), std::string::npos)
      << missing.err;
  const std::string big = dir.Path("big.har");
  WriteFile(big, ReadFile((kHarData / "chrome-session.har").string()));
  CmdResult capped = Cmd("import-har", {"--max-line-bytes", "4KiB", big, out});
  EXPECT_EQ(capped.code, kExitCassette);
  EXPECT_NE(capped.err.find("har " + big +
                            ": file is larger than 4096 bytes; refusing to read it "
                            "(--max-line-bytes)"),
            std::string::npos)
      << capped.err;
  // The parsed tree is bounded too: a file under the cap whose tree would pass twice the cap.
  std::string wide = "{\"log\": {\"entries\": [";
  for (int i = 0; i < 1000; ++i) wide += "[],";
  wide += "[]]}}";
  WriteFile(big, wide);
  CmdResult tree = Cmd("import-har", {"--max-line-bytes", "4KiB", big, out});
  EXPECT_EQ(tree.code, kExitCassette);
  EXPECT_NE(tree.err.find("(2 x --max-line-bytes); refusing to read it"), std::string::npos)
      << tree.err;
  EXPECT_FALSE(fs::exists(out));
  CmdResult no_cassette = Cmd("export-har", {dir.Path("nope.jsonl"), dir.Path("x.har")});
  EXPECT_EQ(no_cassette.code, kExitCassette);
  EXPECT_FALSE(fs::exists(dir.Path("x.har")));
}

TEST(HarCommandTest, AnOutputThatHoldsInteractionsIsReplacedOnlyWithOverwrite) {
  ScopedTempDir dir;
  const std::string har = (kHarData / "chrome-session.har").string();
  const std::string out = dir.Path("kept.jsonl.zst");
  Cassette one;
  one.interactions.push_back(InteractionBuilder().Path("/mine").Build());
  cassette::WriteOptions w;
  ASSERT_TRUE(cassette::WriteCassetteAtomic(out, one, w).ok());
  const std::string before = ReadFile(out);
  CmdResult refused = Cmd("import-har", {har, out});
  EXPECT_EQ(refused.code, kExitUsage);
  EXPECT_NE(refused.err.find("already holds 1 interaction; refusing to replace it. Pass "
                             "--overwrite"),
            std::string::npos)
      << refused.err;
  EXPECT_EQ(ReadFile(out), before);
  CmdResult replaced = Cmd("import-har", {"--overwrite", har, out});
  ASSERT_EQ(replaced.code, kExitOk) << replaced.err;
  EXPECT_TRUE(IsZstdFile(out));
  Result<Cassette> c = cassette::ReadCassette(out);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->interactions.size(), 4u);

  // A file that is not a cassette is not replaced either.
  const std::string notes = dir.Path("notes.txt");
  WriteFile(notes, "my notes\n");
  CmdResult not_cassette = Cmd("import-har", {har, notes});
  EXPECT_EQ(not_cassette.code, kExitCassette);
  EXPECT_NE(not_cassette.err.find("--overwrite replaces it"), std::string::npos)
      << not_cassette.err;
  EXPECT_EQ(ReadFile(notes), "my notes\n");
}

TEST(HarCommandTest, UsageErrors) {
  ScopedTempDir dir;
  CmdResult one = Cmd("export-har", {dir.Path("a.jsonl")});
  EXPECT_EQ(one.code, kExitUsage);
  EXPECT_NE(one.err.find("export-har FILE OUT.har"), std::string::npos) << one.err;
  CmdResult three = Cmd("import-har", {"a", "b", "c"});
  EXPECT_EQ(three.code, kExitUsage);
  EXPECT_NE(three.err.find("import-har IN.har FILE"), std::string::npos) << three.err;

  // Exporting over the cassette itself would destroy it.
  const std::string path = dir.Path("self.jsonl");
  Cassette c;
  c.interactions.push_back(InteractionBuilder().Build());
  ASSERT_TRUE(cassette::WriteCassetteAtomic(path, c, {}).ok());
  const std::string before = ReadFile(path);
  CmdResult self = Cmd("export-har", {path, path});
  EXPECT_EQ(self.code, kExitUsage);
  EXPECT_EQ(ReadFile(path), before);
}

}  // namespace
}  // namespace td::cli
