// File: cassette/cassette_writer.h
//
// CassetteWriter: appends interactions to a cassette file as they complete, so a kill -9 keeps
// every interaction whose Append returned (the format and the crash-safety contract are
// docs/cassette-format.md). Reading and whole-file rewrites are cassette/codec.h.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "cassette/base/status.h"
#include "cassette/codec.h"
#include "cassette/model.h"

namespace td::cassette {

// Appends interactions as they complete. Each Append is on disk (in the OS) when it returns.
// Not thread-safe: one writer per file, called from one thread.
class CassetteWriter {
 public:
  enum class OpenMode {
    kTruncate,  // start a new cassette, replacing the file
    kAppend,    // keep what the file holds and add to it (a new zstd frame); creates it if absent
  };
  // Opens `path` and, for a new cassette, writes the header line (listing options.mounts).
  // kAppend keeps an existing file's form (plain or zstd, whatever options.compress says) and
  // its header (its mounts, whatever options.mounts says; a warning is logged when options.mounts
  // names one it does not list), and first rewrites a file that ends in a cut or is of an older
  // version (atomically, in the current version, keeping its complete interactions and its
  // mounts). Neither mode ever replaces a file that is not a tapedeck cassette (kParse).
  // Errors: kIo naming the path, kInvalidArgument for a zstd level out of range or for
  // options.mounts holding a name that is not valid or one twice. `read` applies to reading an
  // existing file (kAppend).
  static Result<std::unique_ptr<CassetteWriter>> Open(const std::string& path, OpenMode mode,
                                                      const WriteOptions& options,
                                                      const ReadOptions& read = {});
  ~CassetteWriter();  // Close()s, logging an error if that fails
  CassetteWriter(const CassetteWriter&) = delete;
  CassetteWriter& operator=(const CassetteWriter&) = delete;

  // Writes one line (compressed and flushed) with write(2); when it returns the interaction is
  // in the OS, so a kill -9 keeps it. The line is streamed to the file in 64 KiB pieces, and
  // the rvalue form moves the bodies into it, so writing costs no copy of a long body (a
  // recording's memory stays bounded by what it holds). Errors: kIo; after one, further
  // Appends fail too.
  Status Append(const Interaction& interaction);
  Status Append(Interaction&& interaction);

  struct Impl;  // defined in cassette_writer.cc (named here for its line buffer)
  // Ends the zstd frame, fsyncs and closes the file. Safe to call twice (the second call does
  // nothing). Also returns the error of an earlier failed Append (the file may then end in a
  // partial line, which readers drop with a warning).
  Status Close();
  const std::string& path() const { return path_; }
  size_t appended() const { return appended_; }

 private:
  CassetteWriter(std::string path, std::unique_ptr<Impl> impl);
  std::string path_;
  std::unique_ptr<Impl> impl_;
  size_t appended_ = 0;
};

}  // namespace td::cassette
