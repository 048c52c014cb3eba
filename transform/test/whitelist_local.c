// Whitelisted locals of a library with isolating boundaries get shared storage (sharing.stack): the
// declaration stays as the initial value, a pointer to shared storage follows it on the same line
// (released by a cleanup on every path out of the scope), and every later use goes through it, inside
// gate arguments and other macro arguments too. The mode constant follows sharing.stack; line numbers
// never move; the copy compiles as C and as C++. A library whose boundaries are all plain calls keeps
// its locals as written (whitelist.c).
//
// RUN: rm -rf %t && split-file %s %t
// RUN: %write-cdb %t -- src/app.c
// RUN: %flex-transform -p %t --plan %t/dss.json --base %t --out-dir %t/dss %t/src/app.c
// RUN: FileCheck --match-full-lines --strict-whitespace %s < %t/dss/src/app.c
// RUN: %clang -std=c17 -Wall -Werror -I%flexos-include -fsyntax-only %t/dss/src/app.c
// RUN: %clangxx -x c++ -std=c++20 -Wall -Werror -I%flexos-include -fsyntax-only %t/dss/src/app.c
// RUN: %flex-transform -p %t --plan %t/heap.json --base %t --out-dir %t/heap %t/src/app.c
// RUN: FileCheck --check-prefix=HEAP %s < %t/heap/src/app.c
// RUN: %flex-transform -p %t --plan %t/shared.json --base %t --out-dir %t/shared %t/src/app.c
// RUN: FileCheck --check-prefix=SHARED %s < %t/shared/src/app.c
// RUN: %flex-transform -p %t --plan %t/process.json --base %t --out-dir %t/process %t/src/app.c
// RUN: FileCheck --check-prefix=PROCESS %s < %t/process/src/app.c
//
//      CHECK:#line 1 "{{.*}}/src/app.c"
// CHECK-NEXT:#include <flexos/isolation.h>
// CHECK-NEXT:void net_fill(char *buf, long n);
// CHECK-NEXT:#define FIRST(x) ((x)[0] + (x)[0] * 0) /* its argument twice: one rewrite of the one spelling */
// CHECK-NEXT:int f(int early) {
// CHECK-NEXT:  char buf[8] = "hi"; void *const __flex_wl_buf __attribute__((cleanup(flexos_wl_release))) = flexos_wl_alloc(&buf, sizeof buf, __alignof__(buf), FLEXOS_WL_DSS);
// CHECK-NEXT:  long n __attribute__((aligned(8))) = 3; void *const __flex_wl_n __attribute__((cleanup(flexos_wl_release))) = flexos_wl_alloc(&n, sizeof n, __alignof__(n), FLEXOS_WL_DSS);
// CHECK-NEXT:  char private_buf[8] = "no";
// CHECK-NEXT:  (*(__typeof__(buf) *)__flex_wl_buf)[0] = 1;
// CHECK-NEXT:  {{.*}}__flex_gate_app__net_fill{{.*}}((*(__typeof__(buf) *)__flex_wl_buf), sizeof (*(__typeof__(buf) *)__flex_wl_buf));
// CHECK-NEXT:  if (early)
// CHECK-NEXT:    return FIRST((*(__typeof__(buf) *)__flex_wl_buf)) + private_buf[0];
// CHECK-NEXT:  {
// CHECK-NEXT:    long buf = 5; /* shadows: its uses stay */
// CHECK-NEXT:    (*(__typeof__(n) *)__flex_wl_n) += buf;
// CHECK-NEXT:  }
// CHECK-NEXT:  return (*(__typeof__(buf) *)__flex_wl_buf)[1] + (int)*&(*(__typeof__(n) *)__flex_wl_n);
// CHECK-NEXT:}
// CHECK-EMPTY:
// CHECK-NOT:{{.}}
//
// HEAP: char buf[8] = "hi"; void *const __flex_wl_buf __attribute__((cleanup(flexos_wl_release))) = flexos_wl_alloc(&buf, sizeof buf, __alignof__(buf), FLEXOS_WL_HEAP);
// SHARED: char buf[8] = "hi"; void *const __flex_wl_buf __attribute__((cleanup(flexos_wl_release))) = flexos_wl_alloc(&buf, sizeof buf, __alignof__(buf), FLEXOS_WL_SHARED);
// PROCESS: char buf[8] = "hi"; void *const __flex_wl_buf {{.*}} FLEXOS_WL_DSS);
// PROCESS: __flex_gate_app__net_fill

//--- dss.json
{"library": "app", "compartment": "app", "isolation": "mpk", "sharing": {"stack": "dss"},
 "targets": {"net": {"compartment": "net", "gate": "mpk-full", "exports": ["net_fill"]},
             "app": {"compartment": "app", "gate": "call", "exports": []}}}
//--- heap.json
{"library": "app", "compartment": "app", "isolation": "mpk", "sharing": {"stack": "heap"},
 "targets": {"net": {"compartment": "net", "gate": "mpk-light", "exports": ["net_fill"]},
             "app": {"compartment": "app", "gate": "call", "exports": []}}}
//--- shared.json
{"library": "app", "compartment": "app", "isolation": "mpk", "sharing": {"stack": "shared"},
 "targets": {"net": {"compartment": "net", "gate": "mpk-full", "exports": ["net_fill"]},
             "app": {"compartment": "app", "gate": "call", "exports": []}}}
//--- process.json
{"library": "app", "compartment": "app", "isolation": "process", "sharing": {"stack": "dss"},
 "targets": {"net": {"compartment": "net", "gate": "process", "exports": ["net_fill"]},
             "app": {"compartment": "app", "gate": "call", "exports": []}}}
//--- src/app.c
#include <flexos/isolation.h>
void net_fill(char *buf, long n);
#define FIRST(x) ((x)[0] + (x)[0] * 0) /* its argument twice: one rewrite of the one spelling */
int f(int early) {
  char buf[8] __attribute__((flexos_whitelist)) = "hi";
  long n __attribute__((aligned(8), flexos_whitelist)) = 3;
  char private_buf[8] = "no";
  buf[0] = 1;
  flexos_gate(libnet, net_fill, buf, sizeof buf);
  if (early)
    return FIRST(buf) + private_buf[0];
  {
    long buf = 5; /* shadows: its uses stay */
    n += buf;
  }
  return buf[1] + (int)*&n;
}
