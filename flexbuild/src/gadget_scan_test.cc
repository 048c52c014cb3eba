// The WRPKRU/XRSTOR gadget scanner: raw bytes, objects assembled with clang-19, and an executable linked
// with the image linker script's gate section.
#include "flex/build/gadget_scan.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace flex::build {
namespace {

using bytes = std::vector<std::uint8_t>;

std::vector<gadget_hit> scan(const bytes &b, std::uint64_t base = 0, std::vector<byte_range> allowed = {}) {
  return scan_bytes(b, base, allowed);
}

TEST(gadget_scan, finds_each_kind) {
  struct planted {
    bytes code;
    gadget_kind kind;
    std::uint64_t offset;
    unsigned length;
  };
  const planted cases[] = {
      {{0x90, 0x0f, 0x01, 0xef, 0x90}, gadget_kind::wrpkru, 1, 3},           // wrpkru
      {{0x0f, 0xae, 0x28}, gadget_kind::xrstor, 0, 3},                       // xrstor (%rax)
      {{0x0f, 0xae, 0x6c, 0x24, 0x40}, gadget_kind::xrstor, 0, 3},           // xrstor 0x40(%rsp)
      {{0x0f, 0xae, 0xae, 0, 1, 0, 0}, gadget_kind::xrstor, 0, 3},           // xrstor 0x100(%rsi)
      {{0x48, 0x0f, 0xae, 0x2f}, gadget_kind::xrstor64, 0, 4},               // xrstor64 (%rdi)
      {{0x49, 0x0f, 0xae, 0x68, 0x08}, gadget_kind::xrstor64, 0, 4},         // xrstor64 8(%r8)
      {{0x0f, 0xc7, 0x1f}, gadget_kind::xrstors, 0, 3},                      // xrstors (%rdi)
      {{0x48, 0x0f, 0xc7, 0x5c, 0x24, 0x10}, gadget_kind::xrstors64, 0, 4},  // xrstors64 0x10(%rsp)
  };
  for (const planted &p : cases) {
    auto hits = scan(p.code, 0x1000);
    ASSERT_EQ(hits.size(), 1u) << to_string(p.kind);
    EXPECT_EQ(hits[0].kind, p.kind);
    EXPECT_EQ(hits[0].offset, p.offset);
    EXPECT_EQ(hits[0].address, 0x1000 + p.offset);
    EXPECT_EQ(hits[0].length, p.length);
  }
}

TEST(gadget_scan, hidden_inside_an_immediate) {
  // mov $0xef010f, %eax = b8 0f 01 ef 00: a harmless instruction whose immediate is a WRPKRU at offset 1.
  auto hits = scan({0xb8, 0x0f, 0x01, 0xef, 0x00, 0xc3});
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].kind, gadget_kind::wrpkru);
  EXPECT_EQ(hits[0].offset, 1u);
}

TEST(gadget_scan, look_alikes_are_not_gadgets) {
  EXPECT_TRUE(scan({0x0f, 0xae, 0xe8}).empty());  // lfence (0F AE /5, mod 3)
  EXPECT_TRUE(scan({0x0f, 0xae, 0x20}).empty());  // xsave (%rax) (/4)
  EXPECT_TRUE(scan({0x0f, 0xae, 0x08}).empty());  // fxrstor (%rax) (/1)
  EXPECT_TRUE(scan({0x0f, 0xae, 0x10}).empty());  // ldmxcsr (%rax) (/2)
  EXPECT_TRUE(scan({0x0f, 0xc7, 0x08}).empty());  // cmpxchg8b (%rax) (/1)
  EXPECT_TRUE(scan({0x0f, 0xc7, 0xf0}).empty());  // rdrand %eax (/6, mod 3)
  EXPECT_TRUE(scan({0x0f, 0xc7, 0xd8}).empty());  // /3 with mod 3: no instruction
  EXPECT_TRUE(scan({0x0f, 0x01, 0xee}).empty());  // rdpkru: reading is harmless
  EXPECT_TRUE(scan({0x0f, 0x01}).empty());        // truncated at the end
  EXPECT_TRUE(scan({}).empty());
}

