// Callback diagnostics, each at the attribute (or parameter) with the fix: internal linkage, C++ linkage,
// too many parameters, a struct or a double by value, a variadic function, a non-function, an unknown
// library (with a suggestion), a pointer taken inside a macro. No copy is written.
//
// RUN: rm -rf %t && split-file %s %t
// RUN: %write-cdb %t -- src/bad.c src/bad.cc
// RUN: not %flex-transform -p %t --plan %t/plan.json --base %t --out-dir %t/out %t/src/bad.c 2>&1 \
// RUN:   | FileCheck %s
// RUN: not %flex-transform -p %t --plan %t/plan.json --base %t --out-dir %t/out %t/src/bad.cc 2>&1 \
// RUN:   | FileCheck --check-prefix=CXX %s
// RUN: not test -e %t/out/src/bad.c

//--- plan.json
{"library": "app", "compartment": "app", "isolation": "mpk", "sharing": {"stack": "dss"},
 "targets": {"ticker": {"compartment": "core", "gate": "mpk-light", "exports": ["ticker_run"]},
             "app": {"compartment": "app", "gate": "call", "exports": []}}}

//--- src/bad.c
struct big { long a, b; };
static int hidden(int n) __attribute__((libticker_callback));
int many(int a, int b, int c, int d, int e, int f, int g) __attribute__((libticker_callback));
int by_value(struct big b, double d) __attribute__((libticker_callback));
int dots(int n, ...) __attribute__((libticker_callback));
int not_fn __attribute__((libticker_callback));
int typo(int n) __attribute__((libtickr_callback));
int ok(int n) __attribute__((libticker_callback));
#define TAKE_OK ((void *)&ok)
void *take(void) { return TAKE_OK; }
static int hidden(int n) { return n; }
// CHECK: bad.c:7:32: error: 'libtickr_callback' names library 'tickr', which this image does not contain; did you mean 'libticker_callback'?
// CHECK: bad.c:2:41: error: callback 'hidden' must have external linkage: the wrapper that gates into it is generated outside this file; drop 'static'
// CHECK: bad.c:3:74: error: callback 'many' has 7 parameters: a gate passes at most 6; pass a pointer to a whitelisted struct
// CHECK: bad.c:4:25: error: parameter 'b' of callback 'by_value' has type 'struct big': a gate passes only integers and pointers; pass a pointer to whitelisted data
// CHECK: bad.c:4:35: error: parameter 'd' of callback 'by_value' has type 'double'
// CHECK: bad.c:5:37: error: callback 'dots' is variadic
// CHECK: bad.c:6:27: error: libticker_callback applies only to functions
// CHECK: bad.c:10:27: error: a pointer to callback 'ok' taken inside a macro cannot be rewritten to its wrapper; write the name directly in the source

//--- src/bad.cc
int plusplus(int n) __attribute__((libticker_callback));
// CXX: bad.cc:1:36: error: callback 'plusplus' must have C language linkage: declare it extern "C"
