// MPK domains and gates. Without PKU (this is most CI machines) everything but the WRPKRU itself is tested
// for real: PKRU values, key assignment, boot refusal, tagging plans, the gates' machine code (llvm-objdump),
// and the gates' logic executed with WRPKRU emulated (pkru_insn::emulated: a store of EAX to a TLS word,
// same instruction sequence otherwise): stack switches, callbacks, register clearing and the stack checks.
// Tests that need the hardware say "PKU not available: ..." and skip. What every gate backend promises
// (arguments and results, the callee's rights and stack, isolation, the ERIM check and the forged-stack
// check as refusals) is the gate conformance suite's (runtime/core/src/conformance.h), which runs both
// mpk gates on the hardware and emulated.
#include <dlfcn.h>
#include <link.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "flex/pku/gadgets.h"
#include "flex/runtime/fault.h"
#include "flex/runtime/mpk_gate.h"

namespace flex::runtime {
namespace {

// ---- PKRU values -------------------------------------------------------------------------------------

static_assert(pkru_for(1, 2) == 0xfffffec0u);  // key 4 (the system-call key): write-disabled only
static_assert(pkru_for(1, 3) == 0xfffffb30u);
static_assert(pkru_can_read(pkru_for(1, 3), 5) && !pkru_can_write(pkru_for(1, 3), 5));
static_assert(pkru_for(14, 15) == 0x0ffffffcu);
static_assert(pkru_can_read(pkru_for(3, 4), 0) && pkru_can_write(pkru_for(3, 4), 3));
static_assert(!pkru_can_read(pkru_for(3, 4), 5));

TEST(pkru, every_key_shared_key_and_extra_set) {
  // Exhaustive: each (own key, shared key, extra key set) and each key's two bits.
  for (int key = 1; key < kPkeyCount; ++key) {
    for (int shared = 1; shared < kPkeyCount; ++shared) {
      for (std::uint32_t also = 0; also < (1u << kPkeyCount); also += (key == 1 && shared == 2) ? 1 : 4093) {
        std::uint32_t v = pkru_for(key, shared, static_cast<std::uint16_t>(also));
        for (int k = 0; k < kPkeyCount; ++k) {
          bool open = k == 0 || k == key || k == shared || ((also >> k) & 1u);
          bool read_only = !open && k == shared + 2;
          std::uint32_t bits = (v >> (2 * k)) & 3u;
          ASSERT_EQ(bits, open ? 0u : read_only ? 2u : 3u)
              << "key " << key << " shared " << shared << " also " << also << " k " << k;
          ASSERT_EQ(pkru_can_read(v, k), open || read_only);
          ASSERT_EQ(pkru_can_write(v, k), open);
        }
      }
    }
  }
}

static_assert(pkru_can_read(2u << 10, 5) && !pkru_can_write(2u << 10, 5));  // WD alone: read-only

// ---- Key assignment ----------------------------------------------------------------------------------

mpk_plan plan_of(std::vector<int> iso) {
  mpk_plan p;
  EXPECT_TRUE(plan_mpk(iso.data(), static_cast<unsigned>(iso.size()), p));
  return p;
}

TEST(plan, consecutive_keys_in_profile_order_and_none_for_process_compartments) {
  mpk_plan p = plan_of({FLEX_ISO_MPK, FLEX_ISO_PROCESS, FLEX_ISO_MPK, FLEX_ISO_MPK});
  EXPECT_EQ(p.n_domains, 3u);
  EXPECT_EQ(p.shared_key, 4);
  const unsigned compartment[] = {0, 2, 3};
  for (unsigned i = 0; i < 3; ++i) {
    EXPECT_EQ(p.domains[i].compartment, compartment[i]);
    EXPECT_EQ(p.domains[i].key, static_cast<int>(i) + 1);
    EXPECT_EQ(p.domains[i].pkru, pkru_for(static_cast<int>(i) + 1, 4));
  }
  EXPECT_EQ(p.key_of(1), 0);
  EXPECT_EQ(p.key_of(3), 3);
  EXPECT_EQ(plan_of({FLEX_ISO_NONE, FLEX_ISO_PROCESS}).n_domains, 0u);  // no mpk: no domains, no keys
}

TEST(plan, is_a_build_time_constant) {
  static constexpr int iso[] = {FLEX_ISO_PROCESS, FLEX_ISO_MPK, FLEX_ISO_NONE};
  constexpr mpk_plan p = [] {
    mpk_plan out;
    plan_mpk(iso, 3, out);
    return out;
  }();
  static_assert(p.n_domains == 2 && p.shared_key == 3 && p.domains[0].compartment == 1);
  static_assert(p.domains[1].pkru == pkru_for(2, 3, 1u << 2));
}

TEST(plan, none_domains_open_each_other_but_not_mpk_ones) {
  mpk_plan p = plan_of({FLEX_ISO_NONE, FLEX_ISO_MPK, FLEX_ISO_NONE});
  std::uint16_t none = (1u << 1) | (1u << 3);
  EXPECT_EQ(p.domains[0].pkru, pkru_for(1, 4, none));
  EXPECT_EQ(p.domains[2].pkru, pkru_for(3, 4, none));
  EXPECT_EQ(p.domains[1].pkru, pkru_for(2, 4));
  EXPECT_FALSE(pkru_can_read(p.domains[1].pkru, 1));
  EXPECT_FALSE(pkru_can_read(p.domains[0].pkru, 2));
}

TEST(plan, twelve_fit_thirteen_do_not) {
  std::vector<int> iso(13, FLEX_ISO_MPK);
  mpk_plan p;
  EXPECT_TRUE(plan_mpk(iso.data(), 12, p));
  EXPECT_EQ(p.shared_key, 13);
  EXPECT_EQ(runtime_key_for(p.n_domains), 14);  // no domain's PKRU opens it
  EXPECT_EQ(syscall_key_for(p.n_domains), 15);  // every domain's PKRU reads it, none writes it
  for (unsigned i = 0; i < p.n_domains; ++i) {
    EXPECT_FALSE(pkru_can_read(p.domains[i].pkru, 14));
    EXPECT_TRUE(pkru_can_read(p.domains[i].pkru, 15));
    EXPECT_FALSE(pkru_can_write(p.domains[i].pkru, 15));
  }
  EXPECT_FALSE(plan_mpk(iso.data(), 13, p));
  iso[3] = FLEX_ISO_PROCESS;
  EXPECT_TRUE(plan_mpk(iso.data(), 13, p));
}

// An image without sections, as flexbuild's generated table would describe it.
struct test_image {
  const char *const none[1] = {nullptr};
  flex_compartment_layout comps[16] = {};
  flex_image_layout img = {"test", "app", "test.yaml", "dss", "full", 0, comps, 0, nullptr, {}, {}, FLEX_LOCKDOWN_OFF};
  explicit test_image(std::vector<int> iso) {
    static const char *const kNames[] = {"app", "net", "core", "c3",  "c4",  "c5",  "c6",  "c7",
                                         "c8",  "c9",  "c10",  "c11", "c12", "c13", "c14", "c15"};
    for (unsigned i = 0; i < iso.size(); ++i) comps[i] = {kNames[i], iso[i], 0, "", none, none, 1, {}, 0, nullptr, 0, 0, nullptr, nullptr};
    img.n_compartments = static_cast<unsigned>(iso.size());
  }
};

TEST(plan, from_a_layout) {
  mpk_plan p;
  ASSERT_TRUE(plan_mpk(test_image({FLEX_ISO_MPK, FLEX_ISO_PROCESS, FLEX_ISO_MPK}).img, p).ok());
  EXPECT_EQ(p.key_of(2), 2);
  status err = plan_mpk(test_image(std::vector<int>(15, FLEX_ISO_MPK)).img, p);
  ASSERT_FALSE(err.ok());
  EXPECT_NE(err.message().find("puts 15 compartments in one address space"), std::string::npos) << err.message();
}

// ---- PKU detection and boot refusal ------------------------------------------------------------------

TEST(pku, reasons) {
  EXPECT_NE(pku_status_from(6, 0, 0).reason.find("CPUID leaf 7"), std::string::npos);
  EXPECT_NE(pku_status_from(7, 0, 0).reason.find("PKU[bit 3] = 0"), std::string::npos);
  EXPECT_NE(pku_status_from(7, 1u << 3, 0).reason.find("OSPKE[bit 4] = 0"), std::string::npos);
  pku_support no_keys = pku_status_from(7, 0x18, ENOSPC);
  EXPECT_FALSE(no_keys.available);
  EXPECT_NE(no_keys.reason.find("every key is already allocated"), std::string::npos);
  EXPECT_TRUE(pku_status_from(7, 0x18, 0).available);
  EXPECT_TRUE(pku_status_from(7, 0x18, 0).reason.empty());
}

TEST(pku, this_machine_agrees_with_cpuinfo) {
  FILE *f = std::fopen("/proc/cpuinfo", "r");
  if (!f) GTEST_SKIP() << "no /proc/cpuinfo";
  char line[8192];
  bool ospke = false;
  while (std::fgets(line, sizeof line, f)) {
    if (std::strncmp(line, "flags", 5) == 0) {
      ospke = std::strstr(line, " ospke") != nullptr;
      break;
    }
  }
  std::fclose(f);
  const pku_support &s = pku_status();
  if (!ospke) EXPECT_FALSE(s.available);
  EXPECT_EQ(s.available, s.reason.empty()) << s.reason;
}

TEST(boot, refuses_to_run_mpk_compartments_unprotected) {
  if (pku_status().available) GTEST_SKIP() << "PKU is available here: boot would succeed";
  test_image t({FLEX_ISO_MPK, FLEX_ISO_MPK});
  const status st = mpk_boot(t.img);
  ASSERT_FALSE(st.ok());
  const std::string &err = st.message();
  EXPECT_NE(err.find("image 'test' isolates compartments with Intel MPK (app, net)"), std::string::npos) << err;
  EXPECT_NE(err.find(pku_status().reason), std::string::npos) << err;
  EXPECT_NE(err.find("Refusing to run them unprotected"), std::string::npos) << err;
  EXPECT_EQ(mpk_booted_plan().n_domains, 0u);
}

TEST(boot, images_without_mpk_boot_as_a_no_op) {
  test_image t({FLEX_ISO_NONE, FLEX_ISO_PROCESS});
  const status st = mpk_boot(t.img);
  EXPECT_TRUE(st.ok()) << st.message();
}

// ---- Tagging plans -----------------------------------------------------------------------------------

TEST(tagging, keeps_each_mappings_protection) {
  std::string maps =
      "1000-3000 r--p 00000000 00:00 0 /img\n"
      "3000-5000 rw-p 00000000 00:00 0 /img\n"
      "5000-6000 rw-p 00000000 00:00 0\n"
      "6000-7000 r-xp 00000000 00:00 0 /img\n";
  std::vector<tag_piece> pieces;
  ASSERT_TRUE(plan_tagging(maps, 0x2000, 0x6000, pieces).ok());
  ASSERT_EQ(pieces.size(), 2u);
  EXPECT_EQ(pieces[0].begin, 0x2000u);
  EXPECT_EQ(pieces[0].end, 0x3000u);
  EXPECT_EQ(pieces[0].prot, PROT_READ);
  EXPECT_EQ(pieces[1].begin, 0x3000u);  // two adjacent rw- mappings become one piece
  EXPECT_EQ(pieces[1].end, 0x6000u);
  EXPECT_EQ(pieces[1].prot, PROT_READ | PROT_WRITE);
}

TEST(tagging, holes_and_misalignment_are_errors) {
  std::string maps = "1000-2000 rw-p 0 00:00 0\n3000-4000 rw-p 0 00:00 0\n";
  std::vector<tag_piece> pieces;
  status hole = plan_tagging(maps, 0x1000, 0x4000, pieces);
  ASSERT_FALSE(hole.ok());
  EXPECT_NE(hole.message().find("0x2000-0x4000 is not mapped"), std::string::npos) << hole.message();
  EXPECT_FALSE(plan_tagging(maps, 0x1001, 0x2000, pieces).ok());
  EXPECT_TRUE(plan_tagging(maps, 0x1000, 0x1000, pieces).ok());
  EXPECT_TRUE(pieces.empty());
}

TEST(tagging, this_process_maps) {
  // Plans (without applying) the tagging of a real mapping.
  long page = ::sysconf(_SC_PAGESIZE);
  void *p = ::mmap(nullptr, 3 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(p, MAP_FAILED);
  ASSERT_EQ(::mprotect(static_cast<char *>(p) + page, page, PROT_READ), 0);
  FILE *f = std::fopen("/proc/self/maps", "r");
  std::string maps;
  char buf[4096];
  while (std::size_t n = std::fread(buf, 1, sizeof buf, f)) maps.append(buf, n);
  std::fclose(f);
  std::vector<tag_piece> pieces;
  auto b = reinterpret_cast<std::uintptr_t>(p);
  ASSERT_TRUE(plan_tagging(maps, b, b + 3 * page, pieces).ok());
  ASSERT_EQ(pieces.size(), 3u);
  EXPECT_EQ(pieces[1].prot, PROT_READ);
  EXPECT_EQ(pieces[2].prot, PROT_READ | PROT_WRITE);
  ::munmap(p, 3 * page);
}

// ---- Emulated gates: the gate code, executed -----------------------------------------------------

constexpr std::uint32_t kP1 = pkru_for(1, 4), kP2 = pkru_for(2, 4);
using light_to_1 = mpk_light<kPkruRuntime, kP1, pkru_insn::emulated>;
using full_to_1 = mpk_full<kPkruRuntime, kP1, 0, pkru_insn::emulated>;
using full_1_to_2 = mpk_full<kP1, kP2, 1, pkru_insn::emulated>;
using full_2_to_1 = mpk_full<kP2, kP1, 0, pkru_insn::emulated>;

std::uintptr_t current_sp() {
  return reinterpret_cast<std::uintptr_t>(__builtin_frame_address(0));
}
}  // namespace
}  // namespace flex::runtime
extern "C" std::uint64_t flex_mpk_stack_alloc(unsigned key, unsigned emulated);
namespace flex::runtime {
namespace {
// This thread's stack slot of `key` (mpk_impl.h), the thread given a block first if it has none (as a
// gate's first entry would).
std::uint64_t &slot_of(unsigned key) {
  if (!flex_mpk_thread.block) (void)flex_mpk_stack_alloc(1, 1);
  return *detail::mpk_slot(key);
}
// A slot as a full gate's entry leaves it: the caller's stack pointer, tagged with the callee's key.
std::uint64_t tagged(std::uint64_t sp, unsigned callee_key) {
  return sp | (std::uint64_t{callee_key} << detail::kMpkSlotTagShift);
}
class emulated : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::emulate_mpk(3);
    testing::set_emulated_pkru(kPkruRuntime);
  }
};

// Callbacks: 1 -> 2 -> 1 -> 2 ... each re-entry into a domain starts below its live frames.
struct activation {
  std::uintptr_t sp;
  std::uint32_t pkru;
};
std::vector<activation> g_trace;
word in_2(word depth, word, word, word, word, word);
word in_1(word depth, word, word, word, word, word) {
  g_trace.push_back({current_sp(), testing::emulated_pkru()});
  if (depth == 0) return 1;
  return 1 + gate<full_1_to_2>::call_erased({}, nullptr, &in_2, call_args{{depth}});
}
word in_2(word depth, word, word, word, word, word) {
  g_trace.push_back({current_sp(), testing::emulated_pkru()});
  return 1 + gate<full_2_to_1>::call_erased({}, nullptr, &in_1, call_args{{depth - 1}});
}

TEST_F(emulated, callbacks_nest_below_live_frames) {
  g_trace.clear();
  g_trace.reserve(64);
  word n = gate<full_to_1>::call_erased({}, nullptr, &in_1, call_args{{10}});
  EXPECT_EQ(n, 21u);
  ASSERT_EQ(g_trace.size(), 21u);
  mpk_stack_range s1 = mpk_thread_stack(1), s2 = mpk_thread_stack(2);
  for (std::size_t i = 0; i < g_trace.size(); ++i) {
    bool in_one = i % 2 == 0;
    const mpk_stack_range &s = in_one ? s1 : s2;
    EXPECT_GE(g_trace[i].sp, s.lo) << i;
    EXPECT_LT(g_trace[i].sp, s.hi) << i;
    EXPECT_EQ(g_trace[i].pkru, in_one ? kP1 : kP2) << i;
    if (i >= 2) EXPECT_LT(g_trace[i].sp, g_trace[i - 2].sp) << "activation " << i << " overlaps a live frame";
  }
  EXPECT_EQ(testing::emulated_pkru(), kPkruRuntime);
  EXPECT_EQ(flex_mpk_thread.cur, 0u);
  // Every slot is back to what the first entry found (0: the top of the stack), the runtime's included.
  EXPECT_EQ(slot_of(0), 0u);
  EXPECT_EQ(slot_of(1), 0u);
  EXPECT_EQ(slot_of(2), 0u);
}

word touch_dss(word, word, word, word, word, word) {
  volatile int local = 1;
  auto *mirror = reinterpret_cast<volatile int *>(reinterpret_cast<std::uintptr_t>(&local) + kMpkDssOffset);
  *mirror = 7;  // the DSS mirror is mapped (shared key on PKU machines)
  mpk_stack_range s = mpk_thread_stack(1);
  auto a = reinterpret_cast<std::uintptr_t>(mirror);
  return a >= s.lo + kMpkDssOffset && a < s.hi + kMpkDssOffset && *mirror == 7 && local == 1;
}

TEST_F(emulated, dss_mirror_at_a_fixed_offset) {
  EXPECT_EQ(gate<full_to_1>::call_erased({}, nullptr, &touch_dss, {}), 1u);
}

TEST_F(emulated, guard_pages_below_and_above_each_stack) {
  (void)gate<full_to_1>::call_erased({}, nullptr, &touch_dss, {});
  mpk_stack_range s = mpk_thread_stack(1);
  EXPECT_EXIT(*reinterpret_cast<volatile char *>(s.lo - 1) = 1, ::testing::KilledBySignal(SIGSEGV), "");
  EXPECT_EXIT(*reinterpret_cast<volatile char *>(s.hi) = 1, ::testing::KilledBySignal(SIGSEGV), "");
}

word where_am_i(word, word, word, word, word, word) {
  return mpk_thread_stack(1).lo;
}

TEST_F(emulated, each_thread_has_its_own_stack_and_blocks_are_recycled) {
  word mine = gate<full_to_1>::call_erased({}, nullptr, &where_am_i, {});
  word first = 0, second = 0;
  std::thread([&] { first = gate<full_to_1>::call_erased({}, nullptr, &where_am_i, {}); }).join();
  std::thread([&] { second = gate<full_to_1>::call_erased({}, nullptr, &where_am_i, {}); }).join();
  EXPECT_NE(first, 0u);
  EXPECT_NE(first, mine);
  EXPECT_EQ(first, second);  // the first thread's block went back at its exit
}

// ---- The checks that end the process -------------------------------------------------------------------
// (A WRPKRU reached with another EAX and a forged callee stack: the conformance suite's refusals.)

// Emulated, a callee may write its caller's slot (there are no keys; on PKU hardware the slot page is the
// caller's, so the write itself faults: hardware.a_domain_cannot_write_another_domains_stack_slot).
word forge_callers_stack(word, word, word, word, word, word) {
  slot_of(1) = tagged(0x1000, 2);  // the callee rewrites where its caller (domain 1) will resume
  return 0;
}
word call_forger(word, word, word, word, word, word) {
  return gate<full_1_to_2>::call_erased({}, nullptr, &forge_callers_stack, {});
}

TEST_F(emulated, a_forged_return_stack_ends_the_process) {
  EXPECT_EXIT(gate<full_to_1>::call_erased({}, nullptr, &call_forger, {}),
              ::testing::ExitedWithCode(kGateViolationExitCode), "outside its domain's stack arena");
}

// Domain 1 calls domain 2 and domain 3 calls back into 1 meanwhile (1 -> 2 -> ... -> 3 -> 1 would do the
// same); here domain 2, while 1 waits on it, returns through a gate from 1 to 3 (a jump onto that gate's
// way back): 1's slot names a call to 2, so the way back refuses to resume it.
word return_as_3(word, word, word, word, word, word);
word five(word, word, word, word, word, word) {
  return 5;
}
word call_2_for_five(word, word, word, word, word, word) {
  return gate<full_1_to_2>::call_erased({}, nullptr, &five, {});
}
word call_2_then_wait(word, word, word, word, word, word) {
  return gate<full_1_to_2>::call_erased({}, nullptr, &return_as_3, {});
}
using full_1_to_3 = mpk_full<kP1, pkru_for(3, 4), 2, pkru_insn::emulated>;
extern "C" void flex_test_jump_onto_full_return(const void *at, unsigned long key);
const void *nth_switch_point(const void *entry, int n);
word return_as_3(word, word, word, word, word, word) {
  const void *back = nth_switch_point(reinterpret_cast<const void *>(full_1_to_3::entry()), 1);
  if (!back) std::_Exit(3);
  flex_test_jump_onto_full_return(back, 1);
  return 0;
}
TEST_F(emulated, a_gates_way_back_resumes_only_a_call_to_its_own_callee) {
  EXPECT_EXIT(gate<full_to_1>::call_erased({}, nullptr, &call_2_then_wait, {}),
              ::testing::ExitedWithCode(kGateViolationExitCode), "found its caller waiting on another callee");
  // The control: 1's call to 2 comes back through 1 -> 2's own way back.
  EXPECT_EQ(gate<full_to_1>::call_erased({}, nullptr, &call_2_for_five, {}), 5u);
}

TEST_F(emulated, hardware_gates_refuse_to_run_before_boot) {
  using hw = mpk_full<kPkruRuntime, kP1, 0>;
  EXPECT_EXIT(
      {
        flex_mpk_thread = {};
        gate<hw>::call_erased({}, nullptr, &where_am_i, {});
      },
      ::testing::KilledBySignal(SIGABRT), "before mpk_boot");
}

TEST(runtime_page, is_read_only_once_locked) {
  EXPECT_EXIT(
      {
        detail::mpk_lock_runtime();
        *reinterpret_cast<volatile std::uint32_t *>(&flex_mpk_runtime.mode) = detail::kModeHardware;
      },
      ::testing::KilledBySignal(SIGSEGV), "");
}

}  // namespace
}  // namespace flex::runtime

