#include "transform_action.h"

#include "flex/transform/ast_matchers.h"
#include "flex/transform/callback_rewriter.h"
#include "flex/transform/diagnostics.h"
#include "flex/transform/edits.h"
#include "flex/transform/file_io.h"
#include "flex/transform/gate_rewriter.h"
#include "flex/transform/origin_tracer.h"
#include "flex/transform/placeholder.h"
#include "flex/transform/shared_local_rewriter.h"
#include "flex/transform/whitelist_rewriter.h"

#include <algorithm>
#include <map>
#include <memory>
#include <set>

#include <clang/AST/ASTConsumer.h>
#include <clang/AST/ASTContext.h>
#include <clang/ASTMatchers/ASTMatchFinder.h>
#include <clang/ASTMatchers/ASTMatchers.h>
#include <clang/AST/Decl.h>
#include <clang/Frontend/CompilerInstance.h>
#include <clang/Lex/Lexer.h>
#include <clang/Lex/Preprocessor.h>
#include <llvm/Support/FileSystem.h>
#include <llvm/Support/Path.h>

namespace flex::transform {

std::string absolute_path(const clang::FileManager &files, llvm::StringRef path) {
  llvm::SmallString<256> out(path);
  files.makeAbsolutePath(out);
  llvm::sys::path::remove_dots(out, /*remove_dot_dot=*/true);
  return std::string(out);
}

std::string line_marker(llvm::StringRef source) {
  std::string out = "#line 1 \"";
  for (char c : source) {
    if (c == '\\' || c == '"') out += '\\';
    out += c;
  }
  return out + "\"\n";
}

void record_files_read(const clang::CompilerInstance &ci, transform_session &session) {
  const clang::SourceManager &sm = ci.getSourceManager();
  for (auto it = sm.fileinfo_begin(); it != sm.fileinfo_end(); ++it)
    session.files_read.insert(absolute_path(ci.getFileManager(), it->first.getName()));
}

namespace {

struct place {
  std::string file;
  unsigned line = 0;
  unsigned column = 0;
};

// Transforms one parsed source. Runs once the AST is complete, while the source manager and the
// diagnostic printer are still up.
class TransformConsumer : public clang::ASTConsumer {
 public:
  TransformConsumer(clang::CompilerInstance &ci, transform_session &session, const placeholder_set &found,
                    std::string source, std::string output)
      : ci_(ci),
        sm_(ci.getSourceManager()),
        session_(session),
        found_(found),
        source_(std::move(source)),
        output_(std::move(output)) {}

  void HandleTranslationUnit(clang::ASTContext &context) override {
    for (const placeholder_problem &problem : found_.problems) error(problem.loc, problem.message);
    placeholder_facts facts = match_placeholders(context, found_);
    infer_sharing(context, facts);     // first: what the gates' pointers reach is shared like a whitelist
    strip_whitelists(context, facts);  // then: the uses of shared locals inside gate arguments go into the gates
    share_inferred(context);
    rewrite_callback_pointers(context);
    std::sort(pending_uses_.begin(), pending_uses_.end(),
              [](const text_edit &a, const text_edit &b) { return a.offset < b.offset; });
    // A macro that expands its argument more than once (FD_SET, a TWICE(e)) shows one spelled use as
    // several: it is rewritten once.
    pending_uses_.erase(std::unique(pending_uses_.begin(), pending_uses_.end(),
                                    [](const text_edit &a, const text_edit &b) {
                                      return a.offset == b.offset && a.length == b.length &&
                                             a.replacement == b.replacement;
                                    }),
                        pending_uses_.end());
    instantiate_gates(facts);
    for (text_edit &use : pending_uses_) edits_.add(std::move(use));
    reject_thread_locals(context);
    if (const text_edit *clash = edits_.conflict())
      error(clash->loc, "two placeholders overlap here; flex-transform cannot rewrite both");

    // The client's count also holds the driver's errors about this source's command line.
    if (ci_.getDiagnostics().hasErrorOccurred() || ci_.getDiagnosticClient().getNumErrors() > 0) {
      llvm::sys::fs::remove(output_);  // a stale copy must not outlive a source with errors
      return;
    }
    write_copy();
  }

 private:
  void error(clang::SourceLocation loc, llvm::StringRef message) {
    report_error(ci_.getDiagnostics(), loc, message);
  }

