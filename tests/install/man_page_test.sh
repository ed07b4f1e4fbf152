#!/usr/bin/env bash
# The generated man page (tools/manual.h) renders without a groff warning and documents every
# flag each subcommand's --help lists, and every subcommand.
# Usage: man_page_test.sh TAPEDECK_BINARY_DIR
set -euo pipefail
dir=$1
page=$dir/tapedeck.1
failures=0

warnings=$(groff -man -Tutf8 -ww -z "$page" 2>&1 || true)
if [ -n "$warnings" ]; then
  echo "FAIL: groff warns about $page:" >&2
  echo "$warnings" >&2
  failures=$((failures + 1))
fi

text=$(MANWIDTH=200 man -l "$page" 2>/dev/null | col -b)
for cmd in record replay auto passthrough exec cassette config; do
  grep -q "^ *$cmd\b" <<<"$text" || {
    echo "FAIL: the man page has no entry for the $cmd command" >&2
    failures=$((failures + 1))
  }
  for flag in $("$dir/tapedeck" "$cmd" --help | grep -oE '^  --[a-z-]+' | tr -d ' '); do
    grep -qE "^ *$flag( |$)" <<<"$text" || {
      echo "FAIL: the man page does not document $flag (tapedeck $cmd --help lists it)" >&2
      failures=$((failures + 1))
    }
  done
done
grep -q "tapedeck $("$dir/tapedeck" --version | cut -d' ' -f2)" <<<"$text" || {
  echo "FAIL: the man page does not carry the version tapedeck --version prints" >&2
  failures=$((failures + 1))
}

[ "$failures" -eq 0 ] && echo "man page: ok"
exit $((failures > 0))
