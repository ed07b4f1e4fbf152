// CassetteWriter: one zstd frame (or plain lines) per writer session, flushed and handed to the
// OS after every interaction, so a kill -9 loses at most the interaction being written. A line
// is streamed through a small buffer into the compressor and the file, so writing a long body
// costs no copy of it. Opening in kAppend reads the file first and repairs a cut tail with an
// atomic rewrite.
#include "cassette/cassette_writer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include <algorithm>
#include <cerrno>
#include <ostream>
#include <streambuf>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cassette/base/clock.h"
#include "cassette/base/log.h"
#include "cassette/base/unique_fd.h"
#include "cassette/internal/codec_internal.h"
#include "cassette/internal/file_io.h"
#include "cassette/internal/zstd_handles.h"
#include "cassette/internal/zstd_stream.h"
#include "cassette/json_mapping.h"

namespace td::cassette {

using internal::CassetteWhere;
using internal::CompressInto;
using internal::FsyncParentDir;
using internal::MakeCompressor;
using internal::WriteAll;

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

  // Writes `text`, compressed when compressing. `mode` ZSTD_e_flush ends a line: everything so
  // far can then be decoded (a crash keeps it); ZSTD_e_continue is a piece of a line.
  Status Write(std::string_view text, ZSTD_EndDirective mode = ZSTD_e_flush) {
    if (!failure.ok()) return failure;
    std::string_view data = text;
    if (compress) {
      scratch.clear();
      Status st = CompressInto(cctx.get(), text, mode, &scratch, where);
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

namespace {

// The std::streambuf nlohmann dumps a line into: bytes gather in a 64 KiB buffer that goes to
// Impl::Write (the compressor, then the file) whenever it fills. After a failed write it takes
// and drops everything (the writer reports the failure).
class LineBuffer final : public std::streambuf {
 public:
  explicit LineBuffer(CassetteWriter::Impl* impl) : impl_(impl) {
    buffer_.resize(kSize);
    setp(buffer_.data(), buffer_.data() + buffer_.size());
  }
  // Ends the line: the rest of the buffer and '\n', flushed so the line can be decoded.
  Status Finish() {
    sputc('\n');
    return Drain(ZSTD_e_flush);
  }

 protected:
  int_type overflow(int_type c) override {
    if (!Drain(ZSTD_e_continue).ok()) setp(buffer_.data(), buffer_.data() + buffer_.size());
    if (!traits_type::eq_int_type(c, traits_type::eof())) sputc(traits_type::to_char_type(c));
    return traits_type::not_eof(c);
  }

 private:
  static constexpr size_t kSize = 64 * 1024;

  Status Drain(ZSTD_EndDirective mode) {
    std::string_view pending(pbase(), static_cast<size_t>(pptr() - pbase()));
    setp(buffer_.data(), buffer_.data() + buffer_.size());
    return impl_->Write(pending, mode);
  }

  CassetteWriter::Impl* impl_;
  std::string buffer_;
};

// Appending keeps the file's header. When this recording goes through mounts the header does not
// list, its interactions' "/NAME/..." paths are in the file but `tapedeck exec` will not learn
// those mounts from it: say so.
void WarnOfUnlistedMounts(const std::string& where, const std::vector<std::string>& listed,
                          const std::vector<std::string>& recording) {
  std::string unlisted;
  for (const std::string& name : recording) {
    if (std::find(listed.begin(), listed.end(), name) != listed.end()) continue;
    unlisted += unlisted.empty() ? "" : ", ";
    unlisted += name;
  }
  if (unlisted.empty()) return;
  std::string has;
  for (const std::string& name : listed) has += (has.empty() ? "" : ", ") + name;
  TD_LOG(kWarn) << where << ": appending through mounts its header does not list (" << unlisted
                << "; it lists " << (has.empty() ? std::string("none") : has)
                << "); the header is kept as it is";
}

}  // namespace

CassetteWriter::CassetteWriter(std::string path, std::unique_ptr<Impl> impl)
    : path_(std::move(path)), impl_(std::move(impl)) {}

CassetteWriter::~CassetteWriter() {
  Status status = Close();
  if (!status.ok()) TD_LOG(kError) << status.message();
}

Result<std::unique_ptr<CassetteWriter>> CassetteWriter::Open(const std::string& path, OpenMode mode,
                                                             const WriteOptions& options,
                                                             const ReadOptions& read) {
  auto impl = std::make_unique<Impl>();
  impl->where = CassetteWhere(path);
  impl->compress = options.compress;
  impl->fsync_each = options.fsync;
  const std::string& where = impl->where;
  if (std::string problem = internal::MountsProblem(options.mounts); !problem.empty()) {
    return InvalidArgumentError(where + ": " + problem);
  }

  struct stat st {};
  const bool exists = ::stat(path.c_str(), &st) == 0;
  const bool has_content = exists && st.st_size > 0;

  if (mode == OpenMode::kAppend && has_content) {
    ReadReport report;
    Result<internal::ParsedFile> parsed = internal::ReadCassetteFile(path, &report, read);
    if (!parsed.ok()) {
      if (parsed.status().code() == StatusCode::kIo) return parsed.status();
      return parsed.status().WithContext("cannot append");
    }
    impl->compress = parsed->compressed;  // keep the file's form whatever the options say
    WarnOfUnlistedMounts(where, parsed->cassette.mounts, options.mounts);
    bool need_newline = false;
    if (parsed->cut || parsed->cassette.version != kCassetteVersion) {
      for (const std::string& warning : report.warnings) TD_LOG(kWarn) << warning;
      // Rewritten in the current version with the file's own mounts (none for version 1).
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
    Result<bool> is_cassette = internal::FileStartsWithCassetteHeader(path);
    if (!is_cassette.ok()) return is_cassette.status();
    if (!*is_cassette) {
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
  std::string header = internal::HeaderLine(SystemClock::Get().WallMicros(), options.mounts,
                                            options.recorded_by);
  header += '\n';
  TD_RETURN_IF_ERROR(impl->Write(header));
  if (options.fsync && ::fsync(impl->fd.get()) != 0) return IoErrno(where + ": fsync", errno);
  return std::unique_ptr<CassetteWriter>(new CassetteWriter(path, std::move(impl)));
}

Status CassetteWriter::Append(const Interaction& interaction) {
  return Append(Interaction(interaction));
}

Status CassetteWriter::Append(Interaction&& interaction) {
  if (impl_->closed) return FailedPreconditionError(impl_->where + ": append after close");
  if (!impl_->failure.ok()) {
    return impl_->failure.WithContext("an earlier write failed");
  }
  const std::uint64_t seq = interaction.seq;
  const Json json = InteractionToJson(std::move(interaction));
  LineBuffer buffer(impl_.get());
  std::ostream out(&buffer);
  try {
    out << json;  // the compact form, as SerializeInteraction writes it
  } catch (const Json::exception& e) {
    // InteractionToJson base64-encodes every string that is not UTF-8, so this is a bug; part
    // of the line may be in the file, so nothing more may be appended after it.
    impl_->failure = InternalError(impl_->where + ": interaction seq=" + std::to_string(seq) +
                                   " could not be written as JSON (" + e.what() + ")");
    return impl_->failure;
  }
  TD_RETURN_IF_ERROR(buffer.Finish());
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
  if (status.ok() && impl_->created) status = FsyncParentDir(path_, impl_->where);
  impl_->cctx.reset();
  if (status.ok() && !impl_->failure.ok()) {
    // Append reported it already; say it again so a caller that checks only Close() learns
    // that the file may end in a partial line.
    return impl_->failure.WithContext("an earlier write failed");
  }
  return status;
}

}  // namespace td::cassette
