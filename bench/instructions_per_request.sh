#!/usr/bin/env bash
# User-space instructions per replayed request, tapedeck beside nginx serving the same bytes, as
# counted by callgrind (stable to about 0.1% whatever else the machine runs). Each server runs
# under callgrind twice: once answering N keep-alive requests on one connection, once answering
# none (start-up and shutdown only); per request = (Ir_N - Ir_0) / N. Only the server runs under
# callgrind: the client's own instructions do not count. tapedeck runs --timing instant, at its
# default --log-level (info: one access line per request) and at warn; nginx 1.22 runs one
# process (master_process off) with access_log off, as in bench/replay_vs_nginx.sh.
#
# Usage: bench/instructions_per_request.sh [BUILD_DIR] [N]
# Needs: valgrind, nginx (apt-get install valgrind nginx-light), /usr/bin/python3, a tapedeck
# built RelWithDebInfo (cmake -DCMAKE_BUILD_TYPE=RelWithDebInfo; cmake --build BUILD_DIR
# --target tapedeck). Set KEEP_CALLGRIND=DIR to keep the callgrind.out files for
# callgrind_annotate.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
n=${2:-2000}
tapedeck=$build/tools/tapedeck
py=/usr/bin/python3
for tool in valgrind nginx "$py"; do
  command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install valgrind nginx-light)" >&2; exit 2; }
done
[ -x "$tapedeck" ] || { echo "build $tapedeck first" >&2; exit 2; }

work=$(mktemp -d)
server_pid=
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
$py bench/replay_payloads.py "$work"
chmod -R a+rX "$work"

free_port() { $py -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# client PORT METHOD PATH BODY_FILE COUNT: COUNT requests on one keep-alive connection, each
# response read to its end; fails unless every status is 200 and every body is the expected one.
client() {
  $py - "$@" <<'PY'
import http.client, sys
port, method, path, body_file, count = sys.argv[1:6]
body = open(body_file, "rb").read() if body_file != "-" else None
headers = {"content-type": "application/json"} if body else {}
conn = http.client.HTTPConnection("127.0.0.1", int(port), timeout=60)
first = None
for i in range(int(count)):
    conn.request(method, path, body=body, headers=headers)
    r = conn.getresponse()
    data = r.read()
    if r.status != 200 or (first is not None and data != first):
        sys.exit(f"request {i}: status {r.status}, {len(data)} bytes")
    first = data if first is None else first
conn.close()
PY
}

# ir LABEL COUNT CLIENT_ARGS... -- SERVER_CMD...: total Ir of one callgrind run of the server
# answering COUNT requests. The server must print nothing we wait on: we poll the port.
ir() {
  local label=$1 count=$2 port=$3; shift 3
  local cargs=()
  while [ "$1" != "--" ]; do cargs+=("$1"); shift; done
  shift
  local out="$work/callgrind.$label.$count"
  valgrind --tool=callgrind --callgrind-out-file="$out" "$@" >"$work/server.out" 2>&1 &
  server_pid=$!
  timeout 60 bash -c "until $py -c 'import socket; socket.create_connection((\"127.0.0.1\", $port)).close()' 2>/dev/null; do sleep 0.2; done"
  if [ "$count" -gt 0 ]; then client "$port" "${cargs[@]}" "$count"; fi
  # A signal that lands while the server is still setting up can be lost: repeat it.
  local tries=0
  while kill -TERM "$server_pid" 2>/dev/null && [ $((tries += 1)) -le 60 ]; do
    sleep 0.5
    kill -0 "$server_pid" 2>/dev/null || break
  done
  wait "$server_pid" || true
  server_pid=
  [ -n "${KEEP_CALLGRIND:-}" ] && mkdir -p "$KEEP_CALLGRIND" && cp "$out" "$KEEP_CALLGRIND/"
  awk '/^(summary|totals):/ {print $2; exit}' "$out"
}

per_request() {  # per_request LABEL CLIENT_ARGS... -- SERVER_CMD...
  local label=$1; shift
  local i0 in
  i0=$(ir "$label" 0 "$@")
  in=$(ir "$label" "$n" "$@")
  echo "$label $(( (in - i0) / n ))" | tee -a "$work/results"
}

nginx_conf() {  # nginx_conf PORT
  cat >"$work/nginx.conf" <<NGINX
worker_processes 1;
master_process off;
daemon off;
pid $work/nginx.pid;
error_log $work/nginx.err warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 10000000;
  types { application/json json; text/event-stream sse; }
  server { listen 127.0.0.1:$1; root $work/www; }
}
NGINX
}

echo "callgrind, $n keep-alive requests on one connection minus none; Ir per request"
port=$(free_port); nginx_conf "$port"
per_request nginx-json "$port" GET /v1/message.json - -- nginx -c "$work/nginx.conf" -p "$work"
per_request nginx-sse "$port" GET /v1/stream.sse - -- nginx -c "$work/nginx.conf" -p "$work"
for level in info warn; do
  port=$(free_port)
  td=("$tapedeck" replay --cassette "$work/bench.jsonl" --listen "127.0.0.1:$port"
      --timing instant --log-level "$level")
  per_request "tapedeck-json-$level" "$port" POST /v1/messages "$work/post_plain.json" -- "${td[@]}"
  per_request "tapedeck-sse-$level" "$port" POST /v1/messages "$work/post_stream.json" -- "${td[@]}"
done
$py - "$work/results" <<'PY'
import sys
r = dict((l.split()[0], int(l.split()[1])) for l in open(sys.argv[1]))
for kind in ("json", "sse"):
    for level in ("info", "warn"):
        t, g = r[f"tapedeck-{kind}-{level}"], r[f"nginx-{kind}"]
        print(f"{kind:4} log-level {level:4}: tapedeck {t:7,} Ir/req   nginx {g:7,} Ir/req   "
              f"tapedeck/nginx {t / g:.2f}x")
PY
