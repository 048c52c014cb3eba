#include "flex/transform/ast_matchers.h"

#include <clang/AST/ASTContext.h>
#include <clang/AST/ExprCXX.h>
#include <clang/AST/ParentMapContext.h>
#include <clang/ASTMatchers/ASTMatchFinder.h>
#include <clang/ASTMatchers/ASTMatchers.h>
#include <clang/Lex/Lexer.h>

#include <optional>
#include <unordered_map>

namespace flex::transform {
namespace {

namespace m = clang::ast_matchers;

// Placeholders by the raw encoding of their (file) location.
using location_index = std::unordered_map<clang::SourceLocation::UIntTy, std::size_t>;

// The first parent of `node` that is not an implicit wrapper (conversions, cleanups, temporaries).
// `child` becomes the node below that parent.
clang::DynTypedNode explicit_parent(clang::ASTContext &context, const clang::Stmt *&child) {
  while (true) {
    auto parents = context.getParents(*child);
    if (parents.empty()) return {};
    const clang::Stmt *parent = parents[0].get<clang::Stmt>();
    if (!parent || !llvm::isa<clang::ImplicitCastExpr, clang::FullExpr, clang::MaterializeTemporaryExpr,
                              clang::CXXBindTemporaryExpr>(parent))
      return parents[0];
    child = parent;
  }
}

// True when `parent` runs `child` as a statement and ignores its value.
bool discards_value(clang::ASTContext &context, const clang::Stmt *parent, const clang::Stmt *child) {
  if (auto *block = llvm::dyn_cast<clang::CompoundStmt>(parent)) {
    // The last statement of a GNU statement expression `({ ... })` gives that expression its value.
    auto parents = context.getParents(*block);
    return child != block->body_back() || parents.empty() || !parents[0].get<clang::StmtExpr>();
  }
  if (llvm::isa<clang::LabelStmt, clang::DefaultStmt, clang::AttributedStmt>(parent)) return true;
  if (auto *s = llvm::dyn_cast<clang::CaseStmt>(parent)) return child == s->getSubStmt();
  if (auto *s = llvm::dyn_cast<clang::IfStmt>(parent)) return child == s->getThen() || child == s->getElse();
  if (auto *s = llvm::dyn_cast<clang::WhileStmt>(parent)) return child == s->getBody();
  if (auto *s = llvm::dyn_cast<clang::DoStmt>(parent)) return child == s->getBody();
  if (auto *s = llvm::dyn_cast<clang::ForStmt>(parent)) return child == s->getBody() || child == s->getInc();
  if (auto *s = llvm::dyn_cast<clang::CXXForRangeStmt>(parent)) return child == s->getBody();
  return false;
}

// True when `e` can be the left side of `=` without parentheses.
bool binds_tighter_than_assignment(const clang::Expr *e) {
  e = e->IgnoreImplicit();
  if (llvm::isa<clang::BinaryOperator, clang::AbstractConditionalOperator>(e)) return false;
  if (auto *op = llvm::dyn_cast<clang::CXXOperatorCallExpr>(e)) {
    clang::OverloadedOperatorKind kind = op->getOperator();
    return op->getNumArgs() == 1 || kind == clang::OO_Subscript || kind == clang::OO_Call ||
           kind == clang::OO_Arrow;
  }
  return true;
}

// `ret` in the expansion `((ret) = (fn)(args))`.
const clang::Expr *gate_result_operand(const clang::ParenExpr &gate) {
  const clang::Expr *assignment = gate.getSubExpr()->IgnoreImplicit();
  const clang::Expr *lhs = nullptr;
  if (auto *op = llvm::dyn_cast<clang::BinaryOperator>(assignment))
    lhs = op->getLHS();
  else if (auto *call = llvm::dyn_cast<clang::CXXOperatorCallExpr>(assignment);
           call && call->getNumArgs() == 2)
    lhs = call->getArg(0);
  auto *paren = lhs ? llvm::dyn_cast<clang::ParenExpr>(lhs->IgnoreImplicit()) : nullptr;
  return paren ? paren->getSubExpr() : nullptr;
}

// The call a gate expansion makes: `((void)(fn)(args))` or `((ret) = (fn)(args))`.
const clang::CallExpr *gate_call(const clang::ParenExpr &gate) {
  const clang::Expr *e = gate.getSubExpr()->IgnoreParenCasts();
  if (auto *op = llvm::dyn_cast<clang::BinaryOperator>(e)) e = op->getRHS()->IgnoreParenCasts();
  if (auto *op = llvm::dyn_cast<clang::CXXOperatorCallExpr>(e); op && op->getNumArgs() == 2)
    e = op->getArg(1)->IgnoreParenCasts();
  return llvm::dyn_cast<clang::CallExpr>(e);
}

// Argument `arg` of a gate, if it is a string literal spelled in the main file.
std::optional<gate_arg_fact> classify_arg(const clang::Expr *arg, unsigned index, const clang::SourceManager &sm,
                                         const clang::LangOptions &lang) {
  const auto *lit = llvm::dyn_cast<clang::StringLiteral>(arg->IgnoreParenImpCasts());
  return lit ? literal_fact(*lit, index, sm, lang) : std::nullopt;
}

// What a gate cannot carry: it passes up to 6 integer or pointer words and returns one.
//   Before: flexos_gate_r(libgeo, d, geo_distance, origin, 2.5);   (struct point origin; double)
//   After:  error: argument 1 of the gate to 'geo_distance' is a struct passed by value ...
std::string uncarried(clang::QualType t) {
  t = t.getCanonicalType();
  if (t->isRecordType()) return t->isUnionType() ? "a union passed by value" : "a struct passed by value";
  if (t->isRealFloatingType() || t->isAnyComplexType()) return "floating point";
  if (t->isVectorType()) return "a vector";
  return {};
}

void check_types(const clang::CallExpr &call, const gate_invocation &gate, clang::ASTContext &context,
                 std::vector<placeholder_problem> &problems) {
  const clang::SourceManager &sm = context.getSourceManager();
  const clang::FunctionDecl *fn = call.getDirectCallee();
  for (unsigned i = 0; i < call.getNumArgs(); ++i) {
    clang::QualType t = fn && i < fn->getNumParams() ? fn->getParamDecl(i)->getType() : call.getArg(i)->getType();
    std::string what = uncarried(t);
    if (what.empty()) continue;
    clang::SourceLocation at = i < gate.args.size() ? gate.args[i].begin : sm.getSpellingLoc(call.getArg(i)->getBeginLoc());
    problems.push_back({at, "argument " + std::to_string(i + 1) + " of the gate to '" + gate.fn.text + "' is " + what +
                                " ('" + t.getAsString() + "'): a gate carries only integers and pointers; pass a "
                                "pointer to shared (whitelisted) data instead"});
  }
  std::string what = uncarried(call.getCallReturnType(context));
  if (auto at = what.find(" passed"); at != std::string::npos) what.erase(at, std::string_view(" passed").size());
  if (!what.empty())
    problems.push_back({gate.fn.begin, "'" + gate.fn.text + "' returns " + what +
                                           ": a gate returns only void, an integer or a pointer; return it through "
                                           "a pointer to shared data instead"});
}

// Matches the outermost expression of every gate expansion, `((void)(fn)(args))` or
// `((ret) = (fn)(args))`, and records how its value is used.
class GateUseCallback : public m::MatchFinder::MatchCallback {
 public:
  GateUseCallback(const placeholder_set &found, const location_index &gates, placeholder_facts &facts)
      : found_(found), gates_(gates), facts_(facts) {}

