// The cassette codec: JSON Lines text, optionally one zstd frame per writer session that is
// flushed after every interaction (so a kill -9 loses at most the interaction being written),
// read back tolerantly (a cut tail is a warning) and strictly (anything else is an error naming
// the file and line). Rewrites go through a temp file and rename. Format: docs/cassette-format.md.
#include "cassette/codec.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>

#include "cassette/base/clock.h"
#include "cassette/base/log.h"
#include "cassette/base/unique_fd.h"
#include "cassette/internal/codec_internal.h"
#include "cassette/internal/codec_text.h"
#include "cassette/internal/zstd_handles.h"
#include "cassette/json_mapping.h"

namespace td::cassette {
namespace {

constexpr unsigned char kZstdMagic[4] = {0x28, 0xB5, 0x2F, 0xFD};
// How much of an existing file kTruncate reads to check that it is a cassette.
constexpr size_t kSniffBytes = 64 * 1024;

// "4 GiB", "12 MiB" or "1000 bytes", for limits in messages.
std::string FormatSize(std::uint64_t bytes) {
  if (bytes >= (std::uint64_t{1} << 30) && bytes % (std::uint64_t{1} << 30) == 0) {
    return std::to_string(bytes >> 30) + " GiB";
  }
  if (bytes >= (std::uint64_t{1} << 20) && bytes % (std::uint64_t{1} << 20) == 0) {
    return std::to_string(bytes >> 20) + " MiB";
  }
  return std::to_string(bytes) + " bytes";
}

std::string Where(std::string_view name) {
  std::string out = "cassette ";
  out += name;
  return out;
}

Status WriteAll(int fd, std::string_view data, std::string_view where) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return IoErrno(std::string(where) + ": write", errno);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

// Reads up to `limit` bytes (the whole file when it is smaller).
Result<std::string> ReadFile(const std::string& path, std::uint64_t limit, bool whole) {
  const std::string where = Where(path);
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return IoErrno(where + ": cannot open", errno);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return IoErrno(where + ": stat", errno);
  if (S_ISDIR(st.st_mode)) return IoError(where + ": is a directory");
  if (whole && static_cast<std::uint64_t>(st.st_size) > limit) {
    return ParseError(where + ": file is larger than " + FormatSize(limit) +
                      "; refusing to read it");
  }
  std::string out;
  out.reserve(static_cast<size_t>(std::min<std::uint64_t>(st.st_size, limit)));
  char buf[64 * 1024];
  while (out.size() < limit) {
    const size_t want =
        static_cast<size_t>(std::min<std::uint64_t>(sizeof buf, limit - out.size()));
    const ssize_t n = ::read(fd.get(), buf, want);
    if (n < 0) {
      if (errno == EINTR) continue;
      return IoErrno(where + ": read", errno);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  if (whole && out.size() >= limit) {
    char extra;
    if (::read(fd.get(), &extra, 1) == 1) {
      return ParseError(where + ": file is larger than " + FormatSize(limit) +
                        "; refusing to read it");
    }
  }
  return out;
}

Status FsyncParentDir(const std::string& path) {
  const size_t slash = path.rfind('/');
  const std::string dir =
      slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return IoErrno(Where(path) + ": open folder " + dir, errno);
  // Some file systems cannot fsync a folder (EINVAL); there is nothing more to do there.
  if (::fsync(fd.get()) != 0 && errno != EINVAL) {
    return IoErrno(Where(path) + ": fsync folder " + dir, errno);
  }
  return Status::Ok();
}

Result<internal::ZstdCCtxPtr> MakeCompressor(int level, std::string_view where) {
  if (level < ZSTD_minCLevel() || level > ZSTD_maxCLevel()) {
    return InvalidArgumentError(std::string(where) + ": zstd level " + std::to_string(level) +
                                " is out of range (" + std::to_string(ZSTD_minCLevel()) + ".." +
                                std::to_string(ZSTD_maxCLevel()) + ")");
  }
  internal::ZstdCCtxPtr cctx(ZSTD_createCCtx());
  if (!cctx) return InternalError(std::string(where) + ": zstd: out of memory");
  size_t rc = ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_compressionLevel, level);
  if (!ZSTD_isError(rc)) rc = ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_checksumFlag, 1);
  if (ZSTD_isError(rc)) {
    return InternalError(std::string(where) + ": zstd: " + ZSTD_getErrorName(rc));
  }
  return cctx;
}

// Compresses `in` into `*out` (appending) and flushes or ends the frame per `mode`.
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

std::string HeaderLine(Micros created_at_us) {
  Json header = Json::object();
  header["tapedeck"] = "cassette";
  header["version"] = kCassetteVersion;
  header["created_at"] = FormatRfc3339Micros(created_at_us);
  return header.dump();
}

bool IsBlank(std::string_view line) {
  return std::all_of(line.begin(), line.end(),
                     [](char c) { return c == ' ' || c == '\t' || c == '\r'; });
}

// Parses one line; on failure `*why` says what is wrong with it.
bool ParseLine(std::string_view line, Json* out, std::string* why) {
  if (internal::JsonNestingDepth(line) > internal::kMaxJsonDepth + internal::kLineDepthSlack) {
    *why = "JSON nested deeper than " +
           std::to_string(internal::kMaxJsonDepth + internal::kLineDepthSlack) + " levels";
    return false;
  }
  try {
    *out = Json::parse(line.data(), line.data() + line.size());
    return true;
  } catch (const Json::parse_error& e) {
    *why = "invalid JSON at column " + std::to_string(e.byte);
  } catch (const Json::exception& e) {
    *why = std::string("invalid JSON: ") + e.what();
  }
  return false;
}

bool IsHeader(const Json& json) {
  if (!json.is_object()) return false;
  auto it = json.find("tapedeck");
  return it != json.end() && it->is_string() && it->get_ref<const std::string&>() == "cassette";
}

Status NotACassette(std::string_view where) {
  return ParseError(std::string(where) +
                    ": not a tapedeck cassette (first line is not a tapedeck header)");
}

// Validates the header line (line `line_no`) and returns its version and creation time.
Status ReadHeader(Json* header, std::string_view where, size_t line_no, int* version,
                  Micros* created_at_us) {
  const std::string at = std::string(where) + ": line " + std::to_string(line_no);
  auto v = header->find("version");
  if (v == header->end()) return ParseError(at + ": missing \"version\"");
  if (!v->is_number_integer()) return ParseError(at + ": \"version\" must be an integer");
  if (v->is_number_unsigned() ? v->get<std::uint64_t>() > std::uint64_t{kCassetteVersion}
                              : v->get<std::int64_t>() > kCassetteVersion) {
    const std::string number = v->dump();
    return ParseError(std::string(where) + ": version " + number +
                      " is newer than this tapedeck reads (" + std::to_string(kCassetteVersion) +
                      ")");
  }
  const std::int64_t n = v->get<std::int64_t>();
  if (n < internal::kOldestCassetteVersion) {
    return ParseError(at + ": unknown version " + std::to_string(n));
  }
  *version = static_cast<int>(n);
  TD_RETURN_IF_ERROR(internal::MigrateLine(*version, header, /*is_header=*/true).WithContext(at));
  std::string unknown;
  for (const auto& item : header->items()) {
    const std::string& key = item.key();
    if (key == "tapedeck" || key == "version" || key == "created_at" || key.starts_with("x-") ||
        key.starts_with("_")) {
      continue;
    }
    unknown += unknown.empty() ? "\"" : ", \"";
    unknown += key + "\"";
  }
  if (!unknown.empty()) {
    return ParseError(at + ": unknown header key " + unknown +
                      " (known: tapedeck, version, created_at; keys starting with \"x-\" or \"_\" "
                      "are free for notes)");
  }
  *created_at_us = 0;
  auto created = header->find("created_at");
  if (created != header->end()) {
    std::optional<Micros> t;
    if (created->is_string())
      t = internal::ParseRfc3339Micros(created->get_ref<const std::string&>());
    if (!t) {
      return ParseError(at +
                        ": created_at: expected a UTC time like "
                        "\"2026-11-21T08:32:33.123456Z\"");
    }
    *created_at_us = *t;
  }
  return Status::Ok();
}

}  // namespace

// -------------------------------------------------------------------------------------------------
// internal

namespace internal {

bool HasZstdMagic(std::string_view bytes) {
  return bytes.size() >= 4 && std::memcmp(bytes.data(), kZstdMagic, 4) == 0;
}

Result<Decompressed> DecompressAll(std::string_view bytes, std::string_view name,
                                   std::uint64_t max_output) {
  ZstdDCtxPtr dctx(ZSTD_createDCtx());
  if (!dctx) return InternalError(Where(name) + ": zstd: out of memory");
  Decompressed result;
  ZSTD_inBuffer input{bytes.data(), bytes.size(), 0};
  const size_t chunk = ZSTD_DStreamOutSize();
  size_t last = 0;
  for (;;) {
    const size_t old = result.text.size();
    const size_t consumed_before = input.pos;
    result.text.resize(old + chunk);
    ZSTD_outBuffer output{result.text.data() + old, chunk, 0};
    const size_t rc = ZSTD_decompressStream(dctx.get(), &output, &input);
    result.text.resize(old + output.pos);
    if (ZSTD_isError(rc)) {
      return ParseError(Where(name) + ": corrupt zstd data near byte " + std::to_string(input.pos) +
                        ": " + ZSTD_getErrorName(rc));
    }
    if (result.text.size() > max_output) {
      return ParseError(Where(name) + ": decompresses to more than " + FormatSize(max_output) +
                        "; refusing to read it");
    }
    last = rc;
    const bool output_full = output.pos == output.size;
    if (input.pos == input.size && !output_full) break;
    if (input.pos == consumed_before && output.pos == 0) break;  // no progress: input exhausted
  }
  result.complete = last == 0;
  return result;
}

bool StartsWithCassetteHeader(std::string_view bytes) {
  std::string text;
  if (HasZstdMagic(bytes)) {
    ZstdDCtxPtr dctx(ZSTD_createDCtx());
    if (!dctx) return false;
    ZSTD_inBuffer input{bytes.data(), bytes.size(), 0};
    char buf[4096];
    while (text.find('\n') == std::string::npos && text.size() < kSniffBytes) {
      ZSTD_outBuffer output{buf, sizeof buf, 0};
      const size_t before = input.pos;
      const size_t rc = ZSTD_decompressStream(dctx.get(), &output, &input);
      if (ZSTD_isError(rc)) return false;
      text.append(buf, output.pos);
      if (output.pos == 0 && input.pos == before) break;
    }
  } else {
    text.assign(bytes.substr(0, std::min(bytes.size(), kSniffBytes)));
  }
  const size_t nl = text.find('\n');
  const std::string_view first = std::string_view(text).substr(0, nl);
  Json header = Json::parse(first.data(), first.data() + first.size(), nullptr,
                            /*allow_exceptions=*/false);
  return !header.is_discarded() && IsHeader(header);
}

Result<ParsedFile> ParseCassetteFile(std::string_view bytes, std::string_view name,
                                     ReadReport* report, std::uint64_t max_bytes) {
  const std::string where = Where(name);
  ParsedFile result;
  std::string storage;
  std::string_view text = bytes;
  bool frame_complete = true;
  if (HasZstdMagic(bytes)) {
    result.compressed = true;
    Result<Decompressed> d = DecompressAll(bytes, name, max_bytes);
    if (!d.ok()) return d.status();
    storage = std::move(d->text);
    frame_complete = d->complete;
    text = storage;
  } else if (bytes.size() > max_bytes) {
    return ParseError(where + ": larger than " + FormatSize(max_bytes) + "; refusing to read it");
  }
  if (std::all_of(text.begin(), text.end(),
                  [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; })) {
    if (text.empty() && !frame_complete) {
      return ParseError(where +
                        ": the recording was cut before its header was written; "
                        "not a tapedeck cassette");
    }
    return ParseError(where + ": empty file (not a tapedeck cassette)");
  }

  bool header_seen = false;
  int version = kCassetteVersion;
  size_t line_no = 0;
  size_t last_line_no = 0;
  bool line_cut = false;
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t nl = text.find('\n', pos);
    const bool has_newline = nl != std::string_view::npos;
    const size_t end = has_newline ? nl : text.size();
    const std::string_view line = text.substr(pos, end - pos);
    pos = has_newline ? nl + 1 : text.size();
    ++line_no;
    if (IsBlank(line)) continue;
    last_line_no = line_no;
    const std::string at = where + ": line " + std::to_string(line_no);

    Json json;
    std::string why;
    if (!ParseLine(line, &json, &why)) {
      if (!header_seen) return NotACassette(where);
      if (!has_newline) {
        // Only a crash leaves a last line without its '\n' that is not whole JSON.
        line_cut = true;
        if (report != nullptr) {
          report->warnings.push_back(at + " is incomplete (the recording was cut); kept the " +
                                     std::to_string(result.cassette.interactions.size()) +
                                     " interactions before it");
        }
        break;
      }
      return ParseError(at + ": " + why);
    }
    if (!header_seen) {
      if (!IsHeader(json)) return NotACassette(where);
      TD_RETURN_IF_ERROR(
          ReadHeader(&json, where, line_no, &version, &result.cassette.created_at_us));
      result.cassette.version = version;
      header_seen = true;
      continue;
    }
    TD_RETURN_IF_ERROR(internal::MigrateLine(version, &json, /*is_header=*/false).WithContext(at));
    Result<Interaction> interaction = InteractionFromJson(json);
    if (!interaction.ok()) return interaction.status().WithContext(at);
    result.cassette.interactions.push_back(std::move(*interaction));
  }
  if (!header_seen) return NotACassette(where);
  if (!frame_complete && !line_cut && report != nullptr) {
    report->warnings.push_back(
        where + ": the zstd frame ends early after line " + std::to_string(last_line_no) +
        " (the recording was cut or is still being written); kept all " +
        std::to_string(result.cassette.interactions.size()) + " interactions");
  }
  result.cut = line_cut || !frame_complete;
  result.missing_final_newline = !line_cut && !text.empty() && text.back() != '\n';
  return result;
}

}  // namespace internal

