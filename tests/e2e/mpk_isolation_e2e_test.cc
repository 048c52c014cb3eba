// Isolation of real MPK images: the probe app (one mpk domain) asks the vault library (another) where
// its data is, then touches it directly. Every private datum of the vault (statics, heap, stack, what
// libstdc++ allocated for it) faults with a report naming the probe, the function and the vault; shared
// data (.data_shared, the shared heap, the DSS) is reachable from both.
//
// The images are built here on any machine and checked statically; they run only where the CPU has PKU.
// On a machine without it, the ctest entry `pku_guest.mpk_isolation` runs this binary again inside a
// QEMU guest whose CPU has protection keys (scripts/pku-vm.sh), where the images, built in
// build/test-images, are reused as they are.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <regex>

#include "test_util.h"

namespace flex::test {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

const fs::path kFixture = isolation_fixture();

struct mpk_case {
  const char *profile;
  bool full;  // full gates: the vault runs on a stack of its own
};

class mpk_isolation : public ::testing::TestWithParam<mpk_case> {
 protected:
  // Built in a fixed folder of the build tree, so a second run of this binary (the PKU guest's) finds
  // the image up to date and flexbuild runs no command.
  std::string image() {
    std::string name = GetParam().profile;
    auto r = build_test_image(kFixture / "profiles" / (name + ".yaml"), name);
    EXPECT_EQ(r.status, 0) << r.out;
    return test_image(name).string();
  }

  // The image, when this machine can run it; the test skips otherwise (after the build checks).
  std::string runnable_image() {
    std::string img = image();
    if (!machine_has_pku()) {
      auto r = run(img + " call");
      EXPECT_EQ(r.status, 1) << r.out;  // never runs unprotected
      EXPECT_NE(r.out.find("Refusing to run them unprotected"), std::string::npos) << r.out;
      return {};
    }
    return img;
  }