  void run(const m::MatchFinder::MatchResult &result) override {
    const auto *expr = result.Nodes.getNodeAs<clang::ParenExpr>("gate");
    const clang::SourceManager &sm = *result.SourceManager;
    clang::SourceLocation macro_begin;
    // Only the outermost parentheses start where the gate's own expansion starts (`(ret)` and `(fn)` do
    // not); that expansion may itself lie inside another macro's.
    if (!expr || !expr->getBeginLoc().isMacroID() ||
        !sm.isAtStartOfImmediateMacroExpansion(expr->getBeginLoc(), &macro_begin))
      return;
    auto it = gates_.find(macro_begin.getRawEncoding());
    if (it == gates_.end()) return;

    gate_use &use = facts_.gate_uses[it->second];
    const clang::Stmt *child = expr;
    clang::DynTypedNode parent = explicit_parent(*result.Context, child);
    const auto *parent_stmt = parent.get<clang::Stmt>();
    use.found = true;
    use.statement = parent_stmt && discards_value(*result.Context, parent_stmt, child);
    if (found_.gates[it->second].has_result) {
      const clang::Expr *ret = gate_result_operand(*expr);
      use.simple_ret = ret && binds_tighter_than_assignment(ret);
    }
    if (const clang::CallExpr *call = gate_call(*expr)) {
      if (!facts_.gate_calls[it->second]) facts_.gate_calls[it->second] = call;
      check_types(*call, found_.gates[it->second], *result.Context, facts_.gate_type_problems[it->second]);
      auto &args = facts_.gate_args[it->second];
      for (unsigned i = 0; i < call->getNumArgs(); ++i) {
        if (auto f = classify_arg(call->getArg(i), i, *result.SourceManager, result.Context->getLangOpts()))
          args.push_back(std::move(*f));
      }
    }
  }

