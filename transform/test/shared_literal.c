// FLEXOS_SHARED_LITERAL (from <flexos/isolation.h>, or <flexos/literals.h> as FlexOS code includes it) is
// not a placeholder: the copy keeps it as written, a gate argument spelled with it is not moved again,
// and the compiled copy holds the string in .rodata_shared, where the link step puts shared read-only data.
//
// RUN: rm -rf %t && split-file %s %t
// RUN: %write-cdb %t -- src/app.c
// RUN: %flex-transform -p %t --plan %t/plan.json --base %t --out-dir %t/out --summary %t/summary.json %t/src/app.c
// RUN: FileCheck --match-full-lines %s < %t/out/src/app.c
// RUN: FileCheck --check-prefix=SUMMARY %s < %t/summary.json
// RUN: %clang -std=c17 -Wall -Werror -I%flexos-include -c %t/out/src/app.c -o %t/app.o
// RUN: llvm-readelf -p .rodata_shared %t/app.o | FileCheck --check-prefix=OBJ %s

//--- plan.json
{"library": "app", "compartment": "app", "isolation": "mpk", "sharing": {"stack": "dss"},
 "targets": {"console": {"compartment": "core", "gate": "mpk-full", "exports": ["console_put"]},
             "app": {"compartment": "app", "gate": "call", "exports": []}}}

//--- src/app.c
#include <flexos/literals.h>
void console_put(const char *s);
int main(void) {
  const char *kept = FLEXOS_SHARED_LITERAL("kept for later");
  flexos_gate(libconsole, console_put, FLEXOS_SHARED_LITERAL("as an argument"));
  flexos_gate(libconsole, console_put, kept);
  return 0;
}
//      CHECK:  const char *kept = FLEXOS_SHARED_LITERAL("kept for later");
// CHECK-NEXT:  (__extension__({ extern __typeof__(console_put) __flex_gate_app__console_put __asm__("__flex_gate_app__console_put"); &__flex_gate_app__console_put; }))(FLEXOS_SHARED_LITERAL("as an argument"));
// SUMMARY: "shared_literals": 0,
// OBJ: String dump of section '.rodata_shared':
// OBJ: kept for later
// OBJ: as an argument
