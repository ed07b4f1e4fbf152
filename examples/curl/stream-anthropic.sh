#!/usr/bin/env bash
# Streams a haiku from the Messages API at $ANTHROPIC_BASE_URL and prints the text as it comes.
# Against `tapedeck replay` (or `tapedeck exec`) with examples/cassettes/hello-anthropic.jsonl it
# needs no key and no network.
set -euo pipefail
: "${ANTHROPIC_BASE_URL:?set ANTHROPIC_BASE_URL, e.g. http://127.0.0.1:8765}"
: "${ANTHROPIC_API_KEY:?set ANTHROPIC_API_KEY (any placeholder works against a replay)}"

curl -sSN --fail-with-body "$ANTHROPIC_BASE_URL/v1/messages" \
  -H "content-type: application/json" \
  -H "anthropic-version: 2023-06-01" \
  -H "x-api-key: $ANTHROPIC_API_KEY" \
  -d '{"model":"claude-sonnet-4-5","max_tokens":256,"stream":true,
       "messages":[{"role":"user","content":"Write a haiku about tape decks."}]}' |
  sed -un 's/^data: //p' |
  jq --unbuffered -rj 'select(.type == "content_block_delta") | .delta.text'
echo