// ---- Register harness (assembly) -----------------------------------------------------------------------
// flex_test_call(a0..a5) fills callee-saved and vector registers with sentinels and calls
// flex_test_entry(a0..a5, flex_test_target); flex_test_probe records what the callee sees; flex_test_dirty
// returns with sentinels in every scratch register, all vector bits set and DF set. flex_test_out holds
// what the caller sees after the gate returns.
extern "C" {
struct reg_dump {
  std::uint64_t gpr[16];  // rax rbx rcx rdx rsi rdi rbp rsp r8..r15
  std::uint64_t rflags;
  std::uint8_t vec[32][64];
  std::uint64_t k[8];
};
static_assert(offsetof(reg_dump, vec) == 136 && offsetof(reg_dump, k) == 2184);
reg_dump flex_test_in, flex_test_out;
std::uint64_t flex_test_entry, flex_test_target;
std::uint8_t flex_test_avx512;
std::uint64_t flex_test_call(std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t, std::uint64_t,
                             std::uint64_t);
std::uint64_t flex_test_probe();
std::uint64_t flex_test_dirty();
}

asm(R"(
  .text
  .macro FLEX_TEST_DUMP_GPRS base
  .set flex_i, 0
  .irp r,rax,rbx,rcx,rdx,rsi,rdi,rbp,rsp,r8,r9,r10,r11,r12,r13,r14,r15
  mov %\r, \base+flex_i*8(%rip)
  .set flex_i, flex_i+1
  .endr
  pushf
  pop \base+128(%rip)
  .endm

flex_test_dump_vectors:  # rax: the dump; clobbers rcx
  cmpb $0, flex_test_avx512(%rip)
  je 1f
  .irp n,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
  vmovdqu64 %zmm\n, 136+\n*64(%rax)
  .endr
  .irp n,0,1,2,3,4,5,6,7
  kmovw %k\n, %ecx
  mov %rcx, 2184+\n*8(%rax)
  .endr
  ret
1:
  .irp n,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
  vmovdqu %ymm\n, 136+\n*64(%rax)
  .endr
  ret

flex_test_fill_vectors:
  cmpb $0, flex_test_avx512(%rip)
  je 1f
  .irp n,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
  vpternlogd $0xff, %zmm\n, %zmm\n, %zmm\n
  .endr
  .irp n,0,1,2,3,4,5,6,7
  kxnorw %k0, %k0, %k\n
  .endr
  ret
1:
  .irp n,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
  vpcmpeqd %ymm\n, %ymm\n, %ymm\n
  .endr
  ret

  .globl flex_test_probe
flex_test_probe:
  FLEX_TEST_DUMP_GPRS flex_test_in
  lea flex_test_in(%rip), %rax
  call flex_test_dump_vectors
  mov $0x600d, %eax
  ret

  .globl flex_test_dirty
flex_test_dirty:
  call flex_test_fill_vectors
  .irp r,rcx,rdx,rsi,rdi,r8,r9,r10,r11
  movabs $0x5e5e5e5e5e5e5e5e, %\r
  .endr
  mov $0xd1d1, %eax
  std
  ret

  .globl flex_test_call
flex_test_call:
  push %rbp
  push %rbx
  push %r12
  push %r13
  push %r14
  push %r15
  call flex_test_fill_vectors
  movabs $0xcafe000000000001, %rbx
  movabs $0xcafe000000000006, %rbp
  movabs $0xcafe00000000000c, %r12
  movabs $0xcafe00000000000d, %r13
  movabs $0xcafe00000000000e, %r14
  movabs $0xcafe00000000000f, %r15
  push flex_test_target(%rip)
  call *flex_test_entry(%rip)
  FLEX_TEST_DUMP_GPRS flex_test_out
  cld
  add $8, %rsp
  lea flex_test_out(%rip), %rax
  call flex_test_dump_vectors
  mov flex_test_out(%rip), %rax
  pop %r15
  pop %r14
  pop %r13
  pop %r12
  pop %rbx
  pop %rbp
  ret
)");

