// The mpk gates' run-time side: the runtime page, the per-thread table, the slot pages, the per-thread
// compartment stacks (a block of them taken on a thread's first entry into a domain), the vector-register
// clearing helper and the fatal stubs the gates jump to when a check fails.
#include <cpuid.h>
#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <cstdio>
#include <cstdlib>

#include "flex/runtime/fault.h"
#include "flex/runtime/mpk_impl.h"

extern "C" {
flex::runtime::detail::mpk_runtime_page flex_mpk_runtime;
__thread flex::runtime::detail::mpk_thread_table flex_mpk_thread;
__thread std::uint32_t flex_mpk_emulated_pkru;
__attribute__((visibility("hidden"))) std::uint64_t flex_mpk_stack_alloc(unsigned key, unsigned emulated);
}

// Gate-section helpers, in assembly because they run between a WRPKRU and the compiled code on either side.
//
// flex_mpk_clear_vectors: zeroes every vector register the CPU has (xmm/ymm/zmm 0-31, k0-7); none carries a
// gate argument (gate arguments are integers). VEX/EVEX-encoded zeroing of an xmm register clears the whole
// ymm/zmm. Preserves every general-purpose register; clobbers flags only.
//
// flex_mpk_gate_abort / flex_mpk_stack_abort: the end of the process when a check fails. Raw write and
// exit_group system calls: no libc, no stack (PKRU and rsp may be anything here), nothing to hijack.
asm(R"(
  .pushsection .text.flex_gates,"ax",@progbits
  .globl flex_mpk_clear_vectors
  .hidden flex_mpk_clear_vectors
  .type flex_mpk_clear_vectors,@function
flex_mpk_clear_vectors:
  testb $2, flex_mpk_runtime(%rip)
  jnz 2f
  testb $1, flex_mpk_runtime(%rip)
  jnz 3f
  pxor %xmm0, %xmm0
  pxor %xmm1, %xmm1
  pxor %xmm2, %xmm2
  pxor %xmm3, %xmm3
  pxor %xmm4, %xmm4
  pxor %xmm5, %xmm5
  pxor %xmm6, %xmm6
  pxor %xmm7, %xmm7
  pxor %xmm8, %xmm8
  pxor %xmm9, %xmm9
  pxor %xmm10, %xmm10
  pxor %xmm11, %xmm11
  pxor %xmm12, %xmm12
  pxor %xmm13, %xmm13
  pxor %xmm14, %xmm14
  pxor %xmm15, %xmm15
  ret
2:
  vpxord %xmm16, %xmm16, %xmm16
  vpxord %xmm17, %xmm17, %xmm17
  vpxord %xmm18, %xmm18, %xmm18
  vpxord %xmm19, %xmm19, %xmm19
  vpxord %xmm20, %xmm20, %xmm20
  vpxord %xmm21, %xmm21, %xmm21
  vpxord %xmm22, %xmm22, %xmm22
  vpxord %xmm23, %xmm23, %xmm23
  vpxord %xmm24, %xmm24, %xmm24
  vpxord %xmm25, %xmm25, %xmm25
  vpxord %xmm26, %xmm26, %xmm26
  vpxord %xmm27, %xmm27, %xmm27
  vpxord %xmm28, %xmm28, %xmm28
  vpxord %xmm29, %xmm29, %xmm29
  vpxord %xmm30, %xmm30, %xmm30
  vpxord %xmm31, %xmm31, %xmm31
  kxorw %k0, %k0, %k0
  kxorw %k1, %k1, %k1
  kxorw %k2, %k2, %k2
  kxorw %k3, %k3, %k3
  kxorw %k4, %k4, %k4
  kxorw %k5, %k5, %k5
  kxorw %k6, %k6, %k6
  kxorw %k7, %k7, %k7
3:
  vpxor %xmm0, %xmm0, %xmm0
  vpxor %xmm1, %xmm1, %xmm1
  vpxor %xmm2, %xmm2, %xmm2
  vpxor %xmm3, %xmm3, %xmm3
  vpxor %xmm4, %xmm4, %xmm4
  vpxor %xmm5, %xmm5, %xmm5
  vpxor %xmm6, %xmm6, %xmm6
  vpxor %xmm7, %xmm7, %xmm7
  vpxor %xmm8, %xmm8, %xmm8
  vpxor %xmm9, %xmm9, %xmm9
  vpxor %xmm10, %xmm10, %xmm10
  vpxor %xmm11, %xmm11, %xmm11
  vpxor %xmm12, %xmm12, %xmm12
  vpxor %xmm13, %xmm13, %xmm13
  vpxor %xmm14, %xmm14, %xmm14
  vpxor %xmm15, %xmm15, %xmm15
  ret
  .size flex_mpk_clear_vectors, .-flex_mpk_clear_vectors

  .globl flex_mpk_gate_abort
  .hidden flex_mpk_gate_abort
  .type flex_mpk_gate_abort,@function
flex_mpk_gate_abort:
  lea .Lflex_gate_msg(%rip), %rsi
  mov $(.Lflex_gate_msg_end - .Lflex_gate_msg), %edx
  jmp flex_mpk_abort_with_message
  .globl flex_mpk_stack_abort
  .hidden flex_mpk_stack_abort
flex_mpk_stack_abort:
  lea .Lflex_stack_msg(%rip), %rsi
  mov $(.Lflex_stack_msg_end - .Lflex_stack_msg), %edx
  jmp flex_mpk_abort_with_message
  .globl flex_mpk_return_abort
  .hidden flex_mpk_return_abort
flex_mpk_return_abort:
  lea .Lflex_return_msg(%rip), %rsi
  mov $(.Lflex_return_msg_end - .Lflex_return_msg), %edx
  .globl flex_mpk_abort_with_message
  .hidden flex_mpk_abort_with_message
flex_mpk_abort_with_message:  # rsi, edx: the message; also mpk_signals.cc's abort
  jmp flex_mpk_sud_abort        # write and exit_group where the system-call wall always lets them through
  .size flex_mpk_gate_abort, .-flex_mpk_gate_abort
  .popsection

  .pushsection .rodata.flex_gates,"a",@progbits
.Lflex_gate_msg:
  .ascii "flex: mpk gate check failed: a WRPKRU ran with a value other than its gate's (a jump into the middle of a gate?); terminating\n"
.Lflex_gate_msg_end:
.Lflex_stack_msg:
  .ascii "flex: mpk gate check failed: a compartment stack pointer lies outside its domain's stack arena (forged stack slot?); terminating\n"
.Lflex_stack_msg_end:
.Lflex_return_msg:
  .ascii "flex: mpk gate check failed: a gate's way back found its caller waiting on another callee (a jump onto a gate's return?); terminating\n"
.Lflex_return_msg_end:
  .popsection
)");
static_assert(flex::runtime::kGateViolationExitCode == 134, "the stubs above exit with 134");
static_assert(offsetof(flex::runtime::detail::mpk_runtime_page, cpu_flags) == 0, "read by the stubs above");

