// Intel MPK memory domains and gates (DESIGN.md §5, §6).
//
// Keys: every compartment that shares the address space (isolation mpk or none, in an image with at least
// one mpk compartment) is an "mpk domain"; domain i in profile order gets key i+1, the shared key is the next
// one, key 0 stays with glibc, the loader and this runtime. The assignment is deterministic, so the PKRU
// value of each domain is a build-time constant and the gates carry it as an immediate:
//
//   constexpr std::uint32_t kApp = flex::gates::pkru_for(1, 3), kNet = flex::gates::pkru_for(2, 3);
//   using app_to_net = flex::gates::gate<flex::gates::mpk_full<kApp, kNet, /*callee domain*/ 1>>;
//   long n = app_to_net::call({}, &counter, &net_recv, fd, buf, sizeof buf, 0);
//
// Boot, in this order (see mpk_boot below): pku_status() (mpk_boot checks it too), mpk_boot(flex_image),
// then enter the first compartment through a gate whose caller PKRU is kPkruRuntime.
//
// Gates (each WRPKRU in section .text.flex_gates, which the image's linker script collects into
// .flex.gates.text, the only range the gadget scanner allows):
//   mpk_light<Caller, Callee>          WRPKRU(Callee); call; WRPKRU(Caller). No stack switch: the callee runs
//                                      on the caller's stack (key 0), so light trusts the callee with it.
//   mpk_full<Caller, Callee, Index>    light plus a switch to the callee's stack for this thread (tagged with
//                                      its key, guard pages, a shared-key DSS mirror at kMpkDssOffset),
//                                      callee-saved registers kept on the caller's stack, and every register
//                                      that is neither an argument nor the result cleared both ways.
// Each WRPKRU is followed by `cmp $imm, %eax; jne flex_mpk_gate_abort` (ERIM): jumping onto a WRPKRU with
// any other EAX ends the process. Nothing unwinds through a gate (no exceptions cross one); backtraces
// stop at mpk_full gates.
//
// Not defended yet (compartments may write key-0 memory, DESIGN.md §5): the per-thread stack table lives in
// key-0 TLS, so a compartment can redirect which of a domain's stacks the next entry uses (the gate checks
// only that the stack lies in that domain's arena); and the target arrives as a pointer, so code that
// hijacks control flow and jumps onto a WRPKRU with the right EAX runs a target of its choosing with the
// callee's rights (the ERIM check stops only other values). Signal handlers need sigaltstack: a signal may
// arrive on any domain's stack. Threads must enter their compartment through a gate (a thread started by a
// compartment runs on glibc's key-0 stack until it does).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "flex/gates/gate.h"
#include "flex/gates/heap.h"
#include "flex/gates/layout.h"

namespace flex::gates {

// ---- Keys and PKRU values ----------------------------------------------------------------------------

inline constexpr int kPkeyCount = 16;
inline constexpr int kMaxMpkDomains = 14;  // 16 keys minus key 0 and the shared key
inline constexpr std::uint32_t kPkruAllAccess = 0;
// What the runtime (key 0 code: boot, the image's main) runs with once it has booted the domains.
inline constexpr std::uint32_t kPkruRuntime = kPkruAllAccess;

// PKRU holds two bits per key: AD (bit 2k, access disable) and WD (bit 2k+1, write disable).
constexpr std::uint32_t pkru_deny_bits(int key) {
  return 3u << (2 * key);
}
constexpr bool pkru_can_read(std::uint32_t pkru, int key) {
  return !((pkru >> (2 * key)) & 1u);
}
constexpr bool pkru_can_write(std::uint32_t pkru, int key) {
  return !((pkru >> (2 * key)) & 3u);
}

// Full access to key 0, `key`, `shared_key` and every key in the `also` bitmask; AD|WD on every other key.
constexpr std::uint32_t pkru_for(int key, int shared_key, std::uint16_t also = 0) {
  std::uint32_t allowed = 1u | (1u << key) | (1u << shared_key) | also;
  std::uint32_t pkru = 0;
  for (int k = 0; k < kPkeyCount; ++k) {
    if (!((allowed >> k) & 1u)) pkru |= pkru_deny_bits(k);
  }
  return pkru;
}

constexpr int domain_key(unsigned domain_index) {
  return static_cast<int>(domain_index) + 1;
}
constexpr int shared_key_for(unsigned n_domains) {
  return static_cast<int>(n_domains) + 1;
}

struct mpk_domain {
  unsigned compartment = 0;  // index in flex_image.compartments
  int key = 0;
  std::uint32_t pkru = 0;  // the rights while this compartment runs
  bool none = false;       // isolation: none (it shares rights with every other none domain)
};

struct mpk_plan {
  unsigned n_domains = 0;
  int shared_key = 0;  // 0: the image has no mpk compartment, so no domains
  mpk_domain domains[kMaxMpkDomains] = {};

