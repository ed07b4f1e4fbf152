// The flag table and the layering of defaults, config file, environment and flags.
#include "tools/flags.h"

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cassette/base/ascii.h"

namespace td::cli {
namespace {

// clang-format off
const std::vector<FlagSpec> kFlags = {
  {"config", "FILE", false, kAnyCommand, "", "read settings from a JSON file (keys: long flags in snake_case)"},
  {"log-level", "LEVEL", false, kAnyCommand, "info", "trace, debug, info, warn, error or off"},
  {"log-format", "FORMAT", false, kAnyCommand, "text", "text or json"},
  {"help", "", false, kAnyCommand, "false", "print help for the subcommand"},

  {"listen", "HOST:PORT", false, kServing & ~kExec, "127.0.0.1:8765", "address to listen on; port 0 takes a free port"},
  {"forward-proxy", "", false, kServing, "false", "also be an HTTP(S) proxy (HTTPS_PROXY): CONNECT to an intercepted host is answered with TLS from tapedeck's local CA and recorded or replayed; other hosts are tunnelled unrecorded (record, passthrough, auto) or refused (replay)"},
  {"intercept", "HOST", true, kServing, "", "with --forward-proxy: intercept this host (`*.example.com` matches one label); default api.anthropic.com, api.openai.com, generativelanguage.googleapis.com, Bedrock and Vertex AI endpoints"},
  {"resolve", "HOST:PORT:ADDR", true, kServing, "", "connect to ADDR for HOST:PORT instead of resolving HOST (as curl's --resolve); TLS still verifies HOST"},
  {"ca-dir", "DIR", false, kServing | kCaCmd, "", "where tapedeck's local CA lives (default $XDG_DATA_HOME/tapedeck/ca, or ~/.local/share/tapedeck/ca)"},
  {"cassette", "FILE", false, kRecord | kReplay | kAuto | kExec, "", "the cassette to record to or replay from"},
  {"cassette-dir", "DIR", false, kRecord | kReplay | kAuto | kExec, "", "a cassette per test: each request picks DIR/NAME.jsonl.zst by its /cassette/NAME/ prefix, its x-tapedeck-cassette header or POST /__tapedeck/cassette"},
  {"upstream", "[NAME=]URL", true, kRecording | kPassthrough, "", "the real API, e.g. https://api.anthropic.com; NAME=URL mounts it at /NAME (repeatable: one per provider)"},
  {"mode", "MODE", false, kExec, "replay", "exec only: replay, record or auto"},
  {"upstream-ca", "FILE", false, kRecording | kPassthrough, "", "also trust the CA certificates in FILE (PEM)"},
  {"insecure-skip-verify", "", false, kRecording | kPassthrough, "false", "DANGEROUS: do not verify the upstream's TLS certificate"},
  {"connect-timeout", "SECONDS", false, kRecording | kPassthrough, "10", "upstream connect timeout"},
  {"read-timeout", "SECONDS", false, kRecording | kPassthrough, "600", "upstream idle-read timeout (gap between bytes)"},
  {"grace-period", "SECONDS", false, kServing, "10", "on SIGINT/SIGTERM, how long in-flight responses may take to finish"},
  {"require-key", "KEY", false, kServing & ~kExec, "", "clients must send `x-tapedeck-key: KEY` (for an instance exposed on a network)"},
  {"head-timeout", "SECONDS", false, kServing, "30", "a client's request head must arrive within this long of its first byte, else 408 (0: no limit)"},
  {"body-timeout", "SECONDS", false, kServing, "600", "a client's request body must arrive within this long of the end of its head, else 408 (0: no limit)"},
  {"idle-timeout", "SECONDS", false, kServing, "60", "close a client connection after this long without bytes from it"},
  {"max-connections-per-client", "N", false, kServing, "4096", "connections one client address may hold open; one more gets 503 with Retry-After (0: no cap)"},
  {"no-compress", "", false, kRecording | kCassetteCmd, "false", "write plain JSON Lines instead of zstd"},
  {"max-line-bytes", "BYTES", false, kServing | kCassetteCmd, "256MiB", "refuse to read a cassette line longer than this (a hostile cassette cannot exhaust memory)"},
  {"max-body-bytes", "BYTES", false, kRecording, "256MiB", "record at most this much of a response body (the client still gets all of it; the interaction is marked truncated)"},
  {"overwrite", "", false, kRecord | kExec | kCassetteCmd, "false", "record: replace a cassette that holds interactions (atomically, when the run ends cleanly); cassette import-har: replace such a FILE"},
  {"append", "", false, kRecord | kExec, "false", "record: add to an existing cassette instead of refusing it"},
  {"prune", "", false, kAuto | kExec, "false", "auto: on a clean close, drop the interactions this run never used"},
  {"no-upstream-check", "", false, kRecording | kPassthrough, "false", "do not connect to the upstream at start (exit 4 when it is unreachable)"},

  {"redact-header", "NAME", true, kRecording | kReplaying | kCassetteCmd, "", "also redact this header"},
  {"redact-query", "NAME", true, kRecording | kReplaying | kCassetteCmd, "", "also redact this query parameter"},
  {"redact-json-path", "PATH", true, kRecording | kReplaying | kCassetteCmd, "", "also redact this JSON path in bodies, e.g. metadata.user_id"},
  {"redact-pattern", "REGEX", true, kRecording | kReplaying | kCassetteCmd, "", "also redact text matching this regex"},

  {"timing", "MODE", false, kReplaying, "recorded", "recorded, instant, or a speed factor such as 4"},
  {"chunking", "MODE", false, kReplaying, "event", "event, recorded, byte or random[:SEED]"},
  {"fault", "SPEC", false, kReplaying, "", "truncate-after:N, reset-after:N, error-after:N or stall-after:N"},
  {"strict", "", false, kReplaying, "false", "fail (exit 1) on any miss or unused interaction"},
  {"on-exhausted", "POLICY", false, kReplaying, "repeat-last", "after the last recorded copy of a request: repeat-last or error"},
  {"preset", "NAME", true, kReplaying | kCassetteCmd, "", "matching preset: anthropic, openai or agent-cli"},
  {"ignore-json-path", "PATH", true, kReplaying | kCassetteCmd, "", "ignore this JSON path in request bodies when matching"},
  {"ignore-header", "NAME", true, kReplaying | kCassetteCmd, "", "never match on this header (cassette diff: nor compare it)"},
  {"match-header", "NAME", true, kReplaying | kCassetteCmd, "", "also match on this header, e.g. anthropic-beta"},
  {"ignore-query-param", "NAME", true, kReplaying | kCassetteCmd, "", "drop this query parameter before matching, e.g. a cache-busting one"},
  {"normalize", "REGEX[=>REPL]", true, kReplaying | kCassetteCmd, "", "rewrite volatile text in request bodies before matching"},

  {"print", "", false, kConfigCmd, "false", "print each flag of MODE, its value and its source"},
  {"interaction", "N", false, kCassetteCmd, "", "show, edit: only interaction N"},
  {"jsonl", "", false, kCassetteCmd, "false", "cat: one compact JSON object per line, as stored"},
  {"stable", "", false, kCassetteCmd, "false", "cat: for review diffs (git textconv): no recording times, offsets, dates, request ids or provider ids; one line per header"},
  {"json", "", false, kCassetteCmd, "false", "diff: print the differences as one JSON object"},
  {"compare-timing", "", false, kCassetteCmd, "false", "diff: timing counts too (event offsets, splits, recording times, Date, request ids, rate limits, pings)"},
};
// clang-format on

constexpr std::pair<unsigned, std::string_view> kCommandNames[] = {
    {kRecord, "record"},           {kReplay, "replay"}, {kAuto, "auto"},
    {kPassthrough, "passthrough"}, {kExec, "exec"},     {kCassetteCmd, "cassette"},
    {kConfigCmd, "config"},        {kCaCmd, "ca"},
};

// TAPEDECK_* variables that are not settings: this repository's build and test scripts read
// them (scripts/test.sh, scripts/fuzz.sh, scripts/demo.sh, tests/e2e, the golden tests), and the
// Node helper publishes TAPEDECK_URL to a suite's tests, so they may well be set while tapedeck
// runs. No warning for these.
constexpr std::string_view kOtherEnvNames[] = {
    "TAPEDECK_BIN",          "TAPEDECK_BUILD_DIR",     "TAPEDECK_ASAN_BUILD_DIR",
    "TAPEDECK_CMAKE_ARGS",   "TAPEDECK_SKIP_FUZZ",     "TAPEDECK_SKIP_SANITIZE",
    "TAPEDECK_FUZZ_SECONDS", "TAPEDECK_UPDATE_GOLDEN", "TAPEDECK_URL",
};

// Flags that are never read from a config file or the environment.
bool CommandLineOnly(std::string_view flag) { return flag == "config" || flag == "help"; }

std::string SnakeCase(std::string_view flag) {
  std::string s(flag);
  std::replace(s.begin(), s.end(), '-', '_');
  return s;
}

// "timing" for "TAPEDECK_TIMING" and "timing"/"TIMING" alike: lower case, '_' as '-'.
std::string FlagForm(std::string_view text) {
  std::string s = ToLowerAscii(text);
  std::replace(s.begin(), s.end(), '_', '-');
  return s;
}

std::vector<std::string_view> FlagNames(unsigned bits) {
  std::vector<std::string_view> names;
  for (const FlagSpec& f : kFlags) {
    if ((f.commands & bits) != 0) names.push_back(f.name);
  }
  return names;
}

// The flag closest to `typed` (a name in flag form): one that applies to `bits` first, else any;
// "" when none is close.
const FlagSpec* SuggestFlag(std::string_view typed, unsigned bits) {
  std::string_view best = ClosestMatch(typed, FlagNames(bits));
  if (best.empty()) best = ClosestMatch(typed, FlagNames(kAnyCommand));
  return best.empty() ? nullptr : FindFlag(best);
}

// " (did you mean --timing?)", with the subcommands the flag is for when `bits` lacks them.
std::string DidYouMeanFlag(std::string_view typed, unsigned bits) {
  const FlagSpec* spec = SuggestFlag(typed, bits);
  if (spec == nullptr) return " (see --help)";
  std::string out = " (did you mean --" + std::string(spec->name) + "?";
  if ((spec->commands & bits) == 0) out += " it is for " + CommandList(spec->commands);
  return out + ")";
}

// A command line split into flags and operands, checked against the table (names exist,
// values are present) but not against the subcommand.
struct Token {
  std::string flag;
  std::string value;
};
struct CommandLine {
  std::vector<Token> flags;
  std::vector<std::string> operands;
};

Result<CommandLine> SplitCommandLine(const std::vector<std::string>& args, unsigned command) {
  CommandLine out;
  const unsigned bits = command == kConfigCmd ? kAnyCommand : command;
  bool operands_only = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (operands_only) {
      out.operands.push_back(a);
    } else if (a == "--") {
      operands_only = true;
    } else if (a == "-h") {
      out.flags.push_back({"help", "true"});
    } else if (a.rfind("--", 0) == 0) {
      const size_t eq = a.find('=');
      const std::string name = a.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
      const FlagSpec* spec = FindFlag(name);
      // Exact names only: an abbreviation would change meaning when a flag is added.
      if (spec == nullptr) {
        return InvalidArgumentError("unknown flag --" + name + DidYouMeanFlag(name, bits));
      }
      std::string value;
      if (eq != std::string::npos) {
        value = a.substr(eq + 1);
      } else if (spec->arg.empty()) {
        value = "true";
      } else if (i + 1 < args.size()) {
        value = args[++i];
      } else {
        return InvalidArgumentError("flag --" + name + " needs a value (--" + name + " " +
                                    std::string(spec->arg) + ")");
      }
      out.flags.push_back({name, std::move(value)});
    } else if (a.size() > 1 && a[0] == '-') {
      return InvalidArgumentError("unknown flag " + a + DidYouMeanFlag(a.substr(1), bits));
    } else {
      out.operands.push_back(a);
      // exec: the first operand starts the command, whose own flags are not ours.
      if (command == kExec) operands_only = true;
    }
  }
  return out;
}

struct Entry {
  std::string flag;
  std::string value;
  std::string origin;  // Setting::origin
};

struct Layer {
  Source source;
  std::vector<Entry> entries;  // in order
};

void Apply(const Layer& layer, ParsedArgs* out) {
  std::map<std::string, Setting> collected;
  for (const Entry& e : layer.entries) {
    const FlagSpec* spec = FindFlag(e.flag);
    Setting& s = collected[e.flag];
    if (spec->repeatable) {
      s.values.push_back(e.value);
    } else {
      s.values = {e.value};  // the last one given wins
    }
    s.source = layer.source;
    s.origin = e.origin;
  }
  for (auto& [flag, setting] : collected) out->settings[flag] = std::move(setting);
}

// "record", or for config "config replay" / "config".
std::string CommandLabel(unsigned command, std::string_view mode) {
  std::string label(CommandName(command));
  if (!mode.empty()) label += " " + std::string(mode);
  return label;
}

// nlohmann's message without its "[json.exception...] parse error at line L, column C: "
// front (we count lines ourselves) and without its "last read: '...'" part, which can hold
// part of a secret from the file.
std::string JsonErrorDetail(const std::string& what) {
  std::string detail = what;
  const size_t at = what.find("parse error");
  const size_t colon = at == std::string::npos ? std::string::npos : what.find(": ", at);
  if (colon != std::string::npos) detail = what.substr(colon + 2);
  const size_t last_read = detail.find("; last read");
  if (last_read != std::string::npos) {
    const size_t expected = detail.rfind("; expected ");
    std::string tail = expected != std::string::npos && expected > last_read
                           ? detail.substr(expected)
                           : std::string();
    detail = detail.substr(0, last_read) + tail;
  }
  return detail;
}

// "line 3, column 5" for the byte at 0-based `offset` of `text` (columns count bytes from 1).
std::string LineAndColumn(std::string_view text, size_t offset) {
  offset = std::min(offset, text.size());
  size_t line = 1;
  size_t line_start = 0;
  for (size_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') {
      ++line;
      line_start = i + 1;
    }
  }
  return "line " + std::to_string(line) + ", column " + std::to_string(offset - line_start + 1);
}

