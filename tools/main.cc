// The tapedeck executable: picks the subcommand and hands over to tools/cli.h.
#include "tools/cli.h"

extern char** environ;

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  std::vector<std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) env.emplace_back(*e);
  return td::cli::Main(args, env);
}