// -------------------------------------------------------------------------------------------------
// Public API

Result<Cassette> ParseCassette(std::string_view bytes, std::string_view name, ReadReport* report) {
  ReadReport local;
  Result<internal::ParsedFile> parsed =
      internal::ParseCassetteFile(bytes, name, report != nullptr ? report : &local);
  if (report == nullptr) {
    for (const std::string& warning : local.warnings) TD_LOG(kWarn) << warning;
  }
  if (!parsed.ok()) return parsed.status();
  return std::move(parsed->cassette);
}

Result<Cassette> ReadCassette(const std::string& path, ReadReport* report) {
  Result<std::string> bytes = ReadFile(path, internal::kMaxCassetteBytes, /*whole=*/true);
  if (!bytes.ok()) return bytes.status();
  return ParseCassette(*bytes, path, report);
}

std::string SerializeInteraction(const Interaction& interaction) {
  const Json json = InteractionToJson(interaction);
  try {
    return json.dump();
  } catch (const Json::exception& e) {
    // InteractionToJson base64-encodes every string that is not UTF-8, so this is a bug.
    TD_LOG(kError) << "cassette: interaction " << interaction.seq
                   << " could not be written as JSON (" << e.what()
                   << "); writing it with replacement characters";
    return json.dump(-1, ' ', false, Json::error_handler_t::replace);
  }
}

