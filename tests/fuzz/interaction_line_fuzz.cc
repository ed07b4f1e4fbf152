// File: tests/fuzz/interaction_line_fuzz.cc
//
// libFuzzer harness for the cassette reader's fast path (cassette/internal/interaction_line.h)
// against its general path. Input: one interaction line. Property: whenever the fast path takes
// the line, the general path (ParseJsonLine, then InteractionFromJson) reads it too, without a
// note, into the same interaction; and IsCompactDump says true only for JSON that nlohmann's
// dump writes back byte for byte.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "cassette/base/log.h"
#include "cassette/internal/codec_text.h"
#include "cassette/internal/interaction_line.h"
#include "cassette/internal/json_line.h"
#include "cassette/json_mapping.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace td::cassette;  // NOLINT: a harness
  const std::string_view line(reinterpret_cast<const char*>(data), size);
  Interaction fast;
  if (internal::DecodeInteractionLine(line, &fast)) {
    Json json;
    std::string why;
    TD_CHECK(internal::ParseJsonLine(line, internal::kMaxJsonDepth + internal::kLineDepthSlack,
                                     &json, &why))
        << "the fast path took a line the general path cannot parse (" << why
        << "): " << td::fuzz::Quote(line);
    std::vector<std::string> notes;
    td::Result<Interaction> general = InteractionFromJson(std::move(json), &notes);
    TD_CHECK(general.ok()) << "the fast path took a line the general path refuses ("
                           << general.status().message() << "): " << td::fuzz::Quote(line);
    TD_CHECK(notes.empty()) << "the fast path took a line with a note: " << td::fuzz::Quote(line);
    TD_CHECK(*general == fast) << "the paths read different interactions: "
                               << td::fuzz::Quote(line);
  }
  if (internal::IsCompactDump(line)) {
    const Json parsed = Json::parse(line, nullptr, /*allow_exceptions=*/false);
    TD_CHECK(!parsed.is_discarded() && parsed.dump() == line)
        << "IsCompactDump took JSON that dump does not write back: " << td::fuzz::Quote(line);
  }
  return 0;
}
