// Provider detection and provider-shaped error bodies.
#include "cassette/provider.h"

#include <nlohmann/json.hpp>

namespace td::cassette {
namespace {

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

bool StartsWithCaseless(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && HeaderNameEquals(s.substr(0, prefix.size()), prefix);
}

bool IsAnthropicPath(std::string_view path) {
  return path.find("/v1/messages") != std::string_view::npos || EndsWith(path, "/v1/complete");
}

bool IsOpenAIPath(std::string_view path) {
  for (std::string_view p : {"/chat/completions", "/completions", "/responses", "/embeddings",
                             "/moderations", "/images/generations", "/audio/speech"}) {
    if (EndsWith(path, p) || path.find(std::string(p) + "/") != std::string_view::npos) {
      return true;
    }
  }
  return false;
}

// Anthropic error types mapped to the closest OpenAI type and code.
std::pair<std::string_view, std::string_view> OpenAITypeAndCode(std::string_view type) {
  if (type == "not_found_error") return {"invalid_request_error", "tapedeck_no_match"};
  if (type == "rate_limit_error") return {"rate_limit_exceeded", "rate_limit_exceeded"};
  if (type == "overloaded_error") return {"server_error", "overloaded"};
  if (type == "api_error") return {"server_error", "upstream_error"};
  return {type, type};
}

std::string Dump(const nlohmann::ordered_json& j) {
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

nlohmann::ordered_json ErrorJson(Provider provider, std::string_view type,
                                 std::string_view message) {
  using J = nlohmann::ordered_json;
  switch (provider) {
    case Provider::kAnthropic:
      return J{{"type", "error"}, {"error", J{{"type", type}, {"message", message}}}};
    case Provider::kOpenAI: {
      auto [otype, code] = OpenAITypeAndCode(type);
      return J{
          {"error", J{{"message", message}, {"type", otype}, {"param", nullptr}, {"code", code}}}};
    }
    case Provider::kGeneric:
      break;
  }
  return J{{"error", J{{"type", type}, {"message", message}}}};
}

}  // namespace

Provider DetectProvider(const Request& request) {
  if (FindHeader(request.headers, "anthropic-version") != nullptr ||
      FindHeader(request.headers, "x-api-key") != nullptr || IsAnthropicPath(request.path)) {
    return Provider::kAnthropic;
  }
  if (IsOpenAIPath(request.path)) return Provider::kOpenAI;
  for (const auto& [name, value] : request.headers) {
    if (StartsWithCaseless(name, "openai-")) return Provider::kOpenAI;
  }
  return Provider::kGeneric;
}

std::string ErrorBody(Provider provider, std::string_view type, std::string_view message) {
  return Dump(ErrorJson(provider, type, message));
}

std::string StreamErrorEvent(Provider provider, std::string_view type, std::string_view message) {
  std::string data = Dump(ErrorJson(provider, type, message));
  if (provider == Provider::kAnthropic) return "event: error\ndata: " + data + "\n\n";
  return "data: " + data + "\n\n";
}

}  // namespace td::cassette