std::string SerializeCassette(const Cassette& cassette) {
  std::string out = HeaderLine(cassette.created_at_us);
  out += '\n';
  for (const Interaction& interaction : cassette.interactions) {
    out += SerializeInteraction(interaction);
    out += '\n';
  }
  return out;
}

Status WriteCassetteAtomic(const std::string& path, const Cassette& cassette,
                           const WriteOptions& options) {
  const std::string where = Where(path);
  std::string data = SerializeCassette(cassette);
  if (options.compress) {
    // The same shape CassetteWriter writes: one frame, flushed after every line.
    Result<internal::ZstdCCtxPtr> cctx = MakeCompressor(options.level, where);
    if (!cctx.ok()) return cctx.status();
    std::string compressed;
    std::string_view rest = data;
    while (!rest.empty()) {
      const size_t line_end = rest.find('\n') + 1;  // the text always ends with '\n'
      TD_RETURN_IF_ERROR(
          CompressInto(cctx->get(), rest.substr(0, line_end), ZSTD_e_flush, &compressed, where));
      rest.remove_prefix(line_end);
    }
    TD_RETURN_IF_ERROR(CompressInto(cctx->get(), {}, ZSTD_e_end, &compressed, where));
    data = std::move(compressed);
  }
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  mode_t mode = 0644;
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) mode = st.st_mode & 07777;

  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode));
  if (!fd.valid()) return IoErrno(where + ": cannot create " + tmp, errno);
  auto fail = [&](Status status) {
    fd.Reset();
    ::unlink(tmp.c_str());
    return status;
  };
  Status written = WriteAll(fd.get(), data, where + ": " + tmp);
  if (!written.ok()) return fail(written);
  if (::fchmod(fd.get(), mode) != 0) return fail(IoErrno(where + ": chmod " + tmp, errno));
  if (::fsync(fd.get()) != 0) return fail(IoErrno(where + ": fsync " + tmp, errno));
  if (const int err = fd.Close(); err != 0) return fail(IoErrno(where + ": close " + tmp, err));
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    return fail(IoErrno(where + ": rename " + tmp, errno));
  }
  return FsyncParentDir(path);
}