TEST(gadget_scan, every_offset_including_overlaps) {
  // 0F 0F 01 EF 0F AE 2F: a WRPKRU at 1 and an XRSTOR at 4.
  auto hits = scan({0x0f, 0x0f, 0x01, 0xef, 0x0f, 0xae, 0x2f});
  ASSERT_EQ(hits.size(), 2u);
  EXPECT_EQ(hits[0].offset, 1u);
  EXPECT_EQ(hits[1].offset, 4u);
  EXPECT_EQ(hits[1].kind, gadget_kind::xrstor);
}

TEST(gadget_scan, allowed_ranges_hold_whole_hits_only) {
  bytes code = {0x0f, 0x01, 0xef, 0x90, 0x0f, 0x01, 0xef};  // at 0x100 and 0x104
  EXPECT_TRUE(scan(code, 0x100, {{0x100, 0x107}}).empty());
  auto hits = scan(code, 0x100, {{0x100, 0x103}});
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].address, 0x104u);
  hits = scan(code, 0x100, {{0x100, 0x106}});  // the second straddles the end of the range: reported
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].address, 0x104u);
}

TEST(gadget_scan, elf_errors_are_messages) {
  std::vector<gadget_hit> hits;
  bytes junk(100, 0x41);
  EXPECT_EQ(scan_elf(junk, hits).value_or(""), "not an ELF file");
  bytes truncated = {0x7f, 'E', 'L', 'F', 2, 1, 1};
  EXPECT_EQ(scan_elf(truncated, hits).value_or(""), "not an ELF file");
  EXPECT_NE(scan_elf_file("/nonexistent/file", hits).value_or("").find("cannot open"), std::string::npos);
  EXPECT_TRUE(hits.empty());
}

// ---- Real objects --------------------------------------------------------------------------------------

class compiled : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::system("clang-19 --version >/dev/null 2>&1") != 0) GTEST_SKIP() << "clang-19 not installed";
    char tmpl[] = "/tmp/flex_gadget_XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }
  std::string write(const std::string &name, const std::string &text) {
    std::string path = dir_ + "/" + name;
    std::ofstream(path) << text;
    return path;
  }
  bool run(const std::string &cmd) { return std::system((cmd + " 2>" + dir_ + "/err.txt").c_str()) == 0; }
  std::string dir_;
};

// Gates in .text.flex_gates (allowed), one aligned WRPKRU and two hidden gadgets in .text.
constexpr const char *kPlanted = R"(
  .section .text.flex_gates,"ax",@progbits
  .globl gate
gate:
  xor %ecx, %ecx
  xor %edx, %edx
  mov $0x55555550, %eax
  wrpkru
  cmp $0x55555550, %eax
  jne gate
  ret

  .text
  .globl _start
_start:
  mov $0xef010f, %eax
  add $0x2fae0f00, %ebx
  wrpkru
  call gate
  ret
)";

TEST_F(compiled, object_file_sections) {
  std::string obj = dir_ + "/planted.o";
  ASSERT_TRUE(run("clang-19 -c -o " + obj + " " + write("planted.s", kPlanted)));
  std::vector<gadget_hit> hits;
  ASSERT_FALSE(scan_elf_file(obj, hits));
  ASSERT_EQ(hits.size(), 3u);
  // mov $0xef010f,%eax (b8 0f 01 ef 00): WRPKRU at .text+1.
  EXPECT_EQ(hits[0].kind, gadget_kind::wrpkru);
  EXPECT_EQ(hits[0].address, 1u);
  EXPECT_EQ(hits[0].where, ".text");
  // add $0x2fae0f00,%ebx (81 c3 00 0f ae 2f): XRSTOR (%rdi) at .text+8.
  EXPECT_EQ(hits[1].kind, gadget_kind::xrstor);
  EXPECT_EQ(hits[1].address, 8u);
  EXPECT_EQ(hits[2].kind, gadget_kind::wrpkru);
  EXPECT_EQ(hits[2].address, 11u);
  // With no allowed section, the gate's own WRPKRU shows too.
  hits.clear();
  ASSERT_FALSE(scan_elf_file(obj, hits, elf_scan_options{{}}));
  EXPECT_EQ(hits.size(), 4u);
}

