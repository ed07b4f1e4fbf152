// Cassettes to and from HAR 1.2. Export writes what a HAR viewer shows in the standard fields
// and, in `_tapedeck` objects, the rest of each cassette line in the cassette's own schema
// (cassette/json_mapping.h), so import reads those parts back with the cassette's own validated
// mapping. Foreign HARs are read field by field, each error naming its JSON path.
#include "cassette/har.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <optional>
#include <utility>

#include "cassette/base/ascii.h"
#include "cassette/codec.h"
#include "cassette/content_encoding.h"
#include "cassette/http_headers.h"
#include "cassette/internal/codec_text.h"
#include "cassette/internal/file_io.h"
#include "cassette/internal/json_line.h"
#include "cassette/stream_builder.h"

namespace td::cassette {
namespace {

using internal::Base64Decode;
using internal::Base64Encode;
using internal::IsValidUtf8;

// ---------------------------------------------------------------------------------------------
// Export

// An object with room for `keys` members, so adding one never copies the others (an
// ordered_json object is a vector whose members copy when it grows: cassette/json_mapping.cc
// has the same helper for the same reason).
Json Object(size_t keys) {
  Json out = Json::object();
  out.get_ref<Json::object_t&>().reserve(keys);
  return out;
}

// `s` as valid UTF-8 for a field a viewer shows: each byte that does not start a valid sequence
// becomes U+FFFD. The exact bytes then go in `_tapedeck`.
std::string Lossy(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  while (!s.empty()) {
    const size_t n = cassette::internal::Utf8ValidPrefix(s);
    out.append(s.substr(0, n));
    if (n == s.size()) break;
    out += "\xEF\xBF\xBD";
    s.remove_prefix(n + 1);
  }
  return out;
}

// "2026-11-21T08:32:34.001Z": HAR viewers read milliseconds (JavaScript's Date); the exact
// microseconds go in `_tapedeck.recorded_at`.
std::string HarTime(Micros wall_us) {
  std::string t = FormatRfc3339Micros(wall_us);  // "...:34.001000Z"
  return t.substr(0, t.size() - 4) + "Z";
}

double Ms(Micros us) { return static_cast<double>(us) / 1000.0; }

// A URL for a viewer: kHarOrigin + the request target (a forward-proxied request's origin goes
// in `_tapedeck.request.origin`, for the reason kHarOrigin gives), with the bytes a URL cannot hold
// as they are percent-encoded. Import reads path and query back from it; when that does not give
// the exact ones (see UrlRoundTrips), `_tapedeck.request` holds them.
std::string HarUrl(const cassette::Request& request) {
  std::string target = request.Target();
  if (target.empty() || target.front() != '/') target.insert(0, "/");
  std::string url(kHarOrigin);
  for (const unsigned char c : target) {
    if (c <= 0x20 || c >= 0x7f ||
        std::string_view("#\"<>\\^`{|}").find(static_cast<char>(c)) != std::string_view::npos) {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      url += buf;
    } else {
      url += static_cast<char>(c);
    }
  }
  return url;
}

// The request target ("/v1/messages?beta=true") of an http or https URL, without its fragment;
// std::nullopt for any other scheme. The origin is dropped: cassettes keep paths only.
std::optional<std::string> TargetOfUrl(std::string_view url) {
  size_t rest = 0;
  if (url.size() >= 7 && EqualsIgnoreCase(url.substr(0, 7), "http://")) {
    rest = 7;
  } else if (url.size() >= 8 && EqualsIgnoreCase(url.substr(0, 8), "https://")) {
    rest = 8;
  } else {
    return std::nullopt;
  }
  url.remove_prefix(rest);
  url = url.substr(0, url.find('#'));
  const size_t start = url.find_first_of("/?");
  if (start == std::string_view::npos) return std::string("/");
  std::string target(url.substr(start));
  if (target.front() == '?') target.insert(0, "/");
  return target;
}

bool UrlRoundTrips(const cassette::Request& request, const std::string& url) {
  std::optional<std::string> target = TargetOfUrl(url);
  if (!target) return false;
  std::string path;
  std::vector<std::pair<std::string, std::string>> query;
  cassette::SplitTarget(*target, &path, &query);
  return path == request.path && query == request.query;
}

bool AllUtf8(const Headers& headers) {
  return std::all_of(headers.begin(), headers.end(), [](const cassette::Header& h) {
    return IsValidUtf8(h.first) && IsValidUtf8(h.second);
  });
}

Json HarHeaders(const Headers& headers) {
  Json out = Json::array();
  for (const auto& [name, value] : headers) {
    Json h = Json::object();
    h["name"] = Lossy(name);
    h["value"] = Lossy(value);
    out.push_back(std::move(h));
  }
  return out;
}

Json HarQuery(const std::vector<std::pair<std::string, std::string>>& query) {
  Json out = Json::array();
  for (const auto& [name, value] : query) {
    Json q = Json::object();
    q["name"] = Lossy(name);
    q["value"] = Lossy(value);
    out.push_back(std::move(q));
  }
  return out;
}

// Puts `bytes` in `object` as "text": the text itself when it is UTF-8, else base64 with
// "encoding": "base64" (HAR's own way for content; tapedeck reads it in postData too).
void PutText(const std::string& bytes, Json* object) {
  if (IsValidUtf8(bytes)) {
    (*object)["text"] = bytes;
  } else {
    (*object)["text"] = Base64Encode(bytes);
    (*object)["encoding"] = "base64";
  }
}

std::string MimeType(const Headers& headers) {
  const std::string* type = cassette::FindHeader(headers, "content-type");
  return type != nullptr ? Lossy(*type) : std::string("x-unknown");
}

// The body a viewer should see: HAR content is decoded (HAR 1.2, "content"), so a body the
// upstream compressed anyway (stored as sent) is shown decoded when it can be.
std::optional<std::string> DecodedForViewer(const std::string& bytes, const Headers& headers) {
  const std::string coding = cassette::DeclaredContentEncoding(headers);
  if (coding.empty()) return std::nullopt;
  Result<std::string> decoded = cassette::DecodeContent(bytes, coding);
  if (!decoded.ok()) return std::nullopt;
  return std::move(*decoded);
}

// The cassette line of the parts of `it` that `_tapedeck` may need, in the cassette's schema.
Json SlimLine(const Interaction& it, bool with_response_body) {
  Interaction slim;
  slim.seq = it.seq;
  slim.recorded_at_us = it.recorded_at_us;
  slim.request.origin = it.request.origin;
  slim.request.method = it.request.method;
  slim.request.path = it.request.path;
  slim.request.query = it.request.query;
  slim.request.headers = it.request.headers;
  slim.response.status = it.response.status;
  slim.response.headers = it.response.headers;
  slim.response.stream = it.response.stream;
  if (with_response_body) slim.response.body = it.response.body;
  slim.timing = it.timing;
  slim.truncated = it.truncated;
  return cassette::InteractionToJson(std::move(slim));
}

Json HarEntry(const Interaction& it) {
  const cassette::Request& rq = it.request;
  const cassette::Response& rs = it.response;

  Json request = Object(9);
  request["method"] = Lossy(rq.method);
  const std::string url = HarUrl(rq);
  request["url"] = url;
  request["httpVersion"] = "HTTP/1.1";
  request["cookies"] = Json::array();
  request["headers"] = HarHeaders(rq.headers);
  request["queryString"] = HarQuery(rq.query);
  if (!rq.body.empty()) {
    Json post = Object(3);
    post["mimeType"] = MimeType(rq.headers);
    PutText(rq.body.bytes, &post);
    request["postData"] = std::move(post);
  }
  request["headersSize"] = -1;
  request["bodySize"] = rq.body.bytes.size();

  std::string concatenated;
  if (rs.stream) concatenated = rs.stream->Concatenated();
  const std::string& wire = rs.stream ? concatenated : rs.body.bytes;
  std::optional<std::string> decoded = DecodedForViewer(wire, rs.headers);
  const bool raw_body_in_extension = decoded.has_value() && !rs.stream;
  Json content = Object(4);
  content["size"] = decoded ? decoded->size() : wire.size();
  content["mimeType"] = MimeType(rs.headers);
  if (!wire.empty()) PutText(decoded ? *decoded : wire, &content);
  Json response = Object(9);
  response["status"] = rs.status;
  std::string_view phrase = ReasonPhrase(rs.status);
  response["statusText"] = phrase == "Unknown" ? std::string_view() : phrase;
  response["httpVersion"] = "HTTP/1.1";
  response["cookies"] = Json::array();
  response["headers"] = HarHeaders(rs.headers);
  response["content"] = std::move(content);
  response["redirectURL"] = "";
  response["headersSize"] = -1;
  response["bodySize"] = wire.size();

  const Micros wait_us = std::max<Micros>(0, it.timing.headers_us);
  const Micros receive_us = std::max<Micros>(0, it.timing.done_us - wait_us);
  Json timings = Object(7);
  timings["blocked"] = -1;
  timings["dns"] = -1;
  timings["connect"] = -1;
  timings["send"] = 0;
  timings["wait"] = Ms(wait_us);
  timings["receive"] = Ms(receive_us);
  timings["ssl"] = -1;

  // What the fields above cannot hold exactly, in the cassette's own schema.
  Json line = SlimLine(it, raw_body_in_extension);
  Json extension = Object(6);
  extension["seq"] = std::move(line["seq"]);
  extension["recorded_at"] = std::move(line["recorded_at"]);
  Json request_ext = Object(5);
  Json& line_request = line["request"];
  if (line_request.contains("origin")) request_ext["origin"] = std::move(line_request["origin"]);
  if (!IsValidUtf8(rq.method)) request_ext["method"] = std::move(line_request["method"]);
  if (!UrlRoundTrips(rq, url)) {
    request_ext["path"] = std::move(line_request["path"]);
    request_ext["query"] =
        line_request.contains("query") ? std::move(line_request["query"]) : Json::array();
  }
  if (!AllUtf8(rq.headers)) request_ext["headers"] = std::move(line_request["headers"]);
  if (!rq.body.exact) request_ext["body_exact"] = false;
  if (!request_ext.empty()) extension["request"] = std::move(request_ext);
  Json response_ext = Object(3);
  Json& line_response = line["response"];
  if (!AllUtf8(rs.headers)) response_ext["headers"] = std::move(line_response["headers"]);
  if (rs.stream) response_ext["stream"] = std::move(line_response["stream"]);
  if (raw_body_in_extension && line_response.contains("body")) {
    response_ext["body"] = std::move(line_response["body"]);
  }
  if (!response_ext.empty()) extension["response"] = std::move(response_ext);
  extension["timing"] = std::move(line["timing"]);
  if (line.contains("truncated")) extension["truncated"] = std::move(line["truncated"]);

  Json entry = Object(7);
  entry["startedDateTime"] = HarTime(it.recorded_at_us);
  entry["time"] = Ms(wait_us + receive_us);
  entry["request"] = std::move(request);
  entry["response"] = std::move(response);
  entry["cache"] = Json::object();
  entry["timings"] = std::move(timings);
  entry["_tapedeck"] = std::move(extension);
  return entry;
}

// The cassette's header line as a JSON object, the way the cassette file spells it.
Json HeaderObject(const Cassette& cassette) {
  Json header = Json::object();
  header["tapedeck"] = "cassette";
  header["version"] = cassette.version;
  header["created_at"] = FormatRfc3339Micros(cassette.created_at_us);
  if (!cassette.mounts.empty()) {
    Json mounts = Json::array();
    for (const std::string& m : cassette.mounts) mounts.push_back(Lossy(m));
    header["mounts"] = std::move(mounts);
  }
  return header;
}

// Reads a header object with the cassette reader itself, so the HAR's header obeys exactly the
// rules a cassette file's does. `where` names it in errors.
Result<Cassette> ReadHeader(const Json& header, std::string_view where) {
  std::string text;
  try {
    text = header.dump();
  } catch (const Json::exception&) {
    return ParseError(std::string(where) + ": cannot be read as a cassette header");
  }
  text += '\n';
  Result<Cassette> c = cassette::ParseCassette(text, "HAR");
  if (!c.ok()) {
    std::string message = c.status().message();
    for (std::string_view prefix : {"cassette HAR: line 1: ", "cassette HAR: "}) {
      if (message.starts_with(prefix)) {
        message.erase(0, prefix.size());
        break;
      }
    }
    return ParseError(std::string(where) + ": " + message);
  }
  return c;
}

// ---------------------------------------------------------------------------------------------
// Import

std::string At(std::string_view path, std::string_view key) {
  std::string out(path);
  out += '.';
  out += key;
  return out;
}

std::string Index(std::string_view path, size_t i) {
  return std::string(path) + "[" + std::to_string(i) + "]";
}

Status Error(std::string_view path, std::string_view message) {
  return ParseError(std::string(path) + ": " + std::string(message));
}

const Json* Find(const Json& object, std::string_view key) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

Status RequireString(const Json& object, std::string_view key, std::string_view path,
                     std::string* out) {
  const Json* v = Find(object, key);
  if (v == nullptr) return Error(path, "missing \"" + std::string(key) + "\"");
  if (!v->is_string()) return Error(At(path, key), "expected a string");
  *out = v->get_ref<const std::string&>();
  return Status::Ok();
}

// HAR's name/value objects, in order (absent: none).
Status ReadNameValues(const Json& object, std::string_view key, std::string_view path,
                      Headers* out) {
  out->clear();
  const Json* list = Find(object, key);
  if (list == nullptr) return Status::Ok();
  const std::string list_path = At(path, key);
  if (!list->is_array()) return Error(list_path, "expected an array of {\"name\", \"value\"}");
  for (size_t i = 0; i < list->size(); ++i) {
    const Json& item = (*list)[i];
    const std::string at = Index(list_path, i);
    if (!item.is_object()) return Error(at, "expected an object with \"name\" and \"value\"");
    cassette::Header h;
    TD_RETURN_IF_ERROR(RequireString(item, "name", at, &h.first));
    TD_RETURN_IF_ERROR(RequireString(item, "value", at, &h.second));
    out->push_back(std::move(h));
  }
  return Status::Ok();
}

// The bytes of a content or postData object: "text", base64-decoded when "encoding" says so.
Status ReadText(const Json& object, std::string_view path, std::string* out) {
  out->clear();
  const Json* text = Find(object, "text");
  if (text == nullptr) return Status::Ok();
  if (!text->is_string()) return Error(At(path, "text"), "expected a string");
  const Json* encoding = Find(object, "encoding");
  if (encoding == nullptr ||
      (encoding->is_string() && encoding->get_ref<const std::string&>() == "")) {
    *out = text->get_ref<const std::string&>();
    return Status::Ok();
  }
  if (!encoding->is_string() || encoding->get_ref<const std::string&>() != "base64") {
    return Error(At(path, "encoding"), "expected \"base64\" (the only encoding HAR names)");
  }
  size_t bad = 0;
  std::optional<std::string> bytes = Base64Decode(text->get_ref<const std::string&>(), &bad);
  if (!bytes) return Error(At(path, "text"), "invalid base64 at offset " + std::to_string(bad));
  *out = std::move(*bytes);
  return Status::Ok();
}

// A request body from postData: its text, or (form posts written with params only) the params
// joined as a form.
Status ReadPostData(const Json& request, std::string_view path, std::string* out) {
  out->clear();
  const Json* post = Find(request, "postData");
  if (post == nullptr) return Status::Ok();
  const std::string at = At(path, "postData");
  if (!post->is_object()) return Error(at, "expected an object");
  if (Find(*post, "text") != nullptr) return ReadText(*post, at, out);
  Headers params;
  TD_RETURN_IF_ERROR(ReadNameValues(*post, "params", at, &params));
  for (size_t i = 0; i < params.size(); ++i) {
    if (i > 0) *out += '&';
    *out += params[i].first + "=" + params[i].second;
  }
  return Status::Ok();
}

// "2026-11-21T08:32:34.001Z" or with an offset ("...34.001+01:00", as Firefox writes).
std::optional<Micros> ParseHarTime(std::string_view s) {
  if (!s.empty() && s.back() == 'Z') return cassette::internal::ParseRfc3339Micros(s);
  if (s.size() < 7) return std::nullopt;
  const std::string_view offset = s.substr(s.size() - 6);
  if ((offset[0] != '+' && offset[0] != '-') || offset[3] != ':' || !IsDigit(offset[1]) ||
      !IsDigit(offset[2]) || !IsDigit(offset[4]) || !IsDigit(offset[5])) {
    return std::nullopt;
  }
  const int hours = (offset[1] - '0') * 10 + (offset[2] - '0');
  const int minutes = (offset[4] - '0') * 10 + (offset[5] - '0');
  if (hours > 23 || minutes > 59) return std::nullopt;
  std::string utc(s.substr(0, s.size() - 6));
  utc += 'Z';
  std::optional<Micros> local = cassette::internal::ParseRfc3339Micros(utc);
  if (!local) return std::nullopt;
  const Micros shift = (static_cast<Micros>(hours) * 60 + minutes) * 60 * 1000000;
  return offset[0] == '+' ? *local - shift : *local + shift;
}

// HAR milliseconds (-1: not applicable) to microseconds, within what a cassette holds.
Micros MsToMicros(const Json* ms) {
  if (ms == nullptr || !ms->is_number()) return 0;
  const double v = ms->get<double>();
  if (!(v > 0)) return 0;
  constexpr double kMaxMs = 1e12;  // 31 years
  return static_cast<Micros>(std::llround(std::min(v, kMaxMs) * 1000.0));
}

bool IsEventStream(std::string_view type) {
  constexpr std::string_view kSse = "text/event-stream";
  return type.size() >= kSse.size() && EqualsIgnoreCase(type.substr(0, kSse.size()), kSse);
}

// Notes quote nothing from the HAR that could be a secret: a URL's scheme only when it looks
// like one ("a data: URL"), an error only when it is a browser's error code.
std::string SchemeOf(std::string_view url) {
  const size_t colon = url.find(':');
  const std::string_view scheme = url.substr(0, colon);
  const bool plausible =
      colon != std::string_view::npos && !scheme.empty() && scheme.size() <= 24 &&
      std::all_of(scheme.begin(), scheme.end(),
                  [](char c) { return IsAlnum(c) || c == '+' || c == '-' || c == '.'; });
  return plausible ? "a " + std::string(scheme) + ":" : std::string("an unknown");
}

bool IsBrowserErrorCode(std::string_view error) {
  for (std::string_view prefix : {"net::ERR_", "NS_ERROR_"}) {
    if (!error.starts_with(prefix)) continue;
    const std::string_view code = error.substr(prefix.size());
    return !code.empty() && code.size() <= 64 && std::all_of(code.begin(), code.end(), [](char c) {
      return IsUpper(c) || IsDigit(c) || c == '_';
    });
  }
  return false;
}

// Headers as a recording stores them: no HTTP/2 pseudo-headers (Chrome lists ":authority"),
// no hop-by-hop fields.
Headers RecordedHeaders(const Headers& headers) {
  Headers out;
  for (const cassette::Header& h : headers) {
    if (!h.first.empty() && h.first.front() == ':') continue;
    out.push_back(h);
  }
  return cassette::EndToEndHeaders(out);
}

// The `_tapedeck` object of an entry, read with the cassette's own mapping: a partial
// interaction line. `keys` says which parts it holds; missing required keys get placeholders
// that the caller replaces with the HAR's own fields.
struct Extension {
  Interaction interaction;
  bool body_exact = true;
  bool has(std::string_view key) const {
    return std::find(keys.begin(), keys.end(), key) != keys.end();
  }
  std::vector<std::string> keys;  // "seq", "request.path", "response.stream", ...
};

Result<Extension> ReadExtension(const Json& extension, std::string_view path) {
  if (!extension.is_object()) return Error(path, "expected an object");
  Extension out;
  Json line = extension;
  for (const auto& item : line.items()) out.keys.push_back(item.key());
  if (!line.contains("seq")) line["seq"] = std::uint64_t{0};
  for (const char* side : {"request", "response"}) {
    if (!line.contains(side)) line[side] = Json::object();
    Json& part = line[side];
    if (!part.is_object()) return Error(At(path, side), "expected an object");
    for (const auto& item : part.items()) out.keys.push_back(std::string(side) + "." + item.key());
  }
  Json& request = line["request"];
  if (auto it = request.find("body_exact"); it != request.end()) {
    if (!it->is_boolean()) return Error(At(path, "request.body_exact"), "expected true or false");
    out.body_exact = it->get<bool>();
    request.erase(it);
  }
  if (!request.contains("method")) request["method"] = "GET";
  if (!request.contains("path")) request["path"] = "/";
  Json& response = line["response"];
  if (!response.contains("status")) response["status"] = 0;
  Result<Interaction> parsed = cassette::InteractionFromJson(std::move(line));
  if (!parsed.ok()) return Error(path, parsed.status().message());
  out.interaction = std::move(*parsed);
  return out;
}

// One entry; returns false in `*kept` (with a note) for an entry that is not an HTTP exchange a
// cassette can hold.
Status ReadEntry(const Json& entry, size_t index, std::uint64_t seq, Interaction* out, bool* kept,
                 std::vector<std::string>* notes) {
  const std::string path = Index("entries", index);
  *kept = true;
  if (!entry.is_object()) return Error(path, "expected an object");
  const Json* request = Find(entry, "request");
  if (request == nullptr) return Error(path, "missing \"request\"");
  if (!request->is_object()) return Error(At(path, "request"), "expected an object");
  const Json* response = Find(entry, "response");
  if (response == nullptr) return Error(path, "missing \"response\"");
  if (!response->is_object()) return Error(At(path, "response"), "expected an object");
  const std::string rq_path = At(path, "request");
  const std::string rs_path = At(path, "response");

  Extension ext;
  const bool ours = Find(entry, "_tapedeck") != nullptr;
  if (ours) {
    Result<Extension> read = ReadExtension(*Find(entry, "_tapedeck"), At(path, "_tapedeck"));
    if (!read.ok()) return read.status();
    ext = std::move(*read);
  }
  Interaction& it = *out;
  it = Interaction{};
  const Interaction& x = ext.interaction;

  // The request.
  if (ext.has("request.method")) {
    it.request.method = x.request.method;
  } else {
    TD_RETURN_IF_ERROR(RequireString(*request, "method", rq_path, &it.request.method));
  }
  if (!ext.has("request.path") || !ext.has("request.query")) {
    std::string url;
    TD_RETURN_IF_ERROR(RequireString(*request, "url", rq_path, &url));
    std::optional<std::string> target = TargetOfUrl(url);
    if (!target) {
      *kept = false;
      notes->push_back(path + ": " + SchemeOf(url) + " URL, not an HTTP request; skipped");
      return Status::Ok();
    }
    cassette::SplitTarget(*target, &it.request.path, &it.request.query);
  }
  if (ext.has("request.origin")) it.request.origin = x.request.origin;
  if (ext.has("request.path")) it.request.path = x.request.path;
  if (ext.has("request.query")) it.request.query = x.request.query;
  if (ext.has("request.headers")) {
    it.request.headers = x.request.headers;
  } else {
    TD_RETURN_IF_ERROR(ReadNameValues(*request, "headers", rq_path, &it.request.headers));
    if (!ours) it.request.headers = RecordedHeaders(it.request.headers);
  }
  if (ext.has("request.body")) {
    it.request.body = x.request.body;
  } else {
    TD_RETURN_IF_ERROR(ReadPostData(*request, rq_path, &it.request.body.bytes));
  }
  if (!ext.body_exact) it.request.body.exact = false;

  // The response.
  if (ext.has("response.status")) {
    it.response.status = x.response.status;
  } else {
    const Json* status = Find(*response, "status");
    if (status == nullptr) return Error(rs_path, "missing \"status\"");
    if (!status->is_number_integer() || status->get<std::int64_t>() < 0 ||
        status->get<std::int64_t>() > 999) {
      return Error(At(rs_path, "status"), "expected a status code 0..999");
    }
    it.response.status = static_cast<int>(status->get<std::int64_t>());
  }
  if (it.response.status == 0 && !ours) {
    *kept = false;
    std::string why = "the browser got no response";
    const Json* error = Find(*response, "_error");  // Chrome's place for it
    if (error == nullptr || !error->is_string()) error = Find(entry, "_error");
    if (error != nullptr && error->is_string() &&
        IsBrowserErrorCode(error->get_ref<const std::string&>())) {
      why += " (" + error->get_ref<const std::string&>() + ")";
    }
    notes->push_back(path + ": status 0: " + why + "; skipped");
    return Status::Ok();
  }
  if (ext.has("response.headers")) {
    it.response.headers = x.response.headers;
  } else {
    TD_RETURN_IF_ERROR(ReadNameValues(*response, "headers", rs_path, &it.response.headers));
    if (!ours) {
      it.response.headers = RecordedHeaders(it.response.headers);
      // HAR content is decoded; the header would make a client decode it again.
      const bool encoded = !cassette::DeclaredContentEncoding(it.response.headers).empty();
      if (cassette::RemoveHeader(&it.response.headers, "content-encoding") > 0 && encoded) {
        notes->push_back(path + ": dropped the response's content-encoding header (HAR content " +
                         "is stored decoded)");
      }
    }
  }
  std::string content_bytes;
  bool has_text = false;
  std::string mime;
  if (const Json* content = Find(*response, "content")) {
    const std::string at = At(rs_path, "content");
    if (!content->is_object()) return Error(at, "expected an object");
    TD_RETURN_IF_ERROR(ReadText(*content, at, &content_bytes));
    has_text = Find(*content, "text") != nullptr;
    if (const Json* m = Find(*content, "mimeType"); m != nullptr && m->is_string()) {
      mime = m->get_ref<const std::string&>();
    }
    if (const Json* size = Find(*content, "size");
        !has_text && !ours && size != nullptr && size->is_number() && size->get<double>() > 0) {
      notes->push_back(path + ": response.content has no text (the HAR was saved without " +
                       "bodies); imported with an empty body");
    }
  }

  // Times.
  if (ext.has("timing")) {
    it.timing = x.timing;
  } else if (const Json* timings = Find(entry, "timings"); timings != nullptr) {
    if (!timings->is_object()) return Error(At(path, "timings"), "expected an object");
    it.timing.headers_us = MsToMicros(Find(*timings, "wait"));
    it.timing.done_us = it.timing.headers_us + MsToMicros(Find(*timings, "receive"));
  }
  if (ext.has("recorded_at")) {
    it.recorded_at_us = x.recorded_at_us;
  } else if (const Json* started = Find(entry, "startedDateTime"); started != nullptr) {
    std::optional<Micros> t;
    if (started->is_string()) t = ParseHarTime(started->get_ref<const std::string&>());
    if (!t) {
      return Error(At(path, "startedDateTime"),
                   "expected an ISO 8601 time like \"2026-11-21T08:32:34.001Z\"");
    }
    it.recorded_at_us = *t;
  }
  if (ext.has("truncated")) it.truncated = x.truncated;

  // The body.
  const std::string* type_header = cassette::FindHeader(it.response.headers, "content-type");
  const std::string_view type = type_header != nullptr ? *type_header : std::string_view();
  if (ext.has("response.stream")) {
    it.response.stream = x.response.stream;
    if (has_text && cassette::DeclaredContentEncoding(it.response.headers).empty() &&
        content_bytes != it.response.stream->Concatenated()) {
      return Error(At(rs_path, "content.text"),
                   "differs from the events in _tapedeck.response.stream (edited?): edit the "
                   "events, or delete _tapedeck.response.stream to import the text as one body");
    }
  } else if (ext.has("response.body")) {
    it.response.body = x.response.body;
  } else if (!ours && !content_bytes.empty() && (IsEventStream(mime) || IsEventStream(type))) {
    // A browser's SSE response: one stream of events, all arrived when the body had.
    cassette::StreamBuilder builder(cassette::StreamKind::kSse);
    builder.AddChunk(content_bytes, it.timing.done_us);
    bool incomplete = false;
    it.response.stream = builder.Finish(&incomplete);
    if (incomplete) {
      notes->push_back(path + ": the event stream ends inside an event; kept as the last event");
    }
  } else {
    it.response.body.bytes = std::move(content_bytes);
  }
  it.seq = ext.has("seq") ? x.seq : seq;
  return Status::Ok();
}

}  // namespace

Result<Json> CassetteToHar(const Cassette& cassette, std::string_view creator_version) {
  Json header = HeaderObject(cassette);
  if (Result<Cassette> check = ReadHeader(header, "cassette header"); !check.ok()) {
    return InvalidArgumentError(check.status().message());
  }
  Json entries = Json::array();
  for (const Interaction& it : cassette.interactions) entries.push_back(HarEntry(it));
  Json creator = Json::object();
  creator["name"] = "tapedeck";
  creator["version"] = creator_version;
  Json extension = Json::object();
  extension["version"] = kHarExtensionVersion;
  extension["header"] = std::move(header);
  Json log = Object(5);
  log["version"] = "1.2";
  log["creator"] = std::move(creator);
  log["pages"] = Json::array();
  log["entries"] = std::move(entries);
  log["_tapedeck"] = std::move(extension);
  Json har = Json::object();
  har["log"] = std::move(log);
  return har;
}

Result<HarImport> HarToCassette(const Json& har) {
  const Json* log = Find(har, "log");
  const Json* entries = log != nullptr ? Find(*log, "entries") : nullptr;
  if (entries == nullptr || !entries->is_array()) {
    return ParseError("not a HAR (no log.entries array)");
  }
  HarImport out;
  Cassette& c = out.cassette;
  const Json* extension = Find(*log, "_tapedeck");
  if (extension != nullptr) {
    if (!extension->is_object()) return Error("log._tapedeck", "expected an object");
    const Json* version = Find(*extension, "version");
    if (version == nullptr || !version->is_number_integer()) {
      return Error("log._tapedeck", "missing \"version\" (an integer)");
    }
    if (version->get<std::int64_t>() != kHarExtensionVersion) {
      return Error("log._tapedeck.version", version->get<std::int64_t>() > kHarExtensionVersion
                                                ? version->dump() +
                                                      " is newer than this tapedeck reads (" +
                                                      std::to_string(kHarExtensionVersion) + ")"
                                                : "unknown version " + version->dump());
    }
    const Json* header = Find(*extension, "header");
    if (header == nullptr) return Error("log._tapedeck", "missing \"header\"");
    if (!header->is_object()) return Error("log._tapedeck.header", "expected an object");
    Result<Cassette> read = ReadHeader(*header, "log._tapedeck.header");
    if (!read.ok()) return read.status();
    c.version = read->version;
    c.created_at_us = read->created_at_us;
    c.mounts = std::move(read->mounts);
  }
  for (size_t i = 0; i < entries->size(); ++i) {
    Interaction it;
    bool kept = true;
    TD_RETURN_IF_ERROR(ReadEntry((*entries)[i], i, c.interactions.size(), &it, &kept, &out.notes));
    if (!kept) continue;
    out.entries.push_back(i);
    c.interactions.push_back(std::move(it));
  }
  if (extension == nullptr && !c.interactions.empty()) {
    c.created_at_us = std::min_element(c.interactions.begin(), c.interactions.end(),
                                       [](const Interaction& a, const Interaction& b) {
                                         return a.recorded_at_us < b.recorded_at_us;
                                       })
                          ->recorded_at_us;
  }
  return out;
}

Result<Json> ParseHarText(std::string_view text, std::uint64_t max_tree_bytes) {
  Json out;
  std::string why;
  bool too_big = false;
  constexpr size_t kMaxDepth =
      cassette::internal::kMaxJsonDepth + cassette::internal::kLineDepthSlack;
  if (cassette::internal::ParseJsonLine(text, kMaxDepth, &out, &why, max_tree_bytes, &too_big)) {
    return out;
  }
  // "invalid JSON at column N" counts bytes of the whole text: turn it into a line and column.
  constexpr std::string_view kAtColumn = "invalid JSON at column ";
  if (why.starts_with(kAtColumn)) {
    size_t offset = 0;
    const char* begin = why.data() + kAtColumn.size();
    if (std::from_chars(begin, why.data() + why.size(), offset).ec == std::errc() && offset > 0) {
      const std::string_view before = text.substr(0, std::min(offset - 1, text.size()));
      const size_t line = 1 + static_cast<size_t>(std::count(before.begin(), before.end(), '\n'));
      const size_t last_newline = before.rfind('\n');
      const size_t column =
          last_newline == std::string_view::npos ? offset : before.size() - last_newline;
      return ParseError("line " + std::to_string(line) + ", column " + std::to_string(column) +
                        ": invalid JSON");
    }
  }
  if (too_big) why += " (2 x --max-line-bytes); refusing to read it";
  return ParseError(why);
}

namespace {

// The whole file, at most `max_bytes` of it (checked before reading and while reading, for a
// file that grows or is a pipe).
Result<std::string> ReadBounded(const std::string& path, std::uint64_t max_bytes,
                                const std::string& where) {
  Result<UniqueFd> fd = internal::OpenForReading(path, max_bytes, where);
  if (!fd.ok()) {
    if (fd.status().code() != StatusCode::kParse) return fd.status();
    return ParseError(fd.status().message() + " (--max-line-bytes)");
  }
  constexpr size_t kChunk = 128 << 10;
  auto buffer = std::make_unique<char[]>(kChunk);
  std::string text;
  for (;;) {
    Result<size_t> n = internal::ReadSome(fd->get(), buffer.get(), kChunk, where);
    if (!n.ok()) return n.status();
    if (*n == 0) break;
    if (text.size() + *n > max_bytes) {
      return ParseError(where + ": file is larger than " + internal::FormatSize(max_bytes) +
                        "; refusing to read it (--max-line-bytes)");
    }
    text.append(buffer.get(), *n);
  }
  return text;
}

}  // namespace

Result<Json> ReadHarFile(const std::string& path, std::uint64_t max_bytes) {
  const std::string where = "har " + path;
  Result<std::string> text = ReadBounded(path, max_bytes, where);
  if (!text.ok()) return text.status();
  Result<Json> har = ParseHarText(*text, 2 * max_bytes);
  if (!har.ok()) return har.status().WithContext(where);
  return har;
}

Status WriteHarFileAtomic(const std::string& path, const Json& har) {
  const std::string where = "har " + path;
  std::string text;
  try {
    text = har.dump(2);
  } catch (const Json::exception& e) {
    // Every string CassetteToHar writes is valid UTF-8; this is a last line of defence.
    return ParseError(where + ": cannot write: " + e.what());
  }
  text += '\n';
  return internal::ReplaceFileAtomic(path, text, where);
}

}  // namespace td::cassette
