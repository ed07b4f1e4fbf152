#!/usr/bin/env bash
# Builds tapedeck and replays a bundled sample cassette to a client that prints the streamed
# answer at the recorded pace: no key, no network. Installs what is missing first.
# Usage: scripts/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/deps.sh
td_install_deps

build=${TAPEDECK_BUILD_DIR:-build}
cmake -S . -B "$build" -G Ninja >/dev/null
cmake --build "$build" --target tapedeck

echo "== replaying examples/cassettes/hello-anthropic.jsonl through tapedeck exec" >&2
exec "$build/tools/tapedeck" exec --mode replay \
  --cassette examples/cassettes/hello-anthropic.jsonl -- examples/curl/stream-anthropic.sh
