// File: tools/admin_handler.h
//
// GET /__tapedeck/health, GET /__tapedeck/stats and (with --cassette-dir) POST
// /__tapedeck/cassette for scripts, in front of the mode's own handler: every other request
// passes through untouched. Admin requests are never recorded,
// matched or forwarded.
//
// Threading: the event-loop thread only.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "cassette/base/status.h"
#include "proxy/exchange.h"

namespace td::cli {

class AdminHandler final : public proxy::Handler {
 public:
  // `next` answers everything else and must outlive this handler. `stats_json` returns the
  // mode's counters as a JSON object. `select_cassette`, when set (--cassette-dir), serves
  // POST /__tapedeck/cassette {"name": NAME}: the cassette of requests that name none.
  AdminHandler(std::string mode, proxy::Handler* next, std::function<std::string()> stats_json,
               std::function<Status(std::string_view name)> select_cassette = {})
      : mode_(std::move(mode)),
        next_(next),
        stats_json_(std::move(stats_json)),
        select_cassette_(std::move(select_cassette)) {}

  void Handle(std::shared_ptr<proxy::Exchange> exchange) override;

 private:
  std::string mode_;
  proxy::Handler* next_;
  std::function<std::string()> stats_json_;
  std::function<Status(std::string_view)> select_cassette_;
};

// The path prefix of admin endpoints.
inline constexpr std::string_view kAdminPrefix = "/__tapedeck/";

}  // namespace td::cli
