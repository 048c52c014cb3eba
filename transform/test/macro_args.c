// A macro that evaluates its argument more than once (FD_SET, a TWICE(e)) shows the transformer one
// spelled use several times: a shared local, or a gate, spelled in such an argument is rewritten once, and
// the copy compiles.
//
// RUN: rm -rf %t && split-file --leading-lines %s %t
// RUN: %write-cdb %t -- src/app.c
// RUN: %flex-transform -p %t --plan %t/plan.json --base %t --out-dir %t/out %t/src/app.c 2> %t/stderr
// RUN: count 0 < %t/stderr
// RUN: FileCheck %s < %t/out/src/app.c
// RUN: %clang -std=gnu17 -Wall -Werror -I%flexos-include -fsyntax-only %t/out/src/app.c

//--- plan.json
{"library": "app", "compartment": "app", "isolation": "mpk", "sharing": {"stack": "dss"},
 "targets": {"console": {"compartment": "core", "gate": "mpk-full", "exports": ["console_put"]},
             "app": {"compartment": "app", "gate": "call", "exports": []}}}

//--- src/app.c
#include <flexos/isolation.h>
#include <sys/select.h>
long console_put(const char *p, long n);
#define TWICE(e) do { e; e; } while (0)
struct event { int fd; };
long f(void) {
  char buf[8] __attribute__((flexos_whitelist)) = "x";
  TWICE(flexos_gate(libconsole, console_put, buf, 1));
// CHECK: TWICE(((void)({{.*}})((*(__typeof__(buf) *)__flex_wl_buf), 1)));
  struct event ev[2] __attribute__((flexos_whitelist)) = {{3}, {4}};
  fd_set readable;
  FD_ZERO(&readable);
  FD_SET(ev[1].fd, &readable);
// CHECK: FD_SET((*(__typeof__(ev) *)__flex_wl_ev)[1].fd, &readable);
  flexos_gate(libconsole, console_put, (const char *)ev, sizeof ev);
  return FD_ISSET(4, &readable);
}
