// The per-recording noise in headers and JSON bodies.
#include "cassette/volatile.h"

#include <algorithm>
#include <array>

#include "cassette/base/ascii.h"

namespace td::cassette {
namespace {

constexpr std::array<std::string_view, 11> kVolatileHeaders = {
    "date",          "request-id", "x-request-id",         "cf-ray",
    "server-timing", "set-cookie", "openai-processing-ms", "x-envoy-upstream-service-time",
    "age",           "expires",    "last-modified",
};
constexpr std::array<std::string_view, 2> kVolatileHeaderPrefixes = {"anthropic-ratelimit-",
                                                                     "x-ratelimit-"};
constexpr std::array<std::string_view, 4> kIdKeys = {"id", "tool_use_id", "tool_call_id",
                                                     "call_id"};
constexpr std::array<std::string_view, 2> kTimeKeys = {"created", "created_at"};

bool IsOneOf(std::string_view key, const auto& keys) {
  return std::find(keys.begin(), keys.end(), key) != keys.end();
}

}  // namespace

bool IsVolatileHeader(std::string_view name) {
  const std::string lower = ToLowerAscii(name);
  if (IsOneOf(std::string_view(lower), kVolatileHeaders)) return true;
  return std::any_of(kVolatileHeaderPrefixes.begin(), kVolatileHeaderPrefixes.end(),
                     [&](std::string_view prefix) { return lower.starts_with(prefix); });
}

std::string MaskedId(std::string_view id) {
  const size_t cut = id.substr(0, 16).find_first_of("_-");
  if (cut == std::string_view::npos) return "*";
  return std::string(id.substr(0, cut + 1)) + "*";
}

size_t MaskVolatileJson(nlohmann::ordered_json* json) {
  size_t masked = 0;
  if (json->is_array()) {
    for (nlohmann::ordered_json& item : *json) masked += MaskVolatileJson(&item);
    return masked;
  }
  if (!json->is_object()) return 0;
  for (auto& [key, value] : json->items()) {
    if (value.is_string() && IsOneOf(std::string_view(key), kIdKeys)) {
      value = MaskedId(value.get_ref<const std::string&>());
      ++masked;
    } else if (value.is_number() && IsOneOf(std::string_view(key), kTimeKeys)) {
      value = 0;
      ++masked;
    } else {
      masked += MaskVolatileJson(&value);
    }
  }
  return masked;
}

}  // namespace td::cassette
