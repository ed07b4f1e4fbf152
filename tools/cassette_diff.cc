// The semantic diff of two cassettes: pairing by match key, the comparison of a pair, renderers.
#include "tools/cassette_diff.h"

#include <algorithm>
#include <deque>
#include <functional>
#include <map>
#include <unordered_map>
#include <utility>

#include "cassette/base/ascii.h"
#include "cassette/sse.h"
#include "cassette/volatile.h"
#include "replay/index.h"
#include "replay/matchers.h"

namespace td::cli {
namespace {

using cassette::Interaction;
using nlohmann::json;

std::string Describe(const cassette::Request& r) {
  std::string model = cassette::ModelOf(r);
  return r.method + " " + r.Url() + (model.empty() ? "" : " (model " + model + ")");
}

// A body as a JSON value: the parsed document, or the bytes as a string when they are not JSON.
json BodyJson(std::string_view bytes) {
  if (bytes.empty()) return std::string();
  json j = json::parse(bytes, nullptr, false);
  if (j.is_discarded()) return std::string(bytes);
  return j;
}

// A JSON difference that is only a recording's own randomness or clock: one that masking the
// per-recording values (cassette/volatile.h, the rule `cat --stable` applies) makes disappear.
// A member that appears or goes is schema drift, never noise.
bool IsVolatileJson(const replay::JsonDifference& d) {
  if (d.a == nullptr || d.b == nullptr || d.member.empty()) return false;
  const std::string member(d.member);
  nlohmann::ordered_json a = {{member, nlohmann::ordered_json(*d.a)}};
  nlohmann::ordered_json b = {{member, nlohmann::ordered_json(*d.b)}};
  return cassette::MaskVolatileJson(&a) > 0 && cassette::MaskVolatileJson(&b) > 0 && a == b;
}

class Comparer {
 public:
  explicit Comparer(const DiffOptions& options) : options_(options) {
    for (const std::string& h : options.match.ignore_headers) {
      ignored_headers_.push_back(ToLowerAscii(h));
    }
  }

  // The differences of JSON values `a` and `b` under `root`, classified.
  void Json(const json& a, const json& b, const std::string& root,
            std::vector<DiffChange>* out) const {
    replay::ForEachJsonDifference(a, b, root, [&](const replay::JsonDifference& d) {
      if (!options_.compare_timing && IsVolatileJson(d)) return;
      DiffChange c;
      c.path = d.path;
      if (d.a != nullptr) c.from = *d.a;
      if (d.b != nullptr) c.to = *d.b;
      const bool element = d.member.empty();
      if (d.a == nullptr) {
        c.kind = element ? ChangeKind::kElementAdded : ChangeKind::kFieldAdded;
      } else if (d.b == nullptr) {
        c.kind = element ? ChangeKind::kElementGone : ChangeKind::kFieldGone;
      } else if (std::string_view(d.a->type_name()) != d.b->type_name()) {
        c.kind = ChangeKind::kTypeChanged;
      } else if (d.member == "model") {
        c.kind = ChangeKind::kModelChanged;
      } else {
        c.kind = ChangeKind::kChanged;
      }
      out->push_back(std::move(c));
    });
  }

  void Headers(const cassette::Headers& a, const cassette::Headers& b, const std::string& root,
               std::vector<DiffChange>* out) const {
    std::map<std::string, std::vector<std::string>> ga = Group(a);
    std::map<std::string, std::vector<std::string>> gb = Group(b);
    std::map<std::string, bool> names;
    for (const auto& [name, unused] : ga) names[name] = true;
    for (const auto& [name, unused] : gb) names[name] = true;
    for (const auto& [name, unused] : names) {
      auto ia = ga.find(name);
      auto ib = gb.find(name);
      DiffChange c;
      c.path = replay::JsonMemberPath(root, name);
      if (ia == ga.end()) {
        c.kind = ChangeKind::kHeaderAdded;
        c.to = Values(ib->second);
      } else if (ib == gb.end()) {
        c.kind = ChangeKind::kHeaderRemoved;
        c.from = Values(ia->second);
      } else if (ia->second != ib->second) {
        c.kind = ChangeKind::kHeaderChanged;
        c.from = Values(ia->second);
        c.to = Values(ib->second);
      } else {
        continue;
      }
      out->push_back(std::move(c));
    }
  }

