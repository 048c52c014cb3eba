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

#include <vector>

namespace clang {
class ASTContext;
class NamedDecl;
}  // namespace clang

namespace flex::transform {

struct placeholder_facts {
  std::vector<gate_use> gate_uses;                    // parallel to placeholder_set::gates
  std::vector<const clang::NamedDecl *> whitelisted;  // parallel to placeholder_set::whitelists
};

placeholder_facts match_placeholders(clang::ASTContext &context, const placeholder_set &found);

}  // namespace flex::transform
