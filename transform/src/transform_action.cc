#include "transform_action.h"

#include "flex/transform/ast_matchers.h"
#include "flex/transform/callback_rewriter.h"
#include "flex/transform/diagnostics.h"
#include "flex/transform/edits.h"
#include "flex/transform/file_io.h"
#include "flex/transform/gate_rewriter.h"
#include "flex/transform/placeholder.h"
#include "flex/transform/shared_local_rewriter.h"
#include "flex/transform/whitelist_rewriter.h"

#include <algorithm>
#include <set>

#include <clang/AST/ASTConsumer.h>
#include <clang/AST/ASTContext.h>
#include <clang/ASTMatchers/ASTMatchFinder.h>
#include <clang/ASTMatchers/ASTMatchers.h>
#include <clang/AST/Decl.h>
#include <clang/Frontend/CompilerInstance.h>
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
    strip_whitelists(context, facts);  // first: its uses inside gate arguments go into the gates
    rewrite_callback_pointers(context);
    std::sort(pending_uses_.begin(), pending_uses_.end(),
              [](const text_edit &a, const text_edit &b) { return a.offset < b.offset; });
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

  // What a cross-compartment gate passes: string literals move to shared read-only data, and pointers to
  // private memory are reported (the callee's compartment cannot reach them).
  //   Before: flexos_gate_r(libnet, rc, net_bind, s, "0.0.0.0", 6379);
  //   After:  <gate>(s, (__extension__({ static const __typeof__("0.0.0.0") __flex_lit_N
  //               __attribute__((section(".rodata_shared"))) = "0.0.0.0"; (__typeof__(("0.0.0.0")[0]) *)__flex_lit_N; })), 6379)
  void share_arguments(const gate_invocation &gate, const gate_target &target, const std::vector<gate_arg_fact> &args) {
    for (const gate_arg_fact &f : args) {
      if (f.kind == gate_arg_fact::literal) {
        // A literal spelled in a macro is seen once per expansion; it moves once.
        if (!literal_offsets_.insert(f.offset).second) continue;
        const std::string name = "__flex_lit_" + std::to_string(f.offset);
        std::string expr = "(__extension__({ static const __typeof__(" + f.text + ") " + name +
                           " __attribute__((section(\".rodata_shared\"))) = " + f.text + "; (__typeof__((" + f.text +
                           ")[0]) *)" + name + "; }))";
        pending_uses_.push_back({.offset = f.offset, .length = f.length, .replacement = keep_lines(expr, f.text), .loc = f.loc});
        shared_literals_++;
        const place at = where(f.loc);
        literals_.push_back({.file = at.file, .line = at.line, .bytes = f.bytes});
        continue;
      }
      const std::string where = "compartment '" + session_.plan.compartment + "'";
      std::string what, fix;
      switch (f.kind) {
        case gate_arg_fact::private_stack:
          what = "'" + f.name + "' is a local of " + where + " that is not whitelisted";
          fix = "declare it with __attribute__((flexos_whitelist))";
          break;
        case gate_arg_fact::private_static:
          what = "'" + f.name + "' is static data private to " + where;
          fix = "mark it __attribute__((flexos_whitelist)) (it then lives in .data_shared)";
          break;
        default:
          what = "'" + f.name + "' points to the private heap of " + where;
          fix = "allocate it with flexos_malloc_whitelist";
          break;
      }
      place at = where_of(f.loc);
      session_.log.report({.file = at.file,
                           .line = at.line,
                           .column = at.column,
                           .severity = diag_severity::warning,
                           .message = what + ": argument " + std::to_string(f.index + 1) + " of the " +
                                      std::string(to_string(target.gate)) + " gate to " + gate.fn.text +
                                      " points to it, and compartment '" + target.compartment +
                                      "' cannot access it; " + fix});
    }
    std::sort(pending_uses_.begin(), pending_uses_.end(),
              [](const text_edit &a, const text_edit &b) { return a.offset < b.offset; });
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
      if (check.target->gate != gate_kind::call) share_arguments(gate, *check.target, facts.gate_args[i]);
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
