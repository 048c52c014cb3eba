#include "flex/transform/origin_tracer.h"

#include <clang/AST/ASTContext.h>
#include <clang/AST/Decl.h>
#include <clang/AST/Expr.h>
#include <clang/AST/RecursiveASTVisitor.h>
#include <clang/Basic/SourceManager.h>

#include <map>
#include <memory>

namespace flex::transform {

namespace {

constexpr int kMaxDepth = 12;

const clang::Decl *canon(const clang::Decl *d) {
  return d ? d->getCanonicalDecl() : nullptr;
}

bool whitelisted(const clang::Decl *d) {
  for (const clang::Decl *r : d->redecls()) {
    for (const auto *attr : r->specific_attrs<clang::AnnotateAttr>())
      if (attr->getAnnotation() == "flexos_whitelist") return true;
    if (const auto *sec = r->getAttr<clang::SectionAttr>(); sec && sec->getName().starts_with(".data_shared"))
      return true;
  }
  return false;
}

std::string describe(const clang::VarDecl &v) {
  const std::string name = "'" + v.getNameAsString() + "'";
  const auto *fn = llvm::dyn_cast<clang::FunctionDecl>(v.getDeclContext());
  if (llvm::isa<clang::ParmVarDecl>(v)) return name + " (a parameter of " + (fn ? fn->getNameAsString() : "?") + ")";
  if (v.hasLocalStorage()) return name + " (a local of " + (fn ? fn->getNameAsString() : "?") + ")";
  return name + (v.isStaticLocal() ? " (a static of " + (fn ? fn->getNameAsString() : "?") + ")" : " (a static)");
}

}  // namespace

struct origin_tracer::index : clang::RecursiveASTVisitor<origin_tracer::index> {
  std::map<const clang::Decl *, std::vector<const clang::CallExpr *>> calls;       // by callee
  std::map<const clang::Decl *, std::vector<const clang::Expr *>> stores;          // by variable or field
  std::map<const clang::Decl *, std::vector<const clang::Expr *>> returns;         // by function
  std::set<const clang::Decl *> address_taken;                                     // pointer variables
  std::set<const clang::Decl *> called_through_pointer;                            // functions used as values
  std::set<const clang::Expr *> callees;                                           // the names calls call
  std::vector<const clang::FunctionDecl *> functions;                               // the one being walked

  bool TraverseFunctionDecl(clang::FunctionDecl *fn) {
    functions.push_back(fn);
    bool ok = RecursiveASTVisitor::TraverseFunctionDecl(fn);
    functions.pop_back();
    return ok;
  }
  bool VisitCallExpr(clang::CallExpr *call) {
    if (const clang::FunctionDecl *fn = call->getDirectCallee()) calls[canon(fn)].push_back(call);
    if (const clang::Expr *callee = call->getCallee()) callees.insert(callee->IgnoreParenImpCasts());
    return true;
  }
  bool VisitDeclRefExpr(clang::DeclRefExpr *ref) {
    if (llvm::isa<clang::FunctionDecl>(ref->getDecl()) && !callees.count(ref))
      called_through_pointer.insert(canon(ref->getDecl()));
    return true;
  }
  bool VisitReturnStmt(clang::ReturnStmt *ret) {
    if (!functions.empty() && ret->getRetValue()) returns[canon(functions.back())].push_back(ret->getRetValue());
    return true;
  }
  bool VisitBinaryOperator(clang::BinaryOperator *op) {
    if (op->getOpcode() != clang::BO_Assign) return true;
    const clang::Expr *lhs = op->getLHS()->IgnoreParenImpCasts();
    if (const auto *ref = llvm::dyn_cast<clang::DeclRefExpr>(lhs)) {
      stores[canon(ref->getDecl())].push_back(op->getRHS());
    } else if (const auto *member = llvm::dyn_cast<clang::MemberExpr>(lhs)) {
      stores[canon(member->getMemberDecl())].push_back(op->getRHS());
    }
    return true;
  }
  bool VisitUnaryOperator(clang::UnaryOperator *op) {
    if (op->getOpcode() != clang::UO_AddrOf) return true;
    if (const auto *ref = llvm::dyn_cast<clang::DeclRefExpr>(op->getSubExpr()->IgnoreParenImpCasts())) {
      if (ref->getType()->isPointerType()) address_taken.insert(canon(ref->getDecl()));
    }
    return true;
  }
  bool VisitVarDecl(clang::VarDecl *v) {
    if (const clang::Expr *init = v->getInit(); init && v->getType()->isPointerType())
      stores[canon(v)].push_back(init);
    return true;
  }
};

namespace {

class walker {
 public:
  walker(const origin_tracer::index &ix, const std::set<std::string> &exported, clang::ASTContext &context,
         std::vector<origin> &out)
      : ix_(ix), exported_(exported), context_(context), out_(out) {}