namespace flex::runtime {
namespace {

using detail::mpk_runtime_page;

mpk_runtime_page &rt() {
  return flex_mpk_runtime;
}

// The report of a broken invariant (a fault_line: no printf, whose conversions are tables in key-0 memory
// every compartment may rewrite; these run after boot, with the rights of whichever code entered a gate),
// then abort.
[[noreturn]] void die(fault_line &line) {
  line.emit();
  std::abort();
}
const char *err_name(int e) {  // the errno's name (EINVAL): a table, no translation
  const char *name = ::strerrorname_np(e);
  return name ? name : "an unknown errno";
}

[[noreturn]] void die(const char *msg) {
  die(fault_line().str(msg));
}

// Which blocks are taken, and which domains' stacks each block has mapped (kept when a block is recycled,
// so a later thread reuses the tagged pages: tagging again would be harmless, remapping would not).
std::uint32_t g_lock;
std::uint64_t g_used[kMpkMaxThreads / 64];
std::uint16_t g_mapped[kMpkMaxThreads];

void lock() {
  while (__atomic_exchange_n(&g_lock, 1u, __ATOMIC_ACQUIRE)) __builtin_ia32_pause();
}
void unlock() {
  __atomic_store_n(&g_lock, 0u, __ATOMIC_RELEASE);
}

std::uintptr_t block_base(unsigned key, std::uint64_t block) {
  return rt().stack_lo[key] + block * kMpkStackBlock;
}
std::uintptr_t stack_top(unsigned key, std::uint64_t block) {
  return block_base(key, block) + kMpkStackGuard + kMpkStackSize;
}
// A thread table's block (the block + 1; key-0 memory, so masked) as an index.
std::uint64_t block_index(std::uint64_t block) {
  return (block - 1) % kMpkMaxThreads;
}
// Domain `key`'s stack slot for block index b, on its slot page.
std::uint64_t &slot_word(unsigned key, std::uint64_t b) {
  return reinterpret_cast<std::uint64_t *>(rt().slots[key])[b];
}

// Whether no domain waits on a full gate on block b: every slot of the block is 0 again (a gate's way back
// restores what its entry found). Slots this thread's rights cannot read (a thread a domain started exits
// with that domain's PKRU) count as in use: the block is then kept, never handed out under live frames.
bool block_idle(std::uint64_t b) {
  std::uint32_t pkru = 0;
  if (rt().mode == detail::kModeHardware) asm volatile("rdpkru" : "=a"(pkru) : "c"(0) : "rdx");
  for (unsigned k = 0; k < kPkeyCount; ++k) {
    if (!rt().slots[k]) continue;
    if (!pkru_can_read(pkru, static_cast<int>(k))) return false;
    if (slot_word(k, b) != 0) return false;
  }
  return true;
}

// Returns this thread's block at its exit, unless a domain is still live on it. A pthread key rather than
// a C++ thread_local: registering the latter allocates (with the rights of whichever compartment runs the
// slow path), and the exiting thread may no longer be able to read that compartment's heap.
void release_block(void *) {
  detail::mpk_thread_table &t = flex_mpk_thread;
  if (!t.block || t.cur != 0) return;
  const std::uint64_t b = block_index(t.block);
  if (!block_idle(b)) return;  // a suspended activation
  // The block's stacks keep their pages for its next thread: each stack is one domain's, and after boot
  // the lockdown's layout wall refuses madvise on laid-out memory, since a domain could otherwise wipe
  // another's live stack.
  t = detail::mpk_thread_table{};
  lock();
  g_used[b / 64] &= ~(std::uint64_t{1} << (b % 64));
  unlock();
}

pthread_key_t g_exit_key;
pthread_once_t g_exit_once = PTHREAD_ONCE_INIT;
void make_exit_key() {
  if (::pthread_key_create(&g_exit_key, release_block) != 0) die("flex: pthread_key_create failed");
}

std::uint64_t take_block() {
  lock();
  for (unsigned w = 0; w < kMpkMaxThreads / 64; ++w) {
    if (~g_used[w]) {
      unsigned bit = static_cast<unsigned>(__builtin_ctzll(~g_used[w]));
      g_used[w] |= std::uint64_t{1} << bit;
      unlock();
      return w * 64 + bit;
    }
  }
  unlock();
  die(fault_line().str("flex: more than ").dec(kMpkMaxThreads).str(" threads entered mpk compartments (kMpkMaxThreads)"));
}

// The arena was tagged at boot (reserve_stack_arena), and mprotect keeps a page's key: no protection-key
// call after boot, so the lockdown can refuse them all.
void protect(void *p, std::size_t n, int key) {
  if (::mprotect(p, n, PROT_READ | PROT_WRITE) != 0) {
    die(fault_line().str("flex: cannot map a compartment stack (key ").dec(key).str("): ").str(err_name(errno)));
  }
}

// A block for a new thread (or user thread), with every domain's stack in it mapped: a gate reads the
// callee's slot only with the callee's rights, after its switch, so nothing can be left to do there.
// Returns the block.
std::uint64_t take_mapped_block() {
  const std::uint64_t b = take_block();
  for (unsigned key = 1; key < static_cast<unsigned>(kPkeyCount); ++key) {
    if (!rt().stack_lo[key] || (g_mapped[b] & (1u << key))) continue;
    char *stack = reinterpret_cast<char *>(block_base(key, b) + kMpkStackGuard);
    protect(stack, kMpkStackSize, static_cast<int>(key));
    protect(stack + kMpkDssOffset, kMpkStackSize, static_cast<int>(rt().shared_key));
    lock();
    g_mapped[b] |= static_cast<std::uint16_t>(1u << key);
    unlock();
  }
  return b;
}

// What a gate's slow path and a user thread's block need: the runtime booted in the gate's mode, and
// `key` one of its domains'.
void check_mode_and_key(unsigned key, unsigned emulated) {
  const detail::mpk_runtime_page &page = rt();
  if (emulated && page.mode != detail::kModeEmulated) {
    die("flex: an emulated mpk gate ran without flex::runtime::testing::emulate_mpk()");
  }
  if (!emulated && page.mode != detail::kModeHardware) {
    die("flex: an mpk gate ran before mpk_boot() set the protection keys up; refusing to run unprotected");
  }
  if (key == 0 || key >= static_cast<unsigned>(kPkeyCount) || !page.stack_lo[key]) {
    die(fault_line().str("flex: an mpk gate entered key ").dec(key).str(", which belongs to no booted domain"));
  }
}

void init_cpu_flags() __attribute__((constructor));
void init_cpu_flags() {
  if (rt().mode == detail::kModeOff) rt().cpu_flags = detail::detect_cpu_flags();
}

}  // namespace

namespace detail {

std::uint32_t detect_cpu_flags() {
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_OSXSAVE)) return 0;
  std::uint32_t lo = 0, hi = 0;
  asm volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  std::uint64_t xcr0 = (std::uint64_t{hi} << 32) | lo;
  std::uint32_t flags = 0;
  if ((c & bit_AVX) && (xcr0 & 0x6) == 0x6) flags |= kCpuAvx;  // SSE and AVX state enabled
  if ((flags & kCpuAvx) && __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & bit_AVX512F) &&
      (xcr0 & 0xe0) == 0xe0) {  // opmask, ZMM_Hi256, Hi16_ZMM state enabled
    flags |= kCpuAvx512;
  }
  return flags;
}