  void Response(const cassette::Response& a, const cassette::Response& b,
                std::vector<DiffChange>* out) const {
    if (a.status != b.status) {
      out->push_back({ChangeKind::kStatus, "response.status", a.status, b.status});
    }
    Headers(a.headers, b.headers, "response.headers", out);
    const std::string_view kind_a = BodyKind(a);
    const std::string_view kind_b = BodyKind(b);
    if (kind_a != kind_b) {
      out->push_back(
          {ChangeKind::kTypeChanged, "response.body", std::string(kind_a), std::string(kind_b)});
    } else if (a.stream && a.stream->kind == cassette::StreamKind::kSse) {
      Events(*a.stream, *b.stream, out);
    } else {
      Json(BodyJson(a.stream ? a.stream->Concatenated() : a.body.bytes),
           BodyJson(b.stream ? b.stream->Concatenated() : b.body.bytes), "response.body", out);
    }
  }

  void Timing(const Interaction& a, const Interaction& b, std::vector<DiffChange>* out) const {
    if (!options_.compare_timing) return;
    if (a.recorded_at_us != b.recorded_at_us) {
      out->push_back({ChangeKind::kChanged, "recorded_at", FormatRfc3339Micros(a.recorded_at_us),
                      FormatRfc3339Micros(b.recorded_at_us)});
    }
    if (a.timing.headers_us != b.timing.headers_us) {
      out->push_back(
          {ChangeKind::kChanged, "timing.headers_us", a.timing.headers_us, b.timing.headers_us});
    }
    if (a.timing.done_us != b.timing.done_us) {
      out->push_back({ChangeKind::kChanged, "timing.done_us", a.timing.done_us, b.timing.done_us});
    }
  }

 private:
  struct Event {
    std::string type;  // SSE type ("message" by default), "[DONE]", or "(comment)"
    json data;
    const cassette::StreamEvent* raw;
  };

  bool Ignored(const std::string& lower_name) const {
    if (!options_.compare_timing && cassette::IsVolatileHeader(lower_name)) return true;
    return std::find(ignored_headers_.begin(), ignored_headers_.end(), lower_name) !=
           ignored_headers_.end();
  }

  std::map<std::string, std::vector<std::string>> Group(const cassette::Headers& headers) const {
    std::map<std::string, std::vector<std::string>> out;
    for (const auto& [name, value] : headers) {
      std::string lower = ToLowerAscii(name);
      if (!Ignored(lower)) out[lower].push_back(value);
    }
    return out;
  }

  static json Values(const std::vector<std::string>& values) {
    if (values.size() == 1) return values.front();
    return json(values);
  }

  static std::string_view BodyKind(const cassette::Response& r) {
    if (!r.stream) return "body";
    return r.stream->kind == cassette::StreamKind::kSse ? "SSE stream" : "chunked stream";
  }

  // The events that count, grouped by type, each group in stream order; types in order of
  // first appearance.
  std::vector<std::pair<std::string, std::vector<Event>>> ByType(const cassette::Stream& s) const {
    std::vector<std::pair<std::string, std::vector<Event>>> out;
    for (const cassette::StreamEvent& e : s.events) {
      cassette::SseFields f = cassette::ParseSseEvent(e.bytes);
      Event ev{f.event.empty() ? "message" : f.event, json(), &e};
      if (!f.has_data && f.event.empty()) {
        ev.type = "(comment)";
        std::string text;
        for (const std::string& c : f.comments) text += (text.empty() ? "" : "\n") + c;
        ev.data = text;
      } else if (cassette::IsDoneEvent(f)) {
        ev.type = "[DONE]";
        ev.data = f.data;
      } else {
        ev.data = f.has_data ? BodyJson(f.data) : json();
      }
      // Keep-alives come and go with time: pings and comments are timing.
      if (!options_.compare_timing && (ev.type == "ping" || ev.type == "(comment)")) continue;
      auto it =
          std::find_if(out.begin(), out.end(), [&](const auto& g) { return g.first == ev.type; });
      if (it == out.end()) {
        out.emplace_back(ev.type, std::vector<Event>{});
        it = out.end() - 1;
      }
      it->second.push_back(std::move(ev));
    }
    return out;
  }

