// RecordTarget: the lock, the look at what is on disk, the staging file and the commit rename.
#include "cassette/record_target.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "cassette/base/unique_fd.h"
#include "cassette/internal/file_io.h"
#include "cassette/internal/zstd_stream.h"

namespace td::cassette {
namespace {

enum class Writing {
  kNew,      // the cassette did not exist: write it directly, remove it if nothing came
  kStaged,   // write the staging file, rename it over the cassette on a clean close
  kInPlace,  // append to the cassette
};

bool Exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

// True when the file starts with the zstd magic number; false when it cannot be read.
bool StartsCompressed(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  char magic[4];
  return fd.valid() && ::read(fd.get(), magic, sizeof magic) == 4 &&
         internal::HasZstdMagic(std::string_view(magic, sizeof magic));
}

std::string Plural(size_t n, std::string_view noun) {
  return std::to_string(n) + " " + std::string(noun) + (n == 1 ? "" : "s");
}

std::string KeepAdvice(const std::string& path, const std::string& staging) {
  return "see them with `tapedeck cassette ls " + staging + "`; keep them with `mv " + staging +
         " " + path + "`, or remove " + staging + " to record again";
}

}  // namespace

struct RecordTarget::State {
  State(std::string p, CassetteLock l)
      : path(std::move(p)), staging(StagingPath(path)), lock(std::move(l)), writing_path(path) {}

