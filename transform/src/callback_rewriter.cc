#include "flex/transform/callback_rewriter.h"

#include <clang/AST/ASTContext.h>
#include <clang/AST/Decl.h>
#include <clang/AST/Expr.h>
#include <clang/AST/ParentMapContext.h>
#include <clang/ASTMatchers/ASTMatchFinder.h>
#include <clang/ASTMatchers/ASTMatchers.h>
#include <clang/Lex/Lexer.h>

#include <map>
#include <set>

namespace flex::transform {
namespace {

namespace m = clang::ast_matchers;

constexpr llvm::StringLiteral kAnnotation = "flexos_callback:";

// The library a callback annotation names ("flexos_callback:ticker" -> "ticker"), or empty.
llvm::StringRef callback_library(const clang::AnnotateAttr &attr) {
  llvm::StringRef a = attr.getAnnotation();
  return a.starts_with(kAnnotation) ? a.drop_front(kAnnotation.size()) : llvm::StringRef();
}

// "libticker_callback" -> "ticker"; empty for any other identifier.
llvm::StringRef library_of_attribute_word(llvm::StringRef word) {
  if (!word.starts_with("lib") || !word.ends_with("_callback")) return {};
  return word.drop_front(3).drop_back(std::string_view("_callback").size());
}

bool crosses_gates(clang::QualType t) {
  t = t.getCanonicalType();
  return t->isVoidType() || t->isIntegralOrEnumerationType() || t->isAnyPointerType() || t->isNullPtrType();
}

// True when `ref` is the callee of a call (`f(x)`, `(f)(x)`): such a call stays direct.
bool is_direct_callee(clang::ASTContext &context, const clang::DeclRefExpr &ref) {
  const clang::Stmt *child = &ref;
  while (true) {
    auto parents = context.getParents(*child);
    if (parents.empty()) return false;
    const auto *parent = parents[0].get<clang::Stmt>();
    if (!parent) return false;
    if (const auto *call = llvm::dyn_cast<clang::CallExpr>(parent))
      return call->getCallee()->IgnoreParenImpCasts() == &ref;
    if (!llvm::isa<clang::ImplicitCastExpr, clang::ParenExpr>(parent)) return false;
    child = parent;
  }
}

class Rewriter {
 public:
  Rewriter(clang::ASTContext &context, const gate_plan &plan, const whitelist_stripper &stripper)
      : context_(context), sm_(context.getSourceManager()), plan_(plan), stripper_(stripper) {}

  callback_rewrite run() {
    report_unknown_libraries();
    collect();
    rewrite_references();
    return std::move(out_);
  }

 private:
  void error(clang::SourceLocation at, std::string message) { out_.errors.emplace_back(at, std::move(message)); }

  // A `lib<name>_callback` inside an attribute, for a library the image does not contain.
  void report_unknown_libraries() {
    clang::FileID main = sm_.getMainFileID();
    clang::Lexer lexer(main, sm_.getBufferOrFake(main), sm_, context_.getLangOpts());
    clang::Token tok;
    for (lexer.LexFromRawLexer(tok); tok.isNot(clang::tok::eof); lexer.LexFromRawLexer(tok)) {
      if (!tok.is(clang::tok::raw_identifier)) continue;
      llvm::StringRef word = tok.getRawIdentifier();
      llvm::StringRef lib = library_of_attribute_word(word);
      if (lib.empty() || plan_.targets.count(lib)) continue;
      if (!stripper_.strip(tok.getLocation(), word)) continue;  // not an attribute: some other name
      std::string message = "'" + word.str() + "' names library '" + lib.str() +
                            "', which this image does not contain";
      std::vector<std::string> names;
      for (const auto &[name, target] : plan_.targets) names.push_back(name);
      if (auto near = nearest_name(lib, names)) message += "; did you mean 'lib" + *near + "_callback'?";
      error(tok.getLocation(), message);
    }
  }

  // Every function of the main file that carries a callback annotation.
  void collect() {
    struct cb : m::MatchFinder::MatchCallback {
      Rewriter *self;
      explicit cb(Rewriter *s) : self(s) {}
      void run(const m::MatchFinder::MatchResult &result) override {
        if (const auto *d = result.Nodes.getNodeAs<clang::Decl>("decl")) self->annotated(*d);
      }
    } callback(this);
    m::MatchFinder finder;
    finder.addMatcher(m::decl(m::hasAttr(clang::attr::Annotate)).bind("decl"), &callback);
    finder.matchAST(context_);
  }

