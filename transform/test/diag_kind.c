// This version instantiates only gates of kind `call`. A gate whose boundary uses another kind is an error
// at the gate that names the kind and the boundary, never a silent plain call.
//
// RUN: rm -rf %t && split-file --leading-lines %s %t
// RUN: %write-cdb %t -- src/app.c
// RUN: not %flex-transform -p %t --plan %t/plan.json --base %t --out-dir %t/out %t/src/app.c 2> %t/stderr
// RUN: FileCheck %s --implicit-check-not=error: < %t/stderr
// RUN: test ! -e %t/out/src/app.c

//--- plan.json
{"library": "app", "compartment": "app", "sharing": {"stack": "dss"},
 "targets": {"console": {"compartment": "core", "gate": "mpk-full", "exports": ["console_flush"]},
             "net": {"compartment": "net", "gate": "mpk-light", "exports": ["net_poll"]},
             "vfs": {"compartment": "storage", "gate": "process", "exports": ["vfs_sync"]},
             "app": {"compartment": "app", "gate": "call", "exports": ["app_tick"]}}}

//--- src/app.c
#include <flexos/isolation.h>
void console_flush(void);
int net_poll(void);
int vfs_sync(void);
void app_tick(void);
int app(void) {
  int rc;
  flexos_gate(libapp, app_tick);
  flexos_gate(libconsole, console_flush);
// CHECK: {{.*}}/src/app.c:[[@LINE-1]]:3: error: gate kind 'mpk-full' for boundary app -> core is not implemented by this flex-transform yet
  flexos_gate_r(libnet, rc, net_poll);
// CHECK: {{.*}}/src/app.c:[[@LINE-1]]:3: error: gate kind 'mpk-light' for boundary app -> net is not implemented by this flex-transform yet
  flexos_gate_r(libvfs, rc, vfs_sync);
// CHECK: {{.*}}/src/app.c:[[@LINE-1]]:3: error: gate kind 'process' for boundary app -> storage is not implemented by this flex-transform yet
  return rc;
}
// CHECK: 3 errors generated.
