// CassetteRouter: picking a request's cassette and handing the exchange to its slot.
#include "tools/cassette_router.h"

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>

#include "cassette/base/ascii.h"
#include "cassette/base/log.h"
#include "cassette/provider.h"
#include "tools/exit_codes.h"

namespace td::cli {
namespace {

constexpr std::string_view kPathPrefix = "/cassette/";
constexpr std::string_view kHeader = "x-tapedeck-cassette";

bool IsNameChar(char c) { return IsAlnum(c) || c == '.' || c == '_' || c == '-'; }

// "%2F" -> "/". nullopt on a malformed escape.
std::optional<std::string> PercentDecode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    if (i + 2 >= text.size() || !IsHex(text[i + 1]) || !IsHex(text[i + 2])) return std::nullopt;
    out += static_cast<char>(std::stoi(std::string(text.substr(i + 1, 2)), nullptr, 16));
    i += 2;
  }
  return out;
}

// The name, quoted for a message: at most 64 bytes of it, control bytes escaped.
std::string Shown(std::string_view name) { return QuoteForMessage(name, 64); }

// The exchange as its cassette sees it: the selector taken off the path and headers. Everything
// else is the connection's own exchange.
class RoutedExchange final : public proxy::Exchange {
 public:
  RoutedExchange(std::shared_ptr<proxy::Exchange> inner, cassette::Request request,
                 std::string target)
      : inner_(std::move(inner)), request_(std::move(request)), target_(std::move(target)) {}

  const cassette::Request& request() const override { return request_; }
  const std::string& target() const override { return target_; }
  std::uint64_t seq() const override { return inner_->seq(); }
  Micros arrived_us() const override { return inner_->arrived_us(); }
  std::string peer() const override { return inner_->peer(); }
  proxy::ResponseSink& sink() override { return inner_->sink(); }
  void SetOnClientGone(std::function<void()> on_gone) override {
    inner_->SetOnClientGone(std::move(on_gone));
  }

 private:
  std::shared_ptr<proxy::Exchange> inner_;
  cassette::Request request_;
  std::string target_;
};

}  // namespace

Status ValidateCassetteName(std::string_view name) {
  auto bad = [&](std::string_view why) {
    return InvalidArgumentError("cassette name " + Shown(name) + ": " + std::string(why));
  };
  if (name.empty()) return bad("empty");
  if (name.size() > kMaxCassetteNameBytes) {
    return bad("longer than " + std::to_string(kMaxCassetteNameBytes) + " bytes");
  }
  if (name.front() == '/') return bad("must be relative (no leading '/')");
  if (name.back() == '/') return bad("ends with '/'");
  size_t start = 0;
  while (start <= name.size()) {
    size_t slash = name.find('/', start);
    if (slash == std::string_view::npos) slash = name.size();
    std::string_view segment = name.substr(start, slash - start);
    if (segment.empty()) return bad("has an empty segment (\"//\")");
    if (segment == "." || segment == "..") return bad("has a \".\" or \"..\" segment");
    for (char c : segment) {
      if (!IsNameChar(c)) return bad("may hold only letters, digits, '.', '_', '-' and '/'");
    }
    start = slash + 1;
  }
  return Status::Ok();
}

std::string CassettePath(const std::string& dir, std::string_view name) {
  std::string path = dir;
  if (!path.empty() && path.back() != '/') path += '/';
  path += name;
  path += ".jsonl.zst";
  return path;
}

CassetteRouter::CassetteRouter(std::unique_ptr<CassetteSlot> single) {
  slots_.emplace("", std::move(single));
}

CassetteRouter::CassetteRouter(DirectoryOptions directory) : directory_(std::move(directory)) {}

void CassetteRouter::Handle(std::shared_ptr<proxy::Exchange> exchange) {
  if (!directory()) {
    slots_.begin()->second->Handle(std::move(exchange));
    return;
  }
  const cassette::Request& request = exchange->request();
  std::string name;
  std::optional<std::string> path;  // the path without /cassette/NAME, when it had one
  std::string target;               // likewise the target
  if (request.path.starts_with(kPathPrefix)) {
    // "/cassette/NAME/rest": NAME is one segment; the rest (at least "/") is the real path.
    std::string_view after = std::string_view(request.path).substr(kPathPrefix.size());
    size_t slash = after.find('/');
    std::optional<std::string> decoded = PercentDecode(after.substr(0, slash));
    if (!decoded || decoded->empty()) {
      Reject(*exchange, 400,
             decoded ? "tapedeck: empty cassette name in the path (/cassette/NAME/...)"
                     : "tapedeck: cassette name in the path has a malformed %-escape");
      return;
    }
    name = std::move(*decoded);
    const size_t cut =
        kPathPrefix.size() + (slash == std::string_view::npos ? after.size() : slash);
    path = slash == std::string_view::npos ? "/" : request.path.substr(cut);
    // The target is the path as sent (not decoded) plus the query: cut the same bytes off it.
    const std::string& sent = exchange->target();
    target = sent.size() >= cut && sent.compare(0, cut, request.path, 0, cut) == 0
                 ? sent.substr(cut)
                 : *path;
    if (target.empty() || target.front() != '/') target.insert(0, "/");
  }
  const std::string* header = cassette::FindHeader(request.headers, kHeader);
  if (name.empty() && header != nullptr) name = *header;
  if (name.empty()) name = default_name_;
  if (name.empty()) {
    Reject(*exchange, 400,
           "tapedeck: no cassette selected: with --cassette-dir, prefix the base URL with "
           "/cassette/NAME/, send the header x-tapedeck-cassette: NAME, or POST "
           "/__tapedeck/cassette {\"name\": NAME} first");
    return;
  }
  if (Status valid = ValidateCassetteName(name); !valid.ok()) {
    Reject(*exchange, 400, "tapedeck: " + valid.message());
    return;
  }
  Status why;
  CassetteSlot* slot = SlotFor(name, &why);
  if (slot == nullptr) {
    Reject(*exchange, 500, "tapedeck: cassette " + Shown(name) + ": " + why.message());
    return;
  }
  if (path || header != nullptr) {
    // The cassette sees the request without its selector: a copy, made only when there is one.
    cassette::Request routed = request;
    if (path) routed.path = std::move(*path);
    cassette::RemoveHeader(&routed.headers, kHeader);
    if (!path) target = exchange->target();
    exchange =
        std::make_shared<RoutedExchange>(std::move(exchange), std::move(routed), std::move(target));
  }
  slot->Handle(std::move(exchange));
}