  place where(clang::SourceLocation loc) const {
    clang::PresumedLoc presumed = sm_.getPresumedLoc(loc);
    if (presumed.isInvalid()) return {source_};
    return {absolute_path(ci_.getFileManager(), presumed.getFilename()), presumed.getLine(),
            presumed.getColumn()};
  }

  // String literals spelled as a gate's arguments move to shared read-only data (where the other pointers
  // point is infer_sharing's question).
  //   Before: flexos_gate_r(libnet, rc, net_bind, s, "0.0.0.0", 6379);
  //   After:  <gate>(s, (__extension__({ static const __typeof__("0.0.0.0") __flex_lit_N
  //               __attribute__((section(".rodata_shared"))) = "0.0.0.0"; (__typeof__(("0.0.0.0")[0]) *)__flex_lit_N; })), 6379)
  void share_arguments(const std::vector<gate_arg_fact> &args) {
    for (const gate_arg_fact &f : args) share_literal(f);
  }

  void share_literal(const gate_arg_fact &f) {
    // A literal spelled in a macro is seen once per expansion; it moves once.
    if (!literal_offsets_.insert(f.offset).second) return;
    const std::string name = "__flex_lit_" + std::to_string(f.offset);
    std::string expr = "(__extension__({ static const __typeof__(" + f.text + ") " + name +
                       " __attribute__((section(\".rodata_shared\"))) = " + f.text + "; (__typeof__((" + f.text +
                       ")[0]) *)" + name + "; }))";
    pending_uses_.push_back({.offset = f.offset, .length = f.length, .replacement = keep_lines(expr, f.text), .loc = f.loc});
    shared_literals_++;
    const place at = where(f.loc);
    literals_.push_back({.file = at.file, .line = at.line, .bytes = f.bytes});
  }

  // Each pointer a gate into another compartment passes is followed to where it points (origin_tracer.h):
  // variables of this source are shared as if whitelisted, its malloc'd blocks come from the shared heap,
  // literals move to shared read-only data; what cannot be shared is an error, what cannot be followed a
  // warning, each naming the gate, the argument and the chain of variables.
  //   Before: static void say(int s, const char *m, long n) { flexos_gate(libnet, net_send, s, m, n, 0); }
  //           void greet(int s) { char line[32] = "hi"; say(s, line, 2); }
  //   After:  note: 'line' (a local of greet) is shared automatically: argument 2 of the process gate to
  //           net_send points to it ('m' (a parameter of say) <- 'line' (a local of greet)), and line is
  //           rewritten as a whitelisted local is
  void infer_sharing(clang::ASTContext &context, const placeholder_facts &facts) {
    std::unique_ptr<origin_tracer> tracer;
    for (std::size_t i = 0; i < found_.gates.size(); ++i) {
      const clang::CallExpr *call = facts.gate_calls[i];
      if (!call) continue;
      const gate_check check = check_gate(found_.gates[i], session_.plan);
      if (!check.target || check.target->gate == gate_kind::call) continue;
      if (!tracer) {
        std::set<std::string> exported;
        if (auto it = session_.plan.targets.find(session_.plan.library); it != session_.plan.targets.end())
          exported.insert(it->second.exports.begin(), it->second.exports.end());
        tracer = std::make_unique<origin_tracer>(context, std::move(exported));
      }
      for (unsigned k = 0; k < call->getNumArgs(); ++k) {
        const clang::Expr *arg = call->getArg(k);
        if (!arg->getType()->isPointerType()) continue;
        const std::string what = "argument " + std::to_string(k + 1) + " of the " +
                                 std::string(to_string(check.target->gate)) + " gate to " + found_.gates[i].fn.text;
        for (const origin &o : tracer->trace(arg)) act_on(o, what, *check.target, arg->getExprLoc());
      }
    }
  }

