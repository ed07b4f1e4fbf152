// The replay index: match keys, FIFO buckets and use counts.
#include "replay/index.h"

namespace td::replay {
namespace {

// Appends `field` length-prefixed, so no separator inside a field can fake another key.
void AppendField(std::string* key, std::string_view field) {
  key->append(std::to_string(field.size()));
  key->push_back(':');
  key->append(field);
}

}  // namespace

Result<OnExhausted> ParseOnExhausted(std::string_view text) {
  if (text == "repeat-last") return OnExhausted::kRepeatLast;
  if (text == "error") return OnExhausted::kError;
  return InvalidArgumentError("--on-exhausted \"" + std::string(text) +
                              "\": expected repeat-last or error");
}

Result<Index> Index::Create(MatchOptions options, OnExhausted on_exhausted) {
  Result<RequestNormalizer> normalizer = RequestNormalizer::Create(std::move(options));
  if (!normalizer.ok()) return normalizer.status();
  return Index(std::move(*normalizer), on_exhausted);
}

Index::Index(RequestNormalizer normalizer, OnExhausted on_exhausted)
    : normalizer_(std::move(normalizer)), on_exhausted_(on_exhausted) {}

std::string Index::HeadKey(const cassette::Request& request) const {
  NormalizedRequest head = normalizer_.NormalizeHead(request);
  std::string key;
  key.reserve(64 + request.origin.size() + request.path.size());
  AppendField(&key, head.origin);
  AppendField(&key, head.method);
  AppendField(&key, head.path);
  key.push_back('?');
  for (const auto& [k, v] : head.query) {
    AppendField(&key, k);
    AppendField(&key, v);
  }
  key.push_back('H');
  for (const auto& [k, v] : head.headers) {
    AppendField(&key, k);
    AppendField(&key, v);
  }
  key.push_back('B');
  return key;
}

std::uint32_t Index::BodyId(std::string_view raw_body) const {
  auto raw = raw_bodies_.find(raw_body);
  if (raw != raw_bodies_.end()) return raw->second;
  NormalizedRequest body;
  normalizer_.NormalizeBody(raw_body, &body);
  auto canonical = canonical_bodies_.find(body.CanonicalBody());
  return canonical == canonical_bodies_.end() ? kUnknownBody : canonical->second;
}

std::string Index::Key(const cassette::Request& request) const {
  std::string key = HeadKey(request);
  std::uint32_t id = BodyId(request.body.bytes);
  key += id == kUnknownBody ? std::string("?") : std::to_string(id);
  return key;
}

size_t Index::Add(const cassette::Request& request) {
  size_t index = heads_.size();
  std::uint32_t id;
  auto raw = raw_bodies_.find(request.body.bytes);
  if (raw != raw_bodies_.end()) {
    id = raw->second;
  } else {
    NormalizedRequest body;
    normalizer_.NormalizeBody(request.body.bytes, &body);
    std::string canonical = body.CanonicalBody();
    auto found = canonical_bodies_.find(canonical);
    if (found != canonical_bodies_.end()) {
      id = found->second;
    } else {
      id = static_cast<std::uint32_t>(canonical_by_id_.size());
      const std::string& stored = storage_.emplace_back(std::move(canonical));
      canonical_bodies_.emplace(stored, id);
      canonical_by_id_.push_back(&stored);
    }
    raw_bodies_.emplace(storage_.emplace_back(request.body.bytes), id);
  }
  heads_.push_back(normalizer_.NormalizeHead(request));
  body_id_.push_back(id);
  uses_.push_back(0);
  std::string key = HeadKey(request) + std::to_string(id);
  buckets_[key].order.push_back(index);
  return index;
}

Index::Lookup Index::Next(const std::string& key) {
  Lookup lookup;
  auto it = buckets_.find(key);
  if (it == buckets_.end()) return lookup;
  Bucket& bucket = it->second;
  lookup.copies = &bucket.order;
  if (bucket.next < bucket.order.size()) {
    lookup.kind = Lookup::Kind::kHit;
    lookup.index = bucket.order[bucket.next++];
  } else if (on_exhausted_ == OnExhausted::kRepeatLast) {
    lookup.kind = Lookup::Kind::kHit;
    lookup.index = bucket.order.back();
    lookup.repeated = true;
  } else {
    lookup.kind = Lookup::Kind::kExhausted;
    lookup.index = bucket.order.back();
    return lookup;
  }
  ++uses_[lookup.index];
  return lookup;
}

std::vector<size_t> Index::Unused() const {
  std::vector<size_t> unused;
  for (size_t i = 0; i < uses_.size(); ++i) {
    if (uses_[i] == 0) unused.push_back(i);
  }
  return unused;
}

NormalizedRequest Index::Normalized(size_t i) const {
  NormalizedRequest n = heads_[i];
  const std::string& canonical = CanonicalBody(i);
  if (!canonical.empty() && canonical[0] == 'j') {
    n.body_is_json = true;
    n.body_json = nlohmann::json::parse(std::string_view(canonical).substr(1), nullptr, false);
  } else {
    n.body_text = canonical.substr(1);
  }
  return n;
}

}  // namespace td::replay
