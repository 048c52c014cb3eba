// Isolation of real images: the probe app asks the vault library (through gates) where its data is and
// touches it directly, across a process boundary in both directions. Static data, heap and stack of the
// other compartment are absent (the access faults, and the report names both compartments and the
// function); shared data (.data_shared, the shared heap) is shared.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <regex>
#include <set>

#include "test_util.h"

namespace flex::test {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

const fs::path kFixture = isolation_fixture();

struct image_case {
  const char *profile;
  const char *probe;  // the probe's compartment
};

class process_isolation : public ::testing::TestWithParam<image_case> {
 protected:
  static void SetUpTestSuite() { dir_ = new scratch_dir("isolation"); }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }

  // Builds the image once per suite (flexbuild's own incrementality makes later calls free).
  std::string image() {
    std::string name = GetParam().profile;
    fs::path out = dir_->path() / name;
    auto r = run(flexbuild().string() + " --profile " + (kFixture / "profiles" / (name + ".yaml")).string() +
                 " -o " + out.string());
    EXPECT_EQ(r.status, 0) << r.out;
    return (out / name).string();
  }

  static scratch_dir *dir_;
};
scratch_dir *process_isolation::dir_ = nullptr;

TEST_P(process_isolation, gates_work_across_the_boundary) {
  auto r = run(image() + " call");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("secret 5ec7e75ec7e7"), std::string::npos) << r.out;
}

TEST_P(process_isolation, shared_data_is_seen_by_both_sides) {
  auto r = run(image() + " shared");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("vault read 4242"), std::string::npos) << r.out;
}

TEST_P(process_isolation, static_data_of_the_other_compartment_faults_with_a_report_naming_both) {
  for (std::string mode : {"read-static", "write-static", "read-bss", "write-bss", "read-rodata"}) {
    auto r = run(image() + " " + mode);
    EXPECT_EQ(r.status, kExitFault) << mode << "\n" << r.out;
    std::string kind = mode.substr(mode.find('-') + 1);
    if (kind == "static") kind = "data";
    std::regex report("flex: compartment '" + std::string(GetParam().probe) +
                      "' \\(pid [0-9]+\\) faulted at 0x[0-9a-f]+ in flex_app_main\\+0x[0-9a-f]+ \\(SIGSEGV, " +
                      (mode[0] == 'w' ? "write" : "read") + ".*belongs to compartment 'vault' \\(" + kind + "\\)");
    EXPECT_TRUE(std::regex_search(r.out, report)) << mode << "\n" << r.out;
    EXPECT_EQ(r.out.find("read 5ec7e75ec7e7"), std::string::npos) << r.out;
    EXPECT_EQ(r.out.find("wrote"), std::string::npos) << r.out;
  }
}

TEST_P(process_isolation, heap_and_stack_of_the_other_compartment_fault_with_a_report_naming_both) {
  // Each compartment's heap and stack are mapped before the fork and unmapped in every other process;
  // what the vault allocates (malloc, and libstdc++'s operator new) and its locals are there.
  const std::vector<std::pair<std::string, std::string>> cases = {{"read-heap", "heap"},   {"write-heap", "heap"},
                                                                  {"read-string", "heap"}, {"read-stack", "stack"},
                                                                  {"write-stack", "stack"}};
  for (const auto &[mode, kind] : cases) {
    auto r = run(image() + " " + mode);
    EXPECT_EQ(r.status, kExitFault) << mode << "\n" << r.out;
    std::regex report("flex: compartment '" + std::string(GetParam().probe) +
                      "' \\(pid [0-9]+\\) faulted at 0x[0-9a-f]+ in flex_app_main\\+0x[0-9a-f]+ \\(SIGSEGV, " +
                      (mode[0] == 'w' ? "write" : "read") + ", SEGV_MAPERR\\): address belongs to compartment 'vault' \\(" +
                      kind + "\\)");
    EXPECT_TRUE(std::regex_search(r.out, report)) << mode << "\n" << r.out;
    EXPECT_EQ(r.out.find("read 5ec7e75ec7e7"), std::string::npos) << mode << "\n" << r.out;
    EXPECT_EQ(r.out.find("wrote"), std::string::npos) << mode << "\n" << r.out;
  }
}

TEST_P(process_isolation, a_string_literal_passed_through_a_gate_is_shared) {
  auto r = run(image() + " literal");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("vault measured 17"), std::string::npos) << r.out;
}

TEST_P(process_isolation, the_shared_heap_is_shared_across_processes) {
  auto r = run(image() + " shared-heap");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("vault read 4242"), std::string::npos) << r.out;
}

