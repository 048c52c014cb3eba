// flexbuild report --attacks (attacks.h): reading the attack suite's listing and results into rows.
#include "flex/build/attacks.h"

#include <gtest/gtest.h>

#include <map>

namespace flex::build {
namespace {

using json = nlohmann::json;

constexpr const char *kListing = R"(Running main() from ./googletest/src/gtest_main.cc
mpk_syscalls.
  a_domains_signal_mask_is_its_own
attack_dos.
  kill_from_the_main_process_ends_the_image_with_its_report
lockdown/attack.
  is_stopped_with_a_report_under_enforce/attack_process_vm_read  # GetParam() = 40-byte object <13-E6>
  is_stopped_with_a_report_under_enforce/attack_process_rev_kill  # GetParam() = 40-byte object <13-E6>
  is_stopped_with_a_report_under_enforce/attack_none_int80  # GetParam() = 40-byte object <13-E6>
  is_stopped_with_a_report_under_enforce/attack_mpk_pkey_remap  # GetParam() = 40-byte object <13-E6>
  goes_through_under_lockdown_off/attack_process_vm_read  # GetParam() = 40-byte object <13-E6>
  goes_through_under_lockdown_off/attack_process_rev_kill  # GetParam() = 40-byte object <13-E6>
  goes_through_under_lockdown_off/attack_none_int80  # GetParam() = 40-byte object <13-E6>
  goes_through_under_lockdown_off/attack_mpk_pkey_remap  # GetParam() = 40-byte object <13-E6>
attack_mpk/not_yet_defended.
  goes_through_under_enforce/fd_read  # GetParam() = "fd-read"
lockdown/control.
  a_legitimate_gate_call_works_under_enforce/attack_none  # GetParam() = "attack-none"
mpk_runtime_trusts_no_libc_state.
  an_exit_handler_a_compartment_registers_never_runs
attack_mpk/foreign_pkru_load.
  is_a_trap_under_enforce_and_opens_every_key_under_off/ldso_xrstor  # GetParam() = "ldso-xrstor"
attack_mpk_files.
  a_domain_that_may_open_files_cannot_open_its_own_processs_memory
attack_mpk/early_code.
  keeps_the_image_from_booting_under_enforce/early_code_rwx  # GetParam() = "rwx"
attack_mpk_stacks.
  a_domains_stack_slot_moved_onto_its_shared_mirror_ends_the_image
)";

json test(const std::string &name, const std::string &result, bool failed = false, const std::string &skip = "") {
  json t = {{"name", name}, {"status", "RUN"}, {"result", result}};
  if (failed) t["failures"] = json::array({{{"failure", "x.cc:1\nExpected ..."}, {"type", ""}}});
  if (!skip.empty()) t["skipped"] = json::array({{{"message", "x.cc:9\nSkipped\n" + skip + "\n"}}});
  return t;
}

TEST(attacks, the_listing_gives_every_full_test_name) {
  const auto names = parse_gtest_list(kListing);
  ASSERT_EQ(names.size(), 17u);
  EXPECT_EQ(names[0], "mpk_syscalls.a_domains_signal_mask_is_its_own");
  EXPECT_EQ(names[2], "lockdown/attack.is_stopped_with_a_report_under_enforce/attack_process_vm_read");
  EXPECT_EQ(names[10], "attack_mpk/not_yet_defended.goes_through_under_enforce/fd_read");
}

TEST(attacks, the_filter_runs_only_the_images_mechanisms) {
  EXPECT_EQ(attack_filter({"none"}), "*/attack_none_*");
  EXPECT_EQ(attack_filter({"none", "process"}), "*/attack_none_*:*/attack_process_*:attack_dos.*");
  EXPECT_NE(attack_filter({"mpk"}).find("*not_yet_defended.*"), std::string::npos);
  EXPECT_NE(attack_filter({"mpk"}).find("mpk_runtime_trusts_no_libc_state.*"), std::string::npos);
  EXPECT_NE(attack_filter({"mpk"}).find("*foreign_pkru_load.*"), std::string::npos);
  EXPECT_NE(attack_filter({"mpk"}).find("attack_mpk_files.*"), std::string::npos);
  EXPECT_NE(attack_filter({"mpk"}).find("*early_code.*"), std::string::npos);
  EXPECT_NE(attack_filter({"mpk"}).find("attack_mpk_stacks.*"), std::string::npos);
  EXPECT_EQ(attack_filter({"none", "process"}).find("foreign_pkru_load"), std::string::npos);
}

// Blocked needs both halves: stopped under enforce, and through with lockdown off (else the test proves
// nothing); a failure under enforce is NOT BLOCKED; a skip says why; other mechanisms are not applicable.
TEST(attacks, each_attack_gets_its_result) {
  const json out = {{"testsuites",
                     {{{"name", "lockdown/attack"},
                       {"testsuite",
                        {test("is_stopped_with_a_report_under_enforce/attack_process_vm_read", "COMPLETED"),
                         test("goes_through_under_lockdown_off/attack_process_vm_read", "COMPLETED"),
                         test("is_stopped_with_a_report_under_enforce/attack_process_rev_kill", "COMPLETED", true),
                         test("goes_through_under_lockdown_off/attack_process_rev_kill", "COMPLETED"),
                         test("is_stopped_with_a_report_under_enforce/attack_none_int80", "COMPLETED"),
                         test("goes_through_under_lockdown_off/attack_none_int80", "COMPLETED", true)}}},
                      {{"name", "attack_dos"},
                       {"testsuite", {test("kill_from_the_main_process_ends_the_image_with_its_report", "SKIPPED", false, "no Linux 6.12")}}}}}};
  const json r = attack_results(parse_gtest_list(kListing), out, {"none", "process"});
  std::map<std::string, std::string> got;
  for (const json &row : r["results"]) got[row["mechanism"].get<std::string>() + " " + row["attack"].get<std::string>()] = row["result"];
  EXPECT_EQ(got["process vm-read"], "blocked");
  EXPECT_EQ(got["process rev-kill"], "NOT BLOCKED");
  EXPECT_EQ(got["none int80"], "blocked (unproven: it did not go through with lockdown off)");
  EXPECT_EQ(got["mpk pkey-remap"], "not applicable");
  EXPECT_EQ(got["mpk fd-read"], "not applicable");
  EXPECT_EQ(got["mpk a domains signal mask is its own"], "not applicable");
  EXPECT_EQ(got["mpk an exit handler a compartment registers never runs"], "not applicable");
  EXPECT_EQ(got["process kill from the main process ends the image with its report"], "not run here (no Linux 6.12)");
  EXPECT_EQ(r["counts"]["blocked"], 1);
  EXPECT_EQ(r["counts"]["NOT BLOCKED"], 1);
  EXPECT_EQ(got["mpk ldso-xrstor"], "not applicable");
  EXPECT_EQ(r["counts"]["not applicable"], 8);  // the mpk rows, in an image without mpk
  EXPECT_EQ(r["counts"]["not run here"], 1);
}

TEST(attacks, a_gap_the_suite_records_is_reported_as_one) {
  const json out = {{"testsuites",
                     {{{"name", "attack_mpk/not_yet_defended"}, {"testsuite", {test("goes_through_under_enforce/fd_read", "COMPLETED")}}}}}};
  const json r = attack_results(parse_gtest_list(kListing), out, {"none", "mpk"});
  bool found = false;
  for (const json &row : r["results"]) {
    if (row["attack"] == "fd-read") {
      EXPECT_EQ(row["result"], "not defended yet");
      found = true;
    }
    if (row["attack"] == "pkey-remap") EXPECT_EQ(row["result"], "not run here") << "listed but not in the output";
  }
  EXPECT_TRUE(found);
}

// The attacks through the shared objects' PKRU loads hold both halves in one test (a trap under enforce,
// every key open under off), and the file attacks are checks of their own: each gets its row.
TEST(attacks, the_foreign_pkru_loads_and_the_file_attacks_get_their_rows) {
  const json out = {{"testsuites",
                     {{{"name", "attack_mpk/foreign_pkru_load"},
                       {"testsuite", {test("is_a_trap_under_enforce_and_opens_every_key_under_off/ldso_xrstor", "COMPLETED", true)}}},
                      {{"name", "attack_mpk_files"},
                       {"testsuite", {test("a_domain_that_may_open_files_cannot_open_its_own_processs_memory", "COMPLETED")}}},
                      {{"name", "attack_mpk_stacks"},
                       {"testsuite", {test("a_domains_stack_slot_moved_onto_its_shared_mirror_ends_the_image", "COMPLETED", true)}}}}}};
  const json r = attack_results(parse_gtest_list(kListing), out, {"none", "mpk"});
  std::map<std::string, std::string> got;
  for (const json &row : r["results"]) got[row["mechanism"].get<std::string>() + " " + row["attack"].get<std::string>()] = row["result"];
  EXPECT_EQ(got["mpk ldso-xrstor"], "NOT BLOCKED");
  EXPECT_EQ(got["mpk a domain that may open files cannot open its own processs memory"], "holds");
  EXPECT_EQ(got["mpk a domains stack slot moved onto its shared mirror ends the image"], "FAILS");
  EXPECT_EQ(got["mpk early-code-rwx"], "not run here") << "listed but not in the output";
  const json passed = {{"testsuites",
                        {{{"name", "attack_mpk/foreign_pkru_load"},
                          {"testsuite", {test("is_a_trap_under_enforce_and_opens_every_key_under_off/ldso_xrstor", "COMPLETED")}}}}}};
  for (const json &row : attack_results(parse_gtest_list(kListing), passed, {"mpk"})["results"]) {
    if (row["attack"] == "ldso-xrstor") EXPECT_EQ(row["result"], "blocked");
  }
}

TEST(attacks, a_missing_suite_names_the_path_and_what_to_do) {
  std::string error;
  EXPECT_TRUE(run_attack_suite("/nonexistent/attack_test", {"none"}, &error).is_null());
  EXPECT_NE(error.find("/nonexistent/attack_test: no attack suite there (build it"), std::string::npos) << error;
}

}  // namespace
}  // namespace flex::build
