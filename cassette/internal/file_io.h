// File: cassette/internal/file_io.h
//
// The file system side of the cassette codec: opening a file for a bounded read, chunked reads,
// writing every byte, fsync of a parent folder, and the atomic replace (temp file in the same
// folder, fsync, rename, fsync the folder) behind every rewrite. Messages start with the caller's
// `where` ("cassette t.jsonl.zst"). Blocking calls; safe from any thread for distinct files.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "cassette/base/status.h"
#include "cassette/base/unique_fd.h"

namespace td::cassette::internal {

// Opens `path` for reading. Errors: kIo (cannot open, a directory), and kParse when the file is
// larger than `max_size` ("WHERE: file is larger than 4 GiB; refusing to read it").
Result<UniqueFd> OpenForReading(const std::string& path, std::uint64_t max_size,
                                std::string_view where);

// One read(2) of up to `size` bytes into `buffer`, retried on EINTR. Returns 0 at the end of the
// file. Errors: kIo "WHERE: read: ...".
Result<size_t> ReadSome(int fd, char* buffer, size_t size, std::string_view where);

// write(2)s every byte of `data`, retrying short writes and EINTR. Errors: kIo "WHERE: write: ...".
Status WriteAll(int fd, std::string_view data, std::string_view where);

// fsyncs the folder that holds `path`, so a create or rename in it survives power loss. A file
// system that cannot fsync a folder (EINVAL) is not an error.
Status FsyncParentDir(const std::string& path, std::string_view where);

// Replaces `path` with `bytes` atomically: writes `<path>.tmp.<pid>` in the same folder (with
// the old file's permission bits, 0644 for a new file), fsyncs it, renames it over `path` and
// fsyncs the folder. On failure the temp file is removed and `path` is untouched.
Status ReplaceFileAtomic(const std::string& path, std::string_view bytes, std::string_view where);

}  // namespace td::cassette::internal
