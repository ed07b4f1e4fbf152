// The flag table and the layering of defaults, config file, environment and flags.
#include "tools/flags.h"

#include <getopt.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace td::cli {
namespace {

// clang-format off
const std::vector<FlagSpec> kFlags = {
  {"config", "FILE", false, kAnyCommand, "", "read settings from a JSON file (keys: long flags in snake_case)"},
  {"log-level", "LEVEL", false, kAnyCommand, "info", "trace, debug, info, warn, error or off"},
  {"log-format", "FORMAT", false, kAnyCommand, "text", "text or json"},
  {"help", "", false, kAnyCommand, "false", "print help for the subcommand"},

  {"listen", "HOST:PORT", false, kServing & ~kExec, "127.0.0.1:8765", "address to listen on; port 0 takes a free port"},
  {"cassette", "FILE", false, kRecord | kReplay | kAuto | kExec, "", "the cassette to record to or replay from"},
  {"upstream", "URL", false, kRecording | kPassthrough, "", "the real API, e.g. https://api.anthropic.com"},
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
  {"overwrite", "", false, kRecord | kExec, "false", "record: replace a cassette that holds interactions (atomically, when the run ends cleanly)"},
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
  {"preset", "NAME", true, kReplaying, "", "matching preset: anthropic, openai or agent-cli"},
  {"ignore-json-path", "PATH", true, kReplaying, "", "ignore this JSON path in request bodies when matching"},
  {"ignore-header", "NAME", true, kReplaying, "", "never match on this header"},
  {"match-header", "NAME", true, kReplaying, "", "also match on this header, e.g. anthropic-beta"},
  {"normalize", "REGEX[=>REPL]", true, kReplaying, "", "rewrite volatile text in request bodies before matching"},

  {"print", "", false, kConfigCmd, "false", "print every setting and where it came from"},
  {"interaction", "N", false, kCassetteCmd, "", "show: only interaction N"},
  {"jsonl", "", false, kCassetteCmd, "false", "cat: one compact JSON object per line, as stored"},
};
// clang-format on

struct Layer {
  Source source;
  std::string origin;
  std::vector<std::pair<std::string, std::string>> values;  // (flag, value), in order
};

void Apply(const Layer& layer, ParsedArgs* out) {
  std::map<std::string, std::vector<std::string>> collected;
  std::map<std::string, std::string> origins;
  for (const auto& [flag, value] : layer.values) {
    const FlagSpec* spec = FindFlag(flag);
    auto& vals = collected[flag];
    if (spec->repeatable) {
      vals.push_back(value);
    } else {
      vals = {value};  // the last one given wins
    }
    origins[flag] = layer.origin.empty() ? "--" + flag : layer.origin;
  }
  for (auto& [flag, vals] : collected) {
    out->settings[flag] = Setting{std::move(vals), layer.source, origins[flag]};
  }
}

Status CheckApplies(const FlagSpec& spec, unsigned command, std::string_view origin) {
  if ((spec.commands & command) == 0) {
    return InvalidArgumentError(std::string(origin) + " does not apply to this subcommand");
  }
  return Status::Ok();
}

Result<Layer> ReadConfigFile(const std::string& path, unsigned command) {
  std::ifstream in(path);
  if (!in) return InvalidArgumentError("config " + path + ": cannot be opened");
  std::stringstream ss;
  ss << in.rdbuf();
  nlohmann::json j = nlohmann::json::parse(ss.str(), nullptr, false);
  if (j.is_discarded()) return InvalidArgumentError("config " + path + ": not valid JSON");
  if (!j.is_object()) return InvalidArgumentError("config " + path + ": expected a JSON object");
  Layer layer{Source::kConfigFile, path, {}};
  for (const auto& [key, value] : j.items()) {
    std::string flag = key;
    std::replace(flag.begin(), flag.end(), '_', '-');
    const FlagSpec* spec = FindFlag(flag);
    std::string where = "config " + path + ": key \"" + key + "\"";
    if (spec == nullptr || flag == "config" || flag == "help") {
      return InvalidArgumentError(where + " is not a tapedeck setting");
    }
    if ((spec->commands & command) == 0) continue;  // a shared file may hold other modes' keys
    auto one = [&](const nlohmann::json& v) -> Status {
      if (v.is_string()) {
        layer.values.emplace_back(flag, v.get<std::string>());
      } else if (v.is_boolean() && spec->arg.empty()) {
        layer.values.emplace_back(flag, v.get<bool>() ? "true" : "false");
      } else if (v.is_number() && !spec->arg.empty()) {
        layer.values.emplace_back(flag, v.dump());
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

Result<Layer> ReadEnv(const std::vector<std::string>& env, unsigned command) {
  Layer layer{Source::kEnv, "", {}};
  std::vector<std::pair<std::string, std::string>> found;
  for (const FlagSpec& spec : kFlags) {
    if ((spec.commands & command) == 0 || spec.name == "help" || spec.name == "config") continue;
    std::string prefix = EnvName(spec.name) + "=";
    for (const std::string& kv : env) {
      if (kv.compare(0, prefix.size(), prefix) != 0) continue;
      std::string value = kv.substr(prefix.size());
      std::string origin = EnvName(spec.name);
      if (spec.repeatable && !value.empty() && value.front() == '[') {
        nlohmann::json j = nlohmann::json::parse(value, nullptr, false);
        if (j.is_discarded() || !j.is_array()) {
          return InvalidArgumentError(origin + ": expected a JSON array of strings or one value");
        }
        for (const auto& v : j) {
          if (!v.is_string()) return InvalidArgumentError(origin + ": expected strings");
          layer.values.emplace_back(std::string(spec.name), v.get<std::string>());
        }
      } else {
        layer.values.emplace_back(std::string(spec.name), value);
      }
    }
  }
  return layer;
}

// Flags whose value must be a boolean when given in a config file or the environment.
Status CheckSwitchValues(const ParsedArgs& args) {
  for (const auto& [name, setting] : args.settings) {
    const FlagSpec* spec = FindFlag(name);
    if (!spec->arg.empty()) continue;
    for (const std::string& v : setting.values) {
      if (v != "true" && v != "false" && v != "1" && v != "0") {
        return InvalidArgumentError(setting.origin + ": expected true or false, got \"" + v + "\"");
      }
    }
  }
  return Status::Ok();
}

}  // namespace

const std::vector<FlagSpec>& AllFlags() { return kFlags; }

const FlagSpec* FindFlag(std::string_view name) {
  for (const FlagSpec& f : kFlags) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

std::string_view SourceName(Source source) {
  switch (source) {
    case Source::kDefault:
      return "default";
    case Source::kConfigFile:
      return "config file";
    case Source::kEnv:
      return "environment";
    case Source::kFlag:
      return "flag";
  }
  return "?";
}

std::string EnvName(std::string_view flag) {
  std::string s = "TAPEDECK_";
  for (char c : flag) s += (c == '-') ? '_' : static_cast<char>(std::toupper(c));
  return s;
}

Result<ParsedArgs> ParseArgs(unsigned command, const std::vector<std::string>& args,
                             const std::vector<std::string>& env) {
  ParsedArgs out;
  for (const FlagSpec& spec : kFlags) {
    if ((spec.commands & command) == 0) continue;
    Setting s;
    if (!spec.default_value.empty()) s.values = {std::string(spec.default_value)};
    s.origin = "default";
    out.settings[std::string(spec.name)] = std::move(s);
  }

  // Command-line flags via getopt_long. argv[0] is a dummy; getopt may permute the copy.
  std::vector<std::string> storage = {"tapedeck"};
  storage.insert(storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& s : storage) argv.push_back(s.data());
  argv.push_back(nullptr);
  std::vector<option> longopts;
  for (const FlagSpec& spec : kFlags) {
    longopts.push_back(
        option{spec.name.data(), spec.arg.empty() ? no_argument : required_argument, nullptr, 0});
  }
  longopts.push_back(option{nullptr, 0, nullptr, 0});

  Layer flags{Source::kFlag, "", {}};
  optind = 0;  // full re-initialisation (glibc), so ParseArgs can run more than once
  opterr = 0;
  // '+': stop at the first operand for exec (its command follows); elsewhere permute.
  const char* optstring = (command == kExec) ? "+:h" : ":h";
  int argc = static_cast<int>(storage.size());
  while (true) {
    int index = -1;
    int c = getopt_long(argc, argv.data(), optstring, longopts.data(), &index);
    if (c == -1) break;
    std::string text = argv[optind - 1] != nullptr ? argv[optind - 1] : "";
    if (c == 'h') {
      flags.values.emplace_back("help", "true");
      continue;
    }
    if (c == ':') return InvalidArgumentError("flag " + text + " needs a value");
    if (c == '?' || index < 0) {
      return InvalidArgumentError("unknown flag " + text + " (see --help)");
    }
    const FlagSpec& spec = kFlags[static_cast<size_t>(index)];
    TD_RETURN_IF_ERROR(CheckApplies(spec, command, "--" + std::string(spec.name)));
    flags.values.emplace_back(std::string(spec.name), spec.arg.empty() ? "true" : optarg);
  }
  for (int i = optind; i < argc; ++i) {
    std::string a = argv[i];
    if (command == kExec && i == optind && a == "--") continue;
    out.positional.push_back(std::move(a));
  }

  // Config file: --config wins over TAPEDECK_CONFIG.
  std::string config_path;
  for (const auto& [flag, value] : flags.values) {
    if (flag == "config") config_path = value;
  }
  if (config_path.empty()) {
    for (const std::string& kv : env) {
      if (kv.rfind("TAPEDECK_CONFIG=", 0) == 0) config_path = kv.substr(16);
    }
  }
  if (!config_path.empty()) {
    Result<Layer> file = ReadConfigFile(config_path, command);
    if (!file.ok()) return file.status();
    Apply(*file, &out);
  }
  Result<Layer> env_layer = ReadEnv(env, command);
  if (!env_layer.ok()) return env_layer.status();
  for (auto& [flag, value] : env_layer->values) {
    Layer single{Source::kEnv, EnvName(flag), {{flag, value}}};
    // Repeatable env values arrive one per entry; merge them into one setting.
    auto it = out.settings.find(flag);
    if (it != out.settings.end() && it->second.source == Source::kEnv) {
      it->second.values.push_back(value);
    } else {
      Apply(single, &out);
    }
  }
  Apply(flags, &out);
  TD_RETURN_IF_ERROR(CheckSwitchValues(out));
  return out;
}

}  // namespace td::cli
