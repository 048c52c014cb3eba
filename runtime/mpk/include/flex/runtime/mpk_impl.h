// For the mpk backend, its gates and its tests only: the runtime page (read-only after boot), the
// per-thread table the gates switch stacks with, and the boot steps the tests call one by one. The rest of
// the runtime and every image use mpk.h (and the generated gates, mpk_gate.h).
#pragma once

#include <signal.h>
#include <ucontext.h>

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "flex/runtime/heap.h"
#include "flex/runtime/mpk.h"

namespace flex::runtime {

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
  // The signal arena (mpk_signals.cc): kMpkMaxThreads blocks, then its control page; all runtime key.
  std::uint64_t sig_lo;
  std::uint64_t sig_control;
  std::uint32_t runtime_key;
  // The system-call page (mpk_syscalls.cc), tagged with the system-call key; 0 without a signal arena.
  std::uint32_t pkru_offset;  // of PKRU in a signal frame's XSAVE area (CPUID 0xD.9)
  std::uint64_t sys_page;
  // Each domain's PKRU and compartment index, which the trap path names a caller by.
  std::uint32_t n_domains;
  std::uint32_t domain_pkru[kMaxMpkDomains];
  std::uint32_t domain_compartment[kMaxMpkDomains];
  // Per key: its slot page (mpk_slot below), the page under its stack arena, tagged like its stacks;
  // key 0's (the runtime's slots) is plain memory. 0 for keys without an arena.
  std::uint64_t slots[kPkeyCount];
  // The image's gates are light: a callee runs on its caller's stack, so every stack is the shared key's,
  // and the thread table's `cur` names the domain the last full gate entered (the runtime's entry).
  std::uint32_t light_gates;
};
static_assert(sizeof(mpk_runtime_page) == 4096);
// The attack suite's fixture (tests/security/fixture/apps/attacker) reads these, as code in a domain would.
static_assert(offsetof(mpk_runtime_page, stack_lo) == 16 && offsetof(mpk_runtime_page, slots) == 904);
inline constexpr std::uint32_t kCpuAvx = 1, kCpuAvx512 = 2;
inline constexpr std::uint32_t kModeOff = 0, kModeHardware = 1, kModeEmulated = 2;

// A thread's block of the signal arena: a guard page, the return buffer flex_mpk_sigreturn copies a frame
// into, the delivery slots (a compartment's handler runs after its signal's frame is returned from: the
// frame waits in a slot, and the runtime's code that enters the handler runs on the slot's stack), and the
// alternate signal stack the kernel writes frames on.
inline constexpr unsigned kSigBlockShift = 18;
inline constexpr std::size_t kSigBlock = std::size_t{1} << kSigBlockShift;
inline constexpr std::size_t kSigBufferOffset = 4096;
inline constexpr std::size_t kSigBufferBytes = 16384;
inline constexpr std::size_t kSigDeliverOffset = kSigBufferOffset + kSigBufferBytes;
inline constexpr unsigned kSigDeliverSlots = 4;                    // compartment handlers nested at most
inline constexpr std::size_t kSigDeliverSlot = 32768;              // the frame (first 12 KiB), then the stack
inline constexpr std::size_t kSigDeliverFrameBytes = 12288;
inline constexpr std::size_t kSigStackOffset = kSigDeliverOffset + kSigDeliverSlots * kSigDeliverSlot;
static_assert(kSigStackOffset + 65536 <= kSigBlock);

// The arena's control page: the token the lockdown's filter asks of rt_sigreturn, which thread owns each
// block, and the handlers installed at boot that flex_mpk_signal_entry calls.
// Each signal's action as the runtime keeps it: a handler installed at boot (the runtime's own: owner 0),
// or one a compartment installed after boot (owner: its domain + 1), which the runtime enters through that
// domain's signal gate (mpk_signals.cc); handler null: the kernel's own action (SIG_DFL, SIG_IGN) stands.
struct mpk_signal_control {
  std::uint64_t token[2];
  std::uint32_t tid_of_block[kMpkMaxThreads];
  std::atomic<unsigned> next_block;
  struct saved {
    void *handler;
    unsigned long flags;
    std::uint64_t mask;
    void *restorer;
    std::uint32_t owner;
  } handlers[65];
  // Compartment handlers being delivered (on the system-call wall's one thread): how many, on which
  // block, and each waiting frame's place and length in its slot.
  std::uint32_t deliver_depth;
  std::uint32_t deliver_block;
  struct waiting {
    std::uintptr_t start;  // the frame's pretcode slot, copied at the same page offset
    std::size_t bytes;
  } waiting[kSigDeliverSlots];
  // The runtime's stack pointer while it has called into a domain from its own stack (mpk_gate.h: the
  // app's entry, signal handlers); 0 when no such call is in flight. The gates' way back takes it here.
  std::uint64_t rt_return;
};
static_assert(sizeof(mpk_signal_control) <= 4096);

