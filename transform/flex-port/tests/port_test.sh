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
echo "port_test: ok"
