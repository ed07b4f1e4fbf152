// File: tools/admin_handler.h
//
// The admin endpoints under /__tapedeck/, for scripts and test runners, in front of the mode's
// own handler: every other request passes through untouched. Admin requests are never
// recorded, matched or forwarded.
//   GET  /__tapedeck/health             {"status": "ok", "mode": MODE}
//   GET  /__tapedeck/stats              the mode's counters
//   GET  /__tapedeck/stats/NAME         one cassette of --cassette-dir (?unused=fail also
//                                       counts interactions not yet used as a problem)
//   POST /__tapedeck/cassette           {"name": NAME}: the default cassette (--cassette-dir)
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
  struct Endpoints {
    // GET stats: the mode's counters as a JSON object. Required.
    std::function<std::string()> stats;
    // With --cassette-dir only (else empty, and those endpoints answer 404):
    // GET stats/NAME, NAME as the path carries it (tools/cassette_router.h).
    std::function<Result<std::string>(std::string_view encoded_name, bool unused_fails)>
        cassette_stats;
    // POST cassette.
    std::function<Status(std::string_view name)> select_cassette;
  };

  // `next` answers everything else and must outlive this handler.
  AdminHandler(std::string mode, proxy::Handler* next, Endpoints endpoints)
      : mode_(std::move(mode)), next_(next), endpoints_(std::move(endpoints)) {}

  void Handle(std::shared_ptr<proxy::Exchange> exchange) override;

 private:
  void SelectCassette(proxy::Exchange& exchange);
  void CassetteStats(proxy::Exchange& exchange, std::string_view encoded_name);

  std::string mode_;
  proxy::Handler* next_;
  Endpoints endpoints_;
};

// The path prefix of admin endpoints.
inline constexpr std::string_view kAdminPrefix = "/__tapedeck/";

}  // namespace td::cli
