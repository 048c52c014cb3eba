// Unmodified Linux programs in an image (a profile's `binary:`, apps/binary on runtime/binary): the
// program's system calls are answered by posix on the libOS, its arguments are the profile's and then the
// command line's, and a profile naming something that is not a program is refused at build time with the
// file, line and reason.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "test_util.h"

namespace flex::test {
namespace {

namespace fs = std::filesystem;

TEST(binary_image, busybox_runs_unmodified_and_prints_through_the_console) {
  if (!fs::exists("/bin/busybox")) GTEST_SKIP() << "busybox-static is not installed";
  command_result b = build_test_image(source_dir() / "profiles" / "busybox-1comp.yaml", "busybox-1comp");
  ASSERT_EQ(b.status, 0) << b.out;
  command_result r = run(test_image("busybox-1comp").string() + " and the command line");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("hello from an image and the command line"), std::string::npos) << r.out;
  // Under the default lockdown: the program's code was mapped at boot, before the wall against new
  // executable memory.
  command_result d = run(test_image("busybox-1comp").string() + " --describe");
  EXPECT_NE(d.out.find("lockdown: enforce"), std::string::npos) << d.out;
}

// A dynamic program: its interpreter reads libc from the host's library directories (read-only
// descriptors of their own) and maps it. Under enforce that mapping is new executable memory after boot,
// refused with the lockdown's report (the loader hands the filter's SIGSYS to it).
TEST(binary_image, a_dynamic_program_loads_its_libraries_from_the_host_and_enforce_reports_their_mapping) {
  if (!fs::exists("/bin/echo")) GTEST_SKIP() << "coreutils is not installed";
  const fs::path fixtures = source_dir() / "tests" / "e2e" / "fixtures" / "binary";
  command_result b = build_test_image(fixtures / "echo-dyn.yaml", "echo-dyn", source_dir());
  ASSERT_EQ(b.status, 0) << b.out;
  command_result r = run(test_image("echo-dyn").string() + " echo");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("dynamic echo"), std::string::npos) << r.out;
  command_result be = build_test_image(fixtures / "echo-dyn-enforce.yaml", "echo-dyn-enforce", source_dir());
  ASSERT_EQ(be.status, 0) << be.out;
  command_result e = run(test_image("echo-dyn-enforce").string());
  EXPECT_EQ(e.status, 159) << e.out;
  EXPECT_NE(e.out.find("made a system call outside its set: mmap("), std::string::npos) << e.out;
  EXPECT_NE(e.out.find("PROT_READ|PROT_EXEC"), std::string::npos) << e.out;
  EXPECT_EQ(e.out.find("dynamic"), std::string::npos) << e.out;
}

TEST(binary_image, a_binary_that_is_not_a_program_is_refused_with_its_line) {
  const fs::path dir = fs::temp_directory_path() / ("flex-binary-profile-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const fs::path prof = dir / "not-a-program.yaml";
  std::ofstream(prof) << "name: not-a-program\nbinary:\n  path: /etc/hostname\ncompartments:\n"
                         "  - name: main\n    default: true\n    libraries: [binary]\n";
  command_result r = run(flexbuild().string() + " check --profile " + prof.string());
  EXPECT_NE(r.status, 0) << r.out;
  EXPECT_NE(r.out.find(prof.string() + ":3:9: error: /etc/hostname: not an ELF file"), std::string::npos) << r.out;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace flex::test
