#!/usr/bin/env bash
# Replay throughput and latency beside nginx serving the same bytes as static files, measured in
# one run with wrk (64 keep-alive connections), then replay timing error at recorded pace.
# The server gets core 0 and wrk core 1 (taskset), loopback only. The runs alternate between
# nginx and tapedeck for ROUNDS rounds, so both see the same machine; the summary gives the
# median of each, and the server's CPU time per request (utime+stime from /proc, steadier than
# requests per second on a shared machine).
#
# Usage: bench/replay_vs_nginx.sh [BUILD_DIR] [SECONDS] [ROUNDS]
# Needs: nginx, wrk (apt-get install nginx-light wrk), python3, a built tapedeck and
# replay_timing_bench (cmake --build BUILD_DIR --target tapedeck replay_timing_bench).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
secs=${2:-10}
rounds=${3:-3}
tapedeck=$build/tools/tapedeck
for tool in nginx wrk python3 taskset; do
  command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install nginx-light wrk)" >&2; exit 2; }
done
[ -x "$tapedeck" ] || { echo "build $tapedeck first" >&2; exit 2; }

work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT


# The payloads: an Anthropic non-streamed answer and a 50-event SSE stream, as a cassette (for
# tapedeck) and as static files (for nginx), byte for byte the same bodies.
python3 - "$work" <<'PY'
import json, os, sys
work = sys.argv[1]
dump = lambda v: json.dumps(v, separators=(",", ":"))
os.makedirs(f"{work}/www/v1", exist_ok=True)
message = dump({"id": "msg_bench0001", "type": "message", "role": "assistant",
                "model": "claude-sonnet-4-5",
                "content": [{"type": "text", "text": "Hello! " * 40}],
                "stop_reason": "end_turn", "stop_sequence": None,
                "usage": {"input_tokens": 24, "output_tokens": 81}})
events = ["event: message_start\ndata: " + dump({"type": "message_start", "message": {
    "id": "msg_bench0002", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
    "content": [], "usage": {"input_tokens": 24, "output_tokens": 1}}}) + "\n\n"]
for i in range(48):
    events.append("event: content_block_delta\ndata: " + dump({"type": "content_block_delta",
        "index": 0, "delta": {"type": "text_delta", "text": f"token{i} "}}) + "\n\n")
events.append("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n")
open(f"{work}/www/v1/message.json", "w").write(message)
open(f"{work}/www/v1/stream.sse", "w").write("".join(events))
req = lambda stream: {"model": "claude-sonnet-4-5", "max_tokens": 256, "stream": stream,
                      "messages": [{"role": "user", "content": "bench"}]}
def interaction(seq, stream, response):
    return {"seq": seq, "recorded_at": "2026-11-21T10:00:00.000000Z",
            "request": {"method": "POST", "path": "/v1/messages",
                        "headers": [["content-type", "application/json"]],
                        "body": {"json": req(stream)}},
            "response": response, "timing": {"headers_us": 1000, "done_us": 2000}}
plain = {"status": 200, "headers": [["content-type", "application/json"]],
         "body": {"text": message}}
streamed = {"status": 200, "headers": [["content-type", "text/event-stream"]],
            "stream": {"kind": "sse", "events": [{"at_us": 1000 + i, "data": e}
                                                  for i, e in enumerate(events)]}}
with open(f"{work}/bench.jsonl", "w") as f:
    f.write(dump({"tapedeck": "cassette", "version": 1,
                  "created_at": "2026-11-21T10:00:00.000000Z"}) + "\n")
    f.write(dump(interaction(0, False, plain)) + "\n")
    f.write(dump(interaction(1, True, streamed)) + "\n")
for name, stream in (("post_plain", False), ("post_stream", True)):
    body = dump(req(stream)).replace("\\", "\\\\").replace("'", "\\'")
    open(f"{work}/{name}.lua", "w").write(
        "wrk.method = 'POST'\nwrk.headers['content-type'] = 'application/json'\n"
        f"wrk.body = '{body}'\n")
print(f"message {len(message)} bytes, stream {len(''.join(events))} bytes in {len(events)} events")
PY

chmod -R a+rX "$work"  # nginx's worker runs as an unprivileged user

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

