#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages tapedeck builds and tests with, when any is missing.
# Sourced by scripts/demo.sh and scripts/test.sh; safe to run again.
set -euo pipefail

TD_PACKAGES=(build-essential cmake ninja-build pkg-config libevent-dev libssl-dev
             nlohmann-json3-dev libzstd-dev zstd zlib1g-dev libbrotli-dev libgtest-dev libgmock-dev
             jq openssl clang libclang-rt-14-dev)

td_install_deps() {
  local missing=()
  for p in "${TD_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "installing: ${missing[*]}" >&2
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
}
