// Big cassettes through the tapedeck binary: replay reads them as a stream, on two threads, with
// a fast path for the lines tapedeck writes (docs/performance.md, "Loading big cassettes"). What
// it must keep: a bad line far into the file stops replay before it listens, naming the file and
// the line; and every interaction, whichever path read its line, is served byte for byte as
// recorded, with misses still explained.
#include <gtest/gtest.h>
#include <zstd.h>

#include <fstream>
#include <string>
#include <vector>

#include "cassette/codec.h"
#include "cassette/json_mapping.h"
#include "tests/integration/tapedeck_process.h"
#include "tests/support/interaction_builder.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_client.h"

namespace td::testing {
namespace {

// Interaction `i` of the test cassettes: its request names it, so each is matched alone.
cassette::Interaction Numbered(size_t i) {
  const std::string n = std::to_string(i);
  InteractionBuilder b;
  b.Seq(i)
      .RequestHeader("anthropic-version", "2023-06-01")
      .RequestHeader("content-type", "application/json")
      .RequestJson({{"model", "claude-x"},
                    {"max_tokens", 64},
                    {"messages", {{{"role", "user"}, {"content", "question " + n}}}}});
  switch (i % 4) {
    case 0:  // an SSE stream, one event arriving in two reads
      b.SseEvent("event: message_start\ndata: {\"n\":" + n + "}\n\n", 1000, {{10, 900}})
          .SseEvent("event: content_block_delta\ndata: {\"text\":\"\\\"answer\\\" " + n + "\"}\n\n",
                    2000)
          .SseEvent("event: message_stop\ndata: {}\n\n", 3000);
      break;
    case 1:  // a JSON answer
      b.ResponseHeader("content-type", "application/json")
          .ResponseBody("{\"id\":\"msg_" + n + "\",\"content\":[{\"text\":\"caf\xC3\xA9\"}]}");
      break;
    case 2:  // bytes that are not UTF-8 (base64 in the file)
      b.ResponseHeader("content-type", "application/octet-stream")
          .ResponseBody(std::string("\x00\xFF\x01", 3) + n);
      break;
    default:  // a request body not spelt as the writer would (the general path reads it)
      b.RequestBody(
           "{\"model\": \"claude-x\", \"messages\": [{\"role\": \"user\", "
           "\"content\": \"question " +
           n + "\"}], \"max_tokens\": 64}")
          .ResponseBody("plain text " + n);
  }
  return b.Build();
}

cassette::Cassette Numbered(size_t first, size_t count) {
  cassette::Cassette c;
  c.created_at_us = InteractionBuilder::kDefaultRecordedAt;
  for (size_t i = first; i < first + count; ++i) c.interactions.push_back(Numbered(i));
  return c;
}

std::string Zstd(const std::string& text) {
  std::string out(ZSTD_compressBound(text.size()), '\0');
  const size_t n = ZSTD_compress(out.data(), out.size(), text.data(), text.size(), 3);
  EXPECT_FALSE(ZSTD_isError(n));
  out.resize(n);
  return out;
}

void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

// The body a client gets for `i`: a stream's events, or the body.
std::string BodyOf(const cassette::Interaction& i) {
  return i.response.stream ? i.response.stream->Concatenated() : i.response.body.bytes;
}

class BigCassetteTest : public ::testing::Test {
 protected:
  std::string TempPath(const std::string& name) const { return dir_.Path(name); }

 private:
  ScopedTempDir dir_;
};

TEST_F(BigCassetteTest, ABadLineFarIntoTheFileStopsReplayBeforeItListens) {
  // 5,000 interactions, then line 4,902 (the header is line 1) spoilt in ways only a full read
  // of that line finds: cut short, and an event's time that is not a number.
  const std::string text = cassette::SerializeCassette(Numbered(0, 5000));
  size_t start = 0;
  for (int line = 1; line < 4902; ++line) start = text.find('\n', start) + 1;
  const size_t end = text.find('\n', start);
  const std::string line = text.substr(start, end - start);
  ASSERT_NE(line.find("\"at_us\":2000"), std::string::npos) << line;  // interaction 4,900: SSE
  struct Case {
    std::string line;
    std::string message;
  };
  const std::vector<Case> cases = {
      {line.substr(0, 60), "line 4902: invalid JSON at column 61"},
      {std::string(line).replace(line.find("\"at_us\":2000"), 12, "\"at_us\":\"2s\""),
       "line 4902: response.stream.events[1].at_us: expected an integer"},
  };
  for (const Case& c : cases) {
    const std::string bad = text.substr(0, start) + c.line + text.substr(end);
    for (const bool compressed : {false, true}) {
      const std::string path = TempPath(compressed ? "big.jsonl.zst" : "big.jsonl");
      WriteFile(path, compressed ? Zstd(bad) : bad);
      TapedeckProcess replay({"replay", "--cassette", path, "--listen", "127.0.0.1:0"});
      int code = -1;
      ASSERT_TRUE(replay.WaitExit(&code, std::chrono::seconds(120)));
      EXPECT_EQ(code, 3) << replay.stderr_text();
      EXPECT_NE(replay.stderr_text().find("cassette " + path + ": " + c.message), std::string::npos)
          << replay.stderr_text();
      EXPECT_EQ(replay.stderr_text().find("listening"), std::string::npos) << replay.stderr_text();
    }
  }
}

TEST_F(BigCassetteTest, EveryInteractionIsServedByteForByteAndMissesAreExplained) {
  const cassette::Cassette c = Numbered(0, 1200);
  const std::string path = TempPath("many.jsonl.zst");
  WriteFile(path, Zstd(cassette::SerializeCassette(c)));
  TapedeckProcess replay({"replay", "--cassette", path, "--listen", "127.0.0.1:0", "--timing",
                          "instant", "--log-level", "warn"});
  ASSERT_TRUE(replay.WaitListening(std::chrono::seconds(120)));

  TestClient client(replay.port());
  ASSERT_TRUE(client.Connect());
  // Last to first, so the interactions read last are asked first.
  for (size_t k = c.interactions.size(); k-- > 0;) {
    const cassette::Interaction& i = c.interactions[k];
    ASSERT_TRUE(client.Send(TestClient::BuildRequest(i.request.method, i.request.path,
                                                     i.request.headers, i.request.body.bytes)));
    ClientResponse r;
    ASSERT_TRUE(client.ReadResponse(&r)) << "interaction " << k;
    ASSERT_EQ(r.status, 200) << "interaction " << k << ": " << r.body;
    ASSERT_EQ(r.body, BodyOf(i)) << "interaction " << k;
  }

  // A request the cassette does not hold: the miss names the nearest interaction and the
  // difference, which needs the recorded canonical bodies the index builds only now.
  cassette::Request miss = c.interactions[777].request;
  miss.body.bytes = cassette::Json{{"model", "claude-x"},
                                   {"max_tokens", 64},
                                   {"messages", {{{"role", "user"}, {"content", "question 7770"}}}}}
                        .dump();
  ASSERT_TRUE(
      client.Send(TestClient::BuildRequest(miss.method, miss.path, miss.headers, miss.body.bytes)));
  ClientResponse r;
  ASSERT_TRUE(client.ReadResponse(&r));
  EXPECT_EQ(r.status, 404);
  EXPECT_NE(r.body.find("nearest is #"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("question 7770"), std::string::npos) << r.body;
}

}  // namespace
}  // namespace td::testing
