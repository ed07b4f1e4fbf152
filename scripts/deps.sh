#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages tapedeck builds and tests with, when any is missing.
# Sourced by scripts/demo.sh and scripts/test.sh; safe to run again.
set -euo pipefail

# What building tapedeck needs (compiler, CMake, the libraries' -dev packages): enough for
# `cmake --install` and `cpack -G DEB` (README "Install"; examples/ci builds with these alone).
TD_BUILD_PACKAGES=(build-essential cmake ninja-build pkg-config libevent-dev libssl-dev
                   nlohmann-json3-dev libzstd-dev zlib1g-dev libbrotli-dev)
# What the tests add: GoogleTest, the sanitizer and fuzz build (clang), the tools the tests drive
# (zstd, jq, openssl, curl), the pytest plugin's suite (Debian's pytest, xdist, httpx), and the
# man page and completion checks (man-db, groff-base, bsdextrautils for col, zsh).
TD_TEST_PACKAGES=(libgtest-dev libgmock-dev zstd jq openssl curl clang libclang-rt-14-dev
                  python3-pytest python3-pytest-xdist python3-httpx
                  man-db groff-base bsdextrautils zsh)
TD_PACKAGES=("${TD_BUILD_PACKAGES[@]}" "${TD_TEST_PACKAGES[@]}")

# td_install_deps [build]: installs what is missing of TD_PACKAGES (of TD_BUILD_PACKAGES alone
# with "build").
td_install_deps() {
  local missing=() wanted=("${TD_PACKAGES[@]}")
  [ "${1:-}" = build ] && wanted=("${TD_BUILD_PACKAGES[@]}")
  for p in "${wanted[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "installing: ${missing[*]}" >&2
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
}
