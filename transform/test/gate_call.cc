// Gates of kind `call` in C++: inside templates, lambdas and members; results stored through members,
// pointers and class types; a result operand that binds looser than `=` keeps its parentheses.
//
// RUN: rm -rf %t && split-file %s %t
// RUN: %write-cdb %t -- src/gates.cc
// RUN: %flex-transform -p %t --plan %t/plan.json --base %t --out-dir %t/out %t/src/gates.cc
// RUN: FileCheck --match-full-lines --strict-whitespace %s < %t/out/src/gates.cc
// RUN: %clangxx -std=c++20 -Wall -Werror -I%flexos-include -fsyntax-only %t/out/src/gates.cc
//
//      CHECK:#line 1 "{{.*}}/src/gates.cc"
// CHECK-NEXT:#include <flexos/isolation.h>
// CHECK-NEXT:extern "C" int net_recv(int fd, char *buf, unsigned long n, int flags);
// CHECK-NEXT:extern "C" void console_flush();
// CHECK-NEXT:struct result { int rc = 0; result &operator=(int v) { rc = v; return *this; } };
// CHECK-NEXT:struct socket { int rc; int fd; int recv(char *buf) { rc = net_recv(fd, buf, 1, 0); return rc; } };
// CHECK-NEXT:template <typename T> T receive(int fd, char *buf) {
// CHECK-NEXT:  T value{};
// CHECK-NEXT:  value = net_recv(fd, buf, 1, 0);
// CHECK-NEXT:  auto flush = [] { console_flush(); };
// CHECK-NEXT:  flush();
// CHECK-NEXT:  return value;
// CHECK-NEXT:}
// CHECK-NEXT:int use(int fd, char *buf, int *out, bool first, int &a, int &b) {
// CHECK-NEXT:  result r;
// CHECK-NEXT:  r = net_recv(fd, buf, 1, 0);
// CHECK-NEXT:  *out = net_recv(fd, buf, 1, 0);
// CHECK-NEXT:  (first ? a : b) = net_recv(fd, buf, 1, 0);
// CHECK-NEXT:  return receive<int>(fd, buf) + receive<long>(fd, buf) + r.rc;
// CHECK-NEXT:}
// CHECK-EMPTY:
// CHECK-NOT:{{.}}

//--- plan.json
{"library": "app", "compartment": "app", "sharing": {},
 "targets": {"net": {"compartment": "net", "gate": "call", "exports": ["net_recv"]},
             "console": {"compartment": "app", "gate": "call", "exports": ["console_flush"]},
             "app": {"compartment": "app", "gate": "call", "exports": []}}}

//--- src/gates.cc
#include <flexos/isolation.h>
extern "C" int net_recv(int fd, char *buf, unsigned long n, int flags);
extern "C" void console_flush();
struct result { int rc = 0; result &operator=(int v) { rc = v; return *this; } };
struct socket { int rc; int fd; int recv(char *buf) { flexos_gate_r(libnet, rc, net_recv, fd, buf, 1, 0); return rc; } };
template <typename T> T receive(int fd, char *buf) {
  T value{};
  flexos_gate_r(libnet, value, net_recv, fd, buf, 1, 0);
  auto flush = [] { flexos_gate(libconsole, console_flush); };
  flush();
  return value;
}
int use(int fd, char *buf, int *out, bool first, int &a, int &b) {
  result r;
  flexos_gate_r(libnet, r, net_recv, fd, buf, 1, 0);
  flexos_gate_r(libnet, *out, net_recv, fd, buf, 1, 0);
  flexos_gate_r(libnet, first ? a : b, net_recv, fd, buf, 1, 0);
  return receive<int>(fd, buf) + receive<long>(fd, buf) + r.rc;
}
