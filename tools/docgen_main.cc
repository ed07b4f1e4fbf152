// tapedeck_docgen OUTDIR: writes the man page (tapedeck.1) and the bash (tapedeck.bash) and zsh
// (_tapedeck) completions that tools/manual.h renders, for the build to install. Not installed.
#include <fstream>
#include <iostream>
#include <string>

#include "tools/manual.h"

namespace {

bool WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) {
    std::cerr << "tapedeck_docgen: cannot write " << path << "\n";
    return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: tapedeck_docgen OUTDIR\n";
    return 2;
  }
  const std::string dir = argv[1];
  const bool ok = WriteFile(dir + "/tapedeck.1", td::cli::ManPage()) &&
                  WriteFile(dir + "/tapedeck.bash", td::cli::BashCompletion()) &&
                  WriteFile(dir + "/_tapedeck", td::cli::ZshCompletion());
  return ok ? 0 : 1;
}