// -------------------------------------------------------------------------------------------------
// CassetteWriter

struct CassetteWriter::Impl {
  std::string where;
  UniqueFd fd;
  bool compress = false;
  bool fsync_each = false;
  bool created = false;  // this session created the file: fsync its folder on Close
  internal::ZstdCCtxPtr cctx;
  bool frame_open = false;  // the current zstd frame has data and needs ZSTD_e_end
  bool closed = false;
  Status failure;  // the first failed write: the file may end in a partial line
  std::string scratch;

  // Writes `text` (whole lines), compressed and flushed when compressing.
  Status Write(std::string_view text) {
    std::string_view data = text;
    if (compress) {
      scratch.clear();
      Status st = CompressInto(cctx.get(), text, ZSTD_e_flush, &scratch, where);
      if (!st.ok()) {
        failure = st;
        return st;
      }
      frame_open = true;
      data = scratch;
    }
    Status st = WriteAll(fd.get(), data, where);
    if (!st.ok()) failure = st;
    return st;
  }
};

CassetteWriter::CassetteWriter(std::string path, std::unique_ptr<Impl> impl)
    : path_(std::move(path)), impl_(std::move(impl)) {}

CassetteWriter::~CassetteWriter() {
  Status status = Close();
  if (!status.ok()) TD_LOG(kError) << status.message();
}

