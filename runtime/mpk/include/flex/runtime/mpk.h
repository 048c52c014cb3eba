// Intel MPK memory domains and gates (DESIGN.md §5, §6).
//
// Keys: every compartment that shares the address space (isolation mpk or none, in an image with at least
// one mpk compartment) is an "mpk domain"; domain i in profile order gets key i+1, the shared key is the next
// one, key 0 stays with glibc, the loader and this runtime. The assignment is deterministic, so the PKRU
// value of each domain is a build-time constant and the gates carry it as an immediate:
//
//   constexpr std::uint32_t kApp = flex::runtime::pkru_for(1, 3), kNet = flex::runtime::pkru_for(2, 3);
//   using app_to_net = flex::runtime::gate<flex::runtime::mpk_full_to<kApp, kNet, /*callee domain*/ 1, &net_recv>>;
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
// Fixed targets: flexbuild generates one gate per (boundary, callee), mpk_light_to / mpk_full_to, whose callee
// is a direct call, so code that hijacks control flow and jumps onto a gate's WRPKRU with the right EAX
// reaches only that gate's own callee. The erased mpk_light / mpk_full (target as the seventh argument)
// remain for the runtime's tests and benchmarks; an image holds none.
//
// Stack slots: where a domain's next entry on a thread starts is that domain's slot for the thread's block,
// on the domain's slot page, under the domain's own key (mpk_impl.h): a domain writes only its own slots,
// and a gate reads the callee's after its switch. A slot also names the callee a waiting domain called,
// and a full gate's way back resumes only a call to its own callee, so code that jumps onto a gate's
// return cannot resume a caller that waits on someone else. The thread's block index stays in key-0 TLS:
// whichever block it names, a domain only ever runs on its own stacks, below every frame it has waiting
// there (a scheduler's switched-out frames and a new user thread's first frame are recorded in its slot
// too, mpk_uthread_state), and a way back only resumes a call made to that gate's callee; with one thread
// (lockdown: enforce) no two activations share a stack. Threads
// must enter their compartment through a gate (a thread started by a compartment runs on glibc's key-0
// stack until it does).
//
// Under `lockdown: enforce` the kernel is no way around the keys (runtime/lockdown): signals run on the
// runtime's signal arena and return only through it (mpk_signal_wall below), no system call may remap the
// memory laid out at boot or map a file, and pkey_*, new executable memory, process_vm_* and /proc/PID/mem
// are refused; and each domain's system calls are checked against its own set and made with its own
// rights (mpk_syscall_wall: Syscall User Dispatch, in a process with one thread); a domain's descriptors
// are its own; a handler a domain installs after boot is entered through its signal gate with its rights
// (mpk_signals.cc); the runtime runs on its own stack (its key) and full gates from it return through its
// return cell (mpk_gate.h); the image's end runs no libc code on key-0 state with the runtime's rights
// (runtime/core/src/image_end.cc); the runtime enters a domain only through a full gate, light images
// included, and relays a call from another process into a domain from its own stack (flex_mpk_relay).
// Still open: key-0 memory stays every compartment's (glibc's data), and, without a return cell (no signal
// arena), the way back of that relay (runtime code on a domain's stack).
#pragma once

#include <cstddef>
#include <cstdio>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <flex/pku/pku.h>

#include "flex/runtime/backend.h"
#include "flex/runtime/gate.h"
#include "flex/runtime/heap.h"
#include "flex/runtime/layout.h"
#include "flex/runtime/status.h"

