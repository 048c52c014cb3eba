// What the AST says about the placeholders the preprocessor found. Under __FLEX_TRANSFORM__ the
// placeholders expand to ordinary C/C++ (isolation.h), so the parsed source shows how each gate's value is
// used and which declaration each flexos_whitelist annotates. One small matcher callback per question.
//
// Usage (in an ASTConsumer, after parsing):
//   placeholder_facts facts = match_placeholders(ast_context, found);
//   facts.gate_uses[i]       // how gate found.gates[i] is used
//   facts.whitelisted[i]     // the declaration found.whitelists[i] annotates (or nullptr)
#pragma once

#include "flex/transform/gate_rewriter.h"
#include "flex/transform/placeholder.h"

#include <clang/Basic/SourceLocation.h>

#include <string>
#include <vector>

namespace clang {
class ASTContext;
class NamedDecl;
}  // namespace clang

namespace flex::transform {

// What one argument of a gate points to, when the AST tells: a string literal, or memory private to the
// caller's compartment (a local, a static, or a block from malloc & co. held in a local pointer) that is
// not whitelisted.
struct gate_arg_fact {
  enum kind_t { literal, private_stack, private_static, private_heap } kind = literal;
  unsigned index = 0;                 // which argument
  std::string name;                   // the variable (empty for literals)
  clang::SourceLocation loc;          // where the argument is spelled
  unsigned offset = 0, length = 0;    // literals: the spelling of the literal in the main file
  std::string text;                   // literals: that spelling
  std::uint64_t bytes = 0;            // literals: their size, the terminating NUL included
};

struct placeholder_facts {
  std::vector<gate_use> gate_uses;                    // parallel to placeholder_set::gates
  std::vector<const clang::NamedDecl *> whitelisted;  // parallel to placeholder_set::whitelists
  std::vector<std::vector<gate_arg_fact>> gate_args;  // parallel to placeholder_set::gates
  // Arguments or results a gate cannot carry (structs, unions, floating point): a gate passes words.
  std::vector<std::vector<placeholder_problem>> gate_type_problems;  // parallel to placeholder_set::gates
};

placeholder_facts match_placeholders(clang::ASTContext &context, const placeholder_set &found);

}  // namespace flex::transform