Result<std::unique_ptr<CassetteWriter>> CassetteWriter::Open(const std::string& path, OpenMode mode,
                                                             const WriteOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->where = Where(path);
  impl->compress = options.compress;
  impl->fsync_each = options.fsync;
  const std::string& where = impl->where;

  struct stat st {};
  const bool exists = ::stat(path.c_str(), &st) == 0;
  const bool has_content = exists && st.st_size > 0;

  if (mode == OpenMode::kAppend && has_content) {
    Result<std::string> bytes = ReadFile(path, internal::kMaxCassetteBytes, /*whole=*/true);
    if (!bytes.ok()) return bytes.status();
    ReadReport report;
    Result<internal::ParsedFile> parsed = internal::ParseCassetteFile(*bytes, path, &report);
    if (!parsed.ok()) return parsed.status().WithContext("cannot append");
    impl->compress = parsed->compressed;  // keep the file's form whatever the options say
    bool need_newline = false;
    if (parsed->cut || parsed->cassette.version != kCassetteVersion) {
      for (const std::string& warning : report.warnings) TD_LOG(kWarn) << warning;
      TD_LOG(kWarn) << where << ": rewriting it with its " << parsed->cassette.interactions.size()
                    << " complete interactions before appending";
      WriteOptions rewrite = options;
      rewrite.compress = parsed->compressed;
      TD_RETURN_IF_ERROR(WriteCassetteAtomic(path, parsed->cassette, rewrite));
    } else {
      need_newline = parsed->missing_final_newline;
    }
    if (impl->compress) {
      Result<internal::ZstdCCtxPtr> cctx = MakeCompressor(options.level, where);
      if (!cctx.ok()) return cctx.status();
      impl->cctx = std::move(*cctx);
    }
    impl->fd = UniqueFd(::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC));
    if (!impl->fd.valid()) return IoErrno(where + ": cannot open for writing", errno);
    if (need_newline) TD_RETURN_IF_ERROR(impl->Write("\n"));
    return std::unique_ptr<CassetteWriter>(new CassetteWriter(path, std::move(impl)));
  }

  // A new cassette (kTruncate, or kAppend to a missing or empty file).
  if (mode == OpenMode::kTruncate && has_content && !S_ISDIR(st.st_mode)) {
    Result<std::string> prefix = ReadFile(path, kSniffBytes, /*whole=*/false);
    if (!prefix.ok()) return prefix.status();
    if (!internal::StartsWithCassetteHeader(*prefix)) {
      return ParseError(where +
                        ": the file exists and is not a tapedeck cassette; refusing to "
                        "overwrite it");
    }
  }
  if (impl->compress) {
    Result<internal::ZstdCCtxPtr> cctx = MakeCompressor(options.level, where);
    if (!cctx.ok()) return cctx.status();
    impl->cctx = std::move(*cctx);
  }
  impl->fd = UniqueFd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!impl->fd.valid()) return IoErrno(where + ": cannot open for writing", errno);
  impl->created = true;
  std::string header = HeaderLine(SystemClock::Get().WallMicros());
  header += '\n';
  TD_RETURN_IF_ERROR(impl->Write(header));
  if (options.fsync && ::fsync(impl->fd.get()) != 0) return IoErrno(where + ": fsync", errno);
  return std::unique_ptr<CassetteWriter>(new CassetteWriter(path, std::move(impl)));
}

