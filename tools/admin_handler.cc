// The admin endpoints: health and stats.
#include "tools/admin_handler.h"

#include <nlohmann/json.hpp>

namespace td::cli {
namespace {

void Respond(proxy::Exchange& exchange, int status, const std::string& body) {
  proxy::ResponseSink& sink = exchange.sink();
  sink.Start(status, {{"content-type", "application/json"}, {"cache-control", "no-store"}},
             body.size());
  sink.Write(body);
  sink.Finish();
}

}  // namespace

void AdminHandler::Handle(std::shared_ptr<proxy::Exchange> exchange) {
  const cassette::Request& r = exchange->request();
  if (r.path.compare(0, kAdminPrefix.size(), kAdminPrefix) != 0) {
    next_->Handle(std::move(exchange));
    return;
  }
  std::string_view what = std::string_view(r.path).substr(kAdminPrefix.size());
  if (r.method != "GET") {
    Respond(*exchange, 405, R"({"error":"admin endpoints take GET"})");
  } else if (what == "health") {
    Respond(*exchange, 200, nlohmann::json{{"status", "ok"}, {"mode", mode_}}.dump());
  } else if (what == "stats") {
    Respond(*exchange, 200, stats_json_());
  } else {
    Respond(*exchange, 404, R"json({"error":"unknown admin endpoint (health, stats)"})json");
  }
}

}  // namespace td::cli
