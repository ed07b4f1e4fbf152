// `tapedeck cassette ls|show|cat|verify|redact|rm`, driven in-process through cli::Main's pieces.
#include "tools/cassette_commands.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "cassette/cassette_lock.h"
#include "cassette/codec.h"
#include "tests/support/compress.h"
#include "tests/support/fake_secrets.h"
#include "tests/support/fixtures.h"
#include "tests/support/interaction_builder.h"
#include "tests/unit/tools/cassette_command_runner.h"
#include "tools/exit_codes.h"

namespace td::cli {
namespace {

using cassette::Cassette;
using td::testing::InteractionBuilder;

using td::testing::FakeAnthropicKey;

Cassette TwoInteractions(const std::string& planted_in_sse = "") {
  Cassette c;
  c.created_at_us = 1700000000000000;
  c.interactions.push_back(InteractionBuilder()
                               .Seq(0)
                               .Method("POST")
                               .Path("/v1/messages")
                               .RequestHeader("x-api-key", "[REDACTED]")
                               .RequestJson({{"model", "claude-test"}, {"stream", true}})
                               .SseEvent("event: ping\ndata: {\"type\": \"ping\"}\n\n", 1000)
                               .SseEvent("event: message_stop\ndata: {\"type\":\"message_stop\"" +
                                             planted_in_sse + "}\n\n",
                                         2000)
                               .Build());
  c.interactions.push_back(InteractionBuilder()
                               .Seq(1)
                               .Method("GET")
                               .Path("/v1/models")
                               .ResponseJson({{"data", nlohmann::ordered_json::array()}})
                               .Build());
  return c;
}

std::string Write(const std::string& name, const Cassette& c, bool compress) {
  std::string path = ::testing::TempDir() + name;
  cassette::WriteOptions w;
  w.compress = compress;
  Status s = cassette::WriteCassetteAtomic(path, c, w);
  EXPECT_TRUE(s.ok()) << s.message();
  return path;
}

TEST(CassetteCommandsTest, LsPrintsOneLinePerInteraction) {
  std::string path = Write("ls.jsonl.zst", TwoInteractions(), true);
  CmdResult r = Cmd("ls", {path});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  std::istringstream lines(r.out);
  std::string first, second, extra;
  std::getline(lines, first);
  std::getline(lines, second);
  EXPECT_FALSE(std::getline(lines, extra));
  EXPECT_NE(first.find("#0"), std::string::npos);
  EXPECT_NE(first.find("POST"), std::string::npos);
  EXPECT_NE(first.find("/v1/messages"), std::string::npos);
  EXPECT_NE(first.find("claude-test"), std::string::npos);
  EXPECT_NE(first.find("sse 2 events"), std::string::npos) << first;
  EXPECT_NE(second.find("GET"), std::string::npos);
  EXPECT_NE(second.find("/v1/models"), std::string::npos);
}

TEST(CassetteCommandsTest, ShowListsEventsWithOffsets) {
  std::string path = Write("show.jsonl", TwoInteractions(), false);
  CmdResult r = Cmd("show", {path, "--interaction", "0"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_NE(r.out.find("+0.001000s  ping"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("+0.002000s  message_stop"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("/v1/models"), std::string::npos) << "only interaction 0 was asked for";
  EXPECT_EQ(Cmd("show", {path, "--interaction", "5"}).code, kExitUsage);
}

TEST(CassetteCommandsTest, CatJsonlIsTheStoredText) {
  Cassette c = TwoInteractions();
  std::string path = Write("cat.jsonl.zst", c, true);
  CmdResult r = Cmd("cat", {path, "--jsonl"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, cassette::SerializeCassette(c));
  CmdResult pretty = Cmd("cat", {path});
  ASSERT_EQ(pretty.code, kExitOk);
  EXPECT_NE(pretty.out.find("\n  \"request\": {"), std::string::npos) << pretty.out;
}

TEST(CassetteCommandsTest, VerifyNamesFileInteractionAndPlaceOfAPlantedKey) {
  std::string clean = Write("clean.jsonl.zst", TwoInteractions(), true);
  CmdResult ok = Cmd("verify", {clean});
  EXPECT_EQ(ok.code, kExitOk) << ok.out << ok.err;

  std::string dirty =
      Write("dirty.jsonl.zst", TwoInteractions(",\"leak\":\"" + FakeAnthropicKey() + "\""), true);
  CmdResult bad = Cmd("verify", {clean, dirty});
  EXPECT_EQ(bad.code, kExitProblem);
  EXPECT_NE(bad.out.find(dirty + ": interaction 0: response.stream.events[1]"), std::string::npos)
      << bad.out;
  EXPECT_NE(bad.out.find("anthropic-key"), std::string::npos) << bad.out;
  EXPECT_EQ(bad.out.find(FakeAnthropicKey()), std::string::npos) << "never print the secret";
}

// One interaction whose request body is `body` gzip'd, stored compressed with its header, as a
// cassette recorded before tapedeck decoded request bodies (or imported) holds it.
Cassette GzipRequestBody(const std::string& body, size_t cut = 0) {
  std::string zipped = td::testing::Gzip(body);
  zipped.resize(zipped.size() - cut);
  Cassette c;
  c.created_at_us = 1700000000000000;
  c.interactions.push_back(InteractionBuilder()
                               .RequestHeader("content-type", "application/json")
                               .RequestHeader("Content-Encoding", "gzip")
                               .RequestBody(zipped)
                               .ResponseJson({{"ok", true}})
                               .Build());
  return c;
}

TEST(CassetteCommandsTest, VerifyLooksInsideACompressedBodyAndFailsOnOneItCannotRead) {
  const std::string clean_json = R"({"model":"claude-test","max_tokens":16})";
  std::string clean = Write("gzip-clean.jsonl", GzipRequestBody(clean_json), false);
  CmdResult ok = Cmd("verify", {clean});
  EXPECT_EQ(ok.code, kExitOk) << ok.out << ok.err;

  const std::string leaky_json = R"({"model":"claude-test","note":")" + FakeAnthropicKey() + "\"}";
  std::string leaky = Write("gzip-key.jsonl", GzipRequestBody(leaky_json), false);
  CmdResult bad = Cmd("verify", {leaky});
  EXPECT_EQ(bad.code, kExitProblem);
  EXPECT_NE(bad.out.find(leaky + ": interaction 0: request.body (gzip) at byte " +
                         std::to_string(leaky_json.find("sk-ant-")) + ": anthropic-key\n"),
            std::string::npos)
      << bad.out;
  EXPECT_EQ(bad.out.find(FakeAnthropicKey()), std::string::npos) << "never print the secret";

  // What verify cannot read, it does not pass.
  std::string cut = Write("gzip-cut.jsonl", GzipRequestBody(clean_json, 3), false);
  CmdResult unread = Cmd("verify", {cut});
  EXPECT_EQ(unread.code, kExitProblem);
  EXPECT_NE(unread.out.find(cut + ": interaction 0: request.body: cannot decode gzip: truncated "
                                  "at byte "),
            std::string::npos)
      << unread.out;
  EXPECT_NE(unread.out.find("; not scanned\n"), std::string::npos) << unread.out;
}

TEST(CassetteCommandsTest, RedactRewritesInPlaceAndVerifyThenPasses) {
  std::string path =
      Write("redact.jsonl.zst", TwoInteractions(",\"leak\":\"" + FakeAnthropicKey() + "\""), true);
  CmdResult r = Cmd("redact", {path});
  EXPECT_EQ(r.code, kExitOk) << r.out << r.err;
  EXPECT_NE(r.out.find("redacted 1 place"), std::string::npos) << r.out;
  EXPECT_EQ(Cmd("verify", {path}).code, kExitOk);
  // The file stays compressed and the rest of the event stays byte-exact.
  std::ifstream in(path, std::ios::binary);
  unsigned char magic[4] = {};
  in.read(reinterpret_cast<char*>(magic), 4);
  EXPECT_EQ(magic[0], 0x28);
  Result<Cassette> c = cassette::ReadCassette(path);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->interactions[0].response.stream->events[1].bytes,
            "event: message_stop\ndata: {\"type\":\"message_stop\",\"leak\":\"[REDACTED:"
            "anthropic-key]\"}\n\n");
  CmdResult again = Cmd("redact", {path});
  EXPECT_EQ(again.code, kExitOk);
  EXPECT_NE(again.out.find("nothing to redact"), std::string::npos) << again.out;
}

TEST(CassetteCommandsTest, RedactStoresACompressedRequestDecodedAndMasksItsKeyLikeRecord) {
  const std::string json = R"({"model":"claude-test","note":")" + FakeAnthropicKey() + "\"}";
  std::string path = Write("redact-gzip.jsonl", GzipRequestBody(json), false);
  CmdResult r = Cmd("redact", {path});
  EXPECT_EQ(r.code, kExitOk) << r.out << r.err;
  EXPECT_NE(r.out.find("interaction 0: request.body stored decoded\n"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find(FakeAnthropicKey()), std::string::npos) << "never print the secret";
  Result<Cassette> c = cassette::ReadCassette(path);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->interactions[0].request.body.bytes,
            R"({"model":"claude-test","note":"[REDACTED:anthropic-key]"})");
  EXPECT_EQ(cassette::FindHeader(c->interactions[0].request.headers, "content-encoding"), nullptr);
  EXPECT_EQ(Cmd("verify", {path}).code, kExitOk);
}

TEST(CassetteCommandsTest, RedactWaitsForNoOneAndNeverWritesACassetteBeingRecorded) {
  std::string path =
      Write("locked.jsonl.zst", TwoInteractions(",\"leak\":\"" + FakeAnthropicKey() + "\""), true);
  const std::string before = testing::ReadFile(path);
  Result<cassette::CassetteLock> recording = cassette::CassetteLock::Acquire(path);
  ASSERT_TRUE(recording.ok());
  CmdResult r = Cmd("redact", {path});
  EXPECT_EQ(r.code, kExitCassette);
  EXPECT_NE(r.err.find("being written by another tapedeck"), std::string::npos) << r.err;
  EXPECT_EQ(testing::ReadFile(path), before);
  EXPECT_EQ(Cmd("verify", {path}).code, kExitProblem) << "readers do not wait for the lock";
}

TEST(CassetteCommandsTest, UnreadableFilesExitThreeNamingTheFile) {
  std::string garbage = ::testing::TempDir() + "garbage.zst";
  std::ofstream(garbage) << "\x28\xb5\x2f\xfd garbage that is not a zstd frame";
  for (std::string_view verb : {"ls", "show", "cat", "verify", "redact"}) {
    CmdResult r = Cmd(verb, {garbage});
    EXPECT_EQ(r.code, kExitCassette) << verb;
    EXPECT_NE(r.err.find(garbage), std::string::npos) << verb << ": " << r.err;
  }
  CmdResult missing = Cmd("ls", {"/nonexistent/t.zst"});
  EXPECT_EQ(missing.code, kExitCassette);
  EXPECT_NE(missing.err.find("/nonexistent/t.zst"), std::string::npos);
  EXPECT_EQ(Cmd("ls", {}).code, kExitUsage);
  EXPECT_EQ(Cmd("frobnicate", {garbage}).code, kExitUsage);
}

// One recording of a two-turn conversation. `take` changes what differs between two
// recordings of the same conversation: times, offsets, splits, Date, request ids, message ids,
// creation times. `reply` is the second turn's streamed text.
Cassette Recording(int take, const std::string& reply = "Hello there") {
  const std::string id = "msg_01Take" + std::to_string(take) + "Zq9";
  Cassette c;
  c.created_at_us = 1700000000000000 + take * 86400000000LL;
  c.mounts = {"anthropic"};
  c.interactions.push_back(
      InteractionBuilder()
          .Seq(0)
          .RecordedAt(1700000000000000 + take * 86400000000LL)
          .Method("POST")
          .Path("/anthropic/v1/messages")
          .RequestHeader("x-api-key", "[REDACTED]")
          .RequestJson(
              {{"model", "claude-test"}, {"messages", {{{"role", "user"}, {"content", "hi"}}}}})
          .ResponseHeader("date", "Mon, 0" + std::to_string(take) + " Dec 2026 10:00:00 GMT")
          .ResponseHeader("request-id", "req_" + std::to_string(take * 7919))
          .ResponseHeader("anthropic-ratelimit-requests-remaining", std::to_string(50 - take))
          .ResponseJson(
              {{"id", id}, {"type", "message"}, {"content", {{{"type", "text"}, {"text", "Hi"}}}}})
          .Build());
  c.interactions.push_back(
      InteractionBuilder()
          .Seq(1)
          .RecordedAt(1700000001000000 + take * 86400000000LL)
          .Method("POST")
          .Path("/anthropic/v1/messages")
          .RequestJson({{"model", "claude-test"}, {"stream", true}})
          .ResponseHeader("content-type", "text/event-stream")
          .ResponseHeader("Date", "Tue, 0" + std::to_string(take) + " Dec 2026 10:00:01 GMT")
          .SseEvent(
              "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"" +
                  id + "\"}}\n\n",
              1000 + take * 37)
          .SseEvent("event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"delta\":"
                    "{\"text\":\"" +
                        reply + "\"}}\n\n",
                    2000 + take * 53, {{5, 1500 + take}})
          .Build());
  return c;
}

TEST(CassetteCommandsTest, CatStableIsTheSameForTwoRecordingsOfTheSameConversation) {
  const std::string a = Write("take1.jsonl.zst", Recording(1), true);
  const std::string b = Write("take2.jsonl.zst", Recording(2), true);
  ASSERT_NE(Cmd("cat", {a}).out, Cmd("cat", {b}).out) << "the recordings differ on disk";
  CmdResult stable_a = Cmd("cat", {"--stable", a});
  CmdResult stable_b = Cmd("cat", {"--stable", b});
  ASSERT_EQ(stable_a.code, kExitOk) << stable_a.err;
  EXPECT_EQ(stable_a.out, stable_b.out);
  for (const char* noise : {"Dec 2026", "req_", "ratelimit", "Take1", "1700000000", "1500"}) {
    EXPECT_EQ(stable_a.out.find(noise), std::string::npos) << noise << " in:\n" << stable_a.out;
  }
  EXPECT_NE(
      stable_a.out.find("< data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_*\"}}"),
      std::string::npos)
      << stable_a.out;
  EXPECT_NE(stable_a.out.find("> x-api-key: [REDACTED]\n"), std::string::npos)
      << "one line per header";
  EXPECT_EQ(stable_a.out.find(" \n"), std::string::npos) << "no line ends in a space";
}

TEST(CassetteCommandsTest, CatStableShowsAChangedReplyAsItsOwnLines) {
  const std::string a = Write("reply1.jsonl.zst", Recording(1, "Hello there"), true);
  const std::string b = Write("reply2.jsonl.zst", Recording(2, "Hi again"), true);
  auto lines = [](const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
  };
  const std::vector<std::string> la = lines(Cmd("cat", {"--stable", a}).out);
  const std::vector<std::string> lb = lines(Cmd("cat", {"--stable", b}).out);
  ASSERT_EQ(la.size(), lb.size());
  std::vector<std::string> changed;
  for (size_t i = 0; i < la.size(); ++i) {
    if (la[i] != lb[i]) changed.push_back(la[i] + " -> " + lb[i]);
  }
  ASSERT_EQ(changed.size(), 1u) << ::testing::PrintToString(changed);
  EXPECT_NE(changed[0].find("Hello there"), std::string::npos) << changed[0];
  EXPECT_NE(changed[0].find("Hi again"), std::string::npos) << changed[0];
  EXPECT_EQ(Cmd("cat", {"--stable", "--jsonl", a}).code, kExitUsage);
}

TEST(CassetteCommandsTest, RmDropsInteractionsAtomicallyAndKeepsTheRest) {
  Cassette three = TwoInteractions();
  three.mounts = {"anthropic"};
  three.interactions.push_back(three.interactions[0]);
  three.interactions.back().seq = 2;
  const std::string path = Write("rm.jsonl.zst", three, true);

  CmdResult r = Cmd("rm", {path, "0", "2"});
  ASSERT_EQ(r.code, kExitOk) << r.err;
  EXPECT_EQ(r.out, path + ": removed 2 interactions (#0, #2); 1 left\n");
  Result<Cassette> after = cassette::ReadCassette(path);
  ASSERT_TRUE(after.ok()) << after.status().message();
  ASSERT_EQ(after->interactions.size(), 1u);
  EXPECT_EQ(after->interactions[0], three.interactions[1]);
  EXPECT_EQ(after->mounts, three.mounts) << "the header is kept";
  EXPECT_EQ(after->created_at_us, three.created_at_us);
  EXPECT_EQ(Cmd("cat", {"--jsonl", path}).code, kExitOk) << "still zstd, still readable";

  // Nothing is written unless every index is good, and never under another writer.
  const std::string before = testing::ReadFile(path);
  EXPECT_EQ(Cmd("rm", {path, "0", "1"}).code, kExitUsage);
  EXPECT_EQ(Cmd("rm", {path, "18446744073709551616"}).code, kExitUsage);
  EXPECT_EQ(Cmd("rm", {path, "1x"}).code, kExitUsage);
  EXPECT_EQ(Cmd("rm", {path}).code, kExitUsage);
  {
    Result<cassette::CassetteLock> recording = cassette::CassetteLock::Acquire(path);
    ASSERT_TRUE(recording.ok());
    EXPECT_EQ(Cmd("rm", {path, "0"}).code, kExitCassette);
  }
  EXPECT_EQ(testing::ReadFile(path), before);
}

TEST(CassetteCommandsTest, CatOutputReadsBackAsTheSameCassette) {
  const std::string golden = std::string(TD_SOURCE_DIR) + "/tests/golden/cassettes/v" +
                             std::to_string(cassette::kCassetteVersion);
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(golden)) {
    if (entry.path().extension() != ".jsonl") continue;
    ++files;
    const std::string path = entry.path().string();
    Result<Cassette> original = cassette::ReadCassette(path);
    ASSERT_TRUE(original.ok()) << original.status().message();
    for (const std::vector<std::string>& args :
         {std::vector<std::string>{path}, std::vector<std::string>{"--jsonl", path}}) {
      CmdResult cat = Cmd("cat", args);
      ASSERT_EQ(cat.code, kExitOk) << cat.err;
      const std::string copy = ::testing::TempDir() + "cat-" + entry.path().filename().string();
      std::ofstream(copy) << cat.out;
      Result<Cassette> back = cassette::ReadCassette(copy);
      ASSERT_TRUE(back.ok()) << args[0] << " " << path << ": " << back.status().message();
      EXPECT_EQ(*back, *original) << args[0] << " " << path;
    }
  }
  EXPECT_GE(files, 4);
}

TEST(CassetteCommandsTest, AnEventShortenedByHandLosesItsSplitsNotTheFile) {
  Cassette c = TwoInteractions();
  c.interactions[0].response.stream->events[1].splits = {{5, 1500}, {20, 1800}};
  const std::string path = Write("shortened.jsonl", c, false);
  std::string text = testing::ReadFile(path);
  const std::string from = R"(event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n)";
  ASSERT_NE(text.find(from), std::string::npos) << text;
  text.replace(text.find(from), from.size(), R"(data: {}\n\n)");
  std::ofstream(path, std::ios::trunc) << text;

  cassette::ReadReport report;
  Result<Cassette> back = cassette::ReadCassette(path, {}, &report);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->interactions[0].response.stream->events[1].splits,
            (std::vector<cassette::Split>{{5, 1500}}));
  EXPECT_TRUE(report.warnings.empty()) << "nothing that replays was lost";
  ASSERT_EQ(report.notes.size(), 1u);
  EXPECT_NE(report.notes[0].find("line 2: response.stream.events[1].splits[1]: end offset 20 "
                                 "is past the event's 10 bytes"),
            std::string::npos)
      << report.notes[0];
  CmdResult verify = Cmd("verify", {path});
  EXPECT_EQ(verify.code, kExitOk) << verify.out << verify.err;
  EXPECT_NE(verify.err.find("note: "), std::string::npos) << verify.err;
}

TEST(CassetteCommandsTest, APrettyDocumentThatNeverEndsNamesItsFirstLine) {
  const std::string path = ::testing::TempDir() + "unended.json";
  std::ofstream(path) << "{\n  \"tapedeck\": \"cassette\",\n  \"version\": 3\n  }\n";
  Result<Cassette> c = cassette::ReadCassette(path);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(), "cassette " + path +
                                      ": line 1: the JSON document that starts here does not end "
                                      "(a line holding only \"}\" ends it)");
}

}  // namespace
}  // namespace td::cli
