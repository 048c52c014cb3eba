// A source that does not parse: clang's own errors are printed against the original, the tool exits with
// status 1 (no crash) and writes no copy; a stale copy from an earlier run is removed.
//
// RUN: rm -rf %t && split-file --leading-lines %s %t
// RUN: %write-cdb %t -- src/broken.c
// RUN: mkdir -p %t/out/src && echo stale > %t/out/src/broken.c
// RUN: not %flex-transform -p %t --plan %t/plan.json --base %t --out-dir %t/out %t/src/broken.c 2> %t/stderr
// RUN: FileCheck %s < %t/stderr
// RUN: test ! -e %t/out/src/broken.c
// A missing header is a fatal error, reported the same way.
// RUN: %write-cdb %t -- src/missing.c
// RUN: not %flex-transform -p %t --plan %t/plan.json --base %t --out-dir %t/out %t/src/missing.c 2>&1 \
// RUN:   | FileCheck --check-prefix=MISSING %s
// RUN: test ! -e %t/out/src/missing.c

//--- plan.json
{"library": "app", "compartment": "app", "sharing": {},
 "targets": {"console": {"compartment": "app", "gate": "call", "exports": ["console_flush"]},
             "app": {"compartment": "app", "gate": "call", "exports": []}}}

//--- src/broken.c
#include <flexos/isolation.h>
void console_flush(void);
int broken(void) {
  flexos_gate(libconsole, console_flush)
  return 0 +;
}
// CHECK: {{.*}}/src/broken.c:[[@LINE-3]]:41: error: expected ';' after expression
// CHECK: {{.*}}/src/broken.c:[[@LINE-3]]:13: error: expected expression
// CHECK: 2 errors generated.

//--- src/missing.c
#include "no_such_header.h"
// MISSING: {{.*}}/src/missing.c:[[@LINE-1]]:10: fatal error: 'no_such_header.h' file not found
// MISSING: 1 error generated.
