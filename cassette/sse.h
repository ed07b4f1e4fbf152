// File: cassette/sse.h
//
// Server-sent events, byte-exact. SseFramer is an incremental framer: feed it bytes split
// anywhere and it hands back each complete event's exact bytes (the blank line that ends it
// included), whatever the line ends (LF, CRLF, CR, mixed). It never re-serialises anything:
// concatenating every event it returns plus TakeRemainder() gives back exactly the input.
// ParseSseEvent reads the fields of one event for display, matching and fault injection.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace td::cassette {

class SseFramer {
 public:
  // Appends every event completed by `bytes` to `*events`, in order.
  void Feed(std::string_view bytes, std::vector<std::string>* events);
  // Bytes received that do not yet end an event.
  std::string_view pending() const { return buffer_; }
  // Ends the stream: returns the incomplete trailing bytes (possibly empty) and resets.
  std::string TakeRemainder();

 private:
  std::string buffer_;   // bytes of the event in progress
  size_t scan_ = 0;      // where to resume scanning for the end of the event
  bool last_cr_ = false; // the previous byte fed was '\r' (a CRLF may be split across Feeds)
};

// The fields of one SSE event (WHATWG "interpret an event stream" rules: a leading space after
// the colon is dropped, data lines join with '\n', comment lines are collected apart).
struct SseFields {
  std::string event;                  // "" when absent (the default type is "message")
  std::string data;                   // data lines joined with '\n'
  bool has_data = false;
  std::optional<std::string> id;
  std::optional<std::string> retry;
  std::vector<std::string> comments;  // ": ping" -> " ping"... without the colon
};
SseFields ParseSseEvent(std::string_view event_bytes);

// True for `data: [DONE]` (OpenAI's end marker).
bool IsDoneEvent(const SseFields& fields);

}  // namespace td::cassette
