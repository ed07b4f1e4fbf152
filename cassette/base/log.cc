// The stderr logger behind TD_LOG and TD_CHECK.
#include "cassette/base/log.h"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <mutex>
#include <nlohmann/json.hpp>

namespace td {
namespace {

std::atomic<LogLevel> g_level{LogLevel::kInfo};
std::atomic<LogFormat> g_format{LogFormat::kText};
std::mutex g_mu;
LogSink g_sink = nullptr;
void* g_sink_arg = nullptr;

std::string_view LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kTrace:
      return "trace";
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
    case LogLevel::kOff:
      return "off";
  }
  return "?";
}

}  // namespace

void SetLogLevel(LogLevel level) { g_level = level; }
LogLevel GetLogLevel() { return g_level; }
void SetLogFormat(LogFormat format) { g_format = format; }
bool LogEnabled(LogLevel level) { return level >= g_level.load(std::memory_order_relaxed); }

Result<LogLevel> ParseLogLevel(std::string_view name) {
  for (LogLevel l : {LogLevel::kTrace, LogLevel::kDebug, LogLevel::kInfo, LogLevel::kWarn,
                     LogLevel::kError, LogLevel::kOff}) {
    if (name == LevelName(l)) return l;
  }
  return InvalidArgumentError("unknown log level \"" + std::string(name) +
                              "\" (expected trace, debug, info, warn, error or off)");
}

Result<LogFormat> ParseLogFormat(std::string_view name) {
  if (name == "text") return LogFormat::kText;
  if (name == "json") return LogFormat::kJson;
  return InvalidArgumentError("unknown log format \"" + std::string(name) +
                              "\" (expected text or json)");
}

void SetLogSink(LogSink sink, void* arg) {
  std::lock_guard<std::mutex> lock(g_mu);
  g_sink = sink;
  g_sink_arg = arg;
}

namespace {

// One line in the current format. `prefixed`: text lines start "tapedeck: <level>: ".
std::string FormatRecord(LogLevel level, std::string_view message, std::span<const LogField> fields,
                         bool prefixed) {
  if (g_format.load() == LogFormat::kJson) {
    char ts[32];
    std::time_t now = std::time(nullptr);
    std::tm tm_utc{};
    gmtime_r(&now, &tm_utc);
    std::strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm_utc);
    nlohmann::ordered_json j = {{"time", ts}, {"level", LevelName(level)}, {"msg", message}};
    for (const LogField& f : fields) {
      if (const auto* text = std::get_if<std::string_view>(&f.value)) {
        j[std::string(f.key)] = *text;
      } else {
        j[std::string(f.key)] = std::get<std::int64_t>(f.value);
      }
    }
    return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  }
  // Room for Emit's newline too: a line is written per request at the default level.
  constexpr std::string_view kPrefix = "tapedeck: ";
  const std::string_view name = prefixed ? LevelName(level) : std::string_view();
  std::string line;
  line.reserve(kPrefix.size() + name.size() + 2 + message.size() + 1);
  if (prefixed) line.append(kPrefix).append(name).append(": ", 2);
  line.append(message);
  return line;
}

void Emit(LogLevel level, std::string line) {
  std::lock_guard<std::mutex> lock(g_mu);
  if (g_sink != nullptr) {
    g_sink(level, line, g_sink_arg);
    return;
  }
  // stderr is unbuffered: one write(2) per line, without stdio's bookkeeping around it.
  line += '\n';
  std::string_view rest = line;
  while (!rest.empty()) {
    ssize_t n = ::write(STDERR_FILENO, rest.data(), rest.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // nowhere to report a failing stderr
    rest.remove_prefix(static_cast<size_t>(n));
  }
}

}  // namespace

void WriteLogLine(LogLevel level, std::string_view message) {
  Emit(level, FormatRecord(level, message, {}, /*prefixed=*/true));
}

void WriteLogRecord(LogLevel level, std::string_view text, std::span<const LogField> fields) {
  Emit(level, FormatRecord(level, text, fields, /*prefixed=*/true));
}

void WriteNotice(std::string_view text, std::span<const LogField> fields) {
  Emit(LogLevel::kInfo, FormatRecord(LogLevel::kInfo, text, fields, /*prefixed=*/false));
}

namespace internal {

CheckFailure::CheckFailure(const char* file, int line, const char* cond) {
  stream_ << "check failed at " << file << ":" << line << ": " << cond << " ";
}

CheckFailure::~CheckFailure() {
  WriteLogLine(LogLevel::kError, stream_.str());
  std::abort();
}

}  // namespace internal
}  // namespace td
