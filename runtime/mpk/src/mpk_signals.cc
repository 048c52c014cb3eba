// Signals belong to the runtime (DESIGN.md §8, mpk.h): after boot a signal frame carries the PKRU that
// rt_sigreturn restores, so a compartment that could write a frame, or make rt_sigreturn itself, could give
// itself any rights (PKU Pitfalls: the forged signal frame). Here:
//
//   - each thread's signals are delivered on a block of the signal arena, tagged with the runtime's key, which
//     no compartment can read or write (the kernel writes frames there whatever the interrupted PKRU);
//   - every handler installed at boot is entered through flex_mpk_signal_entry_hardware, which takes the runtime's
//     rights (an ERIM-checked WRPKRU), checks that it runs on the calling thread's own block (gettid against
//     the block's owner, so no other thread's stack and no forged stack), and that the frame is live;
//   - every handler returns through flex_mpk_sigreturn_hardware, which checks the same, copies the frame into the
//     block's return buffer, scrubs the original (so no frame can be replayed) and makes rt_sigreturn with
//     the image's token, 128 random bits in the arena's control page: the lockdown's filter refuses an
//     rt_sigreturn without them (a compartment's own, or a jump straight onto the `syscall` below), and any
//     sigaltstack that would move a thread off its block.
//
// What an attacker would still need: the token (runtime key, and the kernel's copy in the filter), or a
// way to run code with the runtime's rights (a WRPKRU outside the gates, which the gadget scan and W^X
// rule out). Jumping onto the entry's or the return's WRPKRU only runs their checks.
//
// Handlers a compartment installs after boot (its rt_sigaction, emulated by the trap path: sys_sigaction)
// are the runtime's to enter, never the kernel's: the kernel's action stays flex_mpk_signal_entry, and the
// runtime records the compartment's handler, flags and mask. When the signal comes, the dispatch moves its
// frame into a delivery slot of the thread's block (runtime key) and returns from the signal into the
// runtime's delivery code, on the slot's stack, with the runtime's rights and the handler's signal mask;
// that code enters the handler's domain through the domain's signal gate (flexbuild's flex_sigenter_<c>, a
// full gate with a fixed callee, flex_mpk_signal_trampoline), on the domain's own stack (below the
// interrupted frames when the signal interrupted that domain) and with its PKRU; the trampoline checks that
// a delivery for its domain is armed (records the runtime writes on the system-call key's pages, which
// domains may read only) and hands the handler copies of the siginfo and of a context (the interrupted
// registers when they were the domain's own, zeros otherwise). Once it returns, the runtime resumes the
// waiting frame through the token's rt_sigreturn: what the handler wrote into its context is never
// restored, and the PKRU after the signal is the one the kernel recorded. So a handler runs with its
// compartment's rights only, on no stack but its compartment's, and the signal stack stays free for the
// system calls it makes (SIGSYS nests there as usual).
//
// The runtime keeps SIGSYS (a handler for it is refused) and the signals it installed a handler for at boot
// (the fault report's SIGSEGV, SIGBUS and SIGILL, SIGCHLD with compartment processes): a compartment's handler for
// those is accepted as the kernel would and never entered, so a fault still ends the image with its report.
// SIGTERM and SIGINT, whose runtime handler only stands in for the default action, go to the compartment
// that asks. A signal another compartment handles cannot be taken over (the call is refused). Not
// supported: leaving a handler with siglongjmp (its slot stays taken; the fifth nesting ends the image with
// a report), sigaltstack for handlers (they run on their domain's stack), handlers in images with light
// gates (refused: a light gate runs its callee on the caller's stack). Threads started after boot get no
// block (and the system-call wall refuses to start them): flex_mpk_signal_block_for_this_thread is the hook
// for a runtime that starts them.
#include <linux/filter.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "flex/runtime/mpk.h"
#include "flex/runtime/mpk_gate.h"  // FLEX_MPK_SET_PKRU: the gates' checked WRPKRU
#include "flex/runtime/mpk_impl.h"

