// File: tools/exit_codes.h
//
// The documented exit codes of the tapedeck command (README.md "Exit codes"), and the mapping
// from a failed td::Status to one of them.
#pragma once

#include "cassette/base/status.h"

namespace td::cli {

enum ExitCode : int {
  kExitOk = 0,
  kExitProblem = 1,      // strict replay found a miss or unused interaction; verify found secrets
  kExitUsage = 2,        // bad flag, bad config, bad upstream URL
  kExitCassette = 3,     // a cassette cannot be read or written
  kExitUpstream = 4,     // the upstream is unreachable at start (where checked)
  kExitListen = 5,       // the listen address cannot be bound
  kExitCannotRun = 126,  // exec: the command exists but cannot be run (as shells do)
  kExitNotFound = 127,   // exec: no such command (as shells do)
};

inline int ExitCodeFor(const Status& status) {
  switch (status.code()) {
    case StatusCode::kOk:
      return kExitOk;
    case StatusCode::kInvalidArgument:
      return kExitUsage;
    case StatusCode::kParse:
    case StatusCode::kIo:
      return kExitCassette;
    case StatusCode::kUnavailable:
      return kExitUpstream;
    default:
      return kExitProblem;
  }
}

}  // namespace td::cli
