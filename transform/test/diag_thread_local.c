// Thread-local data in a library of an mpk or process compartment cannot be isolated (a thread's TLS is
// libc's, outside every compartment's memory): an error at the definition, whatever the spelling. In an
// isolation: none compartment it stays as written.
//
// RUN: rm -rf %t && split-file --leading-lines %s %t
// RUN: %write-cdb %t -- src/lib.c
// RUN: not %flex-transform -p %t --plan %t/mpk.json --base %t --out-dir %t/out %t/src/lib.c 2> %t/stderr
// RUN: FileCheck %s --implicit-check-not=error: < %t/stderr
// RUN: test ! -e %t/out/src/lib.c
// RUN: not %flex-transform -p %t --plan %t/process.json --base %t --out-dir %t/out %t/src/lib.c 2> %t/stderr2
// RUN: FileCheck %s --check-prefix=PROCESS < %t/stderr2
// RUN: %flex-transform -p %t --plan %t/none.json --base %t --out-dir %t/out %t/src/lib.c
// RUN: FileCheck %s --check-prefix=NONE < %t/out/src/lib.c

//--- mpk.json
{"library": "vault", "compartment": "vault", "isolation": "mpk", "sharing": {"stack": "dss"},
 "targets": {"vault": {"compartment": "vault", "gate": "call", "exports": ["vault_get"]}}}
//--- process.json
{"library": "vault", "compartment": "vault", "isolation": "process", "sharing": {"stack": "dss"},
 "targets": {"vault": {"compartment": "vault", "gate": "call", "exports": ["vault_get"]}}}
//--- none.json
{"library": "vault", "compartment": "vault", "sharing": {"stack": "dss"},
 "targets": {"vault": {"compartment": "vault", "gate": "call", "exports": ["vault_get"]}}}

//--- src/lib.c
static __thread long per_thread;
// CHECK: {{.*}}/src/lib.c:[[@LINE-1]]:22: error: thread-local variable 'per_thread' cannot be isolated in compartment 'vault' (isolation: mpk): a thread's TLS lies outside every compartment's memory
// PROCESS: {{.*}}/src/lib.c:[[@LINE-2]]:22: error: thread-local variable 'per_thread' cannot be isolated in compartment 'vault' (isolation: process)
_Thread_local int exported_tls;
// CHECK: {{.*}}/src/lib.c:[[@LINE-1]]:19: error: thread-local variable 'exported_tls'
extern __thread int declared_elsewhere;
long vault_get(void) {
  static _Thread_local int calls;
// CHECK: {{.*}}/src/lib.c:[[@LINE-1]]:28: error: thread-local variable 'calls'
  long plain = 1;
  return per_thread + exported_tls + calls++ + plain;
}
// NONE: static __thread long per_thread;
// NONE: _Thread_local int exported_tls;
// CHECK: 3 errors generated.