namespace flex::runtime {
namespace detail {
namespace {

// The kernel's sigaction (glibc's would replace the restorer with its own).
struct kernel_sigaction {
  void *handler;
  unsigned long flags;
  void *restorer;
  std::uint64_t mask;
};
constexpr unsigned long kSaRestorer = 0x04000000;

constexpr std::uint32_t kFpMagic1 = 0x46505853;  // FP_XSTATE_MAGIC1, in fpstate's sw_reserved
constexpr std::uint32_t kFpMagic2 = 0x46505845;  // FP_XSTATE_MAGIC2, after the XSAVE area
constexpr std::size_t kSwReserved = 464;         // offset of sw_reserved in the 512-byte legacy area
// The kernel's rt_sigframe after its pretcode: struct ucontext (flags, link, stack, sigcontext, 64-bit
// mask: 304 bytes; glibc's ucontext_t is longer) and siginfo (128), then the XSAVE area above them.
constexpr std::size_t kKernelUcontext = 304;
constexpr std::size_t kSiginfo = 128;

mpk_signal_control &control() {
  return *reinterpret_cast<mpk_signal_control *>(flex_mpk_runtime.sig_control);
}

// The block index of `addr` when it lies in the arena; -1 otherwise.
long block_of(std::uintptr_t addr) {
  const std::uintptr_t lo = flex_mpk_runtime.sig_lo;
  if (addr < lo || addr - lo >= std::uintptr_t{kMpkMaxThreads} * kSigBlock) return -1;
  return static_cast<long>((addr - lo) / kSigBlock);
}

// The live frame of a signal whose ucontext is at `uc`: inside its block's altstack area, its XSAVE area
// after it, both magic words in place (a scrubbed or half-written frame has neither). Returns the end of
// the frame (past FP_XSTATE_MAGIC2), or 0.
std::uintptr_t live_frame_end(std::uintptr_t uc) {
  const long b = block_of(uc);
  if (b < 0) return 0;
  const std::uintptr_t block = flex_mpk_runtime.sig_lo + static_cast<std::uintptr_t>(b) * kSigBlock;
  const std::uintptr_t stack_lo = block + kSigStackOffset, stack_hi = block + kSigBlock;
  if (uc < stack_lo || uc + kKernelUcontext + kSiginfo > stack_hi) return 0;
  const auto *ctx = reinterpret_cast<const ucontext_t *>(uc);
  const auto fp = reinterpret_cast<std::uintptr_t>(ctx->uc_mcontext.fpregs);
  if (fp < uc + kKernelUcontext + kSiginfo || fp + 512 + 64 > stack_hi || (fp & 63) != 0) return 0;
  std::uint32_t magic1 = 0, size = 0;
  std::memcpy(&magic1, reinterpret_cast<const void *>(fp + kSwReserved), 4);
  std::memcpy(&size, reinterpret_cast<const void *>(fp + kSwReserved + 16), 4);  // _fpx_sw_bytes.xstate_size
  if (magic1 != kFpMagic1 || size < 512 + 64 || fp + size + 4 > stack_hi) return 0;
  std::uint32_t magic2 = 0;
  std::memcpy(&magic2, reinterpret_cast<const void *>(fp + size), 4);
  return magic2 == kFpMagic2 ? fp + size + 4 : 0;
}

constexpr std::uint64_t bit(int sig) { return std::uint64_t{1} << (sig - 1); }
constexpr std::uint32_t kSelectorSaved = 0x5e1ec700u;  // sys_signal_enter's mark in the frame's reserved words

}  // namespace
}  // namespace detail
}  // namespace flex::runtime

using flex::runtime::detail::bit;
using flex::runtime::detail::control;
using flex::runtime::detail::live_frame_end;

extern "C" {
void flex_mpk_signal_entry_hardware(int, siginfo_t *, void *);
void flex_mpk_sigreturn_hardware();
void flex_mpk_signal_deliver_stub();
}

