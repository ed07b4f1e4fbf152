// Template bodies of JsonPath (cassette/json_path.h), over nlohmann::json and
// nlohmann::ordered_json alike. A segment "*" matches every member of an object and every
// element of an array; a decimal segment matches that array index and also an object member of
// that name ({"50256": -100}); any other segment matches only an object member.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace td::cassette {

namespace internal {

inline constexpr std::string_view kJsonPathWildcard = "*";

// The array index a segment names, if it is a canonical decimal number.
std::optional<size_t> ParseJsonPathIndex(std::string_view segment);

// Removes what segments[depth..] reach below `node`; returns how many values were removed.
template <class Json>
size_t JsonPathEraseAt(Json& node, const std::vector<std::string>& segments, size_t depth) {
  const std::string& segment = segments[depth];
  const bool last = depth + 1 == segments.size();
  const bool wildcard = segment == kJsonPathWildcard;
  size_t removed = 0;
  if (node.is_object()) {
    if (wildcard) {
      if (last) {
        removed = node.size();
        node = Json::object();
        return removed;
      }
      for (auto it = node.begin(); it != node.end(); ++it) {
        removed += JsonPathEraseAt(it.value(), segments, depth + 1);
      }
      return removed;
    }
    auto it = node.find(segment);
    if (it == node.end()) return 0;
    if (last) {
      node.erase(it);
      return 1;
    }
    return JsonPathEraseAt(it.value(), segments, depth + 1);
  }
  if (node.is_array()) {
    if (wildcard) {
      if (last) {
        removed = node.size();
        node = Json::array();
        return removed;
      }
      for (auto& element : node) removed += JsonPathEraseAt(element, segments, depth + 1);
      return removed;
    }
    std::optional<size_t> index = ParseJsonPathIndex(segment);
    if (!index || *index >= node.size()) return 0;
    if (last) {
      node.erase(*index);
      return 1;
    }
    return JsonPathEraseAt(node[*index], segments, depth + 1);
  }
  return 0;  // scalars have no members
}

}  // namespace internal

template <class Json>
void JsonPath::Visit(Json& node, size_t depth, const std::function<void(Json&)>& fn) const {
  if (depth == segments_.size()) {
    fn(node);
    return;
  }
  const std::string& segment = segments_[depth];
  if (node.is_object()) {
    if (segment == internal::kJsonPathWildcard) {
      for (auto it = node.begin(); it != node.end(); ++it) Visit(it.value(), depth + 1, fn);
      return;
    }
    auto it = node.find(segment);
    if (it != node.end()) Visit(it.value(), depth + 1, fn);
    return;
  }
  if (node.is_array()) {
    if (segment == internal::kJsonPathWildcard) {
      for (auto& element : node) Visit(element, depth + 1, fn);
      return;
    }
    std::optional<size_t> index = internal::ParseJsonPathIndex(segment);
    if (index && *index < node.size()) Visit(node[*index], depth + 1, fn);
  }
}

template <class Json>
size_t JsonPath::Erase(Json& doc) const {
  if (segments_.empty()) return 0;
  return internal::JsonPathEraseAt(doc, segments_, 0);
}

}  // namespace td::cassette
