// File: cassette/regex_window.h
//
// std::regex over text a client sent, without letting the client crash us. libstdc++'s regex
// recurses once per character it tries, so one search over a long run (a base64 image in a
// request body) overflows the stack: measured with g++ 12 and an 8 MiB stack, "a+b" past ~30000
// bytes in a normal build and ~5500 under AddressSanitizer. These helpers search line by line,
// in overlapping windows of kRegexWindow bytes, so any match up to kRegexStep bytes long is found
// whole; a longer one may be found in pieces. Used by redaction (user patterns) and by replay's
// user normalisers.
#pragma once

#include <cstddef>
#include <functional>
#include <regex>
#include <string>
#include <string_view>

namespace td::cassette {

inline constexpr size_t kRegexWindow = 2048;
inline constexpr size_t kRegexStep = kRegexWindow / 2;

// Calls `fn(begin, end, match)` for every non-empty, non-overlapping match of `re` in `text`, in
// order (offsets into `text`; `match` is valid during the call only). Returns false when std::regex
// gave up on some window (it throws on pathological inputs); matches found so far were reported.
bool ForEachRegexMatch(
    std::string_view text, const std::regex& re,
    const std::function<void(size_t begin, size_t end, const std::cmatch& match)>& fn);

// `text` with every match replaced by `replacement` (ECMAScript format: $&, $1, ...). On a
// std::regex failure the replacements found so far are kept and `*ok` (when given) is false.
std::string RegexReplaceAll(std::string_view text, const std::regex& re,
                            std::string_view replacement, bool* ok = nullptr);

}  // namespace td::cassette
