// File: cassette/internal/zstd_stream.h
//
// The zstd side of the cassette codec: the compressor the writer uses (a level, a content
// checksum, flushed after every line) and a streaming decompressor of concatenated frames that
// tolerates a cut tail and knows where each frame and block starts (RFC 8878), so an error or a
// cut names the byte of the block it is in. Handles are owned by the RAII types of
// zstd_handles.h.
#pragma once

#include <zstd.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "cassette/base/status.h"
#include "cassette/internal/zstd_handles.h"

namespace td::cassette::internal {

// True when `bytes` starts with the zstd frame magic number 28 b5 2f fd.
bool HasZstdMagic(std::string_view bytes);

// A compression context at `level` with the content checksum on. Errors: kInvalidArgument
// "WHERE: zstd level 99 is out of range (-131072..22)", kInternal when zstd has no memory.
Result<ZstdCCtxPtr> MakeCompressor(int level, std::string_view where);

// Compresses `in` into `*out` (appending) and then flushes (ZSTD_e_flush: the bytes so far can
// be decoded on their own) or ends the frame (ZSTD_e_end). Errors: kInternal.
Status CompressInto(ZSTD_CCtx* cctx, std::string_view in, ZSTD_EndDirective mode, std::string* out,
                    std::string_view where);

// Follows the frame layout of RFC 8878 as bytes go by: which frame or block the next byte
// belongs to, and how many bytes are left in that part. It only observes (zstd decides what is
// valid), so garbage never makes it fail: it then just names where the garbage starts.
class ZstdFrameWalker {
 public:
  // How many of the next bytes belong to the current part (a frame header field, a block
  // header, a block's content, a checksum); never 0.
  std::uint64_t Remaining() const;
  // Takes the next `bytes`, at most Remaining() of them.
  void Consume(std::string_view bytes);
  // True between frames (nothing of a frame is pending): the input may end here.
  bool AtFrameBoundary() const { return state_ == State::kMagic && have_ == 0; }
  // True inside a frame, after a whole block, before the next block header: a writer still
  // writing (or killed) leaves a frame here.
  bool AtBlockBoundary() const { return state_ == State::kBlockHeader && have_ == 0; }
  // The part the next byte belongs to, for messages: "the block at byte 52113", "the frame
  // header at byte 0", "the checksum at byte 2410 of the frame at byte 0"; once lost(), "at
  // byte 900 (no zstd frame starts there)".
  std::string Part() const;
  // Where the input stopped, for a cut file: "the block at byte 7 (1210 of its 2420 bytes are
  // there)".
  std::string CutPart() const;
  std::uint64_t offset() const { return offset_; }
  // True once the input stopped looking like zstd frames (Part() then says where).
  bool lost() const { return state_ == State::kUnknown; }

 private:
  enum class State {
    kMagic,            // the 4-byte magic number of the next frame
    kFrameDescriptor,  // the Frame_Header_Descriptor byte
    kFrameHeaderRest,  // window descriptor, dictionary id, content size
    kBlockHeader,      // 3 bytes
    kBlockBody,        // the block's content
    kChecksum,         // 4 bytes after the last block, when the frame has one
    kSkippableSize,    // 4 bytes of a skippable frame's size
    kSkippableBody,    // a skippable frame's content
    kUnknown,          // not a frame: everything from here on
  };
  State state_ = State::kMagic;
  std::uint64_t offset_ = 0;       // bytes consumed so far
  std::uint64_t frame_start_ = 0;  // where the current frame began
  std::uint64_t part_start_ = 0;   // where the current part began
  std::uint64_t block_start_ = 0;  // where the current block's header began
  std::uint64_t need_ = 4;         // bytes of the current part
  std::uint64_t have_ = 0;         // of which already consumed
  std::uint64_t block_size_ = 0;   // the current block's content size (for CutPart)
  bool last_block_ = false;
  bool has_checksum_ = false;
  unsigned char field_[8] = {};  // the bytes of a header part so far
};

// Decompresses concatenated zstd frames fed in pieces of any size and hands the text on as it
// comes, holding no more than zstd's window and one output buffer. One decoder reads one input,
// on one thread.
class ZstdStreamDecoder {
 public:
  // Receives each piece of decoded text; an error stops decoding and Feed returns it.
  using Sink = std::function<Status(std::string_view text)>;

  // `where` starts every message ("cassette t.jsonl.zst"); more than `max_output` decoded bytes
  // is kParse "WHERE: decompresses to more than 4 GiB; refusing to read it".
  static Result<std::unique_ptr<ZstdStreamDecoder>> Create(std::string where,
                                                           std::uint64_t max_output);

  // Decodes the next `input` bytes. Errors: kParse "WHERE: corrupt zstd data in the block at
  // byte N: <zstd's reason>" (or in the frame header, or in the checksum of the frame at byte N,
  // or "at byte N (no zstd frame starts there)"), the output limit, or the sink's error.
  Status Feed(std::string_view input, const Sink& sink);

  // After the last Feed: true when the input ended between frames, false when it ended inside
  // one (a cut recording, or one still being written).
  bool complete() const { return walker_.AtFrameBoundary(); }
  // Makes Feed stop (and stopped() true) at the end of the current frame, leaving the rest of
  // the input undecoded: a reader that found a bad line lets zstd check the frame's checksum,
  // so damaged compressed data is reported as such rather than as the garbage it decoded to.
  void StopAtFrameEnd() { stop_at_frame_end_ = true; }
  bool stopped() const { return stopped_; }
  const ZstdFrameWalker& walker() const { return walker_; }
  std::uint64_t produced() const { return produced_; }

 private:
  ZstdStreamDecoder(std::string where, std::uint64_t max_output, ZstdDCtxPtr dctx);
  // Decodes `piece`, which the walker has just consumed; `before` is the walker before it.
  Status Decode(std::string_view piece, const Sink& sink, const ZstdFrameWalker& before);

  std::string where_;
  std::uint64_t max_output_;
  ZstdDCtxPtr dctx_;
  std::unique_ptr<char[]> out_;
  size_t out_size_;
  std::uint64_t produced_ = 0;
  bool stop_at_frame_end_ = false;
  bool stopped_ = false;
  ZstdFrameWalker walker_;
};

struct Decompressed {
  std::string text;
  bool complete = true;  // false: the input ended inside a frame (a cut recording)
};
// Decompresses all of `bytes` into memory with a ZstdStreamDecoder named "cassette NAME" (for
// tests and small inputs; the reader streams).
Result<Decompressed> DecompressAll(std::string_view bytes, std::string_view name,
                                   std::uint64_t max_output);

}  // namespace td::cassette::internal
