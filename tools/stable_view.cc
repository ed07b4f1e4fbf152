// The review view of a cassette: stable across recordings of the same conversation.
#include "tools/stable_view.h"

#include <nlohmann/json.hpp>
#include <sstream>

#include "cassette/volatile.h"

namespace td::cli {
namespace {

using Json = nlohmann::ordered_json;

constexpr auto kReplace = Json::error_handler_t::replace;

// `prefix` ("> ") and `line`; an empty line gets the prefix without its space, so no line ends
// in whitespace.
void Line(std::string_view prefix, std::string_view line, std::ostringstream& out) {
  if (line.empty()) prefix = prefix.substr(0, prefix.find_last_not_of(' ') + 1);
  out << prefix << line << "\n";
}

// Calls `fn` with each line of `text`, without its '\n' or '\r\n'; a last line without a
// newline counts.
template <typename Fn>
void ForEachLine(std::string_view text, Fn fn) {
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    fn(line);
    start = end + 1;
  }
}

// Each line of `text` with `prefix` in front.
void Lines(std::string_view text, std::string_view prefix, std::ostringstream& out) {
  ForEachLine(text, [&](std::string_view line) { Line(prefix, line, out); });
}

bool IsText(std::string_view bytes) {
  for (unsigned char c : bytes) {
    if (c < 0x20 && c != '\n' && c != '\r' && c != '\t') return false;
  }
  return true;
}

void Headers(const cassette::Headers& headers, std::string_view prefix, std::ostringstream& out) {
  for (const auto& [name, value] : headers) {
    if (cassette::IsVolatileHeader(name)) continue;
    out << prefix << name << ": " << value << "\n";
  }
}

// A body: JSON pretty with its volatile values masked, other text as its lines, anything else
// as its size.
void Body(std::string_view bytes, std::string_view prefix, std::ostringstream& out) {
  if (bytes.empty()) return;
  Json json = Json::parse(bytes, nullptr, /*allow_exceptions=*/false);
  if (!json.is_discarded()) {
    cassette::MaskVolatileJson(&json);
    Lines(json.dump(2, ' ', false, kReplace), prefix, out);
  } else if (IsText(bytes)) {
    Lines(bytes, prefix, out);
  } else {
    out << prefix << "(" << bytes.size() << " bytes, binary)\n";
  }
}

// An SSE event: its lines, a `data:` line holding JSON compacted with its volatile values
// masked (one line per event, so one changed delta is one changed line).
void SseEvent(std::string_view bytes, std::string_view prefix, std::ostringstream& out) {
  ForEachLine(bytes, [&](std::string_view line) {
    if (line.empty()) return;  // the blank line that ends the event: one per event below
    if (line.starts_with("data:")) {
      std::string_view data = line.substr(5);
      if (data.starts_with(" ")) data.remove_prefix(1);
      Json json = Json::parse(data, nullptr, /*allow_exceptions=*/false);
      if (!json.is_discarded()) {
        cassette::MaskVolatileJson(&json);
        Line(prefix, "data: " + json.dump(-1, ' ', false, kReplace), out);
        return;
      }
    }
    Line(prefix, line, out);
  });
  Line(prefix, "", out);
}

}  // namespace

std::string StableView(const cassette::Cassette& cassette) {
  std::ostringstream out;
  out << "tapedeck cassette, format version " << cassette.version;
  if (!cassette.mounts.empty()) {
    out << ", mounts:";
    for (const std::string& m : cassette.mounts) out << " " << m;
  }
  out << "\n";
  for (size_t i = 0; i < cassette.interactions.size(); ++i) {
    const cassette::Interaction& it = cassette.interactions[i];
    out << "\n#" << i << " " << it.request.method << " " << it.request.Url() << "\n";
    Headers(it.request.headers, "> ", out);
    Body(it.request.body.bytes, "> ", out);
    out << "< " << it.response.status << "\n";
    Headers(it.response.headers, "< ", out);
    if (it.response.stream) {
      for (const cassette::StreamEvent& e : it.response.stream->events) {
        if (it.response.stream->kind == cassette::StreamKind::kSse) {
          SseEvent(e.bytes, "< ", out);
        } else {
          Body(e.bytes, "< ", out);
        }
      }
    } else {
      Body(it.response.body.bytes, "< ", out);
    }
    if (it.truncated) out << "! truncated: " << *it.truncated << "\n";
  }
  return out.str();
}

}  // namespace td::cli
