// Whitelisted globals and statics move to .data_shared (`flexos_whitelist` becomes
// `section(".data_shared")` in place). On locals of a library whose boundaries are all plain calls,
// `__attribute__((flexos_whitelist))` is stripped: the whole attribute when it is the only one in it, just
// the name and its comma otherwise. Each whitelisted variable is listed in the summary.
//
// RUN: rm -rf %t && split-file %s %t
// RUN: %write-cdb %t -- src/data.c
// RUN: %flex-transform -p %t --plan %t/plan.json --base %t --out-dir %t/out --summary %t/summary.json \
// RUN:   %t/src/data.c
// RUN: FileCheck --match-full-lines --strict-whitespace %s < %t/out/src/data.c
// RUN: FileCheck --check-prefix=SUMMARY %s < %t/summary.json
// RUN: %clang -std=c17 -Wall -Werror -I%flexos-include -fsyntax-only %t/out/src/data.c
//
//      CHECK:#line 1 "{{.*}}/src/data.c"
// CHECK-NEXT:#include <flexos/isolation.h>
// CHECK-NEXT:static char buf[512] __attribute__((section(".data_shared")));
// CHECK-NEXT:static __attribute__((section(".data_shared"))) char big[4096];
// CHECK-NEXT:static char aligned_last[64] __attribute__((aligned(64), section(".data_shared")));
// CHECK-NEXT:static char aligned_first[64] __attribute__((section(".data_shared"), aligned(64), used));
// CHECK-NEXT:static char middle[64] __attribute__((aligned(64), section(".data_shared") , used));
// CHECK-NEXT:static int separate __attribute__((section(".data_shared"))) __attribute__((used));
// CHECK-NEXT:static char spread[8] __attribute__((aligned(8),
// CHECK-NEXT:                                     section(".data_shared")));
// CHECK-NEXT:static char on_its_line[8]
// CHECK-NEXT:  __attribute__((section(".data_shared")))
// CHECK-NEXT:  = {0};
// CHECK-NEXT:int sum(void) {
// CHECK-NEXT:  char local[16] = {1};
// CHECK-NEXT:  char local_aligned[16] __attribute__((aligned(16))) = {2};
// CHECK-NEXT:  char local_first[16] __attribute__((aligned(16))) = {3};
// CHECK-NEXT:  static char counter __attribute__((section(".data_shared")));
// CHECK-NEXT:  /* a comment mentioning __attribute__((flexos_whitelist)) stays */
// CHECK-NEXT:  return buf[0] + big[0] + aligned_last[0] + aligned_first[0] + middle[0] + separate + spread[0] +
// CHECK-NEXT:         on_its_line[0] + local[0] + local_aligned[0] + local_first[0] + counter;
// CHECK-NEXT:}
// CHECK-EMPTY:
// CHECK-NOT:{{.}}
//
// SUMMARY:      "whitelisted": [
// SUMMARY-NEXT:   {
// SUMMARY-NEXT:     "file": "{{.*}}/src/data.c",
// SUMMARY-NEXT:     "line": 2,
// SUMMARY-NEXT:     "name": "buf",
// SUMMARY-NEXT:     "bytes": 512,
// SUMMARY-NEXT:     "storage": "static",
// SUMMARY-NEXT:     "inferred": false
// SUMMARY-NEXT:   },
// SUMMARY:          "line": 3,
// SUMMARY-NEXT:     "name": "big",
// SUMMARY-NEXT:     "bytes": 4096,
// SUMMARY:          "name": "aligned_last"
// SUMMARY:          "name": "aligned_first"
// SUMMARY:          "name": "middle"
// SUMMARY:          "name": "separate",
// SUMMARY-NEXT:     "bytes": 4,
// SUMMARY:          "name": "spread"
// SUMMARY:          "line": 10,
// SUMMARY-NEXT:     "name": "on_its_line"
// SUMMARY:          "line": 14,
// SUMMARY-NEXT:     "name": "local",
// SUMMARY-NEXT:     "bytes": 16,
// SUMMARY-NEXT:     "storage": "local",
// SUMMARY-NEXT:     "inferred": false
// SUMMARY:          "name": "local_aligned"
// SUMMARY:          "name": "local_first"
// SUMMARY:          "line": 17,
// SUMMARY-NEXT:     "name": "counter",
// SUMMARY-NEXT:     "bytes": 1,
// SUMMARY-NEXT:     "storage": "static",
// SUMMARY-NEXT:     "inferred": false
// SUMMARY-NEXT:   }
// SUMMARY-NEXT: ],

//--- plan.json
{"library": "data", "compartment": "app", "sharing": {"stack": "dss"},
 "targets": {"data": {"compartment": "app", "gate": "call", "exports": []}}}

//--- src/data.c
#include <flexos/isolation.h>
static char buf[512] __attribute__((flexos_whitelist));
static __attribute__((flexos_whitelist)) char big[4096];
static char aligned_last[64] __attribute__((aligned(64), flexos_whitelist));
static char aligned_first[64] __attribute__((flexos_whitelist, aligned(64), used));
static char middle[64] __attribute__((aligned(64), flexos_whitelist , used));
static int separate __attribute__((flexos_whitelist)) __attribute__((used));
static char spread[8] __attribute__((aligned(8),
                                     flexos_whitelist));
static char on_its_line[8]
  __attribute__((flexos_whitelist))
  = {0};
int sum(void) {
  char local[16] __attribute__((flexos_whitelist)) = {1};
  char local_aligned[16] __attribute__((aligned(16), flexos_whitelist)) = {2};
  char local_first[16] __attribute__((flexos_whitelist, aligned(16))) = {3};
  static char counter __attribute__((flexos_whitelist));
  /* a comment mentioning __attribute__((flexos_whitelist)) stays */
  return buf[0] + big[0] + aligned_last[0] + aligned_first[0] + middle[0] + separate + spread[0] +
         on_its_line[0] + local[0] + local_aligned[0] + local_first[0] + counter;
}
