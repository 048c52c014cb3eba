// Things that look like placeholders but are not must come out unchanged: functions and macros of the
// user that share a placeholder's name (not defined by <flexos/isolation.h>), strings, comments,
// disabled code, and user macros with other names.
//
// RUN: rm -rf %t && split-file %s %t
// RUN: %write-cdb %t -- src/plain.c src/mentions.c
// RUN: %flex-transform -p %t --plan %t/plan.json --base %t --out-dir %t/out --summary %t/summary.json \
// RUN:   %t/src/plain.c %t/src/mentions.c
// The copies are the originals after a #line marker.
// RUN: head -n 1 %t/out/src/plain.c | FileCheck --check-prefix=MARKER %s
// RUN: tail -n +2 %t/out/src/plain.c | diff - %t/src/plain.c
// RUN: tail -n +2 %t/out/src/mentions.c | diff - %t/src/mentions.c
// RUN: FileCheck --check-prefix=SUMMARY %s < %t/summary.json
//
// MARKER: #line 1 "{{.*}}/src/plain.c"
// SUMMARY:      "gates": [],
// SUMMARY-NEXT: "whitelisted": [],
// SUMMARY-NEXT: "callbacks": [],
// SUMMARY-NEXT: "shared_literals": 0,
// SUMMARY-NEXT: "literals": [],
// SUMMARY-NEXT: "diagnostics": []

//--- plan.json
{"library": "app", "compartment": "app", "sharing": {},
 "targets": {"console": {"compartment": "app", "gate": "call", "exports": ["console_write"]},
             "app": {"compartment": "app", "gate": "call", "exports": []}}}

//--- src/plain.c
/* No <flexos/isolation.h> here: these names are the user's own. */
#define flexos_gate_r(lib, ret, value) ((ret) = (value))
#define flexos_whitelist used
static int flexos_gate(int lib, int fn) { return lib + fn; }
static int kept __attribute__((flexos_whitelist));
int plain(void) {
  int rc;
  flexos_gate_r(libconsole, rc, flexos_gate(1, 2));
  return rc + kept;
}

//--- src/mentions.c
#include <flexos/isolation.h>
void console_write(const char *msg, int len);
#define my_gate(fn, ...) fn(__VA_ARGS__)
int flexos_gate_count(void) { return 0; }
const char *mentions(void) {
  /* flexos_gate(libconsole, console_write, msg, len); */
  // flexos_gate_r(libnet, rc, net_recv, fd, buf, n, 0);
#if 0
  flexos_gate(libconsole, console_write, "disabled", 8);
#endif
  my_gate(console_write, "user macro", 10);
  return "flexos_gate(libconsole, console_write, msg, len) __attribute__((flexos_whitelist))";
}
