// Small helpers over the cassette model.
#include "cassette/model.h"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

#include "cassette/base/ascii.h"
#include "cassette/json_scan.h"

namespace td::cassette {

bool HeaderNameEquals(std::string_view a, std::string_view b) { return EqualsIgnoreCase(a, b); }

const std::string* FindHeader(const Headers& headers, std::string_view name) {
  for (const auto& [k, v] : headers) {
    if (HeaderNameEquals(k, name)) return &v;
  }
  return nullptr;
}

size_t RemoveHeader(Headers* headers, std::string_view name) {
  size_t before = headers->size();
  std::erase_if(*headers, [&](const Header& h) { return HeaderNameEquals(h.first, name); });
  return before - headers->size();
}

void SetHeader(Headers* headers, std::string_view name, std::string value) {
  auto it = std::find_if(headers->begin(), headers->end(),
                         [&](const Header& h) { return HeaderNameEquals(h.first, name); });
  if (it == headers->end()) {
    headers->emplace_back(std::string(name), std::move(value));
    return;
  }
  it->second = std::move(value);
  auto rest = std::remove_if(std::next(it), headers->end(),
                             [&](const Header& h) { return HeaderNameEquals(h.first, name); });
  headers->erase(rest, headers->end());
}

std::string Request::Target() const {
  std::string t = path;
  for (size_t i = 0; i < query.size(); ++i) {
    t += (i == 0) ? '?' : '&';
    t += query[i].first;
    if (!query[i].second.empty()) {
      t += '=';
      t += query[i].second;
    }
  }
  return t;
}

std::string MakeOrigin(std::string_view scheme, std::string_view host, uint16_t port) {
  std::string out = ToLowerAscii(scheme);
  out += "://";
  const bool ipv6 = host.find(':') != std::string_view::npos;
  if (ipv6) out += '[';
  out += ToLowerAscii(host);
  if (ipv6) out += ']';
  out += ':';
  out += std::to_string(port);
  return out;
}

bool IsValidOrigin(std::string_view origin) {
  std::string_view rest;
  if (origin.substr(0, 8) == "https://") {
    rest = origin.substr(8);
  } else if (origin.substr(0, 7) == "http://") {
    rest = origin.substr(7);
  } else {
    return false;
  }
  const size_t colon = rest.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  std::string_view host = rest.substr(0, colon);
  std::string_view port = rest.substr(colon + 1);
  if (port.empty() || port.size() > 5 || port.front() == '0') return false;
  unsigned value = 0;
  for (char c : port) {
    if (!IsDigit(c)) return false;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  if (value == 0 || value > 65535) return false;
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') return false;
    for (char c : host.substr(1, host.size() - 2)) {
      if (!IsHex(c) && c != ':' && c != '.') return false;
    }
    return true;
  }
  if (host.size() > 253) return false;
  for (char c : host) {
    if (!IsLower(c) && !IsDigit(c) && c != '.' && c != '-') return false;
  }
  return true;
}

void SplitTarget(std::string_view target, std::string* path,
                 std::vector<std::pair<std::string, std::string>>* query) {
  query->clear();
  size_t q = target.find('?');
  *path = std::string(target.substr(0, q));
  if (q == std::string_view::npos) return;
  std::string_view rest = target.substr(q + 1);
  while (!rest.empty()) {
    size_t amp = rest.find('&');
    std::string_view part = rest.substr(0, amp);
    if (!part.empty()) {
      size_t eq = part.find('=');
      if (eq == std::string_view::npos) {
        query->emplace_back(std::string(part), std::string());
      } else {
        query->emplace_back(std::string(part.substr(0, eq)), std::string(part.substr(eq + 1)));
      }
    }
    if (amp == std::string_view::npos) break;
    rest.remove_prefix(amp + 1);
  }
}

size_t Stream::TotalBytes() const {
  size_t n = 0;
  for (const auto& e : events) n += e.bytes.size();
  return n;
}

std::string Stream::Concatenated() const {
  std::string out;
  out.reserve(TotalBytes());
  for (const auto& e : events) out += e.bytes;
  return out;
}

bool IsValidMountName(std::string_view name) {
  if (name.empty() || name.size() > kMaxMountNameBytes || !(IsLower(name[0]) || IsDigit(name[0]))) {
    return false;
  }
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return IsLower(c) || IsDigit(c) || c == '_' || c == '-'; });
}

namespace {

// ModelOf by a full parse: the reference, for what the scan below leaves to it.
std::string ModelByParse(const std::string& body) {
  nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return {};
  auto it = j.find("model");
  if (it == j.end() || !it->is_string()) return {};
  return it->get<std::string>();
}

}  // namespace

std::string ModelOf(const Request& request) {
  const std::string& body = request.body.bytes;
  if (body.empty() || body.front() != '{') return {};
  // One pass with no tree (`cassette ls` asks this of every interaction): the top-level
  // members, the last "model" winning as in a parse, the rest only checked.
  constexpr size_t kMaxDepth = 512;
  JsonScanner s(body);
  std::string model;
  std::string key;
  bool ok = s.Consume('{');
  if (ok && !s.Consume('}')) {
    do {
      key.clear();
      ok = s.ReadString(&key) && s.Consume(':');
      if (!ok) break;
      if (key == "model") {
        model.clear();
        ok = s.Peek() == '"' ? s.ReadString(&model) : s.SkipValue(kMaxDepth);
      } else {
        ok = s.SkipValue(kMaxDepth);
      }
    } while (ok && s.Consume(','));
    ok = ok && s.Consume('}');
  }
  // Anything the scan did not read whole (not JSON, or deeper than it goes) is parsed, so the
  // answer is the parse's either way.
  if (!ok || !s.AtEnd()) return ModelByParse(body);
  return model;
}

}  // namespace td::cassette
