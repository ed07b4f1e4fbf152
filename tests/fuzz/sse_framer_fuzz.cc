// File: tests/fuzz/sse_framer_fuzz.cc
//
// libFuzzer harness for cassette::SseFramer (cassette/sse.h). Input: one byte that salts the
// split seed, then the stream. Properties beyond "no crash": fed whole, one byte at a time or in
// seeded random pieces, the stream gives the same events and the same unfinished remainder;
// events plus remainder concatenate back to the stream exactly; each event is self-delimiting
// (framed alone it comes back whole) and the remainder holds no complete event.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "cassette/base/log.h"
#include "cassette/sse.h"
#include "tests/fuzz/fuzz_support.h"

namespace td::cassette {
namespace {

struct Framed {
  std::vector<std::string> events;
  std::string remainder;
  bool pending_complete = false;
};

// Feeds `stream` to `framer` in pieces of the given lengths, then ends the stream.
Framed Frame(SseFramer& framer, std::string_view stream, const std::vector<size_t>& pieces) {
  Framed out;
  size_t pos = 0;
  for (size_t n : pieces) {
    framer.Feed(stream.substr(pos, n), &out.events);
    pos += n;
  }
  out.pending_complete = framer.pending_complete();
  const std::string pending(framer.pending());
  out.remainder = framer.TakeRemainder();
  TD_CHECK(pending == out.remainder)
      << "pending() " << fuzz::Quote(pending) << " differs from TakeRemainder() "
      << fuzz::Quote(out.remainder);
  TD_CHECK(framer.pending().empty() && !framer.pending_complete())
      << "TakeRemainder() did not reset the framer";
  return out;
}

void CheckSame(const Framed& a, const Framed& b, std::string_view how) {
  const size_t n = std::min(a.events.size(), b.events.size());
  for (size_t i = 0; i < n; ++i) {
    TD_CHECK(a.events[i] == b.events[i])
        << "event " << i << " differs when fed " << how << ": whole " << fuzz::Quote(a.events[i])
        << ", split " << fuzz::Quote(b.events[i]);
  }
  TD_CHECK(a.events.size() == b.events.size())
      << "fed " << how << ": " << b.events.size() << " events instead of " << a.events.size();
  TD_CHECK(a.remainder == b.remainder)
      << "remainder differs when fed " << how << ": whole " << fuzz::Quote(a.remainder)
      << ", split " << fuzz::Quote(b.remainder);
  TD_CHECK(a.pending_complete == b.pending_complete)
      << "pending_complete() differs when fed " << how;
}

void CheckFraming(const Framed& f, std::string_view stream) {
  std::string joined;
  for (const std::string& event : f.events) {
    TD_CHECK(!event.empty()) << "empty event";
    TD_CHECK(event.back() == '\n' || event.back() == '\r')
        << "event does not end with a line end: " << fuzz::Quote(event);
    // Self-delimiting: the event alone frames as exactly itself (an event ended by a lone CR
    // stays pending until the next byte, and is then complete).
    SseFramer alone;
    std::vector<std::string> events;
    alone.Feed(event, &events);
    if (events.empty()) {
      TD_CHECK(alone.pending_complete() && alone.pending() == event)
          << "event framed alone is incomplete: " << fuzz::Quote(event);
    } else {
      TD_CHECK(events.size() == 1 && events[0] == event && alone.pending().empty())
          << "event framed alone splits into " << events.size()
          << " events: " << fuzz::Quote(event);
    }
    (void)ParseSseEvent(event);
    joined += event;
  }
  joined += f.remainder;
  TD_CHECK(joined == stream) << "events + remainder " << fuzz::Quote(joined)
                             << " differ from the input " << fuzz::Quote(stream);
  if (!f.remainder.empty()) {
    SseFramer rest;
    std::vector<std::string> events;
    rest.Feed(f.remainder, &events);
    TD_CHECK(events.empty()) << "the remainder " << fuzz::Quote(f.remainder)
                             << " holds a complete event " << fuzz::Quote(events[0]);
    (void)ParseSseEvent(f.remainder);
  }
}

}  // namespace
}  // namespace td::cassette

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace td::cassette;
  if (size == 0) return 0;
  const std::string_view stream(reinterpret_cast<const char*>(data) + 1, size - 1);
  const std::uint64_t seed = td::fuzz::HashBytes(stream) ^ (std::uint64_t{data[0]} << 56);

  SseFramer framer;
  const Framed whole = Frame(framer, stream, {stream.size()});
  CheckFraming(whole, stream);

  const Framed bytes = Frame(framer, stream, std::vector<size_t>(stream.size(), 1));
  CheckSame(whole, bytes, "one byte at a time");

  const Framed pieces = Frame(framer, stream, td::fuzz::PieceLengths(stream.size(), seed));
  CheckSame(whole, pieces, "in random pieces");
  return 0;
}