  void act_on(const origin &o, const std::string &what, const gate_target &target, clang::SourceLocation at) {
    const std::string through = o.chain.empty() ? "" : " (" + o.chain + ")";
    const place p = where_of(at);
    switch (o.kind) {
      case origin::shared: return;
      case origin::literal: {
        if (o.chain.empty()) return;  // spelled in the gate: share_arguments moves it
        if (auto f = literal_fact(*o.text, 0, sm_, ci_.getLangOpts())) {
          share_literal(*f);
        } else {
          error(at, what + " points to a string literal spelled in a macro or a header" + through +
                        ": pass it through FLEXOS_SHARED_LITERAL(...)");
        }
        return;
      }
      case origin::variable: {
        const clang::VarDecl *v = o.var;
        if (v->getLocation().isMacroID() || !sm_.isWrittenInMainFile(v->getLocation())) {
          error(at, what + " points to '" + v->getNameAsString() + "'" + through +
                        ", declared in a macro or a header: declare it with __attribute__((flexos_whitelist))");
          return;
        }
        if (inferred_.emplace(v, what + " points to it" + through).second) inferred_order_.push_back(v);
        return;
      }
      case origin::allocation: {
        const clang::SourceLocation name = o.call->getCallee()->IgnoreParenImpCasts()->getExprLoc();
        if (name.isMacroID() || !sm_.isWrittenInMainFile(name)) {
          error(at, what + " points to a block allocated in a macro or a header" + through +
                        ": allocate it with flexos_malloc_whitelist");
          return;
        }
        const std::string fn = o.call->getDirectCallee()->getNameAsString();
        const unsigned offset = sm_.getFileOffset(name);
        if (!allocations_.insert(offset).second) return;
        edits_.add({.offset = offset, .length = static_cast<unsigned>(fn.size()),
                    .replacement = "flexos_" + fn + "_whitelist", .loc = name});
        const place a = where(name);
        session_.log.report({.file = a.file, .line = a.line, .column = a.column, .severity = diag_severity::note,
                             .message = "this " + fn + "() allocates from the shared heap: " + what +
                                        " points to its block" + through});
        return;
      }
      case origin::refused:
        session_.log.report({.file = p.file, .line = p.line, .column = p.column, .severity = diag_severity::error,
                             .message = what + " points to memory compartment '" + target.compartment +
                                        "' cannot be given" + through + ": " + o.why});
        return;
      case origin::unknown:
        session_.log.report({.file = p.file, .line = p.line, .column = p.column, .severity = diag_severity::warning,
                             .message = what + ": the build cannot tell where it points" + through + ": " + o.why +
                                        "; compartment '" + target.compartment +
                                        "' can reach it only if it is shared (a whitelisted variable, a "
                                        "flexos_malloc_whitelist block)"});
        return;
    }
  }

  // The variables infer_sharing found, shared as strip_whitelists shares a whitelisted one.
  void share_inferred(clang::ASTContext &context) {
    for (const clang::VarDecl *v : inferred_order_) {
      const std::string &why = inferred_.at(v);
      if (v->hasGlobalStorage()) {
        // Before: static char buf[64];       After: static char buf[64] __attribute__((section(".data_shared")));
        const clang::VarDecl *def = v->getDefinition();
        if (!def) def = v;
        clang::SourceLocation end = def->getLocation();
        if (const clang::TypeSourceInfo *tsi = def->getTypeSourceInfo()) {
          clang::SourceLocation t = tsi->getTypeLoc().getEndLoc();
          if (t.isValid() && !t.isMacroID() && sm_.isBeforeInTranslationUnit(end, t)) end = t;
        }
        end = clang::Lexer::getLocForEndOfToken(end, 0, sm_, ci_.getLangOpts());
        if (end.isInvalid() || end.isMacroID() || !sm_.isWrittenInMainFile(end)) {
          error(def->getLocation(), "'" + def->getNameAsString() + "' must be shared (" + why +
                                        ") but its declaration cannot be rewritten: declare it with "
                                        "__attribute__((flexos_whitelist))");
          continue;
        }
        edits_.add({.offset = sm_.getFileOffset(end), .length = 0,
                    .replacement = " __attribute__((section(\".data_shared\")))", .loc = end});
      } else {
        shared_local_rewrite r = rewrite_shared_local(context, *v, sharing_stack());
        for (const auto &[at, message] : r.errors) error(at, message + " (it must be shared: " + why + ")");
        if (!r.errors.empty()) continue;
        for (text_edit &e : r.edits) edits_.add(std::move(e));
        for (text_edit &e : r.uses) pending_uses_.push_back(std::move(e));
      }
      const place at = where(v->getLocation());
      session_.log.report({.file = at.file, .line = at.line, .column = at.column, .severity = diag_severity::note,
                           .message = "'" + v->getNameAsString() + "' is shared automatically: " + why});
      const clang::QualType type = v->getType();
      const std::uint64_t bytes = type->isIncompleteType() || type->isDependentType()
                                      ? 0
                                      : static_cast<std::uint64_t>(context.getTypeSizeInChars(type).getQuantity());
      whitelisted_.push_back({.file = at.file,
                              .line = at.line,
                              .name = v->getNameAsString(),
                              .bytes = bytes,
                              .storage = v->hasGlobalStorage() ? "static" : "local",
                              .inferred = true});
    }
  }

