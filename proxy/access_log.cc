// The access log line format.
#include "proxy/access_log.h"

#include <charconv>
#include <cstdio>

#include "cassette/base/log.h"

namespace td::proxy {
namespace {

bool NeedsEscape(char c, bool quote_escapes) {
  auto u = static_cast<unsigned char>(c);
  return u < 0x20 || u == 0x7f || (quote_escapes ? c == '"' || c == '\\' : c == ' ');
}

void AppendSafe(std::string* out, std::string_view text, bool quote_escapes) {
  // Runs of bytes that need no escape are appended whole: a line is written per request.
  while (!text.empty()) {
    size_t run = 0;
    while (run < text.size() && !NeedsEscape(text[run], quote_escapes)) ++run;
    out->append(text.data(), run);
    if (run == text.size()) return;
    const char c = text[run];
    text.remove_prefix(run + 1);
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f || (quote_escapes && (c == '"' || c == '\\'))) {
      char buf[8];
      if (c == '"' || c == '\\') {
        std::snprintf(buf, sizeof buf, "\\%c", c);
      } else {
        std::snprintf(buf, sizeof buf, "\\x%02x", u);
      }
      *out += buf;
    } else {
      *out += "%20";  // a space outside quotes
    }
  }
}

template <typename Integer>
void AppendNumber(std::string* out, Integer value) {
  char digits[24];
  out->append(digits, std::to_chars(digits, digits + sizeof digits, value).ptr);
}

}  // namespace

std::string FormatAccessLine(const AccessLogEntry& entry) {
  std::string line;
  line.reserve(128);
  line += "mode=";
  line += entry.mode;
  line += " result=";
  line += entry.result;
  line += " status=";
  AppendNumber(&line, entry.status);
  line += " bytes=";
  AppendNumber(&line, entry.bytes);
  line += " ms=";
  AppendNumber(&line, entry.duration_us < 0 ? 0 : entry.duration_us / 1000);
  line += ' ';
  AppendSafe(&line, entry.method, false);
  line += ' ';
  AppendSafe(&line, entry.path, false);
  if (entry.id) {
    line += ' ';
    line += entry.id_name;
    line += '=';
    AppendNumber(&line, *entry.id);
  }
  if (!entry.end.empty()) {
    line += " end=";
    AppendSafe(&line, entry.end, false);
  }
  if (!entry.cassette.empty()) {
    line += " cassette=";
    AppendSafe(&line, entry.cassette, false);
  }
  if (!entry.detail.empty()) {
    line += " detail=\"";
    AppendSafe(&line, entry.detail, true);
    line += '"';
  }
  return line;
}

void LogAccess(const AccessLogEntry& entry) {
  if (!LogEnabled(LogLevel::kInfo)) return;
  LogField fields[12];
  size_t n = 0;
  fields[n++] = {"mode", entry.mode};
  fields[n++] = {"result", entry.result};
  fields[n++] = {"status", std::int64_t{entry.status}};
  fields[n++] = {"bytes", static_cast<std::int64_t>(entry.bytes)};
  fields[n++] = {"ms", std::int64_t{entry.duration_us < 0 ? 0 : entry.duration_us / 1000}};
  fields[n++] = {"method", entry.method};
  fields[n++] = {"path", entry.path};
  if (entry.id) fields[n++] = {entry.id_name, static_cast<std::int64_t>(*entry.id)};
  if (!entry.end.empty()) fields[n++] = {"end", entry.end};
  if (!entry.cassette.empty()) fields[n++] = {"cassette", entry.cassette};
  if (!entry.detail.empty()) fields[n++] = {"detail", entry.detail};
  WriteLogRecord(LogLevel::kInfo, FormatAccessLine(entry), std::span<const LogField>(fields, n));
}

}  // namespace td::proxy