namespace flex::runtime {
namespace {

enum gpr { rax, rbx, rcx, rdx, rsi, rdi, rbp, rsp, r8, r9, r10, r11, r12, r13, r14, r15 };
// flex_test_call loads callee-saved register number r with 0xcafe...0r.
constexpr std::uint64_t sentinel(gpr r) {
  return 0xcafe000000000000 | r;
}
constexpr std::uint64_t kDirectionFlag = 1u << 10;

// Vector bytes that must be zero after a gate with these CPU flags (on this machine's registers).
std::string vectors_cleared(const reg_dump &d, std::uint32_t tier) {
  bool machine512 = flex_test_avx512 != 0;
  std::string err;
  for (int r = 0; r < 32; ++r) {
    int bytes = (tier & detail::kCpuAvx512) ? 64 : r >= 16 ? 0 : (tier & detail::kCpuAvx) ? 64 : 16;
    if (!machine512) bytes = r >= 16 ? 0 : std::min(bytes, 32);  // the dump holds ymm0-15 only
    for (int b = 0; b < bytes; ++b) {
      if (d.vec[r][b]) {
        err += "v" + std::to_string(r) + " not cleared; ";
        break;
      }
    }
  }
  if ((tier & detail::kCpuAvx512) && machine512) {
    for (int k = 0; k < 8; ++k) {
      if (d.k[k]) err += "k" + std::to_string(k) + " not cleared; ";
    }
  }
  return err;
}

// What the full gate promises about registers, in both directions; "" when kept.
std::string full_gate_register_promises(detail::mpk_entry_fn entry, int key, std::uint32_t tier) {
  std::string err;
  flex_test_avx512 = (detail::detect_cpu_flags() & detail::kCpuAvx512) ? 1 : 0;
  flex_test_entry = reinterpret_cast<std::uint64_t>(entry);
  flex_test_target = reinterpret_cast<std::uint64_t>(&flex_test_probe);
  if (flex_test_call(11, 12, 13, 14, 15, 16) != 0x600d) err += "probe result lost; ";
  const reg_dump &in = flex_test_in;
  const std::uint64_t args[] = {in.gpr[rdi], in.gpr[rsi], in.gpr[rdx], in.gpr[rcx], in.gpr[r8], in.gpr[r9]};
  for (int i = 0; i < 6; ++i) {
    if (args[i] != static_cast<std::uint64_t>(11 + i)) err += "argument " + std::to_string(i) + " lost; ";
  }
  for (gpr r : {rax, rbx, rbp, r10, r11, r12, r13, r14, r15}) {
    if (in.gpr[r]) err += "entry: register #" + std::to_string(r) + " not cleared; ";
  }
  if (in.rflags & kDirectionFlag) err += "entry: DF set; ";
  mpk_stack_range s = mpk_thread_stack(key);
  if (in.gpr[rsp] < s.lo || in.gpr[rsp] >= s.hi) err += "entry: not on the callee's stack; ";
  if ((in.gpr[rsp] + 8) % 16) err += "entry: stack misaligned; ";
  err += vectors_cleared(in, tier);

  flex_test_target = reinterpret_cast<std::uint64_t>(&flex_test_dirty);
  if (flex_test_call(1, 2, 3, 4, 5, 6) != 0xd1d1) err += "result lost; ";
  const reg_dump &out = flex_test_out;
  for (gpr r : {rcx, rdx, rsi, rdi, r8, r9, r10, r11}) {
    if (out.gpr[r]) err += "exit: register #" + std::to_string(r) + " not cleared; ";
  }
  for (gpr r : {rbx, rbp, r12, r13, r14, r15}) {
    if (out.gpr[r] != sentinel(r)) err += "exit: callee-saved register #" + std::to_string(r) + " lost; ";
  }
  if (out.rflags & kDirectionFlag) err += "exit: DF set; ";
  err += vectors_cleared(out, tier);
  return err;
}

TEST_F(emulated, full_gate_clears_registers_both_ways_at_every_cpu_tier) {
  std::uint32_t real = detail::detect_cpu_flags();
  for (std::uint32_t tier : {real, real & detail::kCpuAvx, 0u}) {
    flex_mpk_runtime.cpu_flags = tier;
    EXPECT_EQ(full_gate_register_promises(full_to_1::entry(), 1, tier), "") << "cpu tier " << tier;
  }
  flex_mpk_runtime.cpu_flags = real;
}

// What the light gate promises about registers: none cleared, the target carried in rbx; "" when kept.
std::string light_gate_register_promises(detail::mpk_entry_fn entry) {
  std::string err;
  flex_test_avx512 = (detail::detect_cpu_flags() & detail::kCpuAvx512) ? 1 : 0;
  flex_test_entry = reinterpret_cast<std::uint64_t>(entry);
  flex_test_target = reinterpret_cast<std::uint64_t>(&flex_test_probe);
  if (flex_test_call(1, 2, 3, 4, 5, 6) != 0x600d) err += "probe result lost; ";
  if (flex_test_in.gpr[rbx] != flex_test_target) err += "the target is not in rbx; ";
  if (flex_test_in.gpr[r12] != sentinel(r12)) err += "callee-saved r12 changed; ";
  if (flex_test_in.gpr[rcx] != 4u || flex_test_in.gpr[rdx] != 3u) err += "rcx/rdx arguments lost; ";
  return err;
}

TEST_F(emulated, light_gate_leaves_registers_alone) {
  EXPECT_EQ(light_gate_register_promises(light_to_1::entry()), "");
}

// ---- The gates' machine code ------------------------------------------------------------------------

struct insn {
  std::string section, function, mnemonic, operands, reloc;
};

// llvm-objdump-19 -d [-r] output, parsed without regexes (a test binary has ~10^5 instructions).
bool disassemble(const std::string &path, bool relocs, std::vector<insn> &out, std::string &err) {
  std::string cmd =
      "llvm-objdump-19 -d --no-show-raw-insn " + std::string(relocs ? "-r " : "") + "'" + path + "' 2>&1";
  FILE *p = ::popen(cmd.c_str(), "r");
  if (!p) return err = "cannot run llvm-objdump-19", false;
  std::string section, function;
  char line[4096];
  while (std::fgets(line, sizeof line, p)) {
    std::string l(line);
    while (!l.empty() && (l.back() == '\n' || l.back() == '\r')) l.pop_back();
    if (l.rfind("Disassembly of section ", 0) == 0) {
      section = l.substr(23, l.size() - 24);
    } else if (!l.empty() && l[0] != ' ' && l[0] != '\t' && l.back() == ':' &&
               l.find(" <") != std::string::npos) {
      function = l.substr(l.find(" <") + 2, l.size() - l.find(" <") - 4);
    } else if (l.find("R_X86_64_") != std::string::npos && !out.empty()) {
      out.back().reloc = l.substr(l.find("R_X86_64_"));
    } else if (std::size_t colon = l.find(':'); colon != std::string::npos && l[0] == ' ') {
      std::string rest = l.substr(colon + 1);  // "      \tmnemonic\toperands"
      rest.erase(0, rest.find_first_not_of(" \t"));
      std::size_t tab = rest.find('\t');
      insn i{section, function, rest.substr(0, tab), tab == std::string::npos ? "" : rest.substr(tab + 1),
             ""};
      if (std::size_t hash = i.operands.find("  #"); hash != std::string::npos) i.operands.resize(hash);
      while (!i.operands.empty() && i.operands.back() == ' ') i.operands.pop_back();
      out.push_back(std::move(i));
    }
  }
  int rc = ::pclose(p);
  if (rc != 0) return err = "llvm-objdump-19 failed on " + path, false;
  return true;
}

bool have_objdump() {
  return std::system("llvm-objdump-19 --version >/dev/null 2>&1") == 0;
}

// Each WRPKRU: xor ecx; xor edx; mov $imm, eax; WRPKRU; cmp $imm, eax; jne flex_mpk_gate_abort.
std::string wrpkru_discipline(const std::vector<insn> &code, bool linked, int &count) {
  std::string err;
  count = 0;
  for (std::size_t i = 3; i + 2 < code.size(); ++i) {
    if (code[i].mnemonic != "wrpkru") continue;
    ++count;
    std::string at = code[i].function + ": ";
    if (code[i].function.find("hardware") == std::string::npos)
      err += at + "WRPKRU outside a hardware gate; ";
    if (!linked && code[i].section != ".text.flex_gates")
      err += at + "WRPKRU in section " + code[i].section + "; ";
    if (code[i - 3].mnemonic + code[i - 3].operands != "xorl%ecx, %ecx") err += at + "ECX not zeroed; ";
    if (code[i - 2].mnemonic + code[i - 2].operands != "xorl%edx, %edx") err += at + "EDX not zeroed; ";
    const std::string &set = code[i - 1].operands;
    if (code[i - 1].mnemonic != "movl" || set.find(", %eax") == std::string::npos)
      err += at + "EAX not set; ";
    if (code[i + 1].mnemonic != "cmpl" || code[i + 1].operands != set)
      err += at + "no cmp of EAX with " + set + "; ";
    const insn &j = code[i + 2];
    bool to_abort = linked ? j.operands.find("<flex_mpk_gate_abort>") != std::string::npos
                           : j.reloc.find("flex_mpk_gate_abort") != std::string::npos;
    if (j.mnemonic != "jne" || !to_abort) err += at + "no jne to flex_mpk_gate_abort; ";
  }
  return err;
}

TEST(gate_code, every_wrpkru_in_the_library_is_checked_and_in_the_gate_section) {
  if (!have_objdump()) GTEST_SKIP() << "llvm-objdump-19 not installed";
  std::vector<insn> code;
  std::string err;
  ASSERT_TRUE(disassemble(FLEX_BINARY_DIR "/lib/libflex_runtime_mpk.a", true, code, err)) << err;
  int count = 0;
  EXPECT_EQ(wrpkru_discipline(code, false, count), "");
  // mpk_gates.cc: two light and two full hardware gates, two WRPKRUs each; mpk_signals.cc: the signal
  // entry and return, one each.
  EXPECT_EQ(count, 10);
}

TEST(gate_code, full_gates_clear_before_calling_the_target) {
  if (!have_objdump()) GTEST_SKIP() << "llvm-objdump-19 not installed";
  std::vector<insn> code;
  std::string err;
  ASSERT_TRUE(disassemble(FLEX_BINARY_DIR "/lib/libflex_runtime_mpk.a", true, code, err)) << err;
  int gates = 0;
  for (std::size_t i = 0; i < code.size(); ++i) {
    if (code[i].function.find("mpk_full_entry") == std::string::npos || code[i].mnemonic != "callq" ||
        code[i].operands != "*(%rsp)") {
      continue;
    }
    ++gates;
    std::string seen;
    for (std::size_t j = i - 11; j < i; ++j)
      seen += code[j].mnemonic + " " + code[j].operands + "|" + code[j].reloc + ";";
    for (const char *want : {"flex_mpk_clear_vectors", "xorl %eax, %eax", "xorl %r10d, %r10d",
                             "xorl %r11d, %r11d", "xorl %ebx, %ebx", "xorl %ebp, %ebp", "xorl %r12d, %r12d",
                             "xorl %r13d, %r13d", "xorl %r14d, %r14d", "xorl %r15d, %r15d", "cld"}) {
      EXPECT_NE(seen.find(want), std::string::npos) << code[i].function << " lacks " << want << ": " << seen;
    }
  }
  EXPECT_EQ(gates, 4);  // two full gates, hardware and emulated
}

std::string self_path() {
  char buf[4096];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : "";
}

TEST(gate_code, every_wrpkru_in_this_binary_is_a_checked_gate) {
  if (!have_objdump()) GTEST_SKIP() << "llvm-objdump-19 not installed";
  std::vector<insn> code;
  std::string err;
  ASSERT_TRUE(disassemble(self_path(), false, code, err)) << err;
  int count = 0;
  EXPECT_EQ(wrpkru_discipline(code, true, count), "");
  // This test's hardware gates, light and full (flexbuild's gadget_scan_test scans this binary too).
  EXPECT_GE(count, 4);
}

// ---- Gates with fixed targets ---------------------------------------------------------------------------

word g_evil_ran = 0;
word evil(word, word, word, word, word, word) {
  g_evil_ran = 1;
  return 666;
}
word good(word x, word, word, word, word, word) {
  return x + 1;
}

// The first PKRU switch in a gate's code (xor %ecx,%ecx; xor %edx,%edx; mov $imm,%eax): where code that
// hijacked control flow would jump to take the callee's rights.
const void *switch_point(const void *entry) {
  static const unsigned char kPattern[] = {0x31, 0xc9, 0x31, 0xd2, 0xb8};
  const auto *p = static_cast<const unsigned char *>(entry);
  for (int i = 0; i < 64; ++i) {
    if (std::memcmp(p + i, kPattern, sizeof kPattern) == 0) return p + i;
  }
  return nullptr;
}

}  // namespace
}  // namespace flex::runtime

