// Subcommand dispatch, help and version for the tapedeck command.
#include "tools/cli.h"

#include <iostream>

#include "cassette/base/log.h"
#include "tools/ca_commands.h"
#include "tools/cassette_commands.h"
#include "tools/commands.h"
#include "tools/config.h"
#include "tools/exit_codes.h"
#include "tools/manual.h"
#include "tools/serve.h"

namespace td::cli {

int Main(const std::vector<std::string>& args, const std::vector<std::string>& env) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    (args.empty() ? std::cerr : std::cout) << HelpText("");
    return args.empty() ? kExitUsage : kExitOk;
  }
  if (args[0] == "--version" || args[0] == "version") {
    std::cout << "tapedeck " << Version() << "\n";
    return kExitOk;
  }
  const CommandSpec* cmd = FindCommand(args[0]);
  if (cmd == nullptr) {
    std::cerr << "tapedeck: unknown command \"" << args[0] << "\" (see tapedeck --help)\n";
    return kExitUsage;
  }
  std::vector<std::string> rest(args.begin() + 1, args.end());
  std::string verb;
  if (!VerbsOf(cmd->bit).empty()) {
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
    case kCaCmd:
      return RunCaCommand(verb, *config, env, std::cout, std::cerr);
    default:
      return RunServe(*config, env);
  }
}

}  // namespace td::cli
