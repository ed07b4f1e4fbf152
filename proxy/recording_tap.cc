// RecordingTap: building a recorded interaction from what crosses the proxy.
#include "proxy/recording_tap.h"

#include "cassette/base/ascii.h"
#include "cassette/http_headers.h"

namespace td::proxy {
namespace {

// The media type of a Content-Type value, lower case, without parameters or spaces.
std::string MediaType(const cassette::Headers& headers) {
  const std::string* value = cassette::FindHeader(headers, "content-type");
  if (!value) return "";
  std::string out;
  for (char c : *value) {
    if (c == ';') break;
    if (IsSpaceOrTab(c)) continue;
    out += ToLowerAscii(c);
  }
  return out;
}

bool IsJsonMediaType(const std::string& type) {
  return type == "application/json" ||
         (type.size() > 5 && type.compare(type.size() - 5, 5, "+json") == 0);
}

}  // namespace

std::optional<cassette::StreamKind> StreamKindFor(const cassette::Headers& headers,
                                                  bool length_framed) {
  const std::string type = MediaType(headers);
  if (type == "text/event-stream") return cassette::StreamKind::kSse;
  if (length_framed || IsJsonMediaType(type)) return std::nullopt;
  return cassette::StreamKind::kChunks;
}

RecordingTap::RecordingTap(const Clock* clock, uint64_t seq, const cassette::Request& request,
                           uint64_t max_body_bytes)
    : clock_(clock), start_us_(clock->NowMicros()), max_body_bytes_(max_body_bytes) {
  interaction_.seq = seq;
  interaction_.recorded_at_us = clock->WallMicros();
  interaction_.request = request;
  interaction_.request.headers = cassette::EndToEndHeaders(request.headers);
  cassette::RemoveHeader(&interaction_.request.headers, "host");
}

Micros RecordingTap::elapsed_us() const { return clock_->NowMicros() - start_us_; }

void RecordingTap::OnHead(int status, const cassette::Headers& headers, bool length_framed,
                          Micros at_us) {
  head_seen_ = true;
  interaction_.timing.headers_us = at_us;
  interaction_.response.status = status;
  interaction_.response.headers = cassette::EndToEndHeaders(headers);
  if (std::optional<cassette::StreamKind> kind = StreamKindFor(headers, length_framed)) {
    builder_.emplace(*kind);
  }
}

void RecordingTap::OnBody(std::string_view bytes, Micros at_us) {
  if (bytes.empty()) return;
  const uint64_t kept = body_bytes_;
  body_bytes_ += bytes.size();
  if (kept >= max_body_bytes_) return;  // over the cap: counted, not kept
  if (bytes.size() > max_body_bytes_ - kept) bytes = bytes.substr(0, max_body_bytes_ - kept);
  if (builder_) {
    builder_->AddChunk(bytes, at_us);
  } else {
    interaction_.response.body.bytes.append(bytes);
  }
}

cassette::Interaction RecordingTap::Finish(std::optional<std::string> truncated) {
  interaction_.timing.done_us = elapsed_us();
  if (builder_) {
    interaction_.response.stream = builder_->Finish();
    builder_.reset();
  }
  if (body_bytes_ > max_body_bytes_) {
    std::string cap = "body over --max-body-bytes: kept the first " +
                      std::to_string(max_body_bytes_) + " of " + std::to_string(body_bytes_) +
                      " bytes";
    truncated = truncated ? *truncated + "; " + cap : cap;
  }
  interaction_.truncated = std::move(truncated);
  return std::move(interaction_);
}

}  // namespace td::proxy
