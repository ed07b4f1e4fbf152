#!/usr/bin/env bash
# Replay throughput and latency beside nginx serving the same bytes as static files, measured in
# one run with wrk, in two configurations:
# - unpinned, as a user runs it: server and wrk left to the scheduler, wrk -t1 -c32 -d5s
#   (keep-alive), tapedeck at its default --log-level (info: one access line per request);
# - pinned: the server gets core 0 and wrk core 1 (taskset), wrk -t1 -c64, tapedeck at warn;
# then replay timing error at recorded pace. Loopback only. In each configuration the runs
# alternate between nginx and tapedeck for ROUNDS rounds, so both see the same machine; the
# summary gives the median of each, and the server's CPU time per request (utime+stime from
# /proc, steadier than requests per second on a shared machine).
#
# Usage: bench/replay_vs_nginx.sh [BUILD_DIR] [SECONDS] [ROUNDS]   (SECONDS: pinned runs)
# PINNED=0 runs the unpinned configuration only.
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
python3 bench/replay_payloads.py "$work"

chmod -R a+rX "$work"  # nginx's worker runs as an unprivileged user

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# start_servers NAME PIN [TAPEDECK_FLAGS...]: nginx (one worker) and tapedeck, both under PIN
# (a command prefix such as "taskset -c 0", or empty); sets nginx_port, nginx_worker, td_port,
# td_pid and checks that both serve the same bytes.
start_servers() {
  local name=$1 pin=$2; shift 2
  nginx_port=$(free_port)
  mkdir -p "$work/$name"
  cat >"$work/$name/nginx.conf" <<NGINX
worker_processes 1;
daemon off;
pid $work/$name/nginx.pid;
error_log $work/$name/nginx.err warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 10000000;
  types { application/json json; text/event-stream sse; }
  server { listen 127.0.0.1:$nginx_port; root $work/www; }
}
NGINX
  $pin nginx -c "$work/$name/nginx.conf" -p "$work" & pids+=($!)
  local nginx_master=$!
  $pin "$tapedeck" replay --cassette "$work/bench.jsonl" --listen 127.0.0.1:0 \
    --timing instant "$@" 2>"$work/$name/tapedeck.err" & pids+=($!)
  td_pid=$!
  timeout 10 bash -c "until grep -q 'listening on' '$work/$name/tapedeck.err'; do sleep 0.05; done"
  td_port=$(sed -n 's/.*listening on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' \
    "$work/$name/tapedeck.err")
  [ -n "$td_port" ] || { cat "$work/$name/tapedeck.err"; exit 1; }
  timeout 10 bash -c "until pgrep -P $nginx_master >/dev/null; do sleep 0.05; done"
  nginx_worker=$(pgrep -P "$nginx_master" | head -1)
  # Sanity: both serve the same bytes.
  curl -s "http://127.0.0.1:$nginx_port/v1/stream.sse" >"$work/n.sse"
  curl -s "http://127.0.0.1:$td_port/v1/messages" -H 'content-type: application/json' \
    --data-binary "@$work/post_stream.json" >"$work/t.sse"
  cmp -s "$work/n.sse" "$work/t.sse" || { echo "tapedeck and nginx bytes differ" >&2; exit 1; }
}

# run NAME LABEL SERVER_PID WRK_PREFIX CONNECTIONS SECONDS URL [LUA]
run() {
  local name=$1 label=$2 pid=$3 prefix=$4 conns=$5 dur=$6 url=$7 lua=${8:-}
  local out before after
  before=$(cpu_ticks "$pid")
  out=$($prefix wrk -t1 -c"$conns" -d"${dur}s" --latency ${lua:+-s "$lua"} "$url")
  after=$(cpu_ticks "$pid")
  local rps n p50 p99 cpu
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  n=$(awk '/requests in/ {print $1}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  cpu=$(python3 -c "print(f'{($after - $before) * 1e6 / $(getconf CLK_TCK) / $n:.1f}')")
  printf '%-14s %10s req/s   p50 %8s   p99 %8s   server CPU %5s us/req\n' \
    "$label" "$rps" "$p50" "$p99" "$cpu"
  echo "$rps $cpu" >>"$work/$name/$label.runs"
}

# rounds NAME WRK_PREFIX CONNECTIONS SECONDS: alternate nginx and tapedeck, then the medians.
rounds() {
  local name=$1 prefix=$2 conns=$3 dur=$4
  local nginx="http://127.0.0.1:$nginx_port/v1" td="http://127.0.0.1:$td_port/v1/messages"
  for round in $(seq "$rounds"); do
    echo "round $round"
    run "$name" nginx-json "$nginx_worker" "$prefix" "$conns" "$dur" "$nginx/message.json"
    run "$name" tapedeck-json "$td_pid" "$prefix" "$conns" "$dur" "$td" "$work/post_plain.lua"
    run "$name" nginx-sse "$nginx_worker" "$prefix" "$conns" "$dur" "$nginx/stream.sse"
    run "$name" tapedeck-sse "$td_pid" "$prefix" "$conns" "$dur" "$td" "$work/post_stream.lua"
  done
  echo "medians over $rounds rounds"
  python3 - "$work/$name" <<'PY'
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
}

# Unpinned, as a user runs it: server and wrk left to the scheduler, 32 connections, 5 s runs,
# tapedeck at its default --log-level (info: an access line per request, to a file here).
echo "unpinned: wrk -t1 -c32 -d5s, no taskset, tapedeck at the default log level, $rounds rounds"
start_servers unpinned ""
rounds unpinned "" 32 5

[ "${PINNED:-1}" = 0 ] && exit 0

# Pinned: the server gets core 0 and wrk core 1, tapedeck at --log-level warn.
echo
echo "pinned: wrk -t1 -c64 -d${secs}s, server on core 0, wrk on core 1, $rounds rounds"
start_servers pinned "taskset -c 0" --log-level warn
rounds pinned "taskset -c 1" 64 "$secs"
grep -hv 'listening on' "$work"/pinned/tapedeck.err | grep -v '^tapedeck: info' || true

echo
taskset -c 1 "$build/bench/replay_timing_bench" "$tapedeck" --streams 100 --events 50 --gap-ms 20 \
  --rounds 5 --server-cpu 0