void mpk_lock_runtime() {
  if (::mprotect(&flex_mpk_runtime, sizeof flex_mpk_runtime, PROT_READ) != 0) {
    flex::runtime::die(fault_line().str("flex: cannot make the mpk runtime page read-only: ").str(err_name(errno)));
  }
}

// The arena stays without access until a thread's block is mapped; with `shared_key` (hardware MPK) its
// stacks are tagged with `stack_key` (the domain's own, or the shared key under light gates, whose callees
// run on their caller's stack) and their DSS mirrors with the shared key now, at boot. The page under the
// arena is the key's slot page, read and write, tagged like its stacks: whoever may write the domain's
// stacks may write where they start, no one else. Key 0's slot page (the runtime's slots) comes with the
// first arena.
bool reserve_stack_arena(unsigned key, int shared_key, int stack_key) {
  if (rt().stack_lo[key]) return true;
  if (!rt().slots[0]) {
    void *p0 = ::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p0 == MAP_FAILED) return false;
    rt().slots[0] = reinterpret_cast<std::uintptr_t>(p0);
  }
  std::size_t bytes = std::size_t{kMpkMaxThreads} * kMpkStackBlock;
  void *p = ::mmap(nullptr, 4096 + bytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) return false;
  const int slot_rc = shared_key >= 0 ? ::pkey_mprotect(p, 4096, PROT_READ | PROT_WRITE, stack_key)
                                      : ::mprotect(p, 4096, PROT_READ | PROT_WRITE);
  if (slot_rc != 0) return false;
  rt().slots[key] = reinterpret_cast<std::uintptr_t>(p);
  rt().stack_lo[key] = reinterpret_cast<std::uintptr_t>(p) + 4096;
  rt().stack_hi[key] = rt().stack_lo[key] + bytes;
  for (std::uint64_t b = 0; shared_key >= 0 && b < kMpkMaxThreads; ++b) {
    char *stack = reinterpret_cast<char *>(block_base(key, b) + kMpkStackGuard);
    if (::pkey_mprotect(stack, kMpkStackSize, PROT_NONE, stack_key) != 0 ||
        ::pkey_mprotect(stack + kMpkDssOffset, kMpkStackSize, PROT_NONE, shared_key) != 0) {
      return false;
    }
  }
  return true;
}