namespace flex::runtime::detail {
namespace {

// The kernel's action that routes `sig` through the runtime, with the recorded handler's flags and mask.
kernel_sigaction routed(int sig, unsigned long flags, std::uint64_t mask) {
  kernel_sigaction k{};
  k.handler = reinterpret_cast<void *>(&flex_mpk_signal_entry_hardware);
  k.flags = SA_SIGINFO | SA_ONSTACK | kSaRestorer | (sig == SIGSYS ? SA_NODEFER : 0) |
            (flags & (SA_RESTART | SA_NODEFER | SA_RESETHAND | SA_NOCLDSTOP | SA_NOCLDWAIT));
  if (sig == SIGSYS) k.flags &= ~static_cast<unsigned long>(SA_RESETHAND);
  k.restorer = reinterpret_cast<void *>(&flex_mpk_sigreturn_hardware);
  k.mask = mask & ~bit(SIGSYS);
  return k;
}

// A compartment's handler for the live frame `uc`: the frame waits in the next delivery slot, the record
// for the trampoline is written, and the frame on the signal stack becomes the runtime's delivery (the
// stub, on the slot's stack, the runtime's rights, the handler's mask), which the return goes on to.
void deliver_later(ucontext_t *uc, const siginfo_t *info, int sig, const mpk_signal_control::saved &h) {
  mpk_signal_control &c = control();
  const auto at = reinterpret_cast<std::uintptr_t>(uc);
  const long b = block_of(at);
  const unsigned depth = c.deliver_depth;
  if (depth >= kSigDeliverSlots) {
    die("flex: compartment signal handlers nested more than 4 deep (or left with a jump); terminating\n");
  }
  if (depth > 0 && c.deliver_block != static_cast<std::uint32_t>(b)) {
    die("flex: compartment signal handlers delivered on two threads at once; terminating\n");
  }
  const std::uintptr_t start = at - 8, end = live_frame_end(at);
  const std::uintptr_t slot = flex_mpk_runtime.sig_lo + static_cast<std::uintptr_t>(b) * kSigBlock + kSigDeliverOffset +
                              depth * kSigDeliverSlot;
  const std::uintptr_t copy = slot + (start & 4095);  // the XSAVE area stays 64-byte aligned
  if (copy + (end - start) > slot + kSigDeliverFrameBytes) die("flex: a signal frame too large to deliver; terminating\n");
  std::memcpy(reinterpret_cast<void *>(copy), reinterpret_cast<const void *>(start), end - start);
  auto *waiting = reinterpret_cast<ucontext_t *>(copy + 8);
  const auto fp = reinterpret_cast<std::uintptr_t>(uc->uc_mcontext.fpregs);
  waiting->uc_mcontext.fpregs = reinterpret_cast<fpregset_t>(fp - start + copy);
  c.deliver_block = static_cast<std::uint32_t>(b);
  c.waiting[depth] = {copy, end - start};

  const unsigned dom = h.owner - 1;
  mpk_signal_record &rec = sys_page()->sig_records->rec[depth];
  std::memset(&rec, 0, sizeof rec);
  rec.sig = sig;
  rec.pkru = flex_mpk_runtime.domain_pkru[dom];
  rec.siginfo_form = (h.flags & SA_SIGINFO) ? 1 : 0;
  rec.handler = h.handler;
  std::memcpy(&rec.info, info, sizeof rec.info);
  std::uint32_t pkru = 0;
  if (!frame_pkru(uc, pkru)) die("flex: a signal arrived without the interrupted PKRU in its frame; terminating\n");
  rec.uc.uc_flags = uc->uc_flags;
  rec.uc.uc_stack.ss_flags = SS_DISABLE;
  if (pkru == rec.pkru) {  // the domain's own registers
    std::memcpy(rec.uc.uc_mcontext.gregs, uc->uc_mcontext.gregs, sizeof rec.uc.uc_mcontext.gregs);
    std::memcpy(&rec.uc.__fpregs_mem, uc->uc_mcontext.fpregs, sizeof rec.uc.__fpregs_mem);
  }
  std::memcpy(&rec.uc.uc_sigmask, &uc->uc_sigmask, 8);
  rec.armed = 1;

  greg_t *g = uc->uc_mcontext.gregs;
  g[REG_RIP] = reinterpret_cast<greg_t>(&flex_mpk_signal_deliver_stub);
  g[REG_RSP] = static_cast<greg_t>(slot + kSigDeliverSlot);
  g[REG_RDI] = depth;
  g[REG_EFL] &= ~greg_t{0x40500};  // AC, DF, TF
  std::uint64_t mask = 0;
  std::memcpy(&mask, &uc->uc_sigmask, 8);
  mask |= h.mask | ((h.flags & SA_NODEFER) ? 0 : bit(sig));
  mask &= ~(bit(SIGSYS) | bit(SIGKILL) | bit(SIGSTOP));
  std::memcpy(&uc->uc_sigmask, &mask, 8);
  std::memset(reinterpret_cast<void *>(fp + flex_mpk_runtime.pkru_offset), 0, 4);  // the runtime's rights
  uc->uc_mcontext.__reserved1[0] = kSelectorSaved | kBlock;  // runtime code outside its windows
  if (h.flags & SA_RESETHAND) c.handlers[sig] = {};  // the kernel's action is SIG_DFL again
  c.deliver_depth = depth + 1;
}

}  // namespace

long sys_sigaction(unsigned d, const unsigned long a[6], mpk_sysdrop_fn drop, bool *refuse) {
  const long sig = static_cast<long>(a[0]);
  const auto call = [&] { return drop(SYS_rt_sigaction, a[0], a[1], a[2], a[3], a[4], a[5]); };
  if (sig < 1 || sig > 64 || sig == SIGKILL || sig == SIGSTOP || a[3] != 8) return call();  // the kernel's EINVAL
  mpk_signal_control::saved &h = control().handlers[sig];
  const bool runtime_own = h.handler && h.owner == 0;
  const bool kept = runtime_own && sig != SIGTERM && sig != SIGINT;
  if (h.handler && h.owner != 0 && h.owner != d + 1) {  // another compartment's
    *refuse = true;
    return 0;
  }
  // Every signal but SIGSYS is blocked here (the trap's mask), so none arrives while the kernel holds an
  // action other than the runtime's. The kernel holds what the compartment should see while its call
  // is made with its rights (so the kernel reads its new action and writes its old one, never the runtime),
  // then the new action is read back.
  kernel_sigaction before{}, shown{}, now{};
  runtime_call(SYS_rt_sigaction, sig, 0, reinterpret_cast<long>(&before), 8);
  if (h.handler && h.owner == d + 1) {
    shown = {h.handler, h.flags, h.restorer, h.mask};
  } else if (!runtime_own) {
    shown = before;
  }  // the runtime's own handler shows as SIG_DFL
  runtime_call(SYS_rt_sigaction, sig, reinterpret_cast<long>(&shown), 0, 8);
  const long result = call();
  const long read_back = runtime_call(SYS_rt_sigaction, sig, 0, reinterpret_cast<long>(&now), 8);
  if (result != 0 || a[1] == 0 || kept || read_back != 0) {  // failed, a query, or a signal the runtime keeps
    runtime_call(SYS_rt_sigaction, sig, reinterpret_cast<long>(&before), 0, 8);
    if (result == 0 && a[1] != 0 && read_back != 0) *refuse = true;
    return result;
  }
  if (now.handler == SIG_DFL || now.handler == SIG_IGN) {
    h = {};  // the kernel's action stands
    return 0;
  }
  if (!sys_page()->sig_enter[d]) {  // no signal gate (light gates)
    runtime_call(SYS_rt_sigaction, sig, reinterpret_cast<long>(&before), 0, 8);
    *refuse = true;
    return 0;
  }
  h = {now.handler, now.flags, now.mask, now.restorer, d + 1};
  const kernel_sigaction wrapped = routed(static_cast<int>(sig), now.flags, now.mask);
  if (runtime_call(SYS_rt_sigaction, sig, reinterpret_cast<long>(&wrapped), 0, 8) != 0) {
    die("flex: cannot route a compartment's signal handler through the runtime; terminating\n");
  }
  return 0;
}

}  // namespace flex::runtime::detail