  constexpr int key_of(unsigned compartment) const {
    for (unsigned i = 0; i < n_domains; ++i) {
      if (domains[i].compartment == compartment) return domains[i].key;
    }
    return 0;
  }
};

// The key assignment, from each compartment's `enum flex_isolation` in profile order. False when more than
// kMaxMpkDomains compartments share the address space (flexbuild rejects such profiles first).
// A none compartment's PKRU also opens the other none domains: they call each other with plain calls.
constexpr bool plan_mpk(const int *isolations, unsigned n, mpk_plan &out) {
  out = mpk_plan{};
  bool any_mpk = false;
  unsigned members = 0;
  for (unsigned i = 0; i < n; ++i) {
    any_mpk = any_mpk || isolations[i] == FLEX_ISO_MPK;
    members += isolations[i] != FLEX_ISO_PROCESS;
  }
  if (!any_mpk) return true;
  if (members > static_cast<unsigned>(kMaxMpkDomains)) return false;
  std::uint16_t none_keys = 0;
  for (unsigned i = 0; i < n; ++i) {
    if (isolations[i] == FLEX_ISO_PROCESS) continue;
    mpk_domain &d = out.domains[out.n_domains];
    d.compartment = i;
    d.key = domain_key(out.n_domains++);
    d.none = isolations[i] == FLEX_ISO_NONE;
    if (d.none) none_keys |= static_cast<std::uint16_t>(1u << d.key);
  }
  out.shared_key = shared_key_for(out.n_domains);
  for (unsigned i = 0; i < out.n_domains; ++i) {
    mpk_domain &d = out.domains[i];
    d.pkru = pkru_for(d.key, out.shared_key, d.none ? none_keys : 0);
  }
  return true;
}

// The same for an image; an error message when the image cannot have its keys.
std::optional<std::string> plan_mpk(const flex_image_layout &img, mpk_plan &out);

// ---- PKU support -------------------------------------------------------------------------------------

struct pku_support {
  bool available = false;
  std::string reason;  // why not, for people: "the CPU does not support protection keys (...)"
};

// CPUID.(EAX=7,ECX=0):ECX.PKU[bit 3] and OSPKE[bit 4], then a pkey_alloc/pkey_free probe. Cached.
const pku_support &pku_status();
// The decision itself, from the raw facts (tests). probe_errno: 0 if pkey_alloc worked.
pku_support pku_status_from(std::uint32_t max_cpuid_leaf, std::uint32_t leaf7_ecx, int probe_errno);

// ---- Boot --------------------------------------------------------------------------------------------

struct mpk_boot_options {
  std::size_t default_heap_mib = 64;  // compartments whose heap_mib is 0
  std::size_t shared_heap_mib = 64;
  // When set, the shared heap lives here instead of in a fresh private mapping: an image that also has
  // process compartments passes the MAP_SHARED region they map at the same address. Tagged in place.
  heap_region shared_heap_region = {};
  // When set (with shared_heap_region its region), this heap is the shared heap, as it is: the process
  // backend created it before forking, and the other processes already use it.
  heap *shared_heap = nullptr;
};

// Boots the image's mpk domains: checks PKU (an image with mpk compartments refuses to boot without it:
// never runs unprotected), allocates keys 1..shared with pkey_alloc and refuses unless it gets exactly
// those, tags each domain's .rodata/.data/.bss with its key and .data_shared with the shared key (keeping
// their protection), maps and tags one heap per domain and the shared heap, reserves each domain's stack
// arena, installs the malloc dispatch and makes the runtime page read-only. Single-threaded, once, before
// any gate runs. Returns an error message, or nothing on success (and for images without mpk domains,
// where it does nothing).
std::optional<std::string> mpk_boot(const flex_image_layout &img, const mpk_boot_options &opt = {});
// The plan mpk_boot used (n_domains == 0 before boot or without domains).
const mpk_plan &mpk_booted_plan();

// Tags [begin, end) (page-aligned) with `key`, keeping each page's current protection (read from
// /proc/self/maps). Never remaps: a fresh mmap over a tagged range would reset it to key 0.
std::optional<std::string> mpk_tag_range(void *begin, void *end, int key);

// What mpk_tag_range does, as a pure function of /proc/self/maps: the protection of each piece.
struct tag_piece {
  std::uintptr_t begin = 0, end = 0;
  int prot = 0;  // PROT_* of the mapping the piece lies in
};
std::optional<std::string> plan_tagging(std::string_view maps, std::uintptr_t begin, std::uintptr_t end,
                                        std::vector<tag_piece> &out);

// ---- Per-thread compartment stacks -------------------------------------------------------------------

// Each thread gets one block per domain arena, taken at its first mpk_full entry into any domain:
//   [guard][stack: the domain's key][guard][DSS mirror: the shared key]
// A whitelisted local at address a has its DSS copy at a + kMpkDssOffset. Costs: address space only
// (kMpkMaxThreads blocks per domain reserved at boot); pages are committed as the stacks grow.
inline constexpr std::size_t kMpkStackSize = std::size_t{8} << 20;
inline constexpr std::size_t kMpkStackGuard = std::size_t{64} << 10;
inline constexpr std::size_t kMpkStackBlock = 2 * (kMpkStackGuard + kMpkStackSize);
inline constexpr std::size_t kMpkDssOffset = kMpkStackSize + kMpkStackGuard;
inline constexpr unsigned kMpkMaxThreads = 256;
// How the process ends when a gate check fails (a WRPKRU reached with another EAX, a forged stack).
inline constexpr int kGateViolationExitCode = 134;

struct mpk_stack_range {
  std::uintptr_t lo = 0, hi = 0;  // [lo, hi): this thread's stack in that domain; 0 if none yet
};
mpk_stack_range mpk_thread_stack(int key);

// ---- The gates ---------------------------------------------------------------------------------------

enum class pkru_insn {
  hardware,  // WRPKRU
  emulated,  // tests on machines without PKU: a store of EAX to testing::emulated_pkru(), same checks
};

namespace detail {

// The runtime page: written at boot, then read-only (mpk_lock_runtime), so no compartment can redirect the
// gates' stack checks or the malloc dispatch. Offsets are used by the gates' assembly.
struct alignas(4096) mpk_runtime_page {
  std::uint32_t cpu_flags;  // kCpuAvx | kCpuAvx512: which vector registers the gates clear
  std::uint32_t mode;       // kModeOff, kModeHardware (mpk_boot) or kModeEmulated (testing)
  std::uint32_t shared_key;
  std::uint32_t heaps_on;
  std::uint64_t stack_lo[kPkeyCount];  // per key: its stack arena [lo, hi); 0 for keys without one
  std::uint64_t stack_hi[kPkeyCount];
  heap_dispatch heaps;
  std::size_t (*glibc_usable_size)(void *);
};
static_assert(sizeof(mpk_runtime_page) == 4096);
inline constexpr std::uint32_t kCpuAvx = 1, kCpuAvx512 = 2;
inline constexpr std::uint32_t kModeOff = 0, kModeHardware = 1, kModeEmulated = 2;

// One per thread (initial-exec TLS, so the gates reach it with one GOT load and %fs).
struct mpk_thread_table {
  std::uint64_t sp[kPkeyCount];  // per key: where the next entry into that domain starts; [0]: the
                                 // thread's own stack (code running outside every domain)
  std::uint64_t cur;             // the key whose domain runs on this thread (0: none)
  std::uint64_t block;           // this thread's stack block + 1 (0: none yet)
};

void mpk_lock_runtime();
std::uint32_t detect_cpu_flags();
bool reserve_stack_arena(unsigned key);  // kMpkMaxThreads blocks of address space, no access yet

}  // namespace detail
}  // namespace flex::gates

