// File: cassette/json_mapping.h
//
// The model <-> JSON mapping of one cassette line (schema: docs/cassette-format.md). Bodies that
// are JSON and can be re-spelt exactly are stored as JSON values; other text as a string; other
// bytes as base64. Decoding never throws: errors name the JSON path ("response.stream.events[3]:
// missing \"data\"").
#pragma once

#include <nlohmann/json.hpp>

#include "cassette/base/status.h"
#include "cassette/model.h"

namespace td::cassette {

// Key order is kept as written (ordered_json), so cassette lines diff well and JSON bodies keep
// the upstream's order.
using Json = nlohmann::ordered_json;

Json InteractionToJson(const Interaction& interaction);
// The same, moving the bodies and stream events into the tree instead of copying them, so a
// long recorded body exists once while it is written. `interaction` is left valid but
// unspecified.
Json InteractionToJson(Interaction&& interaction);
// Decodes one interaction line. Errors: kParse naming the JSON path of the first problem. What
// it forgives goes to `notes` when given ("response.stream.events[3].splits[1]: end offset 90 is
// past the event's 60 bytes ...: dropped ..."): splits past the end of an event shortened by
// hand are dropped, not refused.
Result<Interaction> InteractionFromJson(const Json& json,
                                        std::vector<std::string>* notes = nullptr);
// The same, moving every string out of `json` instead of copying it, so a line's long bodies
// exist once (the reader's memory bound rests on it). `json` is left valid but unspecified.
Result<Interaction> InteractionFromJson(Json&& json, std::vector<std::string>* notes = nullptr);

}  // namespace td::cassette