  place where_of(clang::SourceLocation loc) const { return where(sm_.getSpellingLoc(loc)); }

  // The gate with every pending use of a whitelisted local that lies in one of its arguments applied to
  // that argument's text (and taken out of pending_uses_).
  gate_invocation with_pending_uses(const gate_invocation &gate) {
    gate_invocation out = gate;
    for (source_piece &arg : out.args) {
      const unsigned begin = sm_.getFileOffset(arg.begin), end = sm_.getFileOffset(arg.end);
      unsigned shift = 0;  // how much longer the argument's text already is
      for (auto it = pending_uses_.begin(); it != pending_uses_.end();) {
        if (it->offset < begin || it->offset + it->length > end) {
          ++it;
          continue;
        }
        arg.text.replace(it->offset - begin + shift, it->length, it->replacement);
        shift += static_cast<unsigned>(it->replacement.size()) - it->length;
        it = pending_uses_.erase(it);
      }
    }
    return out;
  }

  void instantiate_gates(const placeholder_facts &facts) {
    const gate_plan &plan = session_.plan;
    for (std::size_t i = 0; i < found_.gates.size(); ++i) {
      const gate_invocation &gate = found_.gates[i];
      gate_check check = check_gate(gate, plan);
      for (const placeholder_problem &problem : check.problems) error(problem.loc, problem.message);
      if (!gate.in_macro || !macro_gates_.count(sm_.getFileOffset(gate.name))) {
        for (const placeholder_problem &problem : facts.gate_type_problems[i]) error(problem.loc, problem.message);
        if (!facts.gate_type_problems[i].empty()) continue;
      }
      if (!check.target) continue;
      if (check.target->gate != gate_kind::call) share_arguments(facts.gate_args[i]);
      // A gate spelled inside a macro is rewritten once, for every expansion, in the form that is right in
      // any context (every parenthesis kept).
      if (gate.in_macro && !macro_gates_.insert(sm_.getFileOffset(gate.name)).second) continue;
      const gate_use use = gate.in_macro ? gate_use{} : facts.gate_uses[i];
      llvm::Expected<text_edit> edit = instantiate_gate(with_pending_uses(gate), *check.target, plan, use, sm_);
      if (!edit) {
        error(gate.name, llvm::toString(edit.takeError()));
        continue;
      }
      edits_.add(std::move(*edit));
      place at = where(gate.name);
      gates_.push_back({.file = at.file,
                        .line = at.line,
                        .column = at.column,
                        .from = plan.library,
                        .to = check.target->library,
                        .from_compartment = plan.compartment,
                        .to_compartment = check.target->compartment,
                        .function = gate.fn.text,
                        .kind = check.target->gate,
                        .has_result = gate.has_result});
    }
  }

  void strip_whitelists(clang::ASTContext &context, const placeholder_facts &facts) {
    if (found_.whitelists.empty()) return;
    whitelist_stripper stripper(sm_, ci_.getLangOpts());
    for (std::size_t i = 0; i < found_.whitelists.size(); ++i) {
      clang::SourceLocation loc = found_.whitelists[i].name;
      llvm::Expected<text_edit> edit = stripper.strip(loc);
      if (!edit) {
        error(loc, llvm::toString(edit.takeError()));
        continue;
      }
      const clang::NamedDecl *decl = facts.whitelisted[i];
      const auto *var = llvm::dyn_cast_or_null<clang::VarDecl>(decl);
      if (!var || llvm::isa<clang::ParmVarDecl>(var)) {
        error(loc, "flexos_whitelist applies only to variables" +
                       (decl ? ", not to '" + decl->getNameAsString() + "'" : std::string()));
        continue;
      }
      if (var->getTLSKind() != clang::VarDecl::TLS_None) {
        error(loc, "thread-local variable '" + var->getNameAsString() +
                       "' cannot be whitelisted: shared data has one copy for every thread");
        continue;
      }
      if (var->hasGlobalStorage()) {
        // Before: static char buf[64] __attribute__((flexos_whitelist));
        // After:  static char buf[64] __attribute__((section(".data_shared")));
        // The link step gathers .data_shared of every compartment into the image's shared section, which
        // the runtime maps shared (process) or tags with the shared key (mpk).
        edits_.add({.offset = sm_.getFileOffset(loc),
                    .length = static_cast<unsigned>(std::string_view("flexos_whitelist").size()),
                    .replacement = "section(\".data_shared\")",
                    .loc = loc});
      } else if (first_isolated_target() != nullptr) {
        // A local crossing an isolating boundary gets shared storage (sharing.stack): see
        // shared_local_rewriter.h for the before/after.
        shared_local_rewrite r = rewrite_shared_local(context, *var, sharing_stack());
        for (const auto &[at, message] : r.errors) error(at, message);
        if (!r.errors.empty()) continue;
        edits_.add(std::move(*edit));
        for (text_edit &e : r.edits) edits_.add(std::move(e));
        for (text_edit &e : r.uses) pending_uses_.push_back(std::move(e));
      } else {
        edits_.add(std::move(*edit));  // every boundary is a plain call: ordinary data suffices
      }
      place at = where(var->getLocation());
      const clang::QualType type = var->getType();
      const std::uint64_t bytes = type->isIncompleteType() || type->isDependentType()
                                      ? 0
                                      : static_cast<std::uint64_t>(context.getTypeSizeInChars(type).getQuantity());
      whitelisted_.push_back({.file = at.file,
                              .line = at.line,
                              .name = var->getNameAsString(),
                              .bytes = bytes,
                              .storage = var->hasGlobalStorage() ? "static" : "local"});
    }
  }

