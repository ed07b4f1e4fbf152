#!/usr/bin/env bash
# Regenerates the seed corpora in tests/fuzz/corpus/ from the golden cassettes and synthetic
# inputs (never from ../shared/fixtures, which is not ours to ship). Input formats are in each
# harness's header comment. Files named regress-* are inputs that once failed a harness: this
# script leaves them alone. Needs jq and zstd (scripts/deps.sh). Usage: tests/fuzz/make_corpus.sh
set -euo pipefail
cd "$(dirname "$0")"
golden=../golden/cassettes/v2  # a shipped format version (every one keeps loading)
out=corpus
mkdir -p $out/{sse_framer,cassette_reader,interaction_line,http_parser,redact,json_path}_fuzz

put() {  # put DIR/NAME FORMAT [ARGS...]: printf into the corpus file
  local file=$out/$1
  shift
  mkdir -p "$(dirname "$file")"
  # shellcheck disable=SC2059
  printf "$@" >"$file"
}

# --- sse_framer_fuzz: one byte salting the split seed, then the stream ------------------------
events() {  # the SSE bytes of every stream in a golden cassette, in order
  jq -j '.response.stream.events[]?.data // empty' "$golden/$1"
}
{ printf '0'; events anthropic-basic.jsonl; } >"$out/sse_framer_fuzz/anthropic-stream.sse"
{ printf '1'; events openai-chat.jsonl; } >"$out/sse_framer_fuzz/openai-stream-done.sse"
{ printf '2'; events edge-cases.jsonl; } >"$out/sse_framer_fuzz/edge-cases-crlf-truncated.sse"
put sse_framer_fuzz/crlf-events.sse '3event: a\r\ndata: 1\r\n\r\ndata: 2\r\n\r\n'
put sse_framer_fuzz/cr-only-events.sse '4event: a\rdata: 1\r\rdata: 2\r\r'
put sse_framer_fuzz/cr-held-at-end.sse '5data: x\r\r'
put sse_framer_fuzz/mixed-line-ends.sse '6data: a\r\n\ndata: b\n\r\ndata: c\r\r\ndata: d\n\n'
put sse_framer_fuzz/comments-and-ping.sse '7: ping\n\n:\n\n: keep-alive\r\n\r\ndata: x\n\n'
put sse_framer_fuzz/stray-blank-lines.sse '8\n\r\n\r\ndata: x\n\n\n\r\r\n'
put sse_framer_fuzz/fields-id-retry.sse '9id: 7\nretry: 1500\nevent: update\ndata\ndata:no-space\n\n'
put sse_framer_fuzz/truncated-event.sse 'adata: {"partial":'
put sse_framer_fuzz/done-marker.sse 'bdata: [DONE]\n\n'

# --- cassette_reader_fuzz: cassette files, plain and zstd -------------------------------------
for f in anthropic-basic.jsonl anthropic-basic.jsonl.zst edge-cases.jsonl openai-chat.jsonl \
  two-providers.jsonl; do
  cp "$golden/$f" "$out/cassette_reader_fuzz/golden-$f"
done
header='{"tapedeck":"cassette","version":2,"created_at":"2026-11-21T08:32:33.123456Z"}'
line='{"seq":0,"recorded_at":"2026-11-21T08:34:00.000000Z","request":{"method":"GET","path":"/v1/models","headers":[]},"response":{"status":200,"headers":[],"body":{"text":"ok"}},"timing":{"headers_us":1,"done_us":2}}'
put cassette_reader_fuzz/header-only.jsonl '%s\n' "$header"
put cassette_reader_fuzz/no-final-newline.jsonl '%s\n%s' "$header" "$line"
put cassette_reader_fuzz/cut-last-line.jsonl '%s\n%s\n%s' "$header" "$line" "${line:0:60}"
put cassette_reader_fuzz/newer-version.jsonl '{"tapedeck":"cassette","version":999}\n'
put cassette_reader_fuzz/version-1.jsonl '%s\n%s\n' "${header/\"version\":2/\"version\":1}" "$line"
put cassette_reader_fuzz/not-a-cassette.jsonl '{"hello":"world"}\n'
put cassette_reader_fuzz/request-json-not-exact.jsonl '%s\n%s\n' "$header" \
  '{"seq":3,"request":{"method":"POST","path":"/x","headers":[],"body":{"json":{"b":1.50,"a":[1e5]},"exact":false}},"response":{"status":200,"headers":[],"stream":{"kind":"chunks","events":[{"at_us":5,"data_b64":"/w==","splits":[[1,2]]}]}},"truncated":{"base64":"/w=="}}'
{ printf '%s\n' "$header"; printf '%.0s[' {1..600}; printf '\n'; } \
  >"$out/cassette_reader_fuzz/nested-too-deep.jsonl"