Result<Layer> ReadConfigFile(const std::string& path, bool from_env, unsigned bits) {
  const std::string name = "config " + path + (from_env ? " (TAPEDECK_CONFIG)" : "");
  std::ifstream in(path);
  if (!in) return InvalidArgumentError(name + ": cannot be opened");
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  nlohmann::json j;
  // nlohmann reports a syntax error by throwing; this is the edge where we catch it.
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    // e.byte counts from 1 and points at the last byte read: the one that broke the syntax.
    const size_t offset = e.byte > 0 ? e.byte - 1 : 0;
    return InvalidArgumentError(name + ": " + LineAndColumn(text, offset) + ": invalid JSON (" +
                                JsonErrorDetail(e.what()) + ")");
  } catch (const nlohmann::json::exception& e) {
    return InvalidArgumentError(name + ": invalid JSON (" + e.what() + ")");
  }
  if (!j.is_object()) return InvalidArgumentError(name + ": expected a JSON object");
  Layer layer{Source::kConfigFile, {}};
  for (const auto& [key, value] : j.items()) {
    const std::string flag = FlagForm(key);
    const FlagSpec* spec = SnakeCase(flag) == key ? FindFlag(flag) : nullptr;
    const std::string where = name + ": key \"" + key + "\"";
    if (spec == nullptr) {
      const FlagSpec* near = SuggestFlag(flag, bits);
      return InvalidArgumentError(
          where + " is not a tapedeck setting" +
          (near == nullptr ? "" : " (did you mean \"" + SnakeCase(near->name) + "\"?)"));
    }
    if (CommandLineOnly(flag)) {
      return InvalidArgumentError(where + " can only be given on the command line");
    }
    if ((spec->commands & bits) == 0) continue;  // a shared file may hold other modes' keys
    auto one = [&](const nlohmann::json& v) -> Status {
      if (v.is_string()) {
        layer.entries.push_back({flag, v.get<std::string>(), path});
      } else if (v.is_boolean() && spec->arg.empty()) {
        layer.entries.push_back({flag, v.get<bool>() ? "true" : "false", path});
      } else if (v.is_number() && !spec->arg.empty()) {
        layer.entries.push_back({flag, v.dump(), path});
      } else {
        return InvalidArgumentError(where + ": expected " +
                                    (spec->arg.empty() ? "true or false" : "a string"));
      }
      return Status::Ok();
    };
    if (value.is_array()) {
      if (!spec->repeatable) return InvalidArgumentError(where + ": takes one value, not a list");
      for (const auto& v : value) TD_RETURN_IF_ERROR(one(v));
    } else {
      TD_RETURN_IF_ERROR(one(value));
    }
  }
  return layer;
}

