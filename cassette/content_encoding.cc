// Content-Encoding decoding over zlib, brotli and zstd, each driven in fixed-size output steps so
// the output limit is checked before it can be passed, and the encoded-body scan built on it.
#include "cassette/content_encoding.h"

#include <brotli/decode.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>

#include "cassette/base/c_ptr.h"
#include "cassette/internal/zstd_handles.h"

namespace td::cassette {
namespace {

using BrotliDecoderPtr = CPtr<BrotliDecoderState, BrotliDecoderDestroyInstance>;

// Output is produced this much at a time, so a bomb is stopped within one step of the limit.
constexpr size_t kStep = 64 * 1024;
// zlib counts input in 32-bit units: feed it at most this much per call.
constexpr size_t kMaxZlibFeed = size_t{1} << 30;
// RFC 9659: a zstd Content-Encoding window is at most 8 MiB, so decoders need no more memory.
constexpr int kZstdWindowLogMax = 23;

enum class Coding { kGzip, kDeflate, kBrotli, kZstd };

struct NamedCoding {
  std::string_view name;
  std::optional<Coding> coding;  // nullopt: identity
};

constexpr NamedCoding kCodings[] = {
    {"gzip", Coding::kGzip}, {"x-gzip", Coding::kGzip}, {"deflate", Coding::kDeflate},
    {"br", Coding::kBrotli}, {"zstd", Coding::kZstd},   {"identity", std::nullopt},
};

std::string_view TrimOws(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

const NamedCoding* FindCoding(std::string_view name) {
  for (const NamedCoding& c : kCodings) {
    if (HeaderNameEquals(c.name, name)) return &c;
  }
  return nullptr;
}

// Calls `fn(item)` for each non-empty, trimmed item of a comma-separated list.
template <class Fn>
void ForEachItem(std::string_view list, Fn fn) {
  while (true) {
    size_t comma = list.find(',');
    std::string_view item = TrimOws(list.substr(0, comma));
    if (!item.empty()) fn(item);
    if (comma == std::string_view::npos) return;
    list.remove_prefix(comma + 1);
  }
}

Status Corrupt(std::string_view stage, size_t at, std::string_view why) {
  return ParseError(std::string(stage) + ": corrupt at byte " + std::to_string(at) + ": " +
                    std::string(why));
}

Status Truncated(std::string_view stage, size_t at) {
  return ParseError(std::string(stage) + ": truncated at byte " + std::to_string(at) +
                    " (the data ends before the stream does)");
}

Status Trailing(std::string_view stage, size_t at, size_t size) {
  return ParseError(std::string(stage) + ": " + std::to_string(size - at) +
                    " bytes of trailing data at byte " + std::to_string(at) +
                    ", after the end of the stream");
}

// The decoded bytes of one coding, with its limit enforced as they arrive. Capacity never
// grows past the limit, so a bomb costs at most the limit, not twice it.
class Output {
 public:
  Output(std::string_view stage, size_t input_size, const DecodeLimits& limits)
      : stage_(stage), input_size_(input_size), cap_(limits.max_decoded_bytes) {
    if (limits.max_ratio > 0) {
      size_t by_ratio = input_size > std::numeric_limits<size_t>::max() / limits.max_ratio
                            ? std::numeric_limits<size_t>::max()
                            : input_size * limits.max_ratio;
      by_ratio = std::max(by_ratio, limits.ratio_floor_bytes);
      if (by_ratio < cap_) {
        cap_ = by_ratio;
        ratio_ = limits.max_ratio;
      }
    }
  }

  // Appends `n` bytes produced after reading the input up to byte `at`.
  Status Append(const void* data, size_t n, size_t at) {
    if (n == 0) return Status::Ok();
    if (n > cap_ - bytes_.size()) {
      limit_hit_ = true;
      std::string bound = ratio_ > 0 ? std::to_string(ratio_) + " times the " +
                                           std::to_string(input_size_) + " encoded bytes"
                                     : "the limit of " + std::to_string(cap_) + " bytes";
      return ParseError(std::string(stage_) + ": decoded size passes " + bound + " at byte " +
                        std::to_string(at) + " (a decompression bomb?)");
    }
    if (bytes_.size() + n > bytes_.capacity()) {
      bytes_.reserve(std::min(cap_, std::max(bytes_.capacity() * 2, bytes_.size() + n)));
    }
    bytes_.append(static_cast<const char*>(data), n);
    return Status::Ok();
  }

  bool limit_hit() const { return limit_hit_; }
  std::string Take() { return std::move(bytes_); }

 private:
  std::string_view stage_;
  size_t input_size_;
  size_t cap_;
  size_t ratio_ = 0;  // non-zero when the ratio sets the cap
  bool limit_hit_ = false;
  std::string bytes_;
};

enum class ZlibWrap { kGzip, kZlib, kRaw };

// Closes a z_stream that inflateInit2 opened.
struct InflateEnder {
  z_stream* stream;
  ~InflateEnder() { inflateEnd(stream); }
};

Status Inflate(std::string_view in, ZlibWrap wrap, std::string_view stage, Output* out) {
  z_stream zs{};
  const int window_bits = wrap == ZlibWrap::kGzip   ? MAX_WBITS + 16
                          : wrap == ZlibWrap::kZlib ? MAX_WBITS
                                                    : -MAX_WBITS;
  if (inflateInit2(&zs, window_bits) != Z_OK) {
    return InternalError(std::string(stage) + ": cannot start the zlib decoder");
  }
  InflateEnder ender{&zs};
  auto step = std::make_unique<unsigned char[]>(kStep);
  size_t pos = 0;
  while (true) {
    const size_t give = std::min(in.size() - pos, kMaxZlibFeed);
    // zlib's next_in is not const-qualified without ZLIB_CONST, but it does not write input.
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data() + pos));
    zs.avail_in = static_cast<uInt>(give);
    zs.next_out = step.get();
    zs.avail_out = static_cast<uInt>(kStep);
    const int ret = inflate(&zs, Z_NO_FLUSH);
    pos += give - zs.avail_in;
    TD_RETURN_IF_ERROR(out->Append(step.get(), kStep - zs.avail_out, pos));
    switch (ret) {
      case Z_OK:
        continue;
      case Z_STREAM_END:
        if (pos == in.size()) return Status::Ok();
        // RFC 1952: a gzip file may be several members back to back.
        if (wrap == ZlibWrap::kGzip && in.size() - pos >= 2 &&
            static_cast<unsigned char>(in[pos]) == 0x1f &&
            static_cast<unsigned char>(in[pos + 1]) == 0x8b) {
          if (inflateReset(&zs) != Z_OK) {
            return InternalError(std::string(stage) + ": cannot restart the zlib decoder");
          }
          continue;
        }
        return Trailing(stage, pos, in.size());
      case Z_BUF_ERROR:  // no progress possible: the input ran out mid-stream
        if (pos == in.size()) return Truncated(stage, pos);
        return InternalError(std::string(stage) + ": the zlib decoder stalled at byte " +
                             std::to_string(pos));
      case Z_NEED_DICT:
        return Corrupt(stage, pos, "the stream needs a preset dictionary");
      case Z_DATA_ERROR:
        return Corrupt(stage, pos, zs.msg != nullptr ? zs.msg : "invalid data");
      case Z_MEM_ERROR:
        return InternalError(std::string(stage) + ": out of memory");
      default:
        return InternalError(std::string(stage) + ": zlib error " + std::to_string(ret));
    }
  }
}

// RFC 1950's header check: compression method 8, a window of at most 32 KiB, and a checksum.
bool LooksLikeZlib(std::string_view in) {
  if (in.size() < 2) return false;
  const auto cmf = static_cast<unsigned char>(in[0]);
  const auto flg = static_cast<unsigned char>(in[1]);
  return (cmf & 0x0f) == 8 && (cmf >> 4) <= 7 && ((cmf << 8) | flg) % 31 == 0;
}

Result<std::string> InflateDeflate(std::string_view in, std::string_view stage,
                                   const DecodeLimits& limits) {
  // Servers long sent raw deflate for "deflate", so browsers accept both; so do we. A raw
  // stream can start with bytes that pass the zlib check, hence the second try.
  std::optional<Status> zlib_error;
  if (LooksLikeZlib(in)) {
    Output out(stage, in.size(), limits);
    Status s = Inflate(in, ZlibWrap::kZlib, stage, &out);
    if (s.ok()) return out.Take();
    if (out.limit_hit()) return s;
    zlib_error = s;
  }
  Output out(stage, in.size(), limits);
  Status s = Inflate(in, ZlibWrap::kRaw, stage, &out);
  if (s.ok()) return out.Take();
  return zlib_error && !out.limit_hit() ? *zlib_error : s;
}

// The decoder's error name in words: "_ERROR_FORMAT_PADDING_1" -> "padding 1".
std::string BrotliErrorText(BrotliDecoderErrorCode code) {
  std::string_view name = BrotliDecoderErrorString(code);
  while (!name.empty() && name.front() == '_') name.remove_prefix(1);
  for (std::string_view prefix : {"ERROR_", "FORMAT_"}) {
    if (name.starts_with(prefix)) name.remove_prefix(prefix.size());
  }
  std::string text;
  for (char c : name) {
    text += c == '_' ? ' ' : (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  return text;
}

Status Unbrotli(std::string_view in, std::string_view stage, Output* out) {
  BrotliDecoderPtr state(BrotliDecoderCreateInstance(nullptr, nullptr, nullptr));
  if (!state) return InternalError(std::string(stage) + ": cannot start the brotli decoder");
  auto step = std::make_unique<uint8_t[]>(kStep);
  size_t avail_in = in.size();
  const auto* next_in = reinterpret_cast<const uint8_t*>(in.data());
  while (true) {
    size_t avail_out = kStep;
    uint8_t* next_out = step.get();
    const BrotliDecoderResult r = BrotliDecoderDecompressStream(state.get(), &avail_in, &next_in,
                                                                &avail_out, &next_out, nullptr);
    const size_t pos = in.size() - avail_in;
    TD_RETURN_IF_ERROR(out->Append(step.get(), kStep - avail_out, pos));
    switch (r) {
      case BROTLI_DECODER_RESULT_SUCCESS:
        if (avail_in == 0) return Status::Ok();
        return Trailing(stage, pos, in.size());
      case BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT:
        continue;
      case BROTLI_DECODER_RESULT_NEEDS_MORE_INPUT:
        return Truncated(stage, pos);
      case BROTLI_DECODER_RESULT_ERROR:
        return Corrupt(stage, pos,
                       "invalid brotli data (" +
                           BrotliErrorText(BrotliDecoderGetErrorCode(state.get())) + ")");
    }
    return InternalError(std::string(stage) + ": unexpected brotli result");
  }
}

Status Unzstd(std::string_view in, std::string_view stage, Output* out) {
  internal::ZstdDCtxPtr dctx(ZSTD_createDCtx());
  if (!dctx ||
      ZSTD_isError(ZSTD_DCtx_setParameter(dctx.get(), ZSTD_d_windowLogMax, kZstdWindowLogMax))) {
    return InternalError(std::string(stage) + ": cannot start the zstd decoder");
  }
  auto step = std::make_unique<char[]>(kStep);
  ZSTD_inBuffer zin{in.data(), in.size(), 0};
  while (true) {
    ZSTD_outBuffer zout{step.get(), kStep, 0};
    const size_t r = ZSTD_decompressStream(dctx.get(), &zout, &zin);
    if (ZSTD_isError(r)) {
      if (ZSTD_getErrorCode(r) == ZSTD_error_frameParameter_windowTooLarge) {
        return Corrupt(stage, zin.pos, "the frame's window is larger than 8 MiB (RFC 9659)");
      }
      return Corrupt(stage, zin.pos, ZSTD_getErrorName(r));
    }
    TD_RETURN_IF_ERROR(out->Append(step.get(), zout.pos, zin.pos));
    if (zin.pos < zin.size) continue;
    if (r == 0) return Status::Ok();  // the last frame ended and is flushed
    if (zout.pos < zout.size) return Truncated(stage, zin.pos);  // wants input there is none of
  }
}

Result<std::string> DecodeOne(std::string_view in, Coding coding, std::string_view stage,
                              const DecodeLimits& limits) {
  if (coding == Coding::kDeflate) return InflateDeflate(in, stage, limits);
  Output out(stage, in.size(), limits);
  Status s = coding == Coding::kGzip     ? Inflate(in, ZlibWrap::kGzip, stage, &out)
             : coding == Coding::kBrotli ? Unbrotli(in, stage, &out)
                                         : Unzstd(in, stage, &out);
  if (!s.ok()) return s;
  return out.Take();
}

// The secret findings of `bytes` (decoded from a body declaring `encoding`) at `place`.
void ScanDecoded(std::string_view bytes, std::string_view place, std::string_view encoding,
                 size_t index, std::vector<SecretFinding>* out) {
  for (const SecretMatch& m : FindSecrets(bytes)) {
    out->push_back(SecretFinding{
        index,
        std::string(place) + " (" + std::string(encoding) + ") at byte " + std::to_string(m.begin),
        std::string(m.rule)});
  }
}

void ScanOne(std::string_view bytes, std::string_view place, std::string_view encoding,
             size_t index, const DecodeLimits& limits, EncodedBodyScan* scan) {
  if (bytes.empty()) return;
  Result<std::string> decoded = DecodeContent(bytes, encoding, limits);
  if (!decoded.ok()) {
    scan->undecodable.push_back(std::string(place) + ": cannot decode " +
                                decoded.status().message() + "; not scanned");
    return;
  }
  ScanDecoded(*decoded, place, encoding, index, &scan->findings);
}

}  // namespace

std::string DeclaredContentEncoding(const Headers& headers) {
  std::string out;
  for (const auto& [name, value] : headers) {
    if (!HeaderNameEquals(name, "content-encoding")) continue;
    ForEachItem(value, [&](std::string_view item) {
      const NamedCoding* known = FindCoding(item);
      if (known && !known->coding) return;  // identity
      if (!out.empty()) out += ", ";
      out += known ? known->name : item;
    });
  }
  return out;
}

Result<std::string> DecodeContent(std::string_view body, std::string_view content_encoding,
                                  const DecodeLimits& limits) {
  std::vector<std::pair<std::string_view, Coding>> codings;  // in the order applied
  std::optional<std::string_view> unknown;
  ForEachItem(content_encoding, [&](std::string_view item) {
    const NamedCoding* known = FindCoding(item);
    if (!known) {
      if (!unknown) unknown = item;
      return;
    }
    if (known->coding) codings.emplace_back(known->name, *known->coding);
  });
  if (unknown) {
    // A header value, so shown, but kept short: it is whatever the client sent.
    constexpr size_t kMaxShown = 40;
    std::string shown(unknown->substr(0, kMaxShown));
    if (unknown->size() > kMaxShown) shown += "...";
    return ParseError(shown +
                      ": unknown content coding (tapedeck decodes gzip, deflate, br, zstd, "
                      "identity)");
  }
  std::string current(body);
  std::string outer;  // the codings undone so far, for naming an inner one
  for (auto it = codings.rbegin(); it != codings.rend() && !current.empty(); ++it) {
    std::string stage(it->first);
    if (!outer.empty()) stage += " inside " + outer;
    Result<std::string> decoded = DecodeOne(current, it->second, stage, limits);
    if (!decoded.ok()) return decoded.status();
    current = std::move(*decoded);
    outer = std::move(stage);
  }
  return current;
}

Status DecodeRequestBody(Request* request, const DecodeLimits& limits) {
  if (FindHeader(request->headers, "content-encoding") == nullptr) return Status::Ok();
  const std::string encoding = DeclaredContentEncoding(request->headers);
  if (!encoding.empty()) {
    Result<std::string> decoded = DecodeContent(request->body.bytes, encoding, limits);
    if (!decoded.ok()) return decoded.status();
    request->body.bytes = std::move(*decoded);
  }
  RemoveHeader(&request->headers, "content-encoding");
  return Status::Ok();
}

EncodedBodyScan ScanEncodedBodies(const Interaction& interaction, size_t index,
                                  const DecodeLimits& limits) {
  EncodedBodyScan scan;
  const std::string request_encoding = DeclaredContentEncoding(interaction.request.headers);
  if (!request_encoding.empty()) {
    ScanOne(interaction.request.body.bytes, "request.body", request_encoding, index, limits, &scan);
  }
  const Response& response = interaction.response;
  const std::string response_encoding = DeclaredContentEncoding(response.headers);
  if (!response_encoding.empty()) {
    if (response.stream) {
      ScanOne(response.stream->Concatenated(), "response.stream", response_encoding, index, limits,
              &scan);
    } else {
      ScanOne(response.body.bytes, "response.body", response_encoding, index, limits, &scan);
    }
  }
  return scan;
}

}  // namespace td::cassette
