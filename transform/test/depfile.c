// --depfile writes a Makefile depfile for ninja's `deps = gcc`: the summary (or, without one, the first
// copy) as target, every file the run read as prerequisite (the plan, sources, headers), with spaces, '#'
// and '$' escaped.
//
// RUN: rm -rf %t && split-file %s %t
// RUN: %write-cdb %t "-I%t/inc dir#1" -- src/app.c
// RUN: %flex-transform -p %t --plan %t/plan.json --base %t --out-dir %t/out --summary %t/summary.json \
// RUN:   --depfile %t/transform.d %t/src/app.c
// RUN: FileCheck --check-prefix=DEP --match-full-lines -DT=%t %s < %t/transform.d
// RUN: %flex-transform -p %t --plan %t/plan.json --base %t --out-dir %t/out --depfile %t/nosummary.d %t/src/app.c
// RUN: FileCheck --check-prefix=NOSUMMARY --match-full-lines -DT=%t %s < %t/nosummary.d
//
//      DEP:[[T]]/summary.json: \
//  DEP-DAG:  [[T]]/plan.json{{( \\)?}}
//  DEP-DAG:  [[T]]/src/app.c{{( \\)?}}
//  DEP-DAG:  [[T]]/inc\ dir\#1/$$price.h{{( \\)?}}
//  DEP-DAG:  {{.*}}/flexos/isolation.h{{( \\)?}}
// DEP-NOT: {{.}}
// NOSUMMARY:[[T]]/out/src/app.c: \

//--- plan.json
{"library": "app", "compartment": "app", "sharing": {},
 "targets": {"console": {"compartment": "app", "gate": "call", "exports": ["console_flush"]},
             "app": {"compartment": "app", "gate": "call", "exports": []}}}

//--- inc dir#1/$price.h
void console_flush(void);

//--- src/app.c
#include <flexos/isolation.h>
#include "$price.h"
void app(void) { flexos_gate(libconsole, console_flush); }
