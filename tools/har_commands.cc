// `cassette export-har` and `cassette import-har`: read, convert (cassette/har.h), scrub, write.
// Nothing is written until everything before it succeeded, and every write is atomic.
#include "tools/har_commands.h"

#include <filesystem>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "cassette/base/log.h"
#include "cassette/cassette_lock.h"
#include "cassette/har.h"
#include "cassette/scrub.h"
#include "tools/cassette_commands.h"
#include "tools/commands.h"
#include "tools/exit_codes.h"

namespace td::cli {
namespace {

namespace fs = std::filesystem;

std::string Count(size_t n, std::string_view noun) {
  return std::to_string(n) + " " + std::string(noun) + (n == 1 ? "" : "s");
}

int Fail(std::ostream& err, const Status& status) {
  err << "tapedeck: " << status.message() << "\n";
  return ExitCodeFor(status);
}

bool SameFile(const std::string& a, const std::string& b) {
  std::error_code ec;
  return fs::equivalent(a, b, ec) && !ec;
}

int Export(const std::string& in, const std::string& out_path, const cassette::ReadOptions& read,
           std::ostream& out, std::ostream& err) {
  if (SameFile(in, out_path)) {
    err << "tapedeck: cassette export-har: " << out_path
        << " is the cassette itself; name another file for the HAR\n";
    return kExitUsage;
  }
  cassette::ReadReport report;
  Result<cassette::Cassette> c = cassette::ReadCassette(in, read, &report);
  if (!c.ok()) return Fail(err, c.status());
  for (const std::string& w : report.warnings) err << "tapedeck: warning: " << w << "\n";
  Result<cassette::Json> har = cassette::CassetteToHar(*c, Version());
  if (!har.ok()) return Fail(err, har.status().WithContext("cassette " + in));
  Status written = cassette::WriteHarFileAtomic(out_path, *har);
  if (!written.ok()) return Fail(err, written);
  out << out_path << ": exported " << Count(c->interactions.size(), "interaction") << " from " << in
      << "\n";
  return kExitOk;
}

// Whether OUT may be written: absent, empty, or a cassette without interactions; anything else
// only with --overwrite. Returns kExitOk or the exit code after saying why.
int CheckOutput(const std::string& path, bool overwrite, const cassette::ReadOptions& read,
                std::ostream& err) {
  std::error_code ec;
  if (!fs::exists(path, ec) || overwrite) return kExitOk;
  if (fs::is_regular_file(path, ec) && fs::file_size(path, ec) == 0 && !ec) return kExitOk;
  Result<cassette::Cassette> existing = cassette::ReadCassette(path, read);
  if (!existing.ok()) {
    err << "tapedeck: " << existing.status().message()
        << "; refusing to replace it (--overwrite replaces it)\n";
    return kExitCassette;
  }
  if (existing->interactions.empty()) return kExitOk;
  err << "tapedeck: cassette " << path << " already holds "
      << Count(existing->interactions.size(), "interaction")
      << "; refusing to replace it. Pass --overwrite to replace it\n";
  return kExitUsage;
}

int Import(const std::string& in, const std::string& out_path, const Config& config,
           const cassette::ReadOptions& read, const cassette::Redactor& redactor,
           const cassette::Redactor& fallback, std::ostream& out, std::ostream& err) {
  const std::string where = "har " + in;
  Result<cassette::Json> har = cassette::ReadHarFile(in, read.max_line_bytes);
  if (!har.ok()) return Fail(err, har.status());
  Result<cassette::HarImport> imported = cassette::HarToCassette(*har);
  if (!imported.ok()) return Fail(err, imported.status().WithContext(where));
  har = cassette::Json();

  Result<cassette::CassetteLock> lock = cassette::CassetteLock::Acquire(out_path);
  if (!lock.ok()) return Fail(err, lock.status());
  if (int code = CheckOutput(out_path, config.GetBool("overwrite"), read, err); code != kExitOk) {
    return code;
  }

  // Exactly what recording does before anything reaches disk (cassette/scrub.h).
  cassette::Cassette& c = imported->cassette;
  std::vector<std::string> lines;
  std::vector<cassette::Interaction> kept;
  kept.reserve(c.interactions.size());
  size_t withheld = 0;
  for (size_t i = 0; i < c.interactions.size(); ++i) {
    cassette::Interaction& it = c.interactions[i];
    const std::string at = "entries[" + std::to_string(imported->entries[i]) + "]: ";
    cassette::ScrubReport scrub = cassette::ScrubForDisk(&it, redactor, fallback, kept.size());
    if (scrub.decoded_request_body) lines.push_back(at + "request.body stored decoded");
    for (const std::string& a : scrub.redacted.applied) lines.push_back(at + "redacted " + a);
    for (const std::string& n : scrub.notes) lines.push_back(at + "note: " + n);
    if (!scrub.clean) {
      ++withheld;
      err << "tapedeck: " << where << ": " << at
          << "not written: a secret-shaped value could not be masked"
          << (scrub.notes.empty() ? "" : ": " + scrub.notes.back()) << "\n";
      continue;
    }
    kept.push_back(std::move(it));
  }
  c.interactions = std::move(kept);

  cassette::WriteOptions w;
  w.compress =
      !config.GetBool("no-compress") && (out_path.ends_with(".zst") || IsZstdFile(out_path));
  Status written = cassette::WriteCassetteAtomic(out_path, c, w);
  if (!written.ok()) return Fail(err, written);
  out << out_path << ": imported " << Count(c.interactions.size(), "interaction") << " from " << in;
  if (withheld > 0) out << " (" << withheld << " not written: see above)";
  out << "\n";
  for (const std::string& note : imported->notes) out << "  " << note << "\n";
  for (const std::string& line : lines) out << "  " << line << "\n";
  return withheld > 0 ? kExitProblem : kExitOk;
}

}  // namespace

bool IsHarVerb(std::string_view verb) { return verb == "export-har" || verb == "import-har"; }

int RunHarCommand(std::string_view verb, const Config& config, const cassette::ReadOptions& read,
                  const std::optional<cassette::Redactor>& redactor,
                  const std::optional<cassette::Redactor>& fallback, std::ostream& out,
                  std::ostream& err) {
  const std::vector<std::string>& files = config.positional();
  const bool exporting = verb == "export-har";
  if (files.size() != 2) {
    err << "tapedeck: cassette " << verb << ": expected "
        << (exporting ? "a cassette and the HAR to write (export-har FILE OUT.har)"
                      : "a HAR and the cassette to write (import-har IN.har FILE)")
        << "\n";
    return kExitUsage;
  }
  if (exporting) return Export(files[0], files[1], read, out, err);
  TD_CHECK(redactor.has_value() && fallback.has_value()) << "import-har needs its redactors";
  return Import(files[0], files[1], config, read, *redactor, *fallback, out, err);
}

}  // namespace td::cli