// The TAPEDECK_* variables of `env` that name a flag of `bits`. TAPEDECK_CONFIG is read by
// ParseArgs; other modes' variables are skipped (one environment serves every mode); anything
// else named TAPEDECK_* gets a warning, with the variable it was probably meant to be.
Result<Layer> ReadEnv(const std::vector<std::string>& env, unsigned bits,
                      std::vector<std::string>* warnings) {
  Layer layer{Source::kEnv, {}};
  constexpr std::string_view kPrefix = "TAPEDECK_";
  for (const std::string& kv : env) {
    if (kv.compare(0, kPrefix.size(), kPrefix) != 0) continue;
    const size_t eq = kv.find('=');
    const std::string name = kv.substr(0, eq);
    const std::string value = eq == std::string::npos ? "" : kv.substr(eq + 1);
    if (std::find(std::begin(kOtherEnvNames), std::end(kOtherEnvNames), name) !=
        std::end(kOtherEnvNames)) {
      continue;
    }
    const std::string flag = FlagForm(std::string_view(name).substr(kPrefix.size()));
    const FlagSpec* spec = FindFlag(flag);
    if (spec == nullptr || EnvName(spec->name) != name) {
      const FlagSpec* near = SuggestFlag(flag, bits);
      warnings->push_back("unknown environment variable " + name + " ignored" +
                          (near == nullptr ? "" : " (did you mean " + EnvName(near->name) + "?)"));
      continue;
    }
    if (flag == "config") continue;
    if (CommandLineOnly(flag)) {
      warnings->push_back(name + " ignored: --" + flag + " can only be given on the command line");
      continue;
    }
    if ((spec->commands & bits) == 0) continue;
    if (spec->repeatable && !value.empty() && value.front() == '[') {
      nlohmann::json j = nlohmann::json::parse(value, nullptr, false);
      if (j.is_discarded() || !j.is_array()) {
        return InvalidArgumentError(name + ": expected a JSON array of strings or one value");
      }
      for (const auto& v : j) {
        if (!v.is_string()) return InvalidArgumentError(name + ": expected strings");
        layer.entries.push_back({flag, v.get<std::string>(), name});
      }
    } else {
      layer.entries.push_back({flag, value, name});
    }
  }
  return layer;
}

