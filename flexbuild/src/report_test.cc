// flexbuild report's read-back (report.h): hardening found in objects compiled here with and without each
// flag, the protections of executables linked here with and without them, and the report of a built
// image against what its image.json says.
#include "flex/build/report.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "flex/elf/elf.h"

namespace flex::build {
namespace {

namespace fs = std::filesystem;

// A function with a local array (the stack protector's reason), a fortifiable copy and an overflowable add.
constexpr const char *kSource = R"(
#include <string.h>
int sink(char *);
__attribute__((noinline)) int work(const char *s, int a, int b) {
  char buf[64];
  memcpy(buf, s, strlen(s) + 1);
  sink(buf);
  return a + b;
}
int main(int argc, char **argv) { return work(argv[argc - 1], argc, 2); }
__attribute__((weak)) int sink(char *p) { return p[0]; }  /* weak: its body proves nothing */
)";

class report_readback : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (std::system("clang-19 --version >/dev/null 2>&1") != 0) return;
    char tmpl[] = "/tmp/flex_report_XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    std::ofstream(dir_ + "/a.c") << kSource;
  }
  static void TearDownTestSuite() {
    if (!dir_.empty()) fs::remove_all(dir_);
  }
  void SetUp() override {
    if (dir_.empty()) GTEST_SKIP() << "clang-19 not installed";
  }
  // Compiles a.c with `flags` (and links it when `link`); the output's path, or "" on failure.
  static std::string build(const std::string &name, const std::string &flags, bool link,
                           const std::string &source = "a.c") {
    const std::string out = dir_ + "/" + name;
    const std::string cmd =
        "clang-19 -O2 " + flags + (link ? " " : " -c ") + dir_ + "/" + source + " -o " + out + " 2>/dev/null";
    return std::system(cmd.c_str()) == 0 ? out : "";
  }
  static hardening_evidence scan(const std::string &flags) {
    static int n = 0;
    const std::string obj = build("h" + std::to_string(n++) + ".o", flags, false);
    EXPECT_FALSE(obj.empty()) << flags;
    std::string error;
    auto f = elf::file::open(obj, &error);
    EXPECT_TRUE(f.has_value()) << error;
    return f ? scan_hardening(*f) : hardening_evidence{};
  }
  static image_protections protections(const std::string &flags, const std::string &source = "a.c") {
    static int n = 0;
    const std::string exe = build("exe" + std::to_string(n++), flags, true, source);
    EXPECT_FALSE(exe.empty()) << flags;
    std::string error;
    auto f = elf::file::open(exe, &error);
    EXPECT_TRUE(f.has_value()) << error;
    return f ? scan_protections(*f) : image_protections{};
  }
  static inline std::string dir_;
};

TEST_F(report_readback, each_hardening_is_found_only_where_it_was_compiled_in) {
  const hardening_evidence none = scan("-fno-stack-protector -U_FORTIFY_SOURCE");
  EXPECT_FALSE(none.stack_protector || none.fortify || none.asan || none.ubsan);
  EXPECT_TRUE(scan("-fstack-protector-strong -U_FORTIFY_SOURCE").stack_protector);
  const hardening_evidence fortify = scan("-fno-stack-protector -D_FORTIFY_SOURCE=2");
  EXPECT_TRUE(fortify.fortify);
  EXPECT_FALSE(fortify.stack_protector);
  EXPECT_TRUE(scan("-fno-stack-protector -fsanitize=address").asan);
  const hardening_evidence ubsan = scan("-fno-stack-protector -fsanitize=undefined");
  EXPECT_TRUE(ubsan.ubsan);
  EXPECT_FALSE(ubsan.asan);
}

TEST_F(report_readback, image_protections_follow_the_link_flags) {
  const image_protections full = protections("-fPIE -pie -Wl,-z,relro,-z,now,-z,noexecstack");
  EXPECT_TRUE(full.pie);
  EXPECT_TRUE(full.nx);
  EXPECT_TRUE(full.relro);
  EXPECT_TRUE(full.bind_now);
  EXPECT_TRUE(full.w_xor_x);
  const image_protections weak = protections("-fno-PIE -no-pie -Wl,-z,norelro,-z,lazy,-z,execstack");
  EXPECT_FALSE(weak.pie);
  EXPECT_FALSE(weak.nx);
  EXPECT_FALSE(weak.relro);
  EXPECT_FALSE(weak.bind_now);
  // A linker script that makes one segment writable and executable.
  std::ofstream(dir_ + "/wx.ld") << "PHDRS { text PT_LOAD FLAGS(7); }\nSECTIONS { . = 0x400000; .text : { *(.text*) *(.data*) *(.bss*) } :text }\n";
  std::ofstream(dir_ + "/b.c") << "int start(void) { return 0; }\n";
  const image_protections wx = protections("-fno-PIE -no-pie -nostdlib -Wl,-e,start -Wl,-T," + dir_ + "/wx.ld", "b.c");
  EXPECT_FALSE(wx.w_xor_x);
}

TEST(report, a_missing_image_names_the_file_and_what_to_do) {
  std::string error;
  nlohmann::json r = image_report("/nonexistent/image", &error);
  EXPECT_TRUE(r.is_null());
  EXPECT_NE(error.find("/nonexistent/image/image.json"), std::string::npos) << error;
  EXPECT_NE(error.find("build the image first"), std::string::npos) << error;
}

}  // namespace
}  // namespace flex::build