  void annotated(const clang::Decl &decl) {
    for (const auto *attr : decl.specific_attrs<clang::AnnotateAttr>()) {
      llvm::StringRef lib = callback_library(*attr);
      if (lib.empty()) continue;
      clang::SourceLocation at = sm_.getExpansionLoc(attr->getLocation());
      // Redeclarations inherit the attribute: only the one written here counts, once.
      if (attr->isInherited() || !seen_.insert(at.getRawEncoding()).second) continue;
      const std::string word = "lib" + lib.str() + "_callback";
      if (!sm_.isWrittenInMainFile(at)) {
        error(at, word + " in an included file is not supported yet: write it on the function's declaration "
                         "or definition in the library's own source");
        continue;
      }
      llvm::Expected<text_edit> strip = stripper_.strip(at, word);
      if (!strip) {
        error(at, llvm::toString(strip.takeError()));
        continue;
      }
      out_.edits.push_back(std::move(*strip));
      const auto *fn = llvm::dyn_cast<clang::FunctionDecl>(&decl);
      if (!fn) {
        error(at, word + " applies only to functions");
        continue;
      }
      if (!check_signature(*fn, at, word)) continue;
      const gate_target &target = plan_.targets.find(lib)->second;
      const clang::FunctionDecl *canonical = fn->getCanonicalDecl();
      auto [it, fresh] = by_function_.emplace(canonical, out_.callbacks.size());
      if (!fresh) {
        const found_callback &other = out_.callbacks[it->second];
        if (other.target->compartment != target.compartment && target.gate != gate_kind::call &&
            other.target->gate != gate_kind::call)
          error(at, "'" + fn->getNameAsString() + "' is called back from two compartments ('" +
                        other.target->compartment + "' and '" + target.compartment +
                        "'); a pointer can resolve to one wrapper only: give each library a function of its own");
        continue;
      }
      out_.callbacks.push_back({.fn = fn, .from = lib.str(), .target = &target});
    }
  }

  // A callback's arguments and result cross a gate: at most 6 integers or pointers, like an export.
  bool check_signature(const clang::FunctionDecl &fn, clang::SourceLocation at, const std::string &word) {
    const std::string name = "'" + fn.getNameAsString() + "'";
    bool ok = true;
    if (!fn.isExternallyVisible()) {
      error(at, "callback " + name + " must have external linkage: the wrapper that gates into it is generated "
                "outside this file; drop 'static'");
      ok = false;
    } else if (context_.getLangOpts().CPlusPlus && !fn.isExternC()) {
      error(at, "callback " + name + " must have C language linkage: declare it extern \"C\"");
      ok = false;
    }
    if (fn.isVariadic()) {
      error(at, "callback " + name + " is variadic: a gate passes a fixed number of arguments");
      ok = false;
    }
    if (fn.getNumParams() > 6) {
      error(at, "callback " + name + " has " + std::to_string(fn.getNumParams()) +
                    " parameters: a gate passes at most 6; pass a pointer to a whitelisted struct");
      ok = false;
    }
    for (const clang::ParmVarDecl *p : fn.parameters()) {
      if (crosses_gates(p->getType())) continue;
      error(p->getLocation(), "parameter '" + p->getNameAsString() + "' of callback " + name + " has type '" +
                                  p->getType().getAsString() +
                                  "': a gate passes only integers and pointers; pass a pointer to whitelisted data");
      ok = false;
    }
    if (!crosses_gates(fn.getReturnType())) {
      error(at, "callback " + name + " returns '" + fn.getReturnType().getAsString() +
                    "': a gate returns only void, an integer or a pointer");
      ok = false;
    }
    return ok;
  }

  // Where the wrapper's declaration goes: right after the first declaration of the function in this
  // file (its `;`, or the `}` of its body), on the same line.
  std::optional<unsigned> declaration_end(const clang::FunctionDecl &canonical) {
    const clang::FunctionDecl *first = nullptr;
    for (const clang::FunctionDecl *d : canonical.redecls()) {
      clang::SourceLocation b = sm_.getExpansionLoc(d->getBeginLoc());
      if (!sm_.isWrittenInMainFile(b)) continue;
      if (!first || sm_.isBeforeInTranslationUnit(b, sm_.getExpansionLoc(first->getBeginLoc()))) first = d;
    }
    if (!first) return std::nullopt;
    clang::SourceLocation end = sm_.getExpansionLoc(first->getEndLoc());
    if (first->doesThisDeclarationHaveABody())
      return sm_.getFileOffset(clang::Lexer::getLocForEndOfToken(end, 0, sm_, context_.getLangOpts()));
    // A prototype: the `;` that ends it (after any trailing attributes).
    clang::FileID main = sm_.getMainFileID();
    llvm::StringRef buffer = sm_.getBufferData(main);
    clang::Lexer lexer(sm_.getLocForStartOfFile(main), context_.getLangOpts(), buffer.begin(),
                       buffer.begin() + sm_.getFileOffset(end), buffer.end());
    clang::Token tok;
    int depth = 0;
    for (lexer.LexFromRawLexer(tok); tok.isNot(clang::tok::eof); lexer.LexFromRawLexer(tok)) {
      if (tok.isOneOf(clang::tok::l_paren, clang::tok::l_square, clang::tok::l_brace)) ++depth;
      if (tok.isOneOf(clang::tok::r_paren, clang::tok::r_square, clang::tok::r_brace)) --depth;
      if (depth <= 0 && tok.is(clang::tok::semi)) return sm_.getFileOffset(tok.getLocation()) + 1;
    }
    return std::nullopt;
  }

