// `tapedeck cassette ls|show|cat|verify|redact`, driven in-process through cli::Main's pieces.
#include "tools/cassette_commands.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "cassette/cassette_lock.h"
#include "cassette/codec.h"
#include "tests/support/compress.h"
#include "tests/support/fake_secrets.h"
#include "tests/support/fixtures.h"
#include "tests/support/interaction_builder.h"
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

struct CmdResult {
  int code;
  std::string out;
  std::string err;
};

CmdResult Cmd(std::string_view verb, std::vector<std::string> args) {
  Result<Config> config = Config::Parse(kCassetteCmd, args, {});
  EXPECT_TRUE(config.ok()) << config.status().message();
  std::ostringstream out, err;
  int code = RunCassetteCommand(verb, *config, out, err);
  return {code, out.str(), err.str()};
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

}  // namespace
}  // namespace td::cli
