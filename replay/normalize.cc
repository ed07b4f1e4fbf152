// Request normalisation for matching: options, presets, compiled normalisers.
#include "replay/normalize.h"

#include <algorithm>
#include <optional>
#include <regex>
#include <variant>

#include "cassette/base/ascii.h"
#include "cassette/json_path.h"
#include "cassette/regex_window.h"
#include "replay/internal/builtin_normalizers.h"
#include "replay/internal/canonical_key.h"
#include "replay/internal/workspace_normalizer.h"

namespace td::replay {
namespace {

std::string Join(const std::vector<std::string_view>& names) {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += i + 1 == names.size() ? " or " : ", ";
    out += names[i];
  }
  return out;
}

template <class T>
void AddUnique(std::vector<T>* to, T value) {
  if (std::find(to->begin(), to->end(), value) == to->end()) to->push_back(std::move(value));
}

MatchOptions AddAnthropic(MatchOptions options) {
  AddUnique<std::string>(&options.ignore_json_paths, "metadata.user_id");
  AddUnique<std::string>(&options.match_headers, "anthropic-version");
  AddUnique<std::string>(&options.match_headers, "anthropic-beta");
  return options;
}

struct RegexStep {
  std::regex re;
  std::string replacement;
};
using Step = std::variant<internal::BuiltinFn, RegexStep>;

bool LooksLikeJson(std::string_view text) {
  for (char c : text) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') continue;
    return c == '{' || c == '[';
  }
  return false;
}

}  // namespace

struct RequestNormalizer::Compiled {
  MatchOptions options;
  internal::WorkspaceNormalizer workspace;  // runs before `steps`
  std::vector<std::string> workspace_notes;
  std::vector<Step> steps;
  std::vector<cassette::JsonPath> ignore_paths;
  std::vector<std::string> headers;       // lower case, sorted, unique
  std::vector<std::string> ignore_query;  // exact names
};

const std::vector<std::string_view>& BuiltinNormalizerNames() {
  static const std::vector<std::string_view> kNames = [] {
    std::vector<std::string_view> names;
    for (const auto& b : internal::Builtins()) names.push_back(b.name);
    return names;
  }();
  return kNames;
}

Result<Normalizer> ParseNormalizer(std::string_view spec) {
  Normalizer n;
  if (spec.rfind("builtin:", 0) == 0) {
    n.builtin = std::string(spec.substr(8));
    if (internal::FindBuiltin(n.builtin) == nullptr) {
      return InvalidArgumentError("--normalize \"" + std::string(spec) +
                                  "\": unknown built-in (expected " +
                                  Join(BuiltinNormalizerNames()) + ")");
    }
    return n;
  }
  size_t arrow = spec.find("=>");
  n.pattern = std::string(spec.substr(0, arrow));
  n.replacement =
      arrow == std::string_view::npos ? "<NORMALIZED>" : std::string(spec.substr(arrow + 2));
  if (n.pattern.empty()) {
    return InvalidArgumentError("--normalize \"" + std::string(spec) + "\": empty regex");
  }
  return n;
}

const std::vector<std::string_view>& PresetNames() {
  static const std::vector<std::string_view> kNames = {"anthropic", "openai", "agent-cli"};
  return kNames;
}

Result<MatchOptions> ApplyPreset(std::string_view name, MatchOptions options) {
  if (name == "anthropic") return AddAnthropic(std::move(options));
  if (name == "openai") {
    // `user` and `safety_identifier` identify the end user, `prompt_cache_key` is a cache
    // bucket: none of them changes the answer.
    for (const char* path : {"user", "safety_identifier", "prompt_cache_key"}) {
      AddUnique<std::string>(&options.ignore_json_paths, path);
    }
    return options;
  }
  if (name == "agent-cli") {
    options = AddAnthropic(std::move(options));
    for (const auto& b : internal::Builtins()) {
      AddUnique(&options.normalizers, Normalizer{"", "", std::string(b.name)});
    }
    return options;
  }
  return InvalidArgumentError("unknown matching preset \"" + std::string(name) + "\" (expected " +
                              Join(PresetNames()) + ")");
}

