// Redaction of requests and interactions in place: credential headers and query parameters,
// user JSON paths, key shapes found by the secret scanner, user regexes. Bytes are edited in
// place (never re-serialised, except a JSON body a user path changed), so what is replayed is
// what was recorded except inside the secrets. The order and limits are in cassette/redact.h.

#include "cassette/redact.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <utility>

#include "cassette/base/ascii.h"
#include "cassette/regex_window.h"
#include "cassette/secret_scan.h"

namespace td::cassette {

namespace {

struct Edit {
  size_t begin = 0;
  size_t end = 0;
  std::string text;
};

using Span = std::pair<size_t, size_t>;

// HeaderNameEquals, inline (every header of every replayed request is looked up here).
bool ContainsNoCase(const std::vector<std::string>& lower_names, std::string_view name) {
  return std::any_of(lower_names.begin(), lower_names.end(),
                     [&](const std::string& n) { return EqualsIgnoreCase(n, name); });
}

void Add(RedactionReport* report, std::string entry) {
  if (report != nullptr) report->applied.push_back(std::move(entry));
}

// Where "[REDACTED]" and "[REDACTED:rule]" sit in `text`, in order.
std::vector<Span> PlaceholderSpans(std::string_view text) {
  std::vector<Span> spans;
  for (size_t pos = text.find("[REDACTED"); pos != std::string_view::npos;
       pos = text.find("[REDACTED", pos + 1)) {
    if (const size_t length = RedactionPlaceholderLengthAt(text, pos); length != 0) {
      spans.emplace_back(pos, pos + length);
    }
  }
  return spans;
}

bool Overlaps(const std::vector<Span>& spans, size_t begin, size_t end) {
  auto it = std::upper_bound(spans.begin(), spans.end(), begin,
                             [](size_t b, const Span& s) { return b < s.second; });
  return it != spans.end() && it->first < end;
}

// Moves split offsets through `edits` (sorted, disjoint; see redact.h for the rule).
void RemapSplits(const std::vector<Edit>& edits, size_t new_size, std::vector<Split>* splits) {
  std::vector<Split> kept;
  kept.reserve(splits->size());
  for (const Split& split : *splits) {
    std::int64_t delta = 0;
    std::int64_t mapped = -1;
    for (const Edit& e : edits) {
      if (split.end <= e.begin) break;
      if (split.end >= e.end) {
        delta +=
            static_cast<std::int64_t>(e.text.size()) - static_cast<std::int64_t>(e.end - e.begin);
        continue;
      }
      mapped = static_cast<std::int64_t>(e.begin) + delta;  // inside: before the placeholder
      break;
    }
    if (mapped < 0) mapped = static_cast<std::int64_t>(split.end) + delta;
    const auto end = static_cast<size_t>(mapped);
    if (end == 0 || end >= new_size) continue;
    if (!kept.empty() && end <= kept.back().end) continue;
    kept.push_back(Split{end, split.at_us});
  }
  *splits = std::move(kept);
}

void ApplyEdits(const std::vector<Edit>& edits, std::string* bytes, std::vector<Split>* splits) {
  if (edits.empty()) return;
  std::string out;
  out.reserve(bytes->size());
  size_t pos = 0;
  for (const Edit& e : edits) {
    out.append(*bytes, pos, e.begin - pos);
    out += e.text;
    pos = e.end;
  }
  out.append(*bytes, pos, std::string::npos);
  if (splits != nullptr) RemapSplits(edits, out.size(), splits);
  *bytes = std::move(out);
}

// Key shapes in `text` as edits; appends each rule hit once to `rules`.
std::vector<Edit> SecretEdits(std::string_view text, std::vector<std::string_view>* rules) {
  std::vector<Edit> edits;
  for (const SecretMatch& m : FindSecrets(text)) {
    edits.push_back(Edit{m.begin, m.end, "[REDACTED:" + std::string(m.rule) + "]"});
    if (std::find(rules->begin(), rules->end(), m.rule) == rules->end()) {
      rules->push_back(m.rule);
    }
  }
  return edits;
}

// Replaces every key shape in `bytes` with its placeholder, until none is left. A redaction can
// reveal a match: a key block's line breaks ended a URL's authority until the block became a
// one-line placeholder, and then the URL's password matched. Each round that changes nothing
// ends it, so text without keys is scanned once; the rounds are bounded, and ScrubForDisk's
// rescan catches anything a last round would have found.
void RedactSecrets(std::string* bytes, std::vector<Split>* splits,
                   std::vector<std::string_view>* rules) {
  constexpr int kMaxRounds = 4;
  for (int round = 0; round < kMaxRounds; ++round) {
    std::vector<Edit> edits = SecretEdits(*bytes, rules);
    if (edits.empty()) return;
    ApplyEdits(edits, bytes, splits);
  }
}

// Edits replacing each match of `re` (searched in windows: cassette/regex_window.h) that does
// not touch a placeholder already there. Returns false when std::regex gave up somewhere.
bool PatternEdits(std::string_view text, const std::regex& re, std::vector<Edit>* edits) {
  const std::vector<Span> placeholders = PlaceholderSpans(text);
  return ForEachRegexMatch(text, re, [&](size_t begin, size_t end, const std::cmatch&) {
    if (!Overlaps(placeholders, begin, end)) {
      edits->push_back(Edit{begin, end, std::string(kRedacted)});
    }
  });
}

}  // namespace

Result<Redactor> Redactor::Create(RedactionRules rules) {
  Redactor r;
  if (rules.defaults) {
    for (std::string_view h : DefaultCredentialHeaders()) r.header_names_.emplace_back(h);
    for (std::string_view q : DefaultCredentialQueryParams()) r.query_names_.emplace_back(q);
  }
  for (size_t i = 0; i < rules.headers.size(); ++i) {
    if (rules.headers[i].empty()) {
      return InvalidArgumentError("redaction headers[" + std::to_string(i) + "]: empty name");
    }
    r.header_names_.push_back(ToLowerAscii(rules.headers[i]));
  }
  for (size_t i = 0; i < rules.query_params.size(); ++i) {
    if (rules.query_params[i].empty()) {
      return InvalidArgumentError("redaction query_params[" + std::to_string(i) + "]: empty name");
    }
    r.query_names_.push_back(ToLowerAscii(rules.query_params[i]));
  }
  for (size_t i = 0; i < rules.json_paths.size(); ++i) {
    Result<JsonPath> path = JsonPath::Parse(rules.json_paths[i]);
    if (!path.ok()) {
      return path.status().WithContext("redaction json_paths[" + std::to_string(i) + "]");
    }
    r.json_paths_.push_back(std::move(*path));
  }
  auto patterns = std::make_shared<std::vector<std::regex>>();
  for (size_t i = 0; i < rules.patterns.size(); ++i) {
    const std::string& text = rules.patterns[i];
    const std::string subject = "redaction patterns[" + std::to_string(i) + "] \"" + text + "\": ";
    try {
      std::regex re(text, std::regex::ECMAScript);
      if (std::regex_match(std::string(), re)) {
        return InvalidArgumentError(subject + "matches the empty string");
      }
      patterns->push_back(std::move(re));
    } catch (const std::regex_error& e) {
      return InvalidArgumentError(subject + e.what());
    }
  }
  r.patterns_ = std::move(patterns);
  r.rules_ = std::move(rules);
  return r;
}

void Redactor::RedactHeaders(Headers* headers, std::string_view prefix,
                             RedactionReport* report) const {
  // The report's "where" is built only for a header that was redacted: the live request of
  // every replayed request passes here, and most of its headers hold nothing to redact.
  auto where = [&](std::string_view name) { return std::string(prefix) + ToLowerAscii(name); };
  for (auto& [name, value] : *headers) {
    if (ContainsNoCase(header_names_, name) ||
        (rules_.defaults && IsSecretNamedValue(name, value))) {
      if (!value.empty() && !IsRedactionPlaceholder(value)) {
        value = std::string(kRedacted);
        Add(report, where(name) + ": credential header");
      }
      continue;
    }
    if (!rules_.defaults) continue;
    std::vector<std::string_view> rules;
    RedactSecrets(&value, nullptr, &rules);
    for (std::string_view rule : rules) Add(report, where(name) + ": " + std::string(rule));
  }
}

void Redactor::RedactJsonBody(Body* body, std::string_view where, RedactionReport* report) const {
  if (json_paths_.empty() || body->bytes.empty()) return;
  auto doc = nlohmann::ordered_json::parse(body->bytes, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_structured()) return;
  bool changed = false;
  for (const JsonPath& path : json_paths_) {
    bool hit = false;
    path.ForEach(doc, [&](nlohmann::ordered_json& value) {
      if (value.is_string() && value.get_ref<const std::string&>() == kRedacted) return;
      value = std::string(kRedacted);
      hit = true;
    });
    if (hit) {
      changed = true;
      Add(report, std::string(where) + ": json path " + path.text());
    }
  }
  if (changed) {
    body->bytes = doc.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  }
}

void Redactor::RedactBytes(std::string* bytes, std::vector<Split>* splits, std::string_view where,
                           RedactionReport* report) const {
  if (bytes->empty()) return;
  if (rules_.defaults) {
    std::vector<std::string_view> rules;
    RedactSecrets(bytes, splits, &rules);
    for (std::string_view rule : rules) Add(report, std::string(where) + ": " + std::string(rule));
  }
  for (size_t k = 0; k < patterns_->size(); ++k) {
    std::vector<Edit> edits;
    const bool ok = PatternEdits(*bytes, (*patterns_)[k], &edits);
    if (!edits.empty()) Add(report, std::string(where) + ": pattern " + std::to_string(k));
    if (!ok) Add(report, std::string(where) + ": pattern " + std::to_string(k) + " failed");
    ApplyEdits(edits, bytes, splits);
  }
}

void Redactor::RedactRequest(Request* request, RedactionReport* report) const {
  RedactHeaders(&request->headers, "request.headers.", report);
  // The report's "where", built only for a parameter that was redacted.
  auto where = [](std::string_view name) { return "request.query." + std::string(name); };
  for (auto& [name, value] : request->query) {
    if (ContainsNoCase(query_names_, name) ||
        (rules_.defaults && IsSecretNamedValue(name, value))) {
      if (!value.empty() && !IsRedactionPlaceholder(value)) {
        value = std::string(kRedacted);
        Add(report, where(name) + ": credential query param");
      }
      continue;
    }
    if (!rules_.defaults) continue;
    std::vector<std::string_view> rules;
    RedactSecrets(&value, nullptr, &rules);
    for (std::string_view rule : rules) Add(report, where(name) + ": " + std::string(rule));
  }
  if (rules_.defaults) {
    std::vector<std::string_view> rules;
    RedactSecrets(&request->path, nullptr, &rules);
    for (std::string_view rule : rules) Add(report, "request.path: " + std::string(rule));
  }
  RedactJsonBody(&request->body, "request.body", report);
  RedactBytes(&request->body.bytes, nullptr, "request.body", report);
}

void Redactor::RedactInteraction(Interaction* interaction, RedactionReport* report) const {
  RedactRequest(&interaction->request, report);
  Response& response = interaction->response;
  RedactHeaders(&response.headers, "response.headers.", report);
  RedactJsonBody(&response.body, "response.body", report);
  RedactBytes(&response.body.bytes, nullptr, "response.body", report);
  if (response.stream) {
    std::vector<StreamEvent>& events = response.stream->events;
    for (size_t k = 0; k < events.size(); ++k) {
      RedactBytes(&events[k].bytes, &events[k].splits,
                  "response.stream.events[" + std::to_string(k) + "]", report);
    }
  }
}

}  // namespace td::cassette
