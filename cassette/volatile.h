// File: cassette/volatile.h
//
// What changes every time the same conversation is recorded again: the noise a review diff
// (`tapedeck cassette cat --stable`) and a drift report (`tapedeck cassette diff`) leave out.
// Recording times, arrival offsets and splits are fields of the model and simply not shown;
// this file names the rest, found in the bytes: response headers stamped per request, and the
// ids and creation times the providers put in JSON bodies. Pure; any thread.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace td::cassette {

// Headers whose value differs per response for the same content: `date`, request ids
// (`request-id`, `x-request-id`, `cf-ray`), processing times (`openai-processing-ms`,
// `x-envoy-upstream-service-time`, `server-timing`), cookies (`set-cookie`), cache ages
// (`age`, `expires`) and rate-limit counters (`anthropic-ratelimit-*`, `x-ratelimit-*`).
// Case-insensitive.
bool IsVolatileHeader(std::string_view name);

// A provider-made id with its random part replaced: "msg_01AbC..." -> "msg_*",
// "chatcmpl-9xYz..." -> "chatcmpl-*", "toolu_01..." -> "toolu_*". A value without a prefix
// (no '_' or '-' in its first 16 bytes) becomes "*".
std::string MaskedId(std::string_view id);

// Masks, throughout `json`, the values that change per recording: strings under the keys
// "id", "tool_use_id", "tool_call_id" and "call_id" (MaskedId), and numbers under "created"
// and "created_at" (0). Returns how many values it masked.
size_t MaskVolatileJson(nlohmann::ordered_json* json);

}  // namespace td::cassette
