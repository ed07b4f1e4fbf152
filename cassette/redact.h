// File: cassette/redact.h
//
// Redaction, applied before anything reaches disk (record), to the live request before it is
// matched (replay), and by `tapedeck cassette redact` to old cassettes. Defaults cover the
// credential headers, credential query parameters and key-shaped strings anywhere in bodies and
// stream events; users add header names, query parameter names, JSON paths and regexes.
// Reports name rules, never values, so they are safe to log.
#pragma once

#include <memory>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "cassette/base/status.h"
#include "cassette/json_path.h"
#include "cassette/model.h"

namespace td::cassette {

// What redaction writes in place of a secret.
inline constexpr std::string_view kRedacted = "[REDACTED]";

struct RedactionRules {
  bool defaults = true;                   // include the built-in headers, params and key shapes
  std::vector<std::string> headers;       // extra header names (case-insensitive)
  std::vector<std::string> query_params;  // extra query parameter names (case-insensitive)
  std::vector<std::string> json_paths;    // dotted paths into JSON bodies, "metadata.user_id";
                                          // "messages.*.content" uses * for any array index/key
  std::vector<std::string> patterns;      // ECMAScript regexes; each match becomes kRedacted
};

// What one Redact call changed, by place and rule name only (never a value), one entry per
// place and rule: "request.headers.x-api-key: credential header",
// "request.query.key: credential query param", "request.body: anthropic-key",
// "response.stream.events[2]: openai-key", "response.body: pattern 0",
// "request.body: json path metadata.user_id".
struct RedactionReport {
  std::vector<std::string> applied;
  bool empty() const { return applied.empty(); }
};

// What redaction does, in this order, to each place:
// - credential headers (defaults + rules.headers; request and response), and, with the
//   defaults, any header whose name and value IsSecretNamedValue ("x-service-token"): the value
//   becomes kRedacted, the name stays. Credential query parameters likewise (raw, in the query
//   vector).
// - user JSON paths, in request and response bodies that parse as JSON: each value reached
//   becomes the string kRedacted and the body is re-serialised compactly (its layout changes;
//   key order is kept). Bodies that are not JSON, and stream events, are left to the rest.
// - key shapes (FindSecrets, when rules.defaults): in the path, every query value and header
//   value, both bodies and every stream event, each secret is replaced in place by
//   "[REDACTED:<rule>]"; every other byte stays as it was. That includes the string values of
//   JSON fields named secret ("client_secret", "password"), found in the bytes without parsing
//   or re-serialising the body. The placeholder has no quote or backslash, so JSON stays valid
//   and SSE framing is untouched.
// - user regexes: in both bodies and every stream event, each match becomes kRedacted. They
//   run line by line (lines split on '\n'), and within a line over windows of 2 KiB that
//   overlap by half, because std::regex recurses per character and would overflow the stack on
//   long spans: a match is found whole only when it is at most 1 KiB long. Matches that touch
//   an existing placeholder are left alone.
// Stream events whose length changes keep their splits in step: an offset after a replaced
// span moves by the change in length, one inside it moves to the start of the placeholder,
// and splits that end up at 0, at the end of the event or on top of an earlier one are
// dropped (the earliest arrival is kept).
// Redacting twice changes nothing the second time.
// Thread: a Redactor is immutable after Create; any thread may use it, and copies are cheap.
class Redactor {
 public:
  // Validates the rules: regexes compile and cannot match the empty string, paths parse,
  // header and parameter names are not empty. The error names the bad rule by index and text.
  static Result<Redactor> Create(RedactionRules rules);

  // Redacts the request in place (headers, query, path, body). Credential headers keep their
  // name with kRedacted as value; key-shaped strings are replaced in the bytes (the rest stays
  // byte-exact). `report` may be null.
  void RedactRequest(Request* request, RedactionReport* report) const;
  // Redacts request and response (headers, body, every stream event) in place.
  void RedactInteraction(Interaction* interaction, RedactionReport* report) const;

 private:
  void RedactHeaders(Headers* headers, std::string_view prefix, RedactionReport* report) const;
  void RedactJsonBody(Body* body, std::string_view where, RedactionReport* report) const;
  // Key shapes and user regexes over `bytes`; keeps `splits` (may be null) in step.
  void RedactBytes(std::string* bytes, std::vector<Split>* splits, std::string_view where,
                   RedactionReport* report) const;

  RedactionRules rules_;
  std::vector<std::string> header_names_;  // lower case, defaults included
  std::vector<std::string> query_names_;   // lower case, defaults included
  std::shared_ptr<const std::vector<std::regex>> patterns_;
  std::vector<JsonPath> json_paths_;  // parsed rules_.json_paths
};

}  // namespace td::cassette
