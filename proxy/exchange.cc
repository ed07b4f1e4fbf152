// Out-of-line anchors for the interfaces in exchange.h, and the one error responder.
#include "proxy/exchange.h"

namespace td::proxy {

size_t ResponseSink::WritePieces(std::string_view bytes, std::span<const ByteRange> pieces) {
  size_t written = 0;
  for (const ByteRange& piece : pieces) {
    if (!IsOpen()) break;
    Write(bytes.substr(piece.begin, piece.end - piece.begin));
    ++written;
  }
  return written;
}

size_t RespondWithError(ResponseSink& sink, int status, cassette::Provider provider,
                        std::string_view type, std::string_view message,
                        cassette::Headers headers) {
  const std::string body = cassette::ErrorBody(provider, type, message);
  headers.insert(headers.begin(), {"content-type", "application/json"});
  sink.Start(status, headers, body.size());
  sink.Write(body);
  sink.Finish();
  return body.size();
}

}  // namespace td::proxy
