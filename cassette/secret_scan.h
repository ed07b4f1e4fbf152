// File: cassette/secret_scan.h
//
// Finds secrets in text: vendor key shapes (Anthropic, OpenAI, AWS, Google, GitHub, GitLab,
// Slack, Stripe and many more), secrets known by their context (Bearer and Basic credentials,
// AWS secret keys after `aws_secret_access_key`, passwords in URLs, PEM and PGP private key
// blocks) and values whose name says secret (`"client_secret": "..."`, `?token=...`).
// docs/security.md lists every rule. Hand-written matchers in one linear pass (no std::regex,
// which recurses per character and can overflow the stack on long bodies). Redaction
// placeholders ("[REDACTED...]") never match.
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
// at the start of a word, and values must look random (a digit or an upper-case letter, as fits
// the shape) and be long enough, so prose ("task-antelope", "sk-learn", "Bearer x") does not
// match. Where words around a secret say what it is ("Bearer ", "password=", `"token": `), the
// match covers the secret only. One pass, linear in the text (safe on 10 MB bodies).
// Thread-safe.
std::vector<SecretMatch> FindSecrets(std::string_view text);

// The names of every built-in rule, for docs and `verify --help`.
const std::vector<std::string_view>& SecretRuleNames();

// Header names treated as credentials by default (lower case).
const std::vector<std::string_view>& DefaultCredentialHeaders();
// Query parameter names treated as credentials by default (lower case).
const std::vector<std::string_view>& DefaultCredentialQueryParams();

// True when a header, query parameter or JSON field called `name` holding `value` is a secret
// by its name: the name ends in a secret word (password, passwd, passphrase, secret, token,
// api key, private key, access key, authorization, ...; any case and separator, so
// `client_secret`, `x-service-token`, `apiKey`; not pagination or tokenizer tokens like
// `next_page_token`, `eos_token`; not `max_tokens` or `token_count`) and the value looks like
// one (long enough, no whitespace, not a number, a word, a template or a placeholder). The
// scanner applies the same rule to JSON fields and parameters in text; redaction and
// ScanInteraction apply it to header and query names. Thread-safe.
bool IsSecretNamedValue(std::string_view name, std::string_view value);

// A finding in a cassette, located for a human: which interaction and where inside it,
// e.g. where = "response.stream.events[3]" or "request.headers.x-api-key".
struct SecretFinding {
  size_t interaction = 0;  // index in the cassette
  std::string where;
  std::string rule;  // a rule name, or "credential-header" / "credential-query"
};

// Scans every place of one interaction that reaches disk, with the default lists:
// - request path: where = "request.path";
// - query: a credential parameter (the default list, or IsSecretNamedValue) whose value is
//   neither empty nor a placeholder is a "credential-query" finding, other values are scanned;
//   where = "request.query.<name>";
// - request and response headers: a credential header (the default list, or
//   IsSecretNamedValue) whose value is neither empty nor a placeholder is a "credential-header"
//   finding, other values are scanned;
//   where = "request.headers.<lower-case name>" / "response.headers.<lower-case name>";
// - bodies: where = "request.body at byte N" / "response.body at byte N";
// - stream events: where = "response.stream.events[K] at byte N".
// N is the offset of the match in that body or event. Findings are in that order.
std::vector<SecretFinding> ScanInteraction(const Interaction& interaction, size_t index);

// True when `value` is one of the placeholders redaction writes.
bool IsRedactionPlaceholder(std::string_view value);

// The length of the placeholder that starts at text[pos], or 0 when none does.
size_t RedactionPlaceholderLengthAt(std::string_view text, size_t pos);

}  // namespace td::cassette
