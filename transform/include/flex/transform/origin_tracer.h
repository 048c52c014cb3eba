// Where a pointer passed through an isolating gate points: the argument is followed back through the
// source's variables, parameters (to the calls in this source), struct fields (to the stores in this
// source) and returns (of functions defined in this source) to each origin it can have, so that the
// memory it names can be shared before the callee's compartment is asked to read or write it.
//
//   Before: static void say(int s, const char *msg, long n) { flexos_gate(libnet, net_send, s, msg, n, 0); }
//           void hello(int s) { char line[64]; ...; say(s, line, n); }
//   Origins of argument 2: `line`, a local of hello, reached through msg (a parameter of say)
//   After:  `line` is shared as if declared __attribute__((flexos_whitelist)) (sharing.stack), and the
//           build says so in a note
//
// The origins, and what the transformer makes of each:
//   shared     memory already shared (a whitelisted variable, a flexos_malloc_whitelist block, a pointer a
//              gate handed in, a null pointer), or no memory at all (an integer made into a pointer, a
//              function pointer), or a parameter of a function declared in a header and not called in
//              this source, or of one called through a pointer (an operations table's entry): their
//              interface's contract says what callers pass: nothing to do
//   variable   a local or static defined in this source: shared automatically
//   allocation a malloc/calloc/realloc call in this source: routed to the shared heap
//   literal    a string literal reached through a variable: moved to shared read-only data
//   refused    memory that cannot be shared from here (a thread-local, a variable defined in another
//              source, an allocation the shared heap cannot make): a build error, with the chain
//   unknown    a value the analysis cannot follow (an integer turned into a pointer, a pointer read from
//              an array of pointers, a function defined elsewhere): a warning naming the call and the
//              argument, with the chain
#pragma once

#include <memory>
#include <set>
#include <string>
#include <vector>

namespace clang {
class ASTContext;
class CallExpr;
class Expr;
class StringLiteral;
class VarDecl;
class SourceLocation;
}  // namespace clang

namespace flex::transform {

struct origin {
  enum kind_t { shared, variable, allocation, literal, refused, unknown } kind = unknown;
  const clang::VarDecl *var = nullptr;          // variable, refused (when a variable is the reason)
  const clang::CallExpr *call = nullptr;        // allocation
  const clang::StringLiteral *text = nullptr;   // literal
  std::string chain;  // how the argument reaches it: "'msg' (a parameter of say) <- 'line' (a local of hello)"
  std::string why;    // refused and unknown: the reason
};

// One source's facts the tracer needs (the calls of each function, the stores to each variable and
// field, the returns of each function), gathered once per translation unit.
class origin_tracer {
 public:
  // `exported`: the functions of this library other compartments call through gates; their pointer
  // parameters arrive already shared (the caller's side of the gate is checked where it is written).
  origin_tracer(clang::ASTContext &context, std::set<std::string> exported);
  ~origin_tracer();
  origin_tracer(const origin_tracer &) = delete;
  origin_tracer &operator=(const origin_tracer &) = delete;

  // The origins of `arg`, an argument of the call a gate makes inside `caller`.
  std::vector<origin> trace(const clang::Expr *arg) const;

  struct index;  // the source's facts (origin_tracer.cc)

 private:
  std::unique_ptr<index> index_;
  std::set<std::string> exported_;
  clang::ASTContext &context_;
};

}  // namespace flex::transform
