// File: cassette/base/status.h
//
// td::Status and td::Result<T>: how every tapedeck function reports an expected failure
// (I/O, parse, config, upstream, TLS, mismatch). Our code throws nothing; a failure carries
// a code that maps to an exit status and a lower-case message that each layer prefixes with
// its context, e.g. `cassette t.jsonl.zst: line 12: missing "response"`.
//
//   td::Result<Cassette> c = ReadCassette(path);
//   if (!c.ok()) return c.status().WithContext("replay");
//   Use(*c);
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace td {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,  // bad flag, bad config value, bad URL: exit 2
  kParse,            // malformed input: a cassette, a request, a JSON document
  kIo,               // a file could not be read or written: exit 3
  kNotFound,         // a lookup found nothing (e.g. no recorded interaction matches)
  kUnavailable,      // upstream unreachable, DNS, connect, TLS: exit 4
  kFailedPrecondition,
  kInternal,
};

// A short lower-case name for `code`, e.g. "parse".
std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // Returns a copy whose message is "context: message". Use it at each layer boundary.
  Status WithContext(std::string_view context) const;

  // "parse: cassette x: line 3: ..." for logs; the bare message() is for users.
  std::string ToString() const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status InvalidArgumentError(std::string msg) {
  return Status(StatusCode::kInvalidArgument, std::move(msg));
}
inline Status ParseError(std::string msg) { return Status(StatusCode::kParse, std::move(msg)); }
inline Status IoError(std::string msg) { return Status(StatusCode::kIo, std::move(msg)); }
inline Status NotFoundError(std::string msg) {
  return Status(StatusCode::kNotFound, std::move(msg));
}
inline Status UnavailableError(std::string msg) {
  return Status(StatusCode::kUnavailable, std::move(msg));
}
inline Status FailedPreconditionError(std::string msg) {
  return Status(StatusCode::kFailedPrecondition, std::move(msg));
}
inline Status InternalError(std::string msg) {
  return Status(StatusCode::kInternal, std::move(msg));
}

// "strerror(errno)" in our message style, e.g. IoErrno("open t.zst") -> "open t.zst: No such..."
Status IoErrno(std::string_view what, int err);

// Either a T or a non-ok Status. Shaped like absl::StatusOr.
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}         // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {}  // NOLINT: must not be ok()

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOkStatus;
    return ok() ? kOkStatus : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace td

// Returns early with the error of a Status-returning expression.
#define TD_RETURN_IF_ERROR(expr)             \
  do {                                       \
    ::td::Status td_status_ = (expr);        \
    if (!td_status_.ok()) return td_status_; \
  } while (0)
