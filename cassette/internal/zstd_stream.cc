// The zstd side of the cassette codec: compression as the writer does it (one frame per session,
// flushed after every line) and tolerant decompression of concatenated frames.
#include "cassette/internal/zstd_stream.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "cassette/internal/codec_text.h"

namespace td::cassette::internal {
namespace {

constexpr unsigned char kZstdMagic[4] = {0x28, 0xB5, 0x2F, 0xFD};

std::string Where(std::string_view name) {
  std::string out = "cassette ";
  out += name;
  return out;
}

}  // namespace

bool HasZstdMagic(std::string_view bytes) {
  return bytes.size() >= 4 && std::memcmp(bytes.data(), kZstdMagic, 4) == 0;
}

Result<ZstdCCtxPtr> MakeCompressor(int level, std::string_view where) {
  if (level < ZSTD_minCLevel() || level > ZSTD_maxCLevel()) {
    return InvalidArgumentError(std::string(where) + ": zstd level " + std::to_string(level) +
                                " is out of range (" + std::to_string(ZSTD_minCLevel()) + ".." +
                                std::to_string(ZSTD_maxCLevel()) + ")");
  }
  ZstdCCtxPtr cctx(ZSTD_createCCtx());
  if (!cctx) return InternalError(std::string(where) + ": zstd: out of memory");
  size_t rc = ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_compressionLevel, level);
  if (!ZSTD_isError(rc)) rc = ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_checksumFlag, 1);
  if (ZSTD_isError(rc)) {
    return InternalError(std::string(where) + ": zstd: " + ZSTD_getErrorName(rc));
  }
  return cctx;
}

Status CompressInto(ZSTD_CCtx* cctx, std::string_view in, ZSTD_EndDirective mode, std::string* out,
                    std::string_view where) {
  ZSTD_inBuffer input{in.data(), in.size(), 0};
  const size_t chunk = ZSTD_CStreamOutSize();
  for (;;) {
    const size_t old = out->size();
    out->resize(old + chunk);
    ZSTD_outBuffer output{out->data() + old, chunk, 0};
    const size_t remaining = ZSTD_compressStream2(cctx, &output, &input, mode);
    out->resize(old + output.pos);
    if (ZSTD_isError(remaining)) {
      return InternalError(std::string(where) + ": zstd: " + ZSTD_getErrorName(remaining));
    }
    if (remaining == 0 && input.pos == input.size) return Status::Ok();
  }
}

// ---------------------------------------------------------------------------------------------
// ZstdFrameWalker (RFC 8878 section 3.1)

namespace {

constexpr std::uint32_t kFrameMagic = 0xFD2FB528;
constexpr std::uint32_t kSkippableMagicMask = 0xFFFFFFF0;
constexpr std::uint32_t kSkippableMagic = 0x184D2A50;

std::uint32_t LittleEndian32(const unsigned char* p) {
  return std::uint32_t{p[0]} | (std::uint32_t{p[1]} << 8) | (std::uint32_t{p[2]} << 16) |
         (std::uint32_t{p[3]} << 24);
}

std::string AtByte(std::string_view what, std::uint64_t offset) {
  return std::string(what) + " at byte " + std::to_string(offset);
}

}  // namespace

std::uint64_t ZstdFrameWalker::Remaining() const {
  if (state_ == State::kUnknown) return UINT64_MAX;
  return need_ - have_;
}

