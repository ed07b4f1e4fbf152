// File: tools/config.h
//
// cli::Config: the resolved settings of one tapedeck invocation (tools/flags.h layers them) and
// typed, validated views of them. Modules never read flags, files or the environment; this
// class builds each module's options struct from the settings. Every value is checked when the
// Config is parsed, so a typo fails with exit 2, naming the flag, variable or file it came from,
// before anything listens or writes.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "cassette/base/status.h"
#include "cassette/codec.h"
#include "cassette/redact.h"
#include "replay/normalize.h"
#include "tools/flags.h"

namespace td::cli {

struct HostPort {
  std::string host;
  int port = 0;
};

// Parses "HOST:PORT", "[::1]:PORT", ":PORT" (host 127.0.0.1) or "PORT".
Result<HostPort> ParseHostPort(std::string_view text);
// Parses a non-negative number of seconds ("10", "0.5") into microseconds.
Result<std::int64_t> ParseSeconds(std::string_view name, std::string_view text);
// Parses a non-negative integer ("4096"); the error names the flag.
Result<std::uint64_t> ParseCount(std::string_view name, std::string_view text);
// Parses a size in bytes: "1048576", or with a binary suffix "64KiB", "256MiB", "1GiB" (also
// "K", "M", "G", "KB", "MB", "GB", all powers of 1024). At least 1; the error names the flag.
Result<std::uint64_t> ParseByteSize(std::string_view name, std::string_view text);

class Config {
 public:
  // Parses arguments after the subcommand name (tools/flags.h, ParseArgs) and checks the
  // syntax of every value with the parser the command will use (a bad env value is reported
  // as `TAPEDECK_TIMING=fast: expected ...`). `command` is one CommandBit; for kConfigCmd the
  // first operand is the MODE whose flags are read. Only the rules that span several flags
  // (--overwrite with --append, required --cassette) are left to the command.
  static Result<Config> Parse(unsigned command, const std::vector<std::string>& args,
                              const std::vector<std::string>& env);

  unsigned command() const { return command_; }
  const std::vector<std::string>& positional() const { return args_.positional; }
  // Not fatal, for the caller to log: unknown TAPEDECK_* environment variables.
  const std::vector<std::string>& warnings() const { return args_.warnings; }

  // The single value of a flag ("" when unset). The flag must apply to the command.
  const std::string& Get(std::string_view flag) const;
  bool GetBool(std::string_view flag) const;
  const std::vector<std::string>& GetAll(std::string_view flag) const;
  bool IsSet(std::string_view flag) const;

  // Typed views; each error names the flag and the bad value.
  Result<HostPort> Listen() const;
  Result<cassette::RedactionRules> Redaction() const;
  cassette::WriteOptions Write() const;
  // How requests are matched: --preset (in order), --ignore-json-path, --ignore-header,
  // --match-header, --ignore-query-param and --normalize. Serving modes match live requests
  // with it; `cassette diff` pairs interactions with it. Compiled once to check it.
  Result<replay::MatchOptions> Match() const;
  // --max-line-bytes, for every read of a cassette.
  Result<cassette::ReadOptions> Read() const;

  // `tapedeck config --print [MODE]`: one line per flag that applies, in --help's order,
  //   timing = instant  [flag]
  //   chunking = byte  [env: TAPEDECK_CHUNKING]
  //   strict = true  [file: ci.json]
  //   ignore-header = ["user-agent","x-stainless-os"]  [flag]
  //   fault = (unset)  [default]
  // Repeatable flags show every value as a JSON array; a value that is empty or has spaces at
  // its ends or control characters is shown as a JSON string. A secret (--require-key) shows
  // as "(set, not shown)". For `config exec`, a command after the flags shows as `command`.
  std::string Describe() const;

 private:
  unsigned command_ = 0;
  ParsedArgs args_;
};

}  // namespace td::cli
