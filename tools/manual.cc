// --help, the man page and the shell completions, rendered from the flag and command tables.
#include "tools/manual.h"

#include <sstream>
#include <vector>

#include "tools/commands.h"
#include "tools/flags.h"

namespace td::cli {
namespace {

// The flags `command_bit` takes, in table order.
std::vector<const FlagSpec*> FlagsOf(unsigned command_bit) {
  std::vector<const FlagSpec*> flags;
  for (const FlagSpec& f : AllFlags()) {
    if ((f.commands & command_bit) != 0) flags.push_back(&f);
  }
  return flags;
}

bool TakesFile(const FlagSpec& f) { return f.arg == "FILE"; }
bool TakesDir(const FlagSpec& f) { return f.arg == "DIR"; }

// `words`, joined with single spaces and broken before `width` columns.
std::string Wrap(const std::vector<std::string>& words, size_t width) {
  std::string out, line;
  for (const std::string& word : words) {
    if (!line.empty() && line.size() + 1 + word.size() > width) {
      out += line + "\n";
      line.clear();
    }
    line += (line.empty() ? "" : " ") + word;
  }
  return out + line + "\n";
}

std::vector<std::string> Words(std::string_view text) {
  std::vector<std::string> words;
  std::istringstream in{std::string(text)};
  for (std::string w; in >> w;) words.push_back(w);
  return words;
}

// "Exit codes: 0 ok, 1 ..., ...; exec returns its command's status."
std::string ExitCodeSentence() {
  std::string text = "Exit codes:";
  const std::vector<ExitCodeSpec>& codes = ExitCodes();
  for (size_t i = 0; i < codes.size(); ++i) {
    if (codes[i].meaning.starts_with("exec:")) continue;
    text +=
        (i == 0 ? " " : ", ") + std::to_string(codes[i].code) + " " + std::string(codes[i].meaning);
  }
  return text + "; exec returns its command's status (126 and 127 when it cannot run it).";
}

// --- roff ------------------------------------------------------------------------------------

// Text for a roff line: backslashes and hyphens escaped (so flags copy as ASCII '-'), a
// leading '.' or '\'' made literal.
std::string Roff(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '\\') {
      out += "\\e";
    } else if (c == '-') {
      out += "\\-";
    } else {
      out += c;
    }
  }
  if (!out.empty() && (out[0] == '.' || out[0] == '\'')) out.insert(0, "\\&");
  return out;
}

// Each line of `text` as its own roff text line.
std::string RoffLines(std::string_view text) {
  std::string out;
  std::istringstream in{std::string(text)};
  for (std::string line; std::getline(in, line);) out += Roff(line) + "\n";
  return out;
}

// What the man page says before and after the tables. Prose, kept short: the README and
// docs/ hold the guides.
constexpr std::string_view kDescription =
    "tapedeck sits where an application's LLM API base URL points "
    "(ANTHROPIC_BASE_URL, OPENAI_BASE_URL). In record mode it forwards each request to the "
    "real API and writes every request, response and server-sent event, with the time each "
    "event arrived, into a zstd-compressed cassette, secrets redacted. In replay mode it "
    "matches each request to the cassette and streams the saved events back byte for byte, "
    "at the recorded pace or faster, and never contacts a network. A miss is answered in the "
    "provider's own error shape with x-should-retry: false. With --forward-proxy it is also an "
    "HTTP(S) proxy for clients that ignore base URLs (HTTPS_PROXY): CONNECT to an LLM API host "
    "is answered with TLS from a local CA (tapedeck ca init) and recorded or replayed.";

// --- shell quoting ---------------------------------------------------------------------------