  static json Splits(const cassette::StreamEvent& e) {
    json out = json::array();
    for (const cassette::Split& s : e.splits) out.push_back({{"end", s.end}, {"at_us", s.at_us}});
    return out;
  }

  void Events(const cassette::Stream& a, const cassette::Stream& b,
              std::vector<DiffChange>* out) const {
    auto ga = ByType(a);
    auto gb = ByType(b);
    std::vector<std::string> types;
    for (const auto& g : ga) types.push_back(g.first);
    for (const auto& g : gb) {
      if (std::find(types.begin(), types.end(), g.first) == types.end()) types.push_back(g.first);
    }
    static const std::vector<Event> kNone;
    auto of = [](const auto& groups, const std::string& type) -> const std::vector<Event>& {
      for (const auto& g : groups) {
        if (g.first == type) return g.second;
      }
      return kNone;
    };
    for (const std::string& type : types) {
      const std::vector<Event>& ea = of(ga, type);
      const std::vector<Event>& eb = of(gb, type);
      const std::string root = replay::JsonMemberPath("response.events", type);
      for (size_t k = 0; k < std::max(ea.size(), eb.size()); ++k) {
        const std::string path = root + "[" + std::to_string(k) + "]";
        if (k >= ea.size()) {
          out->push_back({ChangeKind::kEventAdded, path, std::nullopt, eb[k].data});
        } else if (k >= eb.size()) {
          out->push_back({ChangeKind::kEventRemoved, path, ea[k].data, std::nullopt});
        } else {
          Json(ea[k].data, eb[k].data, path, out);
          if (!options_.compare_timing) continue;
          if (ea[k].raw->at_us != eb[k].raw->at_us) {
            out->push_back(
                {ChangeKind::kChanged, path + ".at_us", ea[k].raw->at_us, eb[k].raw->at_us});
          }
          Json(Splits(*ea[k].raw), Splits(*eb[k].raw), path + ".splits", out);
        }
      }
    }
  }

