// Purpose: list the gate arguments that point to a local or static variable of the caller, the
// candidates for flexos_whitelist (DESIGN.md §3), and mark each one's declaration with it.
//
// Run after gates.cocci: it looks at flexos_gate / flexos_gate_r placeholders. An array passed as `buf`
// and a variable passed as `&x` are candidates; what a pointer variable points to is not known here.
//   Before: char buf[64];  ...  flexos_gate_r(libnet, rc, net_recv, fd, buf, sizeof buf, 0);
//   After:  char buf[64] __attribute__((flexos_whitelist));  ...
// The candidates are listed first, on the original lines; then each declaration is marked. There is
// one rule per declaration form and placeholder: a disjunction of them makes spatch 1.1 overflow.

@initialize:python@
@@
def candidate(p, x, fn, what):
    print("%s:%s:%s: note: '%s' (%s) is passed to %s through a gate: marked "
          "__attribute__((flexos_whitelist))" % (p[0].file, p[0].line, int(p[0].column) + 1, x, what, fn))

// 1. The list.
// a local array, through flexos_gate
@seen_array_g exists@
identifier lib, f, x;
type T;
expression N;
expression list es1, es2;
position pd;
@@
T x@pd[N];
...
flexos_gate(lib, f, es1, x, es2)

@script:python@
x << seen_array_g.x;
fn << seen_array_g.f;
pd << seen_array_g.pd;
@@
candidate(pd, x, fn, "a local array")

// a local array, through flexos_gate_r
@seen_array_r exists@
identifier lib, f, x;
type T;
expression N;
expression list es1, es2;
expression ret;
position pd;
@@
T x@pd[N];
...
flexos_gate_r(lib, ret, f, es1, x, es2)

@script:python@
x << seen_array_r.x;
fn << seen_array_r.f;
pd << seen_array_r.pd;
@@
candidate(pd, x, fn, "a local array")

// a local array, through flexos_gate
@seen_array_init_g exists@
identifier lib, f, x;
type T;
expression N;
initializer I;
expression list es1, es2;
position pd;
@@
T x@pd[N] = I;
...
flexos_gate(lib, f, es1, x, es2)

@script:python@
x << seen_array_init_g.x;
fn << seen_array_init_g.f;
pd << seen_array_init_g.pd;
@@
candidate(pd, x, fn, "a local array")

// a local array, through flexos_gate_r
@seen_array_init_r exists@
identifier lib, f, x;
type T;
expression N;
initializer I;
expression list es1, es2;
expression ret;
position pd;
@@
T x@pd[N] = I;
...
flexos_gate_r(lib, ret, f, es1, x, es2)

@script:python@
x << seen_array_init_r.x;
fn << seen_array_init_r.f;
pd << seen_array_init_r.pd;
@@
candidate(pd, x, fn, "a local array")

// a local whose address is passed, through flexos_gate
@seen_address_g exists@
identifier lib, f, x;
type T;
expression list es1, es2;
position pd;
@@
T x@pd;
...
flexos_gate(lib, f, es1, &x, es2)

@script:python@
x << seen_address_g.x;
fn << seen_address_g.f;
pd << seen_address_g.pd;
@@
candidate(pd, x, fn, "a local whose address is passed")

// a local whose address is passed, through flexos_gate_r
@seen_address_r exists@
identifier lib, f, x;
type T;
expression list es1, es2;
expression ret;
position pd;
@@
T x@pd;
...
flexos_gate_r(lib, ret, f, es1, &x, es2)

@script:python@
x << seen_address_r.x;
fn << seen_address_r.f;
pd << seen_address_r.pd;
@@
candidate(pd, x, fn, "a local whose address is passed")

// a local whose address is passed, through flexos_gate
@seen_address_init_g exists@
identifier lib, f, x;
type T;
initializer I;
expression list es1, es2;
position pd;
@@
T x@pd = I;
...
flexos_gate(lib, f, es1, &x, es2)

@script:python@
x << seen_address_init_g.x;
fn << seen_address_init_g.f;
pd << seen_address_init_g.pd;
@@
candidate(pd, x, fn, "a local whose address is passed")

// a local whose address is passed, through flexos_gate_r
@seen_address_init_r exists@
identifier lib, f, x;
type T;
initializer I;
expression list es1, es2;
expression ret;
position pd;
@@
T x@pd = I;
...
flexos_gate_r(lib, ret, f, es1, &x, es2)

@script:python@
x << seen_address_init_r.x;
fn << seen_address_init_r.f;
pd << seen_address_init_r.pd;
@@
candidate(pd, x, fn, "a local whose address is passed")

// a static array, through flexos_gate
@seen_static_array_g_use@
identifier lib, f, x;
expression list es1, es2;
@@
flexos_gate(lib, f, es1, x, es2)

@seen_static_array_g@
identifier seen_static_array_g_use.x;
type T;
expression N;
position pd;
@@
static T x@pd[N];

@script:python@
x << seen_static_array_g_use.x;
fn << seen_static_array_g_use.f;
pd << seen_static_array_g.pd;
@@
candidate(pd, x, fn, "a static array")

// a static array, through flexos_gate_r
@seen_static_array_r_use@
identifier lib, f, x;
expression list es1, es2;
expression ret;
@@
flexos_gate_r(lib, ret, f, es1, x, es2)

