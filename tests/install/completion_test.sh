#!/usr/bin/env bash
# The generated shell completions (tools/manual.h) complete what tapedeck accepts: bash is driven
# through its completion function as the shell would call it; zsh's script must parse.
# Usage: completion_test.sh TAPEDECK_BINARY_DIR   (the folder holding tapedeck.bash, _tapedeck)
set -euo pipefail
dir=$1
failures=0

# complete WORDS...: what bash offers for the last word of `WORDS`.
complete_words() {
  bash --norc --noprofile -c '
    source "$1"; shift
    COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
    _tapedeck
    printf "%s\n" "${COMPREPLY[@]}" | sort -u' _ "$dir/tapedeck.bash" "$@"
}

expect() {  # expect "WORDS" "WANT (space-separated, sorted)"
  local got
  got=$(complete_words $1 | tr '\n' ' ' | sed 's/ $//')
  if [ "$got" != "$2" ]; then
    echo "FAIL: completing '$1': got '$got', want '$2'" >&2
    failures=$((failures + 1))
  fi
}

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
mkdir "$scratch/sub"
touch "$scratch/one.jsonl.zst"

expect "tapedeck re" "record replay"
expect "tapedeck --v" "--version"
expect "tapedeck replay --tim" "--timing"
expect "tapedeck record --tim" ""                    # record has no --timing
expect "tapedeck record --overw" "--overwrite"
expect "tapedeck auto --cassette-d" "--cassette-dir"
expect "tapedeck cassette v" "verify"
expect "tapedeck cassette ls --jso" "--json --jsonl"
expect "tapedeck cassette diff --compare-t" "--compare-timing"
expect "tapedeck replay --cassette $scratch/o" "$scratch/one.jsonl.zst"
expect "tapedeck replay --cassette-dir $scratch/" "$scratch/sub"
expect "tapedeck replay --timing i" ""               # a value, not a file or a flag
expect "tapedeck exec --cassette x -- bas" "$(compgen -c -- bas | sort -u | tr '\n' ' ' | sed 's/ $//')"

if command -v zsh >/dev/null 2>&1; then
  if ! zsh -n "$dir/_tapedeck"; then
    echo "FAIL: zsh cannot parse $dir/_tapedeck" >&2
    failures=$((failures + 1))
  fi
  grep -q '^#compdef tapedeck$' "$dir/_tapedeck" || {
    echo "FAIL: $dir/_tapedeck does not start with #compdef tapedeck" >&2
    failures=$((failures + 1))
  }
else
  echo "note: zsh not installed; the zsh completion is not parsed" >&2
fi

[ "$failures" -eq 0 ] && echo "completion: ok"
exit $((failures > 0))