namespace flex::runtime {

// ---- Keys and PKRU values ----------------------------------------------------------------------------

inline constexpr int kPkeyCount = 16;
// 16 keys minus key 0, the shared key, the runtime's key and the system-call key.
inline constexpr int kMaxMpkDomains = 12;
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

// Full access to key 0, `key`, `shared_key` and every key in the `also` bitmask; read-only access to the
// system-call key (shared_key + 2, syscall_key_for), whose page the kernel reads with the caller's rights
// on every system call (mpk_syscalls.cc); AD|WD on every other key.
constexpr std::uint32_t pkru_for(int key, int shared_key, std::uint16_t also = 0) {
  std::uint32_t allowed = 1u | (1u << key) | (1u << shared_key) | also;
  std::uint32_t pkru = 0;
  for (int k = 0; k < kPkeyCount; ++k) {
    if (k == shared_key + 2 && !((allowed >> k) & 1u)) {
      pkru |= 2u << (2 * k);  // WD only
    } else if (!((allowed >> k) & 1u)) {
      pkru |= pkru_deny_bits(k);
    }
  }
  return pkru;
}

constexpr int domain_key(unsigned domain_index) {
  return static_cast<int>(domain_index) + 1;
}
constexpr int shared_key_for(unsigned n_domains) {
  return static_cast<int>(n_domains) + 1;
}
// The runtime's own key (its signal arena): no compartment's PKRU opens it.
constexpr int runtime_key_for(unsigned n_domains) {
  return static_cast<int>(n_domains) + 2;
}
// The key of the system-call page (the Syscall User Dispatch selector and each domain's set): every
// compartment may read it, only the runtime may write it.
constexpr int syscall_key_for(unsigned n_domains) {
  return static_cast<int>(n_domains) + 3;
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
status plan_mpk(const flex_image_layout &img, mpk_plan &out);

// ---- PKU support -------------------------------------------------------------------------------------

// Whether this machine has protection keys (base/pku): mpk_boot refuses with its reason when not.
using flex::pku::pku_status;
using flex::pku::pku_status_from;
using flex::pku::pku_support;

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
// any gate runs. Returns success (also for images without mpk domains, where it does nothing) or why not.
status mpk_boot(const flex_image_layout &img, const mpk_boot_options &opt = {});
// The mpk backend's lifecycle (backend.h): the mpk-light and mpk-full gates share it.
struct mpk_lifecycle {
  static constexpr const char *kName = "mpk";
  static constexpr const char *kGates[] = {"mpk-light", "mpk-full"};
  static bool applies(const flex_image_layout &img);   // an mpk compartment
  static status check(const flex_image_layout &img);   // the key plan fits and this machine has PKU
  static status boot(boot_context &ctx);               // mpk_boot, on the process backend's shared heap
  static void teardown() {}                            // keys and tags end with the process
  static void describe(const flex_image_layout &img, std::FILE *out);  // keys, and whether PKU is here
};
static_assert(lifecycle<mpk_lifecycle>);

// The plan mpk_boot used (n_domains == 0 before boot or without domains).
const mpk_plan &mpk_booted_plan();

// Tags [begin, end) (page-aligned) with `key`, keeping each page's current protection (read from
// /proc/self/maps). Never remaps: a fresh mmap over a tagged range would reset it to key 0.
status mpk_tag_range(void *begin, void *end, int key);

// What mpk_tag_range does, as a pure function of /proc/self/maps: the protection of each piece.
struct tag_piece {
  std::uintptr_t begin = 0, end = 0;
  int prot = 0;  // PROT_* of the mapping the piece lies in
};
status plan_tagging(std::string_view maps, std::uintptr_t begin, std::uintptr_t end, std::vector<tag_piece> &out);

// ---- Signals (mpk_signals.cc) ---------------------------------------------------------------------

// Signals belong to the runtime once the image is locked down: every handler installed at boot is
// entered and left through the runtime, on the thread's block of a signal arena only the runtime's key
// opens, and returns with rt_sigreturn carrying a 128-bit token (into `token`) that the lockdown's filter
// demands, so no compartment can return from a signal with a frame it wrote. Hardware MPK only, after
// mpk_boot, single-threaded, before the lockdown's filters.
status mpk_signal_wall(std::uint64_t token[2]);
// The arena's range [lo, hi) (false when mpk_boot made none), for the lockdown's layout wall.
bool mpk_signal_arena(std::uintptr_t &lo, std::uintptr_t &hi);
// Gives the calling thread a block of the arena as its signal stack: 0, -EAGAIN (all taken), -ENOSYS.
int mpk_signal_block_for_this_thread();
// Whether this kernel writes signal frames onto memory the interrupted PKRU closes (Linux 6.12 and later):
// without it there is no signal arena and signals stay the compartments' (--describe says so). A probe in
// a forked child, once; needs a free protection key.
bool mpk_kernel_delivers_onto_keyed_stacks();

// ---- Foreign code (mpk_foreign_code.cc) --------------------------------------------------------------

// Overwrites every WRPKRU and XRSTOR in the executable segments of the shared objects the image links (the
// C library's pkey_set, ld.so's lazy-binding trampolines) with UD2, so that the image's gates hold the only
// instructions in the process that load PKRU. Refuses, changing nothing at all, where any object is
// bound lazily (it needs the trampolines: LD_BIND_NOW, mpk_bind_now_at_start). Then makes every page of
// every object's code (the image's too, not the vDSO's) a private copy, which no later write to their files
// reaches. Before the lockdown's filters (it changes code pages); `patched` says how many instructions.
status mpk_disarm_foreign_gadgets(int &patched);

// At the start of an image with mpk domains under enforce (its .preinit_array, before any object's
// constructor): re-executes the image (/proc/self/exe, the same arguments and environment) with
// LD_BIND_NOW=1 unless ld.so already had it, so that every object is bound at load and the disarm may
// close ld.so's lazy-binding trampolines. Returns where it did not need to, or could not (the disarm then
// says why).
void mpk_bind_now_at_start(char **argv, char **envp);

// ---- System calls (mpk_syscalls.cc) -----------------------------------------------------------------
// Only the runtime makes system calls once the wall is armed (Syscall User Dispatch; see mpk_syscalls.cc):
// each domain's calls are checked against its own set and made with its own rights, through its
// flex_sysgate (plat) or, for any other call, through the SIGSYS the kernel raises.
struct mpk_syscall_sets {
  std::uint64_t allowed[kMaxMpkDomains][8] = {};  // per domain (mpk_plan order): bit nr, nr < 512
  // Light gates run every domain on the caller's stack: a stack a domain maps after boot (MAP_STACK,
  // plat_map_stack) is tagged with the shared key instead of the domain's.
  bool shared_stacks = false;
  // Per domain, its signal gate (flex_image's sig_enter: the runtime into the domain, onto
  // flex_mpk_signal_trampoline): a handler the domain installs after boot is entered through it. Null
  // (light gates): such a handler is refused.
  void (*sig_enter[kMaxMpkDomains])() = {};
};
// Why a call is refused, for the report.
enum class mpk_refusal { outside_set, signal_state, foreign_abi, memory, descriptor };
using mpk_refuse_fn = void (*)(unsigned compartment, long nr, const unsigned long args[6],
                               mpk_refusal why);  // compartment ~0u: the runtime
using mpk_sysdrop_fn = long (*)(long, long, long, long, long, long, long);
// Arms the wall for the calling thread, with each domain's set and flex_sysdrop (flex_image's sys_drop)
// and the lockdown's reporter. Needs the signal wall (mpk_signal_wall) first and a process with one
// thread; `armed` false without error when this image or kernel cannot have it. Calls stay allowed until
// mpk_syscall_wall_close.
status mpk_syscall_wall(const mpk_syscall_sets &sets, const mpk_sysdrop_fn drops[kMaxMpkDomains],
                        mpk_refuse_fn refuse, bool &armed);
void mpk_syscall_wall_close();
// The top of the runtime's own stack (on the signal arena, under the runtime's key) once the system-call
// wall is armed (one thread, MPK domains walled off); null otherwise. boot's enter_app runs the app's
// entry and the image's end on it.
void *mpk_runtime_stack_top();
bool mpk_syscalls_mediated();
// The `syscall` instructions the dispatch always allows (their addresses after the instruction) and the
// one call each may make: the layout wall pins them. Returns how many (0 without a system-call page).
struct mpk_sud_site {
  std::uint64_t ip = 0;
  long nr = 0;
};
int mpk_sud_sites(mpk_sud_site out[4]);
// The runtime's one pkey_mprotect site (its address after the instruction), which tags the fresh memory it
// maps for a domain with the domain's key: the layout wall allows pkey_mprotect there and nowhere else.
// 0 when the wall is not armed.
std::uintptr_t mpk_pkey_site();

// ---- Per-thread compartment stacks -------------------------------------------------------------------

// Each thread gets one block per domain arena, taken at its first mpk_full entry into any domain:
//   [guard][stack: the domain's key][guard][DSS mirror: the shared key][unused, to the next power of two]
// A whitelisted local at address a has its DSS copy at a + kMpkDssOffset. Costs: address space only
// (kMpkMaxThreads blocks per domain reserved at boot); pages are committed as the stacks grow. The
// block's size is a power of two so that the gates find where a stack pointer lies in its block with a
// mask: a stack slot must name the stack part, never a guard nor the shared mirror, which every domain
// reads and writes.
inline constexpr std::size_t kMpkStackSize = std::size_t{8} << 20;
inline constexpr std::size_t kMpkStackGuard = std::size_t{64} << 10;
inline constexpr std::size_t kMpkStackBlock = std::size_t{32} << 20;
inline constexpr std::size_t kMpkDssOffset = kMpkStackSize + kMpkStackGuard;
static_assert((kMpkStackBlock & (kMpkStackBlock - 1)) == 0 && kMpkStackBlock >= 2 * (kMpkStackGuard + kMpkStackSize));
// Whether `sp` may be where a domain's stack pointer starts, in the arena starting at `arena_lo`: inside
// the stack part of a block (the gates' check, in C for the runtime's own users).
inline bool mpk_on_stack_part(std::uintptr_t arena_lo, std::uintptr_t sp) {
  const std::uintptr_t off = (sp - arena_lo) & (kMpkStackBlock - 1);
  return off > kMpkStackGuard && off <= kMpkStackGuard + kMpkStackSize;
}
inline constexpr unsigned kMpkMaxThreads = 256;
// How the process ends when a gate check fails (a WRPKRU reached with another EAX, a forged stack).
inline constexpr int kGateViolationExitCode = 134;

struct mpk_stack_range {
  std::uintptr_t lo = 0, hi = 0;  // [lo, hi): this thread's stack in that domain; 0 if none yet
};
mpk_stack_range mpk_thread_stack(int key);

// Code that runs as domain `key` without a gate into it (an unmodified program's calls, answered by the
// libOS of its domain: runtime/binary) runs on that domain's stack where a full gate into it would start
// now: mpk_entry_stack gives that place (16-byte aligned) on this thread's block, taking a block for a
// thread that has none; 0 where the runtime runs without hardware keys, `key` has no stacks, or the
// domain's slot names a place off its stack part. mpk_suspend_slot records in the domain's slot that its
// frames down to `sp` (on its stack in this block) stay live outside any gate, so entries start below them
// (tagged kMpkSlotSuspended: no gate's way back resumes them), and returns the slot's word before, for
// mpk_restore_slot; where `sp` is not on that stack it records nothing. All three run with the domain's
// rights (its slot page is its key's). kMpkNoSlot: nothing recorded (mpk_restore_slot leaves the slot).
inline constexpr std::uint64_t kMpkNoSlot = ~std::uint64_t{0};
std::uintptr_t mpk_entry_stack(int key);
std::uint64_t mpk_suspend_slot(int key, std::uintptr_t sp);
void mpk_restore_slot(int key, std::uint64_t word);

// A user thread's own copy of this thread's gate state (uthread.h): the per-thread table the full gates
// switch stacks with, and a block of per-domain stacks. A scheduler swaps it with the thread's registers.
std::size_t mpk_uthread_state_size();
// 0 and the new thread's stack in the running domain (nullptr/0 when no full gate runs: the caller's own
// stack); -EAGAIN when every block of stacks is taken.
int mpk_uthread_init(void *state, void **stack_top, std::size_t *stack_size);
void mpk_uthread_switch(void *save, const void *load);
void mpk_uthread_release(void *state);

// ---- Testing without PKU -----------------------------------------------------------------------------
namespace testing {

// Makes emulated gates usable on any x86-64 machine: reserves stack arenas for keys 1..n_domains (plain
// mprotect, no keys) and sets the runtime page up as mpk_boot would, minus keys and the lock.
void emulate_mpk(unsigned n_domains);
std::uint32_t emulated_pkru();  // this thread's PKRU as the emulated gates last wrote it
void set_emulated_pkru(std::uint32_t pkru);
// Marks block b free in the runtime's block bitmap (key-0 memory), as a domain that rewrites it would.
void forge_free_block(std::uint64_t b);

}  // namespace testing
}  // namespace flex::runtime