// Jumps to `at` inside a light gate with rbx = `chosen`, as the gate's own prologue would have left the
// stack (its saved rbx, then the return address), and returns what the gate returns. rdi = 41.
extern "C" flex::runtime::word flex_test_jump_into_light(const void *at, flex::runtime::erased_fn chosen);
asm(R"(
  .text
  .globl flex_test_jump_into_light
  .type flex_test_jump_into_light,@function
flex_test_jump_into_light:
  sub $8, %rsp
  lea 1f(%rip), %rax
  push %rax
  push %rbx
  mov %rsi, %rbx
  mov %rdi, %rax
  mov $41, %edi
  xor %r10d, %r10d
  xor %r11d, %r11d
  jmp *%rax
1:
  add $8, %rsp
  ret
  .size flex_test_jump_into_light, .-flex_test_jump_into_light
)");

namespace flex::runtime {
namespace {

TEST(fixed_targets, a_jump_onto_a_gates_pkru_switch_reaches_only_its_own_callee) {
  using erased = mpk_light<kPkruRuntime, pkru_for(1, 3), pkru_insn::emulated>;
  using fixed = mpk_light_to<pkru_for(2, 3), pkru_for(1, 3), &good, pkru_insn::emulated>;
  const void *at_erased = switch_point(reinterpret_cast<const void *>(erased::entry()));
  const void *at_fixed = switch_point(reinterpret_cast<const void *>(fixed::entry()));
  ASSERT_NE(at_erased, nullptr);
  ASSERT_NE(at_fixed, nullptr);
  // The erased gate calls whatever the hijacker left in rbx: the attacker's function, with the callee's rights.
  g_evil_ran = 0;
  EXPECT_EQ(flex_test_jump_into_light(at_erased, &evil), 666u);
  EXPECT_EQ(g_evil_ran, 1u);
  // The gate flexbuild generates calls its own callee, whatever rbx holds.
  g_evil_ran = 0;
  EXPECT_EQ(flex_test_jump_into_light(at_fixed, &evil), 42u);
  EXPECT_EQ(g_evil_ran, 0u);
  // And called normally it is a gate like the other.
  call_args a;
  a.a[0] = 1;
  EXPECT_EQ(fixed::invoke({}, nullptr, a), 2u);
  EXPECT_EQ(testing::emulated_pkru(), pkru_for(2, 3));  // its caller's rights: domain 2's
  flex_mpk_emulated_pkru = kPkruRuntime;
}

// A light gate's way back trusts the stack it shares with its callee: code that jumps onto its switch to
// the caller's rights returns where the stack says. So the runtime is never a light gate's caller: flexbuild
// enters a domain from the runtime through a full gate naming caller key 0, which returns through the
// runtime's return cell (a_jump_onto_the_runtimes_way_back_lands_only_where_the_runtime_called_from), and
// the gate images use refuses the runtime as its caller at compile time.
template <std::uint32_t Caller>
concept light_gate_from = requires { typename mpk_light_to<Caller, pkru_for(1, 3), &good>::entries; };
static_assert(!light_gate_from<kPkruRuntime>, "a light gate from the runtime would trust a shared stack");
static_assert(light_gate_from<pkru_for(2, 3)>);

// Jumps onto `at`, a full gate's return switch, with rbx = `key` (0: the runtime's), as a hijacker would:
// the erased gate then takes the stack its thread-table slot 0 names (flex_mpk_thread.sp[0], key-0 memory)
// and returns to whatever that stack holds. Returns here (flex_test_full_return_landing) if it did.
extern "C" void flex_test_jump_onto_full_return(const void *at, unsigned long key);
extern "C" char flex_test_full_return_landing[];
asm(R"(
  .text
  .globl flex_test_jump_onto_full_return
  .type flex_test_jump_onto_full_return,@function
flex_test_jump_onto_full_return:
  push %rbp
  push %rbx
  push %r12
  push %r13
  push %r14
  push %r15
  mov %rsp, flex_test_saved_rsp(%rip)
  mov %rsi, %rbx
  xor %eax, %eax
  jmp *%rdi
  .globl flex_test_full_return_landing
flex_test_full_return_landing:
  mov flex_test_saved_rsp(%rip), %rsp
  pop %r15
  pop %r14
  pop %r13
  pop %r12
  pop %rbx
  pop %rbp
  ret
  .size flex_test_jump_onto_full_return, .-flex_test_jump_onto_full_return
  .bss
  .p2align 3
flex_test_saved_rsp:
  .quad 0
  .text
)");

// The n-th PKRU switch (xor ecx, xor edx, mov $imm, eax) of a gate's code: 0 the way in, 1 the way back.
const void *nth_switch_point(const void *entry, int n) {
  static const unsigned char kPattern[] = {0x31, 0xc9, 0x31, 0xd2, 0xb8};
  const auto *p = static_cast<const unsigned char *>(entry);
  for (int i = 0; i < 1024; ++i) {
    if (std::memcmp(p + i, kPattern, sizeof kPattern) == 0 && n-- == 0) return p + i;
  }
  return nullptr;
}

// A frame for a full gate's way back, written at `top`: the slot value it restores, six callee-saved
// registers, the return (to flex_test_full_return_landing).
std::uint64_t *fake_return_frame(std::uint64_t *top) {
  for (int i = 0; i < 7; ++i) top[i] = 0;
  top[7] = reinterpret_cast<std::uint64_t>(&flex_test_full_return_landing);
  return top;
}
alignas(16) std::uint64_t g_fake_stack[64];
std::uint64_t *fake_return_stack() {
  return fake_return_frame(g_fake_stack + 32);
}

// The erased full gate (tests and benchmarks only) takes the caller's key from its own stack, so a jump onto
// its way back with rbx = 0 returns where slot 0 of the key-0 thread table says, with the caller's rights.
// The fixed gate (what flexbuild generates) loads the caller's key after the switch: the same jump uses the
// caller's own slot, checked against that domain's stack arena, and ends the image.
TEST(fixed_targets, a_jump_onto_a_full_gates_way_back_cannot_choose_the_callers_stack) {
  constexpr std::uint32_t kCaller = pkru_for(1, 3), kCallee = pkru_for(2, 3);
  using erased = mpk_full<kCaller, kCallee, 1, pkru_insn::emulated>;
  using fixed = mpk_full_to<kCaller, kCallee, 1, &good, pkru_insn::emulated, 1>;
  const void *back_erased = nth_switch_point(reinterpret_cast<const void *>(erased::entry()), 1);
  const void *back_fixed = nth_switch_point(reinterpret_cast<const void *>(fixed::entry()), 1);
  ASSERT_NE(back_erased, nullptr);
  ASSERT_NE(back_fixed, nullptr);
  EXPECT_EXIT(
      {
        testing::emulate_mpk(2);
        // Slot 0 (key-0 memory: anyone's) names a frame the hijacker wrote, as a call to the callee.
        slot_of(0) = tagged(reinterpret_cast<std::uint64_t>(fake_return_stack()), 2);
        flex_mpk_emulated_pkru = kCallee;  // as domain 2's hijacked code
        flex_test_jump_onto_full_return(back_erased, 0);
        std::_Exit(flex_mpk_emulated_pkru == kCaller ? 7 : 1);  // back here, with domain 1's rights
      },
      ::testing::ExitedWithCode(7), "");
  EXPECT_EXIT(
      {
        testing::emulate_mpk(2);
        slot_of(0) = tagged(reinterpret_cast<std::uint64_t>(fake_return_stack()), 2);
        // The caller's own slot holds no call to the callee (earlier tests of this binary may have left
        // one: the death test's child inherits it): the way back must refuse it, not return there.
        slot_of(1) = 0;
        flex_mpk_emulated_pkru = kCallee;
        flex_test_jump_onto_full_return(back_fixed, 0);
        std::_Exit(7);
      },
      ::testing::ExitedWithCode(134), "found its caller waiting on another callee");
}

// The runtime as the caller on its own stack (caller key 0: the app's entry, a compartment's signal handler)
// returns through its return cell, on the signal arena's control page (the runtime's key): a jump onto
// the way back uses the cell, never the thread table's slot 0 (key 0). With no call in flight the cell is
// empty and the jump ends the image; a legitimate call goes and comes back through the cell, leaving it
// as it was. The runtime's erased gate (the old way for the runtime) returns on the jumper's stack with
// the runtime's rights.
alignas(4096) detail::mpk_signal_control g_fake_control;
TEST(fixed_targets, a_jump_onto_the_runtimes_way_back_lands_only_where_the_runtime_called_from) {
  constexpr std::uint32_t kCallee = pkru_for(2, 3);
  using erased = mpk_full<kPkruRuntime, kCallee, 1, pkru_insn::emulated>;
  using own = mpk_full_to<kPkruRuntime, kCallee, 1, &good, pkru_insn::emulated, 0>;
  const void *back_erased = nth_switch_point(reinterpret_cast<const void *>(erased::entry()), 1);
  const void *back_own = nth_switch_point(reinterpret_cast<const void *>(own::entry()), 1);
  ASSERT_NE(back_erased, nullptr);
  ASSERT_NE(back_own, nullptr);
  EXPECT_EXIT(
      {
        testing::emulate_mpk(2);
        slot_of(0) = tagged(reinterpret_cast<std::uint64_t>(fake_return_stack()), 2);
        flex_mpk_emulated_pkru = kCallee;  // as domain 2's hijacked code
        flex_test_jump_onto_full_return(back_erased, 0);
        std::_Exit(flex_mpk_emulated_pkru == kPkruRuntime ? 7 : 1);  // back here, with the runtime's rights
      },
      ::testing::ExitedWithCode(7), "");
  EXPECT_EXIT(
      {
        testing::emulate_mpk(2);
        g_fake_control.rt_return = 0;
        flex_mpk_runtime.sig_control = reinterpret_cast<std::uint64_t>(&g_fake_control);
        // A legitimate call first: through the cell and back, which it leaves empty again.
        flex_mpk_emulated_pkru = kPkruRuntime;
        const word r = gate<own>::call_erased({}, nullptr, &good, call_args{{41}});
        if (r != 42 || g_fake_control.rt_return != 0 || flex_mpk_emulated_pkru != kPkruRuntime) std::_Exit(3);
        slot_of(0) = tagged(reinterpret_cast<std::uint64_t>(fake_return_stack()), 2);
        flex_mpk_emulated_pkru = kCallee;
        flex_test_jump_onto_full_return(back_own, 0);
        std::_Exit(7);
      },
      ::testing::ExitedWithCode(134), "outside its domain's stack arena");
}

// The relay of an image that mixes mpk and process compartments (flex_mpk_relay): with a return cell, the
// runtime's call into a domain runs on the runtime's own stack, below the frame the cell names, through a
// gate naming caller key 0, and puts the cell back after. A domain that jumps onto that gate's way back
// with its own rights, its own slot pointing at a frame it wrote, lands where the cell says: the frame the
// runtime recorded (here the app entry's, faked: flex_test_full_return_landing), never its own frame.
alignas(16) std::uint64_t g_fake_runtime_stack[16];
// The app's entry gate as it leaves the runtime's own stack: the slot it pushed, the cell's padding and
// previous value, six callee-saved registers, its return (to flex_test_full_return_landing); a fake
// control page's return cell names it. Returns the cell.
std::uint64_t fake_runtime_entry_frame() {
  std::uint64_t *frame = g_fake_runtime_stack;
  for (int i = 0; i < 9; ++i) frame[i] = 0;
  frame[9] = reinterpret_cast<std::uint64_t>(&flex_test_full_return_landing);
  g_fake_control.rt_return = reinterpret_cast<std::uint64_t>(frame + 1);
  flex_mpk_runtime.sig_control = reinterpret_cast<std::uint64_t>(&g_fake_control);
  return g_fake_control.rt_return;
}
bool g_relay_on_runtime_stack = false, g_slot_restored = false, g_slot_lowered = false;
std::uint64_t g_domain_slot_in_relay = 0;
std::uint64_t g_cell_at_relay = 0;
word relay_on_own(const call_args *a) {
  // Below the frame the cell names (the runtime's last full gate from its own stack: here the test's entry
  // into domain 2), not on domain 2's stack.
  const auto at = reinterpret_cast<std::uint64_t>(__builtin_frame_address(0));
  const bool on_domain2 = at > flex_mpk_runtime.stack_lo[2] && at <= flex_mpk_runtime.stack_hi[2];
  g_relay_on_runtime_stack = !on_domain2 && at < g_cell_at_relay && at > g_cell_at_relay - 4096;
  g_domain_slot_in_relay = slot_of(2);
  using into_domain1 = mpk_full_to<kPkruRuntime, pkru_for(1, 3), 0, &good, pkru_insn::emulated, 0>;
  return gate<into_domain1>::call_erased({}, nullptr, &good, *a);
}
word relay_here(const call_args *) {
  std::_Exit(4);  // there is a cell: the relay must not stay on the domain's stack
}
// Domain 2's code has called out (to a process compartment, through the runtime); the other process calls
// back into domain 1 meanwhile, which the runtime serves here, on domain 2's stack.
word relay_from_domain2(word x, word, word, word, word, word) {
  const std::uint32_t pkru = flex_mpk_emulated_pkru;
  flex_mpk_emulated_pkru = kPkruRuntime;  // as the light gate into the runtime leaves it
  const std::uint64_t slot = slot_of(2);
  g_cell_at_relay = g_fake_control.rt_return;
  const call_args args{{x}};
  const word r = flex_mpk_relay(&relay_on_own, &relay_here, &args);
  // Meanwhile a call back into domain 2 would have started below this frame.
  g_slot_lowered = g_domain_slot_in_relay < reinterpret_cast<std::uint64_t>(__builtin_frame_address(0));
  g_slot_restored = slot_of(2) == slot;
  flex_mpk_emulated_pkru = pkru;
  return r;
}
extern "C" void flex_test_attacker_landing() {
  std::_Exit(9);
}

TEST(fixed_targets, the_relay_enters_a_domain_from_the_runtimes_own_stack_and_returns_through_its_cell) {
  constexpr std::uint32_t kAttacker = pkru_for(2, 3);
  using relay_gate = mpk_full_to<kPkruRuntime, pkru_for(1, 3), 0, &good, pkru_insn::emulated, 0>;
  using into_attacker = mpk_full_to<kPkruRuntime, kAttacker, 1, &relay_from_domain2, pkru_insn::emulated, 0>;
  const void *back = nth_switch_point(reinterpret_cast<const void *>(relay_gate::entry()), 1);
  ASSERT_NE(back, nullptr);
  EXPECT_EXIT(
      {
        testing::emulate_mpk(2);
        flex_mpk_emulated_pkru = kPkruRuntime;
        const std::uint64_t cell = fake_runtime_entry_frame();
        // Domain 2 (the attacker) runs, and the relay into domain 1 happens while it waits.
        if (gate<into_attacker>::call_erased({}, nullptr, &relay_from_domain2, call_args{{41}}) != 42) std::_Exit(3);
        if (!g_relay_on_runtime_stack || !g_slot_lowered || !g_slot_restored) {
          std::fprintf(stderr, "relay: on the runtime stack %d, slot lowered %d, restored %d\n", g_relay_on_runtime_stack, g_slot_lowered, g_slot_restored);
          std::_Exit(8);
        }
        if (g_fake_control.rt_return != cell || flex_mpk_emulated_pkru != kPkruRuntime) std::_Exit(5);
        // It writes a frame on its own stack that would return to its own code, points its own slot at
        // it, and jumps onto the relay gate's way back with its own rights.
        auto *top = reinterpret_cast<std::uint64_t *>(mpk_thread_stack(2).hi) - 32;
        for (int i = 0; i < 10; ++i) top[i] = reinterpret_cast<std::uint64_t>(&flex_test_attacker_landing);
        top[0] = 0;
        slot_of(2) = tagged(reinterpret_cast<std::uint64_t>(top), 1);
        flex_mpk_emulated_pkru = kAttacker;
        flex_test_jump_onto_full_return(back, 2);
        std::_Exit(flex_mpk_emulated_pkru == kPkruRuntime ? 7 : 1);  // the runtime's recorded frame
      },
      ::testing::ExitedWithCode(7), "");
}

// Not defended yet (DESIGN.md §8): without a return cell (emulated MPK, kernels that cannot deliver
// signals onto keyed stacks), the relay stays on the stack it is on, a domain's, and its gate (CallerKey -1)
// takes the key of that stack from the thread table (key 0) and keeps it on its callee's stack for the
// way back. So code that jumps onto that way back with its own key returns through its own slot onto its
// own stack, both of which it may write: with the runtime's rights, where it chose.
TEST(not_yet_defended, a_jump_onto_the_relays_way_back_takes_the_runtimes_rights_on_the_jumpers_stack) {
  constexpr std::uint32_t kDomain1 = pkru_for(1, 3), kAttacker = pkru_for(2, 3);
  using relay = mpk_full_to<kPkruRuntime, kDomain1, 0, &good, pkru_insn::emulated>;  // CallerKey -1
  using into_attacker = mpk_full_to<kPkruRuntime, kAttacker, 1, &good, pkru_insn::emulated, 0>;
  const void *back = nth_switch_point(reinterpret_cast<const void *>(relay::entry()), 1);
  ASSERT_NE(back, nullptr);
  EXPECT_EXIT(
      {
        testing::emulate_mpk(2);
        flex_mpk_emulated_pkru = kPkruRuntime;
        // Domain 2 (the attacker) has run on this thread, so it has a stack here.
        if (gate<into_attacker>::call_erased({}, nullptr, &good, call_args{{41}}) != 42) std::_Exit(3);
        // It writes a frame on its own stack and points its own slot at it.
        // (Its own slot: it may write it, tag included.)
        auto *top = fake_return_frame(reinterpret_cast<std::uint64_t *>(mpk_thread_stack(2).hi) - 32);
        slot_of(2) = tagged(reinterpret_cast<std::uint64_t>(top), 1);
        flex_mpk_emulated_pkru = kAttacker;
        flex_test_jump_onto_full_return(back, 2);
        std::_Exit(flex_mpk_emulated_pkru == kPkruRuntime ? 7 : 1);  // back here, with the runtime's rights
      },
      ::testing::ExitedWithCode(7), "");
}

// ---- Where a domain's stack starts: nothing another domain may write decides it -------------------------

}  // namespace
}  // namespace flex::runtime

