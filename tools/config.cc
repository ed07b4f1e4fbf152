// Typed, validated views of resolved settings.
#include "tools/config.h"

#include <charconv>
#include <cmath>
#include <cstdlib>

#include "cassette/base/ascii.h"

namespace td::cli {
namespace {

const std::string kEmpty;
const std::vector<std::string> kNone;

}  // namespace

Result<HostPort> ParseHostPort(std::string_view text) {
  std::string where = "--listen \"" + std::string(text) + "\"";
  HostPort hp{"127.0.0.1", 0};
  std::string_view port_text = text;
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return InvalidArgumentError(where + ": expected [IPV6]:PORT");
    }
    hp.host = std::string(text.substr(1, close - 1));
    port_text = text.substr(close + 2);
  } else if (size_t colon = text.rfind(':'); colon != std::string_view::npos) {
    if (text.find(':') != colon) return InvalidArgumentError(where + ": write IPv6 as [ADDR]:PORT");
    if (colon > 0) hp.host = std::string(text.substr(0, colon));
    port_text = text.substr(colon + 1);
  }
  int port = -1;
  auto [ptr, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || ec != std::errc() || ptr != port_text.data() + port_text.size() ||
      port < 0 || port > 65535) {
    return InvalidArgumentError(where + ": expected HOST:PORT with a port from 0 to 65535");
  }
  hp.port = port;
  return hp;
}

Result<std::int64_t> ParseSeconds(std::string_view name, std::string_view text) {
  std::string s(text);
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (s.empty() || end != s.c_str() + s.size() || !std::isfinite(v) || v < 0 || v > 1e7) {
    return InvalidArgumentError("--" + std::string(name) + " \"" + s +
                                "\": expected a number of seconds");
  }
  return static_cast<std::int64_t>(std::llround(v * 1e6));
}

Result<std::uint64_t> ParseCount(std::string_view name, std::string_view text) {
  std::uint64_t n = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size()) {
    return InvalidArgumentError("--" + std::string(name) + " \"" + std::string(text) +
                                "\": expected a whole number");
  }
  return n;
}

Result<std::uint64_t> ParseByteSize(std::string_view name, std::string_view text) {
  auto fail = [&] {
    return InvalidArgumentError(
        "--" + std::string(name) + " \"" + std::string(text) +
        "\": expected a size in bytes, e.g. 1048576, 64KiB, 256MiB or 1GiB");
  };
  std::uint64_t n = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (text.empty() || ec != std::errc() || ptr == text.data()) return fail();
  std::string unit = ToLowerAscii(std::string_view(ptr, text.data() + text.size() - ptr));
  int shift = 0;
  if (unit.empty() || unit == "b") {
    shift = 0;
  } else if (unit == "k" || unit == "kb" || unit == "kib") {
    shift = 10;
  } else if (unit == "m" || unit == "mb" || unit == "mib") {
    shift = 20;
  } else if (unit == "g" || unit == "gb" || unit == "gib") {
    shift = 30;
  } else {
    return fail();
  }
  if (n == 0 || n > (std::uint64_t{1} << (62 - shift))) return fail();
  return n << shift;
}

Result<Config> Config::Parse(unsigned command, const std::vector<std::string>& args,
                             const std::vector<std::string>& env) {
  Result<ParsedArgs> parsed = ParseArgs(command, args, env);
  if (!parsed.ok()) return parsed.status();
  Config c;
  c.command_ = command;
  c.args_ = std::move(*parsed);
  return c;
}

const std::string& Config::Get(std::string_view flag) const {
  auto it = args_.settings.find(flag);
  if (it == args_.settings.end() || it->second.values.empty()) return kEmpty;
  return it->second.values.back();
}

bool Config::GetBool(std::string_view flag) const {
  const std::string& v = Get(flag);
  return v == "true" || v == "1";
}

const std::vector<std::string>& Config::GetAll(std::string_view flag) const {
  auto it = args_.settings.find(flag);
  return it == args_.settings.end() ? kNone : it->second.values;
}

bool Config::IsSet(std::string_view flag) const {
  auto it = args_.settings.find(flag);
  return it != args_.settings.end() && it->second.source != Source::kDefault;
}

Result<HostPort> Config::Listen() const { return ParseHostPort(Get("listen")); }

Result<cassette::RedactionRules> Config::Redaction() const {
  cassette::RedactionRules rules;
  rules.headers = GetAll("redact-header");
  rules.query_params = GetAll("redact-query");
  rules.json_paths = GetAll("redact-json-path");
  rules.patterns = GetAll("redact-pattern");
  Result<cassette::Redactor> check = cassette::Redactor::Create(rules);
  if (!check.ok()) return check.status().WithContext("redaction rules");
  return rules;
}

Result<cassette::ReadOptions> Config::Read() const {
  cassette::ReadOptions read;
  Result<std::uint64_t> max_line = ParseByteSize("max-line-bytes", Get("max-line-bytes"));
  if (!max_line.ok()) return max_line.status();
  read.max_line_bytes = *max_line;
  return read;
}

cassette::WriteOptions Config::Write() const {
  cassette::WriteOptions w;
  w.compress = !GetBool("no-compress");
  return w;
}

std::string Config::Describe() const {
  std::string out;
  for (const FlagSpec& spec : AllFlags()) {
    auto it = args_.settings.find(spec.name);
    if (it == args_.settings.end() || spec.name == "help" || spec.name == "print") continue;
    const Setting& s = it->second;
    std::string value;
    for (size_t i = 0; i < s.values.size(); ++i) {
      if (i > 0) value += ", ";
      value += s.values[i];
    }
    if (value.empty()) value = "(unset)";
    out += std::string(spec.name) + " = " + value + "  [" + std::string(SourceName(s.source));
    if (s.source != Source::kDefault) out += ": " + s.origin;
    out += "]\n";
  }
  return out;
}

}  // namespace td::cli
