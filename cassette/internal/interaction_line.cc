// The reader's fast path: a recursive descent over one interaction line that fills the model as it
// goes and gives up (returns false) at the first thing json_mapping.cc would refuse, note or
// handle in a way this code does not copy. Each rule below names the ReadX of json_mapping.cc it
// mirrors; tests/unit/cassette/interaction_line_test.cc compares the two paths.
#include "cassette/internal/interaction_line.h"

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <unordered_set>
#include <utility>

#include "cassette/internal/codec_text.h"
#include "cassette/json_mapping.h"
#include "cassette/json_scan.h"

namespace td::cassette::internal {
namespace {

using Number = JsonScanner::Number;

class LineDecoder {
 public:
  explicit LineDecoder(std::string_view line) : s_(line) {}

  // ReadInteraction.
  bool Interaction(cassette::Interaction* out) {
    bool seq = false, recorded_at = false, request = false, response = false, timing = false,
         truncated = false;
    const bool ok = Object([&](std::string_view key) {
      if (key == "seq") return Once(&seq) && Uint64(&out->seq);
      if (key == "recorded_at") return Once(&recorded_at) && Time(&out->recorded_at_us);
      if (key == "request") return Once(&request) && Request(&out->request);
      if (key == "response") return Once(&response) && Response(&out->response);
      if (key == "timing") return Once(&timing) && Timing(&out->timing);
      if (key == "truncated") {
        if (!Once(&truncated)) return false;
        out->truncated.emplace();
        return s_.ReadString(&*out->truncated);
      }
      return false;  // a note ("x-", "_") or an unknown key: the general path
    });
    return ok && seq && request && response && s_.AtEnd();
  }

 private:
  // Reads an object, calling `member(key)` with pos() at each member's value; false when the
  // text is not an object or `member` says so. Keys spelt with escapes are left to the general
  // path (every key the format knows is plain ASCII).
  template <class Member>
  bool Object(Member&& member) {
    if (!s_.Consume('{')) return false;
    if (s_.Consume('}')) return true;
    do {
      JsonScanner::StringSpan key;
      if (!s_.ScanString(&key) || key.escaped || !s_.Consume(':') || !member(key.raw)) {
        return false;
      }
    } while (s_.Consume(','));
    return s_.Consume('}');
  }

  // Reads an array, calling `element()` with pos() at each element.
  template <class Element>
  bool Array(Element&& element) {
    if (!s_.Consume('[')) return false;
    if (s_.Consume(']')) return true;
    do {
      if (!element()) return false;
    } while (s_.Consume(','));
    return s_.Consume(']');
  }

  // A key seen twice takes the last value in the general path: not here.
  static bool Once(bool* seen) { return !std::exchange(*seen, true); }

  // ReadUint64.
  bool Uint64(std::uint64_t* out) {
    Number n;
    if (!s_.ReadNumber(&n) || n.kind != Number::Kind::kUnsigned) return false;
    *out = n.u;
    return true;
  }

  // ReadInt64.
  bool Int64(std::int64_t* out) {
    Number n;
    if (!s_.ReadNumber(&n)) return false;
    if (n.kind == Number::Kind::kSigned) {
      *out = n.i;
      return true;
    }
    if (n.kind != Number::Kind::kUnsigned ||
        n.u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      return false;
    }
    *out = static_cast<std::int64_t>(n.u);
    return true;
  }

  // ReadTime.
  bool Time(Micros* out) {
    scratch_.clear();
    if (!s_.ReadString(&scratch_)) return false;
    std::optional<Micros> t = ParseRfc3339Micros(scratch_);
    if (!t) return false;
    *out = *t;
    return true;
  }

  // A string the format may also spell {"base64": ...} (ReadString): only the string here.
  bool String(std::string* out) {
    out->clear();
    return s_.ReadString(out);
  }

  // The element `n` of `*items` to fill, reusing one already there (its strings keep their
  // capacity, so a reader decoding line after line into one Interaction allocates little).
  template <class T>
  static T& Slot(std::vector<T>* items, size_t n) {
    return n < items->size() ? (*items)[n] : items->emplace_back();
  }

  // A JSON string holding base64, decoded into `out`; false when it is not valid base64.
  bool Base64String(std::string* out) {
    scratch_.clear();
    if (!s_.ReadString(&scratch_)) return false;
    size_t bad = 0;
    std::optional<std::string> bytes = Base64Decode(scratch_, &bad);
    if (!bytes) return false;
    *out = std::move(*bytes);
    return true;
  }

  // ReadPairs.
  bool Pairs(std::vector<std::pair<std::string, std::string>>* out) {
    size_t n = 0;
    const bool ok = Array([&] {
      std::pair<std::string, std::string>& pair = Slot(out, n++);
      return s_.Consume('[') && String(&pair.first) && s_.Consume(',') && String(&pair.second) &&
             s_.Consume(']');
    });
    out->resize(n);
    return ok;
  }

