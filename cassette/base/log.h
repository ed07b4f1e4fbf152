// File: cassette/base/log.h
//
// Process-wide logging to stderr. `TD_LOG(kInfo) << "recorded " << n;` builds its message only
// when the level is enabled. Lines are "tapedeck: <level>: <message>" in text format, or one
// JSON object per line in json format. TD_CHECK is for broken invariants (bugs), never for bad
// input: it logs and aborts.
//
// Thread safety: SetLogLevel/SetLogFormat are called once at start-up; writing a line is
// serialised by a mutex, so helper threads (tests) may log too.
#pragma once

#include <cstdint>
#include <span>
#include <sstream>
#include <string>
#include <string_view>
#include <variant>

#include "cassette/base/status.h"

namespace td {

enum class LogLevel { kTrace = 0, kDebug, kInfo, kWarn, kError, kOff };
enum class LogFormat { kText, kJson };

void SetLogLevel(LogLevel level);
LogLevel GetLogLevel();
void SetLogFormat(LogFormat format);
bool LogEnabled(LogLevel level);

// Parses "trace|debug|info|warn|error|off".
Result<LogLevel> ParseLogLevel(std::string_view name);
// Parses "text|json".
Result<LogFormat> ParseLogFormat(std::string_view name);

// Writes one finished line. Use TD_LOG instead.
void WriteLogLine(LogLevel level, std::string_view message);

// A field of a structured log record: a string or a number.
struct LogField {
  std::string_view key;
  std::variant<std::string_view, std::int64_t> value;
};

// Writes one record for lines that scripts read (the access log): in text format the same
// "tapedeck: <level>: <text>" line TD_LOG writes; in json format one object with "time",
// "level", "msg" (the text) and each field as its own key, so scripts need not parse `text`.
// Callers check LogEnabled(level) first.
void WriteLogRecord(LogLevel level, std::string_view text, std::span<const LogField> fields);

// Writes a record whatever the log level, without the "tapedeck: <level>: " prefix in text
// format: for the line wrappers wait for ("tapedeck listening on http://HOST:PORT").
void WriteNotice(std::string_view text, std::span<const LogField> fields);

// Where lines go; defaults to stderr. Tests capture lines by installing a sink.
using LogSink = void (*)(LogLevel level, std::string_view line, void* arg);
void SetLogSink(LogSink sink, void* arg);

namespace internal {

class LogMessage {
 public:
  explicit LogMessage(LogLevel level) : level_(level) {}
  ~LogMessage() { WriteLogLine(level_, stream_.str()); }
  LogMessage(const LogMessage&) = delete;
  LogMessage& operator=(const LogMessage&) = delete;
  std::ostream& stream() { return stream_; }

 private:
  LogLevel level_;
  std::ostringstream stream_;
};

class CheckFailure {
 public:
  CheckFailure(const char* file, int line, const char* cond);
  [[noreturn]] ~CheckFailure();
  std::ostream& stream() { return stream_; }

 private:
  std::ostringstream stream_;
};

// Lets `cond ? (void)0 : Voidify() & stream << ...` type-check.
struct Voidify {
  void operator&(std::ostream&) {}
};

}  // namespace internal
}  // namespace td

#define TD_LOG(level)                      \
  !::td::LogEnabled(::td::LogLevel::level) \
      ? (void)0                            \
      : ::td::internal::Voidify() & ::td::internal::LogMessage(::td::LogLevel::level).stream()

#define TD_CHECK(cond)                 \
  (cond) ? (void)0                     \
         : ::td::internal::Voidify() & \
               ::td::internal::CheckFailure(__FILE__, __LINE__, #cond).stream()
