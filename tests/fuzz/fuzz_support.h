// File: tests/fuzz/fuzz_support.h
//
// Helpers shared by the libFuzzer harnesses: deterministic piece lengths for feeding one input in
// hostile splits (single bytes, short and long runs, as a network delivers them), and a quoted,
// escaped rendering of bytes for the message a failed property aborts with.
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace td::fuzz {

// splitmix64: a small, fixed generator, so a crash file replays the same splits anywhere.
inline std::uint64_t SplitMix64(std::uint64_t* state) {
  std::uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// FNV-1a: mixes the input into the split seed, so every mutation of the bytes also tries new
// split points.
inline std::uint64_t HashBytes(std::string_view bytes) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (char c : bytes) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ull;
  }
  return h;
}

// Lengths of pieces (each >= 1) that add up to `size`: about a third single bytes, a third
// runs of up to 8 bytes, a third runs of up to a quarter of the input. Deterministic in `seed`.
inline std::vector<size_t> PieceLengths(size_t size, std::uint64_t seed) {
  std::vector<size_t> pieces;
  std::uint64_t state = seed;
  size_t left = size;
  while (left > 0) {
    const std::uint64_t r = SplitMix64(&state);
    size_t n = 1;
    switch (r % 3) {
      case 0:
        break;
      case 1:
        n = 1 + static_cast<size_t>((r >> 8) % 8);
        break;
      default:
        n = 1 + static_cast<size_t>((r >> 8) % (size / 4 + 1));
        break;
    }
    if (n > left) n = left;
    pieces.push_back(n);
    left -= n;
  }
  return pieces;
}

// `bytes` as a JSON string (control bytes and non-ASCII escaped, bytes that are not UTF-8
// replaced), cut to about `max` bytes: safe to print in a failure message.
inline std::string Quote(std::string_view bytes, size_t max = 300) {
  const bool cut = bytes.size() > max;
  std::string out =
      nlohmann::json(std::string(bytes.substr(0, max)))
          .dump(-1, ' ', /*ensure_ascii=*/true, nlohmann::json::error_handler_t::replace);
  if (cut) out += "... (" + std::to_string(bytes.size()) + " bytes)";
  return out;
}

}  // namespace td::fuzz
