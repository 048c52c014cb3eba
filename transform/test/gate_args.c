// What crosses an isolating gate: a string literal moves to shared read-only data (.rodata_shared, which
// the link step gathers into the image's shared section) where it is written; a pointer to a local, a
// static or a malloc'd block that is not shared is a warning naming the variable, the gate and the fix.
// Through a plain-call gate nothing changes and nothing is reported.
//
// RUN: rm -rf %t && split-file --leading-lines %s %t
// RUN: %write-cdb %t -- src/app.c
// RUN: %flex-transform -p %t --plan %t/mpk.json --base %t --out-dir %t/mpk %t/src/app.c 2> %t/mpk.err
// RUN: FileCheck %s --check-prefix=WARN --implicit-check-not=warning: < %t/mpk.err
// RUN: FileCheck %s < %t/mpk/src/app.c
// RUN: %clang -std=c17 -Wall -Werror -I%flexos-include -fsyntax-only %t/mpk/src/app.c
// RUN: %flex-transform -p %t --plan %t/call.json --base %t --out-dir %t/call %t/src/app.c 2> %t/call.err
// RUN: count 0 < %t/call.err
// RUN: FileCheck %s --check-prefix=CALL < %t/call/src/app.c

//--- mpk.json
{"library": "app", "compartment": "app", "isolation": "mpk", "sharing": {"stack": "dss"},
 "targets": {"console": {"compartment": "core", "gate": "mpk-full", "exports": ["console_put"]},
             "app": {"compartment": "app", "gate": "call", "exports": []}}}
//--- call.json
{"library": "app", "compartment": "app", "sharing": {"stack": "dss"},
 "targets": {"console": {"compartment": "app", "gate": "call", "exports": ["console_put"]},
             "app": {"compartment": "app", "gate": "call", "exports": []}}}
//--- src/app.c
#include <flexos/isolation.h>
#include <stdlib.h>
long console_put(const char *p, long n);
static char priv[8];
static char shared[8] __attribute__((flexos_whitelist));
long f(void) {
  char local[8] = "x";
  char wl[8] __attribute__((flexos_whitelist)) = "y";
  char *heap = malloc(8);
  long r = 0;
  flexos_gate_r(libconsole, r, console_put, "hello" " world", 11);
// CHECK: static const __typeof__("hello" " world") __flex_lit_{{[0-9]+}} __attribute__((section(".rodata_shared"))) = "hello" " world"; (__typeof__(("hello" " world")[0]) *)__flex_lit_{{[0-9]+}}; })), 11);
// CALL: r = console_put("hello" " world", 11);
  flexos_gate(libconsole, console_put, local, 1);
// WARN: {{.*}}/src/app.c:[[@LINE-1]]:40: warning: 'local' is a local of compartment 'app' that is not whitelisted: argument 1 of the mpk-full gate to console_put points to it, and compartment 'core' cannot access it; declare it with __attribute__((flexos_whitelist))
  flexos_gate(libconsole, console_put, &priv[2], 1);
// WARN: {{.*}}/src/app.c:[[@LINE-1]]:40: warning: 'priv' is static data private to compartment 'app': argument 1 {{.*}}; mark it __attribute__((flexos_whitelist))
  flexos_gate(libconsole, console_put, heap, 1);
// WARN: {{.*}}/src/app.c:[[@LINE-1]]:40: warning: 'heap' points to the private heap of compartment 'app': {{.*}}; allocate it with flexos_malloc_whitelist
  flexos_gate(libconsole, console_put, shared, 1);
  flexos_gate(libconsole, console_put, wl, 1);
  free(heap);
  return r;
}