nginx_port=$(free_port)
cat >"$work/nginx.conf" <<NGINX
worker_processes 1;
daemon off;
pid $work/nginx.pid;
error_log $work/nginx.err warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 10000000;
  types { application/json json; text/event-stream sse; }
  server { listen 127.0.0.1:$nginx_port; root $work/www; }
}
NGINX
taskset -c 0 nginx -c "$work/nginx.conf" -p "$work" & pids+=($!)
nginx_master=$!

taskset -c 0 "$tapedeck" replay --cassette "$work/bench.jsonl" --listen 127.0.0.1:0 \
  --timing instant --log-level warn 2>"$work/tapedeck.err" & pids+=($!)
td_pid=$!
timeout 10 bash -c "until grep -q 'listening on' '$work/tapedeck.err'; do sleep 0.05; done"
td_port=$(sed -n 's/.*listening on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$work/tapedeck.err")
[ -n "$td_port" ] || { cat "$work/tapedeck.err"; exit 1; }

# Sanity: both serve the same bytes.
curl -s "http://127.0.0.1:$nginx_port/v1/stream.sse" >"$work/n.sse"
curl -s "http://127.0.0.1:$td_port/v1/messages" -H 'content-type: application/json' \
  -d "$(python3 -c 'import json;print(json.dumps({"model":"claude-sonnet-4-5","max_tokens":256,"stream":True,"messages":[{"role":"user","content":"bench"}]}))')" >"$work/t.sse"
cmp -s "$work/n.sse" "$work/t.sse" || { echo "tapedeck and nginx bytes differ" >&2; exit 1; }

nginx_worker=$(pgrep -P "$nginx_master" | head -1)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

run() {  # run LABEL SERVER_PID URL [LUA]
  local label=$1 pid=$2 url=$3 lua=${4:-}
  local out before after
  before=$(cpu_ticks "$pid")
  out=$(taskset -c 1 wrk -t1 -c64 -d"${secs}s" --latency ${lua:+-s "$lua"} "$url")
  after=$(cpu_ticks "$pid")
  local rps n p50 p99 cpu
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  n=$(awk '/requests in/ {print $1}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  cpu=$(python3 -c "print(f'{($after - $before) * 1e6 / $(getconf CLK_TCK) / $n:.1f}')")
  printf '%-14s %10s req/s   p50 %8s   p99 %8s   server CPU %5s us/req\n' \
    "$label" "$rps" "$p50" "$p99" "$cpu"
  echo "$rps $cpu" >>"$work/$label.runs"
}

echo "wrk -t1 -c64 -d${secs}s, server on core 0, wrk on core 1, $rounds rounds"
for round in $(seq "$rounds"); do
  echo "round $round"
  run nginx-json "$nginx_worker" "http://127.0.0.1:$nginx_port/v1/message.json"
  run tapedeck-json "$td_pid" "http://127.0.0.1:$td_port/v1/messages" "$work/post_plain.lua"
  run nginx-sse "$nginx_worker" "http://127.0.0.1:$nginx_port/v1/stream.sse"
  run tapedeck-sse "$td_pid" "http://127.0.0.1:$td_port/v1/messages" "$work/post_stream.lua"
done
echo "medians over $rounds rounds"
python3 - "$work" <<'PY'
import statistics, sys
work = sys.argv[1]
def med(label, col):
    return statistics.median(float(l.split()[col]) for l in open(f"{work}/{label}.runs"))
for kind in ("json", "sse"):
    n, t = med(f"nginx-{kind}", 0), med(f"tapedeck-{kind}", 0)
    nc, tc = med(f"nginx-{kind}", 1), med(f"tapedeck-{kind}", 1)
    print(f"{kind:5} nginx {n:9.0f} req/s {nc:5.1f} us/req   tapedeck {t:9.0f} req/s "
          f"{tc:5.1f} us/req   tapedeck/nginx {100 * t / n:.0f}%")
PY
grep -v 'listening on' "$work/tapedeck.err" | grep -v '^tapedeck: info' || true

echo
taskset -c 1 "$build/bench/replay_timing_bench" "$tapedeck" --streams 100 --events 50 --gap-ms 20 \
  --rounds 5 --server-cpu 0
