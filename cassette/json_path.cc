// Parsing of dotted JSON paths ("a.b.0.c", "*" wildcards, "a\.b" for a key with a dot). The
// walking code is templated over the JSON type and lives in cassette/internal/json_path_impl.h.
#include "cassette/json_path.h"

#include <utility>

namespace td::cassette {

Result<JsonPath> JsonPath::Parse(std::string_view text) {
  auto error = [&](std::string_view why) {
    return InvalidArgumentError("json path \"" + std::string(text) + "\": " + std::string(why));
  };
  if (text.empty()) return error("empty path");
  JsonPath path;
  path.text_ = std::string(text);
  std::string segment;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\\') {
      if (i + 1 == text.size()) return error("backslash at the end");
      const char next = text[i + 1];
      if (next != '.' && next != '\\') {
        return error("unknown escape \\" + std::string(1, next) + " (use \\. or \\\\)");
      }
      segment += next;
      ++i;
    } else if (c == '.') {
      if (segment.empty()) return error("empty segment at byte " + std::to_string(i));
      path.segments_.push_back(std::move(segment));
      segment.clear();
    } else {
      segment += c;
    }
  }
  if (segment.empty()) return error("empty segment at the end");
  path.segments_.push_back(std::move(segment));
  return path;
}

namespace internal {

std::optional<size_t> ParseJsonPathIndex(std::string_view segment) {
  // Canonical decimal only ("0", "17"; not "01" or "+1"), short enough not to overflow.
  if (segment.empty() || segment.size() > 9) return std::nullopt;
  if (segment.size() > 1 && segment.front() == '0') return std::nullopt;
  size_t value = 0;
  for (char c : segment) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<size_t>(c - '0');
  }
  return value;
}

}  // namespace internal

std::optional<size_t> JsonPath::ArrayIndex(std::string_view segment) {
  return internal::ParseJsonPathIndex(segment);
}

}  // namespace td::cassette
