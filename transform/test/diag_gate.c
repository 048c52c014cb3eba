// Gates that cannot be instantiated are errors at the gate, in the original source: a library that is
// not in the image, a function the library does not export, too many arguments, a gate written inside
// a macro of an included file, malformed placeholders. The source gets no copy; the other sources still do.
//
// RUN: rm -rf %t && split-file --leading-lines %s %t
// RUN: %write-cdb %t -- src/bad.c src/good.c
// RUN: not %flex-transform -p %t --plan %t/plan.json --base %t --out-dir %t/out --summary %t/summary.json \
// RUN:   %t/src/bad.c %t/src/good.c 2> %t/stderr
// RUN: FileCheck %s --implicit-check-not=error: < %t/stderr
// RUN: test ! -e %t/out/src/bad.c
// RUN: test -f %t/out/src/good.c
// RUN: FileCheck --check-prefix=SUMMARY %s < %t/summary.json
//
// SUMMARY:      "files": [
// SUMMARY-NEXT:   {
// SUMMARY-NEXT:     "source": "{{.*}}/src/good.c",
// SUMMARY-NEXT:     "output": "{{.*}}/out/src/good.c"
// SUMMARY-NEXT:   }
// SUMMARY-NEXT: ],
// SUMMARY:      "diagnostics": [
// SUMMARY-NEXT:   {
// SUMMARY-NEXT:     "file": "{{.*}}/src/bad.c",
// SUMMARY-NEXT:     "line": {{[0-9]+}},
// SUMMARY-NEXT:     "column": {{[0-9]+}},
// SUMMARY-NEXT:     "severity": "error",
// SUMMARY-NEXT:     "message": "{{.*}}"
// SUMMARY:          "message": "library 'libfoo' named in a gate is not part of this image"

//--- plan.json
{"library": "app", "compartment": "app", "sharing": {},
 "targets": {"net": {"compartment": "core", "gate": "call", "exports": ["net_recv", "net_seven"]},
             "app": {"compartment": "app", "gate": "call", "exports": []}}}

//--- src/good.c
#include <flexos/isolation.h>
int net_recv(int fd, char *buf, unsigned long n, int flags);
int good(int fd) { int rc; flexos_gate_r(libnet, rc, net_recv, fd, 0, 0, 0); return rc; }

//--- src/bad.c
#include <flexos/isolation.h>
int net_recv(int fd, char *buf, unsigned long n, int flags);
int net_rcv(int fd, char *buf, unsigned long n, int flags);
int net_internal(void);
int net_seven(int, int, int, int, int, int, int);
#define RECV(fd) flexos_gate_r(libnet, rc, net_recv, fd, 0, 0, 0)
int bad(int fd) {
  int rc = 0;
  flexos_gate_r(libfoo, rc, net_recv, fd, 0, 0, 0);
// CHECK-DAG: {{.*}}/src/bad.c:[[@LINE-1]]:17: error: library 'libfoo' named in a gate is not part of this image{{$}}
  flexos_gate_r(libnte, rc, net_recv, fd, 0, 0, 0);
// CHECK-DAG: {{.*}}/src/bad.c:[[@LINE-1]]:17: error: library 'libnte' named in a gate is not part of this image; did you mean 'libnet'?
  flexos_gate_r(net, rc, net_recv, fd, 0, 0, 0);
// CHECK-DAG: {{.*}}/src/bad.c:[[@LINE-1]]:17: error: library 'net' named in a gate is not part of this image; did you mean 'libnet'?
  flexos_gate_r(libnet, rc, net_rcv, fd, 0, 0, 0);
// CHECK-DAG: {{.*}}/src/bad.c:[[@LINE-1]]:29: error: 'net_rcv' is not exported by libnet; did you mean 'net_recv'?
  flexos_gate_r(libnet, rc, net_internal);
// CHECK-DAG: {{.*}}/src/bad.c:[[@LINE-1]]:29: error: 'net_internal' is not exported by libnet{{$}}
  flexos_gate_r(libnet, rc, net_seven, 1, 2, 3, 4, 5, 6, 7);
// CHECK-DAG: {{.*}}/src/bad.c:[[@LINE-1]]:58: error: gate to 'net_seven' passes 7 arguments; a gate carries at most 6
  RECV(fd);  /* a gate in the file's own macro: rewritten, no error */
  flexos_gate(libnet, (net_recv), fd, 0, 0, 0);
// CHECK-DAG: {{.*}}/src/bad.c:[[@LINE-1]]:23: error: the function of flexos_gate must be the name of an exported function
  flexos_gate(libnet + 1, net_recv, fd, 0, 0, 0);
// CHECK-DAG: {{.*}}/src/bad.c:[[@LINE-1]]:15: error: the first argument of flexos_gate must name a library, like 'libconsole'
  flexos_gate(libnet, net_recv, fd, , 0, 0);
// CHECK-DAG: {{.*}}/src/bad.c:[[@LINE-1]]:3: error: empty argument in flexos_gate
// CHECK-DAG: {{.*}}/src/bad.c:[[@LINE-2]]:{{[0-9]+}}: error: expected expression
  return rc;
}
// CHECK: 10 errors generated.
