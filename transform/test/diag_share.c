// Memory a gate's pointer reaches that cannot be shared from this source is an error naming the gate, the
// argument, the chain and the fix, and no copy is written: a variable defined in another source, a
// thread-local, a block from an allocator the shared heap does not have (strdup), and a local that
// shares its declaration with others.
//
// RUN: rm -rf %t && split-file --leading-lines %s %t
// RUN: %write-cdb %t -- src/app.c
// RUN: not %flex-transform -p %t --plan %t/plan.json --base %t --out-dir %t/out %t/src/app.c 2> %t/stderr
// RUN: FileCheck %s --implicit-check-not=error: < %t/stderr
// RUN: test ! -e %t/out/src/app.c

//--- plan.json
{"library": "app", "compartment": "app", "isolation": "process", "sharing": {"stack": "dss"},
 "targets": {"net": {"compartment": "core", "gate": "process", "exports": ["net_send"]},
             "app": {"compartment": "app", "gate": "call", "exports": []}}}

//--- src/app.c
#define _GNU_SOURCE
#include <flexos/isolation.h>
#include <string.h>
long net_send(int s, const void *buf, unsigned long len, int flags);
extern char elsewhere[64];
static _Thread_local char mine[8];
// CHECK-DAG: {{.*}}/src/app.c:[[@LINE-1]]:27: error: thread-local variable 'mine' cannot be isolated in compartment 'app'
void f(int s, const char *name) {
  long r;
  flexos_gate_r(libnet, r, net_send, s, elsewhere, 64, 0);
// CHECK-DAG: {{.*}}/src/app.c:[[@LINE-1]]:41: error: argument 2 of the process gate to net_send points to memory compartment 'core' cannot be given ('elsewhere' (a static)): it is defined in another source: mark its definition __attribute__((flexos_whitelist))
  flexos_gate_r(libnet, r, net_send, s, mine, 8, 0);
// CHECK-DAG: {{.*}}/src/app.c:[[@LINE-1]]:41: error: argument 2 of the process gate to net_send points to memory compartment 'core' cannot be given ('mine' (a static)): it is thread-local, outside every compartment's memory
  char *copy = strdup(name);
  flexos_gate_r(libnet, r, net_send, s, copy, 8, 0);
// CHECK-DAG: {{.*}}/src/app.c:[[@LINE-1]]:41: error: argument 2 of the process gate to net_send points to memory compartment 'core' cannot be given ('copy' (a local of f) <- strdup()): the shared heap has no strdup: allocate with flexos_malloc_whitelist and copy
  char a[4], b[4];
// CHECK-DAG: {{.*}}/src/app.c:[[@LINE-1]]:14: error: whitelisted local 'b' shares its declaration with other variables; declare it on its own (it must be shared: argument 2 of the process gate to net_send points to it ('b' (a local of f)))
  flexos_gate_r(libnet, r, net_send, s, b, 4, 0);
  (void)a;
  (void)r;
}
