// The model <-> JSON mapping of one cassette line (docs/cassette-format.md). Writing picks the
// most readable form that gives back the exact bytes (JSON, pretty JSON, text, base64); reading
// validates every key and type and names the JSON path of the first problem. Nothing here throws:
// nlohmann calls that can throw sit inside try/catch.
#include "cassette/json_mapping.h"

#include <cstdint>
#include <initializer_list>
#include <limits>
#include <string>
#include <string_view>
#include <utility>

#include "cassette/base/clock.h"
#include "cassette/internal/codec_text.h"

namespace td::cassette {
namespace {

using internal::Base64Decode;
using internal::Base64Encode;
using internal::IsValidUtf8;

// ---------------------------------------------------------------------------------------------
// Writing

// A string the model holds as bytes: a JSON string when it is valid UTF-8 (nlohmann cannot dump
// anything else), else {"base64": "..."}.
Json StringToJson(const std::string& s) {
  if (IsValidUtf8(s)) return Json(s);
  Json j = Json::object();
  j["base64"] = Base64Encode(s);
  return j;
}

Json PairsToJson(const std::vector<std::pair<std::string, std::string>>& pairs) {
  Json out = Json::array();
  for (const auto& [name, value] : pairs) {
    Json pair = Json::array();
    pair.push_back(StringToJson(name));
    pair.push_back(StringToJson(value));
    out.push_back(std::move(pair));
  }
  return out;
}

// Dumps without throwing; false when nlohmann refuses (it should not: parsed input is UTF-8).
bool TryDump(const Json& value, int indent, std::string* out) {
  try {
    *out = value.dump(indent);
    return true;
  } catch (const Json::exception&) {
    return false;
  }
}

// Parses `bytes` as a JSON object or array, without throwing and without deep recursion later.
bool TryParseJsonBody(const std::string& bytes, Json* out) {
  if (bytes.empty() || (bytes.front() != '{' && bytes.front() != '[')) return false;
  if (internal::JsonNestingDepth(bytes) > internal::kMaxJsonDepth) return false;
  Json parsed = Json::parse(bytes, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return false;
  *out = std::move(parsed);
  return true;
}

// An object with room for `keys` members. An ordered_json object is a vector of
// pair<const string, json>, whose move may throw (the key is copied), so when the vector grows
// it copies every member, values included: adding "timing" after "response" would copy every
// recorded event. Objects built here reserve their keys first.
Json Object(size_t keys) {
  Json out = Json::object();
  out.get_ref<Json::object_t&>().reserve(keys);
  return out;
}

// Bodies larger than this are never stored in the JSON form: parsing one into a tree costs
// several times its size in memory (a recording's memory is bounded by --max-body-bytes plus a
// constant, docs/recording.md), and nobody reviews a diff of one that size.
constexpr size_t kMaxJsonFormBytes = 8 << 20;

// The writers below take `const T&` (copying the bytes) or `T&&` (moving them into the JSON
// tree, so a recording's long bodies exist once while being written).
template <class B>
Json BodyToJson(B&& body, bool is_request) {
  Json out = Object(4);
  Json value;
  if (body.bytes.size() <= kMaxJsonFormBytes && TryParseJsonBody(body.bytes, &value)) {
    if (is_request && !body.exact) {
      out["json"] = std::move(value);
      out["exact"] = false;
      return out;
    }
    std::string spelt;
    if (TryDump(value, -1, &spelt) && body.bytes.starts_with(spelt)) {
      const std::string_view rest = std::string_view(body.bytes).substr(spelt.size());
      if (rest.empty() || rest == "\n") {
        out["json"] = std::move(value);
        if (!rest.empty()) out["newline"] = true;
        return out;
      }
    }
    if (TryDump(value, 2, &spelt) && body.bytes.starts_with(spelt)) {
      const std::string_view rest = std::string_view(body.bytes).substr(spelt.size());
      if (rest.empty() || rest == "\n") {
        out["json"] = std::move(value);
        out["layout"] = "pretty";
        if (!rest.empty()) out["newline"] = true;
        return out;
      }
    }
    if (is_request) {
      // Request bodies are only matched (as JSON), never replayed: keep them diffable.
      out["json"] = std::move(value);
      out["exact"] = false;
      return out;
    }
  }
  if (IsValidUtf8(body.bytes)) {
    out["text"] = std::forward<B>(body).bytes;
  } else {
    out["base64"] = Base64Encode(body.bytes);
  }
  return out;
}

template <class E>
Json EventToJson(E&& event) {
  Json out = Object(3);
  out["at_us"] = event.at_us;
  if (IsValidUtf8(event.bytes)) {
    out["data"] = std::forward<E>(event).bytes;
  } else {
    out["data_b64"] = Base64Encode(event.bytes);
  }
  if (!event.splits.empty()) {
    Json splits = Json::array();
    for (const Split& split : event.splits) {
      Json pair = Json::array();
      pair.push_back(static_cast<std::uint64_t>(split.end));
      pair.push_back(split.at_us);
      splits.push_back(std::move(pair));
    }
    out["splits"] = std::move(splits);
  }
  return out;
}

template <class R>
Json RequestToJson(R&& request) {
  Json out = Object(6);
  if (!request.origin.empty()) out["origin"] = StringToJson(request.origin);
  out["method"] = StringToJson(request.method);
  out["path"] = StringToJson(request.path);
  if (!request.query.empty()) out["query"] = PairsToJson(request.query);
  out["headers"] = PairsToJson(request.headers);
  if (!request.body.empty()) {
    out["body"] = BodyToJson(std::forward<R>(request).body, /*is_request=*/true);
  }
  return out;
}

template <class R>
Json ResponseToJson(R&& response) {
  Json out = Object(3);
  out["status"] = response.status;
  out["headers"] = PairsToJson(response.headers);
  if (response.stream) {
    Json stream = Object(2);
    stream["kind"] = response.stream->kind == StreamKind::kSse ? "sse" : "chunks";
    Json events = Json::array();
    for (auto& event : response.stream->events) {
      if constexpr (std::is_const_v<std::remove_reference_t<R>> || std::is_lvalue_reference_v<R>) {
        events.push_back(EventToJson(std::as_const(event)));
      } else {
        events.push_back(EventToJson(std::move(event)));
      }
    }
    stream["events"] = std::move(events);
    out["stream"] = std::move(stream);
  } else if (!response.body.empty()) {
    out["body"] = BodyToJson(std::forward<R>(response).body, /*is_request=*/false);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Reading

std::string Join(std::string_view path, std::string_view key) {
  std::string out(path);
  if (!out.empty()) out += '.';
  out += key;
  return out;
}

std::string Index(std::string_view path, size_t i) {
  std::string out(path);
  out += '[';
  out += std::to_string(i);
  out += ']';
  return out;
}

Status Error(std::string_view path, std::string_view message) {
  std::string m(path);
  if (!m.empty()) m += ": ";
  m += message;
  return ParseError(std::move(m));
}

std::string Quoted(std::string_view key) {
  std::string out = "\"";
  out += key;
  out += '"';
  return out;
}

// Checks `json` is an object whose keys are all in `allowed`, or start with "x-" or "_" (notes
// users may add by hand). Unknown keys are errors so that a typo in a hand edit is loud.
Status CheckObject(const Json& json, std::string_view path,
                   std::initializer_list<std::string_view> allowed) {
  if (!json.is_object()) return Error(path, "expected an object");
  std::string unknown;
  size_t count = 0;
  for (const auto& item : json.items()) {
    const std::string& key = item.key();
    if (key.starts_with("x-") || key.starts_with("_")) continue;
    bool known = false;
    for (std::string_view a : allowed) known = known || key == a;
    if (known) continue;
    if (!unknown.empty()) unknown += ", ";
    unknown += Quoted(key);
    ++count;
  }
  if (count == 0) return Status::Ok();
  std::string expected;
  for (std::string_view a : allowed) {
    if (!expected.empty()) expected += ", ";
    expected += a;
  }
  return Error(path, (count == 1 ? "unknown key " : "unknown keys ") + unknown + " (known: " +
                         expected + "; keys starting with \"x-\" or \"_\" are free for notes)");
}

Json* Find(Json& object, std::string_view key) {
  auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

// A string written by StringToJson: a JSON string, or {"base64": "..."}.
// Moves the string out of `json`.
Status ReadString(Json& json, std::string_view path, std::string* out) {
  if (json.is_string()) {
    *out = std::move(json.get_ref<std::string&>());
    return Status::Ok();
  }
  if (json.is_object()) {
    TD_RETURN_IF_ERROR(CheckObject(json, path, {"base64"}));
    Json* b64 = Find(json, "base64");
    if (b64 == nullptr || !b64->is_string()) {
      return Error(path, "expected a string or {\"base64\": \"...\"}");
    }
    size_t bad = 0;
    std::optional<std::string> bytes = Base64Decode(b64->get_ref<const std::string&>(), &bad);
    if (!bytes)
      return Error(Join(path, "base64"), "invalid base64 at offset " + std::to_string(bad));
    *out = std::move(*bytes);
    return Status::Ok();
  }
  return Error(path, "expected a string");
}

Status ReadRequiredString(Json& object, std::string_view key, std::string_view path,
                          std::string* out) {
  Json* value = Find(object, key);
  if (value == nullptr) return Error(path, "missing " + Quoted(key));
  return ReadString(*value, Join(path, key), out);
}

Status ReadInt64(const Json& json, std::string_view path, std::int64_t* out) {
  if (json.is_number_unsigned()) {
    const auto v = json.get<std::uint64_t>();
    if (v > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      return Error(path, "integer out of range");
    }
    *out = static_cast<std::int64_t>(v);
    return Status::Ok();
  }
  if (json.is_number_integer()) {
    *out = json.get<std::int64_t>();
    return Status::Ok();
  }
  return Error(path, "expected an integer");
}

Status ReadUint64(const Json& json, std::string_view path, std::uint64_t* out) {
  if (json.is_number_unsigned()) {
    *out = json.get<std::uint64_t>();
    return Status::Ok();
  }
  if (json.is_number_integer()) return Error(path, "expected a non-negative integer");
  return Error(path, "expected an integer");
}

Status ReadTime(const Json& json, std::string_view path, Micros* out) {
  if (!json.is_string()) return Error(path, "expected a time string like \"2026-11-21T08:32:33Z\"");
  std::optional<Micros> t = internal::ParseRfc3339Micros(json.get_ref<const std::string&>());
  if (!t) {
    return Error(path, "expected a UTC time like \"2026-11-21T08:32:33.123456Z\", got " +
                           Quoted(json.get_ref<const std::string&>()));
  }
  *out = *t;
  return Status::Ok();
}

Status ReadPairs(Json& json, std::string_view path,
                 std::vector<std::pair<std::string, std::string>>* out) {
  if (!json.is_array()) return Error(path, "expected an array of [name, value] pairs");
  out->clear();
  out->reserve(json.size());
  for (size_t i = 0; i < json.size(); ++i) {
    Json& pair = json[i];
    const std::string at = Index(path, i);
    if (!pair.is_array() || pair.size() != 2) return Error(at, "expected a [name, value] pair");
    std::pair<std::string, std::string> item;
    TD_RETURN_IF_ERROR(ReadString(pair[0], Index(at, 0), &item.first));
    TD_RETURN_IF_ERROR(ReadString(pair[1], Index(at, 1), &item.second));
    out->push_back(std::move(item));
  }
  return Status::Ok();
}

Status ReadBody(Json& json, std::string_view path, bool is_request, Body* out) {
  TD_RETURN_IF_ERROR(
      CheckObject(json, path, {"json", "layout", "newline", "exact", "text", "base64"}));
  Json* value = Find(json, "json");
  Json* text = Find(json, "text");
  Json* b64 = Find(json, "base64");
  const Json* layout = Find(json, "layout");
  const Json* newline = Find(json, "newline");
  const Json* exact = Find(json, "exact");
  if ((value != nullptr) + (text != nullptr) + (b64 != nullptr) != 1) {
    return Error(path, "needs exactly one of \"json\", \"text\" or \"base64\"");
  }
  *out = Body{};
  if (value == nullptr) {
    for (const auto& [key, present] :
         {std::pair{"layout", layout}, std::pair{"newline", newline}, std::pair{"exact", exact}}) {
      if (present != nullptr) return Error(path, Quoted(key) + " applies only to a \"json\" body");
    }
    if (text != nullptr) {
      if (!text->is_string()) return Error(Join(path, "text"), "expected a string");
      out->bytes = std::move(text->get_ref<std::string&>());
      return Status::Ok();
    }
    if (!b64->is_string()) return Error(Join(path, "base64"), "expected a string");
    size_t bad = 0;
    std::optional<std::string> bytes = Base64Decode(b64->get_ref<const std::string&>(), &bad);
    if (!bytes) {
      return Error(Join(path, "base64"), "invalid base64 at offset " + std::to_string(bad));
    }
    *b64 = nullptr;  // free the text before the next copy
    out->bytes = std::move(*bytes);
    return Status::Ok();
  }

  int indent = -1;
  if (layout != nullptr) {
    if (!layout->is_string() || layout->get_ref<const std::string&>() != "pretty") {
      return Error(Join(path, "layout"), "expected \"pretty\" (leave it out for compact JSON)");
    }
    indent = 2;
  }
  bool add_newline = false;
  if (newline != nullptr) {
    if (!newline->is_boolean()) return Error(Join(path, "newline"), "expected true or false");
    add_newline = newline->get<bool>();
  }
  if (exact != nullptr) {
    if (!exact->is_boolean()) return Error(Join(path, "exact"), "expected true or false");
    out->exact = exact->get<bool>();
  }
  if (!out->exact) {
    if (!is_request) {
      return Error(Join(path, "exact"),
                   "false is allowed only in a request body (responses replay byte for byte)");
    }
    if (layout != nullptr || newline != nullptr) {
      return Error(path, "\"layout\" and \"newline\" cannot be used with \"exact\": false");
    }
    // Only what BodyToJson writes this way again, or a rewrite would lose "exact": false.
    if (!value->is_structured()) {
      return Error(Join(path, "json"), "\"exact\": false needs a JSON object or array");
    }
  }
  if (!TryDump(*value, indent, &out->bytes)) {
    return Error(Join(path, "json"), "cannot be written as JSON (a string is not valid UTF-8)");
  }
  if (!out->exact && internal::JsonNestingDepth(out->bytes) > internal::kMaxJsonDepth) {
    return Error(Join(path, "json"), "nested deeper than " +
                                         std::to_string(internal::kMaxJsonDepth) +
                                         " levels, too deep for \"exact\": false");
  }
  *value = nullptr;  // the bytes replace the tree
  if (add_newline) out->bytes += '\n';
  return Status::Ok();
}

// What a read forgave, for the reader's warnings (nullptr: nobody asks).
using Notes = std::vector<std::string>;

// A split past the end of its event means the event was shortened by hand: the splits from
// there on are dropped (the event then arrives whole at its `at_us`), with a note.
Status ReadSplits(const Json& json, std::string_view path, size_t event_size,
                  std::vector<Split>* out, Notes* notes) {
  if (!json.is_array()) return Error(path, "expected an array of [end_offset, at_us] pairs");
  out->clear();
  for (size_t i = 0; i < json.size(); ++i) {
    const Json& pair = json[i];
    const std::string at = Index(path, i);
    if (!pair.is_array() || pair.size() != 2) {
      return Error(at, "expected an [end_offset, at_us] pair");
    }
    std::uint64_t end = 0;
    Split split;
    TD_RETURN_IF_ERROR(ReadUint64(pair[0], Index(at, 0), &end));
    TD_RETURN_IF_ERROR(ReadInt64(pair[1], Index(at, 1), &split.at_us));
    if (end == 0) return Error(at, "end offset 0: a split ends after its first byte");
    if (end > event_size) {
      if (notes != nullptr) {
        notes->push_back(at + ": end offset " + std::to_string(end) + " is past the event's " +
                         std::to_string(event_size) +
                         " bytes (was the event edited?): dropped it and the splits after it");
      }
      return Status::Ok();
    }
    if (!out->empty() && end <= out->back().end) {
      return Error(at, "end offsets must increase");
    }
    split.end = static_cast<size_t>(end);
    out->push_back(split);
  }
  return Status::Ok();
}

Status ReadEvent(Json& json, std::string_view path, StreamEvent* out, Notes* notes) {
  TD_RETURN_IF_ERROR(CheckObject(json, path, {"at_us", "data", "data_b64", "splits"}));
  const Json* at_us = Find(json, "at_us");
  if (at_us == nullptr) return Error(path, "missing \"at_us\"");
  TD_RETURN_IF_ERROR(ReadInt64(*at_us, Join(path, "at_us"), &out->at_us));
  Json* data = Find(json, "data");
  Json* data_b64 = Find(json, "data_b64");
  if (data != nullptr && data_b64 != nullptr) {
    return Error(path, "has both \"data\" and \"data_b64\"");
  }
  if (data != nullptr) {
    if (!data->is_string()) return Error(Join(path, "data"), "expected a string");
    out->bytes = std::move(data->get_ref<std::string&>());
  } else if (data_b64 != nullptr) {
    if (!data_b64->is_string()) return Error(Join(path, "data_b64"), "expected a string");
    size_t bad = 0;
    std::optional<std::string> bytes = Base64Decode(data_b64->get_ref<const std::string&>(), &bad);
    if (!bytes) {
      return Error(Join(path, "data_b64"), "invalid base64 at offset " + std::to_string(bad));
    }
    *data_b64 = nullptr;
    out->bytes = std::move(*bytes);
  } else {
    return Error(path, "missing \"data\"");
  }
  out->splits.clear();
  if (Json* splits = Find(json, "splits")) {
    TD_RETURN_IF_ERROR(
        ReadSplits(*splits, Join(path, "splits"), out->bytes.size(), &out->splits, notes));
  }
  return Status::Ok();
}

Status ReadStream(Json& json, std::string_view path, Stream* out, Notes* notes) {
  TD_RETURN_IF_ERROR(CheckObject(json, path, {"kind", "events"}));
  const Json* kind = Find(json, "kind");
  if (kind == nullptr) return Error(path, "missing \"kind\"");
  if (kind->is_string() && kind->get_ref<const std::string&>() == "sse") {
    out->kind = StreamKind::kSse;
  } else if (kind->is_string() && kind->get_ref<const std::string&>() == "chunks") {
    out->kind = StreamKind::kChunks;
  } else {
    return Error(Join(path, "kind"), "expected \"sse\" or \"chunks\"");
  }
  Json* events = Find(json, "events");
  if (events == nullptr) return Error(path, "missing \"events\"");
  const std::string events_path = Join(path, "events");
  if (!events->is_array()) return Error(events_path, "expected an array");
  out->events.clear();
  out->events.reserve(events->size());
  for (size_t i = 0; i < events->size(); ++i) {
    StreamEvent event;
    TD_RETURN_IF_ERROR(ReadEvent((*events)[i], Index(events_path, i), &event, notes));
    out->events.push_back(std::move(event));
  }
  return Status::Ok();
}

Status ReadRequest(Json& json, std::string_view path, Request* out) {
  TD_RETURN_IF_ERROR(
      CheckObject(json, path, {"method", "path", "query", "headers", "body", "origin"}));
  if (Json* origin = Find(json, "origin")) {
    TD_RETURN_IF_ERROR(ReadString(*origin, Join(path, "origin"), &out->origin));
    if (!IsValidOrigin(out->origin)) {
      return Error(Join(path, "origin"),
                   "expected \"scheme://host:port\" (http or https, a lower-case host name or "
                   "[IPv6], a port 1..65535)");
    }
  }
  TD_RETURN_IF_ERROR(ReadRequiredString(json, "method", path, &out->method));
  TD_RETURN_IF_ERROR(ReadRequiredString(json, "path", path, &out->path));
  if (Json* query = Find(json, "query")) {
    TD_RETURN_IF_ERROR(ReadPairs(*query, Join(path, "query"), &out->query));
  }
  if (Json* headers = Find(json, "headers")) {
    TD_RETURN_IF_ERROR(ReadPairs(*headers, Join(path, "headers"), &out->headers));
  }
  if (Json* body = Find(json, "body")) {
    TD_RETURN_IF_ERROR(ReadBody(*body, Join(path, "body"), /*is_request=*/true, &out->body));
  }
  return Status::Ok();
}

Status ReadResponse(Json& json, std::string_view path, Response* out, Notes* notes) {
  TD_RETURN_IF_ERROR(CheckObject(json, path, {"status", "headers", "body", "stream"}));
  const Json* status = Find(json, "status");
  if (status == nullptr) return Error(path, "missing \"status\"");
  std::int64_t code = 0;
  TD_RETURN_IF_ERROR(ReadInt64(*status, Join(path, "status"), &code));
  if (code < 0 || code > 999) return Error(Join(path, "status"), "expected a status code 0..999");
  out->status = static_cast<int>(code);
  if (Json* headers = Find(json, "headers")) {
    TD_RETURN_IF_ERROR(ReadPairs(*headers, Join(path, "headers"), &out->headers));
  }
  Json* body = Find(json, "body");
  Json* stream = Find(json, "stream");
  if (body != nullptr && stream != nullptr) {
    return Error(path, "has both \"body\" and \"stream\" (a response has one or the other)");
  }
  if (body != nullptr) {
    TD_RETURN_IF_ERROR(ReadBody(*body, Join(path, "body"), /*is_request=*/false, &out->body));
  }
  if (stream != nullptr) {
    Stream s;
    TD_RETURN_IF_ERROR(ReadStream(*stream, Join(path, "stream"), &s, notes));
    out->stream = std::move(s);
  }
  return Status::Ok();
}

Status ReadTiming(Json& json, std::string_view path, Timing* out) {
  TD_RETURN_IF_ERROR(CheckObject(json, path, {"headers_us", "done_us"}));
  if (const Json* v = Find(json, "headers_us")) {
    TD_RETURN_IF_ERROR(ReadInt64(*v, Join(path, "headers_us"), &out->headers_us));
  }
  if (const Json* v = Find(json, "done_us")) {
    TD_RETURN_IF_ERROR(ReadInt64(*v, Join(path, "done_us"), &out->done_us));
  }
  return Status::Ok();
}

Status ReadInteraction(Json& json, Interaction* out, Notes* notes) {
  TD_RETURN_IF_ERROR(
      CheckObject(json, "", {"seq", "recorded_at", "request", "response", "timing", "truncated"}));
  const Json* seq = Find(json, "seq");
  if (seq == nullptr) return Error("", "missing \"seq\"");
  TD_RETURN_IF_ERROR(ReadUint64(*seq, "seq", &out->seq));
  if (const Json* recorded_at = Find(json, "recorded_at")) {
    TD_RETURN_IF_ERROR(ReadTime(*recorded_at, "recorded_at", &out->recorded_at_us));
  }
  Json* request = Find(json, "request");
  if (request == nullptr) return Error("", "missing \"request\"");
  TD_RETURN_IF_ERROR(ReadRequest(*request, "request", &out->request));
  Json* response = Find(json, "response");
  if (response == nullptr) return Error("", "missing \"response\"");
  TD_RETURN_IF_ERROR(ReadResponse(*response, "response", &out->response, notes));
  if (Json* timing = Find(json, "timing")) {
    TD_RETURN_IF_ERROR(ReadTiming(*timing, "timing", &out->timing));
  }
  if (Json* truncated = Find(json, "truncated")) {
    std::string reason;
    TD_RETURN_IF_ERROR(ReadString(*truncated, "truncated", &reason));
    out->truncated = std::move(reason);
  }
  return Status::Ok();
}

template <class I>
Json InteractionToJsonImpl(I&& interaction) {
  Json out = Object(6);
  out["seq"] = interaction.seq;
  out["recorded_at"] = FormatRfc3339Micros(interaction.recorded_at_us);
  out["request"] = RequestToJson(std::forward<I>(interaction).request);
  out["response"] = ResponseToJson(std::forward<I>(interaction).response);
  Json timing = Object(2);
  timing["headers_us"] = interaction.timing.headers_us;
  timing["done_us"] = interaction.timing.done_us;
  out["timing"] = std::move(timing);
  if (interaction.truncated) out["truncated"] = StringToJson(*interaction.truncated);
  return out;
}

}  // namespace

Json InteractionToJson(const Interaction& interaction) {
  return InteractionToJsonImpl(interaction);
}
Json InteractionToJson(Interaction&& interaction) {
  return InteractionToJsonImpl(std::move(interaction));
}

Result<Interaction> InteractionFromJson(const Json& json, std::vector<std::string>* notes) {
  Json copy = json;
  return InteractionFromJson(std::move(copy), notes);
}

Result<Interaction> InteractionFromJson(Json&& json, std::vector<std::string>* notes) {
  Interaction interaction;
  Status status;
  try {
    status = ReadInteraction(json, &interaction, notes);
  } catch (const Json::exception& e) {
    // Every access above is checked first; this is a last line of defence, not a path.
    return ParseError(std::string("unexpected JSON error: ") + e.what());
  }
  if (!status.ok()) return status;
  return interaction;
}

}  // namespace td::cassette