extern "C" {

// Called by flex_mpk_signal_entry_hardware with the runtime's rights, on the thread's own altstack, with
// `uc` the frame the kernel pushed: runs the handler installed at boot for the frame's signal (the number
// and siginfo are read from the frame, never from registers). 0 when the frame is not a live one.
__attribute__((visibility("hidden"), used)) int flex_mpk_signal_dispatch(std::uintptr_t uc) {
  if (!live_frame_end(uc)) return 0;
  auto *info = reinterpret_cast<siginfo_t *>(uc + flex::runtime::detail::kKernelUcontext);
  const int sig = info->si_signo;
  if (sig <= 0 || sig > 64) return 0;
  auto *ctx = reinterpret_cast<ucontext_t *>(uc);
  flex::runtime::detail::sys_signal_enter(ctx);
  if (flex::runtime::detail::is_dispatch_sigsys(ctx, info)) {
    flex::runtime::detail::sys_serve(ctx, info);
    return 1;
  }
  const flex::runtime::detail::mpk_signal_control::saved &h = control().handlers[sig];
  if (h.handler && h.owner != 0) {  // a compartment's: entered through its gate once this frame is left
    flex::runtime::detail::deliver_later(ctx, info, sig, h);
    return 1;
  }
  if (h.flags & SA_SIGINFO) {
    reinterpret_cast<void (*)(int, siginfo_t *, void *)>(h.handler)(sig, info, reinterpret_cast<void *>(uc));
  } else if (h.handler) {
    reinterpret_cast<void (*)(int)>(h.handler)(sig);
  }
  return 1;
}

// Called by flex_mpk_sigreturn_hardware with the runtime's rights, every signal blocked, on the thread's own
// altstack, with `uc` the frame the handler returns from: copies the frame into the block's return buffer,
// scrubs it where it was, and returns where rt_sigreturn must find it (0: not a live frame).
__attribute__((visibility("hidden"), used)) std::uintptr_t flex_mpk_sigreturn_prepare(std::uintptr_t uc) {
  const std::uintptr_t end = live_frame_end(uc);
  if (!end) return 0;
  const std::uintptr_t block = uc - (uc - flex_mpk_runtime.sig_lo) % flex::runtime::detail::kSigBlock;
  const std::uintptr_t buffer = block + flex::runtime::detail::kSigBufferOffset;
  // The copy keeps the frame's offset within a page, so its XSAVE area stays 64-byte aligned.
  const std::uintptr_t start = uc - 8;  // the pretcode slot
  const std::uintptr_t copy = buffer + (start & 4095);
  if (end - start > flex::runtime::detail::kSigBufferBytes - 4096) return 0;
  std::memcpy(reinterpret_cast<void *>(copy), reinterpret_cast<const void *>(start), end - start);
  auto *moved = reinterpret_cast<ucontext_t *>(copy + 8);
  moved->uc_mcontext.fpregs = reinterpret_cast<fpregset_t>(reinterpret_cast<std::uintptr_t>(moved->uc_mcontext.fpregs) -
                                                           start + copy);
  std::memset(reinterpret_cast<void *>(start), 0, end - start);
  flex::runtime::detail::sys_signal_leave(moved);
  return copy + 8;
}

// The runtime's delivery (flex_mpk_signal_deliver_stub calls it with the runtime's rights, on the delivery
// slot's stack, outside any signal frame): enters the recorded handler's domain through its signal gate,
// with the domain's stack starting below the interrupted frames when the signal interrupted that domain.
__attribute__((visibility("hidden"), used)) void flex_mpk_signal_deliver(unsigned long depth) {
  using namespace flex::runtime::detail;
  mpk_syscall_page *page = sys_page();
  mpk_signal_records *recs = page->sig_records;
  if (depth >= kSigDeliverSlots || !recs->rec[depth].armed) die("flex: a signal delivery without its record; terminating\n");
  mpk_signal_record &rec = recs->rec[depth];
  unsigned dom = 0;
  while (dom < flex_mpk_runtime.n_domains && flex_mpk_runtime.domain_pkru[dom] != rec.pkru) ++dom;
  if (dom == flex_mpk_runtime.n_domains || !page->sig_enter[dom]) die("flex: a signal for a domain without a signal gate; terminating\n");
  mpk_thread_table &t = flex_mpk_thread;
  const unsigned key = dom + 1;
  // The thread has a block: the runtime made its first entry into a domain at boot, before any handler.
  std::uint64_t *slot = mpk_slot(key);
  if (!slot) die("flex: a signal for a domain on a thread that never entered one; terminating\n");
  const std::uint64_t saved_cur = t.cur, saved_sp = *slot;
  // Interrupted in this domain, on its own stack: the handler's frames go below the live ones (and their
  // red zone). Elsewhere (another domain, the runtime, a gate between two stacks) the domain's next entry
  // point is already below its live frames.
  const greg_t *g = reinterpret_cast<const ucontext_t *>(control().waiting[depth].start + 8)->uc_mcontext.gregs;
  const auto rsp = static_cast<std::uint64_t>(g[REG_RSP]);
  if (rec.uc.uc_mcontext.gregs[REG_RSP] != 0 && rsp - 256 > flex_mpk_runtime.stack_lo[key] &&
      rsp <= flex_mpk_runtime.stack_hi[key] && flex::runtime::mpk_on_stack_part(flex_mpk_runtime.stack_lo[key], rsp - 256)) {
    *slot = (rsp - 256) & ~std::uint64_t{15};
  }
  const std::uint32_t outer = recs->current;
  recs->current = static_cast<std::uint32_t>(depth);
  page->sig_enter[dom]();
  recs->current = outer;
  rec.armed = 0;
  t.cur = saved_cur;  // the gate (caller key 0) leaves the runtime's 0 there
  *slot = saved_sp;
}

// After the handler: the waiting frame goes into the block's return buffer (as flex_mpk_sigreturn_prepare
// does), its slot is free again, and the selector takes the value the interrupted code had; returns where
// rt_sigreturn must find it. Every signal is blocked (the stub did it).
__attribute__((visibility("hidden"), used)) std::uintptr_t flex_mpk_signal_resume_prepare(unsigned long depth) {
  using namespace flex::runtime::detail;
  mpk_signal_control &c = control();
  if (depth >= kSigDeliverSlots || c.deliver_depth != depth + 1) return 0;
  const std::uintptr_t start = c.waiting[depth].start, bytes = c.waiting[depth].bytes;
  const std::uintptr_t block = flex_mpk_runtime.sig_lo + std::uintptr_t{c.deliver_block} * kSigBlock;
  const std::uintptr_t copy = block + kSigBufferOffset + (start & 4095);
  std::memcpy(reinterpret_cast<void *>(copy), reinterpret_cast<const void *>(start), bytes);
  auto *moved = reinterpret_cast<ucontext_t *>(copy + 8);
  moved->uc_mcontext.fpregs = reinterpret_cast<fpregset_t>(reinterpret_cast<std::uintptr_t>(moved->uc_mcontext.fpregs) -
                                                           start + copy);
  std::memset(reinterpret_cast<void *>(start), 0, bytes);
  c.waiting[depth] = {};
  c.deliver_depth = static_cast<std::uint32_t>(depth);
  sys_signal_leave(moved);
  return copy + 8;
}

// A domain's signal gate lands here, with the domain's rights, on its stack: the handler the runtime
// recorded for the delivery it armed, called with copies of the siginfo and the context it is shown.
// Entered any other way (a jump onto the gate's WRPKRU), it finds no delivery for the running PKRU and
// ends the image.
__attribute__((visibility("default"), used)) void flex_mpk_signal_trampoline() {
  using namespace flex::runtime::detail;
  const mpk_syscall_page *page = sys_page();
  const mpk_signal_records *recs = page ? page->sig_records : nullptr;
  const std::uint32_t cur = recs ? recs->current : kSigDeliverSlots;
  std::uint32_t pkru = 0;
  asm volatile("rdpkru" : "=a"(pkru) : "c"(0) : "rdx");
  if (cur >= kSigDeliverSlots || !recs->rec[cur].armed || recs->rec[cur].pkru != pkru) {
    asm volatile("jmp flex_mpk_sigtramp_abort");
    __builtin_unreachable();
  }
  const mpk_signal_record &rec = recs->rec[cur];
  siginfo_t info;
  ucontext_t uc;
  std::memcpy(&info, &rec.info, sizeof info);
  std::memcpy(&uc, &rec.uc, sizeof uc);
  uc.uc_mcontext.fpregs = &uc.__fpregs_mem;
  if (rec.siginfo_form) {
    reinterpret_cast<void (*)(int, siginfo_t *, void *)>(rec.handler)(rec.sig, &info, &uc);
  } else {
    reinterpret_cast<void (*)(int)>(rec.handler)(rec.sig);
  }
}

// rt_sigprocmask's set while a frame is moved and returned from: every signal.
__attribute__((visibility("hidden"), used)) const std::uint64_t flex_mpk_all_signals = ~std::uint64_t{0};
}

