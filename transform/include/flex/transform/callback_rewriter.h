// Callbacks (DESIGN.md §3): a function marked `__attribute__((libX_callback))` may be called by library X
// through a pointer. When X lives behind an isolating boundary, every pointer to the function that its
// library takes resolves to the wrapper flexbuild generates for that boundary, which gates from X's
// compartment into the function's own; calls by name stay direct.
//
//   Before: int on_tick(int n) __attribute__((libticker_callback)) { ... }
//           flexos_gate_r(libticker, rc, ticker_run, on_tick, 5);
//   After:  int on_tick(int n) { ... } extern __typeof__(on_tick) __flex_gate_core__on_tick
//               __asm__("__flex_gate_core__on_tick");
//           rc = <gate>(__flex_gate_core__on_tick, 5);
//
// flex-transform predefines `lib<name>_callback` for every library of the plan as an annotation
// (callback_macro_definitions), so the attribute reaches the AST; a callback attribute naming a library
// the image lacks is an error.
//
// Usage (in an ASTConsumer, after parsing):
//   callback_rewrite r = rewrite_callbacks(context, plan, stripper);
//   r.edits -> the edit list; r.uses -> applied inside gate arguments first; r.errors -> diagnostics
#pragma once

#include "flex/transform/edits.h"
#include "flex/transform/gate_plan.h"
#include "flex/transform/whitelist_rewriter.h"

#include <clang/Basic/SourceLocation.h>

#include <string>
#include <utility>
#include <vector>

namespace clang {
class ASTContext;
class FunctionDecl;
}  // namespace clang

namespace flex::transform {

struct found_callback {
  const clang::FunctionDecl *fn = nullptr;  // the declaration carrying the attribute
  std::string from;                         // the library that calls it back (manifest name)
  const gate_target *target = nullptr;      // that library, as the plan sees it
  unsigned references = 0;                  // pointers to it rewritten to the wrapper
};

struct callback_rewrite {
  std::vector<text_edit> edits;  // attribute strips and wrapper declarations
  std::vector<text_edit> uses;   // references to callbacks (these may lie inside gate arguments)
  std::vector<std::pair<clang::SourceLocation, std::string>> errors;
  std::vector<found_callback> callbacks;
};

// The symbol of the wrapper gating from `from_compartment` into `function`.
std::string callback_wrapper(std::string_view from_compartment, std::string_view function);

// `-Dlib<name>_callback=annotate("flexos_callback:<name>")` for every target of the plan.
std::vector<std::string> callback_macro_definitions(const gate_plan &plan);

callback_rewrite rewrite_callbacks(clang::ASTContext &context, const gate_plan &plan,
                                   const whitelist_stripper &stripper);

}  // namespace flex::transform