  // The pointer value `e` evaluates to.
  void value(const clang::Expr *e, const std::string &chain, int depth) {
    if (!e) return;
    if (depth > kMaxDepth) return add(origin::unknown, chain, "it passes through more steps than the build follows");
    // An integer made into a pointer is a value the callee is handed back (a cookie, a thread argument),
    // not memory it reads: there is nothing to share. So is a function pointer (callbacks have gates).
    for (const clang::Expr *x = e->IgnoreParens(); const auto *cast = llvm::dyn_cast<clang::CastExpr>(x);
         x = cast->getSubExpr()->IgnoreParens()) {
      if (cast->getSubExpr()->getType()->isIntegerType()) return add(origin::shared, chain, "an integer");
    }
    if (e->getType()->isFunctionPointerType()) return add(origin::shared, chain, "a function");
    e = e->IgnoreParenCasts();
    if (e->isNullPointerConstant(context_, clang::Expr::NPC_ValueDependentIsNotNull))
      return add(origin::shared, chain, "null");
    if (const auto *lit = llvm::dyn_cast<clang::StringLiteral>(e)) {
      origin o{.kind = origin::literal, .text = lit, .chain = chain, .why = {}};
      out_.push_back(o);
      return;
    }
    if (const auto *op = llvm::dyn_cast<clang::UnaryOperator>(e)) {
      if (op->getOpcode() == clang::UO_AddrOf) return object(op->getSubExpr(), chain, depth + 1);
      return add(origin::unknown, chain, "it is computed by an operator the build does not follow");
    }
    if (const auto *ref = llvm::dyn_cast<clang::DeclRefExpr>(e)) {
      const auto *v = llvm::dyn_cast<clang::VarDecl>(ref->getDecl());
      if (!v) return add(origin::unknown, chain, "it is not a variable");
      if (v->getType()->isArrayType()) return variable(*v, chain);
      return pointer_variable(*v, join(chain, describe(*v)), depth + 1);
    }
    if (const auto *member = llvm::dyn_cast<clang::MemberExpr>(e)) {
      if (member->getType()->isArrayType()) return object(member, chain, depth + 1);
      const clang::Decl *field = canon(member->getMemberDecl());
      const std::string step = join(chain, "field '" + member->getMemberDecl()->getNameAsString() + "'");
      auto it = ix_.stores.find(field);
      if (it == ix_.stores.end()) return add(origin::unknown, step, "no store to that field is in this source");
      for (const clang::Expr *rhs : it->second) value(rhs, step, depth + 1);
      return;
    }
    if (const auto *call = llvm::dyn_cast<clang::CallExpr>(e)) return call_result(*call, chain, depth + 1);
    if (const auto *cond = llvm::dyn_cast<clang::AbstractConditionalOperator>(e)) {
      value(cond->getTrueExpr(), chain, depth + 1);
      value(cond->getFalseExpr(), chain, depth + 1);
      return;
    }
    if (const auto *op = llvm::dyn_cast<clang::BinaryOperator>(e)) {
      if (op->getOpcode() == clang::BO_Comma || op->getOpcode() == clang::BO_Assign)
        return value(op->getRHS(), chain, depth + 1);
      if (op->isAdditiveOp()) {  // p + n, n + p, p - n: within the object p points into
        if (op->getLHS()->getType()->isPointerType() || op->getLHS()->getType()->isArrayType())
          return value(op->getLHS(), chain, depth + 1);
        if (op->getRHS()->getType()->isPointerType() || op->getRHS()->getType()->isArrayType())
          return value(op->getRHS(), chain, depth + 1);
      }
    }
    if (llvm::isa<clang::ArraySubscriptExpr>(e))
      return add(origin::unknown, chain, "it is read from an array of pointers");
    add(origin::unknown, chain, "the build cannot follow this expression");
  }

