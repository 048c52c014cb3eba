// The project's attack suite (tests/security, DESIGN.md §8) run against the mechanisms one image uses,
// for `flexbuild report --attacks`: each attack a compromised compartment makes through the kernel, and
// whether this machine's run of the suite saw it stopped.
//
//   std::string error;
//   nlohmann::json a = flex::build::run_attack_suite("build/tests/attack_test", {"none", "process"}, &error);
//   for (const auto &row : a["results"]) ...   // {mechanism, attack, result}
//
// Results: "blocked" (stopped with the image's report under enforce, and the same attack went through
// with lockdown off, so the test detects what it claims), "NOT BLOCKED", "not defended yet" (a gap the
// suite records, DESIGN.md §8), "not run here" (with the reason: no PKU, an older kernel; the PKU guest
// runs them) and "not applicable" (a mechanism the image does not use). The suite builds its own attacker
// and vault images with each mechanism: it tests the mechanism, not this image's code.
#pragma once

#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace flex::build {

// The suite next to flexbuild in a build tree: <build>/tests/attack_test.
std::filesystem::path default_attack_suite();

// Runs the suite's tests for `mechanisms` (isolation names; "none" applies to every image) and reads its
// results; null with *error when the suite cannot be listed or run.
nlohmann::json run_attack_suite(const std::filesystem::path &suite, const std::set<std::string> &mechanisms,
                                std::string *error);

// One run of the suite, to read for several images (flexbuild compare runs it once for both).
struct suite_run {
  std::filesystem::path suite;
  std::vector<std::string> listed;
  nlohmann::json output;  // --gtest_output=json
};
std::optional<suite_run> run_suite(const std::filesystem::path &suite, const std::set<std::string> &mechanisms,
                                   std::string *error);
// The rows for an image using `mechanisms`, from a run that covered them.
nlohmann::json attack_results(const suite_run &run, const std::set<std::string> &mechanisms);
// The isolation names an image's report uses.
std::set<std::string> report_mechanisms(const nlohmann::json &report);

// Its parts. The full test names `--gtest_list_tests` prints ("lockdown/attack.is_stopped.../attack_mpk_vm_read").
std::vector<std::string> parse_gtest_list(const std::string &listing);
// The --gtest_filter that runs the tests of these mechanisms.
std::string attack_filter(const std::set<std::string> &mechanisms);
// The rows, from the listing and the run's --gtest_output=json (an empty object when nothing ran).
nlohmann::json attack_results(const std::vector<std::string> &listed, const nlohmann::json &gtest_output,
                              const std::set<std::string> &mechanisms);

}  // namespace flex::build
