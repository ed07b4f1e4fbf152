// File: cassette/json_path.h
//
// Dotted paths into JSON documents, shared by redaction (replace a value) and matching (ignore a
// value): "metadata.user_id", "messages.0.content", "tools.*.cache_control". A segment is an
// object key or an array index; "*" stands for every key or index at that level. Keys that
// contain a dot are written with a backslash: "a\.b".
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "cassette/base/status.h"

namespace td::cassette {

class JsonPath {
 public:
  // Errors (kInvalidArgument) on an empty path or empty segment, naming the path. "\." is a
  // dot inside a key and "\\" a backslash; any other escape is an error.
  static Result<JsonPath> Parse(std::string_view text);

  const std::string& text() const { return text_; }
  const std::vector<std::string>& segments() const { return segments_; }
  // The array index a segment stands for: canonical decimal ("0", "17"; not "01"), or nullopt.
  // "*" (kWildcard) stands for every key and index.
  static std::optional<size_t> ArrayIndex(std::string_view segment);
  static constexpr std::string_view kWildcard = "*";

  // Calls `fn` on every value the path reaches in `doc` (none when it reaches nothing); `fn`
  // may change the value in place. Works on nlohmann::json and nlohmann::ordered_json; Json is
  // deduced from `doc` alone, so `fn` may be a plain lambda.
  // A "*" segment matches every object member and every array element; a decimal segment
  // ("0", "12") matches that array index or an object member of that name; any other segment
  // matches only an object member. Paths reach nothing through scalars.
  template <class Json>
  void ForEach(Json& doc, const std::type_identity_t<std::function<void(Json&)>>& fn) const {
    Visit(doc, 0, fn);
  }
  // Removes every value the path reaches (object members are erased; array elements are
  // erased too, highest index first). Returns how many were removed.
  template <class Json>
  size_t Erase(Json& doc) const;

 private:
  template <class Json>
  void Visit(Json& node, size_t depth, const std::function<void(Json&)>& fn) const;

  std::string text_;
  std::vector<std::string> segments_;
};

}  // namespace td::cassette

#include "cassette/internal/json_path_impl.h"
