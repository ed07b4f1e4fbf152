// Tests for the reader's fast path (cassette/internal/interaction_line.h): it must take the lines
// tapedeck writes, and whenever it takes a line, give exactly what the general path gives
// (ParseJsonLine, then InteractionFromJson) without a note; everything else it leaves alone.
#include "cassette/internal/interaction_line.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "cassette/codec.h"
#include "cassette/internal/codec_text.h"
#include "cassette/internal/json_line.h"
#include "cassette/json_mapping.h"
#include "tests/support/interaction_builder.h"

namespace td::cassette::internal {
namespace {

namespace fs = std::filesystem;
using testing::InteractionBuilder;

struct General {
  bool ok = false;
  Interaction interaction;
  std::vector<std::string> notes;
};

// The general path, as CassetteReader takes it for an interaction line.
General ReadGeneral(std::string_view line) {
  General out;
  Json json;
  std::string why;
  if (!ParseJsonLine(line, kMaxJsonDepth + kLineDepthSlack, &json, &why)) return out;
  Result<Interaction> interaction = InteractionFromJson(std::move(json), &out.notes);
  if (!interaction.ok()) return out;
  out.ok = true;
  out.interaction = std::move(*interaction);
  return out;
}

// The property: the fast path takes only what the general path reads without a note, and then
// gives the same interaction. Returns whether the fast path took the line.
bool ExpectFastAgrees(std::string_view line) {
  Interaction fast;
  const bool took = DecodeInteractionLine(line, &fast);
  if (!took) return false;
  const General general = ReadGeneral(line);
  EXPECT_TRUE(general.ok) << "the fast path took a line the general path refuses: " << line;
  EXPECT_TRUE(general.notes.empty()) << line;
  EXPECT_EQ(fast, general.interaction) << line;
  return true;
}

std::vector<std::string> GoldenInteractionLines() {
  std::vector<std::string> lines;
  const fs::path root = fs::path(TD_SOURCE_DIR) / "tests" / "golden" / "cassettes";
  for (const auto& dir : fs::directory_iterator(root)) {
    for (const auto& file : fs::directory_iterator(dir.path())) {
      if (file.path().extension() != ".jsonl") continue;
      std::ifstream in(file.path());
      std::string line;
      bool header = true;
      while (std::getline(in, line)) {
        if (!std::exchange(header, false)) lines.push_back(line);
      }
    }
  }
  return lines;
}

// Interactions in every form the writer has: JSON bodies (compact, with a trailing newline,
// pretty, re-spelt), text, base64, SSE and chunked streams with splits, a cut one, a query.
std::vector<Interaction> Variety() {
  std::vector<Interaction> out;
  out.push_back(InteractionBuilder()
                    .RequestJson({{"model", "claude-x"}, {"max_tokens", 16}, {"t", 0.7}})
                    .SseEvent("event: ping\ndata: {\"type\":\"ping\"}\n\n", 1200)
                    .SseEvent("event: a\ndata: \"caf\xC3\xA9\" \\ \x01\n\n", 1400)
                    .Build());
  {
    // Forward-proxy mode: the request carries its origin (fast path too).
    Interaction i = InteractionBuilder().ResponseBody("{}").Build();
    i.request.origin = "https://api.anthropic.com:443";
    out.push_back(std::move(i));
  }
  out.push_back(InteractionBuilder()
                    .Target("/v1/models?limit=20&after=x%20y&flag")
                    .Method("GET")
                    .RequestHeader("accept", "*/*")
                    .ResponseHeader("content-type", "application/json")
                    .ResponseBody("{\"data\":[1,2.5,-3,true,null,\"\\u0001\"]}\n")
                    .Build());
  {
    Interaction i = InteractionBuilder().Build();
    i.request.body.bytes = "{\n  \"pretty\": true\n}";
    i.response.body.bytes = std::string("\x00\xFF binary", 9);
    i.truncated = "upstream reset";
    out.push_back(std::move(i));
  }
  {
    Interaction i = InteractionBuilder().Build();
    i.request.body.bytes = "{\"b\":1,\"a\":2}";  // stored as "exact": false
    i.request.body.exact = false;
    i.response.stream =
        Stream{StreamKind::kChunks,
               {{"{\"x\":1}\n{\"y\"", 10, {{3, 5}, {6, 7}}}, {std::string("\xE2\x82", 2), 20, {}}}};
    out.push_back(std::move(i));
  }
  {
    Interaction i = InteractionBuilder().Build();
    i.request.body.bytes = "plain text body";
    i.request.headers.push_back({"x-bin", std::string("\xFF\x01", 2)});  // base64 in the file
    i.seq = 18446744073709551615ull;
    i.timing = {-5, 9223372036854775807};
    out.push_back(std::move(i));
  }
  return out;
}

TEST(InteractionLineTest, TakesWhatTapedeckWritesAndAgreesWithTheGeneralPath) {
  // The first three are the ordinary shapes (a streamed exchange, a proxied one with its origin,
  // a JSON answer): the fast path's.
  // The rest are the general path's: a pretty request body, one stored "exact": false, a header
  // value written as base64.
  const std::vector<Interaction> variety = Variety();
  for (size_t k = 0; k < variety.size(); ++k) {
    const std::string line = SerializeInteraction(variety[k]);
    EXPECT_EQ(ExpectFastAgrees(line), k < 3) << line;
    const General general = ReadGeneral(line);
    ASSERT_TRUE(general.ok) << line;
    EXPECT_EQ(general.interaction, variety[k]) << k;
  }
}

TEST(InteractionLineTest, AgreesOnEveryGoldenLine) {
  const std::vector<std::string> lines = GoldenInteractionLines();
  ASSERT_GT(lines.size(), 10u);
  size_t took = 0;
  for (const std::string& line : lines) took += ExpectFastAgrees(line);
  EXPECT_GT(took, lines.size() / 2);
}

TEST(InteractionLineTest, LeavesEverythingElseToTheGeneralPath) {
  const std::string ok =
      R"({"seq":1,"request":{"method":"POST","path":"/v1","body":{"json":{"a":1}}},)"
      R"("response":{"status":200,"headers":[]}})";
  ASSERT_TRUE(ExpectFastAgrees(ok));
  const std::vector<std::string> others = {
      // a key twice, a note, an unknown key, a key spelt with an escape
      R"({"seq":1,"seq":2,"request":{"method":"POST","path":"/"},"response":{"status":200}})",
      R"({"seq":1,"x-note":1,"request":{"method":"POST","path":"/"},"response":{"status":200}})",
      R"({"seq":1,"what":1,"request":{"method":"POST","path":"/"},"response":{"status":200}})",
      R"({"s\u0065q":1,"request":{"method":"POST","path":"/"},"response":{"status":200}})",
      // JSON bodies not in dump form: blanks, "-0", an exponent, a key twice, "\/", upper hex
      R"({"seq":1,"request":{"method":"P","path":"/","body":{"json":{"a": 1}}},"response":{"status":200}})",
      R"({"seq":1,"request":{"method":"P","path":"/","body":{"json":[-0]}}},"response":{"status":200}})",
      R"({"seq":1,"request":{"method":"P","path":"/","body":{"json":[1E5]}}},"response":{"status":200}})",
      R"({"seq":1,"request":{"method":"P","path":"/","body":{"json":{"a":1,"a":2}}}},"response":{"status":200}})",
      R"({"seq":1,"request":{"method":"P","path":"/","body":{"json":["a\/b"]}}},"response":{"status":200}})",
      R"({"seq":1,"request":{"method":"P","path":"/","body":{"json":["\u001F"]}}},"response":{"status":200}})",
      // a pretty layout, "exact": false, a base64 head field
      R"({"seq":1,"request":{"method":"P","path":"/","body":{"json":{},"layout":"pretty"}},"response":{"status":200}})",
      R"({"seq":1,"request":{"method":"P","path":"/","body":{"json":{},"exact":false}},"response":{"status":200}})",
      R"({"seq":1,"request":{"method":{"base64":"UE9TVA=="},"path":"/"},"response":{"status":200}})",
      // a split past its event (a note), splits out of order (an error), a missing field
      R"({"seq":1,"request":{"method":"P","path":"/"},"response":{"status":200,"stream":{"kind":"sse","events":[{"at_us":1,"data":"ab","splits":[[3,0]]}]}}})",
      R"({"seq":1,"request":{"method":"P","path":"/"},"response":{"status":200,"stream":{"kind":"sse","events":[{"at_us":1,"data":"abc","splits":[[2,0],[1,0]]}]}}})",
      R"({"request":{"method":"P","path":"/"},"response":{"status":200}})",
      // wrong types and ranges
      R"({"seq":-1,"request":{"method":"P","path":"/"},"response":{"status":200}})",
      R"({"seq":1,"request":{"method":"P","path":"/"},"response":{"status":1000}})",
      R"({"seq":1.0,"request":{"method":"P","path":"/"},"response":{"status":200}})",
      // an origin the general path refuses (upper case, no port), or twice
      R"({"seq":1,"request":{"origin":"https://API.x:443","method":"P","path":"/"},"response":{"status":200}})",
      R"({"seq":1,"request":{"origin":"https://x","method":"P","path":"/"},"response":{"status":200}})",
      R"({"seq":1,"request":{"origin":"http://x:1","origin":"http://x:1","method":"P","path":"/"},"response":{"status":200}})",
      // a byte order mark, something after the object
      "\xEF\xBB\xBF" + ok,
      ok + " x",
  };
  for (const std::string& line : others) {
    Interaction fast;
    EXPECT_FALSE(DecodeInteractionLine(line, &fast)) << line;
  }
}

TEST(InteractionLineTest, MutatedLinesNeverDisagree) {
  // Every single-byte change of lines tapedeck writes, over the bytes JSON cares about: where
  // the fast path takes the result, it must be the general path's.
  std::vector<std::string> lines;
  for (const Interaction& i : Variety()) lines.push_back(SerializeInteraction(i));
  const std::string alphabet = "{}[]\":,\\ 0123456789-.eEtrufalsnu\x01\xC3\xA9\xFF/xb";
  std::uint64_t state = 7;
  auto next = [&] {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<std::uint32_t>(state >> 33);
  };
  size_t took = 0;
  for (int k = 0; k < 30000; ++k) {
    std::string line = lines[next() % lines.size()];
    const size_t at = next() % line.size();
    switch (next() % 3) {
      case 0:
        line[at] = alphabet[next() % alphabet.size()];
        break;
      case 1:
        line.insert(line.begin() + static_cast<std::ptrdiff_t>(at),
                    alphabet[next() % alphabet.size()]);
        break;
      default:
        line.erase(at, 1);
    }
    took += ExpectFastAgrees(line);
    if (::testing::Test::HasFailure()) break;
  }
  EXPECT_GT(took, 1000u);  // harmless changes (inside strings) are taken
}

TEST(InteractionLineTest, CompactDumpIsWhatDumpWritesBack) {
  const std::vector<std::string> cases = {
      R"({"a":1,"b":[true,false,null],"c":"x\"y\\z\n\u0001"})",
      R"({"a":0.7,"b":-12,"c":18446744073709551615,"d":1.0e5})",
      R"({"a":1.0,"b":100000.0,"c":1e+20})",
      R"([1,2])",
      R"([1, 2])",
      R"({"a":1,"a":1})",
      R"("\/")",
      R"("\u00e9")",
      R"(-0)",
      R"(-0.0)",
      R"(18446744073709551616)",
      "\"caf\xC3\xA9\"",
      "{}",
      "[]",
      "",
      "{",
      "[1]x",
  };
  for (const std::string& text : cases) {
    const Json parsed = Json::parse(text, nullptr, /*allow_exceptions=*/false);
    const bool round_trips = !parsed.is_discarded() && parsed.dump() == text;
    EXPECT_EQ(IsCompactDump(text), round_trips) << text;
  }
}

}  // namespace
}  // namespace td::cassette::internal
