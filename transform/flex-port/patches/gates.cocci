// Purpose: turn the calls an app makes to other libraries' exports into flexos_gate / flexos_gate_r
// placeholders (DESIGN.md §3); calls inside larger expressions are listed for the porter instead.
//
// The exports come from the JSON file named by $FLEX_PORT_EXPORTS: {"function": "library", ...}
// (flex-port writes it from the lib.yaml files; exports.json here is the one the triples use).
//   Before: rc = net_recv(fd, buf, sizeof buf, 0);   console_flush();
//   After:  flexos_gate_r(libnet, rc, net_recv, fd, buf, sizeof buf, 0);   flexos_gate(libconsole, console_flush);

@initialize:python@
@@
import json, os
exports = json.load(open(os.environ["FLEX_PORT_EXPORTS"]))

def gate_library(fn):
    """The gate's library argument for a call to fn, or None when fn is not an export."""
    return cocci.make_ident("lib" + exports[fn]) if fn in exports else None

// Calls whose value feeds a larger expression (if (f(x) < 0), return f(x), ...) cannot become a
// placeholder without a variable: they are listed (on the original lines), and left as they are.
@stmt_call@
identifier f, x;
expression list es;
expression ret;
type T;
position p;
@@
(
ret = f@p(es);
|
T x = f@p(es);
|
f@p(es);
)

@left@
identifier f;
expression list es;
position p != stmt_call.p;
@@
f@p(es)

@script:python@
fn << left.f;
p << left.p;
@@
if fn in exports:
    print("%s:%s:%s: note: call to %s inside an expression: store its result in a variable with "
          "flexos_gate_r(lib%s, var, %s, ...)" % (p[0].file, p[0].line, int(p[0].column) + 1, fn, exports[fn], fn))

// ret = f();
@r0@
identifier f;
expression ret;
@@
ret = f();

@script:python r0_lib@
fn << r0.f;
lib;
@@
coccinelle.lib = gate_library(fn)
if coccinelle.lib is None:
    cocci.include_match(False)

@@
identifier r0.f, r0_lib.lib;
expression r0.ret;
@@
- ret = f();
+ flexos_gate_r(lib, ret, f);

// ret = f(args);
@r1@
identifier f;
expression list es;
expression ret;
@@
ret = f(es);

@script:python r1_lib@
fn << r1.f;
lib;
@@
coccinelle.lib = gate_library(fn)
if coccinelle.lib is None:
    cocci.include_match(False)

@@
identifier r1.f, r1_lib.lib;
expression list r1.es;
expression r1.ret;
@@
- ret = f(es);
+ flexos_gate_r(lib, ret, f, es);

// T x = f(args);  (the declaration keeps its place, the call follows it)
@d1@
identifier f, x;
type T;
expression list es;
@@
T x = f(es);

@script:python d1_lib@
fn << d1.f;
lib;
@@
coccinelle.lib = gate_library(fn)
if coccinelle.lib is None:
    cocci.include_match(False)

@@
identifier d1.f, d1.x, d1_lib.lib;
type d1.T;
expression list d1.es;
@@
- T x = f(es);
+ T x;
+ flexos_gate_r(lib, x, f, es);

// f();
@s0@
identifier f;
@@
f();

@script:python s0_lib@
fn << s0.f;
lib;
@@
coccinelle.lib = gate_library(fn)
if coccinelle.lib is None:
    cocci.include_match(False)

@@
identifier s0.f, s0_lib.lib;
@@
- f();
+ flexos_gate(lib, f);

// f(args);
@s1@
identifier f;
expression list es;
@@
f(es);

@script:python s1_lib@
fn << s1.f;
lib;
@@
coccinelle.lib = gate_library(fn)
if coccinelle.lib is None:
    cocci.include_match(False)

@@
identifier s1.f, s1_lib.lib;
expression list s1.es;
@@
- f(es);
+ flexos_gate(lib, f, es);