  void rewrite_references() {
    std::map<const clang::FunctionDecl *, std::size_t> isolated;
    for (const auto &[fn, index] : by_function_) {
      if (out_.callbacks[index].target->gate != gate_kind::call) isolated.emplace(fn, index);
    }
    if (isolated.empty()) return;
    struct cb : m::MatchFinder::MatchCallback {
      Rewriter *self;
      const std::map<const clang::FunctionDecl *, std::size_t> &isolated;
      cb(Rewriter *s, const std::map<const clang::FunctionDecl *, std::size_t> &i) : self(s), isolated(i) {}
      void run(const m::MatchFinder::MatchResult &result) override {
        const auto *ref = result.Nodes.getNodeAs<clang::DeclRefExpr>("ref");
        const auto *fn = ref ? llvm::dyn_cast<clang::FunctionDecl>(ref->getDecl()) : nullptr;
        if (!fn) return;
        auto it = isolated.find(fn->getCanonicalDecl());
        if (it != isolated.end()) self->reference(*ref, self->out_.callbacks[it->second]);
      }
    } callback(this, isolated);
    m::MatchFinder finder;
    finder.addMatcher(m::declRefExpr(m::to(m::functionDecl())).bind("ref"), &callback);
    finder.matchAST(context_);

    for (const auto &[fn, index] : isolated) {
      found_callback &c = out_.callbacks[index];
      if (c.references == 0) continue;
      std::optional<unsigned> at = declaration_end(*fn);
      const std::string wrapper = callback_wrapper(c.target->compartment, fn->getName());
      if (!at) {
        error(c.fn->getLocation(), "cannot place the declaration of the wrapper of '" + fn->getNameAsString() + "'");
        continue;
      }
      for (const clang::SourceLocation use : uses_before_[fn]) {
        if (sm_.getFileOffset(use) < *at)
          error(use, "'" + fn->getNameAsString() + "' is used before its first declaration in this file; "
                     "declare it earlier");
      }
      out_.edits.push_back({.offset = *at,
                            .length = 0,
                            .replacement = " extern __typeof__(" + fn->getNameAsString() + ") " + wrapper +
                                           " __asm__(\"" + wrapper + "\");",
                            .loc = c.fn->getLocation()});
    }
  }

  // Before: ticker_start(on_tick)     After: ticker_start(__flex_gate_core__on_tick)
  void reference(const clang::DeclRefExpr &ref, found_callback &c) {
    if (is_direct_callee(context_, ref)) return;
    clang::SourceLocation begin = ref.getBeginLoc(), end = ref.getEndLoc();
    if (begin.isMacroID() || end.isMacroID()) {
      // Inside a gate placeholder (a macro argument) the spelling is in the file; anywhere else in a macro
      // there is no text of its own to rewrite.
      if (!sm_.isMacroArgExpansion(begin) || !sm_.isMacroArgExpansion(end)) {
        if (sm_.isWrittenInMainFile(sm_.getExpansionLoc(begin)))
          error(sm_.getExpansionLoc(begin), "a pointer to callback '" + c.fn->getNameAsString() +
                                                "' taken inside a macro cannot be rewritten to its wrapper; "
                                                "write the name directly in the source");
        return;
      }
      begin = sm_.getSpellingLoc(begin);
      end = sm_.getSpellingLoc(end);
    }
    if (!sm_.isWrittenInMainFile(begin)) return;
    clang::SourceLocation stop = clang::Lexer::getLocForEndOfToken(end, 0, sm_, context_.getLangOpts());
    unsigned offset = sm_.getFileOffset(begin);
    if (!rewritten_.insert(offset).second) return;
    out_.uses.push_back({.offset = offset,
                         .length = sm_.getFileOffset(stop) - offset,
                         .replacement = callback_wrapper(c.target->compartment, c.fn->getName()),
                         .loc = begin});
    uses_before_[c.fn->getCanonicalDecl()].push_back(begin);
    ++c.references;
  }

  clang::ASTContext &context_;
  const clang::SourceManager &sm_;
  const gate_plan &plan_;
  const whitelist_stripper &stripper_;
  callback_rewrite out_;
  std::set<clang::SourceLocation::UIntTy> seen_;
  std::set<unsigned> rewritten_;
  std::map<const clang::FunctionDecl *, std::size_t> by_function_;  // canonical -> out_.callbacks
  std::map<const clang::FunctionDecl *, std::vector<clang::SourceLocation>> uses_before_;
};

}  // namespace

std::string callback_wrapper(std::string_view from_compartment, std::string_view function) {
  return "__flex_gate_" + std::string(from_compartment) + "__" + std::string(function);
}

std::vector<std::string> callback_macro_definitions(const gate_plan &plan) {
  std::vector<std::string> out;
  for (const auto &[name, target] : plan.targets)
    out.push_back("-Dlib" + name + "_callback=annotate(\"" + kAnnotation.str() + name + "\")");
  return out;
}

callback_rewrite rewrite_callbacks(clang::ASTContext &context, const gate_plan &plan,
                                   const whitelist_stripper &stripper) {
  return Rewriter(context, plan, stripper).run();
}

}  // namespace flex::transform