// What a compartment's signal gate finds (mpk_signals.cc: flex_mpk_signal_trampoline runs with the
// domain's rights, so this lies on the pages after the descriptors' owners, which every domain may read
// and only the runtime writes): the delivery now being entered, and per nesting level the handler, the
// signal, its siginfo, and the context the handler is shown (the interrupted registers when they were its
// own domain's, else zeros; what the handler writes there is never restored).
struct mpk_signal_record {
  std::uint32_t armed;
  std::int32_t sig;
  std::uint32_t pkru;  // the domain's: the trampoline checks that it runs with it
  std::uint32_t siginfo_form;  // SA_SIGINFO
  void *handler;
  siginfo_t info;
  ucontext_t uc;
};
struct mpk_signal_records {
  std::uint32_t current;  // the record flex_mpk_signal_trampoline reads; kSigDeliverSlots: none
  mpk_signal_record rec[kSigDeliverSlots];
};
inline constexpr std::size_t kSigRecordPages = (sizeof(mpk_signal_records) + 4095) / 4096;

// Maps the signal arena with `runtime_key`, and the system-call page with runtime_key + 1 (mpk_boot,
// hardware MPK only).
status make_signal_arena(int runtime_key);

// The system-call page: the thread's Syscall User Dispatch selector, which the kernel reads with the
// caller's PKRU on every system call (compartments may read it, only the runtime's key writes it), and
// each domain's set. Offsets are used by the syscall gates' assembly (mpk_gate.h).
struct alignas(4096) mpk_syscall_page {
  std::uint8_t selector;  // SYSCALL_DISPATCH_FILTER_ALLOW (0) only while the runtime makes a call
  std::uint8_t armed;     // 1 once mpk_syscall_wall has armed the dispatch: the gates mediate
  std::uint8_t shared_stacks;  // mpk_syscall_sets::shared_stacks
  std::uint8_t pad[61];
  std::uint64_t allowed[kMaxMpkDomains][8];  // per domain: bit nr, for nr < 512 (the trap path)
  // Per domain, what its gate may make without a look at the arguments: its set less every call on
  // signal state, threads or the process's own controls, which only the trap path checks.
  std::uint64_t gate_allowed[kMaxMpkDomains][8];
  mpk_refuse_fn refuse;  // never returns
  mpk_sysdrop_fn drop[kMaxMpkDomains];  // per domain: its flex_sysdrop (the trap path's calls)
  // The fresh ranges: memory mapped after lockdown for a domain, tagged with its key (mpk_syscalls.cc).
  // On the pages after this one, under the same key. Sorted by address, disjoint.
  struct fresh_range {
    std::uintptr_t lo, hi;
    std::uint32_t domain;
  } *fresh;
  std::uint32_t n_fresh;
  // Descriptors: per system call, the arguments that name one (bit i: argument i), whether its result
  // is a new one (bit 7) and whether it closes its first (bit 6); and per descriptor, the domain that made it (index + 1; 0: made before the wall
  // or by the runtime, anyone's). A domain's call on another domain's descriptor is refused.
  std::uint8_t fd_args[512];
  std::uint8_t *fd_owner;  // kFdPages pages after the fresh ranges', under the same key
  // Per domain, its signal gate (flex_sigenter_<compartment>: the runtime into the domain, onto
  // flex_mpk_signal_trampoline); null where the image has none (light gates): no handler after boot then.
  void (*sig_enter[kMaxMpkDomains])();
  mpk_signal_records *sig_records;  // kSigRecordPages pages after the descriptors' owners
};
static_assert(sizeof(mpk_syscall_page) == 4096);
// The pages after the system-call page that hold its fresh ranges, then its descriptors' owners, then the
// signal records (kSigRecordPages).
inline constexpr std::size_t kFreshPages = 16;
inline constexpr std::size_t kFdPages = 16;
inline constexpr std::size_t kMaxOwnedFd = kFdPages * 4096;  // descriptors from this one up are refused
inline constexpr std::uint8_t kFdMakes = 0x80;
inline constexpr std::uint8_t kFdCloses = 0x40;  // its first argument is anyone's again once it succeeds
inline constexpr std::size_t kSysFdArgsOffset = offsetof(mpk_syscall_page, fd_args);
inline constexpr std::size_t kSysFdOwnerOffset = offsetof(mpk_syscall_page, fd_owner);
inline constexpr std::size_t kMaxFresh = kFreshPages * 4096 / sizeof(mpk_syscall_page::fresh_range);
inline constexpr std::size_t kSysGateAllowedOffset = offsetof(mpk_syscall_page, gate_allowed);
// The system-call page and what follows it: kSysPages pages. After them, a guard page and the runtime's own
// stack (kRuntimeStackBytes, the runtime's key).
inline constexpr std::size_t kSysPages = 1 + kFreshPages + kFdPages + kSigRecordPages;
inline constexpr std::size_t kRuntimeStackBytes = std::size_t{1} << 20;
// Tags the page at `p` (the signal arena's last) as the system-call page.
status make_syscall_page(void *p, int key);
mpk_syscall_page *sys_page();  // null without a signal arena
inline constexpr std::uint8_t kAllow = 0, kBlock = 1;  // SYSCALL_DISPATCH_FILTER_ALLOW / _BLOCK
// A system call as the runtime (PKRU 0), inside an ALLOW window of its own.
long runtime_call(long nr, long a0 = 0, long a1 = 0, long a2 = 0, long a3 = 0, long a4 = 0, long a5 = 0);
// The PKRU a signal frame's XSAVE area holds (the interrupted thread's); false when it carries none.
bool frame_pkru(const ucontext_t *uc, std::uint32_t &pkru);
[[noreturn]] void die(const char *msg);  // the message on stderr, exit status 134
// A compartment's rt_sigaction, emulated (mpk_signals.cc): the trap path's, for domain d, with its drop.
// Sets *refuse when the call must be refused (a handler for a signal the runtime keeps or another
// domain handles, or an image without signal gates).
long sys_sigaction(unsigned d, const unsigned long a[6], mpk_sysdrop_fn drop, bool *refuse);
// The signal wall's part (mpk_signals.cc): the selector while a handler runs, and dispatch's SIGSYS.
void sys_signal_enter(ucontext_t *uc);
void sys_signal_leave(const ucontext_t *uc);
bool is_dispatch_sigsys(const ucontext_t *uc, const siginfo_t *info);
void sys_serve(ucontext_t *uc, const siginfo_t *info);

