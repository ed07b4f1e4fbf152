// Typed, validated views of resolved settings.
#include "tools/config.h"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "cassette/base/ascii.h"
#include "cassette/base/log.h"
#include "cassette/json_path.h"
#include "proxy/upstream_url.h"
#include "replay/index.h"
#include "replay/normalize.h"
#include "replay/play_options.h"

namespace td::cli {
namespace {

const std::string kEmpty;
const std::vector<std::string> kNone;

Status NotEmpty(std::string_view flag, std::string_view value, std::string_view what) {
  if (!value.empty()) return Status::Ok();
  return InvalidArgumentError("--" + std::string(flag) + " \"\": expected " + std::string(what));
}

Status PositiveSeconds(std::string_view flag, std::string_view value) {
  Result<std::int64_t> us = ParseSeconds(flag, value);
  if (!us.ok()) return us.status();
  if (*us > 0) return Status::Ok();
  return InvalidArgumentError("--" + std::string(flag) + " \"" + std::string(value) +
                              "\": must be more than 0");
}

Status CheckRedaction(std::string_view flag, const std::string& value) {
  cassette::RedactionRules rules;
  rules.defaults = false;
  if (flag == "redact-header") rules.headers = {value};
  if (flag == "redact-query") rules.query_params = {value};
  if (flag == "redact-json-path") rules.json_paths = {value};
  if (flag == "redact-pattern") rules.patterns = {value};
  return cassette::Redactor::Create(std::move(rules)).status();
}

Status CheckNormalizer(const std::string& value) {
  Result<replay::Normalizer> n = replay::ParseNormalizer(value);
  if (!n.ok()) return n.status();
  replay::MatchOptions options;
  options.normalizers = {*n};
  return replay::RequestNormalizer::Create(std::move(options)).status();
}

// The syntax of one value of `flag`, checked by the parser the command itself uses, so a value
// that passes here cannot fail there. Flags without a rule take any text.
Status CheckValue(std::string_view flag, const std::string& v) {
  if (flag == "listen") return ParseHostPort(v).status();
  if (flag == "upstream") return proxy::ParseUpstreamMount(v).status();
  if (flag == "mode") {
    if (v == "replay" || v == "record" || v == "auto") return Status::Ok();
    return InvalidArgumentError("--mode \"" + v + "\": expected replay, record or auto");
  }
  if (flag == "log-level") return ParseLogLevel(v).status();
  if (flag == "log-format") return ParseLogFormat(v).status();
  if (flag == "connect-timeout" || flag == "read-timeout" || flag == "idle-timeout") {
    return PositiveSeconds(flag, v);
  }
  if (flag == "grace-period" || flag == "head-timeout" || flag == "body-timeout") {
    return ParseSeconds(flag, v).status();
  }
  if (flag == "max-connections-per-client") return ParseCount(flag, v).status();
  if (flag == "max-line-bytes" || flag == "max-body-bytes") return ParseByteSize(flag, v).status();
  if (flag.rfind("redact-", 0) == 0) return CheckRedaction(flag, v);
  if (flag == "timing") return replay::ParseTiming(v).status();
  if (flag == "chunking") return replay::ParseChunking(v).status();
  if (flag == "fault") return replay::ParseFault(v).status();
  if (flag == "on-exhausted") return replay::ParseOnExhausted(v).status();
  if (flag == "preset") return replay::ApplyPreset(v, {}).status();
  if (flag == "normalize") return CheckNormalizer(v);
  if (flag == "ignore-json-path") return cassette::JsonPath::Parse(v).status();
  if (flag == "ignore-header" || flag == "match-header") return NotEmpty(flag, v, "a header name");
  if (flag == "ignore-query-param") return NotEmpty(flag, v, "a query parameter name");
  return Status::Ok();
}

// Every value of every setting, each error fronted by where the value came from (the flag, the
// environment variable or the config file key) instead of the parser's "--flag "value": ".
Status CheckValues(const ParsedArgs& args) {
  for (const FlagSpec& spec : AllFlags()) {
    auto it = args.settings.find(spec.name);
    if (it == args.settings.end()) continue;
    for (const std::string& value : it->second.values) {
      // An empty value clears a flag whose default is unset ("--fault ''").
      if (value.empty() && spec.default_value.empty() && !spec.repeatable) continue;
      Status s = CheckValue(spec.name, value);
      if (s.ok()) continue;
      std::string message = s.message();
      const std::string parser_front = "--" + std::string(spec.name) + " \"" + value + "\": ";
      if (message.rfind(parser_front, 0) == 0) message.erase(0, parser_front.size());
      // proxy::ParseUpstreamUrl names itself and shows the URL with any credentials masked.
      if (message.rfind("upstream URL ", 0) == 0) message.erase(0, 13);
      return InvalidArgumentError(ValueOrigin(spec.name, it->second, value) + ": " + message);
    }
  }
  return Status::Ok();
}

// A value as `config --print` shows it: as it is, or as a JSON string when it would be
// ambiguous on one line.
std::string ShowValue(const std::string& v) {
  bool plain = !v.empty() && !IsSpaceOrTab(v.front()) && !IsSpaceOrTab(v.back()) &&
               v.front() != '"' && v.front() != '[' && v != "(unset)";
  for (char c : v) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) plain = false;
  }
  return plain ? v
               : nlohmann::json(v).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

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
  TD_RETURN_IF_ERROR(CheckValues(*parsed));
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

Result<replay::MatchOptions> Config::Match() const {
  replay::MatchOptions match;
  for (const std::string& p : GetAll("preset")) {
    Result<replay::MatchOptions> m = replay::ApplyPreset(p, std::move(match));
    if (!m.ok()) return m.status().WithContext("--preset");
    match = std::move(*m);
  }
  for (const std::string& p : GetAll("ignore-json-path")) match.ignore_json_paths.push_back(p);
  for (const std::string& h : GetAll("ignore-header")) match.ignore_headers.push_back(h);
  for (const std::string& h : GetAll("match-header")) match.match_headers.push_back(h);
  for (const std::string& q : GetAll("ignore-query-param")) match.ignore_query_params.push_back(q);
  for (const std::string& n : GetAll("normalize")) {
    Result<replay::Normalizer> norm = replay::ParseNormalizer(n);
    if (!norm.ok()) return norm.status().WithContext("--normalize");
    match.normalizers.push_back(std::move(*norm));
  }
  // Compile once here so a bad regex or path fails at start, not on the first request.
  Result<replay::RequestNormalizer> check = replay::RequestNormalizer::Create(match);
  if (!check.ok()) return check.status();
  return match;
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
    if (spec.repeatable) {
      value =
          nlohmann::json(s.values).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    } else if (s.values.empty()) {
      value = "(unset)";
    } else if (IsSecretFlag(spec.name)) {
      value = "(set, not shown)";
    } else {
      value = ShowValue(s.values.back());
    }
    out += std::string(spec.name) + " = " + value + "  [" + std::string(SourceName(s.source));
    if (s.source == Source::kEnv || s.source == Source::kConfigFile) out += ": " + s.origin;
    out += "]\n";
  }
  if (!args_.positional.empty()) {
    out += "command = " +
           nlohmann::json(args_.positional)
               .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) +
           "  [flag]\n";
  }
  return out;
}

}  // namespace td::cli
