// The replay index: match keys, FIFO buckets and use counts.
#include "replay/index.h"

#include <algorithm>
#include <charconv>

namespace td::replay {
namespace {

// Appends `field` length-prefixed, so no separator inside a field can fake another key.
void AppendField(std::string* key, std::string_view field) {
  char digits[24];
  key->append(digits, std::to_chars(digits, digits + sizeof digits, field.size()).ptr);
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
    : normalizer_(std::move(normalizer)),
      on_exhausted_(on_exhausted),
      bytes_(std::make_unique<BulkMemory>()) {}

Index::Index(Index&&) noexcept = default;
Index& Index::operator=(Index&&) noexcept = default;
Index::~Index() = default;

std::string Index::HeadKey(const cassette::Request& request) const {
  std::string key;
  key.reserve(64 + request.origin.size() + request.path.size());
  if (normalizer_.HeadIsVerbatim(request)) {  // the usual request: nothing to normalise
    AppendField(&key, request.origin);
    AppendField(&key, request.method);
    AppendField(&key, request.path);
    key.append("?HB");
    return key;
  }
  NormalizedRequest head = normalizer_.NormalizeHead(request);
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

const std::string& Index::Canonical(std::uint32_t id) const {
  const RecordedBody& body = bodies_[id];
  if (!body.canonical) {
    NormalizedRequest n;
    normalizer_.NormalizeBody(body.raw, &n);
    body.canonical = std::make_unique<const std::string>(n.CanonicalBody());
  }
  return *body.canonical;
}

std::uint32_t Index::Find(std::string_view raw, const BodyKey& key,
                          std::optional<std::string>* canonical) const {
  auto [it, end] = by_key_.equal_range(key.hash);
  for (; it != end; ++it) {
    const std::uint32_t id = it->second;
    if (bodies_[id].key.size != key.size) continue;
    // Keys meet: compare the canonical bodies themselves, so a collision is never a match.
    if (!*canonical) {
      NormalizedRequest n;
      normalizer_.NormalizeBody(raw, &n);
      *canonical = n.CanonicalBody();
    }
    if (Canonical(id) == **canonical) return id;
  }
  return kUnknownBody;
}

std::uint32_t Index::BodyId(std::string_view raw_body) const {
  auto raw = raw_bodies_.find(RawBody::Of(raw_body));
  if (raw != raw_bodies_.end()) return raw->second;
  std::optional<std::string> canonical;
  const BodyKey key = normalizer_.BodyKeyOf(raw_body, &canonical);
  return Find(raw_body, key, &canonical);
}

std::string Index::Key(const cassette::Request& request) const {
  std::string key = HeadKey(request);
  std::uint32_t id = BodyId(request.body.bytes);
  if (id == kUnknownBody) {
    key.push_back('?');
  } else {
    char digits[16];
    key.append(digits, std::to_chars(digits, digits + sizeof digits, id).ptr);
  }
  return key;
}

size_t Index::Add(const cassette::Request& request) {
  size_t index = heads_.size();
  std::uint32_t id;
  const RawBody raw_body = RawBody::Of(request.body.bytes);
  auto raw = raw_bodies_.find(raw_body);
  if (raw != raw_bodies_.end()) {
    id = raw->second;
  } else {
    std::optional<std::string> canonical;
    const BodyKey key = normalizer_.BodyKeyOf(request.body.bytes, &canonical);
    id = Find(request.body.bytes, key, &canonical);
    // The bytes are kept in bulk memory: for a large cassette they are most of the index.
    const std::string_view bytes = request.body.bytes;
    char* stored = static_cast<char*>(bytes_->allocate(std::max<size_t>(bytes.size(), 1), 1));
    std::copy(bytes.begin(), bytes.end(), stored);
    const std::string_view kept(stored, bytes.size());
    if (id == kUnknownBody) {
      id = static_cast<std::uint32_t>(bodies_.size());
      RecordedBody& body = bodies_.emplace_back();
      body.key = key;
      body.raw = kept;
      if (canonical) body.canonical = std::make_unique<const std::string>(std::move(*canonical));
      by_key_.emplace(key.hash, id);
    }
    raw_bodies_.emplace(RawBody{kept, raw_body.hash}, id);
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
