// Tests for the rules that keep recordings from being lost: the one-writer lock (CassetteLock)
// and RecordTarget (refuse, overwrite through a staging file renamed on a clean close, append,
// nothing recorded replaces nothing, a leftover staging file is never clobbered).
#include "cassette/record_target.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "cassette/cassette_lock.h"
#include "cassette/codec.h"
#include "tests/support/fixtures.h"
#include "tests/support/interaction_builder.h"
#include "tests/support/temp_dir.h"

namespace td::cassette {
namespace {

namespace fs = std::filesystem;
using testing::InteractionBuilder;
using testing::ReadFile;

Cassette WithTurns(int n) {
  Cassette c;
  c.created_at_us = InteractionBuilder::kDefaultRecordedAt;
  for (int i = 0; i < n; ++i) {
    c.interactions.push_back(InteractionBuilder()
                                 .Seq(static_cast<std::uint64_t>(i))
                                 .RequestJson({{"turn", i}})
                                 .ResponseBody("answer " + std::to_string(i))
                                 .Build());
  }
  return c;
}

void WriteCassette(const std::string& path, int turns, bool compress = true) {
  WriteOptions options;
  options.compress = compress;
  ASSERT_TRUE(WriteCassetteAtomic(path, WithTurns(turns), options).ok());
}

size_t CountIn(const std::string& path) {
  Result<Cassette> c = ReadCassette(path);
  EXPECT_TRUE(c.ok()) << c.status().message();
  return c.ok() ? c->interactions.size() : 0;
}

class RecordTargetTest : public ::testing::Test {
 protected:
  std::string Path(const std::string& name) const { return dir_.Path(name); }
  testing::ScopedTempDir dir_;
};

TEST_F(RecordTargetTest, ASecondLockOnTheSameCassetteIsRefusedNamingTheHolder) {
  const std::string path = Path("s.jsonl.zst");
  Result<CassetteLock> first = CassetteLock::Acquire(path);
  ASSERT_TRUE(first.ok()) << first.status().message();
  EXPECT_TRUE(fs::exists(CassetteLock::LockPath(path)));
  ASSERT_EQ(CassetteLock::Holder(path), ::getpid());

  Result<CassetteLock> second = CassetteLock::Acquire(path);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kIo);
  EXPECT_NE(second.status().message().find(path), std::string::npos);
  EXPECT_NE(second.status().message().find("pid " + std::to_string(::getpid())), std::string::npos)
      << second.status().message();

