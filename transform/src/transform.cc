#include "flex/transform/transform.h"

#include "flex/transform/callback_rewriter.h"
#include "flex/transform/diagnostics.h"
#include "flex/transform/file_io.h"
#include "flex/transform/gate_plan.h"
#include "flex/transform/summary.h"
#include "transform_action.h"

#include <clang/Tooling/JSONCompilationDatabase.h>
#include <clang/Tooling/Tooling.h>
#include <llvm/Support/FileSystem.h>
#include <llvm/Support/Path.h>
#include <llvm/Support/VirtualFileSystem.h>

#include <algorithm>
#include <set>

#ifndef FLEX_CLANG_RESOURCE_DIR
#error "FLEX_CLANG_RESOURCE_DIR must name clang-19's resource directory (set by transform/CMakeLists.txt)"
#endif

namespace flex::transform {
namespace {

// Absolute, without `.`/`..` components or a trailing separator. ClangTool changes the working directory
// to each compile command's, so every path must be absolute before it runs.
std::string normalize(llvm::StringRef path) {
  if (path.empty()) return {};
  llvm::SmallString<256> out(path);
  llvm::sys::fs::make_absolute(out);
  llvm::sys::path::remove_dots(out, /*remove_dot_dot=*/true);
  while (out.size() > 1 && llvm::sys::path::is_separator(out.back())) out.pop_back();
  return std::string(out);
}

transform_options normalize(const transform_options &options) {
  return {.plan_path = normalize(options.plan_path),
          .base_dir = normalize(options.base_dir),
          .out_dir = normalize(options.out_dir),
          .summary_path = normalize(options.summary_path),
          .depfile_path = normalize(options.depfile_path)};
}

// The sources worth parsing: existing files under --base, listed in the database, whose copy would not
// overwrite them.
std::vector<std::string> check_sources(const clang::tooling::CompilationDatabase &database,
                                       const std::vector<std::string> &sources,
                                       const transform_options &options, diag_log &log) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (const std::string &given : sources) {
    std::string source = normalize(given);
    if (!seen.insert(source).second) continue;
    if (!llvm::sys::fs::is_regular_file(source)) {
      log.report({.file = source, .message = "cannot read the source: no such file"});
      continue;
    }
    std::optional<std::string> output = output_path(source, options);
    if (!output) {
      log.report({.file = source, .message = "the source is not under --base '" + options.base_dir + "'"});
      continue;
    }
    if (*output == source || llvm::sys::fs::equivalent(*output, source)) {
      log.report({.file = source,
                  .message = "the transformed copy would overwrite the source; --out-dir must differ from "
                             "--base"});
      continue;
    }
    std::vector<clang::tooling::CompileCommand> commands = database.getCompileCommands(source);
    if (commands.empty()) {
      log.report(
          {.file = source, .message = "no compile command for this source in the compilation database"});
      continue;
    }
    // ClangTool aborts the process when it cannot enter a command's folder.
    auto missing = std::find_if(commands.begin(), commands.end(), [](const auto &command) {
      return !llvm::sys::fs::is_directory(command.Directory);
    });
    if (missing != commands.end()) {
      log.report({.file = source,
                  .message = "the compilation database compiles this source in '" + missing->Directory +
                             "', which is not a folder"});
      continue;
    }
    out.push_back(std::move(source));
  }
  return out;
}

// Parses and transforms `sources`; returns the files the parses read.
std::set<std::string> transform_sources(const clang::tooling::CompilationDatabase &database,
                                        const std::vector<std::string> &sources, const gate_plan &plan,
                                        const transform_options &options, transform_summary &summary,
                                        diag_log &log, llvm::raw_ostream &errs) {
  RecordingDiagConsumer consumer(errs, log);
  transform_session session{.plan = plan, .options = options, .summary = summary, .log = log};
  TransformActionFactory factory(session);
  // One tool per source: ClangTool prints "[1/2] Processing file ..." when it is given several.
  for (const std::string &source : sources) {
    // A source the transformer has nothing to do in is copied after preprocessing alone (plain_copy.cc).
    if (copy_without_parsing(database, source, session)) continue;
    clang::tooling::ClangTool tool(database, {source});
    tool.appendArgumentsAdjuster(transform_arguments_adjuster());
    tool.appendArgumentsAdjuster(clang::tooling::getInsertArgumentAdjuster(
        callback_macro_definitions(plan), clang::tooling::ArgumentInsertPosition::END));
    tool.setDiagnosticConsumer(&consumer);
    tool.setPrintErrorMessage(false);  // every failure is already reported, with its place
    unsigned errors_before = log.error_count();
    consumer.clear();  // errors are counted per source: "N errors generated.", and no copy after any
    int status = tool.run(&factory);
    if (status != 0 && log.error_count() == errors_before)
      log.report({.file = source, .message = "clang could not process this source"});
  }
  return std::move(session.files_read);
}

void write_outputs(const transform_options &options, const std::vector<std::string> &sources,
                   const std::set<std::string> &files_read, transform_summary &summary, diag_log &log) {
  if (!options.depfile_path.empty()) {
    std::string target = options.summary_path;
    if (target.empty() && !sources.empty()) target = output_path(sources.front(), options).value_or("");
    if (target.empty()) target = options.depfile_path;
    std::string depfile = render_depfile(target, {files_read.begin(), files_read.end()});
    if (auto written = write_file_atomically(options.depfile_path, depfile, write_mode::always); !written)
      log.report({.file = options.depfile_path, .message = llvm::toString(written.takeError())});
  }
  if (!options.summary_path.empty()) {
    summary.diagnostics = log.all();
    std::string json = render_summary_json(summary);
    if (auto written = write_file_atomically(options.summary_path, json, write_mode::always); !written)
      log.report({.file = options.summary_path, .message = llvm::toString(written.takeError())});
  }
}

}  // namespace

