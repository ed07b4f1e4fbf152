#!/usr/bin/env bash
# The Debian package: `cpack -G DEB` in a build folder makes tapedeck_VERSION_ARCH.deb whose
# dependencies are Debian library packages (all installed here, so apt needs no network), whose
# binary is stripped and prints its version, and which carries the man page, the completions
# and the example cassettes. Unpacked into a scratch root (dpkg -x), the installed binary replays
# the bundled example. With --system it is also installed on this machine with apt-get (root or
# passwordless sudo), run from PATH, and removed again if it was not installed before.
# Usage: deb_test.sh BUILD_DIR [--system]
set -euo pipefail
build=$(cd "$1" && pwd)
system=${2:-}
scratch=$(mktemp -d)
server=""
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null || true
  rm -rf "$scratch"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  exit 1
}

cpack --config "$build/CPackConfig.cmake" -G DEB -B "$scratch/out" >"$scratch/cpack.log" 2>&1 ||
  { cat "$scratch/cpack.log" >&2; fail "cpack -G DEB failed"; }
debs=("$scratch"/out/tapedeck_*.deb)
[ -f "${debs[0]}" ] || fail "cpack made no tapedeck_*.deb"
deb=${debs[0]}
version=$("$build/tools/tapedeck" --version | cut -d' ' -f2)
[ "$(basename "$deb")" = "tapedeck_${version}_$(dpkg --print-architecture).deb" ] ||
  fail "package file $(basename "$deb"), expected tapedeck_${version}_ARCH.deb"
echo "package: $(basename "$deb"), $(stat -c %s "$deb") bytes"

# Every dependency is a Debian package, installed here: apt can install the .deb offline.
depends=$(dpkg-deb -f "$deb" Depends)
[ -n "$depends" ] || fail "the package declares no dependencies"
for lib in libevent-core libssl3 libzstd1; do
  grep -q "$lib" <<<"$depends" || fail "Depends lacks $lib: $depends"
done
for dep in $(tr ',' '\n' <<<"$depends" | sed 's/(.*)//; s/ //g'); do
  dpkg-query -W -f='${Status}' "$dep" 2>/dev/null | grep -q "install ok installed" ||
    fail "dependency $dep is not a package installed here"
done

dpkg -x "$deb" "$scratch/root"
bin=$scratch/root/usr/bin/tapedeck
for f in usr/share/man/man1/tapedeck.1.gz usr/share/bash-completion/completions/tapedeck \
  usr/share/zsh/vendor-completions/_tapedeck usr/share/doc/tapedeck/examples/hello-anthropic.jsonl; do
  [ -f "$scratch/root/$f" ] || fail "the package lacks /$f"
done
if readelf -S "$bin" | grep -qE '\.(debug_info|symtab)\b'; then
  fail "/usr/bin/tapedeck is not stripped"
fi
echo "binary: $(stat -c %s "$bin") bytes, stripped"

# replay_example TAPEDECK DOCDIR: the bundled example cassette replayed by that binary, to curl.
# tapedeck's stderr comes through a FIFO: the listening line is read as it is written (10 s
# deadline), and the rest drained to a log.
replay_example() {
  local tapedeck=$1 docdir=$2 log=$scratch/replay.log url="" line
  rm -f "$scratch/stderr"
  mkfifo "$scratch/stderr"
  "$tapedeck" replay --cassette "$docdir/examples/hello-anthropic.jsonl" --listen 127.0.0.1:0 \
    --timing instant 2>"$scratch/stderr" &
  server=$!
  exec 3<"$scratch/stderr"
  : >"$log"
  while IFS= read -r -t 10 -u 3 line; do
    echo "$line" >>"$log"
    url=$(grep -o 'http://127.0.0.1:[0-9]*' <<<"$line" || true)
    [ -n "$url" ] && break
  done
  cat <&3 >>"$log" &
  exec 3<&-
  [ -n "$url" ] || { cat "$log" >&2; fail "$tapedeck did not start listening"; }
  local answer
  answer=$(curl -sS "$url/v1/messages" -H 'content-type: application/json' \
    -H 'anthropic-version: 2023-06-01' -H 'x-api-key: placeholder' \
    -d '{"model":"claude-sonnet-4-5","max_tokens":256,"stream":true,"messages":[{"role":"user","content":"Write a haiku about tape decks."}]}')
  kill -TERM "$server"
  wait "$server" || fail "$tapedeck replay exited $?: $(cat "$log")"
  server=""
  grep -q '^event: message_stop' <<<"$answer" || fail "the replayed example is not the recorded stream: $answer"
}

[ "$("$bin" --version)" = "tapedeck $version" ] || fail "the packaged binary's --version"
replay_example "$bin" "$scratch/root/usr/share/doc/tapedeck"
echo "unpacked: tapedeck --version and a replay of the bundled example: ok"

if [ "$system" = --system ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo -n"
  was_installed=no
  dpkg-query -W -f='${Status}' tapedeck 2>/dev/null | grep -q "install ok installed" && was_installed=yes
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$deb" \
    >"$scratch/apt.log" 2>&1 || { cat "$scratch/apt.log" >&2; fail "apt-get install $deb"; }
  [ "$(command -v tapedeck)" = /usr/bin/tapedeck ] || fail "tapedeck is not on PATH as /usr/bin/tapedeck"
  [ "$(tapedeck --version)" = "tapedeck $version" ] || fail "the installed tapedeck --version"
  if [ -f /usr/share/man/man1/tapedeck.1.gz ]; then
    man -w tapedeck >/dev/null || fail "man tapedeck finds no page"
  else
    echo "note: dpkg here excludes man pages (path-exclude); man tapedeck not checked" >&2
  fi
  replay_example tapedeck /usr/share/doc/tapedeck
  if [ "$was_installed" = no ]; then
    $sudo dpkg -r tapedeck >/dev/null || fail "dpkg -r tapedeck"
  fi
  echo "apt-get install: tapedeck on PATH, --version, man page and a replay: ok"
fi