// Switch values from a config file or the environment (or --switch=VALUE): true, false, 1 or
// 0, stored as "true" or "false".
Status CheckSwitchValues(ParsedArgs* args) {
  for (auto& [name, setting] : args->settings) {
    const FlagSpec* spec = FindFlag(name);
    if (!spec->arg.empty()) continue;
    for (std::string& v : setting.values) {
      if (v == "1") v = "true";
      if (v == "0") v = "false";
      if (v != "true" && v != "false") {
        return InvalidArgumentError(ValueOrigin(name, setting, v) + ": expected true or false");
      }
    }
  }
  return Status::Ok();
}

// Optimal string alignment distance, ignoring the case of A-Z.
size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t k = 0; k <= b.size(); ++k) d[0][k] = k;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t k = 1; k <= b.size(); ++k) {
      const bool same = ToLowerAscii(a[i - 1]) == ToLowerAscii(b[k - 1]);
      d[i][k] = std::min({d[i - 1][k] + 1, d[i][k - 1] + 1, d[i - 1][k - 1] + (same ? 0 : 1)});
      if (i > 1 && k > 1 && ToLowerAscii(a[i - 1]) == ToLowerAscii(b[k - 2]) &&
          ToLowerAscii(a[i - 2]) == ToLowerAscii(b[k - 1])) {
        d[i][k] = std::min(d[i][k], d[i - 2][k - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

}  // namespace

const std::vector<FlagSpec>& AllFlags() { return kFlags; }

const FlagSpec* FindFlag(std::string_view name) {
  for (const FlagSpec& f : kFlags) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

bool IsSecretFlag(std::string_view name) { return name == "require-key"; }

std::string_view CommandName(unsigned bit) {
  for (const auto& [b, name] : kCommandNames) {
    if (b == bit) return name;
  }
  return "";
}

unsigned ServingModeBit(std::string_view name) {
  for (const auto& [b, n] : kCommandNames) {
    if (n == name && (b & kServing) != 0) return b;
  }
  return 0;
}

std::string CommandList(unsigned bits) {
  std::vector<std::string_view> names;
  for (const auto& [b, name] : kCommandNames) {
    if ((bits & b) != 0) names.push_back(name);
  }
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += i + 1 == names.size() ? " or " : ", ";
    out += names[i];
  }
  return out;
}

std::string_view SourceName(Source source) {
  switch (source) {
    case Source::kDefault:
      return "default";
    case Source::kConfigFile:
      return "file";
    case Source::kEnv:
      return "env";
    case Source::kFlag:
      return "flag";
  }
  return "?";
}

std::string ValueOrigin(std::string_view flag, const Setting& setting, std::string_view value) {
  const bool hide = IsSecretFlag(flag) || flag == "upstream";
  const std::string shown = "\"" + std::string(value) + "\"";
  switch (setting.source) {
    case Source::kFlag:
      return "--" + std::string(flag) + (hide ? "" : " " + shown);
    case Source::kEnv:
      return setting.origin + (hide ? "" : "=" + std::string(value));
    case Source::kConfigFile:
      return "config " + setting.origin + ": key \"" + SnakeCase(flag) + "\"" +
             (hide ? "" : " = " + shown);
    case Source::kDefault:
      break;
  }
  return "default --" + std::string(flag) + (hide ? "" : " " + shown);
}

std::string EnvName(std::string_view flag) {
  std::string s = "TAPEDECK_";
  for (char c : flag) s += (c == '-') ? '_' : static_cast<char>(std::toupper(c));
  return s;
}

std::string_view ClosestMatch(std::string_view word,
                              const std::vector<std::string_view>& candidates) {
  const size_t limit = word.size() <= 4 ? 1 : word.size() <= 8 ? 2 : 3;
  std::string_view best;
  size_t best_distance = limit + 1;
  for (std::string_view c : candidates) {
    const size_t d = EditDistance(word, c);
    if (d < best_distance) {
      best = c;
      best_distance = d;
    }
  }
  if (!best.empty() || word.size() < 2) return best;
  // An abbreviation ("--tim") is far from the whole name by edit distance.
  for (std::string_view c : candidates) {
    if (c.size() > word.size() && StartsWithIgnoreCaseAt(c, 0, ToLowerAscii(word))) return c;
  }
  return {};
}

Result<ParsedArgs> ParseArgs(unsigned command, const std::vector<std::string>& args,
                             const std::vector<std::string>& env) {
  Result<CommandLine> line = SplitCommandLine(args, command);
  if (!line.ok()) return line.status();
  ParsedArgs out;
  out.commands = command;
  if (command == kConfigCmd) {
    // config [MODE]: MODE says whose flags apply; without it, every serving mode's do.
    out.commands = kServing | kConfigCmd;
    if (!line->operands.empty()) {
      out.mode = line->operands.front();
      const unsigned mode = ServingModeBit(out.mode);
      if (mode == 0) {
        std::string_view near =
            ClosestMatch(out.mode, {"record", "replay", "auto", "passthrough", "exec"});
        return InvalidArgumentError(
            "unknown mode \"" + out.mode + "\" (expected record, replay, auto, passthrough or " +
            "exec" + (near.empty() ? "" : "; did you mean " + std::string(near) + "?") + ")");
      }
      out.commands = mode | kConfigCmd;
      line->operands.erase(line->operands.begin());
      if (!line->operands.empty() && mode != kExec) {
        return InvalidArgumentError("unexpected argument \"" + line->operands.front() +
                                    "\" after the mode");
      }
    }
  }
  const unsigned bits = out.commands;
  out.positional = std::move(line->operands);

  for (const FlagSpec& spec : kFlags) {
    if ((spec.commands & bits) == 0) continue;
    Setting s;
    if (!spec.default_value.empty()) s.values = {std::string(spec.default_value)};
    s.origin = "default";
    out.settings[std::string(spec.name)] = std::move(s);
  }

  Layer flags{Source::kFlag, {}};
  for (Token& t : line->flags) {
    const FlagSpec* spec = FindFlag(t.flag);
    if ((spec->commands & bits) == 0) {
      return InvalidArgumentError("--" + t.flag + " does not apply to " +
                                  CommandLabel(command, out.mode) + " (it is for " +
                                  CommandList(spec->commands) + ")");
    }
    flags.entries.push_back({t.flag, std::move(t.value), "--" + t.flag});
  }

  // Config file: --config wins over TAPEDECK_CONFIG.
  std::string config_path;
  bool config_from_env = false;
  for (const Entry& e : flags.entries) {
    if (e.flag == "config") config_path = e.value;
  }
  if (config_path.empty()) {
    for (const std::string& kv : env) {
      if (kv.rfind("TAPEDECK_CONFIG=", 0) == 0) {
        config_path = kv.substr(16);
        config_from_env = true;
      }
    }
  }
  if (!config_path.empty()) {
    Result<Layer> file = ReadConfigFile(config_path, config_from_env, bits);
    if (!file.ok()) return file.status();
    Apply(*file, &out);
  }
  Result<Layer> env_layer = ReadEnv(env, bits, &out.warnings);
  if (!env_layer.ok()) return env_layer.status();
  Apply(*env_layer, &out);
  if (config_from_env) {
    out.settings["config"] = Setting{{config_path}, Source::kEnv, "TAPEDECK_CONFIG"};
  }
  Apply(flags, &out);
  TD_RETURN_IF_ERROR(CheckSwitchValues(&out));
  return out;
}

}  // namespace td::cli