// `text` inside a single-quoted shell word.
std::string SingleQuoted(std::string_view text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// A zsh _arguments description: brackets and colons escaped.
std::string ZshDescription(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '[' || c == ']' || c == ':' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

std::string JoinedNames(const std::vector<const FlagSpec*>& flags) {
  std::string out;
  for (const FlagSpec* f : flags) out += (out.empty() ? "--" : " --") + std::string(f->name);
  return out;
}

}  // namespace

std::string HelpText(std::string_view command) {
  std::ostringstream out;
  const CommandSpec* cmd = FindCommand(command);
  if (cmd == nullptr) {
    out << "tapedeck " << Version()
        << ": record and replay LLM API traffic for deterministic tests\n\nusage:\n";
    for (const CommandSpec& c : AllCommands()) out << "  " << c.usage << "\n";
    out << "\n"
        << Wrap(Words("Run `tapedeck COMMAND --help` for a command's flags, `man tapedeck` for "
                      "the manual. " +
                      ExitCodeSentence()),
                92);
    return out.str();
  }
  out << "usage: " << cmd->usage << "\n\n" << cmd->summary << "\n";
  if (!VerbsOf(cmd->bit).empty()) {
    out << "\ncommands:\n";
    for (const VerbSpec& v : VerbsOf(cmd->bit)) {
      out << "  " << v.name << std::string(v.name.size() < 30 ? 30 - v.name.size() : 1, ' ')
          << v.summary << "\n";
    }
  }
  out << "\nflags:\n";
  for (const FlagSpec* f : FlagsOf(cmd->bit)) {
    std::string left = "--" + std::string(f->name);
    if (!f->arg.empty()) left += " " + std::string(f->arg);
    out << "  " << left;
    out << std::string(left.size() < 30 ? 30 - left.size() : 1, ' ') << f->help;
    if (!f->default_value.empty() && !f->arg.empty())
      out << " (default " << f->default_value << ")";
    if (f->repeatable) out << " (repeatable)";
    out << "\n";
  }
  out << "\nEvery flag can also come from the environment (TAPEDECK_<FLAG>, e.g. "
         "TAPEDECK_TIMING)\nor a --config JSON file; flags win over the environment, which wins "
         "over the file.\n";
  return out.str();
}

std::string ManPage() {
  std::ostringstream out;
  out << ".\\\" tapedeck(1): generated from tools/flags.cc and tools/commands.cc by "
         "tapedeck_docgen; do not edit.\n";
  out << ".TH TAPEDECK 1 \"\" \"tapedeck " << Version() << "\" \"User Commands\"\n";
  out << ".SH NAME\ntapedeck \\- record and replay LLM API traffic for deterministic tests\n";

  out << ".SH SYNOPSIS\n.nf\n";
  for (const CommandSpec& c : AllCommands()) out << RoffLines(c.usage);
  out << "tapedeck \\-\\-version\n.fi\n";

  out << ".SH DESCRIPTION\n" << Roff(kDescription) << "\n";

  out << ".SH COMMANDS\n";
  for (const CommandSpec& c : AllCommands()) {
    out << ".TP\n.B " << Roff(c.name) << "\n" << RoffLines(c.summary);
    if (!VerbsOf(c.bit).empty()) {
      out << ".RS\n";
      for (const VerbSpec& v : VerbsOf(c.bit)) {
        out << ".TP\n.B " << Roff(v.name) << "\n" << Roff(v.summary) << "\n";
      }
      out << ".RE\n";
    }
  }

  out << ".SH OPTIONS\n";
  for (const FlagSpec& f : AllFlags()) {
    if (f.arg.empty()) {
      out << ".TP\n.B \\-\\-" << Roff(f.name) << "\n";
    } else {
      out << ".TP\n.BI \"\\-\\-" << Roff(f.name) << " \" \"" << Roff(f.arg) << "\"\n";
    }
    out << Roff(f.help) << ".\n";
    out << ".br\n";
    std::string facts;
    if (!f.arg.empty() && !f.default_value.empty()) {
      facts += "Default: " + Roff(f.default_value) + ". ";
    }
    if (f.repeatable) facts += "Repeatable. ";
    facts += "Commands: " + CommandList(f.commands) + ".";
    if (f.name != "help" && f.name != "config") facts += " Environment: " + EnvName(f.name) + ".";
    out << facts << "\n";
  }

  out << ".SH ENVIRONMENT\n"
      << Roff(
             "Every flag but --config and --help can come from a variable TAPEDECK_<FLAG> "
             "(upper case, '-' as '_': TAPEDECK_TIMING=instant; a repeatable flag takes one "
             "value or a JSON array) or from a --config JSON file whose keys are the long "
             "flags in snake_case. Precedence: defaults < config file < environment < flags. "
             "TAPEDECK_CONFIG names the config file.")
      << "\n.PP\n"
      << Roff(
             "exec sets ANTHROPIC_BASE_URL, OPENAI_BASE_URL and, for a gemini mount, "
             "GOOGLE_GEMINI_BASE_URL for its command; with --forward-proxy it sets no base URL but "
             "HTTPS_PROXY, HTTP_PROXY, NO_PROXY, NODE_USE_ENV_PROXY, NODE_EXTRA_CA_CERTS, "
             "SSL_CERT_FILE, REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE and AWS_CA_BUNDLE.")
      << "\n";

  out << ".SH EXIT STATUS\n";
  for (const ExitCodeSpec& e : ExitCodes()) {
    out << ".TP\n.B " << e.code << "\n" << Roff(e.meaning) << "\n";
  }

  out << ".SH FILES\n.TP\n.I FILE.jsonl.zst\n"
      << Roff(
             "A cassette: zstd-compressed JSON Lines, a header line then one line per "
             "interaction (--no-compress writes plain JSON Lines).")
      << "\n.TP\n.I FILE.lock\n"
      << Roff("The lock a recording tapedeck holds (with its PID) while it writes FILE.")
      << "\n.TP\n.I FILE.recording\n"
      << Roff("What record --overwrite writes; renamed over FILE when the run ends cleanly.")
      << "\n";

  out << ".SH EXAMPLES\n.nf\n"
      << RoffLines(
             "tapedeck record --upstream https://api.anthropic.com --cassette s.jsonl.zst\n"
             "tapedeck replay --cassette s.jsonl.zst --timing instant --strict\n"
             "tapedeck exec --cassette s.jsonl.zst --strict -- npm test\n"
             "tapedeck auto --cassette-dir tests/cassettes \\\n"
             "    --upstream anthropic=https://api.anthropic.com\n"
             "tapedeck cassette verify tests/cassettes/*.jsonl.zst")
      << ".fi\n";

  out << ".SH SEE ALSO\n"
      << Roff(
             "The README and docs/ of the tapedeck source: recording, replay and matching, "
             "suites (mounts and a cassette per test), the pytest plugin and the Node helper, "
             "the cassette format, security.")
      << "\n";
  return out.str();
}

std::string BashCompletion() {
  std::ostringstream out;
  out << "# bash completion for tapedeck: generated from tools/flags.cc and tools/commands.cc\n"
         "# by tapedeck_docgen; do not edit.\n"
         "_tapedeck() {\n"
         "  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}\n"
         "  local cmd=${COMP_WORDS[1]} i\n"
         "  COMPREPLY=()\n"
         "  if ((COMP_CWORD == 1)); then\n"
         "    COMPREPLY=($(compgen -W '";
  std::string commands;
  for (const CommandSpec& c : AllCommands()) commands += std::string(c.name) + " ";
  out << commands << "--help --version' -- \"$cur\"))\n"
      << "    return\n"
         "  fi\n"
         "  if [[ $cmd == exec ]]; then\n"
         "    for ((i = 2; i < COMP_CWORD; i++)); do\n"
         "      if [[ ${COMP_WORDS[i]} == -- ]]; then\n"
         "        if ((i == COMP_CWORD - 1)); then\n"
         "          COMPREPLY=($(compgen -c -- \"$cur\"))\n"
         "        else\n"
         "          COMPREPLY=($(compgen -f -- \"$cur\"))\n"
         "        fi\n"
         "        return\n"
         "      fi\n"
         "    done\n"
         "  fi\n";
  std::string files, dirs, values;
  for (const FlagSpec& f : AllFlags()) {
    if (f.arg.empty()) continue;
    std::string& list = TakesFile(f) ? files : TakesDir(f) ? dirs : values;
    list += (list.empty() ? "--" : "|--") + std::string(f.name);
  }
  out << "  case $prev in\n"
      << "    " << files << ")\n      COMPREPLY=($(compgen -f -- \"$cur\"))\n      return ;;\n"
      << "    " << dirs << ")\n      COMPREPLY=($(compgen -d -- \"$cur\"))\n      return ;;\n"
      << "    " << values << ")\n      return ;;\n"
      << "  esac\n";
  out << "  local flags\n  case $cmd in\n";
  for (const CommandSpec& c : AllCommands()) {
    out << "    " << c.name << ") flags='" << JoinedNames(FlagsOf(c.bit)) << "' ;;\n";
  }
  out << "    *) return ;;\n  esac\n";
  for (const CommandSpec& c : AllCommands()) {
    if (VerbsOf(c.bit).empty()) continue;
    std::string verbs;
    for (const VerbSpec& v : VerbsOf(c.bit)) {
      verbs += (verbs.empty() ? "" : " ") + std::string(v.name);
    }
    out << "  if [[ $cmd == " << c.name << " ]] && ((COMP_CWORD == 2)); then\n"
        << "    COMPREPLY=($(compgen -W '" << verbs << "' -- \"$cur\"))\n"
        << "    return\n"
           "  fi\n";
  }
  out << "  if [[ $cur == -* ]]; then\n"
         "    COMPREPLY=($(compgen -W \"$flags\" -- \"$cur\"))\n"
         "  else\n"
         "    COMPREPLY=($(compgen -f -- \"$cur\"))\n"
         "  fi\n"
         "}\n"
         "complete -o filenames -F _tapedeck tapedeck\n";
  return out.str();
}

std::string ZshCompletion() {
  std::ostringstream out;
  out << "#compdef tapedeck\n"
         "# zsh completion for tapedeck: generated from tools/flags.cc and tools/commands.cc by\n"
         "# tapedeck_docgen; do not edit.\n\n";
  for (const CommandSpec& c : AllCommands()) {
    std::vector<std::string> specs;
    for (const FlagSpec* f : FlagsOf(c.bit)) {
      std::string spec = std::string(f->repeatable ? "*" : "") + "--" + std::string(f->name);
      if (f->arg.empty()) {
        spec += "[" + ZshDescription(f->help) + "]";
      } else {
        const std::string action = TakesFile(*f) ? "_files" : TakesDir(*f) ? "_files -/" : " ";
        spec += "=[" + ZshDescription(f->help) + "]:" + ZshDescription(f->arg) + ":" + action;
      }
      specs.push_back(SingleQuoted(spec));
    }
    if (!VerbsOf(c.bit).empty()) {
      std::string verbs;
      for (const VerbSpec& v : VerbsOf(c.bit)) {
        verbs += (verbs.empty() ? "" : " ") + std::string(v.name) + "\\:\"" +
                 ZshDescription(v.summary) + "\"";
      }
      specs.push_back(SingleQuoted("1:command:((" + verbs + "))"));
      if (c.bit == kCassetteCmd) specs.push_back(SingleQuoted("*:cassette:_files"));
    } else if (c.bit == kExec) {
      specs.push_back(SingleQuoted("*::command:_normal"));
    } else if (c.bit == kConfigCmd) {
      specs.push_back(SingleQuoted("1:mode:(record replay auto passthrough exec)"));
    }
    out << "_tapedeck_" << c.name << "() {\n  _arguments -S";
    for (const std::string& spec : specs) out << " \\\n    " << spec;
    out << "\n}\n\n";
  }
  out << "_tapedeck() {\n"
         "  local -a commands\n"
         "  commands=(\n";
  for (const CommandSpec& c : AllCommands()) {
    std::string summary(c.summary.substr(0, c.summary.find('\n')));
    out << "    " << SingleQuoted(std::string(c.name) + ":" + summary) << "\n";
  }
  out << "  )\n"
         "  if ((CURRENT == 2)); then\n"
         "    _describe -t commands 'tapedeck command' commands\n"
         "    compadd -- --help --version\n"
         "    return\n"
         "  fi\n"
         "  local cmd=$words[2]\n"
         "  shift words\n"
         "  ((CURRENT--))\n"
         "  (($+functions[_tapedeck_$cmd])) && _tapedeck_$cmd\n"
         "}\n\n"
         "_tapedeck \"$@\"\n";
  return out.str();
}

}  // namespace td::cli
