#include "flex/transform/diagnostics.h"

#include <clang/Basic/SourceManager.h>

namespace flex::transform {

std::string_view to_string(diag_severity severity) {
  switch (severity) {
    case diag_severity::error:
      return "error";
    case diag_severity::warning:
      return "warning";
    case diag_severity::note:
      return "note";
  }
  return "error";
}

std::string render(const diag_record &diag) {
  std::string out = diag.file.empty() ? std::string("flex-transform") : diag.file;
  if (diag.line > 0) {
    out += ':' + std::to_string(diag.line);
    if (diag.column > 0) out += ':' + std::to_string(diag.column);
  }
  out += ": ";
  out += to_string(diag.severity);
  out += ": ";
  out += diag.message;
  return out;
}

void diag_log::report(diag_record diag) {
  out_ << render(diag) << '\n';
  out_.flush();
  record(std::move(diag));
}

void diag_log::record(diag_record diag) {
  if (diag.severity == diag_severity::error) ++errors_;
  diags_.push_back(std::move(diag));
}

RecordingDiagConsumer::RecordingDiagConsumer(llvm::raw_ostream &out, diag_log &log)
    : options_(new clang::DiagnosticOptions()),
      printer_(std::make_unique<clang::TextDiagnosticPrinter>(out, options_.get())),
      log_(log) {}

RecordingDiagConsumer::~RecordingDiagConsumer() = default;

void RecordingDiagConsumer::BeginSourceFile(const clang::LangOptions &lang_opts,
                                            const clang::Preprocessor *pp) {
  printer_->BeginSourceFile(lang_opts, pp);
}

void RecordingDiagConsumer::EndSourceFile() {
  printer_->EndSourceFile();
}

void RecordingDiagConsumer::finish() {
  printer_->finish();
}

void RecordingDiagConsumer::HandleDiagnostic(clang::DiagnosticsEngine::Level level,
                                             const clang::Diagnostic &info) {
  clang::DiagnosticConsumer::HandleDiagnostic(level, info);  // keeps the error and warning counts
  printer_->HandleDiagnostic(level, info);

  diag_record record;
  switch (level) {
    case clang::DiagnosticsEngine::Error:
    case clang::DiagnosticsEngine::Fatal:
      record.severity = diag_severity::error;
      break;
    case clang::DiagnosticsEngine::Warning:
      record.severity = diag_severity::warning;
      break;
    default:
      return;  // notes and remarks only explain the diagnostic before them
  }
  llvm::SmallString<256> message;
  info.FormatDiagnostic(message);
  record.message = message.str().str();
  if (info.getLocation().isValid() && info.hasSourceManager()) {
    clang::PresumedLoc presumed = info.getSourceManager().getPresumedLoc(info.getLocation());
    if (presumed.isValid()) {
      llvm::SmallString<256> file(presumed.getFilename());
      info.getSourceManager().getFileManager().makeAbsolutePath(file);
      record.file = file.str().str();
      record.line = presumed.getLine();
      record.column = presumed.getColumn();
    }
  }
  log_.record(std::move(record));
}

void report_error(clang::DiagnosticsEngine &diags, clang::SourceLocation loc, llvm::StringRef message) {
  // The message is the custom diagnostic's only argument, so any text is safe.
  unsigned id = diags.getCustomDiagID(clang::DiagnosticsEngine::Error, "%0");
  diags.Report(loc, id) << message;
}

}  // namespace flex::transform
