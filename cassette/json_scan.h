// File: cassette/json_scan.h
//
// JsonScanner: a strict JSON reader over text in memory, for the hot paths that must not build a
// tree (the cassette reader's fast path, the replay index's body keys, listings). The caller
// walks the document by recursive descent with the calls below; each checks what it reads as
// nlohmann's parser does (RFC 8259, UTF-8 validated, surrogate pairs paired, numbers typed as
// nlohmann types them, a number too large for a double refused), so a document the scanner
// reads whole is one nlohmann accepts, with the same values. Nothing is allocated but what goes
// into strings the caller passes; bounding the depth is the caller's business.
//
//   JsonScanner s(text);
//   if (!s.Consume('{')) ...;  std::string key;  if (!s.ReadString(&key)) ...
//
// Threading: a scanner is one caller's; the functions are pure.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace td::cassette {

class JsonScanner {
 public:
  // `text` must outlive the scanner.
  explicit JsonScanner(std::string_view text) : s_(text) {}

  std::string_view text() const { return s_; }
  size_t pos() const { return pos_; }

  // Skips blanks (space, tab, CR, LF) and returns the next byte, or '\0' at the end (a NUL is
  // never valid outside a string, so it reads as "nothing valid here").
  char Peek() {
    SkipSpace();
    return pos_ < s_.size() ? s_[pos_] : '\0';
  }
  // After blanks, moves past `c` when it is next; false (nothing moved but blanks) otherwise.
  bool Consume(char c) {
    if (Peek() != c) return false;
    ++pos_;
    return true;
  }
  // The next byte without skipping blanks, or '\0' at the end; and moving past it: for callers
  // that refuse blanks (a document in the compact form nlohmann's dump writes has none).
  char PeekRaw() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }
  void Skip() { ++pos_; }
  // True when only blanks are left.
  bool AtEnd() {
    SkipSpace();
    return pos_ == s_.size();
  }

  // A string read without decoding it.
  struct StringSpan {
    std::string_view raw;  // between the quotes, as spelt
    bool escaped = false;  // holds a backslash escape: `raw` is then not the value itself
    // Spelt exactly as nlohmann's dump spells its value: escapes only for '"', '\\', the
    // controls \b \f \n \r \t, and "\u00xx" (lower-case hex) for the other controls.
    bool dump_form = true;
  };
  // The next value (after blanks) must be a string: validates it (escapes, UTF-8) and moves
  // past it. False, with pos() at the fault, when it is not a valid string.
  bool ScanString(StringSpan* out);
  // The same, appending the decoded value to `*out` (which is not cleared).
  bool ReadString(std::string* out);
  // The value of a string ScanString accepted, appended to `*out`.
  static void AppendDecoded(const StringSpan& span, std::string* out);

  // A number as nlohmann's parser types it: an integer without '-' that fits 64 bits is
  // unsigned, one with '-' signed, anything else (a fraction, an exponent, an integer too long)
  // a double. A double out of range is refused; one too small becomes 0, as strtod makes it.
  struct Number {
    enum class Kind { kUnsigned, kSigned, kFloat };
    std::string_view text;  // as spelt
    Kind kind = Kind::kUnsigned;
    std::uint64_t u = 0;  // kUnsigned
    std::int64_t i = 0;   // kSigned
    double d = 0;         // kFloat
  };
  // The next value (after blanks) must be a number: reads it and moves past it.
  bool ReadNumber(Number* out);
  // The next value (after blanks) must be true, false or null: moves past it and sets `*first`
  // to its first letter ('t', 'f' or 'n').
  bool ReadLiteral(char* first);
  // Validates the next value, whatever it is, and moves past it. Containers nested deeper than
  // `max_depth` (counting this one as 1) fail.
  bool SkipValue(size_t max_depth);

 private:
  void SkipSpace() {
    while (pos_ < s_.size()) {
      const char c = s_[pos_];
      if (c != ' ' && c != '\t' && c != '\n' && c != '\r') return;
      ++pos_;
    }
  }
  // Validates the escape at pos_ (just past the backslash) and moves past it; stores its value
  // when `out` is given. Sets *dump_form false for a spelling dump would not write.
  bool Escape(std::string* out, bool* dump_form);
  bool Hex4(std::uint32_t* out);
  bool Underflows(size_t digits, size_t int_end, size_t exp_start) const;

  std::string_view s_;
  size_t pos_ = 0;
  // ReadString decodes here first, while the text left is at most kMaxBuffer bytes.
  static constexpr size_t kMaxBuffer = size_t{1} << 20;
  std::unique_ptr<char[]> buffer_;
  size_t buffer_size_ = 0;
  std::string escaped_;  // one escape's value
};

}  // namespace td::cassette
