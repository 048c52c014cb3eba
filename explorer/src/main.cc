// flexexplore: finds the fastest configuration that meets a security constraint, or the most secure ones
// that meet a performance floor, building and benchmarking as few as it can.
//
//   flexexplore --space explorer/spaces/hello.yaml [-o DIR] [-j N] [--verify N] [--fresh]
//   flexexplore --space explorer/spaces/redis.yaml --dry-run
#include <CLI/CLI.hpp>

#include <cstdio>

#include "flex/build/fs_util.h"
#include "flex/explore/explore.h"
#include "flex/explore/report.h"

namespace fs = std::filesystem;

int main(int argc, char **argv) {
  CLI::App app{"flexexplore: explore a space of Flex configurations (explorer/spaces/*.yaml)"};
  fs::path space_file;
  std::optional<fs::path> out, root;
  flex::explore::explore_options opt;
  std::vector<std::string> unavailable;
  bool dry_run = false, quiet = false;
  app.add_option("--space,-s", space_file, "the space file (YAML)")->required();
  app.add_option("-o,--out", out, "output folder (default: build/explore/<space name>)");
  app.add_option("--root", root, "source tree holding apps/ and libos/ (default: found from the space file)");
  app.add_option("-j,--jobs", opt.jobs, "builds at once (default: one per CPU core)")->check(CLI::PositiveNumber);
  app.add_option("--verify", opt.verify, "benchmark N pruned configurations to check the monotonicity assumption")
      ->check(CLI::NonNegativeNumber);
  app.add_flag("--fresh", opt.fresh, "ignore cached results");
  app.add_option("--stop-after", opt.stop_after, "stop after N new benchmarks, as if interrupted (resume later)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--unavailable", unavailable, "treat these mechanisms as not runnable here (mpk, process)")
      ->check(CLI::IsMember({"mpk", "process"}));
  app.add_flag("--dry-run", dry_run, "enumerate, classify and write the profiles; build nothing");
  app.add_flag("-q,--quiet", quiet, "no progress output");
  CLI11_PARSE(app, argc, argv);

  flex::yaml::diag_sink diags;
  auto space = flex::explore::load_space(space_file, root, diags);
  diags.print(stderr);
  if (!space) return 1;
  for (const auto &u : unavailable) {
    opt.unavailable.push_back(u == "mpk" ? flex::build::isolation::mpk : flex::build::isolation::process);
  }
  opt.out = fs::absolute(out.value_or(flex::build::executable_dir().parent_path() / "explore" / space->name));
  opt.progress = !quiet;
  flex::explore::install_interrupt_handlers();
  flex::explore::flex_evaluator ev(*space, flex::build::executable_dir() / "flexbuild", opt.out / "logs");
  opt.dry_run = dry_run;
  flex::explore::exploration x = flex::explore::run(*space, opt, ev);
  std::string problems;
  if (x.complete) problems += flex::explore::write_pick_reports(x, opt.out, flex::build::executable_dir() / "flexbuild");
  problems += flex::explore::write_report(x, opt.out);
  if (!problems.empty()) std::fprintf(stderr, "flexexplore: warning: %s", problems.c_str());
  std::fputs(flex::explore::summary_text(x, opt.out).c_str(), stdout);
  if (dry_run) return 0;
  if (x.interrupted) return 3;
  return x.complete ? 0 : 1;
}
