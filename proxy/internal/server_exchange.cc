// ServerExchange: response framing, batching and drain notification over a ServerConnection.
#include "proxy/internal/server_exchange.h"

#include <algorithm>
#include <charconv>
#include <cstdio>

#include "cassette/base/log.h"
#include "cassette/http_headers.h"
#include "proxy/chunked_coding.h"
#include "proxy/internal/headers.h"
#include "proxy/internal/server_connection.h"

namespace td::proxy::internal {

ServerExchange::ServerExchange(ServerConnection* conn, uint64_t seq, cassette::Request request,
                               std::string target, Micros arrived_us, std::string peer,
                               bool head_request, int version_minor, bool client_keep_alive)
    : conn_(conn),
      seq_(seq),
      request_(std::move(request)),
      target_(std::move(target)),
      arrived_us_(arrived_us),
      peer_(std::move(peer)),
      head_request_(head_request),
      version_minor_(version_minor),
      client_keep_alive_(client_keep_alive) {}

void ServerExchange::Start(int status, const cassette::Headers& headers,
                           std::optional<size_t> content_length) {
  if (!IsOpen()) return;
  if (started_) {
    TD_LOG(kError) << "response to " << peer_ << " started twice; ignoring the second start";
    return;
  }
  started_ = true;
  status_ = status;
  keep_alive_ = client_keep_alive_;
  if (status == 204 || status < 200) {
    framing_ = Framing::kNone;
  } else if (content_length) {
    framing_ = Framing::kLength;
    content_length_ = *content_length;
  } else if (head_request_ || status == 304) {
    framing_ = Framing::kNone;
  } else if (version_minor_ >= 1) {
    framing_ = Framing::kChunked;
  } else {
    framing_ = Framing::kUntilClose;  // an HTTP/1.0 client: the close ends the body
    keep_alive_ = false;
  }

  std::string head;
  head.reserve(256);
  // "HTTP/1.1 %03d ", without snprintf for the statuses there are (it was a tenth of this
  // function's instructions).
  if (status >= 0 && status <= 999) {
    const char line[] = {'H',
                         'T',
                         'T',
                         'P',
                         '/',
                         '1',
                         '.',
                         '1',
                         ' ',
                         static_cast<char>('0' + status / 100),
                         static_cast<char>('0' + status / 10 % 10),
                         static_cast<char>('0' + status % 10),
                         ' '};
    head.append(line, sizeof line);
  } else {
    char line[32];
    head.append(line,
                static_cast<size_t>(std::snprintf(line, sizeof line, "HTTP/1.1 %03d ", status)));
  }
  head += cassette::ReasonPhrase(status);
  head += "\r\n";
  for (const std::string& name : AppendHeaderLines(headers, head)) {
    TD_LOG(kWarn) << "response to " << peer_ << ": dropped header \"" << name
                  << "\" with a malformed name or value";
  }
  if (framing_ == Framing::kLength) {
    char digits[24];
    auto end = std::to_chars(digits, digits + sizeof digits, content_length_).ptr;
    head.append("Content-Length: ").append(digits, end).append("\r\n", 2);
  } else if (framing_ == Framing::kChunked) {
    head += "Transfer-Encoding: chunked\r\n";
  }
  if (!keep_alive_) {
    head += "Connection: close\r\n";
  } else if (version_minor_ == 0) {
    head += "Connection: keep-alive\r\n";
  }
  head += "\r\n";
  iovec iov{head.data(), head.size()};
  Emit(&iov, 1);
}

void ServerExchange::Write(std::string_view bytes) {
  if (!IsOpen() || bytes.empty()) return;
  if (!started_) {
    TD_LOG(kError) << "response to " << peer_ << ": body written before Start; ignored";
    return;
  }
  const bool no_body = head_request_ || StatusHasNoBody(status_);
  auto* data = const_cast<char*>(bytes.data());  // iovec is not const-correct; never written
  switch (no_body ? Framing::kNone : framing_) {
    case Framing::kNone:
      break;
    case Framing::kLength: {
      uint64_t room = content_length_ - std::min(written_, content_length_);
      size_t n = static_cast<size_t>(std::min<uint64_t>(room, bytes.size()));
      if (n < bytes.size() && !overflow_logged_) {
        overflow_logged_ = true;
        TD_LOG(kError) << "response to " << peer_ << ": body longer than its content-length "
                       << content_length_ << "; extra bytes dropped";
      }
      iovec iov{data, n};
      if (n > 0) Emit(&iov, 1);
      break;
    }
    case Framing::kChunked: {
      if (batching_) {  // straight into the batch, framed in place
        FrameChunk(bytes, conn_->batch_buffer().Extend(FramedChunkSize(bytes.size())));
        break;
      }
      char size_line[24];
      const size_t line =
          static_cast<size_t>(WriteChunkSizeLine(bytes.size(), size_line) - size_line);
      static char crlf[] = "\r\n";
      iovec iov[3] = {{size_line, line}, {data, bytes.size()}, {crlf, 2}};
      Emit(iov, 3);
      break;
    }
    case Framing::kUntilClose: {
      iovec iov{data, bytes.size()};
      Emit(&iov, 1);
      break;
    }
  }
  written_ += bytes.size();
}

size_t ServerExchange::WritePieces(std::string_view bytes, std::span<const ByteRange> pieces) {
  // Many pieces due at once (an instant replay in byte or random chunking): every piece framed
  // as its chunk straight into the batch, the buffer grown once. Anything else goes piece by
  // piece.
  if (!batching_ || !SendsChunksAsTheyAre()) return ResponseSink::WritePieces(bytes, pieces);
  // Room for the worst case (a 16-digit size line), given back after.
  size_t room = 0;
  for (const ByteRange& piece : pieces) room += piece.end - piece.begin + 20;
  WriteBatch& batch = conn_->batch_buffer();
  char* const start = batch.Extend(room);
  char* out = start;
  for (const ByteRange& piece : pieces) {
    // As Write(): an empty piece sends nothing (a chunk of size 0 would end the body).
    out = FrameChunk(bytes.substr(piece.begin, piece.end - piece.begin), out);
  }
  batch.Unextend(room - static_cast<size_t>(out - start));
  return pieces.size();
}

size_t ServerExchange::WriteChunks(std::string_view chunks) {
  // A replayed stream, framed at load: sent from where it lies, by reference in the batch.
  if (!SendsChunksAsTheyAre()) return ResponseSink::WriteChunks(chunks);
  if (batching_) {
    conn_->batch_buffer().AppendReference(chunks.data(), chunks.size());
  } else if (!chunks.empty()) {
    iovec iov{const_cast<char*>(chunks.data()), chunks.size()};  // iovec is not const-correct
    conn_->Send(&iov, 1);
  }
  return chunks.size();
}

void ServerExchange::Emit(const iovec* iov, int count) {
  if (!batching_) {
    conn_->Send(iov, count);
    return;
  }
  WriteBatch& batch = conn_->batch_buffer();
  for (int i = 0; i < count; ++i) {
    batch.Append(static_cast<const char*>(iov[i].iov_base), iov[i].iov_len);
  }
}

void ServerExchange::FlushBatch() {
  if (conn_ != nullptr) conn_->SendBatch();
}

void ServerExchange::EndBatch() {
  batching_ = false;
  FlushBatch();
  // A drain wait begun during the batch counted the batch as buffered; if the flush handed it
  // all to the kernel, no write callback will come to end the wait.
  DrainedSoonIfDrained();
}

void ServerExchange::Finish() {
  if (!IsOpen()) return;
  auto self = shared_from_this();  // the connection may drop the last other reference
  if (!started_) {
    TD_LOG(kError) << "response to " << peer_ << " finished before it started; resetting";
    Reset();
    return;
  }
  ended_ = true;
  const bool no_body = head_request_ || StatusHasNoBody(status_);
  bool clean = true;
  if (!no_body && framing_ == Framing::kChunked) {
    // iovec is not const-correct; the bytes are never written.
    iovec iov{const_cast<char*>(kLastChunk.data()), kLastChunk.size()};
    Emit(&iov, 1);
  } else if (!no_body && framing_ == Framing::kLength && written_ < content_length_) {
    TD_LOG(kError) << "response to " << peer_ << ": body of " << written_
                   << " bytes is shorter than its content-length " << content_length_
                   << "; closing the connection";
    clean = false;
  }
  FlushBatch();
  ServerConnection* conn = conn_;
  conn_ = nullptr;
  on_client_gone_ = nullptr;
  on_drained_ = nullptr;
  drained_timer_.Cancel();
  conn->ResponseDone(keep_alive_ && clean && framing_ != Framing::kUntilClose);
}

void ServerExchange::Reset() {
  if (!IsOpen()) return;
  auto self = shared_from_this();
  FlushBatch();  // what was written reaches the client before the reset
  ended_ = true;
  ServerConnection* conn = conn_;
  conn_ = nullptr;
  on_client_gone_ = nullptr;
  on_drained_ = nullptr;
  drained_timer_.Cancel();
  conn->ResetNow();
}

size_t ServerExchange::BufferedBytes() const {
  return conn_ ? evbuffer_get_length(conn_->output()) + conn_->batch_buffer().size() : 0;
}

void ServerExchange::SetOnDrained(std::function<void()> on_drained) {
  drained_timer_.Cancel();
  if (!IsOpen()) {
    on_drained_ = nullptr;  // never called after the client has gone
    return;
  }
  on_drained_ = std::move(on_drained);
  DrainedSoonIfDrained();
}

void ServerExchange::DrainedSoonIfDrained() {
  if (!IsOpen() || !on_drained_ || BufferedBytes() > conn_->write_low_watermark()) return;
  // Already drained: no write callback will come, so call back on the next iteration.
  drained_timer_ = conn_->loop()->RunAfter(0, [this] { Drained(); });
}

void ServerExchange::Detach() {
  conn_ = nullptr;
  on_client_gone_ = nullptr;
  on_drained_ = nullptr;
  drained_timer_.Cancel();
}

void ServerExchange::ClientGone() {
  auto self = shared_from_this();
  bool was_open = IsOpen();
  conn_ = nullptr;
  on_drained_ = nullptr;
  drained_timer_.Cancel();
  std::function<void()> fn = std::move(on_client_gone_);
  on_client_gone_ = nullptr;
  if (was_open && fn) fn();
}

void ServerExchange::Drained() {
  if (!IsOpen() || !on_drained_) return;
  std::function<void()> fn = std::move(on_drained_);
  on_drained_ = nullptr;
  fn();
}

}  // namespace td::proxy::internal
