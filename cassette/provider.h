// File: cassette/provider.h
//
// Which API a request speaks (Anthropic, OpenAI, or neither) and that provider's error body
// shape, so every error tapedeck makes up (a replay miss, an unreachable upstream) reads to the
// client's SDK like the provider's own. Pure functions over cassette::Request.
#pragma once

#include <string>
#include <string_view>

#include "cassette/model.h"

namespace td::cassette {

enum class Provider { kAnthropic, kOpenAI, kGeneric };

// Anthropic: an `anthropic-version` or `x-api-key` header, or a path ending in /v1/messages,
// /v1/messages/count_tokens, /v1/complete, /v1/messages/batches... OpenAI: an
// `authorization: Bearer` request to /chat/completions, /completions, /responses, /embeddings
// (with or without a /v1 prefix), or an `openai-*` header. Anything else: kGeneric.
Provider DetectProvider(const Request& request);

// The provider's JSON error body:
//   Anthropic: {"type":"error","error":{"type":TYPE,"message":MESSAGE}}
//   OpenAI:    {"error":{"message":MESSAGE,"type":TYPE,"param":null,"code":CODE}}
//   Generic:   {"error":{"type":TYPE,"message":MESSAGE}}
// `type` is the Anthropic-style type ("not_found_error", "api_error", "overloaded_error");
// for OpenAI it is mapped to OpenAI's vocabulary where one exists. The message is escaped.
std::string ErrorBody(Provider provider, std::string_view type, std::string_view message);

// The bytes of a mid-stream SSE error event in the provider's shape (for fault injection):
// Anthropic `event: error\ndata: {...overloaded_error...}\n\n`; OpenAI
// `data: {"error":{...}}\n\n`.
std::string StreamErrorEvent(Provider provider, std::string_view type, std::string_view message);

}  // namespace td::cassette
