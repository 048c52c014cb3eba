// Whitelisted data that cannot be given shared storage safely is an error at the variable, naming it and
// the fix, and no copy is written: thread-local data; a local in a function that uses setjmp/longjmp or
// a computed goto (control could leave the scope without releasing the storage); a local sharing its
// declaration with others; a variable-length array; `register` and const locals; a use written in a
// macro's own definition.
//
// RUN: rm -rf %t && split-file --leading-lines %s %t
// RUN: %write-cdb %t -- src/app.c
// RUN: not %flex-transform -p %t --plan %t/plan.json --base %t --out-dir %t/out %t/src/app.c 2> %t/stderr
// RUN: FileCheck %s --implicit-check-not=error: < %t/stderr
// RUN: test ! -e %t/out/src/app.c

//--- plan.json
{"library": "app", "compartment": "app", "isolation": "mpk", "sharing": {"stack": "dss"},
 "targets": {"console": {"compartment": "core", "gate": "mpk-full", "exports": ["console_put"]},
             "app": {"compartment": "app", "gate": "call", "exports": []}}}

//--- src/app.c
#include <flexos/isolation.h>
#include <setjmp.h>
static char ok[8] __attribute__((flexos_whitelist));
static _Thread_local char per_thread[8] __attribute__((flexos_whitelist));
// CHECK: {{.*}}/src/app.c:[[@LINE-1]]:56: error: thread-local variable 'per_thread' cannot be whitelisted
jmp_buf env;
int jumps(void) {
  char buf[8] __attribute__((flexos_whitelist));
// CHECK: {{.*}}/src/app.c:[[@LINE-1]]:8: error: whitelisted local 'buf' cannot be given shared storage safely: 'jumps' uses setjmp/longjmp or a computed goto
  if (setjmp(env)) return 1;
// CHECK: {{.*}}/src/app.c:[[@LINE-1]]:7: error: the construct is here
  return buf[0] + ok[0] + per_thread[0];
}
int computed(int i) {
  static void *labels[] = {&&a, &&b};
  long x __attribute__((flexos_whitelist)) = 1;
// CHECK: {{.*}}/src/app.c:[[@LINE-1]]:8: error: whitelisted local 'x' cannot be given shared storage safely: 'computed' uses setjmp/longjmp or a computed goto
// CHECK: {{.*}}/src/app.c:[[@LINE-3]]:28: error: the construct is here
  goto *labels[i];
a:
  return (int)x;
b:
  return 0;
}
#define PEEK() (m[0])
int shapes(int n) {
  char a __attribute__((flexos_whitelist)), b;
// CHECK: {{.*}}/src/app.c:[[@LINE-1]]:8: error: whitelisted local 'a' shares its declaration with other variables; declare it on its own
  char vla[n] __attribute__((flexos_whitelist));
// CHECK: {{.*}}/src/app.c:[[@LINE-1]]:8: error: whitelisted local 'vla' is a variable-length array; give it a constant size
  register int r __attribute__((flexos_whitelist)) = 0;
// CHECK: {{.*}}/src/app.c:[[@LINE-1]]:16: error: whitelisted local 'r' is declared `register`
  const int c __attribute__((flexos_whitelist)) = 1;
// CHECK: {{.*}}/src/app.c:[[@LINE-1]]:13: error: whitelisted local 'c' is const; a read-only datum can be a whitelisted static instead
  char m[4] __attribute__((flexos_whitelist)) = {0};
  return a + b + vla[0] + r + c + PEEK();
// CHECK: {{.*}}/src/app.c:[[@LINE-1]]:35: error: whitelisted local 'm' is used inside a macro's definition here
}
// CHECK: 10 errors generated.
