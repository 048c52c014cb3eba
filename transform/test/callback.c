// Callbacks: a function marked __attribute__((libX_callback)) loses the attribute; behind an isolating
// boundary every pointer to it (in gate arguments, initialisers, assignments) becomes the wrapper that
// gates from X's compartment into this one, declared once right after the function's first declaration
// on the same line; direct calls stay direct. Behind a plain call only the attribute goes. Lines keep
// their numbers, the copies compile, and the summary lists each callback with its boundary.
//
// RUN: rm -rf %t && split-file %s %t
// RUN: %write-cdb %t -- src/app.c src/plain.c src/app.cc
// RUN: %flex-transform -p %t --plan %t/plan.json --base %t --out-dir %t/out --summary %t/summary.json \
// RUN:   %t/src/app.c %t/src/app.cc
// RUN: FileCheck --match-full-lines %s < %t/out/src/app.c
// RUN: FileCheck --check-prefix=CXX --match-full-lines %s < %t/out/src/app.cc
// RUN: FileCheck --check-prefix=SUMMARY %s < %t/summary.json
// RUN: %clang -std=c17 -Wall -Werror -I%flexos-include -c %t/out/src/app.c -o %t/app.o
// RUN: %clang -x c++ -std=c++20 -Wall -Werror -I%flexos-include -c %t/out/src/app.cc -o %t/appxx.o
// RUN: %clang -std=c17 -c %t/wrappers.c -o %t/wrappers.o
// RUN: %clang %t/app.o %t/appxx.o %t/wrappers.o -o %t/app
// RUN: %t/app | FileCheck --check-prefix=OUT %s
// RUN: %flex-transform -p %t --plan %t/plan-call.json --base %t --out-dir %t/out-call %t/src/plain.c
// RUN: FileCheck --check-prefix=CALL --match-full-lines %s < %t/out-call/src/plain.c

//--- plan.json
{"library": "app", "compartment": "app", "isolation": "mpk", "sharing": {"stack": "dss"},
 "targets": {"ticker": {"compartment": "core", "gate": "mpk-full", "exports": ["ticker_run", "ticker_set"]},
             "app": {"compartment": "app", "gate": "call", "exports": []}}}

//--- plan-call.json
{"library": "app", "compartment": "app", "sharing": {"stack": "dss"},
 "targets": {"ticker": {"compartment": "app", "gate": "call", "exports": ["ticker_run"]},
             "app": {"compartment": "app", "gate": "call", "exports": []}}}

//--- src/app.c
#include <flexos/isolation.h>
typedef int (*tick_fn)(int);
int ticker_run(tick_fn f, int n);
void ticker_set(tick_fn f);
int on_tick(int n) __attribute__((libticker_callback));
int on_tick(int n) { return n + 1; }
struct handlers { tick_fn tick; };
static const struct handlers table = {on_tick};
int cxx_part(void);
int main(void) {
  int rc = 0;
  tick_fn f = &on_tick;
  flexos_gate_r(libticker, rc, ticker_run, on_tick, on_tick(4));
  flexos_gate(libticker, ticker_set, f);
  return (rc == 7 && table.tick == f && cxx_part() == 4) ? 0 : 1;
}
//      CHECK:#line 1 "{{.*}}/src/app.c"
//      CHECK:int on_tick(int n); extern __typeof__(on_tick) __flex_gate_core__on_tick __asm__("__flex_gate_core__on_tick");
// CHECK-NEXT:int on_tick(int n) { return n + 1; }
// CHECK-NEXT:struct handlers { tick_fn tick; };
// CHECK-NEXT:static const struct handlers table = {__flex_gate_core__on_tick};
//      CHECK:  tick_fn f = &__flex_gate_core__on_tick;
// CHECK-NEXT:  rc = (__extension__({ extern __typeof__(ticker_run) __flex_gate_app__ticker_run __asm__("__flex_gate_app__ticker_run"); &__flex_gate_app__ticker_run; }))(__flex_gate_core__on_tick, on_tick(4));
// CHECK-NEXT:  (__extension__({ extern __typeof__(ticker_set) __flex_gate_app__ticker_set __asm__("__flex_gate_app__ticker_set"); &__flex_gate_app__ticker_set; }))(f);

//--- src/app.cc
#include <flexos/isolation.h>
extern "C" int ticker_run(int (*f)(int), int n);
extern "C" {
int cxx_tick(int n) __attribute__((libticker_callback)) { return n * 3; }
}
extern "C" int cxx_part(void) {
  int rc = 0;
  flexos_gate_r(libticker, rc, ticker_run, cxx_tick, 1);
  return rc;
}
//      CXX:int cxx_tick(int n) { return n * 3; } extern __typeof__(cxx_tick) __flex_gate_core__cxx_tick __asm__("__flex_gate_core__cxx_tick");
//      CXX:  rc = (__extension__({ extern __typeof__(ticker_run) __flex_gate_app__ticker_run __asm__("__flex_gate_app__ticker_run"); &__flex_gate_app__ticker_run; }))(__flex_gate_core__cxx_tick, 1);

// SUMMARY:      "callbacks": [
// SUMMARY:          "function": "on_tick",
// SUMMARY-NEXT:     "library": "app",
// SUMMARY-NEXT:     "from": "ticker",
// SUMMARY-NEXT:     "from_compartment": "core",
// SUMMARY-NEXT:     "to_compartment": "app",
// SUMMARY-NEXT:     "kind": "mpk-full",
// SUMMARY-NEXT:     "references": 3
// SUMMARY:          "function": "cxx_tick",
// SUMMARY:          "references": 1

//--- src/plain.c
int ticker_run(int (*f)(int), int n);
int on_tick(int n) __attribute__((aligned(16), libticker_callback));
int main(void) { return ticker_run(on_tick, 1); }
//      CALL:int on_tick(int n) __attribute__((aligned(16)));
// CALL-NEXT:int main(void) { return ticker_run(on_tick, 1); }

//--- wrappers.c
#include <stdio.h>
typedef int (*tick_fn)(int);
int on_tick(int n);
int cxx_tick(int n);
// Stand-ins for flexbuild's wrappers: they say they ran, then call the function as the gate would.
int __flex_gate_core__on_tick(int n) { printf("wrapper on_tick(%d)\n", n); return on_tick(n); }
int __flex_gate_core__cxx_tick(int n) { printf("wrapper cxx_tick(%d)\n", n); return cxx_tick(n); }
int __flex_gate_app__ticker_run(tick_fn f, int n) { return f(n) + 1; }
void __flex_gate_app__ticker_set(tick_fn f) { printf("set %s\n", f == __flex_gate_core__on_tick ? "wrapper" : "raw"); }
// OUT:      wrapper on_tick(5)
// OUT-NEXT: set wrapper
// OUT-NEXT: wrapper cxx_tick(1)
