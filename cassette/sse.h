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

// Event boundaries, exactly:
// - A line ends with LF, CRLF or a lone CR (WHATWG). An event ends at the end of the first
//   empty line after it started; the event's bytes include that line end ("\n", "\r\n" or
//   "\r").
// - An event whose empty line ends in CR is held back until the next byte is known, because
//   the CR may be the first half of a CRLF split across two Feed calls. When the next byte is
//   LF, the event includes it; otherwise the event ends at the CR and the next byte starts the
//   next event. Such a held-back event stays in pending() (see pending_complete()) until the
//   next Feed or TakeRemainder(). So the events returned are the same whatever the split points.
// - Comment-only events (": ping") and events without data are events too.
// - A stray blank line where an event would start (before any field, or a second blank line
//   after an event) is returned as its own one-line "event" ("\n", "\r\n" or "\r") so that no
//   byte is lost; ParseSseEvent gives it no fields.
// Feed is O(bytes fed): each byte is examined once, whatever the chunking.
// Thread: not thread-safe; one framer per stream.
class SseFramer {
 public:
  // Appends every event completed by `bytes` to `*events`, in order.
  void Feed(std::string_view bytes, std::vector<std::string>* events);
  // Bytes received that have not been returned as an event yet.
  std::string_view pending() const { return buffer_; }
  // True when pending() is one whole event whose final empty line ended in CR, held back only
  // until the next byte shows whether an LF belongs to it. At the end of a stream such an
  // event is complete, not truncated.
  bool pending_complete() const { return held_cr_event_; }
  // Ends the stream: returns the bytes not yet returned as an event (possibly empty; an
  // incomplete event, or a complete one per pending_complete()) and resets the framer.
  std::string TakeRemainder();

 private:
  std::string buffer_;          // bytes of the event in progress
  size_t scan_ = 0;             // bytes of buffer_ already examined
  bool at_line_start_ = true;   // the next byte starts a line
  bool last_cr_ = false;        // the previous byte was a CR line end (an LF may follow)
  bool held_cr_event_ = false;  // buffer_ is an event ended by an empty line "\r"
};

// The fields of one SSE event (WHATWG "interpret an event stream" rules: "field: value" drops
// ONE leading space after the colon; a line with no colon is a field with an empty value; data
// lines join with '\n'; lines starting with ':' are comments, collected apart; unknown fields
// are ignored; an id containing NUL is ignored; retry is kept only when it is all ASCII digits).
// Lines end with LF, CRLF or CR. Several events in `event_bytes` read as one.
struct SseFields {
  std::string event;  // "" when absent (the default type is "message")
  std::string data;   // data lines joined with '\n'
  bool has_data = false;
  std::optional<std::string> id;
  std::optional<std::string> retry;
  std::vector<std::string> comments;  // text after the colon: ": ping" -> " ping", ":x" -> "x"
};
SseFields ParseSseEvent(std::string_view event_bytes);

// True for `data: [DONE]` (OpenAI's end marker).
bool IsDoneEvent(const SseFields& fields);

}  // namespace td::cassette