  // ReadRequest.
  bool Request(cassette::Request* out) {
    bool origin = false, method = false, path = false, query = false, headers = false;
    bool body = false;
    const bool ok = Object([&](std::string_view key) {
      // Forward-proxy mode's origin: one the general path would refuse is left to it (and its
      // error message).
      if (key == "origin") {
        return Once(&origin) && String(&out->origin) && IsValidOrigin(out->origin);
      }
      if (key == "method") return Once(&method) && String(&out->method);
      if (key == "path") return Once(&path) && String(&out->path);
      if (key == "query") return Once(&query) && Pairs(&out->query);
      if (key == "headers") return Once(&headers) && Pairs(&out->headers);
      if (key == "body") return Once(&body) && Body(&out->body, /*is_request=*/true);
      return false;
    });
    if (!origin) out->origin.clear();
    if (!query) out->query.clear();
    if (!headers) out->headers.clear();
    return ok && method && path;
  }

  // ReadBody, for the forms tapedeck writes: "text", "base64", and "json" whose text is the
  // compact dump of its value ("newline" adds '\n'; "exact": false and "layout" are left to the
  // general path).
  bool Body(cassette::Body* out, bool is_request) {
    (void)is_request;  // "exact": false, the one difference, goes to the general path
    bool json = false, text = false, base64 = false, newline = false, exact = false;
    bool add_newline = false;
    out->bytes.clear();
    out->exact = true;
    const bool ok = Object([&](std::string_view key) {
      if (key == "json") {
        if (!Once(&json)) return false;
        s_.Peek();  // past the blanks before the value, which are not part of it
        const size_t start = s_.pos();
        if (!CompactDump(kMaxJsonDepth)) return false;
        out->bytes.assign(s_.text().substr(start, s_.pos() - start));
        return true;
      }
      if (key == "text") return Once(&text) && s_.ReadString(&out->bytes);
      if (key == "base64") return Once(&base64) && Base64String(&out->bytes);
      if (key == "newline" || key == "exact") {
        if (!Once(key == "newline" ? &newline : &exact)) return false;
        char literal = 0;
        if (!s_.ReadLiteral(&literal) || literal == 'n') return false;
        if (key == "newline") {
          add_newline = literal == 't';
          return true;
        }
        return literal == 't';  // "exact": false: the general path
      }
      return false;  // "layout", notes, unknown keys
    });
    if (!ok || json + text + base64 != 1) return false;
    if (!json) return !newline && !exact;
    if (add_newline) out->bytes += '\n';
    return true;
  }

  // ReadResponse.
  bool Response(cassette::Response* out) {
    bool status = false, headers = false, body = false, stream = false;
    const bool ok = Object([&](std::string_view key) {
      if (key == "status") {
        std::int64_t code = 0;
        if (!Once(&status) || !Int64(&code) || code < 0 || code > 999) return false;
        out->status = static_cast<int>(code);
        return true;
      }
      if (key == "headers") return Once(&headers) && Pairs(&out->headers);
      if (key == "body") return Once(&body) && Body(&out->body, /*is_request=*/false);
      if (key == "stream") {
        if (!Once(&stream)) return false;
        if (!out->stream) out->stream.emplace();
        return Stream(&*out->stream);
      }
      return false;
    });
    if (!headers) out->headers.clear();
    if (!stream) out->stream.reset();
    return ok && status && !(body && stream);
  }

  // ReadStream.
  bool Stream(cassette::Stream* out) {
    bool kind = false, events = false;
    return Object([&](std::string_view key) {
             if (key == "kind") {
               if (!Once(&kind)) return false;
               scratch_.clear();
               if (!s_.ReadString(&scratch_)) return false;
               if (scratch_ == "sse") {
                 out->kind = StreamKind::kSse;
               } else if (scratch_ == "chunks") {
                 out->kind = StreamKind::kChunks;
               } else {
                 return false;
               }
               return true;
             }
             if (key == "events") {
               if (!Once(&events)) return false;
               size_t n = 0;
               const bool read = Array([&] { return Event(&Slot(&out->events, n++)); });
               out->events.resize(n);
               return read;
             }
             return false;
           }) &&
           kind && events;
  }

