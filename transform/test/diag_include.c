// Placeholders in a header are not rewritten yet (only the sources given to flex-transform are): an error
// at the placeholder, never a silent skip.
//
// RUN: rm -rf %t && split-file --leading-lines %s %t
// RUN: %write-cdb %t -- src/app.c
// RUN: not %flex-transform -p %t --plan %t/plan.json --base %t --out-dir %t/out %t/src/app.c 2> %t/stderr
// RUN: FileCheck %s --implicit-check-not=error: < %t/stderr
// RUN: test ! -e %t/out/src/app.c

//--- plan.json
{"library": "app", "compartment": "app", "sharing": {},
 "targets": {"console": {"compartment": "app", "gate": "call", "exports": ["console_flush"]},
             "app": {"compartment": "app", "gate": "call", "exports": []}}}

//--- src/helpers.h
#include <flexos/isolation.h>
void console_flush(void);
static inline void flush(void) { flexos_gate(libconsole, console_flush); }
// CHECK: {{.*}}/src/helpers.h:[[@LINE-1]]:34: error: gate in an included file is not supported yet: flex-transform rewrites only the sources it is given
extern char shared[64] __attribute__((flexos_whitelist));
// CHECK: {{.*}}/src/helpers.h:[[@LINE-1]]:39: error: flexos_whitelist in an included file is not supported yet
#define FLUSH() flexos_gate(libconsole, console_flush)

//--- src/app.c
#include "helpers.h"
void app(void) { flush(); FLUSH(); }
// CHECK: {{.*}}/src/app.c:[[@LINE-1]]:27: error: flexos_gate inside a macro defined in an included file cannot be rewritten