@seen_static_array_r@
identifier seen_static_array_r_use.x;
type T;
expression N;
position pd;
@@
static T x@pd[N];

@script:python@
x << seen_static_array_r_use.x;
fn << seen_static_array_r_use.f;
pd << seen_static_array_r.pd;
@@
candidate(pd, x, fn, "a static array")

// 2. The marks.
// a local array, through flexos_gate
@mark_array_g exists@
identifier lib, f, x;
type T;
expression N;
expression list es1, es2;
position pd;
@@
T x@pd[N];
...
flexos_gate(lib, f, es1, x, es2)
@@
identifier mark_array_g.x;
type mark_array_g.T;
expression mark_array_g.N;
position mark_array_g.pd;
@@
  T x@pd[N]
+ __attribute__((flexos_whitelist))
  ;

// a local array, through flexos_gate_r
@mark_array_r exists@
identifier lib, f, x;
type T;
expression N;
expression list es1, es2;
expression ret;
position pd;
@@
T x@pd[N];
...
flexos_gate_r(lib, ret, f, es1, x, es2)
@@
identifier mark_array_r.x;
type mark_array_r.T;
expression mark_array_r.N;
position mark_array_r.pd;
@@
  T x@pd[N]
+ __attribute__((flexos_whitelist))
  ;

// a local array, through flexos_gate
@mark_array_init_g exists@
identifier lib, f, x;
type T;
expression N;
initializer I;
expression list es1, es2;
position pd;
@@
T x@pd[N] = I;
...
flexos_gate(lib, f, es1, x, es2)
@@
identifier mark_array_init_g.x;
type mark_array_init_g.T;
expression mark_array_init_g.N;
initializer mark_array_init_g.I;
position mark_array_init_g.pd;
@@
  T x@pd[N]
+ __attribute__((flexos_whitelist))
  = I;

// a local array, through flexos_gate_r
@mark_array_init_r exists@
identifier lib, f, x;
type T;
expression N;
initializer I;
expression list es1, es2;
expression ret;
position pd;
@@
T x@pd[N] = I;
...
flexos_gate_r(lib, ret, f, es1, x, es2)
@@
identifier mark_array_init_r.x;
type mark_array_init_r.T;
expression mark_array_init_r.N;
initializer mark_array_init_r.I;
position mark_array_init_r.pd;
@@
  T x@pd[N]
+ __attribute__((flexos_whitelist))
  = I;

// a local whose address is passed, through flexos_gate
@mark_address_g exists@
identifier lib, f, x;
type T;
expression list es1, es2;
position pd;
@@
T x@pd;
...
flexos_gate(lib, f, es1, &x, es2)
@@
identifier mark_address_g.x;
type mark_address_g.T;
position mark_address_g.pd;
@@
  T x@pd
+ __attribute__((flexos_whitelist))
  ;

// a local whose address is passed, through flexos_gate_r
@mark_address_r exists@
identifier lib, f, x;
type T;
expression list es1, es2;
expression ret;
position pd;
@@
T x@pd;
...
flexos_gate_r(lib, ret, f, es1, &x, es2)
@@
identifier mark_address_r.x;
type mark_address_r.T;
position mark_address_r.pd;
@@
  T x@pd
+ __attribute__((flexos_whitelist))
  ;

// a local whose address is passed, through flexos_gate
@mark_address_init_g exists@
identifier lib, f, x;
type T;
initializer I;
expression list es1, es2;
position pd;
@@
T x@pd = I;
...
flexos_gate(lib, f, es1, &x, es2)
@@
identifier mark_address_init_g.x;
type mark_address_init_g.T;
initializer mark_address_init_g.I;
position mark_address_init_g.pd;
@@
  T x@pd
+ __attribute__((flexos_whitelist))
  = I;

// a local whose address is passed, through flexos_gate_r
@mark_address_init_r exists@
identifier lib, f, x;
type T;
initializer I;
expression list es1, es2;
expression ret;
position pd;
@@
T x@pd = I;
...
flexos_gate_r(lib, ret, f, es1, &x, es2)
@@
identifier mark_address_init_r.x;
type mark_address_init_r.T;
initializer mark_address_init_r.I;
position mark_address_init_r.pd;
@@
  T x@pd
+ __attribute__((flexos_whitelist))
  = I;

// a static array, through flexos_gate
@mark_static_array_g_use@
identifier lib, f, x;
expression list es1, es2;
@@
flexos_gate(lib, f, es1, x, es2)

@mark_static_array_g@
identifier mark_static_array_g_use.x;
type T;
expression N;
position pd;
@@
static T x@pd[N];
@@
identifier mark_static_array_g_use.x;
type mark_static_array_g.T;
expression mark_static_array_g.N;
position mark_static_array_g.pd;
@@
  static T x@pd[N]
+ __attribute__((flexos_whitelist))
  ;

// a static array, through flexos_gate_r
@mark_static_array_r_use@
identifier lib, f, x;
expression list es1, es2;
expression ret;
@@
flexos_gate_r(lib, ret, f, es1, x, es2)

@mark_static_array_r@
identifier mark_static_array_r_use.x;
type T;
expression N;
position pd;
@@
static T x@pd[N];
@@
identifier mark_static_array_r_use.x;
type mark_static_array_r.T;
expression mark_static_array_r.N;
position mark_static_array_r.pd;
@@
  static T x@pd[N]
+ __attribute__((flexos_whitelist))
  ;
