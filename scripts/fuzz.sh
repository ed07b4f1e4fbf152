#!/usr/bin/env bash
# Builds the libFuzzer harnesses in tests/fuzz with clang (ASan + UBSan, only the libraries they
# need, unless BUILD_DIR is an existing fuzz build) and runs each over its seed corpus for SECONDS (default 30). New corpus entries go to
# BUILD_DIR/fuzz-scratch, never to the checked-in corpus. Exits 1 naming the harness and the
# crash file when one fails. Installs what is missing first, like scripts/test.sh.
# Usage: scripts/fuzz.sh [SECONDS] [BUILD_DIR]     (BUILD_DIR defaults to build-fuzz)
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-30}
build=${2:-build-fuzz}
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [ "$seconds" -eq 0 ]; then
  echo "usage: scripts/fuzz.sh [SECONDS] [BUILD_DIR]" >&2
  exit 2
fi

# A fuzz build is clang with sanitizers everywhere. An existing one (scripts/test.sh makes one
# that also holds the tests) is built as it is; any other build is left alone.
if [ -f "$build/CMakeCache.txt" ] &&
  ! grep -q '^TAPEDECK_BUILD_FUZZ:BOOL=ON' "$build/CMakeCache.txt"; then
  echo "fuzz: $build holds another build; give scripts/fuzz.sh a folder of its own" >&2
  exit 2
fi

source scripts/deps.sh
td_install_deps

started=$SECONDS
if [ ! -f "$build/CMakeCache.txt" ]; then
  launcher=()
  if command -v ccache >/dev/null 2>&1; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
  cmake -S . -B "$build" -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=Debug \
    -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g" -DTAPEDECK_BUILD_FUZZ=ON -DTAPEDECK_BUILD_TESTS=OFF \
    -DTAPEDECK_BUILD_BENCH=OFF "${launcher[@]}" >/dev/null
fi
cmake --build "$build" --target fuzzers
echo "fuzz: built in $((SECONDS - started)) s" >&2

# Each harness with the longest input it tries: long enough for a few SSE events, HTTP
# messages or cassette lines, short enough to stay fast. 8 KB for the reader also bounds what a
# zstd input can expand to (a zstd frame can decompress ~32000 times larger).
harnesses=(
  sse_framer_fuzz:4096
  cassette_reader_fuzz:8192
  interaction_line_fuzz:8192
  http_parser_fuzz:4096
  redact_fuzz:4096
  json_path_fuzz:2048
)
scratch=$build/fuzz-scratch
failed=()
for entry in "${harnesses[@]}"; do
  name=${entry%%:*}
  max_len=${entry##*:}
  work=$scratch/$name
  rm -rf "$work"
  mkdir -p "$work/corpus" "$work/artifacts"
  run_started=$SECONDS
  # New inputs go to the first folder (scratch); the checked-in corpus is only read.
  if "$build/tests/fuzz/$name" "$work/corpus" "tests/fuzz/corpus/$name" \
    -max_total_time="$seconds" -max_len="$max_len" -rss_limit_mb=2048 -timeout=25 \
    -artifact_prefix="$work/artifacts/" -print_final_stats=1 >"$work/log" 2>&1; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log")
    cov=$(grep -oE 'cov: [0-9]+' "$work/log" | tail -n 1 || true)
    echo "fuzz: $name ok: ${runs:-?} runs in $((SECONDS - run_started)) s, ${cov:-cov: ?}" >&2
  else
    crash=$(find "$work/artifacts" -type f | head -n 1)
    echo "fuzz: $name FAILED; crash file: ${crash:-none}; log: $work/log" >&2
    grep -E 'check failed|ERROR: (Address|Undefined|libFuzzer)|runtime error|SUMMARY' \
      "$work/log" | head -n 5 >&2 || true
    echo "fuzz: replay it with: $build/tests/fuzz/$name ${crash:-<crash file>}" >&2
    failed+=("$name (${crash:-see $work/log})")
  fi
done

echo "fuzz: total $((SECONDS - started)) s" >&2
if [ ${#failed[@]} -gt 0 ]; then
  printf 'fuzz: failed: %s\n' "${failed[@]}" >&2
  exit 1
fi