  // Pointers to callbacks resolve to their wrappers (callback_rewriter.h); those inside gate arguments
  // go into the gates with the uses of whitelisted locals.
  void rewrite_callback_pointers(clang::ASTContext &context) {
    whitelist_stripper stripper(sm_, ci_.getLangOpts());
    callback_rewrite r = rewrite_callbacks(context, session_.plan, stripper);
    for (const auto &[at, message] : r.errors) error(at, message);
    for (text_edit &e : r.edits) edits_.add(std::move(e));
    for (text_edit &e : r.uses) pending_uses_.push_back(std::move(e));
    for (const found_callback &c : r.callbacks) {
      place at = where(c.fn->getLocation());
      callbacks_.push_back({.file = at.file,
                            .line = at.line,
                            .column = at.column,
                            .function = c.fn->getNameAsString(),
                            .library = session_.plan.library,
                            .from = c.from,
                            .from_compartment = c.target->compartment,
                            .to_compartment = session_.plan.compartment,
                            .kind = c.target->gate,
                            .references = c.references});
    }
  }

  // Before: static __thread long counter;      (in a library of an mpk or process compartment)
  // After:  error: thread-local variable 'counter' ... cannot be isolated
  // A thread's TLS block is one allocation made by libc for the whole thread, outside every compartment's
  // domain (key 0; copied into every process at boot), so no other compartment could be kept out of it.
  void reject_thread_locals(clang::ASTContext &context) {
    if (session_.plan.isolation == "none") return;
    namespace m = clang::ast_matchers;
    struct callback : m::MatchFinder::MatchCallback {
      TransformConsumer *self;
      explicit callback(TransformConsumer *s) : self(s) {}
      void run(const m::MatchFinder::MatchResult &result) override {
        const auto *var = result.Nodes.getNodeAs<clang::VarDecl>("tls");
        if (!var || var->getTLSKind() == clang::VarDecl::TLS_None || !var->isThisDeclarationADefinition())
          return;
        bool whitelisted = false;
        for (const auto *attr : var->specific_attrs<clang::AnnotateAttr>())
          whitelisted |= attr->getAnnotation() == "flexos_whitelist";
        if (whitelisted) return;  // reported by strip_whitelists
        self->error(var->getLocation(),
                    "thread-local variable '" + var->getNameAsString() + "' cannot be isolated in compartment '" +
                        self->session_.plan.compartment + "' (isolation: " + self->session_.plan.isolation +
                        "): a thread's TLS lies outside every compartment's memory; make it a plain static "
                        "(one per compartment) or keep per-thread state in memory the library allocates");
      }
    } cb(this);
    m::MatchFinder finder;
    finder.addMatcher(m::varDecl(m::isExpansionInMainFile(), m::hasThreadStorageDuration()).bind("tls"), &cb);
    finder.matchAST(context);
  }

  // A target of the library reached through a gate other than a plain call, if any.
  const gate_target *first_isolated_target() const {
    for (const auto &[name, t] : session_.plan.targets) {
      if (t.gate != gate_kind::call) return &t;
    }
    return nullptr;
  }

