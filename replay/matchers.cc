// The named matchers and the JSON differ behind miss explanations.
#include "replay/matchers.h"

#include <algorithm>
#include <map>

#include "cassette/base/ascii.h"

namespace td::replay {
namespace {

constexpr size_t kMaxLines = 20;

// Collects diff lines up to a limit and counts all of them.
class Collector {
 public:
  explicit Collector(size_t max_lines) : max_lines_(max_lines) {}
  bool full() const { return result_.diffs.size() >= max_lines_; }
  void Add(std::string line) {
    ++result_.diff_count;
    if (!full()) result_.diffs.push_back(std::move(line));
  }
  // Counts a difference without building its line (once the list is full).
  void Count() { ++result_.diff_count; }
  MatchResult Take() {
    result_.ok = result_.diff_count == 0;
    if (result_.diff_count > result_.diffs.size()) {
      result_.diffs.push_back("... and " +
                              std::to_string(result_.diff_count - result_.diffs.size()) +
                              " more differences");
    }
    return std::move(result_);
  }

 private:
  size_t max_lines_;
  MatchResult result_;
};

std::string Dump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

bool IsContinuationByte(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

size_t FirstDifference(std::string_view a, std::string_view b) {
  size_t n = std::min(a.size(), b.size());
  size_t i = 0;
  while (i < n && a[i] == b[i]) ++i;
  return i;
}

bool IsIdentifier(std::string_view key) {
  if (key.empty()) return false;
  for (size_t i = 0; i < key.size(); ++i) {
    char c = key[i];
    bool ok = IsAlpha(c) || c == '_' || (i > 0 && (IsDigit(c) || c == '-'));
    if (!ok) return false;
  }
  return true;
}

std::string IndexPath(std::string_view parent, size_t index) {
  return std::string(parent) + "[" + std::to_string(index) + "]";
}

bool SameScalar(const nlohmann::json& a, const nlohmann::json& b) {
  // 1 and 1.0 are equal to nlohmann but not on the wire, nor in the canonical match key.
  if (a.is_number() && b.is_number() && a.is_number_float() != b.is_number_float()) {
    return false;
  }
  return a == b;
}

void Walk(const nlohmann::json& a, const nlohmann::json& b, const std::string& path,
          std::string_view member, const std::function<void(const JsonDifference&)>& fn) {
  if (a.is_object() && b.is_object()) {
    auto l = a.begin();
    auto r = b.begin();
    // nlohmann::json objects iterate in key order: merge the two sorted key lists.
    while (l != a.end() || r != b.end()) {
      if (r == b.end() || (l != a.end() && l.key() < r.key())) {
        fn({JsonMemberPath(path, l.key()), l.key(), &l.value(), nullptr});
        ++l;
      } else if (l == a.end() || r.key() < l.key()) {
        fn({JsonMemberPath(path, r.key()), r.key(), nullptr, &r.value()});
        ++r;
      } else {
        Walk(l.value(), r.value(), JsonMemberPath(path, l.key()), l.key(), fn);
        ++l;
        ++r;
      }
    }
    return;
  }
  if (a.is_array() && b.is_array()) {
    size_t n = std::max(a.size(), b.size());
    for (size_t i = 0; i < n; ++i) {
      if (i >= b.size()) {
        fn({IndexPath(path, i), {}, &a[i], nullptr});
      } else if (i >= a.size()) {
        fn({IndexPath(path, i), {}, nullptr, &b[i]});
      } else {
        Walk(a[i], b[i], IndexPath(path, i), {}, fn);
      }
    }
    return;
  }
  if (!SameScalar(a, b)) fn({path, member, &a, &b});
}

void Diff(const nlohmann::json& live, const nlohmann::json& rec, const std::string& root,
          Collector* out) {
  ForEachJsonDifference(live, rec, root, [out](const JsonDifference& d) {
    if (out->full()) {
      out->Count();
    } else if (d.b == nullptr) {
      out->Add(d.path + ": missing in recording");
    } else if (d.a == nullptr) {
      out->Add(d.path + ": missing in request");
    } else {
      auto [a, b] = ShortJsonPair(*d.a, *d.b);
      std::string line = d.path + ": " + a + " != " + b;
      if (d.a->is_string() && d.b->is_string()) {
        const std::string& sa = d.a->get_ref<const std::string&>();
        const std::string& sb = d.b->get_ref<const std::string&>();
        if (std::max(sa.size(), sb.size()) > 60) {
          line += " (at offset " + std::to_string(FirstDifference(sa, sb)) + ")";
        }
      }
      out->Add(std::move(line));
    }
  });
}

MatchResult Single(bool ok, std::string line) {
  MatchResult r;
  r.ok = ok;
  if (!ok) {
    r.diffs.push_back(std::move(line));
    r.diff_count = 1;
  }
  return r;
}

using Multimap = std::map<std::string, std::vector<std::string>>;

template <class Pairs>
Multimap Group(const Pairs& pairs) {
  Multimap m;
  for (const auto& [k, v] : pairs) m[k].push_back(v);
  return m;
}

std::string JoinValues(const std::vector<std::string>& values, bool quote) {
  std::string out;
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += quote ? ", " : "&";
    out += quote ? QuoteShortened(values[i]) : values[i];
  }
  return out;
}

}  // namespace

std::string ShortJson(const nlohmann::json& j, size_t offset) {
  if (j.is_string()) return QuoteShortened(j.get_ref<const std::string&>(), offset);
  std::string dumped = Dump(j);
  if (dumped.size() <= 60) return dumped;
  std::string cut = dumped.substr(0, 57);
  while (!cut.empty() && IsContinuationByte(cut.back())) cut.pop_back();
  if (!cut.empty() && (static_cast<unsigned char>(cut.back()) & 0xC0) == 0xC0) cut.pop_back();
  return cut + "...";
}

std::pair<std::string, std::string> ShortJsonPair(const nlohmann::json& a,
                                                  const nlohmann::json& b) {
  size_t offset = 0;
  if (a.is_string() && b.is_string()) {
    offset = FirstDifference(a.get_ref<const std::string&>(), b.get_ref<const std::string&>());
  }
  return {ShortJson(a, offset), ShortJson(b, offset)};
}

std::string JsonMemberPath(std::string_view parent, std::string_view key) {
  std::string path(parent);
  if (IsIdentifier(key)) {
    path += '.';
    path += key;
  } else {
    path += '[';
    path += Dump(nlohmann::json(std::string(key)));
    path += ']';
  }
  return path;
}

void ForEachJsonDifference(const nlohmann::json& a, const nlohmann::json& b, std::string_view root,
                           const std::function<void(const JsonDifference&)>& fn) {
  Walk(a, b, std::string(root), {}, fn);
}

std::string QuoteShortened(std::string_view value, size_t offset, size_t max_chars) {
  if (value.size() <= max_chars) return Dump(nlohmann::json(std::string(value)));
  offset = std::min(offset, value.size());
  size_t begin = offset > max_chars / 3 ? offset - max_chars / 3 : 0;
  size_t end = std::min(value.size(), begin + max_chars);
  if (end == value.size() && end - begin < max_chars) begin = end > max_chars ? end - max_chars : 0;
  while (begin > 0 && IsContinuationByte(value[begin])) --begin;
  while (end < value.size() && IsContinuationByte(value[end])) ++end;
  std::string quoted = Dump(nlohmann::json(std::string(value.substr(begin, end - begin))));
  // Put the ellipses inside the quotes: "...middle...".
  std::string out = "\"";
  if (begin > 0) out += "...";
  out.append(quoted, 1, quoted.size() - 2);
  if (end < value.size()) out += "...";
  out += '"';
  return out;
}

MatchResult MatchOrigin(const NormalizedRequest& live, const NormalizedRequest& recorded) {
  auto spell = [](const std::string& origin) {
    return origin.empty() ? std::string("(tapedeck's own address)") : origin;
  };
  return Single(live.origin == recorded.origin,
                "origin: " + spell(live.origin) + " != " + spell(recorded.origin));
}

MatchResult MatchMethod(const NormalizedRequest& live, const NormalizedRequest& recorded) {
  return Single(live.method == recorded.method,
                "method: " + live.method + " != " + recorded.method);
}

MatchResult MatchPath(const NormalizedRequest& live, const NormalizedRequest& recorded) {
  return Single(live.path == recorded.path, "path: " + live.path + " != " + recorded.path);
}

MatchResult MatchQuery(const NormalizedRequest& live, const NormalizedRequest& recorded) {
  Collector out(kMaxLines);
  if (live.query == recorded.query) return out.Take();
  Multimap l = Group(live.query);
  Multimap r = Group(recorded.query);
  for (const auto& [name, values] : l) {
    auto it = r.find(name);
    if (it == r.end()) {
      out.Add("query." + name + ": missing in recording");
    } else if (it->second != values) {
      out.Add("query." + name + ": " + JoinValues(values, false) +
              " != " + JoinValues(it->second, false));
    }
  }
  for (const auto& [name, values] : r) {
    if (l.find(name) == l.end()) out.Add("query." + name + ": missing in request");
  }
  return out.Take();
}

MatchResult MatchHeaders(const NormalizedRequest& live, const NormalizedRequest& recorded) {
  Collector out(kMaxLines);
  if (live.headers == recorded.headers) return out.Take();
  Multimap l = Group(live.headers);
  Multimap r = Group(recorded.headers);
  auto spell = [](const Multimap& m, const std::string& name) {
    auto it = m.find(name);
    return it == m.end() ? std::string("absent") : JoinValues(it->second, true);
  };
  Multimap all = l;
  all.insert(r.begin(), r.end());
  for (const auto& [name, unused] : all) {
    std::string a = spell(l, name);
    std::string b = spell(r, name);
    if (a != b) out.Add("header " + name + ": " + a + " != " + b);
  }
  return out.Take();
}

MatchResult DiffJson(const nlohmann::json& live, const nlohmann::json& recorded,
                     std::string_view root, size_t max_lines) {
  Collector out(max_lines);
  Diff(live, recorded, std::string(root), &out);
  return out.Take();
}

MatchResult MatchBody(const NormalizedRequest& live, const NormalizedRequest& recorded) {
  if (live.body_is_json && recorded.body_is_json) {
    return DiffJson(live.body_json, recorded.body_json, "body", kMaxLines);
  }
  if (live.body_is_json != recorded.body_is_json) {
    std::string l = live.body_is_json ? "JSON " + ShortJson(live.body_json)
                                      : "text " + QuoteShortened(live.body_text);
    std::string r = recorded.body_is_json ? "JSON " + ShortJson(recorded.body_json)
                                          : "text " + QuoteShortened(recorded.body_text);
    return Single(false, "body: " + l + " != " + r);
  }
  if (live.body_text == recorded.body_text) return MatchResult{};
  if (live.body_text.empty() || recorded.body_text.empty()) {
    auto spell = [](const std::string& t) { return t.empty() ? "empty" : QuoteShortened(t); };
    return Single(false, "body: " + spell(live.body_text) + " != " + spell(recorded.body_text));
  }
  size_t offset = FirstDifference(live.body_text, recorded.body_text);
  return Single(false, "body: " + QuoteShortened(live.body_text, offset) +
                           " != " + QuoteShortened(recorded.body_text, offset) + " (at offset " +
                           std::to_string(offset) + ")");
}

const std::vector<NamedMatcher>& DefaultMatchers() {
  static const std::vector<NamedMatcher> kMatchers = {
      {"origin", &MatchOrigin}, {"method", &MatchMethod},   {"path", &MatchPath},
      {"query", &MatchQuery},   {"headers", &MatchHeaders}, {"body", &MatchBody},
  };
  return kMatchers;
}

}  // namespace td::replay