extern "C" {
extern flex::gates::detail::mpk_runtime_page flex_mpk_runtime __attribute__((visibility("hidden")));
extern __thread flex::gates::detail::mpk_thread_table flex_mpk_thread
    __attribute__((tls_model("initial-exec"), visibility("hidden")));
extern __thread std::uint32_t flex_mpk_emulated_pkru __attribute__((visibility("hidden")));
}

// The gate bodies. Register use follows the SysV ABI: arguments in rdi rsi rdx rcx r8 r9, the target (the
// seventh argument of the entry functions) at 8(%rsp). WRPKRU needs ECX = EDX = 0, so rdx/rcx are parked
// in r10/r11 around it. The ERIM check compares EAX with the immediate after each WRPKRU.
// clang-format off
#define FLEX_MPK_WRPKRU_HW "wrpkru\n\t"
#define FLEX_MPK_WRPKRU_EMULATED                                                                        \
  "test %%ecx, %%ecx\n\t"                                                                               \
  "jnz 7f\n\t"                                                                                          \
  "test %%edx, %%edx\n\t"                                                                               \
  "jz 8f\n"                                                                                             \
  "7:\n\t"                                                                                              \
  "ud2\n" /* the hardware raises #GP when ECX or EDX is not zero */                                     \
  "8:\n\t"                                                                                              \
  "movl %%eax, %%fs:flex_mpk_emulated_pkru@tpoff\n\t"

