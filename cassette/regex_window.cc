// Windowed std::regex search and replace (see regex_window.h for why).
#include "cassette/regex_window.h"

#include <algorithm>

namespace td::cassette {
namespace {

// Matches in text[begin, end), one line, searched in overlapping windows.
bool LineMatches(std::string_view text, size_t begin, size_t end, const std::regex& re,
                 const std::function<void(size_t, size_t, const std::cmatch&)>& fn) {
  namespace rc = std::regex_constants;
  size_t p = begin;
  while (p < end) {
    const size_t window_end = std::min(end, p + kRegexWindow);
    const bool cut = window_end < end;
    auto flags = rc::match_default;
    if (p > begin) flags |= rc::match_prev_avail;  // so \b and ^ see the byte before
    if (cut) flags |= rc::match_not_eol | rc::match_not_eow;
    std::cmatch m;
    bool found = false;
    try {
      found = std::regex_search(text.data() + p, text.data() + window_end, m, re, flags);
    } catch (const std::regex_error&) {
      return false;
    }
    if (!found) {
      if (!cut) break;
      p += kRegexStep;
      continue;
    }
    const size_t s = p + static_cast<size_t>(m.position(0));
    const size_t len = static_cast<size_t>(m.length(0));
    if (cut && s >= p + kRegexStep) {
      p = s;  // the window may have cut it short: search again from where it starts
      continue;
    }
    if (len == 0) {
      p = s + 1;
      continue;
    }
    fn(s, s + len, m);
    p = s + len;
  }
  return true;
}

}  // namespace

bool ForEachRegexMatch(std::string_view text, const std::regex& re,
                       const std::function<void(size_t, size_t, const std::cmatch&)>& fn) {
  bool ok = true;
  size_t line = 0;
  while (line <= text.size()) {
    size_t nl = text.find('\n', line);
    const size_t line_end = nl == std::string_view::npos ? text.size() : nl;
    ok = LineMatches(text, line, line_end, re, fn) && ok;
    if (nl == std::string_view::npos) break;
    line = nl + 1;
  }
  return ok;
}

std::string RegexReplaceAll(std::string_view text, const std::regex& re,
                            std::string_view replacement, bool* ok) {
  std::string out;
  out.reserve(text.size());
  size_t copied = 0;
  const std::string format(replacement);
  bool all = ForEachRegexMatch(text, re, [&](size_t begin, size_t end, const std::cmatch& m) {
    out.append(text.substr(copied, begin - copied));
    out += m.format(format);
    copied = end;
  });
  out.append(text.substr(copied));
  if (ok != nullptr) *ok = all;
  return out;
}

}  // namespace td::cassette
