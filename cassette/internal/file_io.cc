// The file system side of the cassette codec: every open, read, write, fsync and rename the
// codec and CassetteWriter make goes through here, each with its errno in the message.
#include "cassette/internal/file_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "cassette/internal/codec_text.h"

namespace td::cassette::internal {

Result<UniqueFd> OpenForReading(const std::string& path, std::uint64_t max_size,
                                std::string_view where_view) {
  const std::string where(where_view);
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return IoErrno(where + ": cannot open", errno);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return IoErrno(where + ": stat", errno);
  if (S_ISDIR(st.st_mode)) return IoError(where + ": is a directory");
  if (static_cast<std::uint64_t>(st.st_size) > max_size) {
    return ParseError(where + ": file is larger than " + FormatSize(max_size) +
                      "; refusing to read it");
  }
  return fd;
}

Result<size_t> ReadSome(int fd, char* buffer, size_t size, std::string_view where) {
  for (;;) {
    const ssize_t n = ::read(fd, buffer, size);
    if (n >= 0) return static_cast<size_t>(n);
    if (errno != EINTR) return IoErrno(std::string(where) + ": read", errno);
  }
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

Status FsyncParentDir(const std::string& path, std::string_view where) {
  const size_t slash = path.rfind('/');
  const std::string dir =
      slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return IoErrno(std::string(where) + ": open folder " + dir, errno);
  // Some file systems cannot fsync a folder (EINVAL); there is nothing more to do there.
  if (::fsync(fd.get()) != 0 && errno != EINVAL) {
    return IoErrno(std::string(where) + ": fsync folder " + dir, errno);
  }
  return Status::Ok();
}

Status ReplaceFileAtomic(const std::string& path, std::string_view bytes,
                         std::string_view where_view) {
  const std::string where(where_view);
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
  Status written = WriteAll(fd.get(), bytes, where + ": " + tmp);
  if (!written.ok()) return fail(written);
  if (::fchmod(fd.get(), mode) != 0) return fail(IoErrno(where + ": chmod " + tmp, errno));
  if (::fsync(fd.get()) != 0) return fail(IoErrno(where + ": fsync " + tmp, errno));
  if (const int err = fd.Close(); err != 0) return fail(IoErrno(where + ": close " + tmp, err));
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    return fail(IoErrno(where + ": rename " + tmp, errno));
  }
  return FsyncParentDir(path, where);
}

}  // namespace td::cassette::internal