#define FLEX_MPK_SET_PKRU(WRPKRU, IMM)                                                                  \
  "xor %%ecx, %%ecx\n\t"                                                                                \
  "xor %%edx, %%edx\n\t"                                                                                \
  "mov " IMM ", %%eax\n\t" WRPKRU "cmp " IMM ", %%eax\n\t"                                              \
  "jne flex_mpk_gate_abort\n\t"

#define FLEX_MPK_LIGHT_BODY(WRPKRU)                                                                     \
  "push %%rbx\n\t"                                                                                      \
  ".cfi_adjust_cfa_offset 8\n\t"                                                                        \
  ".cfi_rel_offset %%rbx, 0\n\t"                                                                        \
  "mov 16(%%rsp), %%rbx\n\t" /* the target, read while the caller's rights hold */                      \
  "mov %%rdx, %%r10\n\t"                                                                                \
  "mov %%rcx, %%r11\n\t" FLEX_MPK_SET_PKRU(WRPKRU, "%[e]") "mov %%r10, %%rdx\n\t"                       \
  "mov %%r11, %%rcx\n\t"                                                                                \
  "call *%%rbx\n\t"                                                                                     \
  "mov %%rax, %%r10\n\t" FLEX_MPK_SET_PKRU(WRPKRU, "%[c]") "mov %%r10, %%rax\n\t"                       \
  "pop %%rbx\n\t"                                                                                       \
  ".cfi_adjust_cfa_offset -8\n\t"                                                                       \
  ".cfi_restore %%rbx\n\t"                                                                              \
  "ret\n\t"

#define FLEX_MPK_CLEAR_SCRATCH                                                                          \
  "xor %%esi, %%esi\n\t"                                                                                \
  "xor %%edi, %%edi\n\t"                                                                                \
  "xor %%r8d, %%r8d\n\t"                                                                                \
  "xor %%r9d, %%r9d\n\t"                                                                                \
  "xor %%r10d, %%r10d\n\t"                                                                              \
  "xor %%r11d, %%r11d\n\t"