  static std::string report(const std::string &mode, const std::string &kind) {
    return "flex: compartment 'probe' \\(pid [0-9]+\\) faulted at 0x[0-9a-f]+ in flex_app_main\\+0x[0-9a-f]+ "
           "\\(SIGSEGV, " +
           std::string(mode[0] == 'w' ? "write" : "read") +
           ", SEGV_PKUERR, pkey [0-9]+\\): address belongs to compartment 'vault' \\(" + kind + "\\)";
  }
};

#define SKIP_WITHOUT_PKU(img) \
  if ((img).empty()) GTEST_SKIP() << "PKU not available (base/pku: no usable protection keys here): checked the refusal"

TEST_P(mpk_isolation, the_image_has_only_its_gates_write_pkru) {
  std::string img = image();
  json j = json::parse(read(fs::path(img).parent_path() / "image.json"));
  EXPECT_TRUE(j["gadgets_outside_gates"].empty()) << j["gadgets_outside_gates"].dump();
  for (const auto &b : j["boundaries"]) EXPECT_EQ(b["gate"], GetParam().full ? "mpk-full" : "mpk-light") << b.dump();
}

TEST_P(mpk_isolation, gates_work_across_the_boundary) {
  std::string img = runnable_image();
  SKIP_WITHOUT_PKU(img);
  auto r = run(img + " --gate-stats call");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("secret 5ec7e75ec7e7"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("gate-stats: probe -> vault (mpk-"), std::string::npos) << r.out;
}

TEST_P(mpk_isolation, private_data_of_the_vault_faults_with_a_report_naming_both) {
  std::string img = runnable_image();
  SKIP_WITHOUT_PKU(img);
  std::vector<std::pair<std::string, std::string>> cases = {
      {"read-static", "data"}, {"write-static", "data"}, {"read-bss", "bss"},     {"write-bss", "bss"},
      {"read-rodata", "rodata"}, {"read-heap", "heap"},  {"write-heap", "heap"}, {"read-string", "heap"},
  };
  if (GetParam().full) {
    cases.push_back({"read-stack", "stack"});
    cases.push_back({"write-stack", "stack"});
  }
  for (const auto &[mode, kind] : cases) {
    auto r = run(img + " " + mode);
    EXPECT_EQ(r.status, kExitFault) << mode << "\n" << r.out;
    EXPECT_TRUE(std::regex_search(r.out, std::regex(report(mode, kind)))) << mode << "\n" << r.out;
    EXPECT_EQ(r.out.find("read 5ec7e75ec7e7"), std::string::npos) << mode << "\n" << r.out;
    EXPECT_EQ(r.out.find("wrote"), std::string::npos) << mode << "\n" << r.out;
  }
}

TEST_P(mpk_isolation, shared_data_is_seen_by_both_sides) {
  std::string img = runnable_image();
  SKIP_WITHOUT_PKU(img);
  auto lit = run(img + " literal");  // moved to shared read-only data by flex-transform
  EXPECT_EQ(lit.status, 0) << lit.out;
  EXPECT_NE(lit.out.find("vault measured 17"), std::string::npos) << lit.out;
  // DSS under light gates too: the runtime enters the app through a full gate onto a stack of its arena,
  // which has a DSS mirror (under light gates that stack carries the shared key, as the callees run on it).
  std::vector<std::string> modes = {"shared", "shared-heap", "dss"};
  for (const auto &mode : modes) {
    auto r = run(img + " " + mode);
    EXPECT_EQ(r.status, 0) << mode << "\n" << r.out;
    EXPECT_NE(r.out.find("vault read 4242"), std::string::npos) << mode << "\n" << r.out;
  }
}

INSTANTIATE_TEST_SUITE_P(images, mpk_isolation,
                         ::testing::Values(mpk_case{"probe-mpk", true}, mpk_case{"probe-mpk-light", false}),
                         [](const auto &info) { return param_name(info.param.profile); });

// One mpk domain and one process compartment in one image, each on either side of the boundary: the
// calls cross, the statics of the other side are absent, shared data is shared.
class mixed_isolation : public ::testing::TestWithParam<const char *> {};

TEST_P(mixed_isolation, calls_cross_statics_fault_and_shared_data_is_shared) {
  std::string name = GetParam();
  auto b = build_test_image(kFixture / "profiles" / (name + ".yaml"), name);
  ASSERT_EQ(b.status, 0) << b.out;
  std::string img = test_image(name).string();
  if (!machine_has_pku()) {
    auto r = run(img + " call");
    EXPECT_EQ(r.status, 1) << r.out;  // refused before any compartment process starts
    EXPECT_NE(r.out.find("Refusing to run them unprotected"), std::string::npos) << r.out;
    GTEST_SKIP() << "PKU not available (base/pku: no usable protection keys here): checked the refusal";
  }
  auto r = run(img + " --gate-stats call");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("secret 5ec7e75ec7e7"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("gate-stats: probe -> vault (process): 1 calls"), std::string::npos) << r.out;
  for (std::string mode : {"read-static", "write-bss"}) {
    r = run(img + " " + mode);
    EXPECT_EQ(r.status, kExitFault) << mode << "\n" << r.out;
    EXPECT_TRUE(std::regex_search(
        r.out, std::regex("flex: compartment 'probe' \\(pid [0-9]+\\) faulted at 0x[0-9a-f]+ in flex_app_main\\+0x[0-9a-f]+ "
                          "\\(SIGSEGV, (read|write), SEGV_MAPERR\\): address belongs to compartment 'vault'")))
        << mode << "\n" << r.out;
  }
  for (std::string mode : {"shared", "shared-heap"}) {
    r = run(img + " " + mode);
    EXPECT_EQ(r.status, 0) << mode << "\n" << r.out;
    EXPECT_NE(r.out.find("vault read 4242"), std::string::npos) << mode << "\n" << r.out;
  }
}

// An image holds no erased gate (mpk.h): only gates whose callee is fixed at build time. A mixed image links
// the runtime's relay; the reference instantiations of the erased gates (the runtime's tests and
// benchmarks use them) are in an object of their own, which that link does not pull in. A light gate from
// the runtime would return with every key open on a stack its jumper chose.
TEST_P(mixed_isolation, holds_only_gates_with_fixed_callees) {
  std::string name = GetParam();
  auto b = build_test_image(kFixture / "profiles" / (name + ".yaml"), name);
  ASSERT_EQ(b.status, 0) << b.out;
  auto syms = run(llvm_tool("llvm-nm") + " -C " + test_image(name).string());
  ASSERT_EQ(syms.status, 0) << syms.out;
  EXPECT_EQ(syms.out.find("mpk_light_entry<"), std::string::npos) << syms.out;
  EXPECT_EQ(syms.out.find("mpk_full_entry<"), std::string::npos) << syms.out;
  EXPECT_NE(syms.out.find("flex_mpk_relay"), std::string::npos);       // the relay is linked
  EXPECT_NE(syms.out.find("mpk_full_to_entry<"), std::string::npos);  // and the image's own gates
}

INSTANTIATE_TEST_SUITE_P(images, mixed_isolation, ::testing::Values("probe-mixed", "vault-mixed"),
                         [](const auto &info) { return param_name(info.param); });

// hello-2comp-mixed from profiles/: the README's mixed image.
TEST(hello_mixed, an_mpk_app_and_a_process_console_run_together) {
  auto b = build_test_image(source_dir() / "profiles/hello-2comp-mixed.yaml", "hello-2comp-mixed");
  ASSERT_EQ(b.status, 0) << b.out;
  if (!machine_has_pku()) GTEST_SKIP() << "PKU not available (base/pku: no usable protection keys here)";
  auto r = run(test_image("hello-2comp-mixed").string() + " --gate-stats world");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("[console@core] hello from compartment app\n[console@core] app says: world\n"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("gate-stats: app -> core (process): 2 calls"), std::string::npos) << r.out;
}

// Recursion across boundaries of every mix (A -> B -> C -> A -> ...): every gate is re-entered while
// calls through the others are pending, so callbacks are served while a caller waits.
class relay : public ::testing::TestWithParam<const char *> {};

TEST_P(relay, recurses_across_every_boundary_and_returns_through_each) {
  std::string name = GetParam();
  auto b = build_test_image(source_dir() / "tests/e2e/fixtures/relay/profiles" / (name + ".yaml"), name);
  ASSERT_EQ(b.status, 0) << b.out;
  if (name.find("mpk") != std::string::npos && !machine_has_pku())
    GTEST_SKIP() << "PKU not available (base/pku: no usable protection keys here)";
  auto r = run(test_image(name).string() + " --gate-stats 300");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("relay 300: sum 45150 (expected 45150)"), std::string::npos) << r.out;
  // 300 hops, a fresh boundary each time: 100 through each of a -> b, b -> c and c -> a (plus the entry).
  EXPECT_TRUE(std::regex_search(r.out, std::regex("gate-stats: a -> b \\([a-z-]+\\): 100 calls"))) << r.out;
  EXPECT_TRUE(std::regex_search(r.out, std::regex("gate-stats: b -> c \\([a-z-]+\\): 100 calls"))) << r.out;
}

