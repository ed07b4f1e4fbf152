// The admin endpoints: health, stats and the default cassette.
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
  if (what == "cassette" && r.method == "POST" && select_cassette_) {
    nlohmann::json body = nlohmann::json::parse(r.body.bytes, nullptr, /*allow_exceptions=*/false);
    if (!body.is_object() || !body.contains("name") || !body["name"].is_string()) {
      Respond(*exchange, 400, R"({"error":"expected {\"name\": \"NAME\"}"})");
      return;
    }
    Status selected = select_cassette_(body["name"].get<std::string>());
    if (!selected.ok()) {
      Respond(*exchange, 400, nlohmann::json{{"error", selected.message()}}.dump());
      return;
    }
    Respond(*exchange, 200, nlohmann::json{{"cassette", body["name"]}}.dump());
  } else if (r.method != "GET") {
    Respond(*exchange, 405,
            select_cassette_ ? R"({"error":"admin endpoints take GET, and POST for cassette"})"
                             : R"({"error":"admin endpoints take GET"})");
  } else if (what == "health") {
    Respond(*exchange, 200, nlohmann::json{{"status", "ok"}, {"mode", mode_}}.dump());
  } else if (what == "stats") {
    Respond(*exchange, 200, stats_json_());
  } else {
    Respond(*exchange, 404,
            R"json({"error":"unknown admin endpoint (health, stats, cassette)"})json");
  }
}

}  // namespace td::cli
