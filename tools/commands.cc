// The subcommand, verb and exit-code tables of the tapedeck command.
#include "tools/commands.h"

#include <algorithm>

#include "tools/exit_codes.h"
#include "tools/flags.h"

#ifndef TAPEDECK_VERSION
#error "TAPEDECK_VERSION is set by tools/CMakeLists.txt from the project version"
#endif

namespace td::cli {

const std::vector<CommandSpec>& AllCommands() {
  static const std::vector<CommandSpec> commands = {
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
       "tapedeck exec [--mode replay|record|auto] --cassette FILE [--upstream URL] -- CMD "
       "[ARGS...]",
       "run CMD against a proxy on a free port; exit with CMD's status"},
      {"cassette", kCassetteCmd,
       "tapedeck cassette ls|show|cat|verify|redact FILE...\n"
       "       tapedeck cassette rm FILE N...\n"
       "       tapedeck cassette edit FILE [--interaction N]\n"
       "       tapedeck cassette diff [--json] [--compare-timing] [matching flags] A B\n"
       "       tapedeck cassette export-har FILE OUT.har\n"
       "       tapedeck cassette import-har IN.har FILE [--overwrite]",
       "list, show, print, check, redact, trim or compare cassettes, or convert them to and from "
       "HAR"},
      {"ca", kCaCmd, "tapedeck ca init|path [--ca-dir DIR]",
       "make tapedeck's local certificate authority (for --forward-proxy) and say how to trust\n"
       "it, or print its certificate's path"},
      {"config", kConfigCmd,
       "tapedeck config --print [record|replay|auto|passthrough|exec] [FLAGS...]",
       "print every flag of the mode (without one: of every serving mode), one per line, with\n"
       "its value and its source (default, file, env or flag); FLAGS are checked as the mode\n"
       "checks them"},
  };
  return commands;
}

const CommandSpec* FindCommand(std::string_view name) {
  const std::vector<CommandSpec>& commands = AllCommands();
  auto it = std::find_if(commands.begin(), commands.end(),
                         [&](const CommandSpec& c) { return c.name == name; });
  return it == commands.end() ? nullptr : &*it;
}

namespace {

const std::vector<VerbSpec>& CassetteVerbs() {
  static const std::vector<VerbSpec> verbs = {
      {"ls", "who recorded it (version, mode, upstreams, models), then one line per interaction"},
      {"show", "requests, responses and SSE events with their offsets (--interaction N: one)"},
      {"cat", "the cassette as JSON (--jsonl: one compact object per line, as stored)"},
      {"verify", "schema check and secret scan; exit 1 on a finding"},
      {"redact", "apply the redaction rules again, in place, atomically"},
      {"rm", "remove interactions N... (rm FILE N...), atomically, under the cassette's lock"},
      {"edit",
       "edit the cassette (or --interaction N) as JSON in $VISUAL or $EDITOR; checked on save, "
       "written atomically"},
      {"diff", "what changed from cassette A to B, interaction by interaction; exit 1 if anything"},
      {"export-har", "write the cassette as HAR 1.2, events and their times kept (FILE OUT.har)"},
      {"import-har", "make a cassette from a HAR, redacted like a recording (IN.har FILE)"},
  };
  return verbs;
}

const std::vector<VerbSpec>& CaVerbs() {
  static const std::vector<VerbSpec> verbs = {
      {"init",
       "create the CA (ECDSA P-256, key file 0600; refuses to replace one) and print how to "
       "trust it"},
      {"path", "print the CA certificate's path (for NODE_EXTRA_CA_CERTS, SSL_CERT_FILE, ...)"},
  };
  return verbs;
}

}  // namespace

const std::vector<VerbSpec>& VerbsOf(unsigned command_bit) {
  static const std::vector<VerbSpec> none;
  if (command_bit == kCassetteCmd) return CassetteVerbs();
  if (command_bit == kCaCmd) return CaVerbs();
  return none;
}

bool IsVerbOf(unsigned command_bit, std::string_view name) {
  const std::vector<VerbSpec>& verbs = VerbsOf(command_bit);
  return std::any_of(verbs.begin(), verbs.end(), [&](const VerbSpec& v) { return v.name == name; });
}

const std::vector<ExitCodeSpec>& ExitCodes() {
  static const std::vector<ExitCodeSpec> codes = {
      {kExitOk, "ok"},
      {kExitProblem, "strict replay or verify found a problem; cassette diff found a difference"},
      {kExitUsage, "usage or configuration error"},
      {kExitCassette,
       "cassette unreadable, unwritable or locked by another tapedeck; local CA cannot be made or "
       "read"},
      {kExitUpstream, "upstream unreachable at start"},
      {kExitListen, "listen address cannot be bound"},
      {kExitCannotRun, "exec: the command cannot be run"},
      {kExitNotFound, "exec: the command is not found"},
  };
  return codes;
}

std::string_view Version() { return TAPEDECK_VERSION; }

}  // namespace td::cli