 private:
  const placeholder_set &found_;
  const location_index &gates_;
  placeholder_facts &facts_;
};

// Matches every declaration with an annotate attribute and keeps those annotated by flexos_whitelist.
class WhitelistDeclCallback : public m::MatchFinder::MatchCallback {
 public:
  WhitelistDeclCallback(const location_index &whitelists, placeholder_facts &facts)
      : whitelists_(whitelists), facts_(facts) {}

  void run(const m::MatchFinder::MatchResult &result) override {
    const auto *decl = result.Nodes.getNodeAs<clang::NamedDecl>("decl");
    if (!decl) return;
    for (const auto *attr : decl->specific_attrs<clang::AnnotateAttr>()) {
      if (attr->getAnnotation() != "flexos_whitelist") continue;
      clang::SourceLocation at = result.SourceManager->getExpansionLoc(attr->getLocation());
      auto it = whitelists_.find(at.getRawEncoding());
      // The first declaration wins: template instantiations repeat the pattern's attribute.
      if (it != whitelists_.end() && !facts_.whitelisted[it->second]) facts_.whitelisted[it->second] = decl;
    }
  }

 private:
  const location_index &whitelists_;
  placeholder_facts &facts_;
};

}  // namespace

std::optional<gate_arg_fact> literal_fact(const clang::StringLiteral &lit, unsigned index,
                                          const clang::SourceManager &sm, const clang::LangOptions &lang) {
  clang::SourceLocation b = sm.getSpellingLoc(lit.getBeginLoc()), end = sm.getSpellingLoc(lit.getEndLoc());
  if (!sm.isWrittenInMainFile(b) || !sm.isWrittenInMainFile(end)) return std::nullopt;
  end = clang::Lexer::getLocForEndOfToken(end, 0, sm, lang);
  gate_arg_fact f;
  f.index = index;
  f.loc = b;
  f.offset = sm.getFileOffset(b);
  f.length = sm.getFileOffset(end) - f.offset;
  f.text = std::string(sm.getBufferData(sm.getFileID(b)).substr(f.offset, f.length));
  f.bytes = static_cast<std::uint64_t>(lit.getByteLength()) + lit.getCharByteWidth();
  return f;
}

placeholder_facts match_placeholders(clang::ASTContext &context, const placeholder_set &found) {
  placeholder_facts facts;
  facts.gate_uses.resize(found.gates.size());
  facts.whitelisted.resize(found.whitelists.size());
  facts.gate_args.resize(found.gates.size());
  facts.gate_type_problems.resize(found.gates.size());
  facts.gate_calls.resize(found.gates.size(), nullptr);
  location_index gates, whitelists;
  for (std::size_t i = 0; i < found.gates.size(); ++i) gates[found.gates[i].key.getRawEncoding()] = i;
  for (std::size_t i = 0; i < found.whitelists.size(); ++i)
    whitelists[found.whitelists[i].name.getRawEncoding()] = i;

  GateUseCallback gate_use_callback(found, gates, facts);
  WhitelistDeclCallback whitelist_callback(whitelists, facts);
  m::MatchFinder finder;
  if (!gates.empty())
    finder.addMatcher(m::parenExpr(m::isExpansionInMainFile()).bind("gate"), &gate_use_callback);
  if (!whitelists.empty())
    finder.addMatcher(m::namedDecl(m::hasAttr(clang::attr::Annotate)).bind("decl"), &whitelist_callback);
  finder.matchAST(context);
  return facts;
}

}  // namespace flex::transform
