// File: replay/index.h
//
// The replay index: recorded requests grouped by match key, each group a FIFO of interaction
// indices in recorded order (the order of the cassette file; see docs/matching.md for why not
// `seq`). A hit costs one normalisation of the live request and one hash lookup; a live body
// whose bytes equal a recorded body's skips JSON parsing altogether. Recorded bodies are told
// apart by the key of their canonical body (BodyKey), read off their text in one pass; the
// canonical bodies themselves are built only when keys meet or a miss report needs them. Also
// counts how often each interaction was served, for the unused report.
//
// Threading: not thread-safe; used on the event-loop thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "cassette/base/bulk_memory.h"
#include "cassette/base/status.h"
#include "cassette/model.h"
#include "replay/normalize.h"

namespace td::replay {

// What a request gets once every recorded copy of it has been served.
enum class OnExhausted {
  kRepeatLast,  // the last recorded copy again (default)
  kError,       // a miss-like error ("exhausted")
};
// Parses "repeat-last" or "error".
Result<OnExhausted> ParseOnExhausted(std::string_view text);

class Index {
 public:
  // Errors name the bad option (see RequestNormalizer::Create).
  static Result<Index> Create(MatchOptions options, OnExhausted on_exhausted);
  Index(RequestNormalizer normalizer, OnExhausted on_exhausted);
  Index(Index&&) noexcept;
  Index& operator=(Index&&) noexcept;
  ~Index();

  // Adds a recorded request (already redacted, as cassettes are). Returns its index: 0, 1, ...
  // in the order added, which is the order repeats are served in. Keeps a copy of the body's
  // bytes and the key of its canonical body (BodyKey), not the canonical body itself.
  size_t Add(const cassette::Request& request);

  // The match key of a request: equal keys <=> equal normalised requests (as long as the body
  // is one of the recorded bodies; any other body gets a key no recording has).
  std::string Key(const cassette::Request& request) const;

  // True when `raw_body` is byte for byte the body of a recorded request. Recorded requests
  // are stored redacted, and redaction is idempotent, so such a live body needs no redaction.
  bool IsRecordedBody(std::string_view raw_body) const {
    return raw_bodies_.find(RawBody::Of(raw_body)) != raw_bodies_.end();
  }

  struct Lookup {
    enum class Kind { kHit, kExhausted, kMiss };
    Kind kind = Kind::kMiss;
    size_t index = 0;       // kHit: the interaction to serve
    bool repeated = false;  // kHit: served again under kRepeatLast
    // kHit/kExhausted: every recorded copy for the key, in serving order.
    const std::vector<size_t>* copies = nullptr;
  };
  // Takes the next interaction for `key`: the recorded copies in order, then per the policy.
  // `copies` points into the index; valid until the next Add().
  Lookup Next(const std::string& key);

  size_t size() const { return heads_.size(); }
  OnExhausted on_exhausted() const { return on_exhausted_; }
  const RequestNormalizer& normalizer() const { return normalizer_; }

  // Times interaction `i` was served.
  std::uint64_t uses(size_t i) const { return uses_[i]; }
  // Counts a use of `i` served outside Next() (auto mode records it while answering).
  void CountUse(size_t i) { ++uses_[i]; }
  // Interactions never served, ascending.
  std::vector<size_t> Unused() const;

  // For miss reports: recorded request `i`, normalised, without its body...
  const NormalizedRequest& Head(size_t i) const { return heads_[i]; }
  // ...the key of its canonical body (cheap: kept since Add)...
  const BodyKey& CanonicalKey(size_t i) const { return bodies_[body_id_[i]].key; }
  // ...its canonical body (NormalizedRequest::CanonicalBody), built on first use and kept...
  const std::string& CanonicalBody(size_t i) const { return Canonical(body_id_[i]); }
  // ...and the whole normalised request (re-parses the body: not for the hot path).
  NormalizedRequest Normalized(size_t i) const;

 private:
  struct Bucket {
    std::vector<size_t> order;  // interaction indices in recorded order
    size_t next = 0;            // the next one to serve
  };
  // One distinct canonical body: a body id.
  struct RecordedBody {
    BodyKey key;
    std::string_view raw;  // the first recorded body that has it, as recorded
    mutable std::unique_ptr<const std::string> canonical;  // built when first needed
  };
  static constexpr std::uint32_t kUnknownBody = 0xffffffff;
  // Body bytes with their hash, so a lookup and the insert after it hash a long body once.
  struct RawBody {
    std::string_view bytes;
    size_t hash = 0;
    static RawBody Of(std::string_view bytes) {
      return {bytes, std::hash<std::string_view>{}(bytes)};
    }
    bool operator==(const RawBody& other) const { return bytes == other.bytes; }
    struct Hash {
      size_t operator()(const RawBody& body) const { return body.hash; }
    };
  };

  std::string HeadKey(const cassette::Request& request) const;
  std::uint32_t BodyId(std::string_view raw_body) const;
  // The recorded body whose canonical body is that of `raw` (whose key is `key`), or
  // kUnknownBody. Bodies are built only to confirm a match of keys; `raw`'s goes to (or comes
  // from) `*canonical`.
  std::uint32_t Find(std::string_view raw, const BodyKey& key,
                     std::optional<std::string>* canonical) const;
  const std::string& Canonical(std::uint32_t id) const;

  RequestNormalizer normalizer_;
  OnExhausted on_exhausted_;
  // The recorded bodies' bytes (huge pages: a large cassette's bodies are most of its memory).
  std::unique_ptr<BulkMemory> bytes_;
  std::vector<NormalizedRequest> heads_;
  std::vector<std::uint32_t> body_id_;
  std::vector<std::uint64_t> uses_;
  std::vector<RecordedBody> bodies_;  // by body id
  // Raw recorded body bytes -> body id: the fast path for live bodies sent byte for byte.
  std::unordered_map<RawBody, std::uint32_t, RawBody::Hash> raw_bodies_;
  // Canonical body key hash -> body ids.
  std::unordered_multimap<std::uint64_t, std::uint32_t> by_key_;
  std::unordered_map<std::string, Bucket> buckets_;
};

}  // namespace td::replay