  { CassetteLock released = std::move(*first); }
  EXPECT_FALSE(fs::exists(CassetteLock::LockPath(path))) << "the lock file goes with the lock";
  EXPECT_EQ(CassetteLock::Holder(path), std::nullopt);
  EXPECT_TRUE(CassetteLock::Acquire(path).ok());
}

TEST_F(RecordTargetTest, RefusesACassetteThatHoldsInteractionsAndTouchesNothing) {
  const std::string path = Path("s.jsonl.zst");
  WriteCassette(path, 5);
  const std::string before = ReadFile(path);
  Result<RecordTarget> target = RecordTarget::Prepare(path, ExistingCassette::kRefuse, {});
  ASSERT_FALSE(target.ok());
  EXPECT_EQ(target.status().code(), StatusCode::kInvalidArgument);
  const std::string& message = target.status().message();
  EXPECT_NE(message.find("5 interactions"), std::string::npos) << message;
  EXPECT_NE(message.find("--overwrite"), std::string::npos) << message;
  EXPECT_NE(message.find("--append"), std::string::npos) << message;
  EXPECT_EQ(ReadFile(path), before);
  EXPECT_FALSE(fs::exists(StagingPath(path)));
  EXPECT_FALSE(fs::exists(CassetteLock::LockPath(path))) << "the refused run let go of its lock";
}

TEST_F(RecordTargetTest, OverwriteStagesAndReplacesOnlyOnCommit) {
  const std::string path = Path("s.jsonl.zst");
  WriteCassette(path, 5);
  const std::string before = ReadFile(path);
  Result<RecordTarget> target = RecordTarget::Prepare(path, ExistingCassette::kOverwrite, {});
  ASSERT_TRUE(target.ok()) << target.status().message();
  EXPECT_EQ(target->writing_path(), StagingPath(path));
  Result<CassetteWriter*> writer = target->Open();
  ASSERT_TRUE(writer.ok()) << writer.status().message();
  ASSERT_TRUE((*writer)->Append(WithTurns(1).interactions[0]).ok());
  ASSERT_TRUE((*writer)->Append(WithTurns(2).interactions[1]).ok());
  EXPECT_EQ(ReadFile(path), before) << "untouched until the commit";
  EXPECT_EQ(CountIn(StagingPath(path)), 2u) << "the staging file holds what completed";

  std::string summary;
  ASSERT_TRUE(target->Commit(&summary).ok());
  EXPECT_EQ(CountIn(path), 2u);
  EXPECT_FALSE(fs::exists(StagingPath(path)));
  EXPECT_NE(summary.find("replaced with 2 interactions (it had 5)"), std::string::npos) << summary;
}

TEST_F(RecordTargetTest, ARunThatRecordedNothingReplacesNothing) {
  const std::string path = Path("s.jsonl.zst");
  WriteCassette(path, 5);
  const std::string before = ReadFile(path);
  {
    Result<RecordTarget> target = RecordTarget::Prepare(path, ExistingCassette::kOverwrite, {});
    ASSERT_TRUE(target.ok());
    ASSERT_TRUE(target->Open().ok());
    ASSERT_TRUE(target->Commit(nullptr).ok());
  }
  EXPECT_EQ(ReadFile(path), before);
  EXPECT_FALSE(fs::exists(StagingPath(path)));

  // An empty cassette stays byte-identical too: the run writes beside it.
  const std::string empty = Path("empty.jsonl.zst");
  WriteCassette(empty, 0);
  const std::string empty_before = ReadFile(empty);
  {
    Result<RecordTarget> target = RecordTarget::Prepare(empty, ExistingCassette::kRefuse, {});
    ASSERT_TRUE(target.ok()) << target.status().message();
    ASSERT_TRUE(target->Open().ok());
    ASSERT_TRUE(target->Commit(nullptr).ok());
  }
  EXPECT_EQ(ReadFile(empty), empty_before);

  // A new cassette that received nothing is not left behind as an empty tape.
  const std::string fresh = Path("fresh.jsonl.zst");
  {
    Result<RecordTarget> target = RecordTarget::Prepare(fresh, ExistingCassette::kRefuse, {});
    ASSERT_TRUE(target.ok());
    EXPECT_EQ(target->writing_path(), fresh);
    ASSERT_TRUE(target->Open().ok());
    EXPECT_TRUE(fs::exists(fresh));
    ASSERT_TRUE(target->Commit(nullptr).ok());
  }
  EXPECT_FALSE(fs::exists(fresh));
}

TEST_F(RecordTargetTest, WithoutACommitTheStagingFileKeepsWhatWasWrittenAndTheCassetteStays) {
  const std::string path = Path("s.jsonl.zst");
  WriteCassette(path, 5);
  const std::string before = ReadFile(path);
  {
    Result<RecordTarget> target = RecordTarget::Prepare(path, ExistingCassette::kOverwrite, {});
    ASSERT_TRUE(target.ok());
    Result<CassetteWriter*> writer = target->Open();
    ASSERT_TRUE(writer.ok());
    for (const Interaction& i : WithTurns(3).interactions) ASSERT_TRUE((*writer)->Append(i).ok());
  }  // as if the process died: no Commit
  EXPECT_EQ(ReadFile(path), before);
  EXPECT_EQ(CountIn(StagingPath(path)), 3u);

  // The next overwrite refuses to record over the leftover and says how to keep it...
  Result<RecordTarget> again = RecordTarget::Prepare(path, ExistingCassette::kOverwrite, {});
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), StatusCode::kInvalidArgument);
  const std::string& message = again.status().message();
  EXPECT_NE(message.find("3 interactions"), std::string::npos) << message;
  EXPECT_NE(message.find("tapedeck cassette ls " + StagingPath(path)), std::string::npos)
      << message;
  EXPECT_NE(message.find("mv " + StagingPath(path) + " " + path), std::string::npos) << message;
  EXPECT_EQ(CountIn(StagingPath(path)), 3u);
  // ...and an append notes it and leaves it alone.
  Result<RecordTarget> append = RecordTarget::Prepare(path, ExistingCassette::kAppend, {});
  ASSERT_TRUE(append.ok());
  ASSERT_EQ(append->notes().size(), 1u);
  EXPECT_NE(append->notes()[0].find("did not finish"), std::string::npos);
  ASSERT_TRUE(UnfinishedRecordingNote(path).has_value());
}