Status CassetteWriter::Append(const Interaction& interaction) {
  if (impl_->closed) return FailedPreconditionError(impl_->where + ": append after close");
  if (!impl_->failure.ok()) {
    return impl_->failure.WithContext("an earlier write failed");
  }
  std::string line = SerializeInteraction(interaction);
  line += '\n';
  TD_RETURN_IF_ERROR(impl_->Write(line));
  if (impl_->fsync_each && ::fsync(impl_->fd.get()) != 0) {
    return IoErrno(impl_->where + ": fsync", errno);
  }
  ++appended_;
  return Status::Ok();
}

Status CassetteWriter::Close() {
  if (!impl_ || impl_->closed) return Status::Ok();
  impl_->closed = true;
  Status status;
  if (impl_->failure.ok() && impl_->compress && impl_->frame_open) {
    impl_->scratch.clear();
    status = CompressInto(impl_->cctx.get(), {}, ZSTD_e_end, &impl_->scratch, impl_->where);
    if (status.ok()) status = WriteAll(impl_->fd.get(), impl_->scratch, impl_->where);
  }
  if (status.ok() && impl_->failure.ok() && ::fsync(impl_->fd.get()) != 0) {
    status = IoErrno(impl_->where + ": fsync", errno);
  }
  if (const int err = impl_->fd.Close(); err != 0 && status.ok()) {
    status = IoErrno(impl_->where + ": close", err);
  }
  if (status.ok() && impl_->created) status = FsyncParentDir(path_);
  impl_->cctx.reset();
  if (status.ok() && !impl_->failure.ok()) {
    // Append reported it already; say it again so a caller that checks only Close() learns
    // that the file may end in a partial line.
    return impl_->failure.WithContext("an earlier write failed");
  }
  return status;
}

}  // namespace td::cassette