// One per thread (initial-exec TLS, so the gates reach it with one GOT load and %fs). Key-0 memory: every
// domain may write it, so neither field decides anything a domain could gain by (mpk.h, the slots).
struct mpk_thread_table {
  std::uint64_t cur;    // the key whose domain runs on this thread (0: none): a hint for the runtime
  std::uint64_t block;  // this thread's stack block + 1 (0: none yet)
};

// A stack slot: per key and per block, where the next entry into that domain on that block starts (0: the
// top of its stack there), in the key's slot page, which only that key's rights write (key 0's: the
// runtime as a caller). While the domain waits on a full gate it made, the slot also names the callee that
// gate entered (bits kMpkSlotTagShift and up), and the gate's way back checks it.
inline constexpr unsigned kMpkSlotTagShift = 56;
inline constexpr std::uint64_t kMpkSlotSpMask = (std::uint64_t{1} << kMpkSlotTagShift) - 1;
static_assert(kMpkMaxThreads * 8 + kMpkMaxThreads / 8 <= 4096 && (kMpkMaxThreads & (kMpkMaxThreads - 1)) == 0,
              "a slot page: the slots, then a scheduler's held blocks (mpk_stacks.cc)");
inline constexpr unsigned kMpkBlockShift = 25;
static_assert(kMpkStackBlock == std::size_t{1} << kMpkBlockShift);
// This thread's slot of `key` (its current block's); null before the thread has a block or for a key with
// no slot page.
std::uint64_t *mpk_slot(unsigned key);

// A user thread's gate state (uthread.h), in its scheduler's memory. While the thread is switched out, its
// scheduler's slot in its block names where the scheduler's suspended frames end (tagged
// kMpkSlotSuspended, which no gate's callee has: no way back resumes them), and saved_slot keeps what the
// slot held before; a new thread's block starts that way, below the first frame the scheduler writes.
struct mpk_uthread_state {
  std::uint64_t cur;         // the thread table's two words, as this thread left them
  std::uint64_t block;       // the block mpk_uthread_init gave it (+ 1), or, for the thread the scheduler
                             // started on, the one it had at its first switch
  std::uint64_t saved_slot;
};
inline constexpr std::uint64_t kMpkSlotSuspended = 15;
inline constexpr std::size_t kMpkUthreadReserve = 4096;  // below a suspended frame: its callee's frames, red zone

void mpk_lock_runtime();
std::uint32_t detect_cpu_flags();
// kMpkMaxThreads blocks of address space, no access yet; tagged when shared_key >= 0 (hardware MPK): the
// stacks with stack_key, their DSS mirrors with shared_key.
bool reserve_stack_arena(unsigned key, int shared_key, int stack_key);

}  // namespace detail
}  // namespace flex::runtime

extern "C" {
extern flex::runtime::detail::mpk_runtime_page flex_mpk_runtime __attribute__((visibility("hidden")));
extern __thread flex::runtime::detail::mpk_thread_table flex_mpk_thread
    __attribute__((tls_model("initial-exec"), visibility("hidden")));
extern __thread std::uint32_t flex_mpk_emulated_pkru __attribute__((visibility("hidden")));
}