CassetteSlot* CassetteRouter::SlotFor(const std::string& name, Status* why) {
  if (auto it = slots_.find(name); it != slots_.end()) return it->second.get();
  if (auto it = failed_.find(name); it != failed_.end()) {
    *why = it->second;
    return nullptr;
  }
  auto slot =
      std::make_unique<CassetteSlot>(name, CassettePath(directory_.dir, name), directory_.settings);
  Status ready = Status::Ok();
  if (directory_.settings->records) {
    // "suite/test_a" lives in DIR/suite/: made here, inside DIR (the name has no "..").
    std::error_code ec;
    std::filesystem::create_directories(std::filesystem::path(slot->path()).parent_path(), ec);
    if (ec) ready = IoError("cannot create the folder of " + slot->path() + ": " + ec.message());
  }
  if (ready.ok()) ready = slot->Prepare();
  if (ready.ok()) ready = slot->Load(directory_.loop, directory_.recorder);
  if (ready.ok()) ready = slot->Open();
  if (!ready.ok()) {
    TD_LOG(kError) << "cassette " << Shown(name) << ": " << ready.message();
    failed_.emplace(name, ready);
    *why = ready;
    return nullptr;
  }
  TD_LOG(kDebug) << "cassette " << Shown(name) << ": " << slot->path();
  return slots_.emplace(name, std::move(slot)).first->second.get();
}

void CassetteRouter::Reject(proxy::Exchange& exchange, int status, const std::string& message) {
  TD_LOG(kWarn) << message;
  proxy::RespondWithError(exchange.sink(), status, cassette::DetectProvider(exchange.request()),
                          status == 400 ? "invalid_request_error" : "api_error", message,
                          {{"x-should-retry", "false"}, {"x-tapedeck-error", "cassette"}});
}

Status CassetteRouter::SelectDefault(std::string_view name) {
  if (!directory()) {
    return FailedPreconditionError("this tapedeck serves one --cassette; --cassette-dir picks one");
  }
  TD_RETURN_IF_ERROR(ValidateCassetteName(name));
  default_name_ = std::string(name);
  return Status::Ok();
}

std::string CassetteRouter::StatsJson() const {
  if (!directory()) return slots_.begin()->second->StatsJson();
  nlohmann::json cassettes = nlohmann::json::object();
  for (const auto& [name, slot] : slots_)
    cassettes[name] = nlohmann::json::parse(slot->StatsJson());
  nlohmann::json failed = nlohmann::json::object();
  for (const auto& [name, status] : failed_) failed[name] = status.message();
  return nlohmann::json{{"default", default_name_}, {"cassettes", cassettes}, {"failed", failed}}
      .dump();
}

Result<std::string> CassetteRouter::CassetteStatsJson(std::string_view encoded_name,
                                                      bool unused_fails) const {
  if (!directory()) {
    return FailedPreconditionError(
        "this tapedeck serves one --cassette; use GET /__tapedeck/stats");
  }
  const std::optional<std::string> decoded = PercentDecode(encoded_name);
  if (!decoded)
    return InvalidArgumentError("cassette name " + Shown(encoded_name) + ": bad %-escape");
  const std::string_view name = *decoded;
  TD_RETURN_IF_ERROR(ValidateCassetteName(name));
  nlohmann::json j = {{"cassette", name}, {"problem", nullptr}};
  const std::string key(name);
  if (auto failed = failed_.find(key); failed != failed_.end()) {
    j["state"] = "failed";
    j["reason"] = failed->second.message();
    j["problem"] = "cassette " + key + " could not be used: " + failed->second.message();
  } else if (auto slot = slots_.find(key); slot != slots_.end()) {
    j["state"] = "ready";
    j["counts"] = nlohmann::json::parse(slot->second->StatsJson());
    if (std::optional<std::string> problem = slot->second->Problem(unused_fails)) {
      j["problem"] = *problem;
    }
  } else {
    j["state"] = "untouched";
  }
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

int CassetteRouter::Finish(bool strict, bool* strict_problem, std::ostream& err) {
  *strict_problem = false;
  int code = kExitOk;
  for (auto& [name, slot] : slots_) {
    bool problem = false;
    if (slot->Finish(strict, &problem, err) != kExitOk) code = kExitCassette;
    *strict_problem = *strict_problem || problem;
  }
  for (const auto& [name, status] : failed_) {
    err << "tapedeck: cassette " << Shown(name) << " was not used: " << status.message() << "\n";
    code = kExitCassette;
  }
  return code;
}

}  // namespace td::cli