// The entry and the return. Nothing touches the stack before the runtime's rights are taken and rsp is
// known to lie in the altstack of the arena block that this thread owns (FLEX_SIG_OWN_ALTSTACK: gettid
// against the block's owner; clobbers rax, rcx, rdx, r9, r11). The entry never returns through the frame's
// pretcode (which a compartment's own sigaction could have chosen): it goes on to the return itself.
// clang-format off
#define FLEX_SIG_OPERANDS                                                                               \
  [control] "i"(offsetof(flex::runtime::detail::mpk_runtime_page, sig_control)),                       \
  [lo] "i"(offsetof(flex::runtime::detail::mpk_runtime_page, sig_lo)),                                 \
  [arena] "i"(std::size_t{flex::runtime::kMpkMaxThreads} * flex::runtime::detail::kSigBlock),          \
  [mask] "i"(flex::runtime::detail::kSigBlock - 1),                                                    \
  [stackoff] "i"(flex::runtime::detail::kSigStackOffset),                                              \
  [shift] "i"(flex::runtime::detail::kSigBlockShift),                                                  \
  [tids] "i"(offsetof(flex::runtime::detail::mpk_signal_control, tid_of_block)),                       \
  [sys] "i"(offsetof(flex::runtime::detail::mpk_runtime_page, sys_page))

