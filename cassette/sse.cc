// SSE framing and field parsing. The framer is a byte-at-a-time state machine over line ends
// (LF, CRLF, lone CR) that remembers where it stopped, so a stream fed in any pieces is
// examined once and cut at exactly the same places. See cassette/sse.h for the boundary rules.
#include "cassette/sse.h"

#include <algorithm>
#include <cstring>
#include <utility>

namespace td::cassette {

void SseFramer::Feed(std::string_view bytes, std::vector<std::string>* events) {
  if (bytes.empty()) return;
  buffer_.append(bytes);
  size_t start = 0;  // where the event in progress begins in buffer_
  auto emit = [&](size_t end) {
    events->emplace_back(buffer_, start, end - start);
    start = end;
  };
  // Inside a line only CR and LF matter, so jump to the next one with memchr. The positions
  // found are kept until passed, so a stream with no CR at all is searched for CR once per
  // Feed, not once per line.
  const char* data = buffer_.data();
  const size_t n = buffer_.size();
  size_t next_lf = 0;
  size_t next_cr = 0;
  auto next_line_end = [&](size_t from) {
    if (next_lf <= from) {
      const void* p = std::memchr(data + from, '\n', n - from);
      next_lf = p != nullptr ? static_cast<size_t>(static_cast<const char*>(p) - data) : n;
    }
    if (next_cr <= from) {
      const void* p = std::memchr(data + from, '\r', n - from);
      next_cr = p != nullptr ? static_cast<size_t>(static_cast<const char*>(p) - data) : n;
    }
    return std::min(next_lf, next_cr);
  };
  for (size_t i = scan_; i < n; ++i) {
    const char c = buffer_[i];
    if (held_cr_event_) {
      // The previous byte was the CR of an empty line: now we know whether an LF belongs to it.
      held_cr_event_ = false;
      last_cr_ = false;
      at_line_start_ = true;
      if (c == '\n') {
        emit(i + 1);
        continue;
      }
      emit(i);  // the event ended at the CR; `c` starts the next one
    } else if (last_cr_) {
      last_cr_ = false;
      if (c == '\n') continue;  // second half of a CRLF; still at the start of a line
    }
    if (c == '\n') {
      if (at_line_start_) {
        emit(i + 1);
      } else {
        at_line_start_ = true;
      }
    } else if (c == '\r') {
      if (at_line_start_) {
        held_cr_event_ = true;
      } else {
        at_line_start_ = true;
        last_cr_ = true;
      }
    } else {
      at_line_start_ = false;
      i = next_line_end(i + 1) - 1;  // the loop's ++i lands on the line end (or n)
    }
  }
  // Bytes moved here all arrived in this call (an earlier event ended in it), so the total
  // work stays linear in the stream length.
  if (start > 0) buffer_.erase(0, start);
  scan_ = buffer_.size();
}

std::string SseFramer::TakeRemainder() {
  std::string rest = std::move(buffer_);
  buffer_.clear();
  scan_ = 0;
  at_line_start_ = true;
  last_cr_ = false;
  held_cr_event_ = false;
  return rest;
}

namespace {

void ApplyField(std::string_view line, SseFields* fields) {
  if (line.front() == ':') {
    fields->comments.emplace_back(line.substr(1));
    return;
  }
  std::string_view name = line;
  std::string_view value;
  if (size_t colon = line.find(':'); colon != std::string_view::npos) {
    name = line.substr(0, colon);
    value = line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  }
  if (name == "event") {
    fields->event = std::string(value);
  } else if (name == "data") {
    if (fields->has_data) fields->data += '\n';
    fields->data += value;
    fields->has_data = true;
  } else if (name == "id") {
    if (value.find('\0') == std::string_view::npos) fields->id = std::string(value);
  } else if (name == "retry") {
    if (!value.empty() &&
        std::all_of(value.begin(), value.end(), [](char ch) { return ch >= '0' && ch <= '9'; })) {
      fields->retry = std::string(value);
    }
  }
  // Any other field name is ignored, as the WHATWG parser does.
}

}  // namespace

SseFields ParseSseEvent(std::string_view event_bytes) {
  SseFields fields;
  size_t pos = 0;
  const size_t n = event_bytes.size();
  while (pos < n) {
    size_t eol = event_bytes.find_first_of("\r\n", pos);
    if (eol == std::string_view::npos) eol = n;
    std::string_view line = event_bytes.substr(pos, eol - pos);
    if (eol == n) {
      pos = n;
    } else if (event_bytes[eol] == '\r' && eol + 1 < n && event_bytes[eol + 1] == '\n') {
      pos = eol + 2;
    } else {
      pos = eol + 1;
    }
    if (!line.empty()) ApplyField(line, &fields);
  }
  return fields;
}

bool IsDoneEvent(const SseFields& fields) { return fields.has_data && fields.data == "[DONE]"; }

}  // namespace td::cassette
