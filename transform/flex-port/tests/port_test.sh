#!/usr/bin/env bash
# flex-port end to end: port the greeter (plain calls into console, private buffers), build the result
# with the greeter in a process compartment of its own, where a buffer that is not shared cannot be read
# by the console, and run it. Also: the input is never modified, and an existing output folder is refused.
#   port_test.sh FLEXBUILD
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../../.." && pwd)
flexbuild=$1
work=$(mktemp -d "${TMPDIR:-/tmp}/flex-port-test.XXXXXX")
trap 'rm -rf "$work"' EXIT
fail() { echo "port_test: FAIL: $*" >&2; exit 1; }

# A source tree holding the real libraries and the ported app.
mkdir -p "$work/tree/apps" "$work/tree/profiles"
ln -s "$src/libos" "$work/tree/libos"
cp -r "$here/greeter" "$work/original"
"$here/../flex-port" --app "$here/greeter" --root "$work/tree" -o "$work/tree/apps/greeter" > "$work/notes.txt"
cat "$work/notes.txt"
diff -r "$here/greeter" "$work/original" > /dev/null || fail "flex-port modified its input"

ported="$work/tree/apps/greeter/src/greeter.c"
grep -q 'static char banner\[64\] __attribute__((flexos_whitelist));' "$ported" || fail "banner not whitelisted"
grep -q 'char line\[128\] __attribute__((flexos_whitelist));' "$ported" || fail "line not whitelisted"
grep -q 'flexos_gate_r(libconsole, rc, console_write_line, banner, (size_t)n);' "$ported" || fail "no gate_r"
grep -q 'flexos_gate(libconsole, console_write_line, line, (size_t)n);' "$ported" || fail "no gate"
grep -q '^#include <flexos/isolation.h>$' "$ported" || fail "no include"
grep -q "greeter.c:7:13: note: 'banner' (a static array)" "$work/notes.txt" || fail "banner not listed"
grep -q "greeter.c:10:8: note: 'line' (a local array)" "$work/notes.txt" || fail "line not listed"
# A source with nothing to change is copied as it is, and the summary counts what was done.
cmp -s "$here/greeter/src/words.c" "$work/tree/apps/greeter/src/words.c" || fail "words.c changed"
# A whitelisted variable declared with others gets a declaration of its own, on the same line.
grep -q '^  char sep\[2\] = "-"; char done\[16\] __attribute__((flexos_whitelist)) = "greeter: done";$' "$ported" ||
  fail "the declaration of done was not split"
grep -q "greeter.c:19: note: split the declaration of sep, done" "$work/notes.txt" || fail "the split is not listed"
grep -q "^flex-port: summary: 3 gates inserted, 3 variables shared, 0 calls left for you$" "$work/notes.txt" ||
  fail "no summary"
grep -q "1 of 2 sources changed" "$work/notes.txt" || fail "not one source of two changed"

# Calls inside larger expressions: made first through a temporary where that changes nothing (an if, a
# declaration, a return), left for the user after && and in a loop condition; the summary says which.
mkdir -p "$work/expr/src"
printf 'name: expr\nsources: [src/expr.c]\nexports: []\nrequires: [console]\n' > "$work/expr/lib.yaml"
cat > "$work/expr/src/expr.c" <<'C'
#include <flex/console/console.h>
int main(void) {
  if (console_write_line("expr: one", 9) < 0) return 1;
  long n = console_write_line("expr: two", 9) + 1;
  if (n > 100 && console_write_line("expr: never", 11) < 0) return 2;
  while (n > 100 && console_write_line("expr: never", 11) < 0) {}
  return console_write_line("expr: three", 11) < 0;
}
C
"$here/../flex-port" --app "$work/expr" --root "$work/tree" > "$work/expr.txt" || fail "flex-port failed on expr"
grep -q "^flex-port: summary: 3 gates inserted, 0 variables shared, 2 calls left for you (calls it could not move" \
  "$work/expr.txt" || { cat "$work/expr.txt"; fail "the summary does not count the hoisted and the left calls"; }
grep -q "expr.c:5:.*: note: call to console_write_line inside an expression: store" "$work/expr.txt" ||
  fail "the call after && is not left"
# Without the two calls it must leave, the ported app builds and runs in a process compartment.
sed -i '/never/d' "$work/expr/src/expr.c"
"$here/../flex-port" --app "$work/expr" --root "$work/tree" -o "$work/tree/apps/expr" > "$work/expr2.txt" ||
  fail "flex-port failed on expr"
grep -q "0 calls left for you$" "$work/expr2.txt" || { cat "$work/expr2.txt"; fail "calls left in expr"; }
cat > "$work/tree/profiles/expr.yaml" <<'YAML'
name: expr-process
app: expr
compartments:
  - name: app
    isolation: process
    libraries: [expr]
  - name: core
    default: true
    libraries: [console]
YAML
"$flexbuild" --profile "$work/tree/profiles/expr.yaml" -o "$work/expr-image" > "$work/expr-build.txt" 2>&1 ||
  { cat "$work/expr-build.txt"; fail "the ported expr app does not build"; }
out=$("$work/expr-image/expr-process" 2>&1) || { echo "$out"; fail "the ported expr image failed"; }
for w in one two three; do grep -q "expr: $w" <<< "$out" || { echo "$out"; fail "expr printed no '$w'"; }; done
# A second run has nothing left to move.
"$here/../flex-port" --app "$work/tree/apps/expr" --root "$work/tree" > "$work/expr3.txt" || fail "second run"
grep -q "^flex-port: summary: 0 gates inserted, 0 variables shared, 0 calls left for you$" "$work/expr3.txt" ||
  { cat "$work/expr3.txt"; fail "a second run changed the ported app"; }

if "$here/../flex-port" --app "$here/greeter" --root "$work/tree" -o "$work/tree/apps/greeter" 2> "$work/err.txt"; then
  fail "an existing output folder was overwritten"
fi
grep -q "already exists" "$work/err.txt" || fail "no message for an existing output folder"

cat > "$work/tree/profiles/greeter.yaml" <<'YAML'
name: greeter-process
app: greeter
compartments:
  - name: app
    isolation: process
    libraries: [greeter]
  - name: core
    default: true
    libraries: [console]
YAML
"$flexbuild" --profile "$work/tree/profiles/greeter.yaml" -o "$work/image" > "$work/build.txt" 2>&1 || { cat "$work/build.txt"; fail "the ported app does not build"; }
out=$("$work/image/greeter-process" hello world 2>&1) || { echo "$out"; fail "the ported image failed"; }
echo "$out"
grep -q "greeter: 2 words" <<< "$out" || fail "no banner"
grep -q "greeter says: world" <<< "$out" || fail "no words"
grep -q "greeter: done" <<< "$out" || fail "no last line (the split declaration)"
echo "port_test: ok"