TEST_F(compiled, clean_code_has_no_hits) {
  std::string obj = dir_ + "/clean.o";
  std::string c =
      "int f(int *a, int n) { int s = 0; for (int i = 0; i < n; ++i) s += a[i] * 3; return s; }\n"
      "long g(long x) { return x * 0x1234567 + 42; }\n";
  ASSERT_TRUE(run("clang-19 -O2 -c -x c -o " + obj + " " + write("clean.c", c)));
  std::vector<gadget_hit> hits;
  ASSERT_FALSE(scan_elf_file(obj, hits));
  EXPECT_TRUE(hits.empty());
}

TEST_F(compiled, linked_executable_with_the_gate_section) {
  // What the image linker script does: collect .text.flex_gates into .flex.gates.text.
  std::string script =
      write("gates.ld", "SECTIONS { .flex.gates.text : { *(.text.flex_gates) } } INSERT AFTER .text;\n");
  std::string exe = dir_ + "/planted";
  std::string obj = dir_ + "/planted.o";
  ASSERT_TRUE(run("clang-19 -c -o " + obj + " " + write("planted.s", kPlanted)));
  ASSERT_TRUE(run("clang-19 -nostdlib -static -fuse-ld=lld -Wl,-T," + script + " -o " + exe + " " + obj));
  std::vector<gadget_hit> hits;
  ASSERT_FALSE(scan_elf_file(exe, hits));
  ASSERT_EQ(hits.size(), 3u);
  for (const gadget_hit &h : hits) EXPECT_EQ(h.where, ".text");
  EXPECT_EQ(hits[1].address - hits[0].address, 7u);
  EXPECT_GT(hits[0].offset, 0u);
  // Without the allowance, the gate's WRPKRU is found in .flex.gates.text.
  hits.clear();
  ASSERT_FALSE(scan_elf_file(exe, hits, elf_scan_options{{}}));
  ASSERT_EQ(hits.size(), 4u);
  int in_gates = 0;
  for (const gadget_hit &h : hits) in_gates += h.where == ".flex.gates.text";
  EXPECT_EQ(in_gates, 1);
}

// The runtime's own gates, linked into a real binary (the mpk backend's test, built with this tree): the
// scanner sees every byte offset, so it must find exactly the WRPKRUs the disassembler finds, and no
// XRSTOR anywhere.
TEST(gadget_scan, the_runtime_test_binary_has_only_its_gates_wrpkrus) {
  const std::string bin = FLEX_BINARY_DIR "/tests/runtime_mpk_test";
  if (!std::filesystem::exists(bin)) GTEST_SKIP() << bin << " not built";
  FILE *p = ::popen(("llvm-objdump-19 -d --no-show-raw-insn " + bin + " 2>/dev/null").c_str(), "r");
  ASSERT_NE(p, nullptr);
  int disassembled = 0;
  char line[1024];
  while (std::fgets(line, sizeof line, p)) {
    if (std::string(line).find("\twrpkru") != std::string::npos) ++disassembled;
  }
  const int status = ::pclose(p);
  if (status != 0) GTEST_SKIP() << "llvm-objdump-19 not usable (status " << status << ")";
  ASSERT_GE(disassembled, 4) << "the binary's hardware gates";
  std::vector<gadget_hit> hits;
  ASSERT_FALSE(scan_elf_file(bin, hits));
  std::string unexpected;
  for (const gadget_hit &h : hits) {
    if (h.kind != gadget_kind::wrpkru) unexpected += std::string(to_string(h.kind)) + " in " + h.where + "; ";
  }
  EXPECT_EQ(unexpected, "");
  EXPECT_EQ(static_cast<int>(hits.size()), disassembled);
}

}  // namespace
}  // namespace flex::build
