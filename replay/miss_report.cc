// Nearest-interaction search and the miss messages.
#include "replay/miss_report.h"

#include <algorithm>

#include "replay/matchers.h"

namespace td::replay {
namespace {

// Candidates that get a full diff; the rest of a large tie are ranked by body size alone.
constexpr size_t kMaxDetailed = 32;
// Differences quoted in the one-paragraph message.
constexpr size_t kMessageDiffs = 5;

std::string Describe(const NormalizedRequest& n) {
  std::string out = n.method + " " + n.origin + n.path;
  if (n.body_is_json && n.body_json.is_object()) {
    auto it = n.body_json.find("model");
    if (it != n.body_json.end() && it->is_string()) {
      out += " (model " + it->get<std::string>() + ")";
    }
  }
  return out;
}

std::string IndexList(const std::vector<size_t>& indices) {
  std::string out;
  for (size_t i = 0; i < indices.size(); ++i) {
    if (i > 0) out += ", ";
    if (i == 8 && indices.size() > 9) {
      out += "... " + std::to_string(indices.size() - i) + " more";
      break;
    }
    out += "#" + std::to_string(indices[i]);
  }
  return out;
}

size_t SizeDistance(size_t a, size_t b) { return a > b ? a - b : b - a; }

}  // namespace

MissReport ExplainMiss(const cassette::Request& live, const Index& index) {
  MissReport report;
  report.request = live.method + " " + live.Url();
  report.recorded = index.size();
  if (index.size() == 0) return report;

  NormalizedRequest l = index.normalizer().Normalize(live);
  const std::string live_body = l.CanonicalBody();
  const BodyKey live_key = RequestNormalizer::KeyOf(live_body);
  // The length of recorded request i's canonical body, and whether it is the live one: from the
  // keys the index keeps, building a recorded canonical body only when the keys meet.
  auto body_size = [&](size_t i) { return static_cast<size_t>(index.CanonicalKey(i).size); };
  auto same_body = [&](size_t i) {
    return index.CanonicalKey(i) == live_key && index.CanonicalBody(i) == live_body;
  };

  // Cheap pass: which matchers pass, with the body compared by canonical spelling.
  std::vector<size_t> passes(index.size());
  size_t best = 0;
  for (size_t i = 0; i < index.size(); ++i) {
    const NormalizedRequest& h = index.Head(i);
    passes[i] = (l.method == h.method) + (l.path == h.path) + (l.query == h.query) +
                (l.headers == h.headers) + same_body(i);
    best = std::max(best, passes[i]);
  }
  std::vector<size_t> tier;
  for (size_t i = 0; i < index.size(); ++i) {
    if (passes[i] == best) tier.push_back(i);
  }
  if (tier.size() > kMaxDetailed) {
    std::stable_sort(tier.begin(), tier.end(), [&](size_t a, size_t b) {
      return SizeDistance(live_body.size(), body_size(a)) <
             SizeDistance(live_body.size(), body_size(b));
    });
    tier.resize(kMaxDetailed);
    std::sort(tier.begin(), tier.end());
  }

  // Full diffs for the tier; the fewest differences wins, then the closest body size (a
  // conversation one turn on), then the lowest index.
  size_t best_distance = 0;
  for (size_t i : tier) {
    NormalizedRequest r = index.Normalized(i);
    std::vector<std::string> failed;
    std::vector<std::string> diffs;
    size_t count = 0;
    for (const NamedMatcher& m : DefaultMatchers()) {
      MatchResult result = m.match(l, r);
      if (result.ok) continue;
      failed.emplace_back(m.name);
      count += result.diff_count;
      diffs.insert(diffs.end(), result.diffs.begin(), result.diffs.end());
    }
    size_t distance = SizeDistance(live_body.size(), body_size(i));
    if (report.nearest &&
        (count > report.diff_count || (count == report.diff_count && distance >= best_distance))) {
      continue;
    }
    best_distance = distance;
    report.nearest = i;
    report.nearest_request = Describe(r);
    report.matchers_passed = DefaultMatchers().size() - failed.size();
    report.failed = std::move(failed);
    report.diffs = std::move(diffs);
    report.diff_count = count;
  }
  return report;
}

MissReport ExplainExhausted(const cassette::Request& live, const Index& index,
                            const Index::Lookup& lookup) {
  MissReport report;
  report.kind = MissReport::Kind::kExhausted;
  report.request = live.method + " " + live.Url();
  report.recorded = index.size();
  if (lookup.copies != nullptr) report.copies = *lookup.copies;
  return report;
}

std::string MissReport::Message() const {
  std::string out = "tapedeck replay: ";
  if (kind == Kind::kExhausted) {
    out += "every recorded interaction matching " + request + " (" + IndexList(copies) +
           ") was already served, and on-exhausted is error";
    return out;
  }
  out += "no recorded interaction matches " + request;
  if (!nearest) return out + "; the cassette has no interactions";
  out += "; nearest is #" + std::to_string(*nearest) + " (" + nearest_request + ")";
  if (diffs.empty()) return out;
  out += " which differs at: ";
  size_t shown = std::min(diffs.size(), kMessageDiffs);
  for (size_t i = 0; i < shown; ++i) {
    if (i > 0) out += "; ";
    out += diffs[i];
  }
  if (diff_count > shown) out += "; and " + std::to_string(diff_count - shown) + " more";
  return out;
}

std::vector<std::string> MissReport::LogLines() const {
  std::vector<std::string> lines;
  if (kind == Kind::kExhausted) {
    lines.push_back("replay exhausted: " + request + ": all " + std::to_string(copies.size()) +
                    " recorded copies served (" + IndexList(copies) + "); on-exhausted is error");
    return lines;
  }
  lines.push_back("replay miss: " + request + ": no recorded interaction matches (" +
                  std::to_string(recorded) + " recorded)");
  if (!nearest) return lines;
  std::string failing;
  for (const std::string& f : failed) failing += (failing.empty() ? "" : ", ") + f;
  lines.push_back("  nearest: #" + std::to_string(*nearest) + " " + nearest_request + ", " +
                  std::to_string(matchers_passed) + " of " +
                  std::to_string(DefaultMatchers().size()) + " matchers pass" +
                  (failing.empty() ? "" : "; differs in " + failing));
  for (const std::string& d : diffs) lines.push_back("    " + d);
  return lines;
}

}  // namespace td::replay
