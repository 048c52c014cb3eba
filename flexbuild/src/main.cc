// flexbuild: turns a compartment profile and the annotated sources into a bootable image.
//
//   flexbuild --profile profiles/hello-2comp.yaml [-o DIR] [-j N] [-v] [--lockdown off|log|enforce]
//   flexbuild check --profile profiles/hello-2comp.yaml
//   flexbuild run --profile profiles/hello-2comp.yaml [-- app args]
//   flexbuild report --profile profiles/redis-3comp.yaml [--json] [--html FILE]
//   flexbuild compare --profile A.yaml --profile B.yaml [--json] [--html FILE] [--require-not-weaker]
#include <CLI/CLI.hpp>

#include <filesystem>
#include <optional>

#include "flex/build/driver.h"
#include "flex/build/attacks.h"
#include "flex/build/report.h"

namespace {

void add_common(CLI::App &app, flex::build::options &opt, bool build_flags) {
  app.add_option("--profile,-p", opt.profile, "the compartment profile (YAML)")->required();
  app.add_option("--root", opt.root, "source tree holding apps/ and libos/ (default: found from the profile)");
  if (!build_flags) return;
  app.add_option("-o,--out", opt.out_dir, "image folder (default: build/images/<profile name>)");
  app.add_option("-j,--jobs", opt.jobs, "parallel compile jobs (default: ninja's)")->check(CLI::PositiveNumber);
  app.add_flag("-v,--verbose", opt.verbose, "show every command");
  app.add_option("--lockdown", opt.lockdown,
                 "build with this lockdown instead of the profile's, as image <name>-lockdown-<mode>")
      ->check(CLI::IsMember({"enforce", "log", "off"}));
}

}  // namespace

int main(int argc, char **argv) {
  CLI::App app{"flexbuild: build a compartmentalised Flex image from a profile"};
  app.require_subcommand(0, 1);
  flex::build::options build_opt, check_opt, run_opt, report_opt;
  add_common(app, build_opt, true);
  // --profile is required for a build, but not when a subcommand carries its own.
  app.get_option("--profile")->required(false);

  CLI::App *check = app.add_subcommand("check", "validate a profile without building");
  add_common(*check, check_opt, false);
  CLI::App *run = app.add_subcommand("run", "build if needed, then run the image");
  add_common(*run, run_opt, true);
  std::vector<std::string> app_args;
  run->add_option("args", app_args, "arguments for the image (after --)");

  CLI::App *report = app.add_subcommand("report", "build if needed, then describe the image for a security reviewer");
  add_common(*report, report_opt, true);
  bool report_json = false;
  std::string report_html;
  report->add_flag("--json", report_json, "the report as JSON");
  report->add_option("--html", report_html, "also write the report as one HTML page (the graph drawn by Graphviz)");
  bool report_attacks = false;
  std::optional<std::filesystem::path> attack_suite;
  report->add_flag("--attacks", report_attacks,
                   "also run the project's attack suite against the mechanisms the image uses (a minute or more)");
  report->add_option("--attack-suite", attack_suite, "the suite's binary (default: <build>/tests/attack_test); implies --attacks");

  CLI::App *compare = app.add_subcommand("compare", "build both if needed, then compare their safety (A, then B)");
  std::vector<std::string> compare_profiles;
  compare->add_option("--profile,-p", compare_profiles, "the two profiles, A then B")->required()->expected(2);
  std::string compare_out;
  std::optional<std::filesystem::path> compare_root;
  compare->add_option("--root", compare_root, "source tree holding apps/ and libos/ (default: found from each profile)");
  compare->add_option("-o,--out", compare_out, "build the images in DIR/a and DIR/b (default: build/images/<name>)");
  bool compare_json = false, require_not_weaker = false;
  std::string compare_html;
  compare->add_option("--html", compare_html, "also write the comparison as one HTML page");
  compare->add_flag("--json", compare_json, "the comparison as JSON");
  compare->add_flag("--require-not-weaker", require_not_weaker, "exit 1 when B is weaker than A on any point");
  bool compare_attacks = false;
  std::optional<std::filesystem::path> compare_suite;
  compare->add_flag("--attacks", compare_attacks, "also run the attack suite once for both and list the results that differ");
  compare->add_option("--attack-suite", compare_suite, "the suite's binary (default: <build>/tests/attack_test); implies --attacks");

  CLI11_PARSE(app, argc, argv);
  if (*report) {
    if (report_attacks && !attack_suite) attack_suite = flex::build::default_attack_suite();
    return flex::build::report_image(report_opt, report_json, report_html, attack_suite);
  }
  if (*compare) {
    flex::build::options a, b;
    a.profile = compare_profiles.at(0);
    b.profile = compare_profiles.at(1);
    a.root = b.root = compare_root;
    if (!compare_out.empty()) {
      a.out_dir = std::filesystem::path(compare_out) / "a";
      b.out_dir = std::filesystem::path(compare_out) / "b";
    }
    if (compare_attacks && !compare_suite) compare_suite = flex::build::default_attack_suite();
    return flex::build::compare_images(a, b, compare_json, require_not_weaker, compare_html, compare_suite);
  }
  if (*check) return flex::build::check_profile(check_opt);
  if (*run) return flex::build::run_image(run_opt, app_args);
  if (build_opt.profile.empty()) {
    std::fprintf(stderr, "flexbuild: error: --profile is required\n%s", app.help().c_str());
    return 2;
  }
  return flex::build::build_image(build_opt);
}
