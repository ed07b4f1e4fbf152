// The cassette format: the header line, one interaction per JSON line, migrations, read back
// tolerantly (a cut tail is a warning) and strictly (anything else is an error naming the file
// and line), and whole-file rewrites. zstd is internal/zstd_stream, files are internal/file_io,
// appends are cassette_writer. Format: docs/cassette-format.md.
#include "cassette/codec.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "cassette/base/ascii.h"
#include "cassette/base/clock.h"
#include "cassette/base/log.h"
#include "cassette/internal/codec_internal.h"
#include "cassette/internal/codec_text.h"
#include "cassette/internal/file_io.h"
#include "cassette/internal/interaction_line.h"
#include "cassette/internal/json_line.h"
#include "cassette/internal/zstd_handles.h"
#include "cassette/internal/zstd_stream.h"
#include "cassette/json_mapping.h"

namespace td::cassette {
namespace {

using internal::CassetteWhere;
using internal::FormatSize;
using internal::HasZstdMagic;
using internal::kLineDepthSlack;
using internal::kMaxJsonDepth;
using internal::MigrateLine;
using internal::ParsedFile;
using internal::ZstdStreamDecoder;

bool IsBlank(std::string_view line) {
  return std::all_of(line.begin(), line.end(),
                     [](char c) { return c == ' ' || c == '\t' || c == '\r'; });
}

bool IsHeader(const Json& json) {
  if (!json.is_object()) return false;
  auto it = json.find("tapedeck");
  return it != json.end() && it->is_string() && it->get_ref<const std::string&>() == "cassette";
}

// A line's parsed tree may take this many times the line cap: a line of small values (SSE events,
// header pairs) builds a tree several times its text, and the cap on the text alone would not
// bound "[[],[],...]", which builds ~20 bytes of tree per byte.
constexpr std::uint64_t kTreeBytesPerLineByte = 2;

// The longest first line read while looking for the header: a file that is not a cassette is
// refused after this much of it, whatever ReadOptions::max_line_bytes says.
constexpr std::uint64_t kMaxHeaderLineBytes = std::uint64_t{1} << 20;

// The current line's bytes. It grows with realloc(3), which glibc does for a large block by
// remapping its pages, so growing never holds the line twice (std::string copies on growth,
// briefly doubling a long line). Not copyable; one reader's.
class LineBuffer {
 public:
  LineBuffer() = default;
  ~LineBuffer() { std::free(data_); }
  LineBuffer(const LineBuffer&) = delete;
  LineBuffer& operator=(const LineBuffer&) = delete;

