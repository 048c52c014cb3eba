// Compiled without flex-transform, every placeholder fails to compile with a message that names it, and
// that message is the first error: a missed rewrite is a build error, never a silent plain call.
//
// RUN: not %clang -std=c17 -Wall -fsyntax-only -I%flexos-include %s 2>&1 \
// RUN:   | FileCheck %s --implicit-check-not=error:
#include <flexos/isolation.h>
#include <stddef.h>
void console_write(const char *msg, size_t len);
void console_flush(void);
int net_recv(int fd, char *buf, size_t n, int flags);
static char shared[64] __attribute__((flexos_whitelist));
int run(int fd) {
  int rc = 0;
  flexos_gate(libconsole, console_write, "hi", 2);
// CHECK: {{.*}}untransformed.c:[[@LINE-1]]:3: error: static assertion failed: flexos_gate(libconsole, console_write) was not instantiated: build this source with flexbuild
  flexos_gate_r(libnet, rc, net_recv, fd, 0, 0, 0);
// CHECK: {{.*}}untransformed.c:[[@LINE-1]]:3: error: static assertion failed: flexos_gate_r(libnet, rc, net_recv) was not instantiated: build this source with flexbuild
  flexos_gate(libconsole, console_flush);
// CHECK: {{.*}}untransformed.c:[[@LINE-1]]:3: error: static assertion failed: flexos_gate(libconsole, console_flush) was not instantiated: build this source with flexbuild
  return rc + shared[0];
// CHECK: {{.*}}untransformed.c:[[@LINE-1]]:15: error: 'shared' is unavailable: flexos_whitelist was not instantiated: build this source with flexbuild
}
// CHECK: 4 errors generated.
