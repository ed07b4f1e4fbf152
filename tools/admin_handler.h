// File: tools/admin_handler.h
//
// GET /__tapedeck/health and GET /__tapedeck/stats for scripts, in front of the mode's own
// handler: every other request passes through untouched. Admin requests are never recorded,
// matched or forwarded.
//
// Threading: the event-loop thread only.
#pragma once

#include <functional>
#include <string>

#include "proxy/exchange.h"

namespace td::cli {

class AdminHandler final : public proxy::Handler {
 public:
  // `next` answers everything else and must outlive this handler. `stats_json` returns the
  // mode's counters as a JSON object.
  AdminHandler(std::string mode, proxy::Handler* next, std::function<std::string()> stats_json)
      : mode_(std::move(mode)), next_(next), stats_json_(std::move(stats_json)) {}

  void Handle(std::shared_ptr<proxy::Exchange> exchange) override;

 private:
  std::string mode_;
  proxy::Handler* next_;
  std::function<std::string()> stats_json_;
};

// The path prefix of admin endpoints.
inline constexpr std::string_view kAdminPrefix = "/__tapedeck/";

}  // namespace td::cli
