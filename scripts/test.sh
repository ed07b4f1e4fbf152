#!/usr/bin/env bash
# Builds tapedeck with warnings as errors and runs every test (unit, integration, SDK end to end,
# the test-runner integrations, the install and the Debian package) with the layering checks
# below, then the whole suite again under ASan and UBSan, then a short run of each fuzz harness
# from that same sanitizer build. Installs what is missing first. Usage: scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
td_install_deps

# The SDK end-to-end tests, the SDK examples and the Node helper's tests need the pinned SDKs (and
# vitest) from npm (Node 20+). Without node they are skipped (CMake says so); with node, a failed
# install is an error.
if command -v npm >/dev/null 2>&1; then
  (cd tests/e2e && npm ci --no-audit --no-fund --loglevel=error)
  (cd integrations/node && npm ci --no-audit --no-fund --loglevel=error)
else
  echo "node/npm not found: the SDK end-to-end tests will be skipped" >&2
fi

# Real recorded streams from public SDK repositories are not ours to ship: they stay in
# ../shared/fixtures, and the tests that replay them skip when it is absent. Say so up front.
if [ ! -d ../shared/fixtures/sse ]; then
  echo "note: ../shared/fixtures/sse not found: the tests over real recorded SSE streams" \
    "will be skipped (ctest lists them as Skipped)" >&2
fi

build=${TAPEDECK_BUILD_DIR:-build}
# -g1 (line tables) rather than -g: the tests need file:line in a stack, not every variable, and
# the build is a third faster.
cmake -S . -B "$build" -G Ninja -DTAPEDECK_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" ${TAPEDECK_CMAKE_ARGS:-} >/dev/null
cmake --build "$build"

# Layering (docs/architecture.md): only proxy/ includes libevent or OpenSSL; includes point down;
# internal/ folders are private to their module.
bad=$(grep -rlE '#include <(event2|openssl)/' cassette replay tools || true)
bad+=$(grep -rl '"replay/' proxy cassette || true)
bad+=$(grep -rlE '"(proxy|tools)/' cassette || true)
# A module's internal/ is its own: no other module includes from it.
bad+=$(grep -rl '"cassette/internal/' proxy replay tools || true)
bad+=$(grep -rl '"proxy/internal/' cassette replay tools || true)
bad+=$(grep -rl '"replay/internal/' cassette proxy tools || true)
if [ -n "$bad" ]; then
  echo "layering violation in: $bad" >&2
  exit 1
fi

ctest --test-dir "$build" --output-on-failure -j2 --timeout 300

# The Debian package of this build, installed on this machine with apt-get as a user would
# (README "Install"), run from PATH, and removed again (tests/install/deb_test.sh). Needs root
# or passwordless sudo, as the package installs above do.
if [ "$(id -u)" -eq 0 ] || sudo -n true 2>/dev/null; then
  tests/install/deb_test.sh "$build" --system
else
  echo "note: not root and no passwordless sudo: the .deb is tested unpacked only" >&2
fi

# The whole suite once more under AddressSanitizer and UndefinedBehaviorSanitizer, built by clang
# with libFuzzer's coverage so the same build then runs each fuzz harness for a short smoke run
# (tests/fuzz/README.md). Any report fails the test or harness that triggered it. -O1 -g1 (line
# tables only): a third of the compile time of -O1 -g with gcc, and stacks still name file:line.
# Benchmarks are not built. TAPEDECK_SKIP_SANITIZE=1 skips the sanitizer pass and
# TAPEDECK_SKIP_FUZZ=1 the fuzz run (for a quick local loop; CI always runs both);
# TAPEDECK_FUZZ_SECONDS sets the time per harness (default 30).
if [ "${TAPEDECK_SKIP_SANITIZE:-0}" != 1 ] || [ "${TAPEDECK_SKIP_FUZZ:-0}" != 1 ]; then
  asan=${TAPEDECK_ASAN_BUILD_DIR:-build-asan}
  if [ -f "$asan/CMakeCache.txt" ] && ! grep -q '^TAPEDECK_BUILD_FUZZ:BOOL=ON' "$asan/CMakeCache.txt"; then
    rm -rf "$asan" # an older gcc sanitizer build: the compiler of a build cannot change
  fi
  cmake -S . -B "$asan" -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DTAPEDECK_WERROR=ON \
    -DTAPEDECK_SANITIZE=address,undefined -DTAPEDECK_BUILD_FUZZ=ON -DTAPEDECK_BUILD_BENCH=OFF \
    -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g1" ${TAPEDECK_CMAKE_ARGS:-} >/dev/null
  cmake --build "$asan"
fi
if [ "${TAPEDECK_SKIP_SANITIZE:-0}" != 1 ]; then
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
    UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    ctest --test-dir "$asan" --output-on-failure -j2 --timeout 600
fi
if [ "${TAPEDECK_SKIP_FUZZ:-0}" != 1 ]; then
  scripts/fuzz.sh "${TAPEDECK_FUZZ_SECONDS:-30}" "$asan"
fi