std::unique_ptr<clang::tooling::CompilationDatabase> load_compilation_database(const std::string &dir,
                                                                               std::string &error) {
  llvm::SmallString<256> path(dir);
  llvm::sys::path::append(path, "compile_commands.json");
  std::string reason;
  auto database = clang::tooling::JSONCompilationDatabase::loadFromFile(
      path, reason, clang::tooling::JSONCommandLineSyntax::AutoDetect);
  if (!database) {
    error = "cannot load the compilation database '" + std::string(path) + "': " + reason;
    return nullptr;
  }
  return clang::tooling::inferTargetAndDriverMode(
      clang::tooling::expandResponseFiles(std::move(database), llvm::vfs::getRealFileSystem()));
}

clang::tooling::ArgumentsAdjuster transform_arguments_adjuster() {
  return clang::tooling::getInsertArgumentAdjuster(
      {"-D__FLEX_TRANSFORM__=1", "-w", "-resource-dir", FLEX_CLANG_RESOURCE_DIR},
      clang::tooling::ArgumentInsertPosition::END);
}

int run_transform(const clang::tooling::CompilationDatabase &database,
                  const std::vector<std::string> &sources, const transform_options &given,
                  llvm::raw_ostream &errs) {
  diag_log log(errs);
  const transform_options options = normalize(given);
  transform_summary summary;
  std::set<std::string> files_read;
  std::vector<std::string> inputs;

  if (options.base_dir.empty() || options.out_dir.empty() || options.plan_path.empty()) {
    log.report({.message = "--plan, --base and --out-dir are required"});
  } else {
    files_read.insert(options.plan_path);
    std::optional<gate_plan> plan = load_gate_plan(options.plan_path, log);
    if (plan) {
      summary.library = plan->library;
      inputs = check_sources(database, sources, options, log);
      if (!inputs.empty())
        files_read.merge(transform_sources(database, inputs, *plan, options, summary, log, errs));
    }
  }
  write_outputs(options, inputs, files_read, summary, log);
  return log.has_errors() ? 1 : 0;
}

}  // namespace flex::transform