std::uint64_t *mpk_slot(unsigned key) {
  const std::uint64_t block = flex_mpk_thread.block;
  if (key >= static_cast<unsigned>(kPkeyCount) || !block || !rt().slots[key]) return nullptr;
  return &slot_word(key, block_index(block));
}

}  // namespace detail

namespace detail {

bool mpk_has_free_block() {
  lock();
  bool any = false;
  for (unsigned w = 0; w < kMpkMaxThreads / 64 && !any; ++w) any = ~g_used[w] != 0;
  unlock();
  return any;
}

// A user thread's block (uthread.cc): given back like a host thread's at its exit.
void mpk_release_table(mpk_thread_table &t) {
  if (!t.block) return;
  const std::uint64_t b = block_index(t.block);
  t = mpk_thread_table{};  // its stacks keep their pages, as release_block's
  lock();
  g_used[b / 64] &= ~(std::uint64_t{1} << (b % 64));
  unlock();
}

}  // namespace detail

mpk_stack_range mpk_thread_stack(int key) {
  const detail::mpk_thread_table &t = flex_mpk_thread;
  const std::uint64_t b = block_index(t.block);
  if (key <= 0 || key >= kPkeyCount || !t.block || !(g_mapped[b] & (1u << key))) return {};
  std::uintptr_t top = stack_top(static_cast<unsigned>(key), b);
  return {top - kMpkStackSize, top};
}

