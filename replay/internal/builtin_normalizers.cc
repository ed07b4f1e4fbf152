// Built-in body normalisers: linear scanners over raw request text, no std::regex (which is
// slow and can overflow the stack on the 100 KB system prompts agents send every turn).
#include "replay/internal/builtin_normalizers.h"

#include <algorithm>
#include <cstddef>

#include "cassette/base/ascii.h"

namespace td::replay::internal {
namespace {

// The end of one path component starting at `pos`.
size_t ComponentEnd(std::string_view text, size_t pos) {
  while (pos < text.size() && !EndsPathComponent(text[pos])) ++pos;
  return pos;
}

// The end of a one-line value starting at `pos`: stops at a quote, a backslash (an escape such
// as `\n` ends the line inside a JSON string), a raw line end or '<'.
size_t LineValueEnd(std::string_view text, size_t pos) {
  while (pos < text.size()) {
    char c = text[pos];
    if (c == '"' || c == '\\' || c == '\n' || c == '\r' || c == '<') break;
    ++pos;
  }
  return pos;
}

// Builds the rewritten text lazily: nothing is copied until the first replacement. The output
// goes into a per-thread scratch string that is then swapped with the text, so a chain of
// rewrites of a 100 KB body reuses two buffers instead of allocating (and page-faulting) one
// per rewrite. One Rewriter at a time per thread.
class Rewriter {
 public:
  explicit Rewriter(std::string_view text) : text_(text) {}
  // Replaces text_[begin, end) with `with`. Calls must come in ascending order.
  void Replace(size_t begin, size_t end, std::string_view with) {
    if (out_ == nullptr) {
      out_ = &Scratch();
      out_->clear();
      out_->reserve(text_.size());
    }
    out_->append(text_.substr(copied_, begin - copied_));
    out_->append(with);
    copied_ = end;
  }
  // Writes the result into `*text` (which `text_` views) if anything changed.
  bool Commit(std::string* text) {
    if (out_ == nullptr) return false;
    out_->append(text_.substr(copied_));
    text->swap(*out_);
    return true;
  }

 private:
  static std::string& Scratch() {
    thread_local std::string scratch;
    return scratch;
  }