  const DiffOptions& options_;
  std::vector<std::string> ignored_headers_;  // lower case
};

bool SameHead(const replay::NormalizedRequest& a, const replay::NormalizedRequest& b) {
  return a.method == b.method && a.path == b.path && a.query == b.query && a.headers == b.headers;
}

json NormalizedBody(const replay::NormalizedRequest& n) {
  return n.body_is_json ? n.body_json : json(n.body_text);
}

std::string ChangeLine(const DiffChange& c) {
  static const json kNull;
  const json& from = c.from ? *c.from : kNull;
  const json& to = c.to ? *c.to : kNull;
  switch (c.kind) {
    case ChangeKind::kStatus:
    case ChangeKind::kChanged:
    case ChangeKind::kHeaderChanged: {
      auto [a, b] = replay::ShortJsonPair(from, to);
      return c.path + ": " + a + " -> " + b;
    }
    case ChangeKind::kTypeChanged:
    case ChangeKind::kModelChanged: {
      auto [a, b] = replay::ShortJsonPair(from, to);
      return c.path + ": " + std::string(ChangeKindName(c.kind)) + " " + a + " -> " + b;
    }
    case ChangeKind::kFieldAdded:
    case ChangeKind::kElementAdded:
    case ChangeKind::kHeaderAdded:
    case ChangeKind::kEventAdded:
      return c.path + ": " + std::string(ChangeKindName(c.kind)) + " " + replay::ShortJson(to);
    case ChangeKind::kFieldGone:
    case ChangeKind::kElementGone:
    case ChangeKind::kHeaderRemoved:
    case ChangeKind::kEventRemoved:
      return c.path + ": " + std::string(ChangeKindName(c.kind)) + " " + replay::ShortJson(from);
  }
  return c.path;
}

std::string Plural(size_t n, std::string_view noun) {
  return std::to_string(n) + " " + std::string(noun) + (n == 1 ? "" : "s");
}

nlohmann::ordered_json ChangesJson(const std::vector<DiffChange>& changes) {
  nlohmann::ordered_json out = nlohmann::ordered_json::array();
  for (const DiffChange& c : changes) {
    nlohmann::ordered_json j;
    j["kind"] = ChangeKindName(c.kind);
    j["path"] = c.path;
    if (c.from) j["from"] = *c.from;
    if (c.to) j["to"] = *c.to;
    out.push_back(std::move(j));
  }
  return out;
}

}  // namespace

std::string_view ChangeKindName(ChangeKind kind) {
  switch (kind) {
    case ChangeKind::kStatus:
      return "status";
    case ChangeKind::kChanged:
      return "changed";
    case ChangeKind::kFieldAdded:
      return "field added";
    case ChangeKind::kFieldGone:
      return "field gone";
    case ChangeKind::kElementAdded:
      return "element added";
    case ChangeKind::kElementGone:
      return "element gone";
    case ChangeKind::kTypeChanged:
      return "type changed";
    case ChangeKind::kModelChanged:
      return "model changed";
    case ChangeKind::kHeaderAdded:
      return "header added";
    case ChangeKind::kHeaderRemoved:
      return "header removed";
    case ChangeKind::kHeaderChanged:
      return "header changed";
    case ChangeKind::kEventAdded:
      return "event added";
    case ChangeKind::kEventRemoved:
      return "event removed";
  }
  return "?";
}

Result<CassetteDiff> DiffCassettes(const cassette::Cassette& a, const cassette::Cassette& b,
                                   const DiffOptions& options) {
  Result<replay::Index> index = replay::Index::Create(options.match, replay::OnExhausted::kError);
  if (!index.ok()) return index.status();
  CassetteDiff diff;
  diff.a_interactions = a.interactions.size();
  diff.b_interactions = b.interactions.size();
  if (options.compare_timing && a.created_at_us != b.created_at_us) {
    diff.cassette.push_back({ChangeKind::kChanged, "created_at",
                             FormatRfc3339Micros(a.created_at_us),
                             FormatRfc3339Micros(b.created_at_us)});
  }

  // Pass 1: equal match keys, first with first. A's requests are the index; a B request whose
  // body is none of A's gets a key no A request has.
  for (const Interaction& it : a.interactions) index->Add(it.request);
  std::unordered_map<std::string, std::deque<size_t>> by_key;
  for (size_t i = 0; i < a.interactions.size(); ++i) {
    by_key[index->Key(a.interactions[i].request)].push_back(i);
  }
  struct Pair {
    size_t a;
    size_t b;
    bool same_key;
  };
  std::vector<Pair> pairs;
  std::vector<bool> a_paired(a.interactions.size());
  std::vector<size_t> b_left;
  for (size_t j = 0; j < b.interactions.size(); ++j) {
    auto it = by_key.find(index->Key(b.interactions[j].request));
    if (it == by_key.end() || it->second.empty()) {
      b_left.push_back(j);
      continue;
    }
    pairs.push_back({it->second.front(), j, true});
    a_paired[it->second.front()] = true;
    it->second.pop_front();
  }
  // Pass 2: the same method, path, query and matched headers, in order: a request whose body
  // changed, reported as a pair rather than as one removed and one added.
  const replay::RequestNormalizer& normalizer = index->normalizer();
  std::vector<size_t> unpaired_b;
  for (size_t j : b_left) {
    replay::NormalizedRequest head = normalizer.NormalizeHead(b.interactions[j].request);
    bool found = false;
    for (size_t i = 0; i < a.interactions.size() && !found; ++i) {
      if (a_paired[i] || !SameHead(index->Head(i), head)) continue;
      pairs.push_back({i, j, false});
      a_paired[i] = true;
      found = true;
    }
    if (!found) unpaired_b.push_back(j);
  }
  for (size_t i = 0; i < a.interactions.size(); ++i) {
    if (!a_paired[i]) diff.removed.push_back({i, Describe(a.interactions[i].request)});
  }
  for (size_t j : unpaired_b) diff.added.push_back({j, Describe(b.interactions[j].request)});
  std::sort(pairs.begin(), pairs.end(), [](const Pair& x, const Pair& y) { return x.a < y.a; });
  diff.pairs = pairs.size();

  Comparer compare(options);
  for (const Pair& p : pairs) {
    const Interaction& ia = a.interactions[p.a];
    const Interaction& ib = b.interactions[p.b];
    PairDiff pd{p.a, p.b, Describe(ia.request), p.same_key, {}};
    if (!p.same_key) {
      compare.Json(NormalizedBody(index->Normalized(p.a)),
                   NormalizedBody(normalizer.Normalize(ib.request)), "request.body", &pd.changes);
    }
    compare.Headers(ia.request.headers, ib.request.headers, "request.headers", &pd.changes);
    compare.Response(ia.response, ib.response, &pd.changes);
    if (ia.truncated != ib.truncated) {
      auto reason = [](const std::optional<std::string>& t) { return t ? json(*t) : json(); };
      pd.changes.push_back(
          {ChangeKind::kChanged, "truncated", reason(ia.truncated), reason(ib.truncated)});
    }
    compare.Timing(ia, ib, &pd.changes);
    if (!pd.changes.empty()) diff.changed.push_back(std::move(pd));
  }
  return diff;
}

std::string RenderDiffText(const CassetteDiff& diff, std::string_view name_a,
                           std::string_view name_b, size_t max_changes) {
  std::string out;
  out += "--- " + std::string(name_a) + " (" + Plural(diff.a_interactions, "interaction") + ")\n";
  out += "+++ " + std::string(name_b) + " (" + Plural(diff.b_interactions, "interaction") + ")\n";
  auto changes = [&](const std::vector<DiffChange>& list) {
    for (size_t i = 0; i < list.size(); ++i) {
      if (i == max_changes) {
        out += "  ... and " + Plural(list.size() - i, "more change") + " (--json lists all)\n";
        break;
      }
      out += "  " + ChangeLine(list[i]) + "\n";
    }
  };
  if (!diff.cassette.empty()) {
    out += "cassette:\n";
    changes(diff.cassette);
  }
  for (const UnpairedInteraction& u : diff.added) {
    out += "added B#" + std::to_string(u.index) + ": " + u.request + "\n";
  }
  for (const UnpairedInteraction& u : diff.removed) {
    out += "removed A#" + std::to_string(u.index) + ": " + u.request + "\n";
  }
  for (const PairDiff& p : diff.changed) {
    out += "changed A#" + std::to_string(p.a) + " -> B#" + std::to_string(p.b) + ": " + p.key +
           (p.same_key ? "" : " (request changed)") + "\n";
    changes(p.changes);
  }
  if (diff.same()) {
    out += "same: " + Plural(diff.pairs, "pair") + ", no differences\n";
  } else {
    out += "different: " + std::to_string(diff.changed.size()) + " of " +
           Plural(diff.pairs, "pair") + " changed, " + std::to_string(diff.added.size()) +
           " added, " + std::to_string(diff.removed.size()) + " removed" +
           (diff.cassette.empty() ? "" : ", the cassette's own fields changed") + "\n";
  }
  return out;
}

std::string RenderDiffJson(const CassetteDiff& diff) {
  nlohmann::ordered_json j;
  j["same"] = diff.same();
  j["cassette"] = ChangesJson(diff.cassette);
  j["added"] = nlohmann::ordered_json::array();
  for (const UnpairedInteraction& u : diff.added) {
    j["added"].push_back({{"b", u.index}, {"request", u.request}});
  }
  j["removed"] = nlohmann::ordered_json::array();
  for (const UnpairedInteraction& u : diff.removed) {
    j["removed"].push_back({{"a", u.index}, {"request", u.request}});
  }
  j["changed"] = nlohmann::ordered_json::array();
  for (const PairDiff& p : diff.changed) {
    nlohmann::ordered_json pair;
    pair["a"] = p.a;
    pair["b"] = p.b;
    pair["key"] = p.key;
    pair["same_key"] = p.same_key;
    pair["changes"] = ChangesJson(p.changes);
    j["changed"].push_back(std::move(pair));
  }
  return j.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
}

}  // namespace td::cli