// Jumps onto `at`, a full gate's entry switch, with rbp and r15 chosen (what the entry had computed before
// its switch: the block and the runtime page), as a hijacker would; edi = 41.
extern "C" void flex_test_jump_onto_full_entry(const void *at, unsigned long rbp, const void *r15);
asm(R"(
  .text
  .globl flex_test_jump_onto_full_entry
  .type flex_test_jump_onto_full_entry,@function
flex_test_jump_onto_full_entry:
  push %rbp
  push %rbx
  push %r12
  push %r13
  push %r14
  push %r15
  mov %rsi, %rbp
  mov %rdx, %r15
  mov %rdi, %rax
  mov $41, %edi
  xor %r10d, %r10d
  xor %r11d, %r11d
  xor %ebx, %ebx
  jmp *%rax
  .size flex_test_jump_onto_full_entry, .-flex_test_jump_onto_full_entry
)");

namespace flex::runtime {
namespace {

// Where the callee's frame lies, as an exit status: 7 at the top of its stack in this thread's block (where
// its slot, 0, says), 1 elsewhere.
word exit_with_where_it_runs(word, word, word, word, word, word) {
  const auto at = reinterpret_cast<std::uint64_t>(__builtin_frame_address(0));
  const mpk_stack_range s = mpk_thread_stack(2);
  std::_Exit(at < s.hi && at > s.hi - 4096 ? 7 : 1);
}
using from_3_to_2 = mpk_full_to<pkru_for(3, 4), pkru_for(2, 4), 1, &exit_with_where_it_runs, pkru_insn::emulated, 3>;
alignas(8) std::uint64_t g_chosen_slot;
alignas(4096) detail::mpk_runtime_page g_chosen_page;
alignas(16) unsigned char g_key0_stack[65536];

// After its switch the entry finds the runtime page, the block and the callee's slot again: a jump onto
// the switch with a block index chosen to read a word the jumper wrote as the slot (deep in the callee's
// stack, where its live frames could be), or with a runtime page of its own making (a key-0 buffer as the
// callee's stack), still starts the callee where its own slot says.
TEST(slots, a_jump_onto_a_full_gates_entry_cannot_choose_where_the_callee_runs) {
  const void *at = nth_switch_point(reinterpret_cast<const void *>(from_3_to_2::entry()), 0);
  ASSERT_NE(at, nullptr);
  EXPECT_EXIT(
      {
        testing::emulate_mpk(3);
        slot_of(2) = 0;
        const std::uint64_t b = flex_mpk_thread.block - 1;
        g_chosen_slot = flex_mpk_runtime.stack_lo[2] + (b << detail::kMpkBlockShift) + kMpkStackGuard + kMpkStackSize -
                        0x40000;
        const auto rbp = (reinterpret_cast<std::uint64_t>(&g_chosen_slot) - flex_mpk_runtime.slots[2]) / 8;
        flex_mpk_emulated_pkru = pkru_for(3, 4);  // domain 3's hijacked code
        flex_test_jump_onto_full_entry(at, rbp, &flex_mpk_runtime);
        std::_Exit(4);
      },
      ::testing::ExitedWithCode(7), "");
  EXPECT_EXIT(
      {
        testing::emulate_mpk(3);
        slot_of(2) = 0;
        g_chosen_slot = reinterpret_cast<std::uint64_t>(g_key0_stack + sizeof g_key0_stack - 64);
        g_chosen_page.slots[2] = reinterpret_cast<std::uint64_t>(&g_chosen_slot);
        g_chosen_page.stack_lo[2] = g_chosen_slot - kMpkStackGuard - 0x100;
        g_chosen_page.stack_hi[2] = g_chosen_slot + 0x100;
        flex_mpk_emulated_pkru = pkru_for(3, 4);
        flex_test_jump_onto_full_entry(at, 0, &g_chosen_page);
        std::_Exit(4);
      },
      ::testing::ExitedWithCode(7), "");
}

// A scheduler (domain 2) has made a user thread: its first frame waits at the top of 2's stack in the
// thread's block. Domain 3 writes that block into the thread table (key-0 memory) and calls into 2: 2 runs
// below that frame, not over it.
std::uint64_t g_first_frame_lo;
word exit_with_whether_below(word, word, word, word, word, word) {
  const auto at = reinterpret_cast<std::uint64_t>(__builtin_frame_address(0));
  std::_Exit(at < g_first_frame_lo ? 7 : 1);
}
using from_3_to_2_below = mpk_full_to<pkru_for(3, 4), pkru_for(2, 4), 1, &exit_with_whether_below, pkru_insn::emulated, 3>;
using runtime_to_2 = mpk_full_to<kPkruRuntime, pkru_for(2, 4), 1, &good, pkru_insn::emulated, -1>;
TEST(slots, a_forged_block_enters_a_scheduler_below_a_waiting_user_threads_frames) {
  EXPECT_EXIT(
      {
        testing::emulate_mpk(3);
        flex_mpk_emulated_pkru = kPkruRuntime;
        (void)gate<runtime_to_2>::call_erased({}, nullptr, &good, call_args{{1}});
        std::vector<unsigned char> state(mpk_uthread_state_size());
        void *top = nullptr;
        std::size_t len = 0;
        flex_mpk_thread.cur = 2;  // domain 2's code, making a user thread
        if (mpk_uthread_init(state.data(), &top, &len) != 0 || !top) std::_Exit(3);
        flex_mpk_thread.cur = 0;
        g_first_frame_lo = reinterpret_cast<std::uint64_t>(top) - 64;  // six registers, its start, 0
        detail::mpk_uthread_state st;
        std::memcpy(&st, state.data(), sizeof st);
        flex_mpk_emulated_pkru = pkru_for(3, 4);
        flex_mpk_thread.block = st.block;
        (void)gate<from_3_to_2_below>::call_erased({}, nullptr, &exit_with_whether_below, {});
        std::_Exit(4);
      },
      ::testing::ExitedWithCode(7), "");
}

// A switch between user threads takes the outgoing thread's block from its own state, and the scheduler's
// own stack says which block it runs on. Each scheduler call below runs in domain 2, on its stack.
enum class forgery { later_block, first_block, handed_out };
forgery g_forgery;
word scheduler_with_a_forged_table(word, word, word, word, word, word) {
  std::vector<unsigned char> boot(mpk_uthread_state_size());
  std::vector<unsigned char> made(mpk_uthread_state_size());
  void *top = nullptr;
  std::size_t len = 0;
  if (mpk_uthread_init(made.data(), &top, &len) != 0) std::_Exit(3);
  detail::mpk_uthread_state st;
  std::memcpy(&st, made.data(), sizeof st);
  switch (g_forgery) {
    case forgery::later_block:  // after the boot thread's first switch, its table names another block
      mpk_uthread_switch(boot.data(), nullptr);
      flex_mpk_thread.block = st.block;
      mpk_uthread_switch(boot.data(), made.data());
      break;
    case forgery::first_block:  // before it: the new thread's block, whose first frame waits
      flex_mpk_thread.block = st.block;
      mpk_uthread_switch(boot.data(), made.data());
      break;
    case forgery::handed_out: {  // the bitmap says the running block is free: the next thread would get it
      testing::forge_free_block(flex_mpk_thread.block - 1);
      testing::forge_free_block(st.block - 1);
      std::vector<unsigned char> next(mpk_uthread_state_size());
      (void)mpk_uthread_init(next.data(), &top, &len);  // st.block's: its scheduler slot records a frame
      (void)mpk_uthread_init(next.data(), &top, &len);  // the running one
      break;
    }
  }
  std::_Exit(4);
}
using runtime_to_2_scheduler = mpk_full_to<kPkruRuntime, pkru_for(2, 4), 1, &scheduler_with_a_forged_table, pkru_insn::emulated, -1>;
TEST(slots, a_user_thread_call_refuses_a_forged_thread_table_or_block_bitmap) {
  const struct {
    forgery f;
    const char *report;
  } cases[] = {
      {forgery::later_block, "names another block than the running user thread's"},
      {forgery::first_block, "names another user thread's block"},
      {forgery::handed_out, "a block of stacks handed out while a user thread has frames on it"},
  };
  for (const auto &c : cases) {
    EXPECT_EXIT(
        {
          testing::emulate_mpk(3);
          flex_mpk_emulated_pkru = kPkruRuntime;
          g_forgery = c.f;
          (void)gate<runtime_to_2_scheduler>::call_erased({}, nullptr, &scheduler_with_a_forged_table, {});
        },
        ::testing::KilledBySignal(SIGABRT), c.report);
  }
}

// The boot thread's block after its first switch: the thread is back on it, so the scheduler's slot there
// is 0 again. Another domain marks that block free in the bitmap (key-0 memory) and calls into the
// scheduler on another thread's block (the thread table, key-0 memory too), where it makes threads until
// one would get the boot thread's block: the scheduler's record of the blocks its threads hold (under its
// own key) refuses it.
std::uint64_t g_boot_block = 0, g_other_block = 0;
word scheduler_first_switch_and_back(word, word, word, word, word, word) {
  static std::vector<unsigned char> boot(mpk_uthread_state_size()), made(mpk_uthread_state_size());
  void *top = nullptr;
  std::size_t len = 0;
  if (mpk_uthread_init(made.data(), &top, &len) != 0) std::_Exit(3);
  detail::mpk_uthread_state st;
  std::memcpy(&st, made.data(), sizeof st);
  g_other_block = st.block;
  g_boot_block = flex_mpk_thread.block;
  mpk_uthread_switch(boot.data(), nullptr);  // the boot thread's first switch
  mpk_uthread_switch(nullptr, boot.data());  // and back on it
  return 0;
}
word scheduler_making_threads(word, word, word, word, word, word) {
  for (int i = 0; i < static_cast<int>(kMpkMaxThreads); ++i) {
    std::vector<unsigned char> next(mpk_uthread_state_size());
    void *top = nullptr;
    std::size_t len = 0;
    if (mpk_uthread_init(next.data(), &top, &len) != 0) std::_Exit(5);
    detail::mpk_uthread_state st;
    std::memcpy(&st, next.data(), sizeof st);
    if (st.block == g_boot_block) std::_Exit(4);  // handed out under the boot thread's frames
  }
  std::_Exit(6);
}
using runtime_to_2_first_switch =
    mpk_full_to<kPkruRuntime, pkru_for(2, 4), 1, &scheduler_first_switch_and_back, pkru_insn::emulated, -1>;
using runtime_to_2_making = mpk_full_to<kPkruRuntime, pkru_for(2, 4), 1, &scheduler_making_threads, pkru_insn::emulated, -1>;
TEST(slots, the_boot_threads_block_is_never_handed_out_while_it_holds_it) {
  EXPECT_EXIT(
      {
        testing::emulate_mpk(3);
        flex_mpk_emulated_pkru = kPkruRuntime;
        (void)gate<runtime_to_2_first_switch>::call_erased({}, nullptr, &scheduler_first_switch_and_back, {});
        testing::forge_free_block(g_boot_block - 1);
        flex_mpk_thread.block = g_other_block;
        (void)gate<runtime_to_2_making>::call_erased({}, nullptr, &scheduler_making_threads, {});
      },
      ::testing::KilledBySignal(SIGABRT), "a block of stacks handed out while a user thread has frames on it");
}

// The relay stores the domain's stack pointer in that domain's slot of the block it runs on, and restores
// that same slot after its call, whatever the thread table names by then.
std::uint64_t g_block_at_relay = 0, g_other_slot = 0, g_slot_at_relay_start = 0, g_slot_after_relay = 0;
word moves_the_block(word x, word, word, word, word, word) {
  flex_mpk_thread.block = g_block_at_relay + 1;  // domain 1 names the next block (key-0 memory)
  return x + 1;
}
word relay_into_mover(const call_args *a) {
  using into_domain1 = mpk_full_to<kPkruRuntime, pkru_for(1, 3), 0, &moves_the_block, pkru_insn::emulated, 0>;
  return gate<into_domain1>::call_erased({}, nullptr, &moves_the_block, *a);
}
word relay_through_mover(word x, word, word, word, word, word) {
  const std::uint32_t pkru = flex_mpk_emulated_pkru;
  flex_mpk_emulated_pkru = kPkruRuntime;
  g_block_at_relay = flex_mpk_thread.block;
  g_slot_at_relay_start = slot_of(2);
  std::uint64_t *other = reinterpret_cast<std::uint64_t *>(flex_mpk_runtime.slots[2]) + g_block_at_relay;
  *other = 0x1230;  // the next block's slot: another user thread's
  const call_args args{{x}};
  const word r = flex_mpk_relay(&relay_into_mover, &relay_here, &args);
  g_other_slot = *other;
  flex_mpk_thread.block = g_block_at_relay;
  g_slot_after_relay = slot_of(2);
  flex_mpk_emulated_pkru = pkru;
  return r;
}
TEST(slots, the_relay_restores_the_slot_it_stored_whatever_block_the_table_names_after) {
  using into_2 = mpk_full_to<kPkruRuntime, pkru_for(2, 3), 1, &relay_through_mover, pkru_insn::emulated, 0>;
  EXPECT_EXIT(
      {
        testing::emulate_mpk(2);
        flex_mpk_emulated_pkru = kPkruRuntime;
        (void)fake_runtime_entry_frame();
        if (gate<into_2>::call_erased({}, nullptr, &relay_through_mover, call_args{{41}}) != 42) std::_Exit(3);
        std::_Exit(g_slot_after_relay == g_slot_at_relay_start && g_other_slot == 0x1230 ? 7 : 1);
      },
      ::testing::ExitedWithCode(7), "");
}

// ---- On a machine with PKU ------------------------------------------------------------------------------

#define REQUIRE_PKU() \
  if (!pku_status().available) GTEST_SKIP() << "PKU not available: " << pku_status().reason
#define REQUIRE_KEYED_SIGNAL_STACKS()                                                                        \
  if (!mpk_kernel_delivers_onto_keyed_stacks())                                                             \
  GTEST_SKIP() << "this kernel cannot deliver signals onto memory under a protection key (Linux 6.12 can): " \
                  "no signal arena (kernel_without_keyed_signal_stacks_boots_without_an_arena covers it)"

// Each hardware test boots real domains in a death-test child. The child re-executes this binary
// ("threadsafe" style) instead of forking the test process, so it starts from a runtime no earlier test
// (an emulated boot, a thread's stack blocks) has touched.
class hardware : public ::testing::Test {
 protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

constexpr std::uint32_t kH1 = pkru_for(1, 4);
using hw_light = mpk_light<kPkruRuntime, kH1>;
using hw_full_1 = mpk_full<kPkruRuntime, kH1, 0>;

// Runs in a death-test child: boots three mpk domains (keys 1-3, shared key 4) from scratch.
void boot_hardware_or_exit() {
  flex_mpk_runtime = detail::mpk_runtime_page{};
  flex_mpk_thread = {};
  static test_image t({FLEX_ISO_MPK, FLEX_ISO_MPK, FLEX_ISO_MPK});
  if (auto st = mpk_boot(t.img); !st.ok()) {
    std::fprintf(stderr, "boot: %s\n", st.message().c_str());
    std::_Exit(2);
  }
}

void pass_or_exit(const std::string &err) {
  if (!err.empty()) std::fprintf(stderr, "%s\n", err.c_str());
  std::_Exit(err.empty() ? 0 : 1);
}

TEST_F(hardware, stacks_switch_and_registers_are_cleared) {
  REQUIRE_PKU();
  EXPECT_EXIT(
      {
        boot_hardware_or_exit();
        pass_or_exit(full_gate_register_promises(hw_full_1::entry(), 1, detail::detect_cpu_flags()));
      },
      ::testing::ExitedWithCode(0), "");
}

// The stack slots: a domain's is on a page under its key (the one its stacks have), so a domain writes
// its own and cannot even read another's, whose value decides where that domain runs next.
word rewrite_slot(word key, word, word, word, word, word) {
  auto *slot = static_cast<volatile std::uint64_t *>(detail::mpk_slot(static_cast<unsigned>(key)));
  *slot = *slot;
  return 1;
}
TEST_F(hardware, a_domain_writes_its_own_stack_slot_but_not_another_domains) {
  REQUIRE_PKU();
  EXPECT_EXIT(
      {
        boot_hardware_or_exit();
        std::_Exit(gate<hw_full_1>::call_erased({}, nullptr, &rewrite_slot, call_args{{1}}) == 1 ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
  EXPECT_EXIT(
      {
        boot_hardware_or_exit();
        (void)gate<hw_full_1>::call_erased({}, nullptr, &rewrite_slot, call_args{{2}});
        std::_Exit(0);
      },
      [](int st) {
        return (WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV) || (WIFEXITED(st) && WEXITSTATUS(st) == kExitFault);
      },
      "");
}

// Whether n bytes from p hold an instruction that loads PKRU (flex/pku/gadgets.h) at any offset.
bool holds_pkru_load(const unsigned char *p, std::size_t n) {
  for (std::size_t i = 0; i + 3 <= n; ++i) {
    if (pku::gadget_at(p, n, i).kind != pku::gadget_kind::none) return true;
  }
  return false;
}

// Whether ld.so's code holds an XRSTOR (its lazy-binding trampolines).
bool ldso_holds_xrstor() {
  bool found = false;
  dl_iterate_phdr(
      [](dl_phdr_info *info, std::size_t, void *data) {
        if (!info->dlpi_name || !std::strstr(info->dlpi_name, "ld-linux")) return 0;
        for (int i = 0; i < info->dlpi_phnum; ++i) {
          const ElfW(Phdr) &ph = info->dlpi_phdr[i];
          if (ph.p_type != PT_LOAD || !(ph.p_flags & PF_X)) continue;
          const auto *code = reinterpret_cast<const unsigned char *>(info->dlpi_addr + ph.p_vaddr);
          for (std::size_t k = 0; k + 3 <= ph.p_memsz; ++k) {
            const pku::gadget_kind kind = pku::gadget_at(code, ph.p_memsz, k).kind;
            *static_cast<bool *>(data) |= kind == pku::gadget_kind::xrstor || kind == pku::gadget_kind::xrstor64;
          }
        }
        return 1;
      },
      &found);
  return found;
}

// glibc's pkey_set holds a WRPKRU of its own and ld.so's lazy-binding trampolines an XRSTOR; in a process
// bound at load, the disarm makes every one a trap (UD2), and the gates of this binary (its own object)
// keep theirs and still switch domains.
TEST_F(hardware, the_shared_objects_pkru_loads_become_traps_and_the_gates_keep_theirs) {
  REQUIRE_PKU();
  const auto *set = reinterpret_cast<const unsigned char *>(dlsym(RTLD_DEFAULT, "pkey_set"));
  if (!set || !holds_pkru_load(set, 96)) GTEST_SKIP() << "this C library's pkey_set holds no WRPKRU";
  if (!ldso_holds_xrstor()) GTEST_SKIP() << "this ld.so holds no XRSTOR";
  ::setenv("LD_BIND_NOW", "1", 1);  // the death test's child is this binary started again: bound at load
  EXPECT_EXIT(
      {
        boot_hardware_or_exit();
        int patched = 0;
        if (status st = mpk_disarm_foreign_gadgets(patched); !st.ok()) {
          std::fprintf(stderr, "%s\n", st.message().c_str());
          std::_Exit(2);
        }
        if (patched < 3 || holds_pkru_load(set, 96) || ldso_holds_xrstor()) std::_Exit(3);
        bool trap = false;
        for (int i = 0; i + 2 < 96; ++i) trap |= set[i] == 0x0f && set[i + 1] == 0x0b && set[i + 2] == 0xcc;
        if (!trap) std::_Exit(4);
        pass_or_exit(full_gate_register_promises(hw_full_1::entry(), 1, detail::detect_cpu_flags()));
      },
      ::testing::ExitedWithCode(0), "");
  ::unsetenv("LD_BIND_NOW");
}

// Where ld.so bound an object lazily, its trampolines are still in use: the disarm refuses, naming the
// object, and changes nothing (pkey_set keeps its WRPKRU too).
TEST_F(hardware, a_process_bound_lazily_keeps_its_trampolines_and_the_disarm_says_why) {
  REQUIRE_PKU();
  const char *now = std::getenv("LD_BIND_NOW");
  if (now && *now) GTEST_SKIP() << "LD_BIND_NOW is set: every object here is bound at load";
  const auto *set = reinterpret_cast<const unsigned char *>(dlsym(RTLD_DEFAULT, "pkey_set"));
  if (!set || !holds_pkru_load(set, 96)) GTEST_SKIP() << "this C library's pkey_set holds no WRPKRU";
  EXPECT_EXIT(
      {
        boot_hardware_or_exit();
        int patched = 0;
        const status st = mpk_disarm_foreign_gadgets(patched);
        if (st.ok()) std::_Exit(2);
        std::fprintf(stderr, "%s\n", st.message().c_str());
        std::_Exit(patched == 0 && holds_pkru_load(set, 96) && ldso_holds_xrstor() ? 0 : 3);
      },
      ::testing::ExitedWithCode(0), "is bound lazily, so ld.so's lazy-binding trampolines");
}

TEST_F(hardware, light_gate_leaves_registers_alone) {
  REQUIRE_PKU();
  EXPECT_EXIT(
      {
        boot_hardware_or_exit();
        pass_or_exit(light_gate_register_promises(hw_light::entry()));
      },
      ::testing::ExitedWithCode(0), "");
}

// ---- Signals belong to the runtime (mpk_signals.cc) -----------------------------------------------------

// A domain's signal gate has one callee, the trampoline, which runs a handler only for a delivery the
// runtime armed for the running domain: entered with none armed, it ends the process with its message.
extern "C" void flex_mpk_signal_trampoline();
word call_trampoline(word, word, word, word, word, word) {
  flex_mpk_signal_trampoline();
  return 0;
}
TEST_F(hardware, a_signal_gate_with_no_delivery_armed_ends_the_process) {
  REQUIRE_PKU();
  REQUIRE_KEYED_SIGNAL_STACKS();
  EXPECT_EXIT(
      {
        boot_hardware_or_exit();
        (void)gate<hw_full_1>::call_erased({}, nullptr, &call_trampoline, {});
        std::_Exit(0);
      },
      ::testing::ExitedWithCode(134), "signal gate was entered with no delivery of its own armed");
}

volatile int g_handled = 0;
void *volatile g_frame = nullptr;
void on_usr1(int, siginfo_t *, void *ctx) {
  g_handled = g_handled + 1;
  g_frame = ctx;
}

std::uint32_t read_pkru() {
  std::uint32_t eax, edx;
  asm volatile("rdpkru" : "=a"(eax), "=d"(edx) : "c"(0));
  return eax;
}

// Raises SIGUSR1 inside domain 1 and returns the PKRU the domain has once the handler has returned.
word raise_in_domain(word, word, word, word, word, word) {
  raise(SIGUSR1);
  return read_pkru();
}

// Boots three domains, installs the SIGUSR1 handler, then the signal wall.
void boot_with_signal_wall_or_exit() {
  boot_hardware_or_exit();
  struct sigaction sa {};
  sa.sa_sigaction = on_usr1;
  sa.sa_flags = SA_SIGINFO;
  if (sigaction(SIGUSR1, &sa, nullptr) != 0) std::_Exit(3);
  std::uint64_t token[2];
  if (status st = mpk_signal_wall(token); !st.ok()) {
    std::fprintf(stderr, "signal wall: %s\n", st.message().c_str());
    std::_Exit(4);
  }
}

// What a_handler_installed_at_boot_... checks, in the child; "" when all holds.
std::string signal_round_trip() {
  boot_with_signal_wall_or_exit();
  call_args a;
  const word pkru = hw_light::invoke({}, &raise_in_domain, a);
  std::string err;
  if (g_handled != 1) err += "the handler ran " + std::to_string(g_handled) + " times; ";
  if (pkru != kH1) err += "after the signal the domain had PKRU " + std::to_string(pkru) + "; ";
  std::uintptr_t lo = 0;
  std::uintptr_t hi = 0;
  const auto frame = reinterpret_cast<std::uintptr_t>(g_frame);
  if (!mpk_signal_arena(lo, hi) || frame < lo || frame >= hi) err += "the frame was not on the signal arena; ";
  stack_t ss{};
  if (sigaltstack(nullptr, &ss) != 0 || reinterpret_cast<std::uintptr_t>(ss.ss_sp) < lo ||
      reinterpret_cast<std::uintptr_t>(ss.ss_sp) >= hi) {
    err += "the thread's signal stack is not its block; ";
  }
  if (pkru_can_read(kH1, runtime_key_for(3))) err += "domain 1 can read the runtime's key; ";
  return err;
}

TEST_F(hardware, a_handler_installed_at_boot_runs_and_returns_to_the_domain_it_interrupted) {
  REQUIRE_PKU();
  REQUIRE_KEYED_SIGNAL_STACKS();
  EXPECT_EXIT(pass_or_exit(signal_round_trip()), ::testing::ExitedWithCode(0), "");
}

// Before Linux 6.12 the image boots without the arena, and the lockdown then leaves signals alone.
TEST_F(hardware, kernel_without_keyed_signal_stacks_boots_without_an_arena) {
  REQUIRE_PKU();
  if (mpk_kernel_delivers_onto_keyed_stacks()) GTEST_SKIP() << "this kernel delivers onto keyed stacks";
  EXPECT_EXIT(
      {
        boot_hardware_or_exit();
        std::uintptr_t lo = 0;
        std::uintptr_t hi = 0;
        std::uint64_t token[2];
        pass_or_exit(mpk_signal_arena(lo, hi) || mpk_signal_wall(token).ok() ? "an arena on this kernel" : "");
      },
      ::testing::ExitedWithCode(0), "");
}

extern "C" void flex_mpk_signal_entry_hardware(int, siginfo_t *, void *);
extern "C" void flex_mpk_sigreturn_hardware();

// The entry called as a function (a jump onto its WRPKRU): not on this thread's block, so the process ends.
TEST_F(hardware, a_signal_entry_off_the_runtime_signal_stack_ends_the_process) {
  REQUIRE_PKU();
  REQUIRE_KEYED_SIGNAL_STACKS();
  EXPECT_EXIT(
      {
        boot_with_signal_wall_or_exit();
        flex_mpk_signal_entry_hardware(SIGUSR1, nullptr, nullptr);
        std::_Exit(0);
      },
      ::testing::ExitedWithCode(kGateViolationExitCode), "ran off its thread's runtime signal stack");
}

// A compartment that points a signal straight at the runtime's entry, with a restorer of its own: the entry
// never returns through the frame's pretcode, so that restorer never runs (least of all with the runtime's
// rights), and the interrupted code goes on.
volatile int g_restorer_ran = 0;
extern "C" void evil_restorer() {
  g_restorer_ran = 1;
  std::_Exit(99);
}

// The kernel's sigaction, with the restorer the frame's pretcode will hold.
struct kernel_sigaction {
  void *handler;
  unsigned long flags;
  void *restorer;
  std::uint64_t mask;
};

std::string restorer_never_runs() {
  boot_with_signal_wall_or_exit();
  kernel_sigaction ksa{};
  ksa.handler = reinterpret_cast<void *>(&flex_mpk_signal_entry_hardware);
  ksa.flags = SA_SIGINFO | SA_ONSTACK | 0x04000000;  // SA_RESTORER
  ksa.restorer = reinterpret_cast<void *>(&evil_restorer);
  if (syscall(SYS_rt_sigaction, SIGUSR2, &ksa, nullptr, 8) != 0) return "rt_sigaction failed";
  raise(SIGUSR2);
  return g_restorer_ran ? "the compartment's restorer ran" : "";
}

TEST_F(hardware, the_signal_entry_never_returns_through_a_restorer_it_was_given) {
  REQUIRE_PKU();
  REQUIRE_KEYED_SIGNAL_STACKS();
  EXPECT_EXIT(pass_or_exit(restorer_never_runs()), ::testing::ExitedWithCode(0), "");
}

// A frame that was returned from is scrubbed: returning with it again (a replay) ends the process.
TEST_F(hardware, a_frame_returned_from_cannot_be_replayed) {
  REQUIRE_PKU();
  REQUIRE_KEYED_SIGNAL_STACKS();
  EXPECT_EXIT(
      {
        boot_with_signal_wall_or_exit();
        raise(SIGUSR1);
        if (g_handled != 1 || !g_frame) std::_Exit(5);
        asm volatile("mov %0, %%rsp\n\tjmp flex_mpk_sigreturn_hardware" : : "r"(g_frame) : "memory");
      },
      ::testing::ExitedWithCode(kGateViolationExitCode), "a frame the kernel did not deliver");
}

}  // namespace
}  // namespace flex::runtime