// Full gate. Callee-saved registers and the caller's previous entry point go on the caller's stack; the
// caller's stack pointer goes into its slot of the thread table, so re-entries into the caller (callbacks)
// start below its live frames; the caller's key (for the way back) and the target (so that no register
// holds it) go on the callee's stack. Stack pointers taken from the (key-0, writable) thread table are
// checked against the domain's arena bounds in the read-only runtime page before use.
#define FLEX_MPK_FULL_BODY(WRPKRU)                                                                      \
  ".cfi_undefined %%rip\n\t" /* backtraces end here */                                                 \
  "push %%rbp\n\t"                                                                                      \
  "push %%rbx\n\t"                                                                                      \
  "push %%r12\n\t"                                                                                      \
  "push %%r13\n\t"                                                                                      \
  "push %%r14\n\t"                                                                                      \
  "push %%r15\n\t"                                                                                      \
  "mov 56(%%rsp), %%r12\n\t" /* the target */                                                           \
  "mov flex_mpk_thread@gottpoff(%%rip), %%r13\n\t"                                                      \
  "lea flex_mpk_runtime(%%rip), %%r15\n\t"                                                              \
  "mov %%fs:%c[cur](%%r13), %%rbx\n\t" /* the caller's key */                                           \
  "and $15, %%ebx\n\t"                                                                                  \
  "push %%fs:(%%r13,%%rbx,8)\n\t"                                                                       \
  "mov %%rsp, %%fs:(%%r13,%%rbx,8)\n\t"                                                                 \
  "mov %%fs:%c[spk](%%r13), %%r14\n\t" /* where the callee's stack starts */                            \
  "test %%r14, %%r14\n\t"                                                                               \
  "jz .Lflex_slow%=\n"                                                                                  \
  ".Lflex_have%=:\n\t"                                                                                  \
  "cmp %c[lok](%%r15), %%r14\n\t"                                                                       \
  "jbe flex_mpk_stack_abort\n\t"                                                                        \
  "cmp %c[hik](%%r15), %%r14\n\t"                                                                       \
  "ja flex_mpk_stack_abort\n\t"                                                                         \
  "movq %[key], %%fs:%c[cur](%%r13)\n\t"                                                                \
  "mov %%rdx, %%r10\n\t"                                                                                \
  "mov %%rcx, %%r11\n\t" FLEX_MPK_SET_PKRU(WRPKRU, "%[e]") "mov %%r14, %%rsp\n\t"                       \
  "push %%rbx\n\t"                                                                                      \
  "push %%r12\n\t" /* the target: called from the callee's stack, held by no register */              \
  "mov %%r10, %%rdx\n\t"                                                                                \
  "mov %%r11, %%rcx\n\t"                                                                                \
  "call flex_mpk_clear_vectors\n\t"                                                                     \
  "xor %%eax, %%eax\n\t"                                                                                \
  "xor %%r10d, %%r10d\n\t"                                                                              \
  "xor %%r11d, %%r11d\n\t"                                                                              \
  "xor %%ebx, %%ebx\n\t"                                                                                \
  "xor %%ebp, %%ebp\n\t"                                                                                \
  "xor %%r12d, %%r12d\n\t"                                                                              \
  "xor %%r13d, %%r13d\n\t"                                                                              \
  "xor %%r14d, %%r14d\n\t"                                                                              \
  "xor %%r15d, %%r15d\n\t"                                                                              \
  "cld\n\t"                                                                                             \
  "call *(%%rsp)\n\t"                                                                                   \
  "add $8, %%rsp\n\t"                                                                                   \
  "pop %%rbx\n\t"                                                                                       \
  "and $15, %%ebx\n\t"                                                                                  \
  "mov %%rax, %%r10\n\t" FLEX_MPK_SET_PKRU(WRPKRU, "%[c]")                                              \
  "mov flex_mpk_thread@gottpoff(%%rip), %%r13\n\t"                                                      \
  "lea flex_mpk_runtime(%%rip), %%r15\n\t"                                                              \
  "mov %%fs:(%%r13,%%rbx,8), %%r14\n\t"                                                                 \
  "test %%ebx, %%ebx\n\t"                                                                               \
  "jz .Lflex_back%=\n\t"                                                                                \
  "cmp %c[lo](%%r15,%%rbx,8), %%r14\n\t"                                                                \
  "jbe flex_mpk_stack_abort\n\t"                                                                        \
  "cmp %c[hi](%%r15,%%rbx,8), %%r14\n\t"                                                                \
  "ja flex_mpk_stack_abort\n"                                                                           \
  ".Lflex_back%=:\n\t"                                                                                  \
  "mov %%r14, %%rsp\n\t"                                                                                \
  "pop %%fs:(%%r13,%%rbx,8)\n\t"                                                                        \
  "mov %%rbx, %%fs:%c[cur](%%r13)\n\t"                                                                  \
  "call flex_mpk_clear_vectors\n\t"                                                                     \
  "mov %%r10, %%rax\n\t" FLEX_MPK_CLEAR_SCRATCH "cld\n\t"                                               \
  "pop %%r15\n\t"                                                                                       \
  "pop %%r14\n\t"                                                                                       \
  "pop %%r13\n\t"                                                                                       \
  "pop %%r12\n\t"                                                                                       \
  "pop %%rbx\n\t"                                                                                       \
  "pop %%rbp\n\t"                                                                                       \
  "ret\n"                                                                                               \
  ".Lflex_slow%=:\n\t" /* first entry into this domain on this thread */                                \
  "push %%rdi\n\t"                                                                                      \
  "push %%rsi\n\t"                                                                                      \
  "push %%rdx\n\t"                                                                                      \
  "push %%rcx\n\t"                                                                                      \
  "push %%r8\n\t"                                                                                       \
  "push %%r9\n\t"                                                                                       \
  "mov %[key], %%edi\n\t"                                                                               \
  "mov %[emu], %%esi\n\t"                                                                               \
  "call flex_mpk_stack_alloc\n\t"                                                                       \
  "mov %%rax, %%r14\n\t"                                                                                \
  "pop %%r9\n\t"                                                                                        \
  "pop %%r8\n\t"                                                                                        \
  "pop %%rcx\n\t"                                                                                       \
  "pop %%rdx\n\t"                                                                                       \
  "pop %%rsi\n\t"                                                                                       \
  "pop %%rdi\n\t"                                                                                       \
  "jmp .Lflex_have%=\n\t"

