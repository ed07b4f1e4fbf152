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
#include <vector>

#include "cassette/base/status.h"
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

// What one Redact call changed, by rule name only.
struct RedactionReport {
  std::vector<std::string> applied;  // e.g. "header x-api-key", "body anthropic-key", "pattern 0"
  bool empty() const { return applied.empty(); }
};

class Redactor {
 public:
  // Validates the rules (regexes compile, paths parse). Error names the bad rule.
  static Result<Redactor> Create(RedactionRules rules);

  // Redacts the request in place. Credential headers keep their name with kRedacted as value;
  // key-shaped strings inside bodies are replaced in the bytes (the rest stays byte-exact).
  void RedactRequest(Request* request, RedactionReport* report) const;
  // Redacts request and response (headers, body, every stream event) in place.
  void RedactInteraction(Interaction* interaction, RedactionReport* report) const;

 private:
  RedactionRules rules_;
  std::vector<std::string> header_names_;  // lower case, defaults included
  std::vector<std::string> query_names_;   // lower case, defaults included
  std::shared_ptr<const std::vector<std::regex>> patterns_;
};

}  // namespace td::cassette
