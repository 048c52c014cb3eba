// Diagnostics of flex-transform. Everything the tool reports is printed clang-style on stderr,
//
//   src/hello.c:7:15: error: 'net_rcv' is not exported by libnet; did you mean 'net_recv'?
//
// pointing at the ORIGINAL source, and recorded for the summary (summary.h). Diagnostics inside a parsed
// source (clang's own and the tool's gate errors) go through clang's DiagnosticsEngine, so they carry the
// source line and caret; a RecordingDiagConsumer prints and records them. Diagnostics outside any source
// (the plan, the command line, files that cannot be written) go straight to a diag_log.
//
// Usage:
//   flex::transform::diag_log log(llvm::errs());
//   log.report({.file = plan_path, .message = "missing key 'targets'"});
//   flex::transform::report_error(ci.getDiagnostics(), loc, "gate inside a macro expansion ...");
//   if (log.has_errors()) return 1;
#pragma once

#include <clang/Basic/Diagnostic.h>
#include <clang/Basic/DiagnosticOptions.h>
#include <clang/Frontend/TextDiagnosticPrinter.h>
#include <llvm/ADT/IntrusiveRefCntPtr.h>
#include <llvm/Support/raw_ostream.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace flex::transform {

enum class diag_severity { error, warning, note };
std::string_view to_string(diag_severity severity);

// One diagnostic as the summary records it. line/column are 1-based; 0 means "the whole file".
struct diag_record {
  std::string file{};  // empty: about the tool's invocation
  unsigned line = 0;
  unsigned column = 0;
  diag_severity severity = diag_severity::error;
  std::string message;
};

// "file:line:col: error: message", as clang prints it.
std::string render(const diag_record &diag);

// Collects every diagnostic of one run, in order. Never throws, never exits.
class diag_log {
 public:
  explicit diag_log(llvm::raw_ostream &out) : out_(out) {}

  // Prints the diagnostic (render()) and records it.
  void report(diag_record diag);
  // Records a diagnostic that was already printed (by clang's printer).
  void record(diag_record diag);

  bool has_errors() const { return errors_ > 0; }
  unsigned error_count() const { return errors_; }
  const std::vector<diag_record> &all() const { return diags_; }

 private:
  llvm::raw_ostream &out_;
  std::vector<diag_record> diags_;
  unsigned errors_ = 0;
};

// Prints clang's diagnostics (and the tool's, reported through clang) with clang's text printer and
// records the errors and warnings in a diag_log. One consumer serves every source of a run.
class RecordingDiagConsumer : public clang::DiagnosticConsumer {
 public:
  RecordingDiagConsumer(llvm::raw_ostream &out, diag_log &log);
  ~RecordingDiagConsumer() override;

  void BeginSourceFile(const clang::LangOptions &lang_opts, const clang::Preprocessor *pp) override;
  void EndSourceFile() override;
  void finish() override;
  void HandleDiagnostic(clang::DiagnosticsEngine::Level level, const clang::Diagnostic &info) override;

 private:
  llvm::IntrusiveRefCntPtr<clang::DiagnosticOptions> options_;
  std::unique_ptr<clang::TextDiagnosticPrinter> printer_;
  diag_log &log_;
};

// Reports one of the tool's own errors at a place in a parsed source. (Custom diagnostics cannot be
// remapped, so the -w flex-transform parses with does not hide them.)
void report_error(clang::DiagnosticsEngine &diags, clang::SourceLocation loc, llvm::StringRef message);

}  // namespace flex::transform
