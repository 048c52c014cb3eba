// A transformed copy compiles and runs with clang-19, and what the real compile reports about it points at
// the original file and line, even below a gate spread over several lines.
//
// RUN: rm -rf %t && split-file --leading-lines %s %t
// RUN: cp %t/src/main.c %t/main.c.orig
// The database holds the real flags: warnings (even as errors) are left to the real compile.
// RUN: %write-cdb %t -Wall -Werror -MD -- src/main.c
// RUN: %flex-transform -p %t --plan %t/plan.json --base %t --out-dir %t/out %t/src/main.c
// RUN: diff %t/src/main.c %t/main.c.orig
// Quoted includes are looked up beside the copy's real path, so the compile of a copy adds the original's
// folder with -iquote (flexbuild does the same).
// RUN: %clang -std=c17 -I%flexos-include -iquote %t/src %t/out/src/main.c %t/console.c -o %t/hello
// RUN: %t/hello | FileCheck --check-prefix=OUT %s
// RUN: not %clang -std=c17 -Wall -Werror -I%flexos-include -iquote %t/src -c %t/out/src/main.c -o %t/main.o \
// RUN:   2>&1 | FileCheck --check-prefix=ERR -DORIG=%t/src/main.c %s
//
// OUT: hello from a gate (17 bytes)
// OUT-NEXT: received 7
// OUT-NEXT: shared: ok

//--- plan.json
{"library": "hello", "compartment": "app", "sharing": {"stack": "dss"},
 "targets": {"console": {"compartment": "core", "gate": "call", "exports": ["console_write", "console_recv"]},
             "hello": {"compartment": "app", "gate": "call", "exports": ["main"]}}}

//--- console.c
#include <stdio.h>
#include <string.h>
long console_write(const char *msg, unsigned long len) { return (long)fwrite(msg, 1, len, stdout); }
int console_recv(char *buf, unsigned long n) { memset(buf, 'x', n); return (int)n; }

//--- src/greet.h
#define GREETING "hello from a gate"

//--- src/main.c
#include <flexos/isolation.h>
#include <stdio.h>
#include "greet.h"
long console_write(const char *msg, unsigned long len);
int console_recv(char *buf, unsigned long n);
static char shared[8] __attribute__((flexos_whitelist)) = "ok";
int main(void) {
  long written;
  int got;
  char buf[16] __attribute__((flexos_whitelist));
  flexos_gate_r(libconsole, written, console_write,
                GREETING,
                sizeof GREETING - 1);
  printf(" (%ld bytes)\n", written);
  flexos_gate_r(libconsole, got,
                console_recv, buf, 7);
  int unused;
// ERR: {{^}}[[ORIG]]:[[@LINE-1]]:7: error: unused variable 'unused' [-Werror,-Wunused-variable]
  printf("received %d\nshared: %s\n", got, shared);
  return 0;
}
// ERR: 1 error generated.
