// The admin endpoints: health, stats, one cassette's stats and the default cassette.
#include "tools/admin_handler.h"

#include <nlohmann/json.hpp>

namespace td::cli {
namespace {

constexpr std::string_view kCassetteStats = "stats/";

void Respond(proxy::Exchange& exchange, int status, const std::string& body) {
  proxy::ResponseSink& sink = exchange.sink();
  sink.Start(status, {{"content-type", "application/json"}, {"cache-control", "no-store"}},
             body.size());
  sink.Write(body);
  sink.Finish();
}

void RespondError(proxy::Exchange& exchange, int status, std::string_view message) {
  Respond(exchange, status, nlohmann::json{{"error", message}}.dump());
}

}  // namespace

void AdminHandler::Handle(std::shared_ptr<proxy::Exchange> exchange) {
  const cassette::Request& r = exchange->request();
  // A forward-proxied request (it has an origin) is for that origin, never for tapedeck.
  if (!r.origin.empty() || r.path.compare(0, kAdminPrefix.size(), kAdminPrefix) != 0) {
    next_->Handle(std::move(exchange));
    return;
  }
  const bool directory = static_cast<bool>(endpoints_.select_cassette);
  std::string_view what = std::string_view(r.path).substr(kAdminPrefix.size());
  if (what == "cassette" && r.method == "POST" && directory) {
    SelectCassette(*exchange);
  } else if (r.method != "GET") {
    RespondError(
        *exchange, 405,
        directory ? "admin endpoints take GET, and POST for cassette" : "admin endpoints take GET");
  } else if (what == "health") {
    Respond(*exchange, 200, nlohmann::json{{"status", "ok"}, {"mode", mode_}}.dump());
  } else if (what == "stats") {
    Respond(*exchange, 200, endpoints_.stats());
  } else if (what.starts_with(kCassetteStats) && endpoints_.cassette_stats) {
    CassetteStats(*exchange, what.substr(kCassetteStats.size()));
  } else {
    RespondError(*exchange, 404,
                 directory ? "unknown admin endpoint (health, stats, stats/NAME, cassette)"
                           : "unknown admin endpoint (health, stats)");
  }
}

void AdminHandler::SelectCassette(proxy::Exchange& exchange) {
  nlohmann::json body = nlohmann::json::parse(exchange.request().body.bytes, nullptr,
                                              /*allow_exceptions=*/false);
  if (!body.is_object() || !body.contains("name") || !body["name"].is_string()) {
    RespondError(exchange, 400, "expected {\"name\": \"NAME\"}");
    return;
  }
  Status selected = endpoints_.select_cassette(body["name"].get<std::string>());
  if (!selected.ok()) {
    RespondError(exchange, 400, selected.message());
    return;
  }
  Respond(exchange, 200, nlohmann::json{{"cassette", body["name"]}}.dump());
}

void AdminHandler::CassetteStats(proxy::Exchange& exchange, std::string_view encoded_name) {
  bool unused_fails = false;
  for (const auto& [name, value] : exchange.request().query) {
    if (name == "unused" && (value == "fail" || value == "ok")) {
      unused_fails = value == "fail";
    } else {
      RespondError(exchange, 400, "stats/NAME takes one query parameter: unused=fail or unused=ok");
      return;
    }
  }
  Result<std::string> stats = endpoints_.cassette_stats(encoded_name, unused_fails);
  if (!stats.ok()) {
    RespondError(exchange, 400, stats.status().message());
    return;
  }
  Respond(exchange, 200, *stats);
}

}  // namespace td::cli
