// sharing.stack end to end: for each mode (dss, heap, shared) and each isolating gate (mpk full, mpk
// light, process), the share app passes a whitelisted local to the filler's compartment, which writes
// into it; the app reads back what was written, and a function leaving its scope early 20000 times gives
// back all the shared storage it took. A local that is not whitelisted cannot be written across an mpk
// full boundary (its stack is the app's domain). A FLEXOS_SHARED_LITERAL is readable by the callee.
#include <gtest/gtest.h>

#include <regex>

#include "test_util.h"

namespace flex::test {
namespace {

namespace fs = std::filesystem;

const fs::path kProfiles = source_dir() / "tests/e2e/fixtures/sharing/profiles";

class sharing : public ::testing::TestWithParam<const char *> {
 protected:
  std::string image() {
    std::string name = GetParam();
    auto b = build_test_image(kProfiles / (name + ".yaml"), name);
    EXPECT_EQ(b.status, 0) << b.out;
    return test_image(name).string();
  }
  bool needs_pku() const { return std::string(GetParam()).find("process") == std::string::npos; }
};

TEST_P(sharing, the_callee_writes_into_a_whitelisted_local_and_nothing_leaks) {
  std::string img = image();
  if (needs_pku() && !machine_has_pku()) GTEST_SKIP() << "PKU not available (base/pku: no usable protection keys here)";
  auto r = run(img);
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("callee wrote 32640 (expected 32640)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("callee read a shared literal of 16 bytes"), std::string::npos) << r.out;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.out, m, std::regex("shared bytes in use before ([0-9]+) after ([0-9]+)"))) << r.out;
  EXPECT_EQ(m[1], m[2]) << r.out;
  // With full gates, DSS is a fixed offset from the local: no shared memory taken at all.
  if (std::string(GetParam()) == "share-dss-full") EXPECT_EQ(m[1], "0") << r.out;
}

TEST_P(sharing, memory_the_build_follows_to_a_gate_is_shared_without_annotations) {
  std::string img = image();
  if (needs_pku() && !machine_has_pku()) GTEST_SKIP() << "PKU not available (base/pku: no usable protection keys here)";
  auto r = run(img + " shapes");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("shapes: ok"), std::string::npos) << r.out;
}

INSTANTIATE_TEST_SUITE_P(modes, sharing,
                         ::testing::Values("share-dss-full", "share-dss-light", "share-dss-process", "share-heap-full",
                                           "share-heap-light", "share-heap-process", "share-shared-full",
                                           "share-shared-light", "share-shared-process"),
                         [](const auto &info) { return param_name(info.param); });

TEST(sharing_private, a_local_that_is_not_whitelisted_cannot_be_written_across_an_mpk_boundary) {
  auto b = build_test_image(kProfiles / "share-dss-full.yaml", "share-dss-full");
  ASSERT_EQ(b.status, 0) << b.out;
  // The build said it could not follow the pointer (the summary keeps what the transformer reported).
  const std::string summary = read(test_image("share-dss-full").parent_path() / "work/summary/app/share.json");
  EXPECT_NE(summary.find("the build cannot tell where it points"), std::string::npos) << summary;
  if (!machine_has_pku()) GTEST_SKIP() << "PKU not available (base/pku: no usable protection keys here)";
  auto r = run(test_image("share-dss-full").string() + " private");
  EXPECT_EQ(r.status, kExitFault) << r.out;
  EXPECT_TRUE(std::regex_search(r.out, std::regex("flex: compartment 'filler' \\(pid [0-9]+\\) faulted at 0x[0-9a-f]+ in "
                                                  "filler_fill\\+0x[0-9a-f]+ \\(SIGSEGV, write, SEGV_PKUERR, pkey [0-9]+\\): "
                                                  "address belongs to compartment 'app' \\(stack\\)")))
      << r.out;
}

// hello in every sharing mode, its app in a process of its own (console, time and vfs in the other).
class hello_sharing : public ::testing::TestWithParam<const char *> {};

TEST_P(hello_sharing, greets_through_the_file_it_keeps) {
  const std::string mode = GetParam(), name = "hello-sharing-" + mode;
  // Outside both trees, so flexbuild takes the libraries of the tree it was built from.
  fs::path profile = fs::temp_directory_path() / "flex-test-profiles" / (name + ".yaml");
  fs::create_directories(profile.parent_path());
  write(profile, "name: " + name + "\napp: hello\ncompartments:\n  - name: app\n    isolation: process\n"
                 "    libraries: [hello]\n  - name: core\n    default: true\n    libraries: [console]\n"
                 "sharing:\n  stack: " + mode + "\n");
  auto b = build_test_image(profile, name);
  ASSERT_EQ(b.status, 0) << b.out;
  auto r = run(test_image(name).string() + " one two");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("hello from compartment app"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("app says: two"), std::string::npos) << r.out;
}

INSTANTIATE_TEST_SUITE_P(modes, hello_sharing, ::testing::Values("dss", "heap", "shared"));

}  // namespace
}  // namespace flex::test