std::uintptr_t mpk_entry_stack(int key) {
  if (rt().mode != detail::kModeHardware || key <= 0 || key >= kPkeyCount || !rt().stack_lo[key]) return 0;
  const auto k = static_cast<unsigned>(key);
  detail::mpk_thread_table &t = flex_mpk_thread;
  if (!t.block) flex_mpk_stack_alloc(k, 0);
  const std::uint64_t b = block_index(t.block);
  std::uintptr_t sp = static_cast<std::uintptr_t>(slot_word(k, b) << (64 - detail::kMpkSlotTagShift) >> (64 - detail::kMpkSlotTagShift));
  if (!sp) sp = stack_top(k, b);
  if (sp <= rt().stack_lo[k] || sp > rt().stack_hi[k] || !mpk_on_stack_part(rt().stack_lo[k], sp)) return 0;
  return sp & ~std::uintptr_t{15};
}

std::uint64_t mpk_suspend_slot(int key, std::uintptr_t sp) {
  if (rt().mode != detail::kModeHardware || key <= 0 || key >= kPkeyCount || !rt().stack_lo[key]) return kMpkNoSlot;
  const auto k = static_cast<unsigned>(key);
  const detail::mpk_thread_table &t = flex_mpk_thread;
  if (!t.block) return kMpkNoSlot;
  const std::uint64_t b = block_index(t.block);
  const std::uintptr_t below = (sp - detail::kMpkUthreadReserve) & ~std::uintptr_t{15};
  if (sp < block_base(k, b) + kMpkStackGuard || sp > stack_top(k, b) || below <= block_base(k, b) + kMpkStackGuard) return kMpkNoSlot;
  const std::uint64_t before = slot_word(k, b);
  slot_word(k, b) = below | (detail::kMpkSlotSuspended << detail::kMpkSlotTagShift);
  return before;
}

void mpk_restore_slot(int key, std::uint64_t word) {
  if (word == kMpkNoSlot || rt().mode != detail::kModeHardware || key <= 0 || key >= kPkeyCount || !rt().stack_lo[key]) return;
  const detail::mpk_thread_table &t = flex_mpk_thread;
  if (t.block) slot_word(static_cast<unsigned>(key), block_index(t.block)) = word;
}

namespace testing {

void emulate_mpk(unsigned n_domains) {
  if (n_domains == 0 || n_domains > static_cast<unsigned>(kMaxMpkDomains)) {
    die(fault_line().str("flex: emulate_mpk(").dec(n_domains).str("): 1..").dec(kMaxMpkDomains).str(" domains"));
  }
  for (unsigned k = 1; k <= n_domains; ++k) {
    if (!detail::reserve_stack_arena(k, -1, -1)) die(fault_line().str("flex: cannot reserve a stack arena: ").str(err_name(errno)));
  }
  rt().cpu_flags = detail::detect_cpu_flags();
  rt().shared_key = n_domains + 1;
  rt().mode = detail::kModeEmulated;
}

std::uint32_t emulated_pkru() {
  return flex_mpk_emulated_pkru;
}
void forge_free_block(std::uint64_t b) {
  g_used[(b % kMpkMaxThreads) / 64] &= ~(std::uint64_t{1} << (b % 64));
}

void set_emulated_pkru(std::uint32_t pkru) {
  flex_mpk_emulated_pkru = pkru;
}

}  // namespace testing
}  // namespace flex::runtime