#define FLEX_SIG_OWN_ALTSTACK                                                                           \
  "lea 1f(%%rip), %%r9\n\t"                                                                              \
  "jmp flex_mpk_sud_gettid\n"  /* gettid inside the dispatch's always-allowed range */                  \
  "1:\n\t"                                                                                               \
  "mov %%rsp, %%rcx\n\t"                                                                                \
  "sub flex_mpk_runtime+%c[lo](%%rip), %%rcx\n\t"                                                       \
  "jb flex_mpk_signal_abort\n\t"                                                                        \
  "cmp $%c[arena], %%rcx\n\t"                                                                           \
  "jae flex_mpk_signal_abort\n\t"                                                                       \
  "mov %%rcx, %%rdx\n\t"                                                                                \
  "and $%c[mask], %%rdx\n\t"                                                                            \
  "cmp $%c[stackoff], %%rdx\n\t"                                                                        \
  "jb flex_mpk_signal_abort\n\t"                                                                        \
  "shr $%c[shift], %%rcx\n\t"                                                                           \
  "mov flex_mpk_runtime+%c[control](%%rip), %%rdx\n\t"                                                  \
  "cmp %c[tids](%%rdx,%%rcx,4), %%eax\n\t"                                                              \
  "jne flex_mpk_signal_abort\n\t"

// The runtime's own calls from here on: the selector says ALLOW (the preparation puts back the value the
// interrupted code had, just before rt_sigreturn). Every signal is blocked until rt_sigreturn restores the
// frame's mask: a signal arriving while rsp is in the return buffer (not the altstack) would land on top
// of live frames. Clobbers rax, rcx, rdx, rsi, rdi, r10, r11.
#define FLEX_SIG_BLOCK_ALL                                                                              \
  "mov flex_mpk_runtime+%c[sys](%%rip), %%rcx\n\t"                                                      \
  "test %%rcx, %%rcx\n\t"                                                                               \
  "jz 2f\n\t"                                                                                           \
  "movb $0, (%%rcx)\n"                                                                                  \
  "2:\n\t"                                                                                              \
  "mov $14, %%eax\n\t"                                                                                  \
  "mov $2, %%edi\n\t"                                                                                   \
  "lea flex_mpk_all_signals(%%rip), %%rsi\n\t"                                                          \
  "xor %%edx, %%edx\n\t"                                                                                \
  "mov $8, %%r10d\n\t"                                                                                  \
  "syscall\n\t"                                                                                         \
  "test %%rax, %%rax\n\t"                                                                               \
  "jnz flex_mpk_signal_abort\n\t"

// rt_sigreturn onto the frame a preparation returned in rax (0: none, the end), with the image's token.
#define FLEX_SIG_RETURN_ONTO_RAX                                                                        \
  "test %%rax, %%rax\n\t"                                                                               \
  "jz flex_mpk_signal_abort\n\t"                                                                        \
  "mov %%rax, %%rsp\n\t"                                                                                \
  "mov flex_mpk_runtime+%c[control](%%rip), %%rcx\n\t"                                                  \
  "mov (%%rcx), %%rdi\n\t"                                                                              \
  "mov 8(%%rcx), %%rsi\n\t"                                                                             \
  "jmp flex_mpk_sud_sigreturn\n\t"
// clang-format on

extern "C" {
[[gnu::naked, gnu::visibility("hidden"), gnu::section(".text.flex_gates")]] void flex_mpk_signal_entry_hardware(
    int, siginfo_t *, void *) {
  asm volatile(
      "mov %%rdx, %%r8\n\t"
      FLEX_MPK_SET_PKRU(FLEX_MPK_WRPKRU_HW, "$0")
      FLEX_SIG_OWN_ALTSTACK
      "lea 8(%%rsp), %%rcx\n\t"  /* the frame is the one just above the pretcode slot */
      "cmp %%rcx, %%r8\n\t"
      "jne flex_mpk_signal_abort\n\t"
      "mov %%r8, %%rdi\n\t"
      "sub $8, %%rsp\n\t"
      "call flex_mpk_signal_dispatch\n\t"
      "add $16, %%rsp\n\t"  /* past the pretcode slot: rsp is the frame */
      "test %%eax, %%eax\n\t"
      "jz flex_mpk_signal_abort\n\t"
      "jmp flex_mpk_sigreturn_switched\n\t" ::FLEX_SIG_OPERANDS);
}

[[gnu::naked, gnu::visibility("hidden"), gnu::section(".text.flex_gates")]] void flex_mpk_sigreturn_hardware() {
  asm volatile(
      FLEX_MPK_SET_PKRU(FLEX_MPK_WRPKRU_HW, "$0")
      ".globl flex_mpk_sigreturn_switched\n\t"
      ".hidden flex_mpk_sigreturn_switched\n"
      "flex_mpk_sigreturn_switched:\n\t"  /* the entry joins here, with the runtime's rights */
      FLEX_SIG_OWN_ALTSTACK
      FLEX_SIG_BLOCK_ALL
      "mov %%rsp, %%rdi\n\t"
      "sub $64, %%rsp\n\t"  /* below the pretcode slot, which prepare scrubs */
      "and $-16, %%rsp\n\t"
      "call flex_mpk_sigreturn_prepare\n\t"
      FLEX_SIG_RETURN_ONTO_RAX ::FLEX_SIG_OPERANDS);
}
}