  std::string_view text_;
  std::string* out_ = nullptr;
  size_t copied_ = 0;
};

struct LabelHit {
  size_t pos;
  size_t len;
};

// Every occurrence of each label (given lower case) with its first letter in either case
// ("today's date" and "Today's date"), ascending; a longer label wins at the same position.
// string_view::find skips ahead with memchr, so a 100 KB body costs microseconds.
std::vector<LabelHit> FindLabels(std::string_view t, const std::vector<std::string_view>& labels) {
  std::vector<LabelHit> hits;
  for (std::string_view label : labels) {
    std::string capital(label);
    if (!capital.empty() && capital[0] >= 'a' && capital[0] <= 'z') capital[0] -= 'a' - 'A';
    for (std::string_view variant : {label, std::string_view(capital)}) {
      for (size_t pos = t.find(variant); pos != std::string_view::npos;
           pos = t.find(variant, pos + 1)) {
        hits.push_back(LabelHit{pos, variant.size()});
      }
      if (capital == label) break;
    }
  }
  std::sort(hits.begin(), hits.end(), [](const LabelHit& a, const LabelHit& b) {
    return a.pos != b.pos ? a.pos < b.pos : a.len > b.len;
  });
  return hits;
}

// Replaces the one-line value after each label (see FindLabels) with `placeholder`, when the
// value satisfies `accept`.
template <class Accept>
bool ReplaceLabelledValues(std::string* text, const std::vector<std::string_view>& labels,
                           std::string_view placeholder,
                           size_t (*value_end)(std::string_view, size_t), Accept accept) {
  std::string_view t = *text;
  Rewriter rw(t);
  size_t next = 0;  // hits before this were inside an earlier value
  for (const LabelHit& hit : FindLabels(t, labels)) {
    if (hit.pos < next) continue;
    size_t begin = hit.pos + hit.len;
    while (begin < t.size() && t[begin] == ' ') ++begin;
    size_t end = std::max(begin, value_end(t, begin));
    std::string_view value = t.substr(begin, end - begin);
    if (!value.empty() && value != placeholder && accept(value)) {
      rw.Replace(begin, end, placeholder);
    }
    next = std::max(end, hit.pos + 1);
  }
  return rw.Commit(text);
}

// A working-directory value: up to a quote or an escape other than `\\` (Windows paths are
// spelt with doubled backslashes inside JSON).
size_t WorkingDirectoryEnd(std::string_view text, size_t begin) {
  size_t pos = begin;
  while (pos < text.size()) {
    char c = text[pos];
    if (c == '\\' && pos + 1 < text.size() && text[pos + 1] == '\\') {
      pos += 2;
      continue;
    }
    if (c == '"' || c == '\\' || c == '\n' || c == '\r' || c == '<') break;
    ++pos;
  }
  // A sentence may end right after the path.
  while (pos > begin && (text[pos - 1] == ' ' || text[pos - 1] == '.')) --pos;
  return pos;
}

// The end of the JSON string that contains `pos` (the closing quote), or the end of the text.
size_t JsonStringEnd(std::string_view text, size_t pos) {
  while (pos < text.size()) {
    if (text[pos] == '\\') {
      pos += 2;
      continue;
    }
    if (text[pos] == '"') return pos;
    ++pos;
  }
  return text.size();
}

bool Digits(std::string_view text, size_t pos, size_t n) {
  if (text.size() - pos < n) return false;
  for (size_t i = 0; i < n; ++i) {
    if (!IsDigit(text[pos + i])) return false;
  }
  return true;
}

int TwoDigits(std::string_view text, size_t pos) {
  return (text[pos] - '0') * 10 + (text[pos + 1] - '0');
}

// The end of an ISO time "HH:MM[:SS[.frac]][Z|+HH[:]MM]" at `pos`, or `pos` when there is none.
size_t IsoTimeEnd(std::string_view text, size_t pos) {
  if (!Digits(text, pos, 2) || text.size() - pos < 5 || text[pos + 2] != ':' ||
      !Digits(text, pos + 3, 2)) {
    return pos;
  }
  size_t end = pos + 5;
  if (end + 3 <= text.size() && text[end] == ':' && Digits(text, end + 1, 2)) {
    end += 3;
    if (end + 1 < text.size() && (text[end] == '.' || text[end] == ',') && IsDigit(text[end + 1])) {
      ++end;
      while (end < text.size() && IsDigit(text[end])) ++end;
    }
  }
  if (end < text.size() && text[end] == 'Z') {
    ++end;
  } else if (end < text.size() && (text[end] == '+' || text[end] == '-') &&
             Digits(text, end + 1, 2)) {
    size_t zone = end + 3;
    if (zone < text.size() && text[zone] == ':') ++zone;
    if (Digits(text, zone, 2)) end = zone + 2;
  }
  return end;
}

}  // namespace

// '<' ends a path component, so a placeholder such as "<TMP>" ends a path and rewriting twice is
// a no-op.
bool EndsPathComponent(char c) {
  switch (c) {
    case '/':
    case '"':
    case '\\':
    case '\'':
    case '`':
    case '<':
    case '>':
    case '(':
    case ')':
    case '[':
    case ']':
    case '{':
    case '}':
    case ',':
    case ';':
    case ':':
    case '|':
    case '&':
    case '*':
    case '?':
    case '=':
    case ' ':
    case '\t':
    case '\n':
    case '\r':
      return true;
    default:
      return false;
  }
}

bool AfterJsonEscape(std::string_view text, size_t pos) {
  if (pos < 2) return false;
  const char c = text[pos - 1];
  if (c != 'n' && c != 't' && c != 'r' && c != 'b' && c != 'f') return false;
  size_t backslashes = 0;
  for (size_t k = pos - 1; k > 0 && text[k - 1] == '\\'; --k) ++backslashes;
  return backslashes % 2 == 1;
}

bool PathMayStartAt(std::string_view text, size_t pos) {
  if (pos == 0 || AfterJsonEscape(text, pos)) return true;
  char c = text[pos - 1];
  return !(IsAlnum(c) || c == '.' || c == '_' || c == '-' || c == '/' || c == '~');
}

bool NormalizeWorkingDirectory(std::string* text) {
  static constexpr std::string_view kLabel = "working directory: ";
  static constexpr std::string_view kPlaceholder = "<CWD>";
  // Collect every distinct directory named, then replace each everywhere (longest first, so a
  // directory inside another is not cut in half).
  std::vector<std::string> dirs;
  std::string_view t = *text;
  for (const LabelHit& hit : FindLabels(t, {kLabel})) {
    size_t begin = hit.pos + hit.len;
    size_t end = WorkingDirectoryEnd(t, begin);
    std::string_view dir = t.substr(begin, end - begin);
    bool path_like =
        dir.find('/') != std::string_view::npos || dir.find('\\') != std::string_view::npos;
    if (dir.size() >= 2 && path_like && dir != kPlaceholder) dirs.emplace_back(dir);
  }
  if (dirs.empty()) return false;
  std::sort(dirs.begin(), dirs.end(), [](const std::string& a, const std::string& b) {
    return a.size() != b.size() ? a.size() > b.size() : a < b;
  });
  dirs.erase(std::unique(dirs.begin(), dirs.end()), dirs.end());
  bool changed = false;
  for (const std::string& dir : dirs) {
    std::string_view cur = *text;
    Rewriter rw(cur);
    for (size_t pos = cur.find(dir); pos != std::string_view::npos;
         pos = cur.find(dir, pos + dir.size())) {
      rw.Replace(pos, pos + dir.size(), kPlaceholder);
    }
    changed |= rw.Commit(text);
  }
  return changed;
}

bool NormalizeGitStatus(std::string* text) {
  static constexpr std::string_view kLabel = "gitStatus: ";
  static constexpr std::string_view kPlaceholder = "<GIT-STATUS>";
  std::string_view t = *text;
  Rewriter rw(t);
  size_t pos = t.find(kLabel);
  while (pos != std::string_view::npos) {
    size_t begin = pos + kLabel.size();
    size_t end = JsonStringEnd(t, begin);
    if (t.substr(begin, end - begin) != kPlaceholder) rw.Replace(begin, end, kPlaceholder);
    pos = t.find(kLabel, end);
  }
  return rw.Commit(text);
}

bool NormalizeTodaysDate(std::string* text) {
  static const std::vector<std::string_view> kLabels = {
      "today's date is", "today's date:", "todays date is", "today's date",
      "current date is", "current date:", "today is",
  };
  auto date_end = [](std::string_view t, size_t begin) {
    size_t pos = begin;
    while (pos < t.size()) {
      char c = t[pos];
      if (c == '"' || c == '\\' || c == '\n' || c == '\r' || c == '<' || c == ')') break;
      // A full stop ends the sentence; a dot between digits (21.11.2026) does not.
      if (c == '.' && !(pos + 1 < t.size() && IsDigit(t[pos + 1]))) break;
      ++pos;
    }
    while (pos > begin && t[pos - 1] == ' ') --pos;
    return pos;
  };
  auto has_digit = [](std::string_view value) {
    return std::any_of(value.begin(), value.end(), IsDigit);
  };
  return ReplaceLabelledValues(text, kLabels, "<DATE>", +date_end, has_digit);
}

bool NormalizeIsoDates(std::string* text) {
  std::string_view t = *text;
  Rewriter rw(t);
  size_t next = 0;  // where the last replacement ended
  // A date's first dash is its fifth character: jump from dash to dash (memchr) rather than
  // test every byte.
  for (size_t dash = t.find('-', 4); dash != std::string_view::npos; dash = t.find('-', dash + 1)) {
    size_t i = dash - 4;
    if (i < next || i + 10 > t.size()) continue;
    // A date does not continue a number or a word.
    if (i > 0 && (IsAlnum(t[i - 1]) || t[i - 1] == '-' || t[i - 1] == '.')) continue;
    bool date = Digits(t, i, 4) && Digits(t, i + 5, 2) && t[i + 7] == '-' && Digits(t, i + 8, 2);
    size_t end = i + 10;
    if (date) {
      int month = TwoDigits(t, i + 5);
      int day = TwoDigits(t, i + 8);
      date = month >= 1 && month <= 12 && day >= 1 && day <= 31 &&
             !(end < t.size() && (IsDigit(t[end]) || t[end] == '-'));
    }
    if (!date) continue;
    std::string_view placeholder = "<DATE>";
    if (end < t.size() && (t[end] == 'T' || t[end] == ' ')) {
      size_t time_end = IsoTimeEnd(t, end + 1);
      if (time_end > end + 1) {
        end = time_end;
        placeholder = "<TIMESTAMP>";
      }
    }
    rw.Replace(i, end, placeholder);
    next = end;
    dash = end - 1;
  }
  return rw.Commit(text);
}

bool NormalizeUuids(std::string* text) {
  static constexpr size_t kGroups[] = {8, 4, 4, 4, 12};
  std::string_view t = *text;
  Rewriter rw(t);
  size_t next = 0;
  // The first dash is the ninth character: jump from dash to dash.
  for (size_t dash = t.find('-', 8); dash != std::string_view::npos; dash = t.find('-', dash + 1)) {
    size_t i = dash - 8;
    if (i < next || i + 36 > t.size() || (i > 0 && IsAlnum(t[i - 1]))) continue;
    size_t pos = i;
    bool ok = true;
    for (size_t g = 0; g < 5 && ok; ++g) {
      for (size_t k = 0; k < kGroups[g]; ++k, ++pos) ok = ok && IsHex(t[pos]);
      if (g < 4) ok = ok && t[pos++] == '-';
    }
    if (!ok || (pos < t.size() && IsAlnum(t[pos]))) continue;
    rw.Replace(i, pos, "<UUID>");
    next = pos;
    dash = pos - 1;
  }
  return rw.Commit(text);
}

bool NormalizeTempPaths(std::string* text) {
  // Temp roots and how many components below them are machine-specific: /tmp/tmp.X1y2,
  // /var/folders/zz/abc123/T/tmpdir (macOS $TMPDIR, also under /private).
  struct Root {
    std::string_view prefix;
    int components;
  };
  static constexpr Root kRoots[] = {
      {"/private/var/folders/", 4},
      {"/var/folders/", 4},
      {"/private/tmp/", 1},
      {"/var/tmp/", 1},
      {"/tmp/", 1},
  };
  // The workspace normaliser's temp directory (workspace_normalizer.h) runs first: what is below
  // it is machine-specific like what is below /tmp, so one component goes with it.
  static constexpr std::string_view kTempDir = "<TMPDIR>";
  std::string_view t = *text;
  Rewriter rw(t);
  size_t next = 0;
  for (size_t i = t.find('/'); i != std::string_view::npos; i = t.find('/', i + 1)) {
    if (i < next) continue;
    size_t begin = i;
    size_t end = 0;
    if (i >= next + kTempDir.size() && t.substr(i - kTempDir.size(), kTempDir.size()) == kTempDir) {
      begin = i - kTempDir.size();
      if (size_t comp_end = ComponentEnd(t, i + 1); comp_end > i + 1) end = comp_end;
    } else if (PathMayStartAt(t, i)) {
      for (const Root& root : kRoots) {
        if (!StartsWithAt(t, i, root.prefix)) continue;
        size_t pos = i + root.prefix.size();
        int taken = 0;
        while (taken < root.components) {
          size_t comp_end = ComponentEnd(t, pos);
          if (comp_end == pos) break;
          ++taken;
          pos = comp_end;
          if (taken < root.components && pos < t.size() && t[pos] == '/' &&
              ComponentEnd(t, pos + 1) > pos + 1) {
            ++pos;
          } else {
            break;
          }
        }
        if (taken > 0) end = pos;
        break;
      }
    }
    if (end == 0) continue;
    rw.Replace(begin, end, "<TMP>");
    next = end;
    i = end - 1;
  }
  return rw.Commit(text);
}

bool NormalizeHomePaths(std::string* text) {
  static constexpr std::string_view kRoots[] = {"/home/", "/Users/"};
  std::string_view t = *text;
  Rewriter rw(t);
  size_t next = 0;
  for (size_t i = t.find('/'); i != std::string_view::npos; i = t.find('/', i + 1)) {
    if (i < next || !PathMayStartAt(t, i)) continue;
    size_t user_begin = 0;
    for (std::string_view root : kRoots) {
      if (StartsWithAt(t, i, root)) user_begin = i + root.size();
    }
    size_t user_end = user_begin == 0 ? 0 : ComponentEnd(t, user_begin);
    if (user_end == user_begin) continue;
    rw.Replace(user_begin, user_end, "<USER>");
    next = user_end;
    i = user_end - 1;
  }
  return rw.Commit(text);
}

bool NormalizeOsVersion(std::string* text) {
  auto any = [](std::string_view) { return true; };
  bool changed =
      ReplaceLabelledValues(text, {"OS Version: ", "os version: "}, "<OS>", &LineValueEnd, any);
  changed |= ReplaceLabelledValues(text, {"platform: "}, "<PLATFORM>", &LineValueEnd, any);
  return changed;
}

const std::vector<Builtin>& Builtins() {
  static const std::vector<Builtin> kBuiltins = {
      {"cwd", &NormalizeWorkingDirectory},
      {"git-status", &NormalizeGitStatus},
      {"todays-date", &NormalizeTodaysDate},
      {"iso-date", &NormalizeIsoDates},
      {"uuid", &NormalizeUuids},
      {"temp-path", &NormalizeTempPaths},
      {"home-path", &NormalizeHomePaths},
      {"os-version", &NormalizeOsVersion},
  };
  return kBuiltins;
}

const Builtin* FindBuiltin(std::string_view name) {
  for (const Builtin& b : Builtins()) {
    if (b.name == name) return &b;
  }
  return nullptr;
}

}  // namespace td::replay::internal
