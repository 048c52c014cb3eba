// Copies are written only when their content changes, so an unchanged copy keeps its mtime and ninja's
// restat spares what depends on it; the summary is a build stamp, rewritten on every run. Writes are
// atomic: nothing but the copy is left in the output folder.
//
// RUN: rm -rf %t && split-file %s %t
// RUN: %write-cdb %t -- src/app.c
// RUN: %flex-transform -p %t --plan %t/plan.json --base %t --out-dir %t/out --summary %t/summary.json %t/src/app.c
// RUN: touch -d '2001-01-01 00:00:00 UTC' %t/out/src/app.c %t/summary.json
// RUN: %flex-transform -p %t --plan %t/plan.json --base %t --out-dir %t/out --summary %t/summary.json %t/src/app.c
// RUN: stat -c %%Y %t/out/src/app.c | FileCheck --check-prefix=KEPT %s
// RUN: stat -c %%Y %t/summary.json | FileCheck --check-prefix=FRESH %s
// RUN: ls -A %t/out/src | count 1
//
// A change of the source reaches the copy.
// RUN: echo 'int appended(void) { return 1; }' >> %t/src/app.c
// RUN: %flex-transform -p %t --plan %t/plan.json --base %t --out-dir %t/out --summary %t/summary.json %t/src/app.c
// RUN: stat -c %%Y %t/out/src/app.c | FileCheck --check-prefix=FRESH %s
// RUN: tail -n 1 %t/out/src/app.c | FileCheck --check-prefix=APPENDED %s
//
// KEPT: 978307200
// FRESH-NOT: 978307200
// APPENDED: int appended(void) { return 1; }

//--- plan.json
{"library": "app", "compartment": "app", "sharing": {},
 "targets": {"console": {"compartment": "app", "gate": "call", "exports": ["console_flush"]},
             "app": {"compartment": "app", "gate": "call", "exports": []}}}

//--- src/app.c
#include <flexos/isolation.h>
void console_flush(void);
void app(void) { flexos_gate(libconsole, console_flush); }
