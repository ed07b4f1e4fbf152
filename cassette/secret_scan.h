// File: cassette/secret_scan.h
//
// Finds key-shaped strings: Anthropic `sk-ant-...`, OpenAI `sk-...` and `sk-proj-...`, bearer
// tokens, AWS access key ids, JWTs, Google API keys, GitHub tokens, private key blocks. Hand-
// written matchers (no std::regex, which recurses per character and can overflow the stack on
// long bodies). Redaction placeholders ("[REDACTED...]") never match.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "cassette/model.h"

namespace td::cassette {

// One key-shaped span in a text.
struct SecretMatch {
  std::string_view rule;  // stable rule name, e.g. "anthropic-key", "aws-access-key-id"
  size_t begin = 0;
  size_t end = 0;
};

// Every secret-shaped span in `text`, in order, non-overlapping. A rule's prefix only counts
// at the start of a word, and `sk-` keys and bearer tokens must contain a digit or an upper-case
// letter, so prose ("task-antelope", "sk-learn", "Bearer x") does not match; a bearer match
// covers the token only. One pass, linear in the text (safe on 10 MB bodies). Thread-safe.
std::vector<SecretMatch> FindSecrets(std::string_view text);

// The names of every built-in rule, for docs and `verify --help`.
const std::vector<std::string_view>& SecretRuleNames();

// Header names treated as credentials by default (lower case).
const std::vector<std::string_view>& DefaultCredentialHeaders();
// Query parameter names treated as credentials by default (lower case).
const std::vector<std::string_view>& DefaultCredentialQueryParams();

// A finding in a cassette, located for a human: which interaction and where inside it,
// e.g. where = "response.stream.events[3]" or "request.headers.x-api-key".
struct SecretFinding {
  size_t interaction = 0;  // index in the cassette
  std::string where;
  std::string rule;        // a rule name, or "credential-header" / "credential-query"
};

// Scans every place of one interaction that reaches disk, with the default lists:
// - request path: where = "request.path";
// - query: a credential parameter whose value is neither empty nor a placeholder is a
//   "credential-query" finding, other values are scanned; where = "request.query.<name>";
// - request and response headers: a credential header whose value is neither empty nor a
//   placeholder is a "credential-header" finding, other values are scanned;
//   where = "request.headers.<lower-case name>" / "response.headers.<lower-case name>";
// - bodies: where = "request.body at byte N" / "response.body at byte N";
// - stream events: where = "response.stream.events[K] at byte N".
// N is the offset of the match in that body or event. Findings are in that order.
std::vector<SecretFinding> ScanInteraction(const Interaction& interaction, size_t index);

// True when `value` is one of the placeholders redaction writes.
bool IsRedactionPlaceholder(std::string_view value);

}  // namespace td::cassette