std::string NormalizedRequest::CanonicalBody() const {
  if (!body_is_json) return "t" + body_text;
  return "j" + body_json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Result<RequestNormalizer> RequestNormalizer::Create(MatchOptions options) {
  auto compiled = std::make_shared<Compiled>();
  if (options.recorded_workspace && options.live_workspace) {
    compiled->workspace = internal::WorkspaceNormalizer::Create(
        *options.recorded_workspace, *options.live_workspace, &compiled->workspace_notes);
  }
  for (size_t i = 0; i < options.normalizers.size(); ++i) {
    const Normalizer& n = options.normalizers[i];
    if (!n.builtin.empty()) {
      const internal::Builtin* b = internal::FindBuiltin(n.builtin);
      if (b == nullptr) {
        return InvalidArgumentError("normalizer " + std::to_string(i) + ": unknown built-in \"" +
                                    n.builtin + "\" (expected " + Join(BuiltinNormalizerNames()) +
                                    ")");
      }
      compiled->steps.emplace_back(b->fn);
      continue;
    }
    // std::regex reports a bad pattern by throwing; this is the edge where we catch it.
    try {
      compiled->steps.emplace_back(
          RegexStep{std::regex(n.pattern, std::regex::ECMAScript), n.replacement});
    } catch (const std::regex_error& e) {
      return InvalidArgumentError("normalizer " + std::to_string(i) + " \"" + n.pattern +
                                  "\": bad regex: " + e.what());
    }
  }
  for (const std::string& text : options.ignore_json_paths) {
    Result<cassette::JsonPath> path = cassette::JsonPath::Parse(text);
    if (!path.ok()) return path.status().WithContext("ignored JSON path");
    compiled->ignore_paths.push_back(std::move(*path));
  }
  std::vector<std::string> ignored;
  for (const std::string& h : options.ignore_headers) ignored.push_back(ToLowerAscii(h));
  for (const std::string& h : options.match_headers) {
    std::string name = ToLowerAscii(h);
    if (std::find(ignored.begin(), ignored.end(), name) == ignored.end()) {
      AddUnique(&compiled->headers, std::move(name));
    }
  }
  std::sort(compiled->headers.begin(), compiled->headers.end());
  compiled->ignore_query = options.ignore_query_params;
  compiled->options = std::move(options);
  return RequestNormalizer(std::move(compiled));
}

const MatchOptions& RequestNormalizer::options() const { return compiled_->options; }

const std::vector<std::string>& RequestNormalizer::workspace_notes() const {
  return compiled_->workspace_notes;
}

std::string RequestNormalizer::ApplyNormalizers(std::string_view text) const {
  std::string out(text);
  // First: the workspace's exact values are the most specific, and the built-ins would
  // otherwise cut them up (temp-path turns a HOME under /tmp into "<TMP>/home-a").
  compiled_->workspace.Apply(&out);
  for (const Step& step : compiled_->steps) {
    if (const auto* fn = std::get_if<internal::BuiltinFn>(&step)) {
      (*fn)(&out);
    } else {
      const RegexStep& r = std::get<RegexStep>(step);
      // Windowed: a body is client input, and one std::regex pass over a long run of it can
      // overflow the stack (cassette/regex_window.h).
      out = cassette::RegexReplaceAll(out, r.re, r.replacement);
    }
  }
  return out;
}

NormalizedRequest RequestNormalizer::NormalizeHead(const cassette::Request& request) const {
  NormalizedRequest n;
  n.origin = request.origin;
  n.method = request.method;
  n.path = request.path;
  const auto& ignore = compiled_->ignore_query;
  for (const auto& param : request.query) {
    if (std::find(ignore.begin(), ignore.end(), param.first) == ignore.end()) {
      n.query.push_back(param);
    }
  }
  std::stable_sort(n.query.begin(), n.query.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const std::string& name : compiled_->headers) {
    std::optional<std::string> value;
    for (const auto& [k, v] : request.headers) {
      if (!EqualsIgnoreCase(k, name)) continue;
      if (value) {
        *value += ", ";
        *value += v;
      } else {
        value = v;
      }
    }
    if (value) n.headers.emplace_back(name, std::move(*value));
  }
  return n;
}

bool RequestNormalizer::MatchesHeader(std::string_view name) const {
  const std::vector<std::string>& names = compiled_->headers;
  return std::any_of(names.begin(), names.end(),
                     [name](const std::string& n) { return EqualsIgnoreCase(name, n); });
}

bool RequestNormalizer::HeadIsVerbatim(const cassette::Request& request) const {
  return request.query.empty() && compiled_->headers.empty();
}

void RequestNormalizer::NormalizeBody(std::string_view body, NormalizedRequest* out) const {
  std::string text = compiled_->steps.empty() && compiled_->workspace.empty()
                         ? std::string(body)
                         : ApplyNormalizers(body);
  out->body_is_json = false;
  out->body_json = nullptr;
  if (LooksLikeJson(text)) {
    nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (!j.is_discarded()) {
      for (const cassette::JsonPath& path : compiled_->ignore_paths) path.Erase(j);
      out->body_is_json = true;
      out->body_json = std::move(j);
      out->body_text.clear();
      return;
    }
  }
  out->body_text = std::move(text);
}

BodyKey RequestNormalizer::BodyKeyOf(std::string_view body,
                                     std::optional<std::string>* canonical) const {
  std::string normalized;
  std::string_view text = body;
  if (!compiled_->steps.empty() || !compiled_->workspace.empty()) {
    normalized = ApplyNormalizers(body);
    text = normalized;
  }
  if (!LooksLikeJson(text)) return internal::TextCanonicalKey(text);
  BodyKey key;
  if (internal::JsonCanonicalKey(text, compiled_->ignore_paths, &key)) return key;
  NormalizedRequest n;
  NormalizeBody(body, &n);
  std::string built = n.CanonicalBody();
  key = KeyOf(built);
  if (canonical != nullptr) *canonical = std::move(built);
  return key;
}

BodyKey RequestNormalizer::KeyOf(std::string_view canonical) {
  return internal::KeyOfCanonical(canonical);
}

NormalizedRequest RequestNormalizer::Normalize(const cassette::Request& request) const {
  NormalizedRequest n = NormalizeHead(request);
  NormalizeBody(request.body.bytes, &n);
  return n;
}

Result<NormalizedRequest> Normalize(const cassette::Request& request, const MatchOptions& options) {
  Result<RequestNormalizer> normalizer = RequestNormalizer::Create(options);
  if (!normalizer.ok()) return normalizer.status();
  return normalizer->Normalize(request);
}

}  // namespace td::replay