TEST_P(process_isolation, death_of_the_vault_ends_the_image_with_a_report) {
  std::string img = image();
  auto r = run(img + " die");
  // No process of the image outlives it (a killed child may take a moment to go).
  bool gone = false;
  for (int i = 0; i < 40 && !gone; ++i) {
    gone = run("pgrep -f '^" + img + " die'").status != 0;
    if (!gone) run("sleep 0.05");
  }
  EXPECT_TRUE(gone);
  if (std::string(GetParam().probe) == "probe") {
    // The vault is in the main process: SIGKILL ends the image at once, before anything can report;
    // the probe's process dies with it (PR_SET_PDEATHSIG).
    EXPECT_EQ(r.status, 128 + 9) << r.out;
    return;
  }
  EXPECT_EQ(r.status, kExitDied) << r.out;
  EXPECT_TRUE(std::regex_search(r.out, std::regex("flex: compartment 'vault' \\(pid [0-9]+\\) died: killed by signal 9")))
      << r.out;
  EXPECT_EQ(r.out.find("still here"), std::string::npos) << r.out;
}

INSTANTIATE_TEST_SUITE_P(images, process_isolation,
                         ::testing::Values(image_case{"vault-process", "main"}, image_case{"probe-process", "probe"},
                                           image_case{"vault-process-default", "main"},
                                           image_case{"probe-process-default", "probe"},
                                           image_case{"all-process", "app"}),
                         [](const auto &info) { return param_name(info.param.profile); });

// The scan reads every byte offset: a WRPKRU hidden in another instruction's immediate is found, recorded
// in image.json with its function, and fatal to an mpk image.
TEST(gadget_scan, finds_a_wrpkru_hidden_in_an_immediate_and_names_its_function) {
  scratch_dir dir("gadget");
  auto r = run(flexbuild().string() + " --profile " + (kFixture / "profiles/gadget-process.yaml").string() + " -o " +
               dir.path().string());
  ASSERT_EQ(r.status, 0) << r.out;
  auto out = run((dir.path() / "gadget-process").string());
  EXPECT_NE(out.out.find("gadget ef010f, secret 5ec7e75ec7e7"), std::string::npos) << out.out;
  json j = json::parse(read(dir.path() / "image.json"));
  ASSERT_EQ(j["gadgets_outside_gates"].size(), 1u) << j["gadgets_outside_gates"].dump();
  EXPECT_EQ(j["gadgets_outside_gates"][0]["kind"], "wrpkru");
  EXPECT_EQ(j["gadgets_outside_gates"][0]["where"], ".text");
  EXPECT_EQ(j["gadgets_outside_gates"][0]["function"], "flex_app_main");
}

TEST(gadget_scan, refuses_to_build_an_mpk_image_with_a_gadget_naming_offset_and_function) {
  scratch_dir dir("gadget-mpk");
  auto r = run(flexbuild().string() + " --profile " + (kFixture / "profiles/gadget-mpk.yaml").string() + " -o " +
               dir.path().string());
  EXPECT_NE(r.status, 0) << r.out;
  EXPECT_TRUE(std::regex_search(r.out, std::regex("flexbuild: error: .*gadget-mpk: wrpkru at 0x[0-9a-f]+ \\(file "
                                                  "offset 0x[0-9a-f]+\\) in \\.text, function flex_app_main, "
                                                  "outside the gates")))
      << r.out;
}