namespace flex::runtime {

std::size_t mpk_uthread_state_size() {
  return sizeof(detail::mpk_uthread_state);
}

namespace {

// The domain a scheduler's user-thread call runs in (its key; 0: no full gate has entered one). On PKU its
// PKRU names it (the thread table's `cur` is key-0 memory, a hint a domain may rewrite, and code may jump
// past the gate's write of it); the runtime's own rights name none. Emulated, the hint; with light gates
// too, where the hint names the domain the runtime entered (the scheduler's threads then run on that
// domain's stacks, which are every domain's).
unsigned scheduler_key() {
  const auto hint = static_cast<unsigned>(flex_mpk_thread.cur & 15);
  if (rt().mode != detail::kModeHardware || rt().light_gates) return hint;
  std::uint32_t pkru = 0;
  asm volatile("rdpkru" : "=a"(pkru) : "c"(0) : "rdx");
  if (pkru == kPkruRuntime) return 0;
  for (unsigned d = 0; d < rt().n_domains; ++d) {
    if (rt().domain_pkru[d] == pkru) return d + 1;
  }
  die("flex: a user-thread call with rights no domain has; terminating");
}

// Whether `frame` (the scheduler's, in its call) lies on domain `key`'s stack of block `block` (+ 1): the
// block the scheduler really runs on, whatever the thread table says. (Not with light gates, where the
// scheduler runs on its caller's stack.)
bool runs_on_block(unsigned key, std::uint64_t block, std::uintptr_t frame) {
  const std::uintptr_t lo = rt().stack_lo[key];
  return frame > lo && frame < rt().stack_hi[key] && ((frame - lo) >> detail::kMpkBlockShift) == block - 1 &&
         mpk_on_stack_part(lo, frame);
}

std::uint64_t &scheduler_slot(unsigned key, std::uint64_t block) {
  return slot_word(key, block_index(block));
}

// The blocks the scheduler's user threads hold (the boot thread's from its first switch on), a bit each, in
// the second half of the scheduler's own slot page: under its key, where the block bitmap (key-0 memory)
// is anyone's. A block held there is never handed out again until its thread is released.
std::uint64_t *held_blocks(unsigned key) {
  return reinterpret_cast<std::uint64_t *>(rt().slots[key] + kMpkMaxThreads * 8);
}
bool held(unsigned key, std::uint64_t block) {
  const std::uint64_t b = block_index(block);
  return (held_blocks(key)[b / 64] >> (b % 64)) & 1u;
}
void set_held(unsigned key, std::uint64_t block, bool on) {
  const std::uint64_t b = block_index(block), bit = std::uint64_t{1} << (b % 64);
  held_blocks(key)[b / 64] = on ? held_blocks(key)[b / 64] | bit : held_blocks(key)[b / 64] & ~bit;
}

// Where the suspended frames of a scheduler that switches out end, from a frame of its switch call.
std::uint64_t suspended_slot(std::uintptr_t frame) {
  return ((frame - detail::kMpkUthreadReserve) & ~std::uintptr_t{15}) |
         (detail::kMpkSlotSuspended << detail::kMpkSlotTagShift);
}

}  // namespace

int mpk_uthread_init(void *state, void **stack_top, std::size_t *stack_size) {
  detail::mpk_uthread_state st{};
  *stack_top = nullptr;
  *stack_size = 0;
  std::memset(state, 0, sizeof st);
  const unsigned key = scheduler_key();
  if (key == 0) return 0;  // no full gates: the caller's own stack, a state of zeros
  if (!detail::mpk_has_free_block()) return -EAGAIN;
  check_mode_and_key(key, flex_mpk_runtime.mode == detail::kModeEmulated ? 1u : 0u);
  const std::uint64_t b = take_mapped_block();
  st.cur = key;
  st.block = b + 1;
  // The block bitmap is key-0 memory: a block some user thread still has frames on (its scheduler's slot
  // there records them) or the one the scheduler runs on must not come back.
  if (held(key, st.block) || scheduler_slot(key, st.block) != 0 ||
      (!rt().light_gates && runs_on_block(key, st.block, reinterpret_cast<std::uintptr_t>(__builtin_frame_address(0))))) {
    die("flex: a block of stacks handed out while a user thread has frames on it (forged block bitmap?); terminating");
  }
  set_held(key, st.block, true);
  const std::uintptr_t top = flex::runtime::stack_top(key, b);
  // The scheduler writes the new thread's first frame at the top: an entry into the scheduler on this
  // block (a thread table naming it) starts below it.
  scheduler_slot(key, st.block) = suspended_slot(top);
  std::memcpy(state, &st, sizeof st);
  *stack_top = reinterpret_cast<void *>(top);
  *stack_size = kMpkStackSize;
  return 0;
}

void mpk_uthread_switch(void *save, const void *load) {
  const unsigned key = scheduler_key();
  detail::mpk_thread_table &t = flex_mpk_thread;
  if (save) {
    detail::mpk_uthread_state st;
    std::memcpy(&st, save, sizeof st);
    const auto frame = reinterpret_cast<std::uintptr_t>(__builtin_frame_address(0));
    if (!st.block) {
      // The thread the scheduler started on: its block from its first switch on. Not a block another user
      // thread left (the scheduler's slot there records its frames), and the one the scheduler runs on.
      st.block = t.block;
      if (key && st.block) {
        if (held(key, st.block) ||
            (scheduler_slot(key, st.block) >> detail::kMpkSlotTagShift) == detail::kMpkSlotSuspended) {
          die("flex: the thread table names another user thread's block (forged?); terminating");
        }
        set_held(key, st.block, true);
      }
    } else if (st.block != t.block) {
      die("flex: the thread table names another block than the running user thread's (forged?); terminating");
    }
    if (key && st.block && !rt().light_gates && !runs_on_block(key, st.block, frame)) {
      die("flex: a user-thread switch off the running thread's block (forged thread table?); terminating");
    }
    st.cur = t.cur;
    if (key && st.block) {
      std::uint64_t &slot = scheduler_slot(key, st.block);
      st.saved_slot = slot;
      slot = suspended_slot(frame);
    }
    std::memcpy(save, &st, sizeof st);
  }
  if (load) {
    detail::mpk_uthread_state st;
    std::memcpy(&st, load, sizeof st);
    t.cur = st.cur;
    t.block = st.block;
    if (key && st.block) scheduler_slot(key, st.block) = st.saved_slot;
  }
}

void mpk_uthread_release(void *state) {
  detail::mpk_uthread_state st;
  std::memcpy(&st, state, sizeof st);
  if (st.block) {
    const unsigned key = scheduler_key();
    if (key) {
      scheduler_slot(key, st.block) = 0;  // its suspended frames are gone
      set_held(key, st.block, false);
    }
    detail::mpk_thread_table t{st.cur, st.block};
    detail::mpk_release_table(t);
  }
  std::memset(state, 0, sizeof st);
}

}  // namespace flex::runtime

