// File: tests/support/interaction_builder.h
//
// A fluent builder for cassette::Interaction in tests (like mitmproxy's tflow): start from a
// plausible Anthropic-style POST /v1/messages exchange and change only what a test is about.
//
//   cassette::Interaction i = testing::InteractionBuilder()
//       .RequestJson({{"model", "claude-x"}, {"max_tokens", 16}})
//       .SseEvent("event: ping\ndata: {\"type\":\"ping\"}\n\n", 1200)
//       .Build();
//
// Header-only; nothing here touches the network or a clock.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cassette/json_mapping.h"
#include "cassette/model.h"

namespace td::testing {

class InteractionBuilder {
 public:
  // 2026-11-21T08:32:33.123456Z, a fixed wall time so tests are deterministic.
  static constexpr Micros kDefaultRecordedAt = 1795249953123456;

  InteractionBuilder() {
    interaction_.seq = 0;
    interaction_.recorded_at_us = kDefaultRecordedAt;
    interaction_.request.method = "POST";
    interaction_.request.path = "/v1/messages";
    interaction_.response.status = 200;
  }

  // --- the interaction ---
  InteractionBuilder& Seq(std::uint64_t seq) {
    interaction_.seq = seq;
    return *this;
  }
  InteractionBuilder& RecordedAt(Micros wall_us) {
    interaction_.recorded_at_us = wall_us;
    return *this;
  }
  // Sets timing explicitly. Without it, Build() uses headers_us = the first event's at_us (or
  // 0) and done_us = the last event's at_us (or 0).
  InteractionBuilder& Timing(Micros headers_us, Micros done_us) {
    interaction_.timing = {headers_us, done_us};
    timing_set_ = true;
    return *this;
  }
  InteractionBuilder& Truncated(std::string reason) {
    interaction_.truncated = std::move(reason);
    return *this;
  }

  // --- the request ---
  InteractionBuilder& Method(std::string method) {
    interaction_.request.method = std::move(method);
    return *this;
  }
  // A raw target: "/v1/messages?beta=true" sets the path and the query.
  InteractionBuilder& Target(std::string_view target) {
    cassette::SplitTarget(target, &interaction_.request.path, &interaction_.request.query);
    return *this;
  }
  InteractionBuilder& Path(std::string path) {
    interaction_.request.path = std::move(path);
    return *this;
  }
  InteractionBuilder& Query(std::string name, std::string value) {
    interaction_.request.query.emplace_back(std::move(name), std::move(value));
    return *this;
  }
  InteractionBuilder& RequestHeader(std::string name, std::string value) {
    interaction_.request.headers.emplace_back(std::move(name), std::move(value));
    return *this;
  }
  // The body is the compact dump of `body`; content-type application/json unless set.
  InteractionBuilder& RequestJson(const cassette::Json& body) {
    interaction_.request.body = {body.dump(), true};
    request_json_ = true;
    return *this;
  }
  // Raw request bytes (no content-type added).
  InteractionBuilder& RequestBody(std::string bytes, bool exact = true) {
    interaction_.request.body = {std::move(bytes), exact};
    request_json_ = false;
    return *this;
  }

  // --- the response ---
  InteractionBuilder& ResponseStatus(int status) {
    interaction_.response.status = status;
    return *this;
  }
  InteractionBuilder& ResponseHeader(std::string name, std::string value) {
    interaction_.response.headers.emplace_back(std::move(name), std::move(value));
    return *this;
  }
  // A non-streamed JSON response: the compact dump of `body` (pretty = dump(2)), content-type
  // application/json unless set.
  InteractionBuilder& ResponseJson(const cassette::Json& body, bool pretty = false) {
    interaction_.response.stream.reset();
    interaction_.response.body = {pretty ? body.dump(2) : body.dump(), true};
    response_content_type_ = "application/json";
    return *this;
  }
  // Raw non-streamed response bytes (no content-type added).
  InteractionBuilder& ResponseBody(std::string bytes) {
    interaction_.response.stream.reset();
    interaction_.response.body = {std::move(bytes), true};
    response_content_type_.clear();
    return *this;
  }
  // Appends one SSE event (its exact bytes, the blank line included) that arrived whole at
  // `at_us`, or in pieces per `splits`. Makes the response an SSE stream with content-type
  // text/event-stream unless set.
  InteractionBuilder& SseEvent(std::string bytes, Micros at_us,
                               std::vector<cassette::Split> splits = {}) {
    StreamOf(cassette::StreamKind::kSse)
        .events.push_back({std::move(bytes), at_us, std::move(splits)});
    response_content_type_ = "text/event-stream";
    return *this;
  }
  // Appends "event: TYPE\ndata: <compact JSON>\n\n".
  InteractionBuilder& SseJson(std::string_view type, const cassette::Json& data, Micros at_us) {
    std::string bytes = "event: ";
    bytes += type;
    bytes += "\ndata: ";
    bytes += data.dump();
    bytes += "\n\n";
    return SseEvent(std::move(bytes), at_us);
  }
  // Appends one chunk of a streamed body that is not SSE (content-type application/x-ndjson
  // unless set).
  InteractionBuilder& Chunk(std::string bytes, Micros at_us) {
    StreamOf(cassette::StreamKind::kChunks).events.push_back({std::move(bytes), at_us, {}});
    response_content_type_ = "application/x-ndjson";
    return *this;
  }

  cassette::Interaction Build() const {
    cassette::Interaction out = interaction_;
    if (request_json_ && cassette::FindHeader(out.request.headers, "content-type") == nullptr) {
      out.request.headers.emplace_back("content-type", "application/json");
    }
    if (!response_content_type_.empty() &&
        cassette::FindHeader(out.response.headers, "content-type") == nullptr) {
      out.response.headers.emplace_back("content-type", response_content_type_);
    }
    if (!timing_set_ && out.response.stream && !out.response.stream->events.empty()) {
      const auto& events = out.response.stream->events;
      out.timing.headers_us = events.front().splits.empty() ? events.front().at_us
                                                            : events.front().splits.front().at_us;
      out.timing.done_us = events.back().at_us;
    }
    return out;
  }
  operator cassette::Interaction() const { return Build(); }  // NOLINT: builder convenience

 private:
  cassette::Stream& StreamOf(cassette::StreamKind kind) {
    auto& response = interaction_.response;
    if (!response.stream || response.stream->kind != kind) {
      response.stream = cassette::Stream{kind, {}};
    }
    response.body = {};
    return *response.stream;
  }

  cassette::Interaction interaction_;
  bool timing_set_ = false;
  bool request_json_ = false;
  std::string response_content_type_;
};

}  // namespace td::testing
