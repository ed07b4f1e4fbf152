// RecordingTap and ScrubForDisk: building and cleaning a recorded interaction.
#include "proxy/recording_tap.h"

#include "cassette/content_encoding.h"
#include "cassette/secret_scan.h"
#include "proxy/internal/headers.h"

namespace td::proxy {
namespace {

// The media type of a Content-Type value, lower case, without parameters or spaces.
std::string MediaType(const cassette::Headers& headers) {
  const std::string* value = cassette::FindHeader(headers, "content-type");
  if (!value) return "";
  std::string out;
  for (char c : *value) {
    if (c == ';') break;
    if (c == ' ' || c == '\t') continue;
    out += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
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
  interaction_.request.headers = internal::EndToEndHeaders(request.headers);
  cassette::RemoveHeader(&interaction_.request.headers, "host");
}

Micros RecordingTap::elapsed_us() const { return clock_->NowMicros() - start_us_; }

void RecordingTap::OnHead(int status, const cassette::Headers& headers, bool length_framed,
                          Micros at_us) {
  head_seen_ = true;
  interaction_.timing.headers_us = at_us;
  interaction_.response.status = status;
  interaction_.response.headers = internal::EndToEndHeaders(headers);
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

bool ScrubForDisk(cassette::Interaction* interaction, const cassette::Redactor& redactor,
                  const cassette::Redactor& fallback, std::vector<std::string>* notes) {
  // Only the stored copy is decoded: the upstream got the client's own bytes. A body that cannot
  // be decoded stays as sent, header included; the scan of encoded bodies below notes it.
  (void)cassette::DecodeRequestBody(&interaction->request);
  cassette::RedactionReport report;
  redactor.RedactInteraction(interaction, &report);
  std::vector<cassette::SecretFinding> findings = cassette::ScanInteraction(*interaction, 0);
  if (!findings.empty()) {
    for (const cassette::SecretFinding& f : findings) {
      notes->push_back("secret-shaped " + f.rule + " left at " + f.where + "; masked");
    }
    cassette::RedactionReport more;
    fallback.RedactInteraction(interaction, &more);
    findings = cassette::ScanInteraction(*interaction, 0);
    for (const cassette::SecretFinding& f : findings) {
      notes->push_back("secret-shaped " + f.rule + " still at " + f.where + " after masking");
    }
    if (!findings.empty()) return false;
  }
  // What is still compressed: a response from an upstream that ignored Accept-Encoding:
  // identity (kept as sent: it must replay byte for byte), or a request body that could not be
  // decoded. Masking inside compressed bytes would change them, so a key in there withholds
  // the interaction.
  cassette::EncodedBodyScan encoded = cassette::ScanEncodedBodies(*interaction, 0);
  for (const std::string& line : encoded.undecodable) {
    notes->push_back(line + ": stored as sent, and `tapedeck cassette verify` will report it");
  }
  for (const cassette::SecretFinding& f : encoded.findings) {
    notes->push_back("secret-shaped " + f.rule + " at " + f.where +
                     " cannot be masked inside compressed bytes that replay as they are");
  }
  return encoded.findings.empty();
}

}  // namespace td::proxy
