// Gates of kind `call` become plain calls, in C: flexos_gate, flexos_gate_r, no arguments, a gate spread
// over several lines (every piece stays on its line), gates whose value is used (parenthesised, and
// flexos_gate keeps its void cast). The copy keeps every
// line of the original, after a #line marker that names it.
//
// RUN: rm -rf %t && split-file %s %t
// RUN: %write-cdb %t -- src/gates.c
// RUN: %flex-transform -p %t --plan %t/plan.json --base %t --out-dir %t/out --summary %t/summary.json \
// RUN:   %t/src/gates.c
// RUN: FileCheck --match-full-lines --strict-whitespace %s < %t/out/src/gates.c
// RUN: FileCheck --check-prefix=SUMMARY %s < %t/summary.json
// The copy compiles as it is, with the flags of the original.
// RUN: %clang -std=c17 -Wall -Werror -I%flexos-include -fsyntax-only %t/out/src/gates.c
//
//      CHECK:#line 1 "{{.*}}/src/gates.c"
// CHECK-NEXT:#include <flexos/isolation.h>
// CHECK-NEXT:#include <stddef.h>
// CHECK-NEXT:void console_write(const char *msg, size_t len);
// CHECK-NEXT:void console_flush(void);
// CHECK-NEXT:int net_recv(int fd, char *buf, size_t n, int flags);
// CHECK-NEXT:int run(int fd, char *buf, size_t n) {
// CHECK-NEXT:  int rc;
// CHECK-NEXT:  console_write("hello\n", 6);
// CHECK-NEXT:  rc = net_recv(fd, buf, n, 0);
// CHECK-NEXT:  console_flush();
// CHECK-NEXT:  rc = net_recv(
// CHECK-NEXT:                fd,
// CHECK-NEXT:                buf, n, /* flags */ 0);
// CHECK-NEXT:  {{$}}
// CHECK-NEXT:              console_write(
// CHECK-NEXT:              buf,
// CHECK-NEXT:              n
// CHECK-NEXT:              );
// CHECK-NEXT:  if ((rc = net_recv(fd, buf, n, 0)) < 0) return rc;
// CHECK-NEXT:  for (int i = 0; i < 2; console_flush()) i++;
// CHECK-NEXT:  if (rc) console_flush(); else console_write(buf, 1);
// CHECK-NEXT:  while ((rc = net_recv(fd, buf, n, 0))) {}
// CHECK-NEXT:  return rc;
// CHECK-NEXT:}
// CHECK-NEXT:void done(void) { return ((void)console_flush()); }
// CHECK-NEXT:int last(int fd, char *buf) { int rc; return ({ console_flush(); (rc = net_recv(fd, buf, 1, 0)); }); }
// CHECK-NEXT:void value(void) { ({ ((void)console_flush()); }); }
// CHECK-EMPTY:
// CHECK-NOT:{{.}}
//
// SUMMARY:      "library": "hello",
// SUMMARY:      "source": "{{.*}}/src/gates.c",
// SUMMARY-NEXT: "output": "{{.*}}/out/src/gates.c"
// SUMMARY:      "gates": [
// SUMMARY-NEXT:   {
// SUMMARY-NEXT:     "file": "{{.*}}/src/gates.c",
// SUMMARY-NEXT:     "line": 8,
// SUMMARY-NEXT:     "column": 3,
// SUMMARY-NEXT:     "from": "hello",
// SUMMARY-NEXT:     "to": "console",
// SUMMARY-NEXT:     "from_compartment": "app",
// SUMMARY-NEXT:     "to_compartment": "app",
// SUMMARY-NEXT:     "function": "console_write",
// SUMMARY-NEXT:     "kind": "call",
// SUMMARY-NEXT:     "has_result": false
// SUMMARY-NEXT:   },
// SUMMARY-NEXT:   {
// SUMMARY-NEXT:     "file": "{{.*}}/src/gates.c",
// SUMMARY-NEXT:     "line": 9,
// SUMMARY-NEXT:     "column": 3,
// SUMMARY-NEXT:     "from": "hello",
// SUMMARY-NEXT:     "to": "net",
// SUMMARY-NEXT:     "from_compartment": "app",
// SUMMARY-NEXT:     "to_compartment": "core",
// SUMMARY-NEXT:     "function": "net_recv",
// SUMMARY-NEXT:     "kind": "call",
// SUMMARY-NEXT:     "has_result": true
// SUMMARY:          "line": 10,
// SUMMARY:          "function": "console_flush",
// SUMMARY:          "line": 11,
// SUMMARY:          "line": 14,
// SUMMARY:          "line": 19,
// SUMMARY-NEXT:     "column": 7,
// SUMMARY:          "has_result": true
// SUMMARY:          "whitelisted": [],
// SUMMARY-NEXT:     "callbacks": [],
// SUMMARY-NEXT:     "shared_literals": 0,
// SUMMARY-NEXT:     "literals": [],
// SUMMARY-NEXT:     "diagnostics": []

//--- plan.json
{"library": "hello", "compartment": "app", "sharing": {"stack": "dss"},
 "targets": {
   "console": {"compartment": "app", "gate": "call", "exports": ["console_write", "console_flush"]},
   "net": {"compartment": "core", "gate": "call", "exports": ["net_recv"]},
   "hello": {"compartment": "app", "gate": "call", "exports": ["run"]}}}

//--- src/gates.c
#include <flexos/isolation.h>
#include <stddef.h>
void console_write(const char *msg, size_t len);
void console_flush(void);
int net_recv(int fd, char *buf, size_t n, int flags);
int run(int fd, char *buf, size_t n) {
  int rc;
  flexos_gate(libconsole, console_write, "hello\n", 6);
  flexos_gate_r(libnet, rc, net_recv, fd, buf, n, 0);
  flexos_gate(libconsole, console_flush);
  flexos_gate_r(libnet, rc, net_recv,
                fd,
                buf, n, /* flags */ 0);
  flexos_gate(libconsole,
              console_write,
              buf,
              n
              );
  if (flexos_gate_r(libnet, rc, net_recv, fd, buf, n, 0) < 0) return rc;
  for (int i = 0; i < 2; flexos_gate(libconsole, console_flush)) i++;
  if (rc) flexos_gate(libconsole, console_flush); else flexos_gate(libconsole, console_write, buf, 1);
  while (flexos_gate_r(libnet, rc, net_recv, fd, buf, n, 0)) {}
  return rc;
}
void done(void) { return flexos_gate(libconsole, console_flush); }
int last(int fd, char *buf) { int rc; return ({ flexos_gate(libconsole, console_flush); flexos_gate_r(libnet, rc, net_recv, fd, buf, 1, 0); }); }
void value(void) { ({ flexos_gate(libconsole, console_flush); }); }
