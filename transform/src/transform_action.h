// Internal to flex_transform: the frontend actions that transform one source. The full pass collects the
// placeholders while the preprocessor runs, then, once the AST is complete, checks and instantiates them,
// reports problems at the original source and writes the copy when the source has no errors. The plain
// copy (plain_copy.cc) copies, unparsed, a source in which preprocessing finds nothing for the full pass.
#pragma once

#include "flex/transform/gate_plan.h"
#include "flex/transform/summary.h"
#include "flex/transform/transform.h"

#include <clang/Frontend/FrontendAction.h>
#include <clang/Tooling/Tooling.h>

#include <set>
#include <string>

namespace flex::transform {

// State shared by the transformation of every source of one run. Paths are absolute.
struct transform_session {
  const gate_plan &plan;
  const transform_options &options;
  transform_summary &summary;
  diag_log &log;
  std::set<std::string> files_read{};  // sources, headers: the depfile's prerequisites
  std::set<std::string> processed{};   // sources that were parsed
};

// <out_dir>/<source relative to base_dir>, or nothing when the source is not under base_dir.
std::optional<std::string> output_path(const std::string &source, const transform_options &options);

// `path` made absolute, without `.`/`..` components.
std::string absolute_path(const clang::FileManager &files, llvm::StringRef path);

// The first line of every copy (`#line 1 "<source>"`): the rest of the copy is the original's line 1 onwards.
std::string line_marker(llvm::StringRef source);

// Adds every file the instance read (the source, its headers) to the session's depfile prerequisites.
void record_files_read(const clang::CompilerInstance &ci, transform_session &session);

// The full pass: parses the source and transforms it.
class TransformActionFactory : public clang::tooling::FrontendActionFactory {
 public:
  explicit TransformActionFactory(transform_session &session) : session_(session) {}
  std::unique_ptr<clang::FrontendAction> create() override;

 private:
  transform_session &session_;
};

// Copies `source` without parsing it when the transformer has nothing to do in it (plain_copy.cc): returns
// true when the source is done (copied, or its copy could not be written, which is logged), false when it
// needs the full pass.
bool copy_without_parsing(const clang::tooling::CompilationDatabase &database, const std::string &source,
                          transform_session &session);

}  // namespace flex::transform
