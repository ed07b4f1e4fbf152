// ScrubForDisk: decode, redact, scan, fallback-mask, rescan, and the scan of compressed bodies.
#include "cassette/scrub.h"

#include "cassette/content_encoding.h"
#include "cassette/secret_scan.h"

namespace td::cassette {

ScrubReport ScrubForDisk(Interaction* interaction, const Redactor& redactor,
                         const Redactor& fallback, size_t index) {
  ScrubReport out;
  // Only the stored copy is decoded: the upstream got the client's own bytes. A body that cannot
  // be decoded stays as sent, header included; the scan of encoded bodies below notes it.
  const bool encoded = FindHeader(interaction->request.headers, "content-encoding") != nullptr;
  out.decoded_request_body = encoded && DecodeRequestBody(&interaction->request).ok();
  redactor.RedactInteraction(interaction, &out.redacted);
  std::vector<SecretFinding> findings = ScanInteraction(*interaction, index);
  if (!findings.empty()) {
    for (const SecretFinding& f : findings) {
      out.notes.push_back("secret-shaped " + f.rule + " left at " + f.where + "; masked");
    }
    fallback.RedactInteraction(interaction, &out.redacted);
    findings = ScanInteraction(*interaction, index);
    for (const SecretFinding& f : findings) {
      out.notes.push_back("secret-shaped " + f.rule + " still at " + f.where + " after masking");
    }
    if (!findings.empty()) out.clean = false;
  }
  // What is still compressed: a response from an upstream that ignored Accept-Encoding:
  // identity (kept as sent: it must replay byte for byte), or a request body that could not be
  // decoded. Masking inside compressed bytes would change them, so a key in there withholds
  // the interaction.
  EncodedBodyScan still = ScanEncodedBodies(*interaction, index);
  for (const std::string& line : still.undecodable) {
    out.notes.push_back(line + ": stored as sent, and `tapedeck cassette verify` will report it");
  }
  for (const SecretFinding& f : still.findings) {
    out.notes.push_back("secret-shaped " + f.rule + " at " + f.where +
                        " cannot be masked inside compressed bytes that replay as they are");
  }
  if (!still.findings.empty()) out.clean = false;
  return out;
}

}  // namespace td::cassette