TEST(hello_process, two_compartments_in_two_processes_print_and_count_their_gates) {
  scratch_dir dir("hello-process");
  auto r = run(flexbuild().string() + " run --profile " + (source_dir() / "profiles/hello-2comp-process.yaml").string() +
               " -o " + dir.path().string() + " -- --gate-stats one");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("[console@core] hello from compartment app\n[console@core] app says: one\n"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("gate-stats: app -> core (process): 2 calls"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("gate-stats: core -> app (process): 1 calls"), std::string::npos) << r.out;
}

TEST(hello_mpk, builds_with_its_gates_alone_allowed_to_write_pkru_and_runs_only_with_pku) {
  auto r = build_test_image(source_dir() / "profiles/hello-2comp-mpk.yaml", "hello-2comp-mpk");
  ASSERT_EQ(r.status, 0) << r.out;
  std::string exe = test_image("hello-2comp-mpk").string();
  fs::path dir = test_image("hello-2comp-mpk").parent_path();
  json j = json::parse(read(dir / "image.json"));
  EXPECT_TRUE(j["gadgets_outside_gates"].empty()) << j["gadgets_outside_gates"].dump();
  bool crossed = false;
  for (const auto &b : j["boundaries"]) {
    EXPECT_EQ(b["gate"], "mpk-full") << b.dump();
    crossed |= b["from"] == "app" && b["to"] == "core" && b["call_sites"].get<int>() >= 2;
  }
  EXPECT_TRUE(crossed) << j["boundaries"].dump();
  // Every WRPKRU is in the gate section and followed by the check of the value it wrote.
  auto dis = run(llvm_tool("llvm-objdump") + " -d --show-all-symbols --no-show-raw-insn --section=.flex.gates.text " +
                 exe);
  ASSERT_EQ(dis.status, 0) << dis.out;
  std::istringstream lines(dis.out);
  std::vector<std::string> insns, owner;  // each instruction, and the function it lies in
  std::regex insn(R"(^\s*[0-9a-f]+:\s+\S)");
  std::regex function(R"(^[0-9a-f]+ <(.*)>:$)");
  std::string current;
  std::set<std::string> fixed_entries;
  for (std::string l; std::getline(lines, l);) {
    std::smatch m;
    if (std::regex_search(l, m, function)) {
      if (m[1] == "__flex_gates_text_start") continue;  // the linker script's label at the first gate
      current = m[1];
      if (current.find("_to_entry") != std::string::npos) fixed_entries.insert(current);
    } else if (std::regex_search(l, insn)) {
      insns.push_back(l);
      owner.push_back(current);
    }
  }
  int wrpkru = 0, signal_wrpkru = 0, syscall_wrpkru = 0;
  for (size_t i = 0; i < insns.size(); ++i) {
    // Gates with fixed targets (DESIGN.md §6): their callee is a direct call, never a register or a slot.
    if (owner[i].find("_to_entry") != std::string::npos) {
      EXPECT_EQ(insns[i].find("callq\t*"), std::string::npos) << owner[i] << ": " << insns[i];
    }
    if (insns[i].find("wrpkru") == std::string::npos) continue;
    ++wrpkru;
    const bool signal = owner[i].find("flex_mpk_signal_entry") != std::string::npos ||
                        owner[i].find("flex_mpk_sigreturn") != std::string::npos;
    signal_wrpkru += signal;
    // Each domain's system-call gate (4: in, down to the domain for the call, up, back) and drop (2).
    const bool syscalls = owner[i].rfind("flex_sysgate_", 0) == 0 || owner[i].rfind("flex_sysdrop_", 0) == 0;
    syscall_wrpkru += syscalls;
    EXPECT_TRUE(signal || syscalls || owner[i].find("_to_entry") != std::string::npos) << owner[i] << ": " << insns[i];
    ASSERT_LT(i + 2, insns.size());
    EXPECT_NE(insns[i + 1].find("cmp"), std::string::npos) << insns[i + 1];
    EXPECT_NE(insns[i + 2].find("jne"), std::string::npos) << insns[i + 2];
  }
  // One gate per export of core (from app) and one into app (from the runtime), in and out of each; the
  // runtime's signal entry and return, one each; the system-call gate and drop of both domains.
  EXPECT_GE(fixed_entries.size(), 2u);
  EXPECT_EQ(wrpkru, 2 * static_cast<int>(fixed_entries.size()) + 2 + 2 * 6);
  EXPECT_EQ(signal_wrpkru, 2);
  EXPECT_EQ(syscall_wrpkru, 2 * 6);
  auto describe = run(exe + " --describe");
  EXPECT_EQ(describe.status, 0) << describe.out;
  EXPECT_NE(describe.out.find("app -> core: mpk (gate: mpk-full)"), std::string::npos) << describe.out;

  auto out = run(exe + " world");
  if (!machine_has_pku()) {
    // Never runs unprotected: the refusal says why, and the app never starts.
    EXPECT_EQ(out.status, 1) << out.out;
    EXPECT_NE(out.out.find("cannot boot its mpk compartments"), std::string::npos) << out.out;
    EXPECT_NE(out.out.find("Refusing to run them unprotected"), std::string::npos) << out.out;
    EXPECT_EQ(out.out.find("hello from"), std::string::npos) << out.out;
    GTEST_SKIP() << "PKU not available (base/pku: no usable protection keys here): checked the refusal, not the run";
  }
  EXPECT_EQ(out.status, 0) << out.out;
  EXPECT_NE(out.out.find("[console@core] hello from compartment app\n[console@core] app says: world\n"),
            std::string::npos)
      << out.out;
}

}  // namespace
}  // namespace flex::test
