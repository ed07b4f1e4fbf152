// The cassette format: the header line, one interaction per JSON line, migrations, read back
// tolerantly (a cut tail is a warning) and strictly (anything else is an error naming the file
// and line), and whole-file rewrites. zstd is internal/zstd_stream, files are internal/file_io,
// appends are cassette_writer. Format: docs/cassette-format.md.
#include "cassette/codec.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "cassette/base/clock.h"
#include "cassette/base/log.h"
#include "cassette/internal/codec_internal.h"
#include "cassette/internal/codec_text.h"
#include "cassette/internal/file_io.h"
#include "cassette/internal/zstd_handles.h"
#include "cassette/internal/zstd_stream.h"
#include "cassette/json_mapping.h"

namespace td::cassette {
namespace {

using internal::CassetteWhere;

bool IsBlank(std::string_view line) {
  return std::all_of(line.begin(), line.end(),
                     [](char c) { return c == ' ' || c == '\t' || c == '\r'; });
}

// Parses one line; on failure `*why` says what is wrong with it.
bool ParseLine(std::string_view line, Json* out, std::string* why) {
  if (internal::JsonNestingDepth(line) > internal::kMaxJsonDepth + internal::kLineDepthSlack) {
    *why = "JSON nested deeper than " +
           std::to_string(internal::kMaxJsonDepth + internal::kLineDepthSlack) + " levels";
    return false;
  }
  try {
    *out = Json::parse(line.data(), line.data() + line.size());
    return true;
  } catch (const Json::parse_error& e) {
    *why = "invalid JSON at column " + std::to_string(e.byte);
  } catch (const Json::exception& e) {
    *why = std::string("invalid JSON: ") + e.what();
  }
  return false;
}

bool IsHeader(const Json& json) {
  if (!json.is_object()) return false;
  auto it = json.find("tapedeck");
  return it != json.end() && it->is_string() && it->get_ref<const std::string&>() == "cassette";
}

Status NotACassette(std::string_view where) {
  return ParseError(std::string(where) +
                    ": not a tapedeck cassette (first line is not a tapedeck header)");
}

// Validates the header line (line `line_no`) and returns its version and creation time.
Status ReadHeader(Json* header, std::string_view where, size_t line_no, int* version,
                  Micros* created_at_us) {
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
  *version = static_cast<int>(n);
  TD_RETURN_IF_ERROR(internal::MigrateLine(*version, header, /*is_header=*/true).WithContext(at));
  std::string unknown;
  for (const auto& item : header->items()) {
    const std::string& key = item.key();
    if (key == "tapedeck" || key == "version" || key == "created_at" || key.starts_with("x-") ||
        key.starts_with("_")) {
      continue;
    }
    unknown += unknown.empty() ? "\"" : ", \"";
    unknown += key + "\"";
  }
  if (!unknown.empty()) {
    return ParseError(at + ": unknown header key " + unknown +
                      " (known: tapedeck, version, created_at; keys starting with \"x-\" or \"_\" "
                      "are free for notes)");
  }
  *created_at_us = 0;
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
    *created_at_us = *t;
  }
  return Status::Ok();
}

}  // namespace

// -------------------------------------------------------------------------------------------------
// internal