zstd -q -c "$golden/edge-cases.jsonl" >"$out/cassette_reader_fuzz/edge-cases.jsonl.zst"
# The pretty form `cassette cat` prints and the reader takes back, and an event shortened by hand
# whose splits no longer fit (dropped with a note).
jq . "$golden/anthropic-basic.jsonl" >"$out/cassette_reader_fuzz/pretty-anthropic-basic.json"
put cassette_reader_fuzz/split-past-event.jsonl '%s\n%s\n' "$header" \
  '{"seq":0,"request":{"method":"GET","path":"/"},"response":{"status":200,"stream":{"kind":"sse","events":[{"at_us":9,"data":"data: x\\n\\n","splits":[[3,1],[40,2]]}]}}}'
head -c 300 "$golden/anthropic-basic.jsonl.zst" >"$out/cassette_reader_fuzz/cut-zstd-frame.jsonl.zst"

# --- interaction_line_fuzz: one interaction line ----------------------------------------------
for f in anthropic-basic edge-cases openai-chat; do
  n=0
  tail -n +2 "$golden/$f.jsonl" | while IFS= read -r l; do
    n=$((n + 1))
    printf '%s' "$l" >"$out/interaction_line_fuzz/golden-$f-$n.jsonl"
  done
done
put interaction_line_fuzz/request-json-not-exact.jsonl '%s' \
  '{"seq":3,"request":{"method":"POST","path":"/x","headers":[],"body":{"json":{"b":1.50,"a":[1e5]},"exact":false}},"response":{"status":200,"headers":[],"stream":{"kind":"chunks","events":[{"at_us":5,"data_b64":"/w==","splits":[[1,2]]}]}},"truncated":{"base64":"/w=="}}'
put interaction_line_fuzz/split-past-event.jsonl '%s' \
  '{"seq":0,"request":{"method":"GET","path":"/"},"response":{"status":200,"stream":{"kind":"sse","events":[{"at_us":9,"data":"data: x\\n\\n","splits":[[3,1],[40,2]]}]}}}'
{ zstd -q -c <<<"$header"; zstd -q -c <<<"$line"; } >"$out/cassette_reader_fuzz/two-frames.jsonl.zst"

# --- http_parser_fuzz: a flags byte, then the connection's bytes ------------------------------
# Flags: P request, Q response, S response to HEAD, T request with small limits, U response with
# small limits (bit 0 response, bit 1 HEAD, bit 2 small limits; see http_parser_fuzz.cc).
put http_parser_fuzz/get.http 'PGET /v1/models?limit=2 HTTP/1.1\r\nHost: h\r\nAccept: */*\r\n\r\n'
put http_parser_fuzz/post-content-length.http \
  'PPOST /v1/messages HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n{"model":"x"}'
put http_parser_fuzz/post-chunked-trailers.http \
  'PPOST /u HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\n0\r\nX-T: 1\r\n\r\n'
put http_parser_fuzz/pipelined.http \
  'PGET /a HTTP/1.1\r\nHost: h\r\n\r\nPOST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nhiGET /c HTTP/1.0\r\n\r\n'
put http_parser_fuzz/expect-continue.http \
  'PPUT /f HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\nx'
put http_parser_fuzz/absolute-form-http10.http \
  'P\r\nGET http://h/x HTTP/1.0\r\nConnection: keep-alive\r\n\r\n'
put http_parser_fuzz/smuggling-cl-te.http \
  'PPOST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'
put http_parser_fuzz/response-sse-chunked.http \
  'QHTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n10\r\ndata: {"a":1}\n\n\r\n0\r\n\r\n'
put http_parser_fuzz/response-interim-then-length.http \
  'QHTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello'
put http_parser_fuzz/response-until-close.http 'QHTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nbody to eof'
put http_parser_fuzz/response-204-and-304.http \
  'QHTTP/1.1 204 No Content\r\nContent-Length: 3\r\n\r\nHTTP/1.1 304 Not Modified\r\n\r\n'
put http_parser_fuzz/response-to-head.http 'SHTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n'
put http_parser_fuzz/small-limits-request.http \
  'TPOST /x HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\nContent-Length: 300\r\n\r\n'
put http_parser_fuzz/small-limits-response.http \
  'UHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n100\r\n'