INSTANTIATE_TEST_SUITE_P(mixes, relay,
                         ::testing::Values("relay-mpk-mpk-mpk", "relay-mpk-process-mpk", "relay-process-mpk-process",
                                           "relay-process-process-none"),
                         [](const auto &info) { return param_name(info.param); });

// Thread-local data cannot live in a compartment's domain: the build refuses it at its definition.
TEST(mpk_isolation_build, thread_local_data_in_an_mpk_compartment_is_a_build_error) {
  if (std::getenv("FLEX_PKU_VM_GUEST")) GTEST_SKIP() << "a build check, which needs no PKU: it ran on the host";
  scratch_dir dir("mpk-tls");
  fs::path tree = dir.path() / "tree";
  fs::copy(kFixture, tree, fs::copy_options::recursive);
  fs::path vault = tree / "libos/vault/src/vault.c";
  write(vault, read(vault) + "\n__thread long vault_per_thread;\n");
  auto r = run(flexbuild().string() + " --profile " + (tree / "profiles/probe-mpk.yaml").string() + " -o " +
               (dir.path() / "out").string());
  EXPECT_NE(r.status, 0) << r.out;
  EXPECT_TRUE(std::regex_search(r.out, std::regex("vault\\.c:[0-9]+:[0-9]+: error: thread-local variable "
                                                  "'vault_per_thread' cannot be isolated in compartment "
                                                  "'vault' \\(isolation: mpk\\)")))
      << r.out;
}

}  // namespace
}  // namespace flex::test