extern "C" {
// The runtime's delivery, entered by rt_sigreturn (deliver_later's frame): rdi = the slot, rsp = the top of
// its stack, the runtime's rights. Runs the handler, then resumes the waiting frame as the return does.
[[gnu::naked, gnu::visibility("hidden"), gnu::section(".text.flex_gates")]] void flex_mpk_signal_deliver_stub() {
  asm volatile(
      "mov %%rdi, %%rbx\n\t"
      "call flex_mpk_signal_deliver\n\t"
      FLEX_SIG_BLOCK_ALL
      "mov %%rbx, %%rdi\n\t"
      "call flex_mpk_signal_resume_prepare\n\t"
      FLEX_SIG_RETURN_ONTO_RAX ::FLEX_SIG_OPERANDS);
}
}

asm(R"(
  .pushsection .text.flex_gates,"ax",@progbits
  .globl flex_mpk_sigtramp_abort
  .hidden flex_mpk_sigtramp_abort
  .type flex_mpk_sigtramp_abort,@function
flex_mpk_sigtramp_abort:
  lea .Lflex_sigtramp_msg(%rip), %rsi
  mov $(.Lflex_sigtramp_msg_end - .Lflex_sigtramp_msg), %edx
  jmp flex_mpk_abort_with_message
  .size flex_mpk_sigtramp_abort, .-flex_mpk_sigtramp_abort
  .globl flex_mpk_signal_abort
  .hidden flex_mpk_signal_abort
  .type flex_mpk_signal_abort,@function
flex_mpk_signal_abort:
  lea .Lflex_signal_msg(%rip), %rsi
  mov $(.Lflex_signal_msg_end - .Lflex_signal_msg), %edx
  jmp flex_mpk_abort_with_message
  .size flex_mpk_signal_abort, .-flex_mpk_signal_abort
  .popsection

  .pushsection .rodata.flex_gates,"a",@progbits
.Lflex_signal_msg:
  .ascii "flex: a signal entry or return ran off its thread's runtime signal stack, or with a frame the kernel did not deliver (a forged or replayed signal frame?); terminating\n"
.Lflex_signal_msg_end:
.Lflex_sigtramp_msg:
  .ascii "flex: a compartment's signal gate was entered with no delivery of its own armed (a jump onto the gate?); terminating\n"
.Lflex_sigtramp_msg_end:
  .popsection
)");

extern "C" {
// The probe's SIGUSR1 handler: ends the probe process with status 0 without touching its stack (which the
// running PKRU cannot reach).
[[gnu::naked, gnu::used, gnu::visibility("hidden")]] void flex_mpk_probe_exit(int) {
  asm volatile(
      "xor %%edi, %%edi\n\t"
      "mov $231, %%eax\n\t"
      "syscall\n\t"
      "ud2\n\t" ::);
}
}

