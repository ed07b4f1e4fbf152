// File: tests/support/sanitizers.h
//
// Whether this test binary is built with AddressSanitizer, for the few tests whose figures
// (peak RSS) ASan's shadow memory and quarantine make meaningless. g++ defines
// __SANITIZE_ADDRESS__; clang answers __has_feature(address_sanitizer).
#pragma once

namespace td::testing {

#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kUnderAddressSanitizer = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr bool kUnderAddressSanitizer = true;
#else
inline constexpr bool kUnderAddressSanitizer = false;
#endif
#else
inline constexpr bool kUnderAddressSanitizer = false;
#endif

}  // namespace td::testing
