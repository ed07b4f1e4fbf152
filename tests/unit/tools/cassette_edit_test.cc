// `tapedeck cassette edit`, driven by scripted editors: an edit is checked and written
// atomically, a mistake re-opens the editor with the error, an empty save cancels, and an
// edited event keeps the stream valid.
#include "tools/cassette_edit.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>
#include <string>

#include "cassette/codec.h"
#include "tests/support/fixtures.h"
#include "tests/support/interaction_builder.h"
#include "tests/support/temp_dir.h"
#include "tools/cassette_commands.h"
#include "tools/exit_codes.h"

namespace td::cli {
namespace {

using cassette::Cassette;
using td::testing::InteractionBuilder;
using td::testing::ScopedTempDir;

Cassette Sample() {
  Cassette c;
  c.created_at_us = 1700000000000000;
  c.interactions.push_back(
      InteractionBuilder()
          .Seq(0)
          .Method("POST")
          .Path("/v1/messages")
          .RequestJson({{"model", "claude-test"}})
          .SseEvent("event: delta\ndata: {\"text\":\"Hello there, friend\"}\n\n", 1000,
                    {{20, 500}, {40, 800}})
          .Build());
  c.interactions.push_back(InteractionBuilder()
                               .Seq(1)
                               .Method("GET")
                               .Path("/v1/models")
                               .ResponseJson({{"data", nlohmann::ordered_json::array()}})
                               .Build());
  return c;
}

class CassetteEditTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.Path("c.jsonl.zst");
    cassette::WriteOptions w;
    ASSERT_TRUE(cassette::WriteCassetteAtomic(path_, Sample(), w).ok());
  }
  // An editor: a shell script given the file as $1, which runs `body`; it counts its runs.
  std::string Editor(const std::string& body) {
    const std::string script = dir_.Path("editor.sh");
    std::ofstream(script) << "#!/bin/sh\necho run >> " << dir_.Path("runs") << "\n" << body << "\n";
    EXPECT_EQ(::chmod(script.c_str(), 0755), 0);
    return script;
  }
  int Runs() {
    std::ifstream in(dir_.Path("runs"));
    int n = 0;
    for (std::string line; std::getline(in, line);) ++n;
    return n;
  }
  int Edit(const std::string& editor, std::optional<size_t> interaction = std::nullopt) {
    out_.str("");
    err_.str("");
    return EditCassette(path_, interaction, editor, {}, out_, err_);
  }
  Cassette Read() {
    Result<Cassette> c = cassette::ReadCassette(path_);
    EXPECT_TRUE(c.ok()) << c.status().message();
    return c.ok() ? *c : Cassette{};
  }

  ScopedTempDir dir_;
  std::string path_;
  std::ostringstream out_, err_;
};

TEST_F(CassetteEditTest, AnEditedStatusIsWrittenAndTheRestKept) {
  const std::string editor = Editor("sed -i 's/\"status\": 200/\"status\": 503/' \"$1\"");
  ASSERT_EQ(Edit(editor, 1), kExitOk) << err_.str();
  Cassette c = Read();
  EXPECT_EQ(c.interactions[1].response.status, 503);
  EXPECT_EQ(c.interactions[0], Sample().interactions[0]);
  EXPECT_EQ(c.created_at_us, Sample().created_at_us);
  EXPECT_TRUE(IsZstdFile(path_)) << "still compressed";
}

TEST_F(CassetteEditTest, AShortenedEventKeepsItsStreamAndDropsTheSplitsThatNoLongerFit) {
  const std::string editor = Editor("sed -i 's/Hello there, friend/Hi/' \"$1\"");
  ASSERT_EQ(Edit(editor), kExitOk) << err_.str();
  const Cassette c = Read();
  ASSERT_EQ(c.interactions.size(), 2u);
  ASSERT_TRUE(c.interactions[0].response.stream.has_value());
  const cassette::StreamEvent& e = c.interactions[0].response.stream->events.at(0);
  EXPECT_EQ(e.bytes, "event: delta\ndata: {\"text\":\"Hi\"}\n\n");
  EXPECT_EQ(e.splits, (std::vector<cassette::Split>{{20, 500}}));
  EXPECT_NE(out_.str().find("note: "), std::string::npos) << out_.str();
}

TEST_F(CassetteEditTest, AMistakeReopensTheEditorWithTheErrorAndNothingIsWrittenUntilFixed) {
  const std::string before = testing::ReadFile(path_);
  // First run: break the JSON. Second run: the error is in the file; fix the mistake.
  const std::string editor =
      Editor("if [ \"$(wc -l < " + dir_.Path("runs") +
             ")\" -eq 1 ]; then\n"
             "  sed -i 's/\"method\": \"GET\"/\"metod\": \"GET\"/' \"$1\"\n"
             "else\n"
             "  grep -q '^# error: .*unknown key \"metod\"' \"$1\" || exit 1\n"
             "  sed -i 's/\"metod\"/\"method\"/; s/\"status\": 200/\"status\": 204/' \"$1\"\n"
             "fi");
  ASSERT_EQ(Edit(editor), kExitOk) << err_.str();
  EXPECT_EQ(Runs(), 2);
  EXPECT_NE(err_.str().find("unknown key \"metod\""), std::string::npos) << err_.str();
  EXPECT_NE(testing::ReadFile(path_), before);
  EXPECT_EQ(Read().interactions[1].response.status, 204);
}

TEST_F(CassetteEditTest, AnEmptySaveAFailingEditorOrNoChangeWriteNothing) {
  const std::string before = testing::ReadFile(path_);
  EXPECT_EQ(Edit(Editor(": > \"$1\"")), kExitOk);
  EXPECT_NE(out_.str().find("cancelled"), std::string::npos) << out_.str();
  EXPECT_EQ(Edit(Editor("exit 3")), kExitOk);
  EXPECT_NE(err_.str().find("failed; nothing written"), std::string::npos) << err_.str();
  EXPECT_EQ(Edit(Editor("true")), kExitOk);
  EXPECT_NE(out_.str().find("unchanged"), std::string::npos) << out_.str();
  // A mistake saved again unchanged gives up instead of asking forever.
  EXPECT_EQ(Edit(Editor("sed -i 's/\"method\"/\"metod\"/' \"$1\"")), kExitUsage);
  EXPECT_NE(err_.str().find("saved again unchanged"), std::string::npos) << err_.str();
  EXPECT_EQ(testing::ReadFile(path_), before);
  EXPECT_EQ(Edit(Editor("true"), 7), kExitUsage);
}

}  // namespace
}  // namespace td::cli