  // ReadEvent and ReadSplits (which needs the event's size, so splits are checked at the end).
  bool Event(StreamEvent* out) {
    bool at_us = false, data = false, data_b64 = false, splits = false;
    out->bytes.clear();
    out->at_us = 0;
    out->splits.clear();
    const bool ok = Object([&](std::string_view key) {
      if (key == "at_us") return Once(&at_us) && Int64(&out->at_us);
      if (key == "data") return Once(&data) && s_.ReadString(&out->bytes);
      if (key == "data_b64") return Once(&data_b64) && Base64String(&out->bytes);
      if (key == "splits") {
        return Once(&splits) && Array([&] {
                 Split& split = out->splits.emplace_back();
                 std::uint64_t end = 0;
                 if (!s_.Consume('[') || !Uint64(&end) || !s_.Consume(',') ||
                     !Int64(&split.at_us) || !s_.Consume(']')) {
                   return false;
                 }
                 split.end = static_cast<size_t>(end);
                 return end != 0 && end <= std::numeric_limits<size_t>::max();
               });
      }
      return false;
    });
    if (!ok || !at_us || data + data_b64 != 1) return false;
    // A split past the event's end is dropped with a note by the general path: not here.
    size_t previous = 0;
    for (const Split& split : out->splits) {
      if (split.end <= previous || split.end > out->bytes.size()) return false;
      previous = split.end;
    }
    return true;
  }

  // ReadTiming.
  bool Timing(cassette::Timing* out) {
    bool headers_us = false, done_us = false;
    return Object([&](std::string_view key) {
      if (key == "headers_us") return Once(&headers_us) && Int64(&out->headers_us);
      if (key == "done_us") return Once(&done_us) && Int64(&out->done_us);
      return false;
    });
  }

  // A value in the compact form nlohmann's dump writes (see IsCompactDump), moving past it.
  bool CompactDump(size_t depth) {
    switch (s_.PeekRaw()) {
      case '"': {
        JsonScanner::StringSpan span;
        return s_.ScanString(&span) && span.dump_form;
      }
      case '{': {
        if (depth == 0) return false;
        s_.Skip();
        if (s_.PeekRaw() == '}') {
          s_.Skip();
          return true;
        }
        // Keys seen, to refuse a key twice (the tree keeps one of them, so its dump differs).
        // Dump-form spelling is one per value, so comparing spellings compares keys.
        constexpr size_t kInline = 16;
        std::string_view inline_keys[kInline];
        size_t count = 0;
        std::unordered_set<std::string_view> many;
        for (;;) {
          JsonScanner::StringSpan key;
          if (s_.PeekRaw() != '"' || !s_.ScanString(&key) || !key.dump_form) return false;
          if (count < kInline) {
            for (size_t k = 0; k < count; ++k) {
              if (inline_keys[k] == key.raw) return false;
            }
            inline_keys[count] = key.raw;
          } else {
            if (many.empty()) many.insert(inline_keys, inline_keys + kInline);
            if (!many.insert(key.raw).second) return false;
          }
          ++count;
          if (s_.PeekRaw() != ':') return false;
          s_.Skip();
          if (!CompactDump(depth - 1)) return false;
          const char next = s_.PeekRaw();
          s_.Skip();
          if (next == '}') return true;
          if (next != ',') return false;
        }
      }
      case '[': {
        if (depth == 0) return false;
        s_.Skip();
        if (s_.PeekRaw() == ']') {
          s_.Skip();
          return true;
        }
        for (;;) {
          if (!CompactDump(depth - 1)) return false;
          const char next = s_.PeekRaw();
          s_.Skip();
          if (next == ']') return true;
          if (next != ',') return false;
        }
      }
      case 't':
      case 'f':
      case 'n': {
        char first = 0;
        return s_.ReadLiteral(&first);
      }
      default: {
        const char c = s_.PeekRaw();
        if (c != '-' && (c < '0' || c > '9')) return false;
        Number n;
        if (!s_.ReadNumber(&n)) return false;
        switch (n.kind) {
          case Number::Kind::kUnsigned:
            return true;  // the grammar allows one spelling of an integer
          case Number::Kind::kSigned:
            return n.i != 0;  // "-0" is dumped as "0"
          case Number::Kind::kFloat:
            return Json(n.d).dump() == n.text;
        }
        return false;
      }
    }
  }

 public:
  bool CompactDumpAll(size_t depth) { return CompactDump(depth) && s_.pos() == s_.text().size(); }

 private:
  JsonScanner s_;
  std::string scratch_;
};

}  // namespace

bool DecodeInteractionLine(std::string_view line, Interaction* out) {
  // Everything is set again, but the containers keep what they hold, to be reused.
  out->seq = 0;
  out->recorded_at_us = 0;
  out->request.body.bytes.clear();
  out->request.body.exact = true;
  out->response.status = 0;
  out->response.body.bytes.clear();
  out->response.body.exact = true;
  out->timing = Timing{};
  out->truncated.reset();
  try {
    LineDecoder decoder(line);
    return decoder.Interaction(out);
  } catch (const std::exception&) {
    return false;  // out of memory, say: the general path decides
  }
}

bool IsCompactDump(std::string_view json) {
  LineDecoder decoder(json);
  return decoder.CompactDumpAll(kMaxJsonDepth);
}

}  // namespace td::cassette::internal
