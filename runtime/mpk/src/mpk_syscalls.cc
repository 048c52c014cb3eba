// Only the runtime makes system calls (DESIGN.md §8): once the image is locked down, a system call made
// with a compartment's PKRU reaches the kernel only after the runtime has checked it against that
// compartment's own set, and it is then made with that compartment's rights.
//
// Mechanism: Syscall User Dispatch (prctl(PR_SET_SYSCALL_USER_DISPATCH), Linux 5.11). The kernel reads the
// thread's selector byte on every system call, and the selector lives on the system-call page, tagged with
// a key every compartment may read but only the runtime may write (pkru_for's read-only key). It says
// BLOCK except inside the runtime's own short windows, so:
//
//   - a call from compartment code outside the gates (libc's write in printf, injected code) is turned by
//     the kernel into SIGSYS, which the signal wall delivers to the runtime on its own stack (mpk_signals.cc);
//     the runtime names the caller by the PKRU in the kernel-written frame (on memory no compartment can
//     write, and only the gates can give a thread a domain's PKRU), checks the call against that domain's
//     set, and makes it through the domain's flex_sysdrop (mpk_gate.h), i.e. with the domain's rights: the
//     kernel's copies to and from user memory honour the caller's keys, so no compartment can have the
//     runtime read or write another's memory for it (the confused deputy);
//   - plat's calls (every libOS library's, Redis's hot path) take the domain's flex_sysgate instead: the same
//     checks without a signal (mpk_gate.h says how each step resists a jump into its middle);
//   - the runtime's own calls (PKRU 0) trap the same way and are made as they are.
//
// Memory calls (mmap, munmap, mprotect, mremap, madvise, brk, pkey_*) come only by the trap too (the gate
// refuses them; plat's self.c routes them to a plain `syscall`), and reach only the domain's own fresh
// memory: what the runtime mapped for it after lockdown, tagged with its key (below, "Memory calls").
//
// Descriptors are their domain's: both paths record which domain made each descriptor (on the pages after
// the fresh ranges', under the same key) and refuse a domain's call that names another domain's (the
// arguments fd_args marks, read as the kernel reads them); a descriptor closed by its owner is anyone's
// again. Those made before the wall (the standard streams, boot's) or by the runtime are anyone's, and
// descriptors passed in memory (poll's array, epoll_ctl's target, pipe2's results, SCM_RIGHTS) are not
// looked into: a domain may watch another's socket for readiness (sched waits on net's), not read it.
//
// Signal state stays the runtime's, and only the trap path touches it (a domain's gate refuses every call
// whose arguments need a look: signal state, prctl, signals queued to oneself, shmat): a domain's
// rt_sigprocmask changes the mask of the code that made it (the frame's), not the runtime handler's;
// rt_sigaction is emulated (mpk_signals.cc: the runtime records a domain's handler and enters it through
// the domain's signal gate), and may not touch SIGSYS; rt_sigreturn never comes from a domain; prctl may neither
// switch the dispatch off nor load a filter. A SIGSYS counts as the dispatch's only when its frame says so
// (rip just past a `syscall`, rax its number), not because its siginfo does.
//
// Dispatch's always-allowed range is a hole (code can jump into it), so the range holds only four
// `syscall` instructions the runtime needs while the selector may say BLOCK (the signal entry's gettid,
// the abort's write and exit_group, the signal return's rt_sigreturn), and the layout wall pins each of
// them to its own call number (mpk_sud_sites). Threads are not mediated (dispatch is per thread and not
// inherited), so the wall arms the one thread a process has at lockdown (the lockdown refuses an image
// that reaches it with more), and no domain may start one afterwards (clone is refused). What an attacker
// would still need: a WRPKRU outside the gates (ruled out by the gadget scan and W^X), a write to the
// system-call page (the runtime's key), a light gate's way back (light gates trust the shared stack), or
// key-0 state the runtime trusts beyond the pointers it follows (those are sealed: FLEX_SEALED, and the
// GOT is read-only, full RELRO): glibc's own data (its exit handlers, stdio, malloc's arenas), which is
// not defended yet (DESIGN.md §8, tests/security and runtime/mpk not_yet_defended). The runtime's own stack is its key's once the wall is armed (mpk_runtime_stack_top),
// and full gates from it return through its return cell.
#include <cpuid.h>
#include <linux/audit.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "flex/runtime/mpk.h"
#include "flex/runtime/mpk_impl.h"
#include "flex/runtime/raw_syscall.h"

#ifndef PR_SET_SYSCALL_USER_DISPATCH
#define PR_SET_SYSCALL_USER_DISPATCH 59
#define PR_SYS_DISPATCH_OFF 0
#define PR_SYS_DISPATCH_ON 1
#endif
#ifndef SYS_USER_DISPATCH
#define SYS_USER_DISPATCH 2
#endif

extern "C" {
// The always-allowed range (below): the address after each of its `syscall` instructions.
extern const char flex_mpk_sud_lo[], flex_mpk_sud_write_end[], flex_mpk_sud_exit_end[], flex_mpk_sud_hi[];
long flex_mpk_pkey_tag(long addr, long len, long prot, long key);
extern const char flex_mpk_pkey_site[];
}

