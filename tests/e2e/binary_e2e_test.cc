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

// A dynamic program under enforce: linked at boot (its interpreter reads libc from the host's library
// directories through descriptors of its own, maps it, and runs to the program's entry before the
// lockdown), then run after it.
TEST(binary_image, a_dynamic_program_is_linked_at_boot_and_runs_under_enforce) {
  if (!fs::exists("/bin/echo")) GTEST_SKIP() << "coreutils is not installed";
  const fs::path fixtures = source_dir() / "tests" / "e2e" / "fixtures" / "binary";
  command_result b = build_test_image(fixtures / "echo-dyn.yaml", "echo-dyn", source_dir());
  ASSERT_EQ(b.status, 0) << b.out;
  command_result r = run(test_image("echo-dyn").string() + " echo");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("dynamic echo"), std::string::npos) << r.out;
  command_result d = run(test_image("echo-dyn").string() + " --describe");
  EXPECT_NE(d.out.find("lockdown: enforce"), std::string::npos) << d.out;
}

// A program whose library lies outside the host's library directories: its interpreter cannot open it,
// says so, and the image refuses at boot, naming the program, before the app starts.
TEST(binary_image, a_library_outside_the_hosts_library_directories_is_refused_at_boot) {
  const fs::path dir = fs::temp_directory_path() / ("flex-binary-lib-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  write(dir / "gone.c", "int gone(void) { return 7; }\n");
  write(dir / "main.c", "int gone(void);\nint main(void) { return gone(); }\n");
  const std::string cc = llvm_tool("clang");
  command_result lib = run(cc + " -shared -fPIC -o " + (dir / "libgone.so").string() + " " + (dir / "gone.c").string());
  ASSERT_EQ(lib.status, 0) << lib.out;
  command_result prog = run(cc + " -o " + (dir / "uses-gone").string() + " " + (dir / "main.c").string() + " -L" +
                            dir.string() + " -lgone -Wl,-rpath," + dir.string());
  ASSERT_EQ(prog.status, 0) << prog.out;
  ASSERT_EQ(run((dir / "uses-gone").string()).status, 7) << "natively it finds its library through its rpath";
  write(dir / "uses-gone.yaml", "name: uses-gone\nbinary: " + (dir / "uses-gone").string() +
                                    "\ncompartments:\n  - name: main\n    default: true\n    libraries: [binary]\n");
  command_result b = build_test_image(dir / "uses-gone.yaml", "uses-gone", source_dir());
  ASSERT_EQ(b.status, 0) << b.out;
  command_result r = run(test_image("uses-gone").string());
  EXPECT_NE(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("libgone.so"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find((dir / "uses-gone").string() + ": its interpreter ended with status 127 before the program's "
                                                      "first instruction"),
            std::string::npos)
      << r.out;
  fs::remove_all(dir);
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
