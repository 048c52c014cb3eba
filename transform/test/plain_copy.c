// A source in which the preprocessor meets nothing the transformer acts on is copied without being parsed:
// the copy is the #line marker and the source, byte for byte; the summary lists the file alone; the depfile
// lists the headers it read. An error only a parse finds is then the compiler's to report, at the
// original's line. Whatever the full pass would act on or report still sends the source through it: a
// callback attribute (in the source or in a header), a callback word naming no library of the image, a
// preprocessing error; thread-locals in diag_thread_local.c, placeholders everywhere else.
//
// RUN: rm -rf %t && split-file --leading-lines %s %t
// RUN: %write-cdb %t -I%t/inc -- src/plain.c src/typo.c src/callback.c src/declared.c src/unknown.c src/missing.c
// RUN: %flex-transform -p %t --plan %t/plan.json --base %t --out-dir %t/out --summary %t/summary.json \
// RUN:   --depfile %t/plain.d %t/src/plain.c %t/src/typo.c %t/src/callback.c
// RUN: head -n 1 %t/out/src/plain.c | FileCheck --check-prefix=MARKER -DT=%t %s
// RUN: tail -n +2 %t/out/src/plain.c | diff - %t/src/plain.c
// RUN: FileCheck --check-prefix=SUMMARY -DT=%t %s < %t/summary.json
// RUN: FileCheck --check-prefix=DEP -DT=%t %s < %t/plain.d
// RUN: not %clang -std=c17 -fsyntax-only -I%t/inc %t/out/src/typo.c 2>&1 | FileCheck --check-prefix=TYPO %s
// RUN: FileCheck --check-prefix=CALLBACK --match-full-lines %s < %t/out/src/callback.c
// RUN: not %flex-transform -p %t --plan %t/plan.json --base %t --out-dir %t/out %t/src/declared.c 2>&1 \
// RUN:   | FileCheck --check-prefix=DECLARED %s
// RUN: not %flex-transform -p %t --plan %t/plan.json --base %t --out-dir %t/out %t/src/unknown.c 2>&1 \
// RUN:   | FileCheck --check-prefix=UNKNOWN %s
// RUN: not %flex-transform -p %t --plan %t/plan.json --base %t --out-dir %t/out %t/src/missing.c 2>&1 \
// RUN:   | FileCheck --check-prefix=MISSING %s
// RUN: test ! -e %t/out/src/missing.c

//--- plan.json
{"library": "app", "compartment": "app", "isolation": "mpk", "sharing": {"stack": "dss"},
 "targets": {"ticker": {"compartment": "core", "gate": "mpk-full", "exports": ["ticker_run"]},
             "app": {"compartment": "app", "gate": "call", "exports": []}}}

//--- inc/tick.h
int ticks(int n);

//--- inc/declares_callback.h
int on_ping(int n) __attribute__((libticker_callback));

//--- src/plain.c
#include "tick.h"
/* flexos_gate in a comment, "flexos" in a string: neither is a placeholder. */
static const char *name = "flexos";
int ticks(int n) { return n + (name[0] == 'f'); }
// MARKER: #line 1 "[[T]]/src/plain.c"
// SUMMARY: "files": [
// SUMMARY-NEXT: {
// SUMMARY-NEXT: "source": "[[T]]/src/plain.c",
// SUMMARY-NEXT: "output": "[[T]]/out/src/plain.c"
// SUMMARY: "gates": [],
// DEP-DAG: [[T]]/src/plain.c
// DEP-DAG: [[T]]/inc/tick.h

//--- src/typo.c
#include "tick.h"
int twice(int n) { return ticks(n) + undeclared_thing; }
// TYPO: {{.*}}/src/typo.c:[[@LINE-1]]:38: error: use of undeclared identifier 'undeclared_thing'

//--- src/callback.c
int on_tick(int n) __attribute__((libticker_callback));
int on_tick(int n) { return n; }
int (*pointer)(int) = on_tick;
//      CALLBACK: int on_tick(int n); extern __typeof__(on_tick) __flex_gate_core__on_tick __asm__("__flex_gate_core__on_tick");
// CALLBACK-NEXT: int on_tick(int n) { return n; }
// CALLBACK-NEXT: int (*pointer)(int) = __flex_gate_core__on_tick;

//--- src/declared.c
#include "declares_callback.h"
int on_ping(int n) { return n; }
// DECLARED: {{.*}}/inc/declares_callback.h:{{[0-9]+}}:35: error: libticker_callback in an included file is not supported yet

//--- src/unknown.c
int on_pong(int n) __attribute__((libnowhere_callback));
// UNKNOWN: {{.*}}/src/unknown.c:[[@LINE-1]]:35: error: 'libnowhere_callback' names library 'nowhere'

//--- src/missing.c
#include "nothere.h"
// MISSING: {{.*}}/src/missing.c:[[@LINE-1]]:10: fatal error: 'nothere.h' file not found
