// What crosses an isolating gate is followed to where it points, and shared there: a string literal moves
// to shared read-only data (.rodata_shared); a local or a static of the source is shared as if
// whitelisted, also when the pointer reaches the gate through a parameter, a pointer variable, a struct
// field or a function's return; a malloc'd block comes from the shared heap. Each automatic share is a
// note. A pointer the build cannot follow is a warning naming the gate, the argument and the chain.
// Through a plain-call gate nothing changes and nothing is reported.
//
// RUN: rm -rf %t && split-file --leading-lines %s %t
// RUN: %write-cdb %t -- src/app.c
// RUN: %flex-transform -p %t --plan %t/mpk.json --base %t --out-dir %t/mpk --summary %t/summary.json %t/src/app.c 2> %t/mpk.err
// RUN: FileCheck %s --check-prefix=DIAG --implicit-check-not=warning: --implicit-check-not=error: < %t/mpk.err
// RUN: FileCheck %s < %t/mpk/src/app.c
// RUN: FileCheck %s --check-prefix=SUMMARY < %t/summary.json
// RUN: %clang -std=c17 -Wall -Werror -I%flexos-include -fsyntax-only %t/mpk/src/app.c
// RUN: %flex-transform -p %t --plan %t/call.json --base %t --out-dir %t/call %t/src/app.c 2> %t/call.err
// RUN: count 0 < %t/call.err
// RUN: FileCheck %s --check-prefix=CALL < %t/call/src/app.c

//--- mpk.json
{"library": "app", "compartment": "app", "isolation": "mpk", "sharing": {"stack": "dss"},
 "targets": {"console": {"compartment": "core", "gate": "mpk-full", "exports": ["console_put"]},
             "app": {"compartment": "app", "gate": "call", "exports": ["app_entry"]}}}
//--- call.json
{"library": "app", "compartment": "app", "sharing": {"stack": "dss"},
 "targets": {"console": {"compartment": "app", "gate": "call", "exports": ["console_put"]},
             "app": {"compartment": "app", "gate": "call", "exports": ["app_entry"]}}}
//--- src/app.c
#include <flexos/isolation.h>
#include <stdlib.h>
long console_put(const char *p, long n);
static char priv[8];
// DIAG-DAG: {{.*}}/src/app.c:[[@LINE-1]]:13: note: 'priv' is shared automatically: argument 1 of the mpk-full gate to console_put points to it ('priv' (a static))
// CHECK: static char priv[8] __attribute__((section(".data_shared")));
// CALL: static char priv[8];
static char shared[8] __attribute__((flexos_whitelist));
struct conn { int fd; char in[32]; char *out; };
static struct conn conns[4];
// CHECK: static struct conn conns[4] __attribute__((section(".data_shared")));
static char reply[16];
// CHECK: static char reply[16] __attribute__((section(".data_shared")));
static char *table[2];

// A parameter: followed to the calls of say in this source.
static void say(const char *msg, long n) {
  flexos_gate(libconsole, console_put, msg, n);
}
// A function's return: followed to what it returns.
static char *make(void) {
  return malloc(16);
// CHECK: return flexos_malloc_whitelist(16);
}
// A pointer handed in through a gate arrives shared.
long app_entry(const char *from_gate) {
  flexos_gate(libconsole, console_put, from_gate, 1);
  return 0;
}

long f(int i) {
  char local[8] = "x";
// CHECK: char local[8] = "x"; void *const __flex_wl_local __attribute__((cleanup(flexos_wl_release))) = flexos_wl_alloc(&local, sizeof local, __alignof__(local), FLEXOS_WL_DSS);
// DIAG-DAG: {{.*}}/src/app.c:[[@LINE-2]]:8: note: 'local' is shared automatically: argument 1 of the mpk-full gate to console_put points to it ('msg' (a parameter of say) <- 'local' (a local of f))
  char wl[8] __attribute__((flexos_whitelist)) = "y";
  char *heap = malloc(8);
// CHECK: char *heap = flexos_malloc_whitelist(8);
// DIAG-DAG: {{.*}}/src/app.c:[[@LINE-2]]:16: note: this malloc() allocates from the shared heap: argument 1 of the mpk-full gate to console_put points to its block ('heap' (a local of f) <- malloc())
  const char *text = "through a variable";
// CHECK: const char *text = (__extension__({ static const __typeof__("through a variable") __flex_lit_{{[0-9]+}} __attribute__((section(".rodata_shared"))) = "through a variable"; (__typeof__(("through a variable")[0]) *)__flex_lit_{{[0-9]+}}; }));
  struct conn *c = &conns[i];
  char *made = make();
  long r = 0;
  flexos_gate_r(libconsole, r, console_put, "hello" " world", 11);
// CHECK: static const __typeof__("hello" " world") __flex_lit_{{[0-9]+}} __attribute__((section(".rodata_shared"))) = "hello" " world"; (__typeof__(("hello" " world")[0]) *)__flex_lit_{{[0-9]+}}; })), 11);
// CALL: r = console_put("hello" " world", 11);
  say(local, 1);
  flexos_gate(libconsole, console_put, &priv[2], 1);
  flexos_gate(libconsole, console_put, heap, 1);
  flexos_gate(libconsole, console_put, text, 1);
  flexos_gate(libconsole, console_put, c->in, 1);
// DIAG-DAG: note: 'conns' is shared automatically: argument 1 of the mpk-full gate to console_put points to it ('c' (a local of f) <- 'conns' (a static))
  c->out = reply;
  flexos_gate(libconsole, console_put, conns[0].out, 1);
// DIAG-DAG: note: 'reply' is shared automatically: argument 1 of the mpk-full gate to console_put points to it (field 'out' <- 'reply' (a static))
  flexos_gate(libconsole, console_put, made, 1);
// DIAG-DAG: note: this malloc() allocates from the shared heap: argument 1 of the mpk-full gate to console_put points to its block ('made' (a local of f) <- make() <- malloc())
  flexos_gate(libconsole, console_put, table[i], 1);
// DIAG-DAG: {{.*}}/src/app.c:[[@LINE-1]]:40: warning: argument 1 of the mpk-full gate to console_put: the build cannot tell where it points: it is read from an array of pointers; compartment 'core' can reach it only if it is shared (a whitelisted variable, a flexos_malloc_whitelist block)
  flexos_gate(libconsole, console_put, shared, 1);
  flexos_gate(libconsole, console_put, wl, 1);
  flexos_gate(libconsole, console_put, 0, 0);
  free(heap);
  return r;
}
// SUMMARY: "name": "local",
// SUMMARY: "storage": "local",
// SUMMARY-NEXT: "inferred": true
