// The cassette subcommands: ls, show, cat, verify, redact, rm, diff (and the HAR verbs' dispatch).
#include "tools/cassette_commands.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iomanip>
#include <set>
#include <sstream>

#include "cassette/base/ascii.h"
#include "cassette/cassette_lock.h"
#include "cassette/codec.h"
#include "cassette/content_encoding.h"
#include "cassette/json_mapping.h"
#include "cassette/redact.h"
#include "cassette/scrub.h"
#include "cassette/secret_scan.h"
#include "cassette/sse.h"
#include "tools/cassette_diff.h"
#include "tools/cassette_edit.h"
#include "tools/commands.h"
#include "tools/exit_codes.h"
#include "tools/har_commands.h"
#include "tools/stable_view.h"

namespace td::cli {
namespace {

using cassette::Cassette;
using cassette::Interaction;

std::string Seconds(Micros us) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f s", static_cast<double>(us) / 1e6);
  return buf;
}

std::string Offset(Micros us) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "+%.6fs", static_cast<double>(us) / 1e6);
  return buf;
}

std::string Bytes(size_t n) {
  char buf[32];
  if (n < 1024) {
    std::snprintf(buf, sizeof buf, "%zu B", n);
  } else if (n < 1024 * 1024) {
    std::snprintf(buf, sizeof buf, "%.1f KB", static_cast<double>(n) / 1024);
  } else {
    std::snprintf(buf, sizeof buf, "%.1f MB", static_cast<double>(n) / (1024 * 1024));
  }
  return buf;
}