  std::string path;
  std::string staging;
  WriteOptions options;
  ReadOptions read;
  CassetteLock lock;
  Writing writing = Writing::kNew;
  std::string writing_path;
  std::optional<Cassette> existing;
  size_t existing_interactions = 0;
  std::vector<std::string> notes;
  std::unique_ptr<CassetteWriter> writer;
  bool committed = false;
};

std::string StagingPath(const std::string& path) { return path + ".recording"; }

std::optional<std::string> UnfinishedRecordingNote(const std::string& path,
                                                   const ReadOptions& read) {
  const std::string staging = StagingPath(path);
  if (!Exists(staging)) return std::nullopt;
  ReadReport report;
  Result<Cassette> left = ReadCassette(staging, read, &report);
  if (!left.ok() || left->interactions.empty()) return std::nullopt;
  return "cassette " + path + ": " + staging + " holds " +
         Plural(left->interactions.size(), "interaction") +
         " from a recording that did not finish; " + KeepAdvice(path, staging);
}

Result<RecordTarget> RecordTarget::Prepare(const std::string& path, ExistingCassette existing,
                                           WriteOptions options, ReadOptions read) {
  Result<CassetteLock> lock = CassetteLock::Acquire(path);
  if (!lock.ok()) return lock.status();
  auto state = std::make_unique<State>(path, std::move(*lock));
  state->options = options;
  state->read = read;
  const std::string where = "cassette " + path;

  // A staging file left by an earlier run: never clobber what it holds.
  if (Exists(state->staging)) {
    ReadReport report;
    Result<Cassette> left = ReadCassette(state->staging, read, &report);
    if (left.ok() && left->interactions.empty()) {
      if (::unlink(state->staging.c_str()) != 0 && errno != ENOENT) {
        return IoErrno(where + ": remove the empty " + state->staging, errno);
      }
    } else if (existing == ExistingCassette::kOverwrite) {
      const std::string what =
          left.ok()
              ? "holds " + Plural(left->interactions.size(), "interaction") +
                    " from a recording that did not finish"
              : "is left from a recording that did not finish (" + left.status().message() + ")";
      return InvalidArgumentError(
          where + ": " + state->staging + " " + what +
          "; --overwrite would record over it: " + KeepAdvice(path, state->staging));
    } else if (std::optional<std::string> note = UnfinishedRecordingNote(path, read)) {
      state->notes.push_back(*note);
    }
  }

  if (!Exists(path)) {
    state->writing = Writing::kNew;
    return RecordTarget(std::move(state));
  }
  ReadReport report;
  Result<Cassette> current = ReadCassette(path, read, &report);
  if (!current.ok()) {
    if (existing != ExistingCassette::kOverwrite) {
      return current.status().WithContext(existing == ExistingCassette::kAppend
                                              ? "cannot append"
                                              : "cannot record over it (--overwrite replaces it)");
    }
    state->notes.push_back(current.status().message() + "; --overwrite replaces it");
  } else {
    for (const std::string& w : report.warnings) state->notes.push_back(w);
    state->existing_interactions = current->interactions.size();
    state->existing = std::move(*current);
  }
  if (existing == ExistingCassette::kRefuse && state->existing_interactions > 0) {
    return InvalidArgumentError(
        where + " already holds " + Plural(state->existing_interactions, "interaction") +
        "; refusing to record over it. Pass --overwrite to replace it (it is replaced only when "
        "the recording ends cleanly) or --append to add to it");
  }
  if (existing == ExistingCassette::kAppend) {
    state->writing = Writing::kInPlace;
  } else {
    state->writing = Writing::kStaged;  // even an empty cassette stays byte-identical until then
    state->writing_path = state->staging;
  }
  return RecordTarget(std::move(state));
}

RecordTarget::RecordTarget(std::unique_ptr<State> state) : state_(std::move(state)) {}
RecordTarget::RecordTarget(RecordTarget&&) noexcept = default;
RecordTarget& RecordTarget::operator=(RecordTarget&&) noexcept = default;

RecordTarget::~RecordTarget() {
  if (state_ && state_->writer) {
    Status closed = state_->writer->Close();
    (void)closed;  // as after a crash: whatever reached the file stays there
  }
}

std::optional<Cassette> RecordTarget::TakeExisting() { return std::move(state_->existing); }
size_t RecordTarget::existing_interactions() const { return state_->existing_interactions; }
const std::vector<std::string>& RecordTarget::notes() const { return state_->notes; }
const std::string& RecordTarget::path() const { return state_->path; }
const std::string& RecordTarget::writing_path() const { return state_->writing_path; }

Result<CassetteWriter*> RecordTarget::Open() {
  if (state_->writer) return state_->writer.get();
  const auto mode = state_->writing == Writing::kInPlace ? CassetteWriter::OpenMode::kAppend
                                                         : CassetteWriter::OpenMode::kTruncate;
  Result<std::unique_ptr<CassetteWriter>> writer =
      CassetteWriter::Open(state_->writing_path, mode, state_->options, state_->read);
  if (!writer.ok()) return writer.status();
  state_->writer = std::move(*writer);
  return state_->writer.get();
}

Status RecordTarget::Commit(std::string* summary) {
  State& s = *state_;
  std::string local;
  std::string& out = summary != nullptr ? *summary : local;
  if (s.committed) return Status::Ok();
  s.committed = true;
  if (!s.writer) {
    out = "cassette " + s.path + ": nothing recorded; left as it was";
    return Status::Ok();
  }
  const size_t written = s.writer->appended();
  Status closed = s.writer->Close();
  s.writer.reset();
  const std::string where = "cassette " + s.path;
  switch (s.writing) {
    case Writing::kInPlace:
      out = where + ": " + Plural(written, "interaction") + " added";
      return closed;
    case Writing::kNew:
      if (closed.ok() && written == 0) {
        ::unlink(s.path.c_str());
        out = where + ": nothing recorded; no cassette written";
        return Status::Ok();
      }
      out = where + ": " + Plural(written, "interaction") + " written";
      return closed;
    case Writing::kStaged:
      break;
  }
  if (!closed.ok()) {
    const std::string kept = written == 0 ? ""
                                          : "; the " + Plural(written, "interaction") +
                                                " saved before it are in " + s.staging;
    if (written == 0) ::unlink(s.staging.c_str());
    return Status(closed.code(), closed.message() + "; " + s.path + " was left as it was" + kept);
  }
  if (written == 0) {
    ::unlink(s.staging.c_str());
    out = where + ": nothing recorded; left as it was";
    return Status::Ok();
  }
  if (::rename(s.staging.c_str(), s.path.c_str()) != 0) {
    return IoErrno(where + ": rename " + s.staging + " over it (the recording is kept there)",
                   errno);
  }
  out = where + ": replaced with " + Plural(written, "interaction") + " (it had " +
        std::to_string(s.existing_interactions) + ")";
  return internal::FsyncParentDir(s.path, where);
}

Status RecordTarget::Rewrite(const Cassette& cassette) {
  WriteOptions options = state_->options;
  options.compress = StartsCompressed(state_->path);
  return WriteCassetteAtomic(state_->path, cassette, options);
}

}  // namespace td::cassette