// clang-format off
asm(R"(
  .pushsection .text.flex_gates,"ax",@progbits
  .globl flex_mpk_sud_gettid
  .hidden flex_mpk_sud_gettid
  .type flex_mpk_sud_gettid,@function
flex_mpk_sud_gettid:          # the signal entry's and return's check: eax = gettid(), then jmp *%r9
  mov $186, %eax
  syscall
  .globl flex_mpk_sud_lo
  .hidden flex_mpk_sud_lo
flex_mpk_sud_lo:
  jmp *%r9
  .globl flex_mpk_sud_abort
  .hidden flex_mpk_sud_abort
flex_mpk_sud_abort:           # rsi, edx: a message for stderr; exit status 134
  mov $2, %edi
  mov $1, %eax
  syscall
  .globl flex_mpk_sud_write_end
  .hidden flex_mpk_sud_write_end
flex_mpk_sud_write_end:
  mov $134, %edi
  mov $231, %eax
  syscall
  .globl flex_mpk_sud_exit_end
  .hidden flex_mpk_sud_exit_end
flex_mpk_sud_exit_end:
  ud2
  .globl flex_mpk_sud_sigreturn
  .hidden flex_mpk_sud_sigreturn
flex_mpk_sud_sigreturn:       # rdi, rsi: the token; rsp: the frame
  mov $15, %eax
  syscall
  .globl flex_mpk_sud_hi
  .hidden flex_mpk_sud_hi
flex_mpk_sud_hi:
  ud2
  .size flex_mpk_sud_gettid, .-flex_mpk_sud_gettid

  .globl flex_mpk_pkey_tag
  .hidden flex_mpk_pkey_tag
  .type flex_mpk_pkey_tag,@function
flex_mpk_pkey_tag:            # pkey_mprotect(rdi, rsi, rdx, rcx): the runtime's only site for it
  mov %rcx, %r10
  mov $329, %eax
  syscall
  .globl flex_mpk_pkey_site
  .hidden flex_mpk_pkey_site
flex_mpk_pkey_site:
  ret
  .size flex_mpk_pkey_tag, .-flex_mpk_pkey_tag

  .globl flex_mpk_sys_abort
  .hidden flex_mpk_sys_abort
  .type flex_mpk_sys_abort,@function
flex_mpk_sys_abort:
  lea .Lflex_sys_msg(%rip), %rsi
  mov $(.Lflex_sys_msg_end - .Lflex_sys_msg), %edx
  jmp flex_mpk_sud_abort
  .size flex_mpk_sys_abort, .-flex_mpk_sys_abort
  .popsection

  .pushsection .rodata.flex_gates,"a",@progbits
.Lflex_sys_msg:
  .ascii "flex: a system-call gate was entered other than at its start (a jump onto its WRPKRU?); terminating\n"
.Lflex_sys_msg_end:
  .popsection
)");
// clang-format on

