// Instantiates gate placeholders: checks each gate against the plan, then rewrites it into the gate of its
// boundary's kind: a plain call for kind `call`, a call to the boundary's generated gate wrapper for
// `mpk-light`, `mpk-full` and `process`.
//
// Usage:
//   gate_check check = check_gate(gate, plan);          // problems: unknown library, unknown export, ...
//   if (check.target) {
//     llvm::Expected<text_edit> edit = instantiate_gate(gate, *check.target, plan, use, sm);
//     ...
//   }
#pragma once

#include "flex/transform/edits.h"
#include "flex/transform/gate_plan.h"
#include "flex/transform/placeholder.h"

#include <llvm/Support/Error.h>

#include <vector>

namespace clang {
class SourceManager;
}

namespace flex::transform {

// A gate carries at most this many integer or pointer arguments (DESIGN.md §6), whatever its kind, so a
// source that builds with call gates also builds with mpk or process gates.
inline constexpr std::size_t kMaxGateArguments = 6;

// How the parsed source uses a gate's expression: flex-transform finds it in the AST through the
// placeholder's expansion, and adds only the parentheses the instantiated gate needs to mean the same.
struct gate_use {
  bool found = false;       // the expression was found in the AST
  bool statement = false;   // a statement whose value is discarded: `flexos_gate(...);`
  bool simple_ret = false;  // flexos_gate_r's ret binds tighter than `=` (a name, member, subscript, *p)
};

// The result of checking a gate against the plan: its target, or the problems that stop it.
struct gate_check {
  const gate_target *target = nullptr;
  std::vector<placeholder_problem> problems;
};

// The library is in the image, the function is among its exports, there are at most six arguments.
gate_check check_gate(const gate_invocation &gate, const gate_plan &plan);

// The symbol of the gate wrapper flexbuild generates for calls from `compartment` to `function`.
std::string gate_wrapper_symbol(std::string_view compartment, std::string_view function);

// The edit that instantiates `gate` for its boundary, or an error for the gate's location.
llvm::Expected<text_edit> instantiate_gate(const gate_invocation &gate, const gate_target &target,
                                           const gate_plan &plan, const gate_use &use,
                                           const clang::SourceManager &sm);

}  // namespace flex::transform
