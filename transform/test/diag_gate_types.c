// A gate carries at most 6 integer or pointer words and returns one: a struct or union passed or returned
// by value, or floating point, is an error at the argument (or the function) with the fix, for every gate
// kind; pointers, integers, enums and void results pass.
//
// RUN: rm -rf %t && split-file --leading-lines %s %t
// RUN: %write-cdb %t -- src/bad.c
// RUN: not %flex-transform -p %t --plan %t/plan.json --base %t --out-dir %t/out %t/src/bad.c 2> %t/stderr
// RUN: FileCheck %s --implicit-check-not=error: < %t/stderr
// RUN: test ! -e %t/out/src/bad.c

//--- plan.json
{"library": "app", "compartment": "app", "isolation": "mpk", "sharing": {"stack": "dss"},
 "targets": {"geo": {"compartment": "core", "gate": "call", "exports": ["geo_move", "geo_scale", "geo_origin", "geo_ok"]},
             "app": {"compartment": "app", "gate": "call", "exports": []}}}

//--- src/bad.c
#include <flexos/isolation.h>
struct point { long x, y; };
union u { long l; double d; };
enum dir { north, south };
long geo_move(struct point p, union u v);
long geo_scale(double f);
struct point geo_origin(void);
long geo_ok(struct point *p, enum dir d, const char *s);
void f(void) {
  struct point p = {1, 2};
  union u v = {3};
  long r = 0;
  flexos_gate_r(libgeo, r, geo_move, p, v);
// CHECK-DAG: bad.c:[[@LINE-1]]:38: error: argument 1 of the gate to 'geo_move' is a struct passed by value ('struct point'): a gate carries only integers and pointers; pass a pointer to shared (whitelisted) data instead
// CHECK-DAG: bad.c:[[@LINE-2]]:41: error: argument 2 of the gate to 'geo_move' is a union passed by value ('union u')
  flexos_gate_r(libgeo, r, geo_scale, 2.5);
// CHECK-DAG: bad.c:[[@LINE-1]]:39: error: argument 1 of the gate to 'geo_scale' is floating point ('double')
  flexos_gate_r(libgeo, p, geo_origin);
// CHECK-DAG: bad.c:[[@LINE-1]]:28: error: 'geo_origin' returns a struct by value: a gate returns only void, an integer or a pointer; return it through a pointer to shared data instead
  flexos_gate_r(libgeo, r, geo_ok, &p, south, "fine");
}
// CHECK: 4 errors generated.