// clang-format on

namespace flex::gates {
namespace detail {

using mpk_entry_fn = word (*)(word, word, word, word, word, word, erased_fn);

template <std::uint32_t C, std::uint32_t E>
struct mpk_light_entry {
  [[gnu::naked, gnu::noinline, gnu::section(".text.flex_gates")]] static word hardware(word, word, word, word,
                                                                                       word, word,
                                                                                       erased_fn) {
    asm volatile(FLEX_MPK_LIGHT_BODY(FLEX_MPK_WRPKRU_HW)::[e] "i"(static_cast<std::int32_t>(E)),
                 [c] "i"(static_cast<std::int32_t>(C)));
  }
  [[gnu::naked, gnu::noinline, gnu::section(".text.flex_gates")]] static word emulated(word, word, word, word,
                                                                                       word, word,
                                                                                       erased_fn) {
    asm volatile(FLEX_MPK_LIGHT_BODY(FLEX_MPK_WRPKRU_EMULATED)::[e] "i"(static_cast<std::int32_t>(E)),
                 [c] "i"(static_cast<std::int32_t>(C)));
  }
};

// clang-format off
#define FLEX_MPK_FULL_OPERANDS                                                                          \
  [e] "i"(static_cast<std::int32_t>(E)), [c] "i"(static_cast<std::int32_t>(C)), [key] "i"(Key),         \
      [spk] "i"(offsetof(mpk_thread_table, sp) + 8 * Key), [cur] "i"(offsetof(mpk_thread_table, cur)),  \
      [lok] "i"(offsetof(mpk_runtime_page, stack_lo) + 8 * Key),                                        \
      [hik] "i"(offsetof(mpk_runtime_page, stack_hi) + 8 * Key),                                        \
      [lo] "i"(offsetof(mpk_runtime_page, stack_lo)), [hi] "i"(offsetof(mpk_runtime_page, stack_hi))

// clang-format on

template <std::uint32_t C, std::uint32_t E, unsigned Key>
struct mpk_full_entry {
  [[gnu::naked, gnu::noinline, gnu::section(".text.flex_gates")]] static word hardware(word, word, word, word,
                                                                                       word, word,
                                                                                       erased_fn) {
    asm volatile(FLEX_MPK_FULL_BODY(FLEX_MPK_WRPKRU_HW)::FLEX_MPK_FULL_OPERANDS, [emu] "i"(0));
  }
  [[gnu::naked, gnu::noinline, gnu::section(".text.flex_gates")]] static word emulated(word, word, word, word,
                                                                                       word, word,
                                                                                       erased_fn) {
    asm volatile(FLEX_MPK_FULL_BODY(FLEX_MPK_WRPKRU_EMULATED)::FLEX_MPK_FULL_OPERANDS, [emu] "i"(1));
  }
};

}  // namespace detail

namespace detail {
// What both MPK backends do once their naked entry points exist: call the selected variant (only it is
// instantiated) with the six argument words and the target.
template <typename Entries, pkru_insn Insn>
struct mpk_invoker {
  struct target {};
  static constexpr mpk_entry_fn entry() {
    if constexpr (Insn == pkru_insn::hardware)
      return &Entries::hardware;
    else
      return &Entries::emulated;
  }
  static word invoke(const target &, erased_fn fn, const call_args &a) {
    return entry()(a.a[0], a.a[1], a.a[2], a.a[3], a.a[4], a.a[5], fn);
  }
};
}  // namespace detail

template <std::uint32_t CallerPkru, std::uint32_t CalleePkru, pkru_insn Insn = pkru_insn::hardware>
struct mpk_light : detail::mpk_invoker<detail::mpk_light_entry<CallerPkru, CalleePkru>, Insn> {
  static constexpr const char *kName = Insn == pkru_insn::hardware ? "mpk-light" : "mpk-light-emulated";
  using entries = detail::mpk_light_entry<CallerPkru, CalleePkru>;
};

// CalleeIndex: the callee's position among the image's mpk domains (mpk_plan::domains), i.e. its key - 1.
template <std::uint32_t CallerPkru, std::uint32_t CalleePkru, unsigned CalleeIndex,
          pkru_insn Insn = pkru_insn::hardware>
struct mpk_full : detail::mpk_invoker<detail::mpk_full_entry<CallerPkru, CalleePkru, CalleeIndex + 1>, Insn> {
  static_assert(CalleeIndex < static_cast<unsigned>(kMaxMpkDomains), "an mpk domain index is 0..13");
  static constexpr unsigned kKey = CalleeIndex + 1;
  static constexpr const char *kName = Insn == pkru_insn::hardware ? "mpk-full" : "mpk-full-emulated";
  using entries = detail::mpk_full_entry<CallerPkru, CalleePkru, kKey>;
};

static_assert(backend<mpk_light<0, 0>>);
static_assert(backend<mpk_full<0, 0, 0>>);

// ---- Testing without PKU -----------------------------------------------------------------------------
namespace testing {

// Makes emulated gates usable on any x86-64 machine: reserves stack arenas for keys 1..n_domains (plain
// mprotect, no keys) and sets the runtime page up as mpk_boot would, minus keys and the lock.
void emulate_mpk(unsigned n_domains);
std::uint32_t emulated_pkru();  // this thread's PKRU as the emulated gates last wrote it
void set_emulated_pkru(std::uint32_t pkru);

}  // namespace testing
}  // namespace flex::gates