# --- redact_fuzz: sections split by 0x1e, events by 0x1f, splices of 3 bytes ------------------
# Splice = (fake key, place, where 0..255); fake keys by index: 0 anthropic, 1 openai, 2 "Bearer "
# + token, 3 bare token, 4 aws, 5 jwt, 6 google, 7 github, 8 PEM private key. Places: 0 path,
# 1 request body, 2 response body, then query values, request headers, response headers, events.
RS=$'\x1e'
US=$'\x1f'
printf '%s' "/v1/messages?beta=true${RS}x-api-key: placeholder
anthropic-version: 2023-06-01
x-echo: seen ${RS}{\"model\":\"claude\",\"system\":\"use  please\"}${RS}content-type: application/json${RS}{\"echo\":\"\"}${RS}${RS}" \
  >"$out/redact_fuzz/anthropic-request-keys.txt"
printf '\x00\x01\x80\x04\x03\xff\x06\x02\xc0' >>"$out/redact_fuzz/anthropic-request-keys.txt"
printf '%s' "/v1/chat/completions${RS}authorization: Bearer x${RS}${RS}content-type: text/event-stream${RS}${RS}data: {\"a\":\"\"}

${US}event: ping
data: x

${US}data: [DONE]

${RS}" >"$out/redact_fuzz/openai-stream-keys.txt"
printf '\x01\x03\x80\x05\x04\x40\x02\x05\x00' >>"$out/redact_fuzz/openai-stream-keys.txt"
put redact_fuzz/credential-query-and-headers.txt '%s' \
  "/v1/files?key=abc&api_key=&x-amz-signature=1&q=2${RS}Cookie: a=b
Set-Cookie: c
Proxy-Authorization: Basic x
x-goog-api-key: [REDACTED]${RS}${RS}Set-Cookie: session=1${RS}${RS}${RS}"
put redact_fuzz/prose-near-misses.txt '%s' \
  "/task-antelope/sk-learn${RS}${RS}Bearer x; sk-compatible-endpoint; AKIA short; eyJ.eyJ; ghp_ ; -----BEGIN CERTIFICATE-----${RS}${RS}[REDACTED] [REDACTED:openai-key] [REDACTED:x${RS}"
printf '%s' "/p${RS}${RS}-----END RSA PRIVATE KEY-----${RS}${RS}${RS}${RS}" \
  >"$out/redact_fuzz/keys-back-to-back.txt"
printf '\x08\x01\x00\x00\x01\xff\x08\x02\x00\x04\x02\xff\x02\x01\x80' \
  >>"$out/redact_fuzz/keys-back-to-back.txt"
printf '%s' "/v1/x${RS}${RS}{\"pem\":\"\"}${RS}${RS}${RS}data: \"\"

${US}${US}x${RS}" >"$out/redact_fuzz/split-events-with-keys.txt"
printf '\x08\x01\x8c\x00\x03\x80\x07\x04\x00\x06\x05\xff' >>"$out/redact_fuzz/split-events-with-keys.txt"

# --- json_path_fuzz: the path, 0x1e, a JSON document ------------------------------------------
put json_path_fuzz/key-path.txt '%s' "metadata.user_id${RS}{\"metadata\":{\"user_id\":\"u1\",\"x\":2}}"
put json_path_fuzz/wildcard-over-array.txt '%s' \
  "messages.*.content${RS}{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"},{\"content\":[1,2]},3]}"
put json_path_fuzz/index.txt '%s' "messages.1.content${RS}{\"messages\":[{\"content\":1},{\"content\":2}]}"
put json_path_fuzz/numeric-object-key.txt '%s' "logit_bias.50256${RS}{\"logit_bias\":{\"50256\":-100}}"
put json_path_fuzz/escaped-dot-and-backslash.txt '%s' \
  "a\\.b.c\\\\d${RS}{\"a.b\":{\"c\\\\d\":true}}"
put json_path_fuzz/wildcards-deep.txt '%s' "*.*.*.*${RS}[[[[1,2]],{\"k\":[3]}]]"
put json_path_fuzz/leading-zero-index.txt '%s' "a.01${RS}{\"a\":[0,1],\"01\":2}"
put json_path_fuzz/path-only.txt '%s' "tools.*.cache_control"
put json_path_fuzz/bad-escape.txt '%s' "a\\x.b"
put json_path_fuzz/empty-segment.txt '%s' "a..b"
put json_path_fuzz/trailing-backslash.txt '%s' "a\\"

echo "corpus written to tests/fuzz/$out" >&2
