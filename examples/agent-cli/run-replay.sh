#!/usr/bin/env bash
# Replays an agent session: run-replay.sh CASSETTE COMMAND [ARGS...]
set -euo pipefail
cassette=${1:?usage: run-replay.sh CASSETTE COMMAND [ARGS...]}
shift
exec tapedeck exec --cassette "$cassette" --preset agent-cli --timing instant --strict -- "$@"
