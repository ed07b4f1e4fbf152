// File: tests/fuzz/json_path_fuzz.cc
//
// libFuzzer harness for cassette::JsonPath (cassette/json_path.h). Input: the path text, a 0x1e
// byte, then a JSON document (no 0x1e: the whole input is the path). Each path is applied to
// that document when it parses, and to a document built from the path's own segments so that it
// always reaches something; both as nlohmann::json and as nlohmann::ordered_json. Properties
// beyond "no crash": the segments, escaped again, parse back to the same segments; ForEach and
// Erase agree on how many values the path reaches; values set through ForEach are what ForEach
// then sees; after Erase a path whose last segment is not an index reaches nothing.
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "cassette/base/log.h"
#include "cassette/json_path.h"
#include "tests/fuzz/fuzz_support.h"

namespace td::cassette {
namespace {

// The path text that names `segments`: the inverse of Parse's unescaping.
std::string Escape(const std::vector<std::string>& segments) {
  std::string out;
  for (const std::string& segment : segments) {
    if (!out.empty()) out += '.';
    for (char c : segment) {
      if (c == '.' || c == '\\') out += '\\';
      out += c;
    }
  }
  return out;
}

bool IsIndex(std::string_view s) {
  return !s.empty() && s.size() <= 9 && (s.size() == 1 || s.front() != '0') &&
         std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// A document the path reaches: objects keyed by the segments, arrays for indexes (capped at 4
// elements, so a larger index reaches nothing), two elements for each of the first 8 "*" and
// one for the rest (the document stays small however many wildcards the path has).
template <class Json>
Json Reachable(const std::vector<std::string>& segments, size_t depth, const Json& leaf,
               int wide_wildcards = 8) {
  if (depth == segments.size()) return leaf;
  const std::string& segment = segments[depth];
  const bool wildcard = segment == "*";
  Json child = Reachable(segments, depth + 1, leaf, wide_wildcards - (wildcard ? 1 : 0));
  if (wildcard) return wide_wildcards > 0 ? Json::array({child, child}) : Json::array({child});
  if (IsIndex(segment)) {
    const size_t index = std::stoul(segment);
    Json array = Json::array();
    for (size_t i = 0; i < std::min<size_t>(index + 1, 4); ++i)
      array.push_back(i == index ? child : Json(i));
    return array;
  }
  Json object = Json::object();
  object[segment] = std::move(child);
  object["other"] = 1;
  return object;
}

template <class Json>
size_t Count(const JsonPath& path, Json& doc) {
  size_t n = 0;
  path.ForEach(doc, [&](Json&) { ++n; });
  return n;
}

template <class Json>
void CheckOn(const JsonPath& path, const Json& original) {
  const std::string where = " (path " + fuzz::Quote(path.text()) + ")";
  Json doc = original;
  const size_t reached = Count(path, doc);

  Json erased = original;
  const size_t removed = path.Erase(erased);
  TD_CHECK(removed == reached) << "Erase removed " << removed << " values, ForEach reached "
                               << reached << where;
  if (!IsIndex(path.segments().back())) {
    TD_CHECK(Count(path, erased) == 0) << "the path still reaches values after Erase" << where;
  }

  // What redaction does: replace every value reached, then look again.
  path.ForEach(doc, [](Json& value) { value = "[REDACTED]"; });
  size_t marked = 0;
  path.ForEach(doc, [&](Json& value) { marked += value == "[REDACTED]" ? 1 : 0; });
  TD_CHECK(marked == reached) << "after setting " << reached << " values, " << marked
                              << " read back" << where;
}

}  // namespace
}  // namespace td::cassette

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace td::cassette;
  using td::Result;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t sep = input.find('\x1e');
  const std::string_view text = input.substr(0, sep);
  const std::string_view doc_text =
      sep == std::string_view::npos ? std::string_view() : input.substr(sep + 1);

  Result<JsonPath> path = JsonPath::Parse(text);
  if (!path.ok()) {
    TD_CHECK(!path.status().message().empty()) << "an error without a message";
    return 0;
  }
  TD_CHECK(!path->segments().empty()) << "a parsed path without segments";
  for (const std::string& segment : path->segments()) {
    TD_CHECK(!segment.empty()) << "an empty segment in " << td::fuzz::Quote(text);
  }
  TD_CHECK(path->text() == text) << "text() is not the parsed text";
  const std::string escaped = Escape(path->segments());
  Result<JsonPath> again = JsonPath::Parse(escaped);
  TD_CHECK(again.ok()) << "the escaped segments " << td::fuzz::Quote(escaped)
                       << " do not parse: " << again.status().ToString();
  TD_CHECK(again->segments() == path->segments())
      << td::fuzz::Quote(escaped) << " parses to other segments than " << td::fuzz::Quote(text);

  const nlohmann::json leaf = std::string(doc_text.substr(0, 16));
  CheckOn(*path, Reachable<nlohmann::json>(path->segments(), 0, leaf));
  CheckOn(*path, Reachable<nlohmann::ordered_json>(
                     path->segments(), 0, nlohmann::ordered_json(leaf.get<std::string>())));
  auto doc = nlohmann::ordered_json::parse(doc_text, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_discarded()) {
    CheckOn(*path, doc);
    CheckOn(*path, nlohmann::json::parse(doc_text, nullptr, /*allow_exceptions=*/false));
  }
  return 0;
}