TEST_F(RecordTargetTest, AppendAddsInPlaceAndTheReaderSeesTheExistingCassette) {
  const std::string path = Path("s.jsonl");
  WriteCassette(path, 2, /*compress=*/false);
  Result<RecordTarget> target = RecordTarget::Prepare(path, ExistingCassette::kAppend, {});
  ASSERT_TRUE(target.ok());
  EXPECT_EQ(target->existing_interactions(), 2u);
  std::optional<Cassette> existing = target->TakeExisting();
  ASSERT_TRUE(existing.has_value());
  EXPECT_EQ(existing->interactions.size(), 2u);
  EXPECT_EQ(target->writing_path(), path);
  Result<CassetteWriter*> writer = target->Open();
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE((*writer)->Append(WithTurns(1).interactions[0]).ok());
  ASSERT_TRUE(target->Commit(nullptr).ok());
  EXPECT_EQ(CountIn(path), 3u);
}

TEST_F(RecordTargetTest, AnUnreadableCassetteIsReplacedOnlyWithOverwrite) {
  const std::string path = Path("s.jsonl");
  WriteCassette(path, 2, /*compress=*/false);
  {
    std::string text = ReadFile(path);
    text.insert(text.find('\n') + 1, "{not json\n");
    std::FILE* f = std::fopen(path.c_str(), "wb");
    std::fwrite(text.data(), 1, text.size(), f);
    std::fclose(f);
  }
  Result<RecordTarget> refused = RecordTarget::Prepare(path, ExistingCassette::kRefuse, {});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kParse);
  EXPECT_NE(refused.status().message().find("line 2"), std::string::npos)
      << refused.status().message();
  EXPECT_FALSE(RecordTarget::Prepare(path, ExistingCassette::kAppend, {}).ok());
  Result<RecordTarget> replaced = RecordTarget::Prepare(path, ExistingCassette::kOverwrite, {});
  ASSERT_TRUE(replaced.ok()) << replaced.status().message();
  EXPECT_EQ(replaced->notes().size(), 1u);
}

TEST_F(RecordTargetTest, RewriteKeepsTheFilesForm) {
  const std::string plain = Path("p.jsonl");
  WriteCassette(plain, 3, /*compress=*/false);
  const std::string packed = Path("z.jsonl.zst");
  WriteCassette(packed, 3, /*compress=*/true);
  for (const std::string& path : {plain, packed}) {
    Result<RecordTarget> target = RecordTarget::Prepare(path, ExistingCassette::kAppend, {});
    ASSERT_TRUE(target.ok());
    ASSERT_TRUE(target->Rewrite(WithTurns(1)).ok());
    EXPECT_EQ(CountIn(path), 1u);
  }
  EXPECT_EQ(ReadFile(plain).substr(0, 1), "{") << "plain stays plain";
  EXPECT_EQ(ReadFile(packed).substr(0, 4), std::string("\x28\xb5\x2f\xfd", 4)) << "zstd stays zstd";
}

}  // namespace
}  // namespace td::cassette
