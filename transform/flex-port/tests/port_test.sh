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

# A call inside a larger expression is left for the user, and the summary says so and why.
mkdir -p "$work/expr/src"
printf 'name: expr\nsources: [src/expr.c]\nexports: []\nrequires: [console]\n' > "$work/expr/lib.yaml"
printf '#include <flex/console/console.h>\nint main(void) {\n  if (console_write_line("x", 1) < 0) return 1;\n  return 0;\n}\n' \
  > "$work/expr/src/expr.c"
"$here/../flex-port" --app "$work/expr" --root "$work/tree" > "$work/expr.txt" || fail "flex-port failed on expr"
grep -q "^flex-port: summary: 0 gates inserted, 0 variables shared, 1 calls left for you (calls inside larger" \
  "$work/expr.txt" || { cat "$work/expr.txt"; fail "the call left inside an expression is not in the summary"; }

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
