// File: tests/fuzz/redact_fuzz.cc
//
// libFuzzer harness for redaction (cassette/redact.h) and the secret scanner
// (cassette/secret_scan.h), with the default rules, whatever rules exist. Properties beyond "no
// crash": after RedactInteraction, ScanInteraction finds nothing; a second redaction changes
// nothing and reports nothing; stream event splits stay ascending and inside their event (what
// the codec accepts).
//
// Input: sections separated by 0x1e, readable in a text editor:
//   0 request target ("/v1/x?key=abc&b=2": path and query)   1 request headers
//   2 request body   3 response headers   4 response body
//   5 stream events separated by 0x1f (no section 5: no stream; splits derive from the bytes)
//   6 splices: groups of 3 bytes (which fake key, which place, where in it: 0..255 scaled)
// Headers are "name: value" lines. Splices insert the fakes of tests/support/fake_secrets.h
// (built at run time, so no corpus file holds a key-shaped literal) so the fuzzer reaches every
// matcher.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "cassette/base/log.h"
#include "cassette/model.h"
#include "cassette/redact.h"
#include "cassette/secret_scan.h"
#include "tests/fuzz/fuzz_support.h"
#include "tests/support/fake_secrets.h"

namespace td::cassette {
namespace {

// A PEM block shaped like a private key, from pieces like the fakes in fake_secrets.h.
std::string FakePrivateKey() {
  const std::string dashes = "-----";
  return dashes + "BEGIN " + "RSA PRIVATE" + " KEY" + dashes + "\n" +
         ::td::testing::Rep("MIIBOgIBAAJBAKj34GkxFhD9", 2) + "\n" + dashes + "END " +
         "RSA PRIVATE" + " KEY" + dashes;
}

const std::vector<std::string>& FakeKeys() {
  using namespace ::td::testing;
  static const std::vector<std::string> keys = {
      FakeAnthropicKey(), FakeOpenAiKey(),   "Bearer " + FakeBearerToken(),
      FakeBearerToken(),  FakeAwsKeyId(),    FakeJwt(),
      FakeGoogleKey(),    FakeGithubToken(), FakePrivateKey(),
  };
  return keys;
}

std::vector<std::string_view> SplitOn(std::string_view text, char sep) {
  std::vector<std::string_view> parts;
  for (;;) {
    const size_t at = text.find(sep);
    parts.push_back(text.substr(0, at));
    if (at == std::string_view::npos) return parts;
    text.remove_prefix(at + 1);
  }
}

Headers ParseHeaders(std::string_view text) {
  Headers headers;
  if (text.empty()) return headers;
  for (std::string_view line : SplitOn(text, '\n')) {
    const size_t colon = line.find(':');
    std::string_view value = colon == std::string_view::npos ? "" : line.substr(colon + 1);
    if (value.starts_with(' ')) value.remove_prefix(1);
    headers.emplace_back(std::string(line.substr(0, colon)), std::string(value));
  }
  return headers;
}

Interaction Build(std::string_view input) {
  const std::vector<std::string_view> s = SplitOn(input, '\x1e');
  auto section = [&](size_t i) { return i < s.size() ? s[i] : std::string_view(); };
  Interaction x;
  x.request.method = "POST";
  SplitTarget(section(0), &x.request.path, &x.request.query);
  x.request.headers = ParseHeaders(section(1));
  x.request.body.bytes = std::string(section(2));
  x.response.status = 200;
  x.response.headers = ParseHeaders(section(3));
  x.response.body.bytes = std::string(section(4));
  if (s.size() > 5) {
    Stream stream;
    for (std::string_view bytes : SplitOn(section(5), '\x1f')) {
      StreamEvent event;
      event.bytes = std::string(bytes);
      event.at_us = static_cast<Micros>(stream.events.size()) * 1000;
      // Up to three splits, ascending, in [1, size]: what a recording produces.
      std::uint64_t state = fuzz::HashBytes(bytes);
      for (int k = 0; k < 3 && !bytes.empty(); ++k) {
        const size_t end = 1 + fuzz::SplitMix64(&state) % bytes.size();
        if (!event.splits.empty() && end <= event.splits.back().end) break;
        event.splits.push_back(Split{end, event.at_us - 100 + k});
      }
      stream.events.push_back(std::move(event));
    }
    x.response.stream = std::move(stream);
  }

  // Every place a key can hide, for the splices.
  std::vector<std::string*> places = {&x.request.path, &x.request.body.bytes,
                                      &x.response.body.bytes};
  for (auto& [name, value] : x.request.query) places.push_back(&value);
  for (auto& [name, value] : x.request.headers) places.push_back(&value);
  for (auto& [name, value] : x.response.headers) places.push_back(&value);
  if (x.response.stream) {
    for (StreamEvent& event : x.response.stream->events) places.push_back(&event.bytes);
  }
  const std::string_view splices = section(6);
  for (size_t i = 0; i + 3 <= splices.size(); i += 3) {
    const auto key_index = static_cast<unsigned char>(splices[i]);
    const auto place_index = static_cast<unsigned char>(splices[i + 1]);
    const auto where = static_cast<unsigned char>(splices[i + 2]);
    const std::string& key = FakeKeys()[key_index % FakeKeys().size()];
    std::string* place = places[place_index % places.size()];
    const size_t at = place->size() * where / 255;
    place->insert(at, key);
  }
  // Splicing into an event moves its bytes, not its splits: keep them inside it.
  if (x.response.stream) {
    for (StreamEvent& event : x.response.stream->events) {
      std::erase_if(event.splits, [&](const Split& sp) { return sp.end > event.bytes.size(); });
    }
  }
  return x;
}

std::string Findings(const std::vector<SecretFinding>& findings, const Interaction& x) {
  std::string out;
  for (const SecretFinding& f : findings) out += " [" + f.where + ": " + f.rule + "]";
  out += "; path " + fuzz::Quote(x.request.path) + ", request body " +
         fuzz::Quote(x.request.body.bytes) + ", response body " +
         fuzz::Quote(x.response.body.bytes);
  return out;
}

void CheckSplits(const Interaction& x) {
  if (!x.response.stream) return;
  const std::vector<StreamEvent>& events = x.response.stream->events;
  for (size_t k = 0; k < events.size(); ++k) {
    size_t last = 0;
    for (const Split& split : events[k].splits) {
      TD_CHECK(split.end > last && split.end <= events[k].bytes.size())
          << "events[" << k << "]: split at " << split.end << " after " << last
          << " in an event of " << events[k].bytes.size() << " bytes";
      last = split.end;
    }
  }
}

}  // namespace
}  // namespace td::cassette

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace td::cassette;
  using td::Result;
  static const Redactor redactor = [] {
    Result<Redactor> r = Redactor::Create(RedactionRules{});
    TD_CHECK(r.ok()) << r.status().ToString();
    return *r;
  }();
  Interaction x = Build(std::string_view(reinterpret_cast<const char*>(data), size));

  RedactionReport report;
  redactor.RedactInteraction(&x, &report);
  const std::vector<SecretFinding> left = ScanInteraction(x, 0);
  TD_CHECK(left.empty()) << "the scanner still finds " << left.size()
                         << " secrets after redaction:" << Findings(left, x);
  CheckSplits(x);

  Interaction again = x;
  RedactionReport second;
  redactor.RedactInteraction(&again, &second);
  TD_CHECK(again == x) << "a second redaction changed the interaction";
  TD_CHECK(second.empty()) << "a second redaction reports " << second.applied.front();
  return 0;
}
