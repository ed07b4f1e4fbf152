// File: tools/manual.h
//
// Everything that describes the tapedeck command to a person or a shell, rendered from the
// flag table (tools/flags.h) and the command tables (tools/commands.h), never written by hand:
// the --help text, the man page (tapedeck.1) and the bash and zsh completions. The build writes
// the last three with tapedeck_docgen (tools/docgen_main.cc) and `cmake --install` installs
// them, so the manual and --help cannot disagree.
#pragma once

#include <string>
#include <string_view>

namespace td::cli {

// The help text of a subcommand, or the overview for "" or an unknown name.
std::string HelpText(std::string_view command);

// The man page, in roff (man(7) macros). Every subcommand, cassette verb, flag (with its
// argument, default, subcommands and environment variable) and exit code.
std::string ManPage();

// The bash completion script: subcommands, cassette verbs, each subcommand's flags, file names
// after flags that take a FILE, folders after a DIR, and the command after `exec --`.
std::string BashCompletion();

// The zsh completion function (#compdef tapedeck): the same, with each flag's help.
std::string ZshCompletion();

}  // namespace td::cli