namespace flex::runtime {

bool mpk_kernel_delivers_onto_keyed_stacks() {
  static const bool yes = [] {
    const int key = ::pkey_alloc(0, 0);
    if (key < 0) return false;
    constexpr std::size_t kBytes = 65536;
    void *alt = ::mmap(nullptr, kBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    bool ok = false;
    if (alt != MAP_FAILED && ::pkey_mprotect(alt, kBytes, PROT_READ | PROT_WRITE, key) == 0) {
      const pid_t pid = fork();
      if (pid == 0) {
        stack_t ss{};
        ss.ss_sp = alt;
        ss.ss_size = kBytes;
        struct sigaction sa {};
        sa.sa_handler = &flex_mpk_probe_exit;
        sa.sa_flags = SA_ONSTACK;
        if (sigaltstack(&ss, nullptr) != 0 || sigaction(SIGUSR1, &sa, nullptr) != 0) _exit(2);
        ::pkey_set(key, PKEY_DISABLE_ACCESS);  // glibc's WRPKRU: this binary keeps its own in the gates
        raise(SIGUSR1);
        _exit(1);
      }
      int st = 0;
      ok = pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0;
    }
    if (alt != MAP_FAILED) ::munmap(alt, kBytes);
    ::pkey_free(key);
    return ok;
  }();
  return yes;
}

namespace detail {

status make_signal_arena(int runtime_key) {
  // Before Linux 6.12 the kernel writes a signal frame with the interrupted PKRU, so it cannot write one
  // onto memory that PKRU closes: no arena then (the lockdown's --describe says signals stay open).
  if (!mpk_kernel_delivers_onto_keyed_stacks()) return {};
  // + the control page, + the system-call page and its fresh ranges (mpk_syscalls.cc), tagged with the
  // next key.
  const std::size_t bytes =
      std::size_t{kMpkMaxThreads} * kSigBlock + (1 + kSysPages + 1) * 4096 + kRuntimeStackBytes;
  void *p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) return status::from_errno("cannot map the signal arena", errno);
  if (::pkey_mprotect(p, bytes, PROT_READ | PROT_WRITE, runtime_key) != 0) {
    const int e = errno;
    ::munmap(p, bytes);
    return status::from_errno("cannot tag the signal arena with the runtime's key", e);
  }
  const auto lo = reinterpret_cast<std::uintptr_t>(p);
  for (unsigned b = 0; b < kMpkMaxThreads; ++b) {  // a guard page under each block's return buffer
    if (::mprotect(reinterpret_cast<void *>(lo + b * kSigBlock), 4096, PROT_NONE) != 0) {
      return status::from_errno("cannot place the signal arena's guard pages", errno);
    }
  }
  const std::uintptr_t stack_guard = lo + std::size_t{kMpkMaxThreads} * kSigBlock + (1 + kSysPages) * 4096;
  if (::mprotect(reinterpret_cast<void *>(stack_guard), 4096, PROT_NONE) != 0) {
    return status::from_errno("cannot place the runtime stack's guard page", errno);
  }
  flex_mpk_runtime.sig_lo = lo;
  flex_mpk_runtime.sig_control = lo + std::size_t{kMpkMaxThreads} * kSigBlock;
  flex_mpk_runtime.runtime_key = static_cast<std::uint32_t>(runtime_key);
  return make_syscall_page(reinterpret_cast<void *>(flex_mpk_runtime.sig_control + 4096), runtime_key + 1);
}

}  // namespace detail

bool mpk_signal_arena(std::uintptr_t &lo, std::uintptr_t &hi) {
  if (!flex_mpk_runtime.sig_lo) return false;
  lo = flex_mpk_runtime.sig_lo;
  // with the system-call page, its ranges and its descriptors' owners
  hi = flex_mpk_runtime.sig_control + (1 + detail::kSysPages + 1) * 4096 + detail::kRuntimeStackBytes;
  return true;
}

void *mpk_runtime_stack_top() {
  if (!flex_mpk_runtime.sig_lo || !mpk_syscalls_mediated()) return nullptr;
  return reinterpret_cast<void *>(flex_mpk_runtime.sig_control + (1 + detail::kSysPages + 1) * 4096 +
                                  detail::kRuntimeStackBytes);
}

int mpk_signal_block_for_this_thread() {
  if (!flex_mpk_runtime.sig_lo) return -ENOSYS;
  detail::mpk_signal_control &c = control();
  const unsigned b = c.next_block.fetch_add(1, std::memory_order_relaxed);
  if (b >= kMpkMaxThreads) return -EAGAIN;
  c.tid_of_block[b] = static_cast<std::uint32_t>(syscall(SYS_gettid));
  const std::uintptr_t block = flex_mpk_runtime.sig_lo + b * detail::kSigBlock;
  stack_t ss{};
  ss.ss_sp = reinterpret_cast<void *>(block + detail::kSigStackOffset);
  ss.ss_size = detail::kSigBlock - detail::kSigStackOffset;
  return sigaltstack(&ss, nullptr) == 0 ? 0 : -errno;
}

status mpk_signal_wall(std::uint64_t token[2]) {
  if (!flex_mpk_runtime.sig_lo) return status::error("the mpk runtime has no signal arena (mpk_boot did not run)");
  detail::mpk_signal_control &c = control();
  if (getrandom(c.token, sizeof c.token, 0) != static_cast<ssize_t>(sizeof c.token)) {
    return status::from_errno("cannot draw the signal token", errno);
  }
  if (int rc = mpk_signal_block_for_this_thread(); rc < 0) {
    return status::from_errno("cannot give the boot thread its signal stack", -rc);
  }
  for (int sig = 1; sig <= 64; ++sig) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    detail::kernel_sigaction old{};
    if (syscall(SYS_rt_sigaction, sig, nullptr, &old, 8) != 0) continue;  // 32, 33: glibc's own
    // SIGSYS always comes to the runtime (Syscall User Dispatch delivers a domain's calls with it, and a
    // handler's own calls may raise it again: never deferred, never in a handler's mask).
    const bool sigsys = sig == SIGSYS;
    if (!sigsys && (old.handler == SIG_DFL || old.handler == SIG_IGN)) continue;
    if (old.handler != SIG_DFL && old.handler != SIG_IGN) c.handlers[sig] = {old.handler, old.flags, old.mask, old.restorer, 0};
    const detail::kernel_sigaction wrapped = detail::routed(sig, old.flags, old.mask);
    if (syscall(SYS_rt_sigaction, sig, &wrapped, nullptr, 8) != 0) {
      return status::from_errno("cannot route signal " + std::to_string(sig) + " through the runtime", errno);
    }
  }
  token[0] = c.token[0];
  token[1] = c.token[1];
  return {};
}

}  // namespace flex::runtime
