// Unit tests for the chunk framing (proxy/chunked_coding.h), the default
// ResponseSink::WriteChunks that unframes it, and the write batch that keeps framed chunks by
// reference (proxy/internal/write_batch.h).
#include "proxy/chunked_coding.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "proxy/internal/write_batch.h"
#include "tests/support/fake_sink.h"

namespace td::proxy {
namespace {

std::string Framed(const std::vector<std::string>& payloads) {
  std::string out;
  for (const std::string& payload : payloads) {
    std::string chunk(FramedChunkSize(payload.size()), '?');
    char* end = FrameChunk(payload, chunk.data());
    EXPECT_EQ(end, chunk.data() + chunk.size()) << "FramedChunkSize and FrameChunk disagree";
    out += chunk;
  }
  return out;
}

TEST(ChunkedCodingTest, FramesInLowercaseHexAcrossDigitBoundaries) {
  EXPECT_EQ(Framed({"a"}), "1\r\na\r\n");
  EXPECT_EQ(Framed({std::string(15, 'x')}), "f\r\n" + std::string(15, 'x') + "\r\n");
  EXPECT_EQ(Framed({std::string(16, 'x')}), "10\r\n" + std::string(16, 'x') + "\r\n");
  EXPECT_EQ(Framed({std::string(0xabc, 'x')}), "abc\r\n" + std::string(0xabc, 'x') + "\r\n");
  EXPECT_EQ(Framed({""}), "") << "an empty payload would end the body: nothing is framed";
  EXPECT_EQ(ChunkSizeLineLength(0xffff), 6u);
  EXPECT_EQ(ChunkSizeLineLength(0x10000), 7u);
  char line[24];
  EXPECT_EQ(std::string(line, WriteChunkSizeLine(0x1f, line)), "1f\r\n");
}

TEST(ChunkedCodingTest, TakeChunkReadsBackWhatFrameChunkWrote) {
  const std::vector<std::string> payloads = {
      "a", std::string(16, 'b'), "event: x\r\ndata: {}\r\n\r\n", std::string(70000, 'c')};
  const std::string framed = Framed(payloads);
  std::string_view rest = framed;
  std::string_view payload;
  for (const std::string& expected : payloads) {
    ASSERT_TRUE(TakeChunk(&rest, &payload));
    EXPECT_TRUE(payload == expected) << expected.size() << " bytes";
  }
  EXPECT_TRUE(rest.empty());
  EXPECT_FALSE(TakeChunk(&rest, &payload)) << "nothing left";
}

TEST(ChunkedCodingTest, TakeChunkRefusesAnythingButAWholeChunkAndTakesNothing) {
  for (std::string_view bad : {
           std::string_view("0\r\n\r\n"),                  // the last chunk is not a write
           std::string_view("3\r\nab"),                    // cut inside the payload
           std::string_view("3\r\nabc"),                   // no CRLF after it
           std::string_view("3\r\nabcX\n"),                // not CRLF
           std::string_view("2\r\nabc\r\n"),               // shorter than its payload
           std::string_view("x\r\nabc\r\n"),               // no size
           std::string_view("3;ext=1\r\nabc\r\n"),         // extensions are never written
           std::string_view("\r\n"),                       // empty size
           std::string_view("fffffffffffffff\r\nab\r\n"),  // a size far beyond the bytes
           std::string_view("ffffffffffffffffff\r\n"),     // more digits than a size can have
       }) {
    std::string_view rest = bad;
    std::string_view payload = "untouched";
    EXPECT_FALSE(TakeChunk(&rest, &payload)) << bad;
    EXPECT_EQ(rest, bad);
    EXPECT_EQ(payload, "untouched");
  }
}

TEST(ChunkedCodingTest, DefaultWriteChunksWritesEachPayloadAsOneWrite) {
  testing::FakeSink sink;
  sink.Start(200, {}, std::nullopt);
  const std::string framed = Framed({"event: a\n\n", "b", std::string(300, 'c')});
  EXPECT_EQ(sink.WriteChunks(framed), framed.size());
  EXPECT_EQ(sink.writes(), (std::vector<std::string>{"event: a\n\n", "b", std::string(300, 'c')}));
  EXPECT_TRUE(sink.protocol_errors().empty());
}

TEST(ChunkedCodingTest, DefaultWriteChunksStopsWhereTheSinkClosesOrTheFramingBreaks) {
  const std::string framed = Framed({"one", "two", "three"});
  {
    testing::FakeSink sink;
    sink.Start(200, {}, std::nullopt);
    sink.GoneBeforeWrite(1);
    EXPECT_EQ(sink.WriteChunks(framed), Framed({"one"}).size()) << "whole chunks only";
    EXPECT_EQ(sink.writes(), (std::vector<std::string>{"one"}));
  }
  {
    testing::FakeSink sink;
    sink.Start(200, {}, std::nullopt);
    const std::string broken = Framed({"one"}) + "zz\r\n";
    EXPECT_EQ(sink.WriteChunks(broken), Framed({"one"}).size());
    EXPECT_EQ(sink.writes(), (std::vector<std::string>{"one"}));
  }
}

std::string Gathered(internal::WriteBatch& batch) {
  iovec iov[internal::WriteBatch::kMaxIovecs];
  const int n = batch.Gather(iov);
  std::string out;
  for (int i = 0; i < n; ++i) out.append(static_cast<const char*>(iov[i].iov_base), iov[i].iov_len);
  return out;
}

TEST(WriteBatchTest, KeepsReferencesInOrderAmongItsOwnBytes) {
  internal::WriteBatch batch;
  const std::string shared = "REF";
  batch.AppendReference(shared.data(), shared.size());
  batch.Append("ab", 2);
  batch.AppendReference(shared.data(), 1);
  batch.AppendReference(shared.data() + 1, 2);
  batch.Append("c", 1);
  EXPECT_EQ(batch.size(), 9u);
  EXPECT_EQ(Gathered(batch), "REFabREFc");
  batch.Clear();
  EXPECT_TRUE(batch.empty());
  EXPECT_EQ(Gathered(batch), "");
}

TEST(WriteBatchTest, CopiesPastItsReferenceLimitAndNeverGivesBackReferencedBytes) {
  internal::WriteBatch batch;
  std::string shared = "0123456789abcdef";
  std::string expected;
  for (size_t i = 0; i < shared.size(); ++i) {
    batch.Append("-", 1);
    batch.AppendReference(shared.data() + i, 1);
    expected += "-" + shared.substr(i, 1);
  }
  // Past kMaxReferences the bytes were copied: changing the source shows which.
  shared.assign(shared.size(), 'Z');
  std::string seen = Gathered(batch);
  ASSERT_EQ(seen.size(), expected.size());
  const size_t kept = internal::WriteBatch::kMaxReferences;
  EXPECT_EQ(seen.substr(2 * kept), expected.substr(2 * kept)) << "copies keep their bytes";
  EXPECT_EQ(seen.substr(0, 2 * kept).find_first_not_of("-Z"), std::string::npos)
      << "the first kMaxReferences are sent from where they lie";

  internal::WriteBatch framed;
  framed.Append("x", 1);
  framed.AppendReference(shared.data(), 3);
  framed.Unextend(5);  // an over-reservation given back cannot reach before the reference
  EXPECT_EQ(Gathered(framed), "xZZZ");
}

}  // namespace
}  // namespace td::proxy
