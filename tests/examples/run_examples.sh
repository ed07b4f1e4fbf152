#!/usr/bin/env bash
# Runs the offline examples (examples/*/README.md says which) against their bundled cassettes
# through `tapedeck exec --strict`, and checks what each client printed.
# Usage: run_examples.sh TAPEDECK_BIN SOURCE_DIR
set -uo pipefail
tapedeck=${1:?tapedeck binary}
src=${2:?source dir}
cassettes=$src/examples/cassettes
node_modules=$src/tests/e2e/node_modules
passed=0
failed=0

check() {  # check NAME EXPECTED_SUBSTRING OUTPUT_FILE STATUS
  if [ "$4" -eq 0 ] && grep -qF -- "$2" "$3"; then
    echo "ok: $1"
    passed=$((passed + 1))
  else
    echo "FAILED: $1 (exit $4); output:"
    cat "$3"
    failed=$((failed + 1))
  fi
}

out=$(mktemp)
trap 'rm -rf "$out" "${work:-}"' EXIT

"$tapedeck" exec --strict --log-level warn --cassette "$cassettes/hello-anthropic.jsonl" \
  -- "$src/examples/curl/stream-anthropic.sh" >"$out" 2>&1
check "curl streams the recorded haiku" "same words, same pauses." "$out" $?

if command -v node >/dev/null && [ -d "$node_modules/@anthropic-ai/sdk" ]; then
  # ESM resolves packages next to the script, so run each app from a folder that has them.
  work=$(mktemp -d)
  ln -s "$node_modules" "$work/node_modules"
  cp "$src/examples/anthropic-typescript/app.mjs" "$work/anthropic.mjs"
  cp "$src/examples/openai-node/app.mjs" "$work/openai.mjs"
  "$tapedeck" exec --strict --log-level warn --timing instant \
    --cassette "$cassettes/hello-anthropic.jsonl" -- node "$work/anthropic.mjs" >"$out" 2>&1
  status=$?
  check "anthropic sdk streams the haiku" "Magnetic ribbon turns," "$out" $status
  check "anthropic sdk final message" "[stop_reason=end_turn output_tokens=12]" "$out" $status
  "$tapedeck" exec --strict --log-level warn --timing instant \
    --cassette "$cassettes/hello-openai.jsonl" -- node "$work/openai.mjs" >"$out" 2>&1
  status=$?
  check "openai sdk streams the greeting" "Hello there, friend." "$out" $status
  check "openai sdk finish reason" "[finish_reason=stop]" "$out" $status
else
  echo "skipped: the SDK examples need node and tests/e2e/node_modules (npm ci in tests/e2e)"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
