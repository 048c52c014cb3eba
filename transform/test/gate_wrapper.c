// Gates of kinds mpk-light, mpk-full and process call the boundary's gate wrapper that flexbuild
// generates, `__flex_gate_<caller compartment>__<function>`, declared in place with the callee's type and
// an asm label; gates within the compartment stay plain calls. Lines keep their numbers. The copies,
// linked with stand-in wrappers, really call the wrappers, from C and from C++.
//
// RUN: rm -rf %t && split-file %s %t
// RUN: %write-cdb %t -- src/app.c src/app.cc
// RUN: %flex-transform -p %t --plan %t/plan.json --base %t --out-dir %t/out --summary %t/summary.json \
// RUN:   %t/src/app.c %t/src/app.cc
// RUN: FileCheck --match-full-lines %s < %t/out/src/app.c
// RUN: FileCheck --check-prefix=SUMMARY %s < %t/summary.json
// RUN: %clang -std=c17 -Wall -Werror -I%flexos-include -c %t/out/src/app.c -o %t/app.o
// RUN: %clang -x c++ -std=c++20 -Wall -Werror -I%flexos-include -c %t/out/src/app.cc -o %t/appxx.o
// RUN: %clang -std=c17 -c %t/wrappers.c -o %t/wrappers.o
// RUN: %clang %t/app.o %t/appxx.o %t/wrappers.o -o %t/app
// RUN: %t/app | FileCheck --check-prefix=OUT %s

//--- plan.json
{"library": "app", "compartment": "app", "sharing": {"stack": "dss"},
 "targets": {"console": {"compartment": "core", "gate": "mpk-full", "exports": ["console_put"]},
             "net": {"compartment": "net", "gate": "mpk-light", "exports": ["net_poll"]},
             "vfs": {"compartment": "storage", "gate": "process", "exports": ["vfs_sync"]},
             "app": {"compartment": "app", "gate": "call", "exports": ["app_tick"]}}}

//--- src/app.c
#include <flexos/isolation.h>
void console_put(const char *s, int n);
int net_poll(void);
long vfs_sync(int fd);
void app_tick(void);
int cxx_part(void);
int main(void) {
  int rc;
  long r;
  flexos_gate(libapp, app_tick);
  flexos_gate(libconsole, console_put, "hi", 2);
  flexos_gate_r(libnet, rc, net_poll);
  if (flexos_gate_r(libvfs, r, vfs_sync, 7) < 0) return 1;
  return (rc == 10 && r == 100 && cxx_part() == 10) ? 0 : 1;
}
//      CHECK:#line 1 "{{.*}}/src/app.c"
//      CHECK:  app_tick();
// CHECK-NEXT:  (__extension__({ extern __typeof__(console_put) __flex_gate_app__console_put __asm__("__flex_gate_app__console_put"); &__flex_gate_app__console_put; }))((__extension__({ static const __typeof__("hi") __flex_lit_{{[0-9]+}} __attribute__((section(".rodata_shared"))) = "hi"; (__typeof__(("hi")[0]) *)__flex_lit_{{[0-9]+}}; })), 2);
// CHECK-NEXT:  rc = (__extension__({ extern __typeof__(net_poll) __flex_gate_app__net_poll __asm__("__flex_gate_app__net_poll"); &__flex_gate_app__net_poll; }))();
// CHECK-NEXT:  if ((r = (__extension__({ extern __typeof__(vfs_sync) __flex_gate_app__vfs_sync __asm__("__flex_gate_app__vfs_sync"); &__flex_gate_app__vfs_sync; }))(7)) < 0) return 1;
// CHECK-NEXT:  return (rc == 10 && r == 100 && cxx_part() == 10) ? 0 : 1;

// SUMMARY:      "function": "app_tick",
// SUMMARY-NEXT: "kind": "call",
// SUMMARY:      "function": "console_put",
// SUMMARY-NEXT: "kind": "mpk-full",
// SUMMARY:      "function": "net_poll",
// SUMMARY-NEXT: "kind": "mpk-light",
// SUMMARY:      "function": "vfs_sync",
// SUMMARY-NEXT: "kind": "process",
// SUMMARY:      "shared_literals": 1,

//--- src/app.cc
#include <flexos/isolation.h>
extern "C" int net_poll(void);
extern "C" int cxx_part(void) {
  int rc = 0;
  flexos_gate_r(libnet, rc, net_poll);
  return rc;
}

//--- wrappers.c
#include <stdio.h>
void app_tick(void) { puts("app_tick: plain call"); }
void __flex_gate_app__console_put(const char *s, int n) { printf("wrapper console_put(%.*s)\n", n, s); }
int __flex_gate_app__net_poll(void) { puts("wrapper net_poll"); return 10; }
long __flex_gate_app__vfs_sync(int fd) { printf("wrapper vfs_sync(%d)\n", fd); return 100; }
// OUT: app_tick: plain call
// OUT-NEXT: wrapper console_put(hi)
// OUT-NEXT: wrapper net_poll
// OUT-NEXT: wrapper vfs_sync(7)
// OUT-NEXT: wrapper net_poll
