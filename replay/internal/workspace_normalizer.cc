// The workspace normalisers: known paths, their slugs and the user name, rewritten to
// placeholders in one pass over a raw request body.
#include "replay/internal/workspace_normalizer.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "cassette/base/ascii.h"
#include "replay/internal/builtin_normalizers.h"

namespace td::replay::internal {
namespace {

using Kind = WorkspaceNormalizer::Kind;
using Pattern = WorkspaceNormalizer::Pattern;

// One part of a workspace, in the order that wins when two values are equally long.
struct Part {
  std::string_view name;
  std::string Workspace::*field;
  std::string_view placeholder;
  std::string_view slug_placeholder;  // "" for the user name
};
constexpr Part kParts[] = {
    {"cwd", &Workspace::cwd, "<CWD>", "<CWD-SLUG>"},
    {"home", &Workspace::home, "<HOME>", "<HOME-SLUG>"},
    {"tmp", &Workspace::tmp, "<TMPDIR>", "<TMPDIR-SLUG>"},
    {"user", &Workspace::user, "<USER>", ""},
};

// Every placeholder Apply writes, to step over them when rewriting twice.
constexpr std::string_view kPlaceholders[] = {
    "<CWD>", "<CWD-SLUG>", "<HOME>", "<HOME-SLUG>", "<TMPDIR>", "<TMPDIR-SLUG>", "<USER>",
};

// Characters, not bytes: a UTF-8 continuation byte does not count.
size_t CharCount(std::string_view s) {
  return static_cast<size_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

bool IsAbsolutePath(std::string_view p) {
  if (!p.empty() && p[0] == '/') return true;
  // C:\Users\u or C:/Users/u
  return p.size() >= 3 && IsAlpha(p[0]) && p[1] == ':' && (p[2] == '\\' || p[2] == '/');
}

// A path without its trailing separators ("/var/folders/x/T/" -> "/var/folders/x/T").
std::string TrimPath(std::string_view p) {
  while (p.size() > 1 && (p.back() == '/' || p.back() == '\\')) p.remove_suffix(1);
  return std::string(p);
}

// Why `value` (already trimmed) cannot be used for `part`, or "" when it can.
std::string Unusable(const Part& part, std::string_view value) {
  if (value.empty()) return "not known";
  const bool path = !part.slug_placeholder.empty();
  if (path) {
    if (!IsAbsolutePath(value)) return "\"" + std::string(value) + "\" is not an absolute path";
    if (CharCount(value) < kMinWorkspacePath) {
      return "\"" + std::string(value) + "\" is too short (under " +
             std::to_string(kMinWorkspacePath) + " characters)";
    }
    return "";
  }
  if (CharCount(value) < kMinUserName) {
    return "\"" + std::string(value) + "\" is too short (under " + std::to_string(kMinUserName) +
           " characters)";
  }
  for (char c : value) {
    if (c == '/' || c == '\\' || c == '"' || static_cast<unsigned char>(c) <= ' ') {
      return "\"" + std::string(value) + "\" is not a user name";
    }
  }
  return "";
}

// `value` as it may appear inside a JSON string: escaped as JSON serialisers do (quotes,
// backslashes, control characters), optionally with non-ASCII as \uXXXX (Python's json.dumps)
// and with "/" as "\/" (PHP's json_encode).
std::vector<std::string> Spellings(const std::string& value) {
  std::vector<std::string> out = {value};
  auto add = [&out](std::string s) {
    if (std::find(out.begin(), out.end(), s) == out.end()) out.push_back(std::move(s));
  };
  for (bool ascii : {false, true}) {
    std::string quoted =
        nlohmann::json(value).dump(-1, ' ', ascii, nlohmann::json::error_handler_t::replace);
    std::string escaped = quoted.substr(1, quoted.size() - 2);
    add(escaped);
    if (escaped.find('/') != std::string::npos) {
      std::string slashed;
      for (char c : escaped) {
        if (c == '/') slashed += '\\';
        slashed += c;
      }
      add(std::move(slashed));
    }
  }
  return out;
}

bool IsWordByte(char c) { return IsAlnum(c) || c == '_' || static_cast<unsigned char>(c) >= 0x80; }

bool IsSlugByte(char c) { return IsAlnum(c) || c == '-'; }

// A path ends at `end` when what follows cannot continue its last component: a separator, a
// quote, an escape, white space... or a full stop that ends a sentence ("in /w/p." but not
// "/w/p.git").
bool PathEndsAt(std::string_view t, size_t end) {
  if (end == t.size() || EndsPathComponent(t[end])) return true;
  return t[end] == '.' && (end + 1 == t.size() || EndsPathComponent(t[end + 1]));
}

// A path may start at `pos`, also right after a URL scheme ("file:///w/p").
bool PathStartsAt(std::string_view t, size_t pos) {
  return PathMayStartAt(t, pos) || (pos >= 3 && t.compare(pos - 3, 3, "://") == 0);
}

bool WordStartsAt(std::string_view t, size_t pos) {
  return pos == 0 || !IsWordByte(t[pos - 1]) || AfterJsonEscape(t, pos);
}

// The end of `p` standing whole at `pos`, or 0.
size_t MatchAt(const Pattern& p, std::string_view t, size_t pos) {
  if (!StartsWithAt(t, pos, p.text)) return 0;
  size_t end = pos + p.text.size();
  switch (p.kind) {
    case Kind::kPath:
      return PathStartsAt(t, pos) && PathEndsAt(t, end) ? end : 0;
    case Kind::kSlug: {
      if (pos > 0 && (IsSlugByte(t[pos - 1]) || t[pos - 1] == '_') && !AfterJsonEscape(t, pos)) {
        return 0;
      }
      if (p.hashed) {
        if (end + 1 >= t.size() || t[end] != '-' || !IsAlnum(t[end + 1])) return 0;
        end += 1;
        while (end < t.size() && IsAlnum(t[end])) ++end;
      }
      return end == t.size() || !IsSlugByte(t[end]) ? end : 0;
    }
    case Kind::kWord:
      return WordStartsAt(t, pos) && (end == t.size() || !IsWordByte(t[end])) ? end : 0;
  }
  return 0;
}

// The length of the placeholder standing at `pos`, or 0.
size_t PlaceholderAt(std::string_view t, size_t pos) {
  for (std::string_view p : kPlaceholders) {
    if (StartsWithAt(t, pos, p)) return p.size();
  }
  return 0;
}

std::string Quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

}  // namespace

std::string AgentSlug(std::string_view path) {
  std::string slug;
  slug.reserve(path.size());
  for (size_t i = 0; i < path.size();) {
    const auto c = static_cast<unsigned char>(path[i]);
    if (c < 0x80) {
      slug += IsAlnum(static_cast<char>(c)) ? static_cast<char>(c) : '-';
      ++i;
      continue;
    }
    // A UTF-8 sequence is one UTF-16 code unit, or two past U+FFFF (a four-byte sequence).
    const size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 0;
    size_t k = 1;
    while (k < len && i + k < path.size() &&
           (static_cast<unsigned char>(path[i + k]) & 0xC0) == 0x80) {
      ++k;
    }
    if (len == 0 || k < len || c > 0xF4) {
      slug += '-';  // not UTF-8: one per byte
      ++i;
      continue;
    }
    slug.append(len == 4 ? 2 : 1, '-');
    i += len;
  }
  return slug;
}

WorkspaceNormalizer WorkspaceNormalizer::Create(const Workspace& recorded, const Workspace& live,
                                                std::vector<std::string>* notes) {
  WorkspaceNormalizer n;
  std::vector<Pattern> patterns;  // in part order, then recorded before live
  for (const Part& part : kParts) {
    const bool path = !part.slug_placeholder.empty();
    std::string values[2] = {recorded.*part.field, live.*part.field};
    if (path) {
      for (std::string& v : values) v = TrimPath(v);
    }
    const std::string why[2] = {Unusable(part, values[0]), Unusable(part, values[1])};
    if (!why[0].empty() || !why[1].empty()) {
      if (notes != nullptr) {
        std::string note = std::string(part.name) + " skipped: ";
        if (!why[0].empty()) note += "recorded " + why[0];
        if (!why[0].empty() && !why[1].empty()) note += ", ";
        if (!why[1].empty()) note += "live " + why[1];
        notes->push_back(std::move(note));
      }
      continue;
    }
    for (const std::string& value : values) {
      for (std::string& text : Spellings(value)) {
        patterns.push_back(
            Pattern{std::move(text), part.placeholder, path ? Kind::kPath : Kind::kWord, false});
      }
      if (!path) continue;
      std::string slug = AgentSlug(value);
      if (slug.size() > kAgentSlugCut) {
        patterns.push_back(Pattern{slug.substr(0, kAgentSlugCut), part.slug_placeholder,
                                   Kind::kSlug, /*hashed=*/true});
      }
      patterns.push_back(Pattern{std::move(slug), part.slug_placeholder, Kind::kSlug, false});
    }
    if (notes != nullptr) {
      std::string note =
          std::string(part.name) + " " + Quoted(values[0]) +
          (values[0] == values[1] ? " (recorded and live)"
                                  : " (recorded) and " + Quoted(values[1]) + " (live)") +
          " -> " + std::string(part.placeholder);
      if (path) note += ", their slugs -> " + std::string(part.slug_placeholder);
      notes->push_back(std::move(note));
    }
  }
  // The first of equal texts wins (cwd before home: a command run in its home directory).
  for (Pattern& p : patterns) {
    bool seen = std::any_of(n.patterns_.begin(), n.patterns_.end(), [&](const Pattern& q) {
      return q.text == p.text && q.hashed == p.hashed;
    });
    if (!seen) n.patterns_.push_back(std::move(p));
  }
  std::stable_sort(n.patterns_.begin(), n.patterns_.end(), [](const Pattern& a, const Pattern& b) {
    return a.text.size() > b.text.size();
  });
  for (size_t i = 0; i < n.patterns_.size(); ++i) {
    n.by_first_byte_[static_cast<unsigned char>(n.patterns_[i].text[0])].push_back(
        static_cast<std::uint32_t>(i));
  }
  return n;
}

bool WorkspaceNormalizer::Apply(std::string* text) const {
  if (patterns_.empty()) return false;
  const std::string_view t = *text;
  std::string out;
  size_t copied = 0;
  // Nothing starts right after a placeholder: "<CWD>/x" stays as it is when rewritten again,
  // even where "/x" is another part's value.
  size_t after_placeholder = std::string_view::npos;
  for (size_t i = 0; i < t.size();) {
    if (t[i] == '<') {
      if (size_t n = PlaceholderAt(t, i); n > 0) {
        i += n;
        after_placeholder = i;
        continue;
      }
    }
    const std::vector<std::uint32_t>& candidates = by_first_byte_[static_cast<unsigned char>(t[i])];
    if (candidates.empty() || i == after_placeholder) {
      ++i;
      continue;
    }
    const Pattern* hit = nullptr;
    size_t end = 0;
    for (std::uint32_t k : candidates) {
      end = MatchAt(patterns_[k], t, i);
      if (end > 0) {
        hit = &patterns_[k];
        break;
      }
    }
    if (hit == nullptr) {
      ++i;
      continue;
    }
    if (out.empty()) out.reserve(t.size());
    out.append(t.substr(copied, i - copied));
    out.append(hit->placeholder);
    copied = end;
    i = end;
    after_placeholder = end;
  }
  if (copied == 0) return false;
  out.append(t.substr(copied));
  text->swap(out);
  return true;
}

}  // namespace td::replay::internal