namespace internal {

std::string HeaderLine(Micros created_at_us) {
  Json header = Json::object();
  header["tapedeck"] = "cassette";
  header["version"] = kCassetteVersion;
  header["created_at"] = FormatRfc3339Micros(created_at_us);
  return header.dump();
}

bool StartsWithCassetteHeader(std::string_view bytes) {
  std::string text;
  if (HasZstdMagic(bytes)) {
    ZstdDCtxPtr dctx(ZSTD_createDCtx());
    if (!dctx) return false;
    ZSTD_inBuffer input{bytes.data(), bytes.size(), 0};
    char buf[4096];
    while (text.find('\n') == std::string::npos && text.size() < kSniffBytes) {
      ZSTD_outBuffer output{buf, sizeof buf, 0};
      const size_t before = input.pos;
      const size_t rc = ZSTD_decompressStream(dctx.get(), &output, &input);
      if (ZSTD_isError(rc)) return false;
      text.append(buf, output.pos);
      if (output.pos == 0 && input.pos == before) break;
    }
  } else {
    text.assign(bytes.substr(0, std::min(bytes.size(), kSniffBytes)));
  }
  const size_t nl = text.find('\n');
  const std::string_view first = std::string_view(text).substr(0, nl);
  Json header = Json::parse(first.data(), first.data() + first.size(), nullptr,
                            /*allow_exceptions=*/false);
  return !header.is_discarded() && IsHeader(header);
}

Result<ParsedFile> ParseCassetteFile(std::string_view bytes, std::string_view name,
                                     ReadReport* report, std::uint64_t max_bytes) {
  const std::string where = CassetteWhere(name);
  ParsedFile result;
  std::string storage;
  std::string_view text = bytes;
  bool frame_complete = true;
  if (HasZstdMagic(bytes)) {
    result.compressed = true;
    Result<Decompressed> d = DecompressAll(bytes, name, max_bytes);
    if (!d.ok()) return d.status();
    storage = std::move(d->text);
    frame_complete = d->complete;
    text = storage;
  } else if (bytes.size() > max_bytes) {
    return ParseError(where + ": larger than " + FormatSize(max_bytes) + "; refusing to read it");
  }
  if (std::all_of(text.begin(), text.end(),
                  [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; })) {
    if (text.empty() && !frame_complete) {
      return ParseError(where +
                        ": the recording was cut before its header was written; "
                        "not a tapedeck cassette");
    }
    return ParseError(where + ": empty file (not a tapedeck cassette)");
  }

  bool header_seen = false;
  int version = kCassetteVersion;
  size_t line_no = 0;
  size_t last_line_no = 0;
  bool line_cut = false;
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t nl = text.find('\n', pos);
    const bool has_newline = nl != std::string_view::npos;
    const size_t end = has_newline ? nl : text.size();
    const std::string_view line = text.substr(pos, end - pos);
    pos = has_newline ? nl + 1 : text.size();
    ++line_no;
    if (IsBlank(line)) continue;
    last_line_no = line_no;
    const std::string at = where + ": line " + std::to_string(line_no);

    Json json;
    std::string why;
    if (!ParseLine(line, &json, &why)) {
      if (!header_seen) return NotACassette(where);
      if (!has_newline) {
        // Only a crash leaves a last line without its '\n' that is not whole JSON.
        line_cut = true;
        if (report != nullptr) {
          report->warnings.push_back(at + " is incomplete (the recording was cut); kept the " +
                                     std::to_string(result.cassette.interactions.size()) +
                                     " interactions before it");
        }
        break;
      }
      return ParseError(at + ": " + why);
    }
    if (!header_seen) {
      if (!IsHeader(json)) return NotACassette(where);
      TD_RETURN_IF_ERROR(
          ReadHeader(&json, where, line_no, &version, &result.cassette.created_at_us));
      result.cassette.version = version;
      header_seen = true;
      continue;
    }
    TD_RETURN_IF_ERROR(internal::MigrateLine(version, &json, /*is_header=*/false).WithContext(at));
    Result<Interaction> interaction = InteractionFromJson(json);
    if (!interaction.ok()) return interaction.status().WithContext(at);
    result.cassette.interactions.push_back(std::move(*interaction));
  }
  if (!header_seen) return NotACassette(where);
  if (!frame_complete && !line_cut && report != nullptr) {
    report->warnings.push_back(
        where + ": the zstd frame ends early after line " + std::to_string(last_line_no) +
        " (the recording was cut or is still being written); kept all " +
        std::to_string(result.cassette.interactions.size()) + " interactions");
  }
  result.cut = line_cut || !frame_complete;
  result.missing_final_newline = !line_cut && !text.empty() && text.back() != '\n';
  return result;
}

}  // namespace internal

// -------------------------------------------------------------------------------------------------
// Public API

Result<Cassette> ParseCassette(std::string_view bytes, std::string_view name, ReadReport* report) {
  ReadReport local;
  Result<internal::ParsedFile> parsed =
      internal::ParseCassetteFile(bytes, name, report != nullptr ? report : &local);
  if (report == nullptr) {
    for (const std::string& warning : local.warnings) TD_LOG(kWarn) << warning;
  }
  if (!parsed.ok()) return parsed.status();
  return std::move(parsed->cassette);
}

Result<Cassette> ReadCassette(const std::string& path, ReadReport* report) {
  Result<std::string> bytes = internal::ReadFileBounded(path, internal::kMaxCassetteBytes,
                                                        /*whole=*/true, CassetteWhere(path));
  if (!bytes.ok()) return bytes.status();
  return ParseCassette(*bytes, path, report);
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
  std::string out = internal::HeaderLine(cassette.created_at_us);
  out += '\n';
  for (const Interaction& interaction : cassette.interactions) {
    out += SerializeInteraction(interaction);
    out += '\n';
  }
  return out;
}

Status WriteCassetteAtomic(const std::string& path, const Cassette& cassette,
                           const WriteOptions& options) {
  const std::string where = CassetteWhere(path);
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
