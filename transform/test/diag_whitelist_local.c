// A whitelisted local in a library that reaches another compartment through an isolating gate must be
// shared (sharing.stack), which this version does not implement: an error naming the variable, the
// boundary and the fix, never a silently private datum. Thread-local data cannot be whitelisted.
//
// RUN: rm -rf %t && split-file --leading-lines %s %t
// RUN: %write-cdb %t -- src/app.c
// RUN: not %flex-transform -p %t --plan %t/plan.json --base %t --out-dir %t/out %t/src/app.c 2> %t/stderr
// RUN: FileCheck %s --implicit-check-not=error: < %t/stderr
// RUN: test ! -e %t/out/src/app.c

//--- plan.json
{"library": "app", "compartment": "app", "sharing": {"stack": "dss"},
 "targets": {"console": {"compartment": "core", "gate": "mpk-full", "exports": ["console_put"]},
             "app": {"compartment": "app", "gate": "call", "exports": []}}}

//--- src/app.c
#include <flexos/isolation.h>
static char ok[8] __attribute__((flexos_whitelist));
static _Thread_local char per_thread[8] __attribute__((flexos_whitelist));
// CHECK: {{.*}}/src/app.c:[[@LINE-1]]:56: error: thread-local variable 'per_thread' cannot be whitelisted
int f(void) {
  char buf[8] __attribute__((flexos_whitelist));
// CHECK: {{.*}}/src/app.c:[[@LINE-1]]:30: error: whitelisted local 'buf' would cross the mpk-full boundary app -> core, but sharing.stack 'dss' is not implemented by this flex-transform yet; make it `static` (shared in .data_shared) for now
  buf[0] = 1;
  return buf[0] + ok[0] + per_thread[0];
}
// CHECK: 2 errors generated.
