#include "flex/transform/shared_local_rewriter.h"

#include <clang/AST/ASTContext.h>
#include <clang/AST/Decl.h>
#include <clang/AST/DeclCXX.h>
#include <clang/AST/Expr.h>
#include <clang/AST/ParentMapContext.h>
#include <clang/AST/RecursiveASTVisitor.h>
#include <clang/AST/Stmt.h>
#include <clang/Basic/SourceManager.h>
#include <clang/Lex/Lexer.h>

namespace flex::transform {
namespace {

// Functions through which control leaves a scope without running its cleanups.
bool is_nonlocal_jump(llvm::StringRef name) {
  return name == "setjmp" || name == "_setjmp" || name == "sigsetjmp" || name == "__sigsetjmp" ||
         name == "longjmp" || name == "_longjmp" || name == "siglongjmp" || name == "__builtin_setjmp" ||
         name == "__builtin_longjmp";
}

// What in the enclosing function the rewrite needs: the uses of the local, and the constructs that
// would let control escape its cleanup.
class body_scan : public clang::RecursiveASTVisitor<body_scan> {
 public:
  explicit body_scan(const clang::VarDecl &var) : var_(var) {}

  bool VisitDeclRefExpr(clang::DeclRefExpr *ref) {
    if (ref->getDecl() == &var_) uses.push_back(ref);
    return true;
  }
  bool VisitCallExpr(clang::CallExpr *call) {
    if (const auto *fn = call->getDirectCallee(); fn && fn->getIdentifier() && is_nonlocal_jump(fn->getName()))
      escape = escape ? escape : call;
    return true;
  }
  bool VisitIndirectGotoStmt(clang::IndirectGotoStmt *s) {
    escape = escape ? escape : s;
    return true;
  }
  bool VisitAddrLabelExpr(clang::AddrLabelExpr *e) {
    escape = escape ? escape : e;
    return true;
  }

  std::vector<const clang::DeclRefExpr *> uses;
  const clang::Stmt *escape = nullptr;

 private:
  const clang::VarDecl &var_;
};

const char *mode_constant(std::string_view mode) {
  if (mode == "heap") return "FLEXOS_WL_HEAP";
  if (mode == "shared") return "FLEXOS_WL_SHARED";
  return "FLEXOS_WL_DSS";
}

// The DeclStmt that declares `var`, and the function whose body holds it.
const clang::DeclStmt *declaring_stmt(clang::ASTContext &context, const clang::VarDecl &var) {
  for (const auto &parent : context.getParents(var)) {
    if (const auto *stmt = parent.get<clang::DeclStmt>()) return stmt;
  }
  return nullptr;
}

}  // namespace

shared_local_rewrite rewrite_shared_local(clang::ASTContext &context, const clang::VarDecl &var,
                                          std::string_view mode) {
  shared_local_rewrite out;
  const clang::SourceManager &sm = context.getSourceManager();
  const clang::LangOptions &lang = context.getLangOpts();
  const std::string name = var.getNameAsString();
  auto fail = [&](clang::SourceLocation at, std::string why) { out.errors.emplace_back(at, std::move(why)); };
  const std::string head = "whitelisted local '" + name + "' ";

  const auto *fn = llvm::dyn_cast_or_null<clang::FunctionDecl>(var.getParentFunctionOrMethod());
  const clang::DeclStmt *decl_stmt = declaring_stmt(context, var);
  if (!fn || !fn->hasBody() || !decl_stmt) {
    fail(var.getLocation(), head + "is not declared in a function body flex-transform can rewrite");
    return out;
  }
  if (!decl_stmt->isSingleDecl()) {
    fail(var.getLocation(), head + "shares its declaration with other variables; declare it on its own");
    return out;
  }
  const clang::QualType type = var.getType();
  if (type->isVariablyModifiedType()) {
    fail(var.getLocation(), head + "is a variable-length array; give it a constant size");
    return out;
  }
  if (var.getStorageClass() == clang::SC_Register) {
    fail(var.getLocation(), head + "is declared `register`; shared storage has an address");
    return out;
  }
  if (lang.CPlusPlus && !type.isTriviallyCopyableType(context)) {
    fail(var.getLocation(), head + "has a C++ type that is not trivially copyable (" + type.getAsString() +
                                "); whitelist a plain buffer or struct instead");
    return out;
  }
  if (type.isConstQualified()) {
    fail(var.getLocation(), head + "is const; a read-only datum can be a whitelisted static instead");
    return out;
  }

  body_scan scan(var);
  scan.TraverseStmt(fn->getBody());
  if (scan.escape) {
    fail(var.getLocation(), head + "cannot be given shared storage safely: '" + fn->getNameAsString() +
                                "' uses setjmp/longjmp or a computed goto, which could leave the scope "
                                "without releasing it; move the local to a function without them");
    fail(scan.escape->getBeginLoc(), "the construct is here");
    return out;
  }

  // After the `;` of the declaration, on the same line.
  clang::SourceLocation end = decl_stmt->getEndLoc();
  if (end.isMacroID() || var.getLocation().isMacroID()) {
    fail(var.getLocation(), head + "is declared inside a macro; flex-transform cannot rewrite it there");
    return out;
  }
  const std::string pointer = "__flex_wl_" + name;
  std::string decl = " void *const " + pointer + " __attribute__((cleanup(flexos_wl_release))) = flexos_wl_alloc(&" +
                     name + ", sizeof " + name + ", __alignof__(" + name + "), " + mode_constant(mode) + ");";
  const unsigned after_semi = sm.getFileOffset(end) + 1;
  out.edits.push_back({.offset = after_semi, .length = 0, .replacement = std::move(decl), .loc = end});

  // Every use after the declaration goes through the pointer.
  const clang::SourceRange own = var.getSourceRange();
  for (const clang::DeclRefExpr *ref : scan.uses) {
    clang::SourceLocation at = ref->getLocation();
    if (own.isValid() && !sm.isBeforeInTranslationUnit(at, own.getBegin()) &&
        !sm.isBeforeInTranslationUnit(own.getEnd(), at))
      continue;  // inside the declaration itself (`int x = sizeof x`)
    if (at.isMacroID()) {
      clang::SourceLocation spelled = sm.getSpellingLoc(at);
      if (!sm.isMacroArgExpansion(at) || !sm.isWrittenInMainFile(spelled)) {
        fail(sm.getExpansionLoc(at), head + "is used inside a macro's definition here; flex-transform cannot "
                                            "rewrite that use (pass the local to the macro as an argument)");
        continue;
      }
      at = spelled;
    }
    out.uses.push_back({.offset = sm.getFileOffset(at),
                         .length = static_cast<unsigned>(clang::Lexer::MeasureTokenLength(at, sm, lang)),
                         .replacement = "(*(__typeof__(" + name + ") *)" + pointer + ")",
                         .loc = at});
  }
  return out;
}

}  // namespace flex::transform
