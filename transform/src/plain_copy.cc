// The copy of a source the transformer has nothing to do in, made after preprocessing it, without parsing.
//
// Parsing is most of flex-transform's time (a C++ source with the standard library's headers takes about
// a second; preprocessing it a tenth of that), and most sources of a library have no placeholder at all
// (Redis's command files, say). The full pass acts on, or reports, only what the preprocessor can see:
//   - the macros of <flexos/isolation.h> (gates, flexos_whitelist, and the problems they raise anywhere);
//   - callback annotations, spelled `lib<name>_callback` (a macro flex-transform defines) or written out
//     as an annotate("flexos_callback:...") string, in the source or in a header that declares a callback;
//   - `lib<name>_callback` words of the source that name no library of the image;
//   - thread-local variables of the source, in a compartment that isolates (a thread_local, _Thread_local,
//     __thread or __declspec token expanded in the source).
// When preprocessing meets none of these and reports no error, the full pass would make no edit and
// report nothing of its own, so the copy is the source after the #line marker, byte for byte what the
// full pass writes, and the summary lists the file alone. What only a parse finds (a type error, say) is
// left to the compile of the copy, which reports it at the original's file and line. Anything else goes
// through the full pass.
#include "transform_action.h"

#include "flex/transform/callback_rewriter.h"
#include "flex/transform/diagnostics.h"
#include "flex/transform/file_io.h"
#include "flex/transform/placeholder.h"

#include <clang/Basic/SourceManager.h>
#include <clang/Frontend/CompilerInstance.h>
#include <clang/Lex/Lexer.h>
#include <clang/Lex/MacroInfo.h>
#include <clang/Lex/Preprocessor.h>

namespace flex::transform {
namespace {

// "libticker_callback": a callback attribute's word (callback_rewriter.h), known library or not.
bool is_callback_word(llvm::StringRef word) {
  return word.size() > 12 && word.starts_with("lib") && word.ends_with("_callback");
}

// A keyword that can give a variable thread storage (__declspec(thread) where -fdeclspec allows it).
bool is_thread_storage(const clang::Token &tok) {
  return tok.isOneOf(clang::tok::kw_thread_local, clang::tok::kw__Thread_local, clang::tok::kw___thread,
                     clang::tok::kw___declspec);
}

// Expansions of the porting header's macros and of the callback attribute words, anywhere in the unit.
class PlaceholderScan : public clang::PPCallbacks {
 public:
  PlaceholderScan(const clang::SourceManager &sm, bool &seen) : sm_(sm), seen_(seen) {}

  void MacroExpands(const clang::Token &name, const clang::MacroDefinition &definition, clang::SourceRange,
                    const clang::MacroArgs *) override {
    const clang::IdentifierInfo *id = name.getIdentifierInfo();
    if (id && is_callback_word(id->getName())) seen_ = true;
    const clang::MacroInfo *info = definition.getMacroInfo();
    if (info && is_isolation_header(sm_.getFilename(sm_.getSpellingLoc(info->getDefinitionLoc()))))
      seen_ = true;
  }

 private:
  const clang::SourceManager &sm_;
  bool &seen_;
};

// What the scan of one source decided: `ran` once its first compile command was scanned (a source listed
// twice in the database is transformed with its first one), `done` when it was copied.
struct scan_state {
  bool ran = false;
  bool done = false;
};

class PlainCopyAction : public clang::PreprocessorFrontendAction {
 public:
  PlainCopyAction(transform_session &session, scan_state &state) : session_(session), state_(state) {}

 protected:
  void ExecuteAction() override {
    if (state_.ran) return;
    state_.ran = true;
    clang::CompilerInstance &ci = getCompilerInstance();
    const std::string source = absolute_path(ci.getFileManager(), getCurrentFile());
    std::optional<std::string> output = output_path(source, session_.options);
    if (!output || session_.processed.count(source) || needs_full_pass(ci)) return;
    session_.processed.insert(source);
    state_.done = true;
    record_files_read(ci, session_);
    const clang::SourceManager &sm = ci.getSourceManager();
    std::string copy = line_marker(source) + std::string(sm.getBufferData(sm.getMainFileID()));
    if (llvm::Expected<write_status> written = write_file_atomically(*output, copy); !written) {
      session_.log.report({.file = *output, .message = llvm::toString(written.takeError())});
      return;
    }
    session_.summary.files.push_back({.source = source, .output = *output});
  }

 private:
  // Preprocesses the whole unit; true at the first thing the full pass would act on or report.
  bool needs_full_pass(clang::CompilerInstance &ci) {
    clang::Preprocessor &pp = ci.getPreprocessor();
    const clang::SourceManager &sm = ci.getSourceManager();
    bool seen = false;
    pp.addPPCallbacks(std::make_unique<PlaceholderScan>(sm, seen));
    pp.EnterMainSourceFile();
    const bool isolates = session_.plan.isolation != "none";
    clang::Token tok;
    for (pp.Lex(tok); tok.isNot(clang::tok::eof) && !seen; pp.Lex(tok)) {
      if (isolates && is_thread_storage(tok) && sm.isInMainFile(sm.getExpansionLoc(tok.getLocation())))
        seen = true;
      if (clang::tok::isStringLiteral(tok.getKind()) &&
          pp.getSpelling(tok).find("flexos_") != std::string::npos)
        seen = true;
    }
    // The client's count also holds the driver's errors about the command line.
    return seen || ci.getDiagnostics().hasErrorOccurred() || ci.getDiagnosticClient().getNumErrors() > 0 ||
           names_callback_word(ci);
  }

  // A `lib<name>_callback` word anywhere in the source's own text (outside comments).
  static bool names_callback_word(clang::CompilerInstance &ci) {
    const clang::SourceManager &sm = ci.getSourceManager();
    clang::FileID main = sm.getMainFileID();
    clang::Lexer lexer(main, sm.getBufferOrFake(main), sm, ci.getLangOpts());
    clang::Token tok;
    for (lexer.LexFromRawLexer(tok); tok.isNot(clang::tok::eof); lexer.LexFromRawLexer(tok)) {
      if (tok.is(clang::tok::raw_identifier) && is_callback_word(tok.getRawIdentifier())) return true;
    }
    return false;
  }

  transform_session &session_;
  scan_state &state_;
};

class PlainCopyActionFactory : public clang::tooling::FrontendActionFactory {
 public:
  PlainCopyActionFactory(transform_session &session, scan_state &state) : session_(session), state_(state) {}
  std::unique_ptr<clang::FrontendAction> create() override {
    return std::make_unique<PlainCopyAction>(session_, state_);
  }

 private:
  transform_session &session_;
  scan_state &state_;
};

}  // namespace

bool copy_without_parsing(const clang::tooling::CompilationDatabase &database, const std::string &source,
                          transform_session &session) {
  clang::tooling::ClangTool tool(database, {source});
  // The same command line as the full pass, so the same macros (and callback words) are defined.
  tool.appendArgumentsAdjuster(transform_arguments_adjuster());
  tool.appendArgumentsAdjuster(clang::tooling::getInsertArgumentAdjuster(
      callback_macro_definitions(session.plan), clang::tooling::ArgumentInsertPosition::END));
  // Silent (the base consumer only counts): a source with errors goes through the full pass, which
  // reports them.
  clang::DiagnosticConsumer quiet;
  tool.setDiagnosticConsumer(&quiet);
  tool.setPrintErrorMessage(false);
  scan_state state;
  PlainCopyActionFactory factory(session, state);
  tool.run(&factory);
  return state.done;
}

}  // namespace flex::transform
