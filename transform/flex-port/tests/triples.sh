#!/usr/bin/env bash
# Each semantic patch of flex-port ships as a triple: NAME.cocci, NAME.c (input), NAME.res (the expected
# output of spatch). This runs every triple with the exports of patches/exports.json and fails on any
# difference, printing it.
set -euo pipefail
patches=$(cd "$(dirname "$0")/../patches" && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/flex-port-triples.XXXXXX")
trap 'rm -rf "$work"' EXIT
status=0
n=0
for cocci in "$patches"/*.cocci; do
  name=$(basename "$cocci" .cocci)
  for f in "$patches/$name.c" "$patches/$name.res"; do
    [ -f "$f" ] || { echo "triples: $name: missing $(basename "$f")"; status=1; continue 2; }
  done
  head -n 1 "$cocci" | grep -q '^// Purpose: ' || { echo "triples: $name.cocci: the first line must say its purpose"; status=1; }
  cp "$patches/$name.c" "$work/$name.c"
  if ! (cd "$work" && FLEX_PORT_EXPORTS="$patches/exports.json" spatch --very-quiet --no-show-diff \
          --sp-file "$cocci" "$name.c" -o "$name.out" > "$name.notes" 2> "$name.err"); then
    echo "triples: $name: spatch failed:"; cat "$work/$name.err"; status=1; continue
  fi
  [ -f "$work/$name.out" ] || cp "$work/$name.c" "$work/$name.out"
  if diff -u "$patches/$name.res" "$work/$name.out"; then
    echo "triples: $name: ok ($(wc -l < "$work/$name.notes") notes)"
  else
    echo "triples: $name: the output differs from $name.res (above)"; status=1
  fi
  n=$((n + 1))
done
[ "$n" -gt 0 ] || { echo "triples: no semantic patches in $patches"; exit 1; }
exit $status