void ZstdFrameWalker::Consume(std::string_view bytes) {
  const bool header_part =
      state_ != State::kBlockBody && state_ != State::kSkippableBody && state_ != State::kUnknown;
  if (header_part) {
    for (size_t k = 0; k < bytes.size() && have_ + k < sizeof field_; ++k) {
      field_[have_ + k] = static_cast<unsigned char>(bytes[k]);
    }
  }
  offset_ += bytes.size();
  have_ += bytes.size();
  if (state_ == State::kUnknown || have_ < need_) return;

  auto enter = [this](State state, std::uint64_t need) {
    state_ = state;
    part_start_ = offset_;
    need_ = need;
    have_ = 0;
  };
  auto enter_block_header = [&] {
    block_start_ = offset_;
    enter(State::kBlockHeader, 3);
  };
  auto finish_block = [&] {
    if (!last_block_) {
      enter_block_header();
    } else if (has_checksum_) {
      enter(State::kChecksum, 4);
    } else {
      enter(State::kMagic, 4);
    }
  };
  switch (state_) {
    case State::kMagic: {
      const std::uint32_t magic = LittleEndian32(field_);
      frame_start_ = offset_ - 4;
      if (magic == kFrameMagic) {
        enter(State::kFrameDescriptor, 1);
      } else if ((magic & kSkippableMagicMask) == kSkippableMagic) {
        enter(State::kSkippableSize, 4);
      } else {
        state_ = State::kUnknown;
      }
      break;
    }
    case State::kFrameDescriptor: {
      // Frame_Content_Size_flag (bits 7-6), Single_Segment_flag (5), Content_Checksum_flag (2),
      // Dictionary_ID_flag (1-0).
      const unsigned fhd = field_[0];
      const unsigned fcs_flag = fhd >> 6;
      const bool single_segment = (fhd >> 5) & 1u;
      has_checksum_ = (fhd >> 2) & 1u;
      static constexpr unsigned kDictIdSize[4] = {0, 1, 2, 4};
      static constexpr unsigned kContentSizeSize[4] = {0, 2, 4, 8};
      const unsigned rest = (single_segment ? 0 : 1) + kDictIdSize[fhd & 3u] +
                            (fcs_flag == 0 ? (single_segment ? 1 : 0) : kContentSizeSize[fcs_flag]);
      if (rest == 0) {
        enter_block_header();
      } else {
        enter(State::kFrameHeaderRest, rest);
      }
      break;
    }
    case State::kFrameHeaderRest:
      enter_block_header();
      break;
    case State::kBlockHeader: {
      // Last_Block (bit 0), Block_Type (bits 1-2), Block_Size (bits 3-23); an RLE block's
      // content is one byte whatever its size says.
      const std::uint32_t header = std::uint32_t{field_[0]} | (std::uint32_t{field_[1]} << 8) |
                                   (std::uint32_t{field_[2]} << 16);
      last_block_ = header & 1u;
      const unsigned type = (header >> 1) & 3u;
      block_size_ = type == 1 ? 1 : header >> 3;
      if (block_size_ == 0) {
        finish_block();
      } else {
        enter(State::kBlockBody, block_size_);
      }
      break;
    }
    case State::kBlockBody:
      finish_block();
      break;
    case State::kChecksum:
      enter(State::kMagic, 4);
      break;
    case State::kSkippableSize: {
      const std::uint32_t size = LittleEndian32(field_);
      if (size == 0) {
        enter(State::kMagic, 4);
      } else {
        enter(State::kSkippableBody, size);
      }
      break;
    }
    case State::kSkippableBody:
      enter(State::kMagic, 4);
      break;
    case State::kUnknown:
      break;
  }
}

std::string ZstdFrameWalker::Part() const {
  switch (state_) {
    case State::kMagic:
      return AtByte("the frame header", offset_ - have_);
    case State::kFrameDescriptor:
    case State::kFrameHeaderRest:
      return AtByte("the frame header", frame_start_);
    case State::kBlockHeader:
    case State::kBlockBody:
      return AtByte("the block", block_start_);
    case State::kChecksum:
      return AtByte("the checksum", part_start_) + AtByte(" of the frame", frame_start_);
    case State::kSkippableSize:
    case State::kSkippableBody:
      return AtByte("the skippable frame", frame_start_);
    case State::kUnknown:
      break;
  }
  return AtByte("", frame_start_).substr(1) + " (no zstd frame starts there)";
}