namespace flex::runtime {
namespace detail {

mpk_syscall_page *sys_page() {
  return reinterpret_cast<mpk_syscall_page *>(flex_mpk_runtime.sys_page);
}

// A system call as the runtime (PKRU 0), inside an ALLOW window of its own.
long runtime_call(long nr, long a0, long a1, long a2, long a3, long a4, long a5) {
  volatile std::uint8_t *sel = &sys_page()->selector;
  const std::uint8_t before = *sel;
  *sel = kAllow;
  const long r = raw_syscall(nr, a0, a1, a2, a3, a4, a5);
  *sel = before;
  return r;
}

// The PKRU the frame's XSAVE area holds (the interrupted thread's): false when the area does not carry
// it (the kernels this wall runs on always write it: Linux 6.12's update_pkru_in_sigframe).
bool frame_pkru(const ucontext_t *uc, std::uint32_t &pkru) {
  const auto fp = reinterpret_cast<std::uintptr_t>(uc->uc_mcontext.fpregs);
  std::uint64_t xstate_bv = 0;
  std::memcpy(&xstate_bv, reinterpret_cast<const void *>(fp + 512), 8);
  if (!(xstate_bv & (1u << 9)) || flex_mpk_runtime.pkru_offset == 0) return false;
  std::memcpy(&pkru, reinterpret_cast<const void *>(fp + flex_mpk_runtime.pkru_offset), 4);
  return true;
}

[[noreturn]] void die(const char *msg) {
  runtime_call(SYS_write, 2, reinterpret_cast<long>(msg), static_cast<long>(std::strlen(msg)));
  runtime_call(SYS_exit_group, 134);
  __builtin_unreachable();
}

namespace {

[[noreturn]] void refused(unsigned domain, long nr, const unsigned long args[6],
                          mpk_refusal why = mpk_refusal::outside_set) {
  sys_page()->selector = kAllow;  // the report's own calls: the image ends right after
  const unsigned compartment = domain < flex_mpk_runtime.n_domains ? flex_mpk_runtime.domain_compartment[domain] : ~0u;
  if (auto *fn = sys_page()->refuse) fn(compartment, nr, args, why);
  die("flex: a compartment made a system call outside its set; terminating\n");
}

bool is_thread_start(long nr) {
  return nr == SYS_clone || nr == SYS_clone3 || nr == SYS_fork || nr == SYS_vfork;
}

bool in_set(unsigned domain, long nr) {
  if (nr < 0 || nr >= 512) return false;
  return (sys_page()->allowed[domain][nr / 64] >> (nr % 64)) & 1u;
}

// ---- Memory calls (DESIGN.md §8) -------------------------------------------------------------------
// A domain's memory calls come only through the trap (its gate refuses them) and may touch only its own
// fresh ranges: what the runtime mapped for it after lockdown, tagged with its key at the runtime's one
// pkey_mprotect site. So a domain's new memory is its own (no other domain can load or store it), and no
// domain can unmap, remap, re-protect or wipe another's (the kernel would not check keys for those). The
// image's laid-out memory is the layout wall's (lockdown_layout.cc): a seccomp filter refuses these calls
// there, whoever makes them. brk never moves the break for a domain (the break's memory would be key 0):
// libc then grows its heap with mmap, which is fresh memory like any other.

constexpr std::uintptr_t kPageMask = 4095;

bool is_memory_call(long nr) {
  return nr == SYS_mmap || nr == SYS_munmap || nr == SYS_mprotect || nr == SYS_mremap || nr == SYS_madvise ||
         nr == SYS_brk || nr == SYS_pkey_mprotect || nr == SYS_pkey_alloc || nr == SYS_pkey_free;
}

// [lo, lo + len) rounded out to pages; false when it wraps or is empty.
bool page_range(unsigned long addr, unsigned long len, std::uintptr_t &lo, std::uintptr_t &hi) {
  lo = addr & ~kPageMask;
  if (len == 0 || addr + len < addr || addr + len + kPageMask < addr + len) return false;
  hi = (addr + len + kPageMask) & ~kPageMask;
  return true;
}

// Whether [lo, hi) lies within d's fresh ranges (adjacent ranges of one domain are merged, so one does).
bool owns(unsigned d, std::uintptr_t lo, std::uintptr_t hi) {
  const mpk_syscall_page *page = sys_page();
  for (std::uint32_t i = 0; i < page->n_fresh; ++i) {
    const auto &f = page->fresh[i];
    if (f.lo <= lo && hi <= f.hi) return f.domain == d;
  }
  return false;
}

// Drops [lo, hi) from every range (a range cut in two keeps both ends). False when the table is full.
bool forget(std::uintptr_t lo, std::uintptr_t hi) {
  mpk_syscall_page *page = sys_page();
  mpk_syscall_page::fresh_range out[2];
  for (std::uint32_t i = 0; i < page->n_fresh;) {
    auto f = page->fresh[i];
    if (f.hi <= lo || hi <= f.lo) {
      ++i;
      continue;
    }
    int n = 0;
    if (f.lo < lo) out[n++] = {f.lo, lo, f.domain};
    if (hi < f.hi) out[n++] = {hi, f.hi, f.domain};
    if (n == 2 && page->n_fresh >= kMaxFresh) return false;
    if (n == 0) {
      std::memmove(&page->fresh[i], &page->fresh[i + 1], (page->n_fresh - i - 1) * sizeof f);
      --page->n_fresh;
      continue;
    }
    page->fresh[i] = out[0];
    if (n == 2) {
      std::memmove(&page->fresh[i + 2], &page->fresh[i + 1], (page->n_fresh - i - 1) * sizeof f);
      page->fresh[i + 1] = out[1];
      ++page->n_fresh;
    }
    i += static_cast<std::uint32_t>(n);
  }
  return true;
}

// Records [lo, hi) as d's (whatever it was before), merged with d's neighbours. False when full.
bool remember(unsigned d, std::uintptr_t lo, std::uintptr_t hi) {
  mpk_syscall_page *page = sys_page();
  if (!forget(lo, hi)) return false;
  std::uint32_t at = 0;
  while (at < page->n_fresh && page->fresh[at].lo < lo) ++at;
  if (at > 0 && page->fresh[at - 1].hi == lo && page->fresh[at - 1].domain == d) {
    page->fresh[at - 1].hi = hi;
    if (at < page->n_fresh && page->fresh[at].lo == hi && page->fresh[at].domain == d) {
      page->fresh[at - 1].hi = page->fresh[at].hi;
      std::memmove(&page->fresh[at], &page->fresh[at + 1], (page->n_fresh - at - 1) * sizeof page->fresh[0]);
      --page->n_fresh;
    }
    return true;
  }
  if (at < page->n_fresh && page->fresh[at].lo == hi && page->fresh[at].domain == d) {
    page->fresh[at].lo = lo;
    return true;
  }
  if (page->n_fresh >= kMaxFresh) return false;
  std::memmove(&page->fresh[at + 1], &page->fresh[at], (page->n_fresh - at) * sizeof page->fresh[0]);
  page->fresh[at] = {lo, hi, d};
  ++page->n_fresh;
  return true;
}

bool in_stack_arena(std::uintptr_t lo, std::uintptr_t hi) {
  for (int k = 0; k < kPkeyCount; ++k) {
    if (flex_mpk_runtime.stack_lo[k] && flex_mpk_runtime.stack_lo[k] <= lo && hi <= flex_mpk_runtime.stack_hi[k]) return true;
  }
  return false;
}

long runtime_tag(std::uintptr_t lo, std::uintptr_t hi, long prot, unsigned key) {
  volatile std::uint8_t *sel = &sys_page()->selector;
  const std::uint8_t before = *sel;
  *sel = kAllow;
  const long r = flex_mpk_pkey_tag(static_cast<long>(lo), static_cast<long>(hi - lo), prot, static_cast<long>(key));
  *sel = before;
  return r;
}

bool is_error(long r) {
  return r < 0 && r > -4096;
}

// Fresh memory for domain d: mapped with its rights, tagged with its key, recorded as its own.
long map_fresh(unsigned d, mpk_sysdrop_fn drop, long nr, const unsigned long a[6], std::uintptr_t len_lo,
               std::uintptr_t len_hi, long prot) {
  const long r = drop(nr, static_cast<long>(a[0]), static_cast<long>(a[1]), static_cast<long>(a[2]),
                      static_cast<long>(a[3]), static_cast<long>(a[4]), static_cast<long>(a[5]));
  if (is_error(r)) return r;
  const auto lo = static_cast<std::uintptr_t>(r);
  const std::uintptr_t hi = lo + (len_hi - len_lo);
  // A thread stack under light gates is every domain's (they run on the caller's stack): the shared key.
  const bool shared = sys_page()->shared_stacks && nr == SYS_mmap && (a[3] & MAP_STACK);
  const auto key = shared ? flex_mpk_runtime.shared_key : static_cast<unsigned>(domain_key(d));
  if (!is_error(runtime_tag(lo, hi, prot, key)) && remember(d, lo, hi)) return r;
  runtime_call(SYS_munmap, static_cast<long>(lo), static_cast<long>(hi - lo));
  forget(lo, hi);
  return -ENOMEM;
}

// A memory call of domain d (is_memory_call): its result, or a refusal.
long serve_memory(unsigned d, long nr, const unsigned long a[6], mpk_sysdrop_fn drop) {
  const auto call = [&] {
    return drop(nr, static_cast<long>(a[0]), static_cast<long>(a[1]), static_cast<long>(a[2]), static_cast<long>(a[3]),
                static_cast<long>(a[4]), static_cast<long>(a[5]));
  };
  std::uintptr_t lo = 0, hi = 0;
  switch (nr) {
    case SYS_brk:
      return drop(SYS_brk, 0, 0, 0, 0, 0, 0);  // the break where it is: the move fails, as for ENOMEM
    case SYS_mmap: {
      if (!page_range(a[0], a[1], lo, hi)) return -EINVAL;
      // Files are the layout wall's (refused after boot); MAP_FIXED replaces what is there: only d's own.
      if (!(a[3] & MAP_ANONYMOUS)) return call();
      if ((a[3] & MAP_FIXED) && !(a[3] & MAP_FIXED_NOREPLACE) && !owns(d, lo, hi)) break;
      return map_fresh(d, drop, nr, a, lo, hi, static_cast<long>(a[2]));
    }
    case SYS_munmap: {
      if (!page_range(a[0], a[1], lo, hi)) return -EINVAL;
      if (!owns(d, lo, hi)) break;
      const long r = call();
      if (r == 0) forget(lo, hi);
      return r;
    }
    case SYS_mprotect:
    case SYS_madvise:
      if (!page_range(a[0], a[1], lo, hi)) return -EINVAL;
      // The gates commit a domain's stack on a thread's first entry with the caller's rights: read and
      // write, inside a stack arena (which the layout wall allows too; the pages keep their key).
      if (nr == SYS_mprotect && a[2] == (PROT_READ | PROT_WRITE) && in_stack_arena(lo, hi)) return call();
      if (!owns(d, lo, hi)) break;
      return call();  // mprotect keeps the range's key
    case SYS_mremap: {
      if (!page_range(a[0], a[1], lo, hi)) return -EINVAL;
      if (!owns(d, lo, hi)) break;
      std::uintptr_t new_lo = 0, new_hi = 0;
      if ((a[3] & MREMAP_FIXED) && (!page_range(a[4], a[2], new_lo, new_hi) || !owns(d, new_lo, new_hi))) break;
      if (a[3] & MREMAP_DONTUNMAP) break;  // would leave a key-0 range behind
      const long r = call();
      if (is_error(r)) return r;
      // The moved or grown range keeps its key; the table follows it.
      forget(lo, hi);
      std::uintptr_t out_lo = 0, out_hi = 0;
      page_range(static_cast<unsigned long>(r), a[2], out_lo, out_hi);
      if (!remember(d, out_lo, out_hi)) {
        runtime_call(SYS_munmap, static_cast<long>(out_lo), static_cast<long>(out_hi - out_lo));
        return -ENOMEM;
      }
      return r;
    }
    default:
      break;  // pkey_*: the keys are the runtime's
  }
  const unsigned long args[6] = {a[0], a[1], a[2], a[3], a[4], a[5]};
  refused(d, nr, args, mpk_refusal::memory);
}

// The system calls that name descriptors (bit i: argument i names one) or make one (kFdMakes). Calls that
// pass descriptors in memory (poll, select, pipe2's results, SCM_RIGHTS) are not looked into; fcntl's
// F_DUPFD makes one that stays anyone's; epoll_ctl's third argument may be another domain's (readiness
// only: sched waits on net's sockets).
void fill_fd_args(std::uint8_t (&t)[512]) {
  struct entry {
    long nr;
    std::uint8_t bits;
  };
  constexpr std::uint8_t a0 = 1, a1 = 2, a2 = 4, a4 = 16, mk = kFdMakes;
  static constexpr entry kCalls[] = {
      {SYS_read, a0}, {SYS_write, a0}, {SYS_close, a0 | kFdCloses}, {SYS_fstat, a0}, {SYS_lseek, a0}, {SYS_ioctl, a0},
      {SYS_pread64, a0}, {SYS_pwrite64, a0}, {SYS_readv, a0}, {SYS_writev, a0}, {SYS_dup, a0 | mk},
      {SYS_dup2, a0 | a1 | mk}, {SYS_dup3, a0 | a1 | mk}, {SYS_sendfile, a0 | a1}, {SYS_socket, mk},
      {SYS_connect, a0}, {SYS_accept, a0 | mk}, {SYS_accept4, a0 | mk}, {SYS_sendto, a0}, {SYS_recvfrom, a0},
      {SYS_sendmsg, a0}, {SYS_recvmsg, a0}, {SYS_sendmmsg, a0}, {SYS_recvmmsg, a0}, {SYS_shutdown, a0},
      {SYS_bind, a0}, {SYS_listen, a0}, {SYS_getsockname, a0}, {SYS_getpeername, a0}, {SYS_setsockopt, a0},
      {SYS_getsockopt, a0}, {SYS_fcntl, a0}, {SYS_flock, a0}, {SYS_fsync, a0}, {SYS_fdatasync, a0},
      {SYS_ftruncate, a0}, {SYS_getdents, a0}, {SYS_getdents64, a0}, {SYS_fchdir, a0}, {SYS_fchmod, a0},
      {SYS_fchown, a0}, {SYS_fstatfs, a0}, {SYS_readahead, a0}, {SYS_fadvise64, a0}, {SYS_fallocate, a0},
      {SYS_syncfs, a0}, {SYS_sync_file_range, a0}, {SYS_fgetxattr, a0}, {SYS_fsetxattr, a0},
      {SYS_flistxattr, a0}, {SYS_fremovexattr, a0}, {SYS_epoll_wait, a0}, {SYS_epoll_pwait, a0},
      {SYS_epoll_pwait2, a0}, {SYS_epoll_ctl, a0}, {SYS_epoll_create, mk}, {SYS_epoll_create1, mk},
      {SYS_open, mk}, {SYS_creat, mk}, {SYS_openat, a0 | mk}, {SYS_openat2, a0 | mk}, {SYS_mkdirat, a0},
      {SYS_mknodat, a0}, {SYS_fchownat, a0}, {SYS_futimesat, a0}, {SYS_newfstatat, a0}, {SYS_unlinkat, a0},
      {SYS_renameat, a0 | a2}, {SYS_renameat2, a0 | a2}, {SYS_linkat, a0 | a2}, {SYS_symlinkat, a1},
      {SYS_readlinkat, a0}, {SYS_fchmodat, a0}, {SYS_faccessat, a0}, {SYS_faccessat2, a0}, {SYS_utimensat, a0},
      {SYS_statx, a0}, {SYS_splice, a0 | a2}, {SYS_tee, a0 | a1}, {SYS_vmsplice, a0},
      {SYS_copy_file_range, a0 | a2}, {SYS_preadv, a0}, {SYS_pwritev, a0}, {SYS_preadv2, a0},
      {SYS_pwritev2, a0}, {SYS_timerfd_create, mk}, {SYS_timerfd_settime, a0}, {SYS_timerfd_gettime, a0},
      {SYS_eventfd, mk}, {SYS_eventfd2, mk}, {SYS_signalfd, a0 | mk}, {SYS_signalfd4, a0 | mk},
      {SYS_inotify_init, mk}, {SYS_inotify_init1, mk}, {SYS_inotify_add_watch, a0}, {SYS_inotify_rm_watch, a0},
      {SYS_memfd_create, mk}, {SYS_pidfd_open, mk}, {SYS_name_to_handle_at, a0}, {SYS_mmap, a4},
  };
  for (const entry &e : kCalls) t[e.nr] = e.bits;
}

// Whether the descriptors call nr names are domain d's or no domain's, as the kernel reads them (the low
// 32 bits; a negative one is its business: AT_FDCWD, or EBADF).
bool own_descriptors(unsigned d, long nr, const unsigned long a[6]) {
  const mpk_syscall_page *page = sys_page();
  if (nr < 0 || nr >= 512) return true;
  const std::uint8_t bits = page->fd_args[nr];
  for (int i = 0; i < 6; ++i) {
    if (!(bits & (1u << i))) continue;
    if (nr == SYS_mmap && (a[3] & MAP_ANONYMOUS)) continue;
    const int fd = static_cast<int>(static_cast<std::uint32_t>(a[i]));
    if (fd < 0) continue;
    if (static_cast<std::size_t>(fd) >= kMaxOwnedFd) return false;
    const std::uint8_t owner = page->fd_owner[fd];
    if (owner != 0 && owner != d + 1) return false;
  }
  return true;
}

// A descriptor call nr made for domain d is d's; one it closed is no domain's.
void note_descriptor(unsigned d, long nr, long result, unsigned long a0) {
  mpk_syscall_page *page = sys_page();
  if (nr < 0 || nr >= 512) return;
  const std::uint8_t bits = page->fd_args[nr];
  if ((bits & kFdMakes) && result >= 0 && static_cast<std::size_t>(result) < kMaxOwnedFd)
    page->fd_owner[result] = static_cast<std::uint8_t>(d + 1);
  const std::uint32_t closed = static_cast<std::uint32_t>(a0);
  if ((bits & kFdCloses) && result == 0 && closed < kMaxOwnedFd) page->fd_owner[closed] = 0;
}

}  // namespace

status make_syscall_page(void *p, int key) {
  auto *page = static_cast<mpk_syscall_page *>(p);
  page->selector = kAllow;
  if (::pkey_mprotect(p, kSysPages * 4096, PROT_READ | PROT_WRITE, key) != 0) {
    return status::from_errno("cannot tag the system-call page with its key", errno);
  }
  page->fresh = reinterpret_cast<mpk_syscall_page::fresh_range *>(static_cast<char *>(p) + 4096);
  page->n_fresh = 0;
  page->fd_owner = static_cast<std::uint8_t *>(p) + (1 + kFreshPages) * 4096;
  page->sig_records = reinterpret_cast<mpk_signal_records *>(static_cast<char *>(p) + (1 + kFreshPages + kFdPages) * 4096);
  page->sig_records->current = kSigDeliverSlots;
  fill_fd_args(page->fd_args);
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (__get_cpuid_count(0xd, 9, &eax, &ebx, &ecx, &edx) && eax == 8) flex_mpk_runtime.pkru_offset = ebx;
  flex_mpk_runtime.sys_page = reinterpret_cast<std::uintptr_t>(p);
  return {};
}

// The selector while a signal is handled: BLOCK (a handler interrupting one of the runtime's windows must
// not inherit it), the interrupted value kept in the frame's reserved words (runtime memory) until the
// return restores it.
void sys_signal_enter(ucontext_t *uc) {
  mpk_syscall_page *page = sys_page();
  if (!page) return;
  uc->uc_mcontext.__reserved1[0] = 0x5e1ec700u | page->selector;
  page->selector = kBlock;
}

void sys_signal_leave(const ucontext_t *uc) {
  mpk_syscall_page *page = sys_page();
  if (!page) return;
  const unsigned long long saved = uc->uc_mcontext.__reserved1[0];
  page->selector = (saved & ~0xffull) == 0x5e1ec700u ? static_cast<std::uint8_t>(saved & 1u) : kBlock;
}

// A SIGSYS from dispatch: the call the interrupted code made, checked and made for it; its result goes into
// the frame's rax, which rt_sigreturn restores.
void sys_serve(ucontext_t *uc, const siginfo_t *info) {
  greg_t *r = uc->uc_mcontext.gregs;
  const long nr = info->si_syscall;
  const unsigned long args[6] = {static_cast<unsigned long>(r[REG_RDI]), static_cast<unsigned long>(r[REG_RSI]),
                                 static_cast<unsigned long>(r[REG_RDX]), static_cast<unsigned long>(r[REG_R10]),
                                 static_cast<unsigned long>(r[REG_R8]),  static_cast<unsigned long>(r[REG_R9])};
  std::uint32_t pkru = 0;
  if (!frame_pkru(uc, pkru)) die("flex: a system call arrived without the caller's PKRU in its frame; terminating\n");
  const auto a = [&](int i) { return static_cast<long>(args[i]); };
  // Never through the trap: a signal return of the caller's own making, a handler for SIGSYS itself or the
  // dispatch switched off (signal state is the runtime's), a thread the dispatch would not follow, another
  // ABI (int 0x80).
  const mpk_refusal why = info->si_arch != AUDIT_ARCH_X86_64 ? mpk_refusal::foreign_abi
                          : nr == SYS_rt_sigreturn || (nr == SYS_rt_sigaction && a(0) == SIGSYS) ||
                                    (nr == SYS_prctl && (a(0) == PR_SET_SYSCALL_USER_DISPATCH || a(0) == PR_SET_SECCOMP)) ||
                                    ((nr == SYS_rt_sigqueueinfo || nr == SYS_rt_tgsigqueueinfo) && a(nr == SYS_rt_sigqueueinfo ? 1 : 2) == SIGSYS)
                              ? mpk_refusal::signal_state
                              : mpk_refusal::outside_set;
  const bool never = why != mpk_refusal::outside_set || is_thread_start(nr);
  // The runtime: its rights open its own key (0 after boot; during boot, the boot thread's PKRU as
  // pkey_alloc left it). No domain's PKRU does.
  const int rkey = static_cast<int>(flex_mpk_runtime.runtime_key);
  if (pkru_can_write(pkru, rkey)) {
    const bool disarm = nr == SYS_prctl && a(0) == PR_SET_SYSCALL_USER_DISPATCH;  // the runtime's own choice
    if (never && !disarm) refused(~0u, nr, args, why);
    r[REG_RAX] = runtime_call(nr, a(0), a(1), a(2), a(3), a(4), a(5));
    return;
  }
  unsigned d = 0;
  while (d < flex_mpk_runtime.n_domains && flex_mpk_runtime.domain_pkru[d] != pkru) ++d;
  if (d == flex_mpk_runtime.n_domains) {
    char msg[160];
    static const char hex[] = "0123456789abcdef";
    char v[9] = {};
    for (int i = 0; i < 8; ++i) v[i] = hex[(pkru >> (28 - 4 * i)) & 15];
    std::strcpy(msg, "flex: a system call arrived with a PKRU no domain has (0x");
    std::strcat(msg, v);
    std::strcat(msg, "); terminating\n");
    die(msg);
  }
  if (never || !in_set(d, nr)) refused(d, nr, args, why);
  if (!own_descriptors(d, nr, args)) refused(d, nr, args, mpk_refusal::descriptor);
  auto *drop = sys_page()->drop[d];
  if (nr == SYS_rt_sigaction) {
    bool refuse = false;
    const long result = sys_sigaction(d, args, drop, &refuse);
    if (refuse) refused(d, nr, args, mpk_refusal::signal_state);
    r[REG_RAX] = result;
    return;
  }
  if (nr == SYS_rt_sigprocmask) {
    // The mask to change is the interrupted code's (the frame's), not the handler's: make the call on
    // that mask with the caller's rights (which read its set and write its old one), then keep the result
    // in the frame and go back to the handler's mask.
    std::uint64_t handler = 0, now = 0;
    const std::uint64_t sigsys = std::uint64_t{1} << (SIGSYS - 1);
    std::uint64_t interrupted = 0;
    std::memcpy(&interrupted, &uc->uc_sigmask, 8);
    runtime_call(SYS_rt_sigprocmask, SIG_SETMASK, reinterpret_cast<long>(&interrupted), reinterpret_cast<long>(&handler), 8);
    r[REG_RAX] = drop(nr, a(0), a(1), a(2), a(3), a(4), a(5));
    runtime_call(SYS_rt_sigprocmask, SIG_SETMASK, reinterpret_cast<long>(&handler), reinterpret_cast<long>(&now), 8);
    now &= ~sigsys;  // the dispatch's signal stays deliverable
    std::memcpy(&uc->uc_sigmask, &now, 8);
    return;
  }
  if (is_memory_call(nr)) {
    r[REG_RAX] = serve_memory(d, nr, args, drop);
    return;
  }
  r[REG_RAX] = drop(nr, a(0), a(1), a(2), a(3), a(4), a(5));
  note_descriptor(d, nr, r[REG_RAX], args[0]);
}

// A SIGSYS the dispatch raised, not one a compartment queued to itself with a siginfo of its choosing
// (rt_sigqueueinfo may set si_code to SYS_USER_DISPATCH): the frame's rip is just past a `syscall`
// instruction, si_call_addr names it, and rax still holds the number (the kernel rolls the call back).
bool is_dispatch_sigsys(const ucontext_t *uc, const siginfo_t *info) {
  if (!sys_page() || !sys_page()->armed || info->si_signo != SIGSYS || info->si_code != SYS_USER_DISPATCH) return false;
  const greg_t *r = uc->uc_mcontext.gregs;
  const auto rip = static_cast<std::uintptr_t>(r[REG_RIP]);
  if (reinterpret_cast<std::uintptr_t>(info->si_call_addr) != rip || r[REG_RAX] != info->si_syscall) return false;
  const auto *insn = reinterpret_cast<const unsigned char *>(rip - 2);
  return insn[0] == 0x0f && insn[1] == 0x05;
}

}  // namespace detail

namespace {

// A refusal of a domain's system-call gate (mpk_gate.h), from the runtime's own stack.
[[noreturn]] void gate_refusal(unsigned domain, long nr, long a0, long a1, long a2, long a3, long a4, long a5,
                               mpk_refusal why) {
  const unsigned long args[6] = {static_cast<unsigned long>(a0), static_cast<unsigned long>(a1),
                                 static_cast<unsigned long>(a2), static_cast<unsigned long>(a3),
                                 static_cast<unsigned long>(a4), static_cast<unsigned long>(a5)};
  detail::refused(domain, nr, args, why);
}

}  // namespace

// A call outside the domain's set.
extern "C" [[noreturn, gnu::used, gnu::visibility("hidden")]] void flex_mpk_sys_refused(unsigned domain, long nr,
                                                                                        long a0, long a1, long a2,
                                                                                        long a3, long a4, long a5) {
  gate_refusal(domain, nr, a0, a1, a2, a3, a4, a5, mpk_refusal::outside_set);
}

// A call on another domain's descriptor.
extern "C" [[noreturn, gnu::used, gnu::visibility("hidden")]] void flex_mpk_sys_refused_fd(unsigned domain, long nr,
                                                                                           long a0, long a1, long a2,
                                                                                           long a3, long a4, long a5) {
  gate_refusal(domain, nr, a0, a1, a2, a3, a4, a5, mpk_refusal::descriptor);
}

int mpk_sud_sites(mpk_sud_site out[4]) {
  if (!flex_mpk_runtime.sys_page) return 0;
  out[0] = {reinterpret_cast<std::uintptr_t>(flex_mpk_sud_lo), SYS_gettid};
  out[1] = {reinterpret_cast<std::uintptr_t>(flex_mpk_sud_write_end), SYS_write};
  out[2] = {reinterpret_cast<std::uintptr_t>(flex_mpk_sud_exit_end), SYS_exit_group};
  out[3] = {reinterpret_cast<std::uintptr_t>(flex_mpk_sud_hi), SYS_rt_sigreturn};
  return 4;
}

status mpk_syscall_wall(const mpk_syscall_sets &sets, const mpk_sysdrop_fn drops[kMaxMpkDomains],
                        mpk_refuse_fn refuse, bool &armed) {
  armed = false;
  detail::mpk_syscall_page *page = detail::sys_page();
  if (!page || !flex_mpk_runtime.sig_lo) return {};  // no signal arena: --describe says so
  for (unsigned d = 0; d < flex_mpk_runtime.n_domains; ++d) {
    if (!drops[d]) return {};  // an image without syscall gates
  }
  // The range must hold exactly its four `syscall` instructions.
  const auto lo = reinterpret_cast<const unsigned char *>(flex_mpk_sud_lo);
  const auto hi = reinterpret_cast<const unsigned char *>(flex_mpk_sud_hi);
  int found = 0;
  for (const unsigned char *b = lo - 2; b + 2 <= hi; ++b) found += b[0] == 0x0f && b[1] == 0x05;
  if (found != 4) return status::error("the system-call dispatch range holds stray `syscall` instructions");
  for (unsigned d = 0; d < kMaxMpkDomains; ++d) {
    for (int w = 0; w < 8; ++w) page->allowed[d][w] = page->gate_allowed[d][w] = sets.allowed[d][w];
    for (long nr : {SYS_clone, SYS_clone3, SYS_fork, SYS_vfork, SYS_rt_sigreturn}) {
      page->allowed[d][nr / 64] &= ~(std::uint64_t{1} << (nr % 64));
    }
    // Never through a gate, whose check is the number alone: what the trap path checks or emulates
    // (signal state, which a handler or a blocked SIGSYS would take from the runtime; prctl, whose
    // options include switching the dispatch off or loading a filter), and signals sent to oneself
    // with a siginfo of one's choosing.
    for (long nr : {SYS_clone, SYS_clone3, SYS_fork, SYS_vfork, SYS_rt_sigreturn, SYS_prctl, SYS_rt_sigaction,
                    SYS_rt_sigprocmask, SYS_sigaltstack, SYS_rt_sigqueueinfo, SYS_rt_tgsigqueueinfo,
                    SYS_pidfd_send_signal, SYS_seccomp, SYS_shmat, SYS_mmap, SYS_munmap, SYS_mprotect, SYS_mremap,
                    SYS_madvise, SYS_brk, SYS_pkey_mprotect, SYS_pkey_alloc, SYS_pkey_free}) {
      page->gate_allowed[d][nr / 64] &= ~(std::uint64_t{1} << (nr % 64));
    }
    page->drop[d] = drops[d];
    page->sig_enter[d] = sets.sig_enter[d];
  }
  page->refuse = refuse;
  page->shared_stacks = sets.shared_stacks ? 1 : 0;
  page->selector = detail::kAllow;  // until mpk_syscall_wall_close: the lockdown's own filters load first
  if (prctl(PR_SET_SYSCALL_USER_DISPATCH, PR_SYS_DISPATCH_ON, reinterpret_cast<unsigned long>(lo),
            static_cast<unsigned long>(hi - lo + 1), reinterpret_cast<unsigned long>(&page->selector)) != 0) {
    return status::from_errno("cannot arm Syscall User Dispatch", errno);
  }
  page->armed = 1;
  armed = true;
  return {};
}

std::uintptr_t mpk_pkey_site() {
  return mpk_syscalls_mediated() ? reinterpret_cast<std::uintptr_t>(flex_mpk_pkey_site) : 0;
}

void mpk_syscall_wall_close() {
  if (detail::mpk_syscall_page *page = detail::sys_page(); page && page->armed) page->selector = detail::kBlock;
}

bool mpk_syscalls_mediated() {
  const detail::mpk_syscall_page *page = detail::sys_page();
  return page && page->armed;
}

}  // namespace flex::runtime
