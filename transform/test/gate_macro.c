// Gates written inside the file's own macros are rewritten where they are spelled: in the #define (once,
// for every expansion) or in a macro call's argument, in the form that is right in any context. A literal
// in the macro's body moves to shared read-only data once; a literal given at the call moves there.
// What cannot be rewritten is an error: a library or function given by a macro parameter, a gate over
// several lines of a macro, # or ##, a macro from an included file.
//
// RUN: rm -rf %t && split-file %s %t
// RUN: %write-cdb %t -- src/app.c src/bad.c
// RUN: %flex-transform -p %t --plan %t/plan.json --base %t --out-dir %t/out --summary %t/summary.json %t/src/app.c
// RUN: FileCheck --match-full-lines %s < %t/out/src/app.c
// RUN: FileCheck --check-prefix=SUMMARY %s < %t/summary.json
// RUN: %clang -std=c17 -Wall -Werror -I%flexos-include -c %t/out/src/app.c -o %t/app.o
// RUN: %clang -std=c17 -c %t/wrappers.c -o %t/wrappers.o
// RUN: %clang %t/app.o %t/wrappers.o -o %t/app
// RUN: %t/app | FileCheck --check-prefix=OUT %s
// RUN: not %flex-transform -p %t --plan %t/plan.json --base %t --out-dir %t/out %t/src/bad.c 2>&1 | FileCheck --check-prefix=BAD %s

//--- plan.json
{"library": "app", "compartment": "app", "isolation": "mpk", "sharing": {"stack": "dss"},
 "targets": {"console": {"compartment": "core", "gate": "mpk-light", "exports": ["console_put", "console_count"]},
             "app": {"compartment": "app", "gate": "call", "exports": []}}}

//--- src/app.c
#include <flexos/isolation.h>
void console_put(const char *s);
long console_count(void);
#define SAY(s) flexos_gate(libconsole, console_put, s)
#define HELLO() flexos_gate(libconsole, console_put, "hello")
#define COUNT(r) flexos_gate_r(libconsole, r, console_count)
#define CHECK(x) do { if ((x) < 0) return 1; } while (0)
int main(void) {
  long n = 0;
  SAY("one");
  SAY("two");
  HELLO();
  HELLO();
  CHECK(COUNT(n));
  CHECK(flexos_gate_r(libconsole, n, console_count));
  return n == 4 ? 0 : 1;
}
//      CHECK:#define SAY(s) ((void)(__extension__({ extern __typeof__(console_put) __flex_gate_app__console_put __asm__("__flex_gate_app__console_put"); &__flex_gate_app__console_put; }))(s))
// CHECK-NEXT:#define HELLO() ((void)(__extension__({ extern __typeof__(console_put) __flex_gate_app__console_put __asm__("__flex_gate_app__console_put"); &__flex_gate_app__console_put; }))((__extension__({ static const __typeof__("hello") __flex_lit_{{[0-9]+}} __attribute__((section(".rodata_shared"))) = "hello"; (__typeof__(("hello")[0]) *)__flex_lit_{{[0-9]+}}; }))))
// CHECK-NEXT:#define COUNT(r) (r = (__extension__({ extern __typeof__(console_count) __flex_gate_app__console_count __asm__("__flex_gate_app__console_count"); &__flex_gate_app__console_count; }))())
//      CHECK:  SAY((__extension__({ static const __typeof__("one") __flex_lit_{{[0-9]+}} __attribute__((section(".rodata_shared"))) = "one"; (__typeof__(("one")[0]) *)__flex_lit_{{[0-9]+}}; })));
// CHECK-NEXT:  SAY((__extension__({ static const __typeof__("two") __flex_lit_{{[0-9]+}} __attribute__((section(".rodata_shared"))) = "two"; (__typeof__(("two")[0]) *)__flex_lit_{{[0-9]+}}; })));
// CHECK-NEXT:  HELLO();
// CHECK-NEXT:  HELLO();
// CHECK-NEXT:  CHECK(COUNT(n));
// CHECK-NEXT:  CHECK((n = (__extension__({ extern __typeof__(console_count) __flex_gate_app__console_count __asm__("__flex_gate_app__console_count"); &__flex_gate_app__console_count; }))()));

// SUMMARY: "shared_literals": 3,
// Each with where it is spelled and its bytes, its NUL included ("one", "two", "hello"):
// SUMMARY-NEXT: "literals": [
// SUMMARY-NEXT:   {
// SUMMARY-NEXT:     "file": "{{.*}}",
// SUMMARY-NEXT:     "line": {{[0-9]+}},
// SUMMARY-NEXT:     "bytes": 4
// SUMMARY:            "bytes": 4
// SUMMARY:            "bytes": 6

//--- wrappers.c
#include <stdio.h>
static long count;
void __flex_gate_app__console_put(const char *s) { printf("put %s\n", s); count++; }
long __flex_gate_app__console_count(void) { return count; }
// OUT:      put one
// OUT-NEXT: put two
// OUT-NEXT: put hello
// OUT-NEXT: put hello

//--- src/bad.c
#include <flexos/isolation.h>
void console_put(const char *s);
#define BY_LIB(l) flexos_gate(l, console_put, "x")
#define BY_FN(f) flexos_gate(libconsole, f, "x")
#define LONG(s) flexos_gate(libconsole, \
                            console_put, s)
#define NAMED(s) flexos_gate(libconsole, console_put, #s)
void f(void) {
  BY_LIB(libconsole);
  BY_FN(console_put);
  LONG("x");
  NAMED(x);
}
// BAD: bad.c:3:31: error: the library of flexos_gate inside macro 'BY_LIB' is its parameter 'l'; flex-transform must see it written out to pick the gate
// BAD: bad.c:4:42: error: the function of flexos_gate inside macro 'BY_FN' is its parameter 'f'
// BAD: bad.c:5:17: error: flexos_gate inside a macro must be written on one line to be rewritten
// BAD: bad.c:7:55: error: flexos_gate inside a macro cannot use # or ##
