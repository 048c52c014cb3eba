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

#include <optional>
#include <string>
#include <vector>

namespace clang {
class ASTContext;
class CallExpr;
class LangOptions;
class SourceManager;
class StringLiteral;
class NamedDecl;
}  // namespace clang

namespace flex::transform {

// A string literal spelled as an argument of a gate (moved to shared read-only data). Where any other
// pointer argument points is the origin tracer's question (origin_tracer.h).
struct gate_arg_fact {
  unsigned index = 0;                 // which argument
  clang::SourceLocation loc;          // where the argument is spelled
  unsigned offset = 0, length = 0;    // literals: the spelling of the literal in the main file
  std::string text;                   // literals: that spelling
  std::uint64_t bytes = 0;            // literals: their size, the terminating NUL included
};

struct placeholder_facts {
  std::vector<gate_use> gate_uses;                    // parallel to placeholder_set::gates
  std::vector<const clang::NamedDecl *> whitelisted;  // parallel to placeholder_set::whitelists
  std::vector<std::vector<gate_arg_fact>> gate_args;  // parallel to placeholder_set::gates
  std::vector<const clang::CallExpr *> gate_calls;     // the call each gate makes (null if not found)
  // Arguments or results a gate cannot carry (structs, unions, floating point): a gate passes words.
  std::vector<std::vector<placeholder_problem>> gate_type_problems;  // parallel to placeholder_set::gates
};

placeholder_facts match_placeholders(clang::ASTContext &context, const placeholder_set &found);

// `lit` as a gate_arg_fact (its spelling in the main file), or nullopt where it is not spelled there.
std::optional<gate_arg_fact> literal_fact(const clang::StringLiteral &lit, unsigned index,
                                          const clang::SourceManager &sm, const clang::LangOptions &lang);

}  // namespace flex::transform