// Makes text printable on one line: control bytes escaped, long text shortened.
std::string OneLine(std::string_view s, size_t max) {
  std::string out;
  for (unsigned char c : s) {
    if (out.size() >= max) {
      out += "…";
      break;
    }
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

struct Loaded {
  Cassette cassette;
  cassette::ReadReport report;
};

// Reads one file; on failure prints the error and sets *exit_code to 3.
bool Load(const std::string& path, const cassette::ReadOptions& read, Loaded* loaded,
          std::ostream& err, int* exit_code) {
  Result<Cassette> c = cassette::ReadCassette(path, read, &loaded->report);
  if (!c.ok()) {
    err << "tapedeck: " << c.status().message() << "\n";
    *exit_code = kExitCassette;
    return false;
  }
  loaded->cassette = std::move(*c);
  for (const std::string& w : loaded->report.warnings) err << "tapedeck: warning: " << w << "\n";
  for (const std::string& n : loaded->report.notes) err << "tapedeck: note: " << n << "\n";
  return true;
}

std::string Count(size_t n, std::string_view noun) {
  return std::to_string(n) + " " + std::string(noun) + (n == 1 ? "" : "s");
}

// What a human wants from an event's data: for JSON, the object minus the fields that repeat in
// every event of a stream (OpenAI chunks start with id, object, created, model).
std::string DataSummary(const std::string& data) {
  if (data.empty() || data.front() != '{') return data;
  nlohmann::ordered_json j = nlohmann::ordered_json::parse(data, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return data;
  for (const char* noise : {"id", "object", "created", "model", "system_fingerprint"}) {
    j.erase(noise);
  }
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

std::string BodySummary(const cassette::Response& r) {
  if (r.stream) {
    return std::string(r.stream->kind == cassette::StreamKind::kSse ? "sse " : "chunks ") +
           Count(r.stream->events.size(), "event");
  }
  return "body " + Bytes(r.body.bytes.size());
}

// "# recorded by tapedeck 0.1.0, exec record, via anthropic=https://..., in /home/dev/app
// (home /home/dev, user dev); models: claude-x, gpt-y": the header's provenance and the model
// names the requests name (`models`, in first-seen order).
void Provenance(const cassette::Provenance& p, const std::vector<std::string>& models,
                std::ostream& out) {
  out << "# recorded by tapedeck " << (p.tapedeck.empty() ? "?" : p.tapedeck);
  if (!p.mode.empty()) out << ", " << p.mode;
  for (size_t i = 0; i < p.upstreams.size(); ++i) {
    out << (i == 0 ? ", via " : ", ")
        << (p.upstreams[i].first.empty() ? "" : p.upstreams[i].first + "=")
        << p.upstreams[i].second;
  }
  if (!p.cwd.empty()) out << ", in " << p.cwd;
  if (!p.home.empty() || !p.user.empty()) {
    out << " (home " << (p.home.empty() ? "?" : p.home) << ", user "
        << (p.user.empty() ? "?" : p.user) << ")";
  }
  for (size_t i = 0; i < models.size(); ++i) out << (i == 0 ? "; models: " : ", ") << models[i];
  out << "\n";
}

// `ls` of one file, read as a stream: only each interaction's line is kept, so listing a
// cassette of any size takes little memory. On a read error prints it and sets *exit_code to 3.
void Ls(const std::string& path, const cassette::ReadOptions& read, bool many, std::ostream& out,
        std::ostream& err, int* exit_code) {
  std::optional<cassette::Provenance> recorded_by;
  std::vector<std::string> models;
  std::string lines;
  size_t i = 0;
  cassette::CassetteVisitor visitor;
  visitor.header = [&](Cassette&& header) {
    recorded_by = std::move(header.recorded_by);
    return Status::Ok();
  };
  visitor.interaction = [&](Interaction&& it) {
    std::string model = cassette::ModelOf(it.request);
    if (!model.empty() && std::find(models.begin(), models.end(), model) == models.end()) {
      models.push_back(model);
    }
    std::ostringstream line;
    line << "#" << std::left << std::setw(4) << i++ << " " << std::setw(6) << it.request.method
         << " " << std::setw(32) << it.request.Url() << " " << std::setw(24)
         << (model.empty() ? "-" : model) << " " << std::right << std::setw(3) << it.response.status
         << "  " << std::left << std::setw(16) << BodySummary(it.response) << " " << std::right
         << std::setw(9) << Seconds(it.timing.done_us);
    if (it.truncated) line << "  truncated: " << *it.truncated;
    lines += line.str();
    lines += '\n';
    return Status::Ok();
  };
  cassette::ReadReport report;
  Status status = cassette::StreamCassette(path, read, &report, visitor);
  if (!status.ok()) {
    err << "tapedeck: " << status.message() << "\n";
    *exit_code = kExitCassette;
    return;
  }
  for (const std::string& w : report.warnings) err << "tapedeck: warning: " << w << "\n";
  for (const std::string& n : report.notes) err << "tapedeck: note: " << n << "\n";
  if (many) out << path << ":\n";
  if (recorded_by) Provenance(*recorded_by, models, out);
  out << lines;
}

void ShowBody(const cassette::Body& body, std::string_view prefix, std::ostream& out) {
  if (body.empty()) return;
  nlohmann::ordered_json j = nlohmann::ordered_json::parse(body.bytes, nullptr, false);
  constexpr size_t kMaxLines = 60;
  std::string text;
  std::string kind;
  if (!j.is_discarded()) {
    text = j.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
    kind = "json";
  } else {
    text = body.bytes;
    kind = "text";
  }
  out << prefix << "body (" << kind << ", " << Bytes(body.bytes.size()) << "):\n";
  std::istringstream lines(text);
  std::string line;
  size_t n = 0;
  while (std::getline(lines, line)) {
    if (++n > kMaxLines) {
      out << "      … (use `tapedeck cassette cat` for the rest)\n";
      break;
    }
    out << "      " << OneLine(line, 160) << "\n";
  }
}

void ShowEvent(const cassette::StreamEvent& e, cassette::StreamKind kind, std::ostream& out) {
  out << "    " << Offset(e.at_us) << "  ";
  if (kind == cassette::StreamKind::kChunks) {
    out << "chunk " << Bytes(e.bytes.size()) << "  " << OneLine(e.bytes, 120) << "\n";
    return;
  }
  cassette::SseFields f = cassette::ParseSseEvent(e.bytes);
  std::string name = f.event.empty() ? (f.has_data ? "message" : "") : f.event;
  if (!f.has_data && f.event.empty()) {
    out << "comment " << OneLine(e.bytes, 120);
  } else {
    out << std::left << std::setw(20) << name << " " << OneLine(DataSummary(f.data), 120);
  }
  if (!e.splits.empty()) out << "  (arrived in " << e.splits.size() + 1 << " pieces)";
  out << "\n";
}

void Show(const std::string& path, const Loaded& l, long only, std::ostream& out) {
  const Cassette& c = l.cassette;
  out << "cassette " << path << ": version " << c.version << ", created "
      << FormatRfc3339Micros(c.created_at_us) << ", " << Count(c.interactions.size(), "interaction")
      << "\n";
  for (size_t i = 0; i < c.interactions.size(); ++i) {
    if (only >= 0 && static_cast<size_t>(only) != i) continue;
    const Interaction& it = c.interactions[i];
    out << "\n#" << i << "  seq " << it.seq << "  recorded "
        << FormatRfc3339Micros(it.recorded_at_us) << "\n";
    out << "  " << it.request.method << " " << it.request.Url() << "\n";
    for (const auto& [k, v] : it.request.headers)
      out << "  > " << k << ": " << OneLine(v, 160) << "\n";
    ShowBody(it.request.body, "  > ", out);
    out << "  < " << it.response.status << "  after " << Seconds(it.timing.headers_us) << "\n";
    for (const auto& [k, v] : it.response.headers) {
      out << "  < " << k << ": " << OneLine(v, 160) << "\n";
    }
    if (it.response.stream) {
      const cassette::Stream& s = *it.response.stream;
      out << "  < stream (" << (s.kind == cassette::StreamKind::kSse ? "sse" : "chunks") << ", "
          << Count(s.events.size(), "event") << ", " << Bytes(s.TotalBytes()) << ", done at "
          << Seconds(it.timing.done_us) << "):\n";
      for (const auto& e : s.events) ShowEvent(e, s.kind, out);
    } else {
      ShowBody(it.response.body, "  < ", out);
    }
    if (it.truncated) out << "  ! truncated: " << *it.truncated << "\n";
  }
}

void Cat(const Loaded& l, bool jsonl, std::ostream& out) {
  if (jsonl) {
    out << cassette::SerializeCassette(l.cassette);
    return;
  }
  // Pretty JSON, one document per line of the cassette; it reads back as the same cassette.
  out << cassette::SerializeCassettePretty(l.cassette);
}

// Returns the number of problems found (secrets, cut tails). A cassette that a tapedeck is
// recording right now ends in an unfinished frame: that is not a problem, only a note.
size_t Verify(const std::string& path, const Loaded& l, std::ostream& out) {
  size_t problems = 0;
  std::optional<pid_t> writer = cassette::CassetteLock::Holder(path);
  if (writer == ::getpid()) writer.reset();  // redact's own lock
  for (const std::string& w : l.report.warnings) {
    out << path << ": " << w << "\n";
    if (!writer) ++problems;
  }
  if (writer && !l.report.warnings.empty()) {
    out << path << ": being recorded by tapedeck pid " << *writer << "; checked its "
        << Count(l.cassette.interactions.size(), "complete interaction") << "\n";
  }
  for (size_t i = 0; i < l.cassette.interactions.size(); ++i) {
    const cassette::Interaction& interaction = l.cassette.interactions[i];
    std::vector<cassette::SecretFinding> findings = cassette::ScanInteraction(interaction, i);
    // A body whose message still declares a Content-Encoding is scanned decoded too; one that
    // cannot be decoded is a problem of its own rather than a pass.
    cassette::EncodedBodyScan encoded = cassette::ScanEncodedBodies(interaction, i);
    findings.insert(findings.end(), encoded.findings.begin(), encoded.findings.end());
    for (const auto& f : findings) {
      out << path << ": interaction " << f.interaction << ": " << f.where << ": " << f.rule << "\n";
      ++problems;
    }
    for (const std::string& line : encoded.undecodable) {
      out << path << ": interaction " << i << ": " << line << "\n";
      ++problems;
    }
  }
  return problems;
}

// `diff A B`: exit 0 same, 1 different, 2 usage, 3 unreadable.
int Diff(const Config& config, std::ostream& out, std::ostream& err) {
  const auto& files = config.positional();
  if (files.size() != 2) {
    err << "tapedeck: cassette diff: expected two cassette files (A B), got " << files.size()
        << "\n";
    return kExitUsage;
  }
  Result<cassette::ReadOptions> read = config.Read();
  if (!read.ok()) {
    err << "tapedeck: " << read.status().message() << "\n";
    return kExitUsage;
  }
  DiffOptions options;
  Result<replay::MatchOptions> match = config.Match();
  if (!match.ok()) {
    err << "tapedeck: " << match.status().message() << "\n";
    return kExitUsage;
  }
  options.match = std::move(*match);
  options.compare_timing = config.GetBool("compare-timing");
  int code = kExitOk;
  Loaded a;
  Loaded b;
  // Both files are read, so one run names every unreadable one.
  bool ok = Load(files[0], *read, &a, err, &code);
  ok = Load(files[1], *read, &b, err, &code) && ok;
  if (!ok) return code;
  Result<CassetteDiff> diff = DiffCassettes(a.cassette, b.cassette, options);
  if (!diff.ok()) {
    err << "tapedeck: " << diff.status().message() << "\n";
    return kExitUsage;
  }
  out << (config.GetBool("json") ? RenderDiffJson(*diff)
                                 : RenderDiffText(*diff, files[0], files[1]));
  return diff->same() ? kExitOk : kExitProblem;
}

}  // namespace

bool IsZstdFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  unsigned char magic[4] = {};
  in.read(reinterpret_cast<char*>(magic), 4);
  return in.gcount() == 4 && magic[0] == 0x28 && magic[1] == 0xb5 && magic[2] == 0x2f &&
         magic[3] == 0xfd;
}

// `cassette rm FILE N...`: drops interactions N... from FILE in one atomic rewrite, under the
// cassette's lock. Every index is checked before anything is written.
int Remove(const std::vector<std::string>& args, const cassette::ReadOptions& read,
           std::ostream& out, std::ostream& err) {
  if (args.size() < 2) {
    err << "tapedeck: cassette rm: expected FILE and the interactions to remove (rm FILE N...)\n";
    return kExitUsage;
  }
  const std::string& path = args[0];
  std::set<size_t> drop;
  for (size_t k = 1; k < args.size(); ++k) {
    const std::string& arg = args[k];
    char* end = nullptr;
    errno = 0;
    const unsigned long long n = std::strtoull(arg.c_str(), &end, 10);
    if (arg.empty() || !IsDigit(arg[0]) || *end != '\0' || errno == ERANGE) {
      err << "tapedeck: cassette rm: \"" << arg << "\" is not an interaction index (0, 1, ...)\n";
      return kExitUsage;
    }
    drop.insert(static_cast<size_t>(n));
  }
  Result<cassette::CassetteLock> lock = cassette::CassetteLock::Acquire(path);
  if (!lock.ok()) {
    err << "tapedeck: " << lock.status().message() << "\n";
    return kExitCassette;
  }
  Loaded l;
  int code = kExitOk;
  if (!Load(path, read, &l, err, &code)) return code;
  std::vector<cassette::Interaction>& all = l.cassette.interactions;
  if (*drop.rbegin() >= all.size()) {
    err << "tapedeck: cassette " << path << ": no interaction " << *drop.rbegin() << " (it has "
        << Count(all.size(), "interaction") << "); nothing removed\n";
    return kExitUsage;
  }
  std::vector<cassette::Interaction> kept;
  kept.reserve(all.size() - drop.size());
  for (size_t i = 0; i < all.size(); ++i) {
    if (!drop.contains(i)) kept.push_back(std::move(all[i]));
  }
  all = std::move(kept);
  cassette::WriteOptions w;
  w.compress = IsZstdFile(path);
  if (Status s = cassette::WriteCassetteAtomic(path, l.cassette, w); !s.ok()) {
    err << "tapedeck: " << s.message() << "\n";
    return kExitCassette;
  }
  out << path << ": removed " << Count(drop.size(), "interaction") << " (";
  for (auto it = drop.begin(); it != drop.end(); ++it) {
    out << (it == drop.begin() ? "#" : ", #") << *it;
  }
  out << "); " << all.size() << " left";
  if (!l.report.warnings.empty()) out << " (and dropped the cut tail)";
  out << "\n";
  return kExitOk;
}

int RunCassetteCommand(std::string_view verb, const Config& config, std::ostream& out,
                       std::ostream& err) {
  const auto& files = config.positional();
  if (!IsVerbOf(kCassetteCmd, verb)) {
    std::string expected;
    const std::vector<VerbSpec>& verbs = VerbsOf(kCassetteCmd);
    for (size_t i = 0; i < verbs.size(); ++i) {
      expected += (i == 0                  ? ""
                   : i + 1 == verbs.size() ? " or "
                                           : ", ") +
                  std::string(verbs[i].name);
    }
    err << "tapedeck: cassette: unknown command \"" << verb << "\" (expected " << expected << ")\n";
    return kExitUsage;
  }
  if (verb == "diff") return Diff(config, out, err);
  if (files.empty()) {
    err << "tapedeck: cassette " << verb << ": no cassette file given\n";
    return kExitUsage;
  }
  if (config.GetBool("stable") && config.GetBool("jsonl")) {
    err << "tapedeck: cassette cat: --stable and --jsonl are two different outputs; pick one\n";
    return kExitUsage;
  }
  long only = -1;
  if (!config.Get("interaction").empty()) {
    char* end = nullptr;
    only = std::strtol(config.Get("interaction").c_str(), &end, 10);
    if (*end != '\0' || only < 0) {
      err << "tapedeck: --interaction \"" << config.Get("interaction")
          << "\": expected an index (0, 1, ...)\n";
      return kExitUsage;
    }
  }
  Result<cassette::ReadOptions> read = config.Read();
  if (!read.ok()) {
    err << "tapedeck: " << read.status().message() << "\n";
    return kExitUsage;
  }
  if (verb == "rm") return Remove(files, *read, out, err);
  if (verb == "edit") {
    if (files.size() != 1) {
      err << "tapedeck: cassette edit: expected one cassette (edit FILE [--interaction N])\n";
      return kExitUsage;
    }
    const char* visual = std::getenv("VISUAL");
    const char* editor = std::getenv("EDITOR");
    const std::string command = visual != nullptr && *visual != '\0'   ? visual
                                : editor != nullptr && *editor != '\0' ? editor
                                                                       : "vi";
    std::optional<size_t> interaction;
    if (only >= 0) interaction = static_cast<size_t>(only);
    return EditCassette(files[0], interaction, command, *read, out, err);
  }
  std::optional<cassette::Redactor> redactor;
  std::optional<cassette::Redactor> fallback;  // the built-in rules, for what `redactor` misses
  if (verb == "redact" || verb == "import-har") {
    Result<cassette::RedactionRules> rules = config.Redaction();
    if (!rules.ok()) {
      err << "tapedeck: " << rules.status().message() << "\n";
      return kExitUsage;
    }
    Result<cassette::Redactor> r = cassette::Redactor::Create(*rules);
    if (!r.ok()) {
      err << "tapedeck: " << r.status().message() << "\n";
      return kExitUsage;
    }
    redactor = std::move(*r);
    Result<cassette::Redactor> builtin = cassette::Redactor::Create({});
    if (!builtin.ok()) {
      err << "tapedeck: " << builtin.status().message() << "\n";
      return kExitUsage;
    }
    fallback = std::move(*builtin);
  }
  if (IsHarVerb(verb)) return RunHarCommand(verb, config, *read, redactor, fallback, out, err);

  int code = kExitOk;
  size_t problems = 0;
  for (const std::string& path : files) {
    // Only redact writes: it holds the cassette's lock from reading to the atomic rewrite, so
    // it never interleaves with a recording (readers never lock).
    std::optional<cassette::CassetteLock> lock;
    if (verb == "redact") {
      Result<cassette::CassetteLock> locked = cassette::CassetteLock::Acquire(path);
      if (!locked.ok()) {
        err << "tapedeck: " << locked.status().message() << "\n";
        code = kExitCassette;
        continue;
      }
      lock = std::move(*locked);
    }
    if (verb == "ls") {
      Ls(path, *read, files.size() > 1, out, err, &code);
      continue;
    }
    Loaded l;
    if (!Load(path, *read, &l, err, &code)) continue;
    if (verb == "show") {
      if (only >= static_cast<long>(l.cassette.interactions.size())) {
        err << "tapedeck: cassette " << path << ": no interaction " << only << " (it has "
            << l.cassette.interactions.size() << ")\n";
        code = kExitUsage;
        continue;
      }
      Show(path, l, only, out);
    } else if (verb == "cat" && config.GetBool("stable")) {
      out << StableView(l.cassette);
    } else if (verb == "cat") {
      Cat(l, config.GetBool("jsonl"), out);
    } else if (verb == "verify") {
      size_t n = Verify(path, l, out);
      problems += n;
      if (n == 0) {
        out << path << ": ok (" << Count(l.cassette.interactions.size(), "interaction") << ")\n";
      }
    } else {  // redact
      // The record path's own pipeline (cassette/scrub.h): a compressed request body is stored
      // decoded, the rules redact, and what the scanner still finds is masked by the built-in
      // rules. Secrets inside compressed response bytes stay (they replay as they are): verify
      // below reports them.
      size_t places = 0;
      bool changed = false;
      std::vector<std::string> lines;
      for (size_t i = 0; i < l.cassette.interactions.size(); ++i) {
        cassette::ScrubReport scrub =
            cassette::ScrubForDisk(&l.cassette.interactions[i], *redactor, *fallback, i);
        const std::string at = "interaction " + std::to_string(i) + ": ";
        if (scrub.decoded_request_body) lines.push_back(at + "request.body stored decoded");
        for (const std::string& a : scrub.redacted.applied) lines.push_back(at + a);
        for (const std::string& n : scrub.notes) lines.push_back(at + "note: " + n);
        places += scrub.redacted.applied.size();
        changed = changed || scrub.decoded_request_body || !scrub.redacted.empty();
      }
      bool cut = !l.report.warnings.empty();
      if (!changed && !cut) {
        out << path << ": nothing to redact\n";
      } else {
        cassette::WriteOptions w;
        w.compress = IsZstdFile(path);
        Status s = cassette::WriteCassetteAtomic(path, l.cassette, w);
        if (!s.ok()) {
          err << "tapedeck: " << s.message() << "\n";
          code = kExitCassette;
          continue;
        }
        l.report.warnings.clear();  // the cut tail is gone from the rewritten file
        out << path << ": redacted " << Count(places, "place");
        if (cut) out << " (and dropped the cut tail)";
        out << "\n";
      }
      for (const std::string& line : lines) out << "  " << line << "\n";
      size_t left = Verify(path, l, out);
      problems += left;
    }
  }
  if (code != kExitOk) return code;
  if (problems > 0) {
    if (verb == "verify" || verb == "redact") {
      err << "tapedeck: " << problems << " problem" << (problems == 1 ? "" : "s") << " found\n";
    }
    return kExitProblem;
  }
  return kExitOk;
}

}  // namespace td::cli