 private:
  static std::string join(const std::string &chain, const std::string &step) {
    return chain.empty() ? step : chain + " <- " + step;
  }

  void add(origin::kind_t kind, const std::string &chain, std::string why) {
    out_.push_back({.kind = kind, .chain = chain, .why = std::move(why)});
  }

  // The object an lvalue names (`x`, `x[i]`, `x.f`, `p->f`, `*p`).
  void object(const clang::Expr *e, const std::string &chain, int depth) {
    e = e->IgnoreParenImpCasts();
    while (true) {
      if (const auto *s = llvm::dyn_cast<clang::ArraySubscriptExpr>(e)) {
        const clang::Expr *base = s->getBase()->IgnoreParenImpCasts();
        if (!base->getType()->isArrayType()) return value(s->getBase(), chain, depth + 1);  // p[i]: in p's object
        e = base;
      } else if (const auto *m = llvm::dyn_cast<clang::MemberExpr>(e)) {
        if (m->isArrow()) return value(m->getBase(), chain, depth + 1);  // p->f: in the object p points to
        e = m->getBase()->IgnoreParenImpCasts();
      } else if (const auto *u = llvm::dyn_cast<clang::UnaryOperator>(e); u && u->getOpcode() == clang::UO_Deref) {
        return value(u->getSubExpr(), chain, depth + 1);
      } else {
        break;
      }
    }
    const auto *ref = llvm::dyn_cast<clang::DeclRefExpr>(e);
    const auto *v = ref ? llvm::dyn_cast<clang::VarDecl>(ref->getDecl()) : nullptr;
    if (!v) return add(origin::unknown, chain, "it is not a variable's memory");
    variable(*v, chain);
  }

  // The memory of variable v itself.
  void variable(const clang::VarDecl &v, const std::string &chain) {
    const std::string step = join(chain, describe(v));
    if (whitelisted(&v)) return add(origin::shared, step, "whitelisted");
    if (v.getTLSKind() != clang::VarDecl::TLS_None) {
      origin o{.kind = origin::refused, .var = &v, .chain = step,
               .why = "it is thread-local, outside every compartment's memory"};
      out_.push_back(o);
      return;
    }
    if (v.hasGlobalStorage() && !v.hasDefinition(context_)) {
      origin o{.kind = origin::refused, .var = &v, .chain = step,
               .why = "it is defined in another source: mark its definition __attribute__((flexos_whitelist))"};
      out_.push_back(o);
      return;
    }
    origin o{.kind = origin::variable, .var = &v, .chain = step, .why = {}};
    out_.push_back(o);
  }

  // The value of a pointer variable: what it was given.
  void pointer_variable(const clang::VarDecl &v, const std::string &chain, int depth) {
    if (!seen_.insert(canon(&v)).second) return;  // a cycle of assignments: the others cover it
    if (const auto *param = llvm::dyn_cast<clang::ParmVarDecl>(&v)) return parameter(*param, chain, depth);
    if (ix_.address_taken.count(canon(&v)))
      return add(origin::unknown, chain, "its address is taken, so it may be set through a pointer");
    auto it = ix_.stores.find(canon(&v));
    if (it == ix_.stores.end()) return add(origin::unknown, chain, "it is given no value in this source");
    for (const clang::Expr *rhs : it->second) value(rhs, chain, depth + 1);
  }