// The gates' slow path: this thread's first entry into any domain (into `key`). Runs on the caller's stack
// with the caller's rights (before the gate's WRPKRU): takes a block with every domain's stack mapped, and
// returns it + 1 (what the thread table keeps).
extern "C" __attribute__((visibility("hidden"))) std::uint64_t flex_mpk_stack_alloc(unsigned key, unsigned emulated) {
  using namespace flex::runtime;
  check_mode_and_key(key, emulated);
  detail::mpk_thread_table &t = flex_mpk_thread;
  if (!t.block) {
    t.block = take_mapped_block() + 1;
    ::pthread_once(&g_exit_once, make_exit_key);
    ::pthread_setspecific(g_exit_key, &t);  // any non-null value: the destructor runs at thread exit
  }
  return t.block;
}

// The DSS mirror of a local: only on this thread's own stack of an mpk domain (see mpk.h's block layout).
extern "C" void *flexos_dss_address(const void *local) {
  const auto a = reinterpret_cast<std::uintptr_t>(local);
  // A local being shared is almost always on the running domain's stack: look there first.
  const auto cur = static_cast<int>(flex_mpk_thread.cur & 15);
  if (cur > 0) {
    flex::runtime::mpk_stack_range r = flex::runtime::mpk_thread_stack(cur);
    if (r.lo && a >= r.lo && a < r.hi) return reinterpret_cast<void *>(a + flex::runtime::kMpkDssOffset);
  }
  for (int key = 1; key < flex::runtime::kPkeyCount; ++key) {
    flex::runtime::mpk_stack_range r = flex::runtime::mpk_thread_stack(key);
    if (r.lo && a >= r.lo && a < r.hi) return reinterpret_cast<void *>(a + flex::runtime::kMpkDssOffset);
  }
  return nullptr;
}