  std::string sharing_stack() const {
    auto it = session_.plan.sharing.find("stack");
    return it == session_.plan.sharing.end() ? "dss" : it->second;
  }

  void write_copy() {
    llvm::StringRef original = sm_.getBufferData(sm_.getMainFileID());
    std::string copy = line_marker(source_) + edits_.apply(original);
    if (count_newlines(copy) != count_newlines(original) + 1) {
      error(sm_.getLocForStartOfFile(sm_.getMainFileID()),
            "internal error: the rewrites of this file changed its line count; please report it");
      llvm::sys::fs::remove(output_);
      return;
    }
    llvm::Expected<write_status> written = write_file_atomically(output_, copy);
    if (!written) {
      session_.log.report({.file = output_, .message = llvm::toString(written.takeError())});
      return;
    }
    transform_summary &summary = session_.summary;
    summary.files.push_back({.source = source_, .output = output_});
    summary.gates.insert(summary.gates.end(), gates_.begin(), gates_.end());
    summary.whitelisted.insert(summary.whitelisted.end(), whitelisted_.begin(), whitelisted_.end());
    summary.callbacks.insert(summary.callbacks.end(), callbacks_.begin(), callbacks_.end());
    summary.shared_literals += shared_literals_;
    summary.literals.insert(summary.literals.end(), literals_.begin(), literals_.end());
  }

  clang::CompilerInstance &ci_;
  const clang::SourceManager &sm_;
  transform_session &session_;
  const placeholder_set &found_;
  const std::string source_;
  const std::string output_;
  edit_list edits_;
  std::vector<text_edit> pending_uses_;  // uses of whitelisted locals and shared literals, by offset
  unsigned shared_literals_ = 0;
  std::vector<literal_record> literals_;
  std::set<unsigned> macro_gates_;     // offsets of gates spelled in macros, already rewritten
  std::set<unsigned> literal_offsets_;  // offsets of literals already moved
  std::set<unsigned> allocations_;      // offsets of allocation calls routed to the shared heap
  std::map<const clang::VarDecl *, std::string> inferred_;  // variables to share, and why
  std::vector<const clang::VarDecl *> inferred_order_;      // in the order found
  std::vector<gate_record> gates_;
  std::vector<whitelist_record> whitelisted_;
  std::vector<callback_record> callbacks_;
};

class TransformAction : public clang::ASTFrontendAction {
 public:
  explicit TransformAction(transform_session &session) : session_(session) {}

 protected:
  std::unique_ptr<clang::ASTConsumer> CreateASTConsumer(clang::CompilerInstance &ci,
                                                        llvm::StringRef file) override {
    std::string source = absolute_path(ci.getFileManager(), file);
    // A source listed twice in the database is transformed with its first compile command.
    if (!session_.processed.insert(source).second) return std::make_unique<clang::ASTConsumer>();
    std::optional<std::string> output = output_path(source, session_.options);
    if (!output) {
      session_.log.report({.file = source, .message = "the source is not under --base"});
      return std::make_unique<clang::ASTConsumer>();
    }
    ci.getPreprocessor().addPPCallbacks(
        std::make_unique<PlaceholderCollector>(ci.getSourceManager(), ci.getLangOpts(), found_));
    return std::make_unique<TransformConsumer>(ci, session_, found_, std::move(source), std::move(*output));
  }

  void EndSourceFileAction() override { record_files_read(getCompilerInstance(), session_); }

 private:
  transform_session &session_;
  placeholder_set found_;
};

}  // namespace

std::optional<std::string> output_path(const std::string &source, const transform_options &options) {
  auto source_it = llvm::sys::path::begin(source), source_end = llvm::sys::path::end(source);
  for (auto base_it = llvm::sys::path::begin(options.base_dir),
            base_end = llvm::sys::path::end(options.base_dir);
       base_it != base_end; ++base_it, ++source_it) {
    if (source_it == source_end || *source_it != *base_it) return std::nullopt;
  }
  if (source_it == source_end) return std::nullopt;  // the source is the base folder itself
  llvm::SmallString<256> out(options.out_dir);
  for (; source_it != source_end; ++source_it) llvm::sys::path::append(out, *source_it);
  return std::string(out);
}

std::unique_ptr<clang::FrontendAction> TransformActionFactory::create() {
  return std::make_unique<TransformAction>(session_);
}

}  // namespace flex::transform
