// `cassette edit`: the editor round trip, checked on every save.
#include "tools/cassette_edit.h"

#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include "cassette/cassette_lock.h"
#include "cassette/json_mapping.h"
#include "tools/cassette_commands.h"
#include "tools/exit_codes.h"

extern char** environ;

namespace td::cli {
namespace {

// Runs `editor "$1"` through /bin/sh and waits. True when it exits 0.
bool RunEditor(const std::string& editor, const std::string& file, std::ostream& err) {
  const std::string script = editor + " \"$1\"";
  std::vector<std::string> args = {"/bin/sh", "-c", script, "sh", file};
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  if (int rc = posix_spawn(&pid, "/bin/sh", nullptr, nullptr, argv.data(), environ); rc != 0) {
    err << "tapedeck: cassette edit: cannot run the editor: " << std::strerror(rc) << "\n";
    return false;
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    err << "tapedeck: cassette edit: the editor (" << editor << ") failed; nothing written\n";
    return false;
  }
  return true;
}

// The file's text without its `#` lines.
std::string WithoutComments(const std::string& text) {
  std::istringstream in(text);
  std::string out;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line[0] == '#') continue;
    out += line + "\n";
  }
  return out;
}

bool IsBlank(std::string_view text) {
  return text.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

// The edited text as the cassette it describes (the whole cassette, or `original` with its
// interaction replaced). Errors name the line, as the reader does.
Result<cassette::Cassette> Parse(const std::string& text, const cassette::Cassette& original,
                                 std::optional<size_t> interaction, const std::string& name,
                                 const cassette::ReadOptions& read,
                                 std::vector<std::string>* notes) {
  if (!interaction) {
    cassette::ReadReport report;
    Result<cassette::Cassette> c = cassette::ParseCassette(text, name, read, &report);
    if (c.ok()) {
      for (std::string& w : report.warnings) notes->push_back(std::move(w));
      for (std::string& n : report.notes) notes->push_back(std::move(n));
    }
    return c;
  }
  cassette::Json json;
  try {
    json = cassette::Json::parse(text);
  } catch (const cassette::Json::parse_error& e) {
    return ParseError(name + ": " + e.what());
  }
  Result<cassette::Interaction> it = cassette::InteractionFromJson(std::move(json), notes);
  if (!it.ok()) return it.status().WithContext(name);
  cassette::Cassette c = original;
  c.interactions[*interaction] = std::move(*it);
  return c;
}

}  // namespace

int EditCassette(const std::string& path, std::optional<size_t> interaction,
                 const std::string& editor, const cassette::ReadOptions& read, std::ostream& out,
                 std::ostream& err) {
  Result<cassette::CassetteLock> lock = cassette::CassetteLock::Acquire(path);
  if (!lock.ok()) {
    err << "tapedeck: " << lock.status().message() << "\n";
    return kExitCassette;
  }
  Result<cassette::Cassette> original = cassette::ReadCassette(path, read);
  if (!original.ok()) {
    err << "tapedeck: " << original.status().message() << "\n";
    return kExitCassette;
  }
  if (interaction && *interaction >= original->interactions.size()) {
    err << "tapedeck: cassette " << path << ": no interaction " << *interaction << " (it has "
        << original->interactions.size() << ")\n";
    return kExitUsage;
  }
  const std::string what =
      interaction ? "interaction " + std::to_string(*interaction) + " of " + path : path;
  std::string body = interaction
                         ? cassette::InteractionToJson(original->interactions[*interaction])
                                   .dump(2, ' ', false, cassette::Json::error_handler_t::replace) +
                               "\n"
                         : cassette::SerializeCassettePretty(*original);
  const std::string before = body;

  std::string tmpl = (std::getenv("TMPDIR") != nullptr ? std::string(std::getenv("TMPDIR"))
                                                       : std::string("/tmp")) +
                     "/tapedeck-edit-XXXXXX.json";
  std::vector<char> name(tmpl.begin(), tmpl.end());
  name.push_back('\0');
  const int fd = ::mkstemps(name.data(), 5);
  if (fd < 0) {
    err << "tapedeck: cassette edit: cannot create a file in " << tmpl << ": "
        << std::strerror(errno) << "\n";
    return kExitCassette;
  }
  ::close(fd);
  const std::string file(name.data());
  struct Remove {
    std::string path;
    ~Remove() { ::unlink(path.c_str()); }
  } remove{file};

  std::string problem;  // the last save's error, shown at the top of the file
  std::string failed;   // what that save held: saving it again unchanged gives up
  for (;;) {
    {
      std::ofstream edit(file, std::ios::trunc);
      edit << "# tapedeck cassette edit: " << what << "\n"
           << "# Lines starting with '#' are ignored. Save and quit to write it; save an empty\n"
           << "# file (or quit the editor with an error) to cancel.\n";
      if (!problem.empty()) edit << "#\n# error: " << problem << "\n#\n";
      edit << body;
      if (!edit) {
        err << "tapedeck: cassette edit: cannot write " << file << "\n";
        return kExitCassette;
      }
    }
    if (!RunEditor(editor, file, err)) return kExitOk;
    std::ifstream in(file);
    std::stringstream text;
    text << in.rdbuf();
    body = WithoutComments(text.str());
    if (IsBlank(body)) {
      out << what << ": edit cancelled; nothing written\n";
      return kExitOk;
    }
    if (body == before) {
      out << what << ": unchanged\n";
      return kExitOk;
    }
    std::vector<std::string> notes;
    Result<cassette::Cassette> edited =
        Parse(body, *original, interaction, "the edited " + what, read, &notes);
    if (!edited.ok()) {
      if (edited.status().message() == problem && body == failed) {
        err << "tapedeck: " << problem << "; saved again unchanged, so nothing written\n";
        return kExitUsage;
      }
      problem = edited.status().message();
      failed = body;
      err << "tapedeck: " << problem << "; opening the editor again\n";
      continue;
    }
    for (const std::string& n : notes) out << "note: " << n << "\n";
    cassette::WriteOptions w;
    w.compress = IsZstdFile(path);
    if (Status s = cassette::WriteCassetteAtomic(path, *edited, w); !s.ok()) {
      err << "tapedeck: " << s.message() << "\n";
      return kExitCassette;
    }
    out << what << ": written (" << edited->interactions.size() << " interactions)\n";
    return kExitOk;
  }
}

}  // namespace td::cli
