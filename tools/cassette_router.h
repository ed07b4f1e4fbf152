// File: tools/cassette_router.h
//
// CassetteRouter: the handler behind the admin endpoints that hands each exchange to its
// cassette (tools/cassette_slot.h). With one --cassette every exchange goes to that slot as it
// came. With --cassette-dir DIR each request picks its cassette, first match wins (docs/suites.md):
//   1. the path prefix /cassette/NAME/ (taken off before matching, forwarding and recording;
//      NAME is one path segment, percent-decoded, so a name with '/' travels as %2F);
//   2. the header `x-tapedeck-cassette: NAME` (removed: never forwarded nor recorded);
//   3. the default set by `POST /__tapedeck/cassette {"name": NAME}`;
// else the request is answered 400 saying how to pick one. NAME must pass
// ValidateCassetteName (else 400; nothing outside DIR is ever touched); its cassette is
// DIR/NAME.jsonl.zst, made ready at its first request. A cassette that cannot be made ready
// (another tapedeck holds it, it is unreadable, record refuses to overwrite it) answers each of
// its requests with a 500 naming why, and the run ends with exit 3.
//
// Threading: the event-loop thread.
#pragma once

#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>

#include "cassette/base/status.h"
#include "proxy/event_loop.h"
#include "proxy/exchange.h"
#include "proxy/record_handler.h"
#include "tools/cassette_slot.h"

namespace td::cli {

// The longest cassette name accepted (bytes).
inline constexpr size_t kMaxCassetteNameBytes = 200;

// A cassette name is a relative path: segments of letters, digits, '.', '_' and '-', joined by
// single '/'; no segment is "." or ".."; no leading or trailing '/'; 1 to
// kMaxCassetteNameBytes bytes. The error says what is wrong (kInvalidArgument).
Status ValidateCassetteName(std::string_view name);

// The file of cassette `name` in `dir`: DIR/NAME.jsonl.zst.
std::string CassettePath(const std::string& dir, std::string_view name);

class CassetteRouter final : public proxy::Handler {
 public:
  struct DirectoryOptions {
    std::string dir;
    const SlotSettings* settings = nullptr;    // not owned; outlives the router
    proxy::EventLoop* loop = nullptr;          // not owned
    proxy::RecordHandler* recorder = nullptr;  // record, auto; not owned
  };

  // One cassette, already made ready.
  explicit CassetteRouter(std::unique_ptr<CassetteSlot> single);
  // A directory of cassettes, each made ready at its first request.
  explicit CassetteRouter(DirectoryOptions directory);

  void Handle(std::shared_ptr<proxy::Exchange> exchange) override;

  // POST /__tapedeck/cassette: the cassette of requests that name none. Directory only.
  Status SelectDefault(std::string_view name);
  bool directory() const { return !directory_.dir.empty(); }

  // GET /__tapedeck/stats: one cassette's counts, or {"default": NAME, "cassettes": {NAME:
  // counts, ...}, "failed": {NAME: reason, ...}} for a directory.
  std::string StatsJson() const;
  // GET /__tapedeck/stats/NAME (directory only; NAME as the path carries it, percent-decoded
  // like the /cassette/NAME/ prefix): one cassette, for a test runner that checks
  // each test's cassette when the test ends:
  //   {"cassette": NAME, "state": "untouched" | "ready" | "failed",
  //    "problem": null | "what --strict would refuse, in one sentence",
  //    "counts": {...} (ready: as in StatsJson), "reason": "..." (failed)}
  // "untouched" is a cassette no request has picked yet. `unused_fails` also makes
  // interactions not yet used a problem. Errors: kInvalidArgument for a bad NAME,
  // kFailedPrecondition without --cassette-dir.
  Result<std::string> CassetteStatsJson(std::string_view encoded_name, bool unused_fails) const;
  // After the loop stopped and the recorder flushed: each cassette's Finish. Returns the worst
  // exit code (kExitCassette when any cassette failed); sets `*strict_problem` when any did.
  int Finish(bool strict, bool* strict_problem, std::ostream& err);
  // The single cassette (nullptr for a directory).
  CassetteSlot* single() { return directory() ? nullptr : slots_.begin()->second.get(); }

 private:
  // The slot of `name`, made ready now if it is new; nullptr (and `*why`) when it cannot be.
  CassetteSlot* SlotFor(const std::string& name, Status* why);
  void Reject(proxy::Exchange& exchange, int status, const std::string& message);

  DirectoryOptions directory_;
  std::string default_name_;
  std::map<std::string, std::unique_ptr<CassetteSlot>> slots_;
  std::map<std::string, Status> failed_;  // cassettes that could not be made ready, and why
};

}  // namespace td::cli