  void Append(std::string_view bytes) {
    if (bytes.empty()) return;
    if (size_ + bytes.size() > capacity_) {
      const size_t capacity = std::max(size_ + bytes.size(), std::max<size_t>(capacity_ * 2, 256));
      void* grown = std::realloc(data_, capacity);
      if (grown == nullptr) throw std::bad_alloc();  // as std::string does
      data_ = static_cast<char*>(grown);
      capacity_ = capacity;
    }
    std::memcpy(data_ + size_, bytes.data(), bytes.size());
    size_ += bytes.size();
  }
  // Empties the buffer; a large one is freed rather than kept for the next line.
  void Clear() {
    size_ = 0;
    if (capacity_ > kKeptCapacity) {
      std::free(std::exchange(data_, nullptr));
      capacity_ = 0;
    }
  }
  std::string_view view() const { return {data_, size_}; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

 private:
  static constexpr size_t kKeptCapacity = 1 << 20;
  char* data_ = nullptr;
  size_t size_ = 0;
  size_t capacity_ = 0;
};

Status NotACassette(std::string_view where) {
  return ParseError(std::string(where) +
                    ": not a tapedeck cassette (first line is not a tapedeck header)");
}

// The header's "recorded_by" object: only the parts that are known, in a fixed order.
Json ProvenanceJson(const Provenance& p) {
  Json j = Json::object();
  j["tapedeck"] = p.tapedeck;
  j["mode"] = p.mode;
  if (p.upstreams.size() == 1 && p.upstreams[0].first.empty()) {
    j["upstream"] = p.upstreams[0].second;
  } else if (!p.upstreams.empty()) {
    Json mounts = Json::object();
    for (const auto& [name, url] : p.upstreams) mounts[name] = url;
    j["upstreams"] = std::move(mounts);
  }
  Json workspace = Json::object();
  for (const auto& [key, value] : {std::pair<const char*, const std::string&>{"cwd", p.cwd},
                                   {"home", p.home},
                                   {"user", p.user},
                                   {"tmp", p.tmp}}) {
    if (!value.empty()) workspace[key] = value;
  }
  if (!workspace.empty()) j["workspace"] = std::move(workspace);
  return j;
}

Result<Provenance> ParseProvenance(const Json& j) {
  if (!j.is_object()) return ParseError("expected an object, not " + std::string(j.type_name()));
  Provenance p;
  auto text = [&](const Json& value, std::string_view key, std::string* out) -> Status {
    if (!value.is_string()) {
      return ParseError(std::string(key) + ": expected a string, not " + value.type_name());
    }
    *out = value.get<std::string>();
    return Status::Ok();
  };
  for (const auto& item : j.items()) {
    const std::string& key = item.key();
    const Json& value = item.value();
    if (key == "tapedeck") {
      TD_RETURN_IF_ERROR(text(value, key, &p.tapedeck));
    } else if (key == "mode") {
      TD_RETURN_IF_ERROR(text(value, key, &p.mode));
    } else if (key == "upstream") {
      std::string url;
      TD_RETURN_IF_ERROR(text(value, key, &url));
      p.upstreams.emplace_back("", std::move(url));
    } else if (key == "upstreams") {
      if (!value.is_object()) return ParseError("upstreams: expected an object NAME: URL");
      for (const auto& mount : value.items()) {
        std::string url;
        TD_RETURN_IF_ERROR(text(mount.value(), "upstreams." + mount.key(), &url));
        p.upstreams.emplace_back(mount.key(), std::move(url));
      }
    } else if (key == "workspace") {
      if (!value.is_object()) return ParseError("workspace: expected an object");
      for (const auto& part : value.items()) {
        const std::string& name = part.key();
        std::string* field = name == "cwd"    ? &p.cwd
                             : name == "home" ? &p.home
                             : name == "user" ? &p.user
                             : name == "tmp"  ? &p.tmp
                                              : nullptr;
        if (field == nullptr) {
          return ParseError("workspace: unknown key \"" + name +
                            "\" (known: cwd, home, user, tmp)");
        }
        TD_RETURN_IF_ERROR(text(part.value(), "workspace." + name, field));
      }
    } else if (!key.starts_with("x-") && !key.starts_with("_")) {
      return ParseError("unknown key \"" + key +
                        "\" (known: tapedeck, mode, upstream, upstreams, workspace)");
    }
  }
  return p;
}

// Validates the header line (line `line_no`) and fills in the cassette's version, creation time
// and mounts.
Status ReadHeader(Json* header, std::string_view where, size_t line_no, Cassette* cassette) {
  const std::string at = std::string(where) + ": line " + std::to_string(line_no);
  auto v = header->find("version");
  if (v == header->end()) return ParseError(at + ": missing \"version\"");
  if (!v->is_number_integer()) return ParseError(at + ": \"version\" must be an integer");
  if (v->is_number_unsigned() ? v->get<std::uint64_t>() > std::uint64_t{kCassetteVersion}
                              : v->get<std::int64_t>() > kCassetteVersion) {
    const std::string number = v->dump();
    return ParseError(std::string(where) + ": version " + number +
                      " is newer than this tapedeck reads (" + std::to_string(kCassetteVersion) +
                      ")");
  }
  const std::int64_t n = v->get<std::int64_t>();
  if (n < internal::kOldestCassetteVersion) {
    return ParseError(at + ": unknown version " + std::to_string(n));
  }
  cassette->version = static_cast<int>(n);
  TD_RETURN_IF_ERROR(
      internal::MigrateLine(cassette->version, header, /*is_header=*/true).WithContext(at));
  std::string unknown;
  for (const auto& item : header->items()) {
    const std::string& key = item.key();
    if (key == "tapedeck" || key == "version" || key == "created_at" || key == "mounts" ||
        key == "recorded_by" || key.starts_with("x-") || key.starts_with("_")) {
      continue;
    }
    unknown += unknown.empty() ? "\"" : ", \"";
    unknown += key + "\"";
  }
  if (!unknown.empty()) {
    return ParseError(
        at + ": unknown header key " + unknown +
        " (known: tapedeck, version, created_at, mounts, recorded_by; keys starting with "
        "\"x-\" or "
        "\"_\" are free for notes)");
  }
  cassette->created_at_us = 0;
  auto created = header->find("created_at");
  if (created != header->end()) {
    std::optional<Micros> t;
    if (created->is_string())
      t = internal::ParseRfc3339Micros(created->get_ref<const std::string&>());
    if (!t) {
      return ParseError(at +
                        ": created_at: expected a UTC time like "
                        "\"2026-11-21T08:32:33.123456Z\"");
    }
    cassette->created_at_us = *t;
  }
  cassette->mounts.clear();
  auto mounts = header->find("mounts");
  if (mounts != header->end()) {
    if (!mounts->is_array()) {
      return ParseError(at + ": \"mounts\" must be an array of mount names, like " +
                        "[\"anthropic\",\"openai\"]");
    }
    std::vector<std::string> names;
    names.reserve(mounts->size());
    for (Json& name : *mounts) {
      if (!name.is_string()) {
        return ParseError(at + ": mounts[" + std::to_string(names.size()) +
                          "]: expected a string (a mount name), not " + name.type_name());
      }
      names.push_back(std::move(name.get_ref<std::string&>()));
    }
    if (std::string problem = internal::MountsProblem(names); !problem.empty()) {
      return ParseError(at + ": " + problem);
    }
    cassette->mounts = std::move(names);
  }
  cassette->recorded_by.reset();
  if (auto by = header->find("recorded_by"); by != header->end()) {
    Result<Provenance> provenance = ParseProvenance(*by);
    if (!provenance.ok()) return provenance.status().WithContext(at + ": recorded_by");
    cassette->recorded_by = std::move(*provenance);
  }
  return Status::Ok();
}

}  // namespace

// -------------------------------------------------------------------------------------------------
// internal

namespace internal {

std::string HeaderLine(Micros created_at_us, const std::vector<std::string>& mounts,
                       const std::optional<Provenance>& recorded_by) {
  Json header = Json::object();
  header["tapedeck"] = "cassette";
  header["version"] = kCassetteVersion;
  header["created_at"] = FormatRfc3339Micros(created_at_us);
  if (!mounts.empty()) header["mounts"] = mounts;
  if (recorded_by) header["recorded_by"] = ProvenanceJson(*recorded_by);
  // A name that MountsProblem refuses may be any bytes: never throw on it.
  return header.dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string MountsProblem(const std::vector<std::string>& mounts) {
  // Where each name was first listed; a hostile header may list ~250k names, so no n^2 scan.
  std::unordered_map<std::string_view, size_t> seen;
  for (size_t i = 0; i < mounts.size(); ++i) {
    const std::string& name = mounts[i];
    const std::string at = "mounts[" + std::to_string(i) + "]: ";
    if (name.size() > kMaxMountNameBytes) {
      return at + "a mount name is at most " + std::to_string(kMaxMountNameBytes) +
             " characters; this one has " + std::to_string(name.size());
    }
    const std::string quoted = Json(name).dump(-1, ' ', false, Json::error_handler_t::replace);
    if (!IsValidMountName(name)) {
      return at + quoted + " is not a valid mount name (" + std::string(kMountNameRule) + ")";
    }
    const auto [first, inserted] = seen.emplace(name, i);
    if (!inserted) {
      return at + quoted + " is listed twice (also mounts[" + std::to_string(first->second) + "])";
    }
  }
  return {};
}

namespace {

// Reads one cassette as its bytes come: detects zstd from the first four bytes, decodes as it
// goes, splits lines, and parses and converts each line before the next, dropping its text. So
// memory is the interactions built so far plus about twice the longest line, and a line longer
// than the cap is refused as soon as it passes it. One reader reads one input, on one thread.
class CassetteReader {
 public:
  // With `visitor` (not owned; outlives the reader), the header and each interaction go to it
  // as they are read instead of into the result.
  CassetteReader(std::string_view name, const ReadOptions& options, std::uint64_t max_bytes,
                 ReadReport* report, bool header_only, const CassetteVisitor* visitor = nullptr)
      : where_(CassetteWhere(name)),
        options_(options),
        max_bytes_(max_bytes),
        report_(report),
        header_only_(header_only),
        visitor_(visitor) {}

  // Takes the next bytes of the file. After done() is true the rest may be left unread.
  Status Feed(std::string_view bytes) {
    raw_bytes_ += bytes.size();
    if (raw_bytes_ > max_bytes_) {
      return ParseError(where_ + ": file is larger than " + FormatSize(max_bytes_) +
                        "; refusing to read it");
    }
    if (!form_known_) {
      // The zstd magic number decides the form; wait for four bytes (a short read, or a tiny
      // file, which Finish() reads as plain text).
      prefix_.append(bytes);
      if (prefix_.size() < 4) return Status::Ok();
      TD_RETURN_IF_ERROR(StartForm());
      const std::string prefix = std::move(prefix_);
      prefix_.clear();
      return FeedKnown(prefix);
    }
    return FeedKnown(bytes);
  }

  bool done() const { return done_ || (decoder_ != nullptr && decoder_->stopped()); }

  // Ends the input: keeps or refuses a cut tail, and says what was read.
  Result<ParsedFile> Finish() {
    if (!form_known_) {
      TD_RETURN_IF_ERROR(StartForm());
      TD_RETURN_IF_ERROR(FeedKnown(prefix_));
    }
    if (done_) return std::move(result_);
    if (!deferred_.ok()) return deferred_;
    const bool zstd_cut = decoder_ != nullptr && !decoder_->complete();
    if (!line_.empty()) TD_RETURN_IF_ERROR(EndLine(/*has_newline=*/false));
    if (!header_seen_) {
      if (zstd_cut && !decoder_->walker().AtBlockBoundary()) {
        return ParseError(where_ + ": the file ends inside " + decoder_->walker().CutPart() +
                          " before any line could be decoded (zstd decodes only whole blocks); "
                          "not a readable cassette");
      }
      if (zstd_cut && decoder_->produced() == 0) {
        return ParseError(where_ +
                          ": the recording was cut before its header was written; "
                          "not a tapedeck cassette");
      }
      return ParseError(where_ + ": empty file (not a tapedeck cassette)");
    }
    if (zstd_cut && !result_.cut) {
      const std::string kept = std::to_string(result_.cassette.interactions.size());
      if (decoder_->walker().AtBlockBoundary()) {
        Warn(where_ + ": the zstd frame ends early after line " + std::to_string(last_line_no_) +
             " (the recording was cut or is still being written); kept all " + kept +
             " interactions");
      } else {
        Warn(where_ + ": the file ends inside " + decoder_->walker().CutPart() +
             ": the recording was cut after " +
             (last_line_no_ == header_line_no_ ? std::string("the header")
                                               : "line " + std::to_string(last_line_no_)) +
             ", with " + kept + (kept == "1" ? " complete interaction" : " complete interactions") +
             "; kept " + (kept == "1" ? "it" : "them"));
      }
    }
    result_.cut = result_.cut || zstd_cut;
    return std::move(result_);
  }

 private:
  Status StartForm() {
    form_known_ = true;
    if (!HasZstdMagic(prefix_)) return Status::Ok();
    result_.compressed = true;
    Result<std::unique_ptr<ZstdStreamDecoder>> decoder =
        ZstdStreamDecoder::Create(where_, max_bytes_);
    if (!decoder.ok()) return decoder.status();
    decoder_ = std::move(*decoder);
    return Status::Ok();
  }

  Status FeedKnown(std::string_view bytes) {
    if (done()) return Status::Ok();
    if (decoder_ == nullptr) return Text(bytes);
    TD_RETURN_IF_ERROR(decoder_->Feed(bytes, [this](std::string_view text) {
      if (!deferred_.ok()) return Status::Ok();  // on to the frame's checksum
      return Text(text);
    }));
    if (decoder_->stopped()) return deferred_;
    return Status::Ok();
  }

  // A bad line after the header in zstd data may be damage that zstd has not seen yet (it
  // checks the content checksum at the frame's end): decode on to the end of the frame without
  // keeping the text, and report zstd's error if it finds one, the line's otherwise.
  Status DeferUntilFrameEnd(Status line_error) {
    if (decoder_ == nullptr || !header_seen_) return line_error;
    deferred_ = std::move(line_error);
    DropLine();
    decoder_->StopAtFrameEnd();
    return Status::Ok();
  }

  // Splits decoded text into lines.
  Status Text(std::string_view text) {
    while (!text.empty() && !done_) {
      const size_t nl = text.find('\n');
      const size_t take = nl == std::string_view::npos ? text.size() : nl;
      const std::uint64_t cap = LineCap();
      if (line_.size() + take > cap) return LineTooLong(cap);
      // A whole line in `text`, the usual case: the fast path reads it where it is, uncopied.
      if (nl != std::string_view::npos && line_.empty() && document_line_no_ == 0) {
        Status status;
        if (TryDirectLine(text.substr(0, nl), &status)) {
          if (!status.ok()) return DeferUntilFrameEnd(std::move(status));
          text.remove_prefix(nl + 1);
          continue;
        }
      }
      line_.Append(text.substr(0, take));
      if (nl == std::string_view::npos) return Status::Ok();
      if (Status status = EndLine(/*has_newline=*/true); !status.ok()) {
        return DeferUntilFrameEnd(std::move(status));
      }
      text.remove_prefix(nl + 1);
    }
    return Status::Ok();
  }

  // Until the header is read, a line is held only as long as a header could be: a file that is
  // not a cassette is refused without reading it all.
  std::uint64_t LineCap() const {
    return header_seen_ ? options_.max_line_bytes
                        : std::min<std::uint64_t>(options_.max_line_bytes, kMaxHeaderLineBytes);
  }

  Status LineTooLong(std::uint64_t cap) {
    if (!header_seen_ && cap < options_.max_line_bytes) return NotACassette(where_);
    return ParseError(where_ + ": line " + std::to_string(line_no_ + 1) + " is longer than " +
                      FormatSize(cap) + " (--max-line-bytes); refusing to read it");
  }

  void Warn(std::string warning) {
    if (report_ != nullptr) report_->warnings.push_back(std::move(warning));
  }

  // Frees the text of a long line now rather than when the next line reuses the buffer.
  void DropLine() { line_.Clear(); }

  // A pretty-printed document, as `cassette cat` prints one and `cassette edit` shows it, opens
  // with a line holding only "{" and ends at a line holding only "}" (no indent): its lines are
  // gathered and read as one, numbered by its first. Returns true while the document goes on.
  // Costs nothing for ordinary JSON Lines, which never hold a line that is only "{".
  Result<bool> GatherDocument(bool has_newline) {
    std::string_view physical = line_.view().substr(physical_start_);
    if (!physical.empty() && physical.back() == '\r') physical.remove_suffix(1);
    if (document_line_no_ == 0) {
      if (!has_newline || TrimSpaceAndTab(physical) != "{") return false;
      document_line_no_ = line_no_;
    } else if (physical == "}") {
      return false;
    } else if (!has_newline) {
      return ParseError(where_ + ": line " + std::to_string(document_line_no_) +
                        ": the JSON document that starts here does not end (a line holding "
                        "only \"}\" ends it)");
    }
    line_.Append("\n");
    physical_start_ = line_.size();
    return true;
  }

  Status EndLine(bool has_newline) {
    const bool fast_tried = std::exchange(fast_path_failed_, false);  // by TryDirectLine
    ++line_no_;
    Result<bool> gathering = GatherDocument(has_newline);
    if (!gathering.ok()) return gathering.status();
    if (*gathering) return Status::Ok();
    const size_t first_line = document_line_no_ != 0 ? document_line_no_ : line_no_;
    document_line_no_ = 0;
    physical_start_ = 0;
    if (IsBlank(line_.view())) {
      if (!has_newline) result_.missing_final_newline = !line_.empty();
      DropLine();
      return Status::Ok();
    }
    if (Status status; !fast_tried && TryFastLine(has_newline, &status)) return status;
    const std::string at = where_ + ": line " + std::to_string(first_line);
    Json json;
    std::string why;
    bool too_big = false;
    if (!internal::ParseJsonLine(line_.view(), kMaxJsonDepth + kLineDepthSlack, &json, &why,
                                 kTreeBytesPerLineByte * LineCap(), &too_big)) {
      if (too_big) {
        return ParseError(at + ": " + why + " (" + std::to_string(kTreeBytesPerLineByte) +
                          " x --max-line-bytes); refusing to read it");
      }
      if (!header_seen_) return NotACassette(where_);
      if (!has_newline) {
        // Only a crash leaves a last line without its '\n' that is not whole JSON.
        result_.cut = true;
        Warn(at + " is incomplete (the recording was cut); kept the " +
             std::to_string(result_.cassette.interactions.size()) + " interactions before it");
        DropLine();
        return Status::Ok();
      }
      return ParseError(at + ": " + why);
    }
    DropLine();  // the tree holds the line now
    last_line_no_ = line_no_;
    if (!has_newline) result_.missing_final_newline = true;
    if (!header_seen_) {
      if (!IsHeader(json)) return NotACassette(where_);
      if (header_only_) {
        header_seen_ = true;
        done_ = true;
        return Status::Ok();
      }
      TD_RETURN_IF_ERROR(ReadHeader(&json, where_, line_no_, &result_.cassette));
      version_ = result_.cassette.version;
      header_seen_ = true;
      header_line_no_ = first_line;
      if (visitor_ != nullptr && visitor_->header) {
        Cassette header = result_.cassette;
        TD_RETURN_IF_ERROR(visitor_->header(std::move(header)));
      }
      return Status::Ok();
    }
    TD_RETURN_IF_ERROR(MigrateLine(version_, &json, /*is_header=*/false).WithContext(at));
    std::vector<std::string> notes;
    Result<Interaction> interaction = InteractionFromJson(std::move(json), &notes);
    if (!interaction.ok()) return interaction.status().WithContext(at);
    if (report_ != nullptr) {
      for (std::string& note : notes) report_->notes.push_back(at + ": " + note);
    }
    return Keep(std::move(*interaction));
  }

  // Whether a line of `size` bytes may take the fast path (internal/interaction_line.h):
  // interaction lines need no migration from this version, and the general path could not
  // refuse it as too big.
  bool FastPathTakes(size_t size) const {
    return header_seen_ && version_ >= internal::kOldestVersionOfCurrentInteractionLines &&
           size <= kTreeBytesPerLineByte * LineCap() / internal::kMaxTreeBytesPerTextByte;
  }

  // The fast path for the line in line_ (ended by a '\n' when `has_newline`). True when it read
  // the line (then it is kept, with what Keep says in *status).
  bool TryFastLine(bool has_newline, Status* status) {
    if (!FastPathTakes(line_.size())) return false;
    if (!internal::DecodeInteractionLine(line_.view(), &decoded_)) return false;
    DropLine();
    last_line_no_ = line_no_;
    if (!has_newline) result_.missing_final_newline = true;
    *status = Keep(std::move(decoded_));
    return true;
  }

  // The fast path for a whole line still in the decoded text (`line`, its '\n' after it). When
  // it does not take the line, the line goes through line_ and EndLine as any other.
  bool TryDirectLine(std::string_view line, Status* status) {
    if (!FastPathTakes(line.size())) return false;
    if (!internal::DecodeInteractionLine(line, &decoded_)) {
      fast_path_failed_ = true;
      return false;
    }
    ++line_no_;
    last_line_no_ = line_no_;
    *status = Keep(std::move(decoded_));
    return true;
  }

  // An interaction read: to the visitor, or into the result.
  Status Keep(Interaction&& interaction) {
    if (visitor_ != nullptr) {
      if (visitor_->interaction) return visitor_->interaction(std::move(interaction));
      return Status::Ok();
    }
    result_.cassette.interactions.push_back(std::move(interaction));
    return Status::Ok();
  }

  const std::string where_;
  const ReadOptions options_;
  const std::uint64_t max_bytes_;
  ReadReport* const report_;
  const bool header_only_;
  const CassetteVisitor* const visitor_;

  bool form_known_ = false;
  std::string prefix_;  // the first bytes, until there are four
  std::unique_ptr<ZstdStreamDecoder> decoder_;
  std::uint64_t raw_bytes_ = 0;
  LineBuffer line_;  // the current line so far, without '\n'
  // What the fast path decodes into, line after line: a visitor that keeps only part of each
  // interaction leaves the rest's strings and vectors to be reused.
  Interaction decoded_;
  bool fast_path_failed_ = false;  // on the line being copied into line_
  size_t line_no_ = 0;
  size_t document_line_no_ = 0;  // the first line of a pretty document being gathered, or 0
  size_t physical_start_ = 0;    // where the current physical line starts in line_
  size_t last_line_no_ = 0;      // the last line that was not blank
  size_t header_line_no_ = 0;
  bool header_seen_ = false;
  int version_ = kCassetteVersion;
  bool done_ = false;
  Status deferred_;  // a bad line, reported unless zstd finds damage before the frame ends
  ParsedFile result_;
};

}  // namespace

Result<ParsedFile> ParseCassetteFile(std::string_view bytes, std::string_view name,
                                     ReadReport* report, const ReadOptions& options,
                                     std::uint64_t max_bytes) {
  if (bytes.size() > max_bytes) {
    return ParseError(CassetteWhere(name) + ": larger than " + FormatSize(max_bytes) +
                      "; refusing to read it");
  }
  CassetteReader reader(name, options, max_bytes, report, /*header_only=*/false);
  TD_RETURN_IF_ERROR(reader.Feed(bytes));
  return reader.Finish();
}

namespace {

// Reads `path` in chunks through a CassetteReader.
Result<ParsedFile> ReadThrough(const std::string& path, ReadReport* report,
                               const ReadOptions& options, bool header_only,
                               const CassetteVisitor* visitor = nullptr) {
  const std::string where = CassetteWhere(path);
  Result<UniqueFd> fd = OpenForReading(path, kMaxCassetteBytes, where);
  if (!fd.ok()) return fd.status();
  CassetteReader reader(path, options, kMaxCassetteBytes, report, header_only, visitor);
  constexpr size_t kChunk = 128 * 1024;
  auto buffer = std::make_unique<char[]>(kChunk);
  while (!reader.done()) {
    Result<size_t> n = ReadSome(fd->get(), buffer.get(), kChunk, where);
    if (!n.ok()) return n.status();
    if (*n == 0) break;
    TD_RETURN_IF_ERROR(reader.Feed(std::string_view(buffer.get(), *n)));
  }
  return reader.Finish();
}

}  // namespace

Result<ParsedFile> ReadCassetteFile(const std::string& path, ReadReport* report,
                                    const ReadOptions& options) {
  return ReadThrough(path, report, options, /*header_only=*/false);
}

Result<ParsedFile> ReadCassetteFile(const std::string& path, ReadReport* report,
                                    const ReadOptions& options, const CassetteVisitor& visitor) {
  return ReadThrough(path, report, options, /*header_only=*/false, &visitor);
}

Result<bool> FileStartsWithCassetteHeader(const std::string& path) {
  ReadReport ignored;
  Result<ParsedFile> header = ReadThrough(path, &ignored, ReadOptions{}, /*header_only=*/true);
  if (header.ok()) return true;
  if (header.status().code() == StatusCode::kIo) return header.status();
  return false;
}

}  // namespace internal

// -------------------------------------------------------------------------------------------------
// Public API

namespace {

// Hands the warnings of a read to `report`, or to the log when there is none.
Result<Cassette> Deliver(Result<internal::ParsedFile> parsed, const ReadReport& local,
                         ReadReport* report) {
  if (report == nullptr) {
    for (const std::string& warning : local.warnings) TD_LOG(kWarn) << warning;
  }
  if (!parsed.ok()) return parsed.status();
  return std::move(parsed->cassette);
}

}  // namespace

Result<Cassette> ParseCassette(std::string_view bytes, std::string_view name,
                               const ReadOptions& options, ReadReport* report) {
  ReadReport local;
  return Deliver(
      internal::ParseCassetteFile(bytes, name, report != nullptr ? report : &local, options), local,
      report);
}

Result<Cassette> ParseCassette(std::string_view bytes, std::string_view name, ReadReport* report) {
  return ParseCassette(bytes, name, ReadOptions{}, report);
}

Result<Cassette> ReadCassette(const std::string& path, const ReadOptions& options,
                              ReadReport* report) {
  ReadReport local;
  return Deliver(internal::ReadCassetteFile(path, report != nullptr ? report : &local, options),
                 local, report);
}

Result<Cassette> ReadCassette(const std::string& path, ReadReport* report) {
  return ReadCassette(path, ReadOptions{}, report);
}

Status StreamCassette(const std::string& path, const ReadOptions& options, ReadReport* report,
                      const CassetteVisitor& visitor) {
  ReadReport local;
  Result<internal::ParsedFile> parsed =
      internal::ReadCassetteFile(path, report != nullptr ? report : &local, options, visitor);
  if (report == nullptr) {
    for (const std::string& warning : local.warnings) TD_LOG(kWarn) << warning;
  }
  return parsed.status();
}

std::string SerializeInteraction(const Interaction& interaction) {
  const Json json = InteractionToJson(interaction);
  try {
    return json.dump();
  } catch (const Json::exception& e) {
    // InteractionToJson base64-encodes every string that is not UTF-8, so this is a bug.
    TD_LOG(kError) << "cassette: interaction " << interaction.seq
                   << " could not be written as JSON (" << e.what()
                   << "); writing it with replacement characters";
    return json.dump(-1, ' ', false, Json::error_handler_t::replace);
  }
}

std::string SerializeCassette(const Cassette& cassette) {
  std::string out =
      internal::HeaderLine(cassette.created_at_us, cassette.mounts, cassette.recorded_by);
  out += '\n';
  for (const Interaction& interaction : cassette.interactions) {
    out += SerializeInteraction(interaction);
    out += '\n';
  }
  return out;
}

std::string SerializeCassettePretty(const Cassette& cassette) {
  std::string out;
  const std::string lines = SerializeCassette(cassette);
  for (size_t start = 0; start < lines.size();) {
    size_t end = lines.find('\n', start);
    if (end == std::string::npos) end = lines.size();
    const Json json = Json::parse(std::string_view(lines).substr(start, end - start), nullptr,
                                  /*allow_exceptions=*/false);
    out += json.dump(2, ' ', false, Json::error_handler_t::replace);
    out += '\n';
    start = end + 1;
  }
  return out;
}

Status WriteCassetteAtomic(const std::string& path, const Cassette& cassette,
                           const WriteOptions& options) {
  const std::string where = CassetteWhere(path);
  if (std::string problem = internal::MountsProblem(cassette.mounts); !problem.empty()) {
    return InvalidArgumentError(where + ": " + problem);
  }
  std::string data = SerializeCassette(cassette);
  if (options.compress) {
    // The same shape CassetteWriter writes: one frame, flushed after every line.
    Result<internal::ZstdCCtxPtr> cctx = internal::MakeCompressor(options.level, where);
    if (!cctx.ok()) return cctx.status();
    std::string compressed;
    std::string_view rest = data;
    while (!rest.empty()) {
      const size_t line_end = rest.find('\n') + 1;  // the text always ends with '\n'
      TD_RETURN_IF_ERROR(internal::CompressInto(cctx->get(), rest.substr(0, line_end), ZSTD_e_flush,
                                                &compressed, where));
      rest.remove_prefix(line_end);
    }
    TD_RETURN_IF_ERROR(internal::CompressInto(cctx->get(), {}, ZSTD_e_end, &compressed, where));
    data = std::move(compressed);
  }
  return internal::ReplaceFileAtomic(path, data, where);
}

}  // namespace td::cassette
