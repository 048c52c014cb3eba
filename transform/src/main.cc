// flex-transform: instantiates the gate placeholders of a library's sources (see flex/transform/transform.h).
//
// The command line follows clang tools (-p <build dir>, then sources) but, unlike CommonOptionsParser,
// never falls back to parsing without flags when the compilation database is missing.
#include "flex/transform/transform.h"

#include <llvm/Support/CommandLine.h>
#include <llvm/Support/raw_ostream.h>

namespace {

namespace cl = llvm::cl;

cl::OptionCategory category("flex-transform options");

cl::opt<std::string> build_path("p",
                                cl::desc("Folder holding compile_commands.json (the real compile flags)"),
                                cl::value_desc("dir"), cl::Required, cl::cat(category));
cl::opt<std::string> plan_path("plan", cl::desc("Gate plan of the library, written by flexbuild (plan.json)"),
                               cl::value_desc("file"), cl::Required, cl::cat(category));
cl::opt<std::string> base_dir("base", cl::desc("Folder the sources are taken relative to"),
                              cl::value_desc("dir"), cl::Required, cl::cat(category));
cl::opt<std::string> out_dir("out-dir", cl::desc("Folder that receives the transformed copies"),
                             cl::value_desc("dir"), cl::Required, cl::cat(category));
cl::opt<std::string> summary_path("summary",
                                  cl::desc("Write a JSON summary of outputs, gates, whitelisted data and "
                                           "diagnostics"),
                                  cl::value_desc("file"), cl::cat(category));
cl::opt<std::string> depfile_path("depfile",
                                  cl::desc("Write a Makefile depfile of every file read (target: the "
                                           "summary, else the first copy)"),
                                  cl::value_desc("file"), cl::cat(category));
cl::list<std::string> sources(cl::Positional, cl::desc("<source files>"), cl::OneOrMore, cl::cat(category));

constexpr const char *kOverview =
    "flex-transform: writes copies of a library's sources in which every gate placeholder of "
    "<flexos/isolation.h> is instantiated for its compartment boundary.\n";

}  // namespace

int main(int argc, const char **argv) {
  cl::HideUnrelatedOptions(category);
  std::string errors;
  llvm::raw_string_ostream errors_out(errors);
  if (!cl::ParseCommandLineOptions(argc, argv, kOverview, &errors_out)) {
    llvm::errs() << errors_out.str();
    return 1;
  }
  std::string error;
  auto database = flex::transform::load_compilation_database(build_path, error);
  if (!database) {
    llvm::errs() << "flex-transform: error: " << error << "\n";
    return 1;
  }
  flex::transform::transform_options options{.plan_path = plan_path,
                                             .base_dir = base_dir,
                                             .out_dir = out_dir,
                                             .summary_path = summary_path,
                                             .depfile_path = depfile_path};
  return flex::transform::run_transform(*database, sources, options);
}