std::string ZstdFrameWalker::CutPart() const {
  if (state_ == State::kBlockHeader || state_ == State::kBlockBody) {
    const std::uint64_t got = state_ == State::kBlockHeader ? have_ : 3 + have_;
    std::string out = Part() + " (" + std::to_string(got) + " of its ";
    out += state_ == State::kBlockHeader ? std::string("3 header bytes")
                                         : std::to_string(3 + block_size_) + " bytes";
    return out + " are there)";
  }
  return Part();
}

// ---------------------------------------------------------------------------------------------
// ZstdStreamDecoder

ZstdStreamDecoder::ZstdStreamDecoder(std::string where, std::uint64_t max_output, ZstdDCtxPtr dctx)
    : where_(std::move(where)),
      max_output_(max_output),
      dctx_(std::move(dctx)),
      out_size_(ZSTD_DStreamOutSize()) {
  out_ = std::make_unique<char[]>(out_size_);
}

Result<std::unique_ptr<ZstdStreamDecoder>> ZstdStreamDecoder::Create(std::string where,
                                                                     std::uint64_t max_output) {
  ZstdDCtxPtr dctx(ZSTD_createDCtx());
  if (!dctx) return InternalError(where + ": zstd: out of memory");
  return std::unique_ptr<ZstdStreamDecoder>(
      new ZstdStreamDecoder(std::move(where), max_output, std::move(dctx)));
}

Status ZstdStreamDecoder::Feed(std::string_view input, const Sink& sink) {
  // Feed zstd one part at a time (a block header, a block's content, ...): zstd decodes a block
  // when its last byte arrives, so an error comes back while that block's part is being fed
  // and the walker can say which block it was.
  while (!input.empty() && !stopped_) {
    const size_t n =
        static_cast<size_t>(std::min<std::uint64_t>(input.size(), walker_.Remaining()));
    const std::string_view piece = input.substr(0, n);
    const ZstdFrameWalker before = walker_;
    walker_.Consume(piece);
    TD_RETURN_IF_ERROR(Decode(piece, sink, before));
    if (stop_at_frame_end_ && walker_.AtFrameBoundary()) stopped_ = true;
    input.remove_prefix(n);
  }
  return Status::Ok();
}

Status ZstdStreamDecoder::Decode(std::string_view piece, const Sink& sink,
                                 const ZstdFrameWalker& before) {
  ZSTD_inBuffer input{piece.data(), piece.size(), 0};
  for (;;) {
    ZSTD_outBuffer output{out_.get(), out_size_, 0};
    const size_t rc = ZSTD_decompressStream(dctx_.get(), &output, &input);
    if (ZSTD_isError(rc)) {
      // The part these bytes belong to; the walker after them knows when they were not a frame.
      const std::string part = walker_.lost() ? walker_.Part() : "in " + before.Part();
      return ParseError(where_ + ": corrupt zstd data " + part + ": " + ZSTD_getErrorName(rc));
    }
    if (output.pos > 0) {
      produced_ += output.pos;
      if (produced_ > max_output_) {
        return ParseError(where_ + ": decompresses to more than " + FormatSize(max_output_) +
                          "; refusing to read it");
      }
      TD_RETURN_IF_ERROR(sink(std::string_view(out_.get(), output.pos)));
    }
    if (input.pos == input.size && output.pos < output.size) return Status::Ok();
  }
}

Result<Decompressed> DecompressAll(std::string_view bytes, std::string_view name,
                                   std::uint64_t max_output) {
  Result<std::unique_ptr<ZstdStreamDecoder>> decoder =
      ZstdStreamDecoder::Create(Where(name), max_output);
  if (!decoder.ok()) return decoder.status();
  Decompressed result;
  TD_RETURN_IF_ERROR((*decoder)->Feed(bytes, [&](std::string_view text) {
    result.text.append(text);
    return Status::Ok();
  }));
  result.complete = (*decoder)->complete();
  return result;
}

}  // namespace td::cassette::internal
