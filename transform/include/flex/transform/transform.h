// flex-transform as a library: reads a library's original sources through a compilation database and
// writes their transformed copies, with every gate placeholder instantiated for its boundary (DESIGN.md §7).
//
//   flex-transform -p build/hello --plan build/hello/plan.json --base apps/hello --out-dir build/hello/src \
//                  --summary build/hello/transform.json --depfile build/hello/transform.d apps/hello/src/*.c
//
// For each source F the copy is <out-dir>/<F relative to --base>. It starts with `#line 1 "<F>"` and keeps
// every line where it was, so compiler errors point at F. Copies are written atomically and only when their
// content changed; a source with errors gets no copy (and loses a stale one). The input is never modified.
// A source the transformer has nothing to do in is copied after preprocessing alone, unparsed: an error only
// a parse would find there is left to the compile of the copy (src/plain_copy.cc).
//
// Usage:
//   transform_options options{.plan_path = ..., .base_dir = ..., .out_dir = ...};
//   int status = flex::transform::run_transform(database, sources, options);   // 0 or 1
#pragma once

#include <clang/Tooling/ArgumentsAdjusters.h>
#include <clang/Tooling/CompilationDatabase.h>
#include <llvm/Support/raw_ostream.h>

#include <memory>
#include <string>
#include <vector>

namespace flex::transform {

struct transform_options {
  std::string plan_path;     // plan.json written by flexbuild (gate_plan.h)
  std::string base_dir;      // sources are placed in out_dir relative to this folder
  std::string out_dir;       // where the transformed copies go
  std::string summary_path;  // optional: summary JSON (summary.h)
  std::string depfile_path;  // optional: Makefile depfile of everything the run read
};

// Transforms every source (compile flags from `database`), printing diagnostics to `errs`.
// Returns the exit status: 0, or 1 when anything was reported as an error.
int run_transform(const clang::tooling::CompilationDatabase &database,
                  const std::vector<std::string> &sources, const transform_options &options,
                  llvm::raw_ostream &errs = llvm::errs());

// <dir>/compile_commands.json, with response files expanded. Strict: no search in parent folders and no
// guessed commands for sources it does not list. nullptr (and `error` set) when it cannot be loaded.
std::unique_ptr<clang::tooling::CompilationDatabase> load_compilation_database(const std::string &dir,
                                                                               std::string &error);

// What flex-transform adds to each compile command: -D__FLEX_TRANSFORM__=1 (the porting header's
// transform form), -w (warnings belong to the real compile of the copy) and clang-19's -resource-dir
// (builtin headers such as stddef.h), all after the database's own flags.
clang::tooling::ArgumentsAdjuster transform_arguments_adjuster();

}  // namespace flex::transform