  void parameter(const clang::ParmVarDecl &p, const std::string &chain, int depth) {
    const auto *fn = llvm::dyn_cast<clang::FunctionDecl>(p.getDeclContext());
    if (!fn) return add(origin::unknown, chain, "it is a parameter of something other than a function");
    if (exported_.count(fn->getNameAsString()))
      return add(origin::shared, chain, "it arrives through a gate, checked where the gate is written");
    if (ix_.called_through_pointer.count(canon(fn)))  // an operations table's entry, a callback
      return add(origin::shared, chain, "a parameter of a function called through a pointer, as its type's contract says");
    auto it = ix_.calls.find(canon(fn));
    if (it == ix_.calls.end()) {
      // A function of an interface (declared in a header) takes what its header's contract says its
      // callers pass; one known only to this source and never called here cannot be followed.
      const clang::SourceManager &sm = context_.getSourceManager();
      if (!sm.isWrittenInMainFile(sm.getExpansionLoc(fn->getFirstDecl()->getLocation())))
        return add(origin::shared, chain, "a parameter of an interface declared in a header");
      return add(origin::unknown, chain, fn->getNameAsString() + "() is not called in this source");
    }
    const unsigned index = p.getFunctionScopeIndex();
    for (const clang::CallExpr *call : it->second) {
      if (index < call->getNumArgs()) value(call->getArg(index), chain, depth + 1);
    }
  }

  void call_result(const clang::CallExpr &call, const std::string &chain, int depth) {
    const clang::FunctionDecl *fn = call.getDirectCallee();
    if (!fn || !fn->getIdentifier()) return add(origin::unknown, chain, "it is returned by an indirect call");
    const llvm::StringRef name = fn->getName();
    if (name == "flexos_malloc_whitelist" || name == "flexos_calloc_whitelist" || name == "flexos_realloc_whitelist")
      return add(origin::shared, chain, "shared heap");
    if (name == "malloc" || name == "calloc" || name == "realloc") {
      origin o{.kind = origin::allocation, .call = &call, .chain = join(chain, name.str() + "()"), .why = {}};
      out_.push_back(o);
      return;
    }
    const std::string step = join(chain, name.str() + "()");
    if (name == "strdup" || name == "strndup" || name == "aligned_alloc" || name == "memalign") {
      origin o{.kind = origin::refused, .chain = step,
               .why = "the shared heap has no " + name.str() + ": allocate with flexos_malloc_whitelist and copy"};
      out_.push_back(o);
      return;
    }
    if (!seen_.insert(canon(fn)).second) return;
    auto it = ix_.returns.find(canon(fn));
    if (it == ix_.returns.end()) return add(origin::unknown, step, "it is defined in another source or the C library");
    for (const clang::Expr *r : it->second) value(r, step, depth + 1);
  }

  const origin_tracer::index &ix_;
  const std::set<std::string> &exported_;
  clang::ASTContext &context_;
  std::vector<origin> &out_;
  std::set<const clang::Decl *> seen_;
};

}  // namespace

origin_tracer::origin_tracer(clang::ASTContext &context, std::set<std::string> exported)
    : index_(std::make_unique<index>()), exported_(std::move(exported)), context_(context) {
  index_->TraverseDecl(context.getTranslationUnitDecl());
}

origin_tracer::~origin_tracer() = default;

std::vector<origin> origin_tracer::trace(const clang::Expr *arg) const {
  std::vector<origin> out;
  walker w(*index_, exported_, context_, out);
  w.value(arg, "", 0);
  return out;
}

}  // namespace flex::transform
