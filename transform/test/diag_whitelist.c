// flexos_whitelist annotates variables, written as __attribute__((flexos_whitelist)); anything else is an
// error at the annotation.
//
// RUN: rm -rf %t && split-file --leading-lines %s %t
// RUN: %write-cdb %t -- src/data.c
// RUN: not %flex-transform -p %t --plan %t/plan.json --base %t --out-dir %t/out %t/src/data.c 2> %t/stderr
// RUN: FileCheck %s --implicit-check-not=error: < %t/stderr
// RUN: test ! -e %t/out/src/data.c

//--- plan.json
{"library": "data", "compartment": "app", "sharing": {},
 "targets": {"data": {"compartment": "app", "gate": "call", "exports": []}}}

//--- src/data.c
#include <flexos/isolation.h>
#define SHARED __attribute__((flexos_whitelist))
void function(void) __attribute__((flexos_whitelist));
// CHECK-DAG: {{.*}}/src/data.c:[[@LINE-1]]:36: error: flexos_whitelist applies only to variables, not to 'function'
struct packet { char payload[64] __attribute__((flexos_whitelist)); };
// CHECK-DAG: {{.*}}/src/data.c:[[@LINE-1]]:49: error: flexos_whitelist applies only to variables, not to 'payload'
int parameter(int fd __attribute__((flexos_whitelist))) { return fd; }
// CHECK-DAG: {{.*}}/src/data.c:[[@LINE-1]]:37: error: flexos_whitelist applies only to variables, not to 'fd'
static char in_macro[8] SHARED;
// CHECK-DAG: {{.*}}/src/data.c:[[@LINE-1]]:25: error: flexos_whitelist inside a macro expansion is not supported yet
static char nested[8] __attribute__((aligned(flexos_whitelist)));
// Clang sees `aligned(annotate("flexos_whitelist"))` first:
// CHECK-DAG: {{.*}}/src/data.c:[[@LINE-2]]:46: error: call to undeclared function 'annotate'
// CHECK-DAG: {{.*}}/src/data.c:[[@LINE-3]]:46: error: 'aligned' attribute requires integer constant
// CHECK-DAG: {{.*}}/src/data.c:[[@LINE-4]]:46: error: flexos_whitelist must be written as __attribute__((flexos_whitelist))
// CHECK: 7 errors generated.
