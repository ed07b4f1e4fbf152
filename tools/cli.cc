// Subcommand dispatch, help and version for the tapedeck command.
#include "tools/cli.h"

#include <iostream>
#include <sstream>

#include "cassette/base/log.h"
#include "tools/cassette_commands.h"
#include "tools/config.h"
#include "tools/exit_codes.h"
#include "tools/serve.h"

namespace td::cli {
namespace {

constexpr std::string_view kVersion = "0.1.0";

struct Command {
  std::string_view name;
  unsigned bit;
  std::string_view usage;
  std::string_view summary;
};

const Command kCommands[] = {
    {"record", kRecord, "tapedeck record --upstream URL --cassette FILE [--listen HOST:PORT]",
     "forward to the upstream and record every exchange"},
    {"replay", kReplay,
     "tapedeck replay --cassette FILE [--listen HOST:PORT] [--timing recorded|instant|FACTOR]\n"
     "                [--chunking event|recorded|byte|random[:SEED]] [--fault SPEC] [--strict]",
     "serve recorded exchanges; never contacts a network"},
    {"auto", kAuto, "tapedeck auto --upstream URL --cassette FILE [--listen HOST:PORT]",
     "serve what the cassette has, record what it lacks"},
    {"passthrough", kPassthrough, "tapedeck passthrough --upstream URL [--listen HOST:PORT]",
     "forward only, write nothing"},
    {"exec", kExec,
     "tapedeck exec [--mode replay|record|auto] --cassette FILE [--upstream URL] -- CMD [ARGS...]",
     "run CMD against a proxy on a free port; exit with CMD's status"},
    {"cassette", kCassetteCmd, "tapedeck cassette ls|show|cat|verify|redact FILE...",
     "list, show, print, check or redact cassettes"},
    {"config", kConfigCmd,
     "tapedeck config --print [record|replay|auto|passthrough|exec] [FLAGS...]",
     "print every flag of the mode (without one: of every serving mode), one per line, with\n"
     "its value and its source (default, file, env or flag); FLAGS are checked as the mode\n"
     "checks them"},
};

const Command* FindCommand(std::string_view name) {
  for (const Command& c : kCommands) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

}  // namespace

std::string HelpText(std::string_view command) {
  std::ostringstream out;
  const Command* cmd = FindCommand(command);
  if (cmd == nullptr) {
    out << "tapedeck " << kVersion
        << ": record and replay LLM API traffic for deterministic tests\n\nusage:\n";
    for (const Command& c : kCommands) out << "  " << c.usage << "\n";
    out << "\nRun `tapedeck COMMAND --help` for a command's flags. Exit codes: 0 ok, 1 strict\n"
           "replay or verify found a problem, 2 usage or configuration error, 3 cassette\n"
           "unreadable, unwritable or locked by another tapedeck, 4 upstream unreachable at\n"
           "start, 5 listen address cannot be bound; exec returns its command's status.\n";
    return out.str();
  }
  out << "usage: " << cmd->usage << "\n\n" << cmd->summary << "\n\nflags:\n";
  for (const FlagSpec& f : AllFlags()) {
    if ((f.commands & cmd->bit) == 0) continue;
    std::string left = "--" + std::string(f.name);
    if (!f.arg.empty()) left += " " + std::string(f.arg);
    out << "  " << left;
    out << std::string(left.size() < 30 ? 30 - left.size() : 1, ' ') << f.help;
    if (!f.default_value.empty() && !f.arg.empty()) out << " (default " << f.default_value << ")";
    if (f.repeatable) out << " (repeatable)";
    out << "\n";
  }
  out << "\nEvery flag can also come from the environment (TAPEDECK_<FLAG>, e.g. "
         "TAPEDECK_TIMING)\nor a --config JSON file; flags win over the environment, which wins "
         "over the file.\n";
  return out.str();
}

int Main(const std::vector<std::string>& args, const std::vector<std::string>& env) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    (args.empty() ? std::cerr : std::cout) << HelpText("");
    return args.empty() ? kExitUsage : kExitOk;
  }
  if (args[0] == "--version" || args[0] == "version") {
    std::cout << "tapedeck " << kVersion << "\n";
    return kExitOk;
  }
  const Command* cmd = FindCommand(args[0]);
  if (cmd == nullptr) {
    std::cerr << "tapedeck: unknown command \"" << args[0] << "\" (see tapedeck --help)\n";
    return kExitUsage;
  }
  std::vector<std::string> rest(args.begin() + 1, args.end());
  std::string verb;
  if (cmd->bit == kCassetteCmd) {
    if (rest.empty() || rest[0] == "--help" || rest[0] == "-h") {
      std::cout << HelpText(cmd->name);
      return rest.empty() ? kExitUsage : kExitOk;
    }
    verb = rest[0];
    rest.erase(rest.begin());
  }
  Result<Config> config = Config::Parse(cmd->bit, rest, env);
  if (!config.ok()) {
    std::cerr << "tapedeck " << cmd->name << ": " << config.status().message() << "\n";
    return kExitUsage;
  }
  if (config->GetBool("help")) {
    std::cout << HelpText(cmd->name);
    return kExitOk;
  }
  Result<LogLevel> level = ParseLogLevel(config->Get("log-level"));
  Result<LogFormat> format = ParseLogFormat(config->Get("log-format"));
  if (!level.ok() || !format.ok()) {
    std::cerr << "tapedeck: " << (level.ok() ? format.status() : level.status()).message() << "\n";
    return kExitUsage;
  }
  SetLogLevel(*level);
  SetLogFormat(*format);
  for (const std::string& warning : config->warnings()) TD_LOG(kWarn) << warning;

  switch (cmd->bit) {
    case kCassetteCmd:
      return RunCassetteCommand(verb, *config, std::cout, std::cerr);
    case kConfigCmd:
      std::cout << config->Describe();
      return kExitOk;
    default:
      return RunServe(*config, env);
  }
}

}  // namespace td::cli
