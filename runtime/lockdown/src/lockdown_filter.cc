// The seccomp filter of a process (libseccomp), the report of a refused call (SIGSYS in enforce mode) and
// the supervisor thread of log mode (seccomp user notifications). lockdown.h describes the whole design.
#include <linux/audit.h>
#include <linux/futex.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <termios.h>
#include <ucontext.h>
#include <unistd.h>

#include <atomic>
#include <bitset>
#include <span>
#include <string_view>
#include <cerrno>

#include "flex/runtime/fault.h"
#include "flex/runtime/lockdown.h"
#include "flex/syscalls/syscalls.h"
#include "lockdown_impl.h"

#ifndef SECCOMP_USER_NOTIF_FLAG_CONTINUE
#define SECCOMP_USER_NOTIF_FLAG_CONTINUE (1UL << 0)
#endif

namespace flex::runtime::lockdown_detail {
namespace {

constexpr long kX32Bit = 0x40000000;
constexpr int kNoFd = -2;

FLEX_SEALED const flex_image_layout *g_img = nullptr;
FLEX_SEALED std::uint64_t g_hosted = 0;

struct named {
  long value;
  const char *name;
};
constexpr named kPtraceRequests[] = {{0, "PTRACE_TRACEME"},    {1, "PTRACE_PEEKTEXT"},  {2, "PTRACE_PEEKDATA"},
                                     {4, "PTRACE_POKETEXT"},   {5, "PTRACE_POKEDATA"},  {16, "PTRACE_ATTACH"},
                                     {17, "PTRACE_DETACH"},    {0x4206, "PTRACE_SEIZE"}, {0x4207, "PTRACE_INTERRUPT"}};

const char *lookup(const named *table, std::size_t n, long v) {
  for (std::size_t i = 0; i < n; ++i) {
    if (table[i].value == v) return table[i].name;
  }
  return nullptr;
}

void put_prot(fault_line &l, unsigned long prot) {
  if (prot == 0) {
    l.str("PROT_NONE");
    return;
  }
  bool first = true;
  for (const named &p : {named{PROT_READ, "PROT_READ"}, named{PROT_WRITE, "PROT_WRITE"}, named{PROT_EXEC, "PROT_EXEC"}}) {
    if (prot & static_cast<unsigned long>(p.value)) {
      l.str(first ? "" : "|").str(p.name);
      first = false;
    }
  }
  if (prot & ~static_cast<unsigned long>(PROT_READ | PROT_WRITE | PROT_EXEC)) l.str(first ? "" : "|").hex(prot);
}

// Flags printed by name (the rest, if any, in hex).
void put_flags(fault_line &l, unsigned long v, std::span<const named> names) {
  bool first = true;
  for (const named &n : names) {
    if (v & static_cast<unsigned long>(n.value)) {
      l.str(first ? "" : "|").str(n.name);
      v &= ~static_cast<unsigned long>(n.value);
      first = false;
    }
  }
  if (v || first) l.str(first ? "" : "|").hex(v);
}
constexpr named kMapFlags[] = {{MAP_SHARED, "MAP_SHARED"}, {MAP_PRIVATE, "MAP_PRIVATE"}, {MAP_FIXED, "MAP_FIXED"},
                               {MAP_ANONYMOUS, "MAP_ANONYMOUS"}, {MAP_FIXED_NOREPLACE, "MAP_FIXED_NOREPLACE"}};
constexpr named kRemapFlags[] = {{MREMAP_MAYMOVE, "MREMAP_MAYMOVE"}, {MREMAP_FIXED, "MREMAP_FIXED"},
                                 {MREMAP_DONTUNMAP, "MREMAP_DONTUNMAP"}};
constexpr named kAdvice[] = {{MADV_DONTNEED, "MADV_DONTNEED"}, {MADV_FREE, "MADV_FREE"},
                             {MADV_REMOVE, "MADV_REMOVE"},     {MADV_DONTFORK, "MADV_DONTFORK"},
                             {MADV_WIPEONFORK, "MADV_WIPEONFORK"}};

// How many arguments to print for a call (the kernel passes six registers whatever the call takes).
int arity(long nr) {
  switch (nr) {
    case SYS_getpid: case SYS_getppid: case SYS_gettid: case SYS_fork: case SYS_vfork: case SYS_getuid:
    case SYS_geteuid: case SYS_getgid: case SYS_getegid: case SYS_getpgrp: case SYS_setsid: case SYS_sched_yield:
    case SYS_rt_sigreturn:
      return 0;
    case SYS_close: case SYS_exit: case SYS_exit_group: case SYS_unshare: case SYS_personality:
      return 1;
    case SYS_kill: case SYS_listen: case SYS_pidfd_open: case SYS_munmap: case SYS_sigaltstack:
      return 2;
    case SYS_socket: case SYS_mprotect: case SYS_madvise: case SYS_read: case SYS_write: case SYS_open: case SYS_tgkill:
    case SYS_ioctl: case SYS_seccomp: case SYS_bpf:
      return 3;
    case SYS_ptrace: case SYS_openat: case SYS_pread64: case SYS_pwrite64:
      return 4;
    case SYS_mremap:
      return 5;
    default:
      return 6;
  }
}

// name(args) of a call as the kernel saw it: `args` in the order of the x86-64 system-call ABI.
void put_call(fault_line &l, long nr, const unsigned long args[6]) {
  const char *name = flex::syscalls::name_of(static_cast<int>(nr));
  if (name) {
    l.str(name);
  } else {
    l.str("syscall ").dec(nr);
  }
  l.str("(");
  const int n = arity(nr);
  for (int i = 0; i < n; ++i) {
    if (i) l.str(", ");
    const long v = static_cast<long>(args[i]);
    const char *request = i == 0 && nr == SYS_ptrace ? lookup(kPtraceRequests, std::size(kPtraceRequests), v) : nullptr;
    if (request) {
      l.str(request);
    } else if (i == 0 && nr == SYS_socket && !flex::syscalls::socket_family_name(static_cast<int>(v)).empty()) {
      l.str(flex::syscalls::socket_family_name(static_cast<int>(v)).data());
    } else if (i == 2 && (nr == SYS_mmap || nr == SYS_mprotect)) {
      put_prot(l, args[i]);
    } else if (i == 3 && nr == SYS_mmap) {
      put_flags(l, args[i], kMapFlags);
    } else if (i == 3 && nr == SYS_mremap) {
      put_flags(l, args[i], kRemapFlags);
    } else if (i == 2 && nr == SYS_madvise) {
      const char *advice = lookup(kAdvice, std::size(kAdvice), v);
      if (advice) l.str(advice); else l.dec(v);
    } else if (i == 2 && nr == SYS_mremap) {
      l.dec(v);
    } else if ((i == 0 || (i == 1 && nr != SYS_ioctl) || (i == 4 && nr == SYS_mmap)) && v >= -4096 && v < 1000000) {
      l.dec(v);  // descriptors, pids, signals, small counts
    } else {
      l.hex(args[i]);
    }
  }
  l.str(")");
}

// What a refusal says after the compartment: the filter's rule (SECCOMP_RET_DATA) decides.
const char *refusal(int data) {
  switch (data) {
    case kLayoutData:
      return " made a system call on memory the image laid out at boot: ";
    case kFileMapData:
      return " made a system call mapping a file after boot: ";
    case kSignalData:
      return " made a system call on signal state the runtime owns: ";
    case kSudSiteData:
      return " made a system call from one of the runtime's own system-call sites: ";
    case kDomainMemoryData:
      return " made a system call on memory it does not own: ";
    case kDomainFdData:
      return " made a system call on a descriptor it does not own: ";
    default:
      return " made a system call outside its set: ";
  }
}

void report(fault_line &l, unsigned who, pid_t pid, std::uint32_t arch, long nr, const unsigned long args[6],
            int data = 0) {
  // A process hosting one compartment is that compartment, whatever was running in it.
  if (who == kNoCompartment && g_hosted && !(g_hosted & (g_hosted - 1))) {
    who = static_cast<unsigned>(__builtin_ctzll(g_hosted));
  }
  if (who != kNoCompartment) {
    const char *name = g_img && who < g_img->n_compartments ? g_img->compartments[who].name : compartment_name(who);
    l.str("compartment '").str(name).str("' (pid ").dec(pid).str(")");
  } else {
    l.str("process ").dec(pid).str(" (");
    bool first = true;
    for (unsigned c = 0; g_img && c < g_img->n_compartments; ++c) {
      if (!(g_hosted >> c & 1)) continue;
      l.str(first ? "compartment '" : ", '").str(g_img->compartments[c].name).str("'");
      first = false;
    }
    l.str(")");
  }
  l.str(refusal(data));
  if (arch != AUDIT_ARCH_X86_64) {
    l.str("an i386 system call (int 0x80) number ").dec(nr);
  } else if (nr & kX32Bit) {
    l.str("an x32 system call number ").dec(nr & ~kX32Bit);
  } else {
    put_call(l, nr, args);
  }
}

void on_sigsys(int, siginfo_t *info, void *ctx) {
  const auto *uc = static_cast<const ucontext_t *>(ctx);
  const greg_t *r = uc->uc_mcontext.gregs;
  const unsigned long args[6] = {static_cast<unsigned long>(r[REG_RDI]), static_cast<unsigned long>(r[REG_RSI]),
                                 static_cast<unsigned long>(r[REG_RDX]), static_cast<unsigned long>(r[REG_R10]),
                                 static_cast<unsigned long>(r[REG_R8]),  static_cast<unsigned long>(r[REG_R9])};
  fault_line l;
  l.str("flex: ");
  report(l, compartment_of_frame(ctx), getpid(), info->si_arch, info->si_syscall, args, info->si_errno);
  l.emit();
  terminate_image(kExitSyscall);
}

// Log mode's notification descriptor, handed by the loading thread to the supervisor (which started
// before the filter existed, so that it is not under it).
std::atomic<int> g_notify_fd{-1};

// Log mode: answers each notification after reporting it, letting the call go on (the kernel's own
// structures, through its ioctls: nothing to allocate per call; the raw system call, which no sanitizer
// intercepts, so a sanitizer's lock held by the notified thread cannot stall the supervisor).
void *supervise(void *) {
  int fd;
  while ((fd = g_notify_fd.load(std::memory_order_acquire)) < 0) {
    if (fd == kNoFd) return nullptr;  // the filter could not be loaded
    syscall(SYS_futex, &g_notify_fd, FUTEX_WAIT_PRIVATE, -1, nullptr, nullptr, 0);
  }
  for (;;) {
    seccomp_notif req{};
    if (syscall(SYS_ioctl, fd, SECCOMP_IOCTL_NOTIF_RECV, &req) != 0) {
      if (errno == EINTR || errno == ENOENT) continue;
      break;
    }
    unsigned long args[6];
    for (int i = 0; i < 6; ++i) args[i] = req.data.args[i];
    fault_line l;
    l.str("flex: lockdown log: ");
    // The thread that made the call is another one: report() names the process's compartment if it has one.
    report(l, kNoCompartment, static_cast<pid_t>(req.pid), req.data.arch, req.data.nr, args);
    std::uintptr_t off = 0;
    if (const char *fn = symbol_at(req.data.instruction_pointer, off)) l.str(" in ").str(fn).str("+").hex(off);
    l.emit();
    seccomp_notif_resp resp{};
    resp.id = req.id;
    resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
    if (syscall(SYS_ioctl, fd, SECCOMP_IOCTL_NOTIF_SEND, &resp) != 0 && errno != ENOENT) break;
  }
  fault_line().str("flex: lockdown log: the supervisor stopped (errno ").dec(errno).str("); calls outside the set now wait").emit();
  return nullptr;
}

struct process_set {
  std::bitset<flex::syscalls::kMaxSyscall> calls;
  std::uint64_t families = 0;
  bool any_family = false;
  // pkey_mprotect, never a compartment's, for the system-call wall's tagging of fresh memory: the layout
  // filter lets it through at the runtime's one site only (mpk_pkey_site).
  bool runtime_tags = false;
  // The program of an image that may fork (flex_image_forks): the loader's fork, glibc's, gets through.
  bool forks = false;
};

// The compartments' sets (the runtime's needs included by flexbuild), and the runtime's own needs again:
// a main process may host no compartment at all.
process_set union_of(const flex_image_layout &img, std::uint64_t hosted, bool supervisor) {
  process_set s;
  namespace sc = flex::syscalls;
  auto add = [&](std::span<const std::string_view> names) {
    for (std::string_view n : names) {
      if (const int nr = sc::number(n); nr >= 0 && nr < sc::kMaxSyscall) s.calls.set(static_cast<std::size_t>(nr));
    }
  };
  add(sc::runtime_needs(sc::process_kind::any));
  add(sc::runtime_needs(supervisor ? sc::process_kind::supervisor : sc::process_kind::compartment));
  s.forks = flex_image_forks(&img) != 0;
  for (unsigned c = 0; c < img.n_compartments; ++c) {
    if (!(hosted >> c & 1)) continue;
    const flex_compartment_layout &comp = img.compartments[c];
    for (unsigned i = 0; i < comp.n_syscalls; ++i) {
      const int nr = comp.syscalls[i];
      if (nr < 0 || nr >= flex::syscalls::kMaxSyscall) continue;
      s.calls.set(static_cast<std::size_t>(nr));
      if (nr == SYS_socket) {
        if (comp.socket_families == 0) s.any_family = true;
        s.families |= comp.socket_families;
      }
    }
  }
  return s;
}

// One argument comparison (libseccomp's SCMP_Ax macros leave datum_b to the compiler's zeroing).
scmp_arg_cmp arg(unsigned index, scmp_compare op, scmp_datum_t a, scmp_datum_t b = 0) {
  return scmp_arg_cmp{index, op, a, b};
}

int add_rules(scmp_filter_ctx f, const process_set &s, bool supervisor) {
  const auto self = static_cast<scmp_datum_t>(getpid());
  int rc = 0;
  auto allow = [&](int nr, unsigned n, const scmp_arg_cmp *cmp) {
    if (rc == 0) rc = seccomp_rule_add_array(f, SCMP_ACT_ALLOW, nr, n, cmp);
  };
  for (int nr = 0; nr < flex::syscalls::kMaxSyscall; ++nr) {
    if (!s.calls.test(static_cast<std::size_t>(nr))) continue;
    const char *name = flex::syscalls::name_of(nr);
    if (name && !flex::syscalls::never_allowed(name).empty()) continue;  // whatever a layout says
    if (nr == SYS_mmap || nr == SYS_mprotect) {
      const scmp_arg_cmp no_exec = arg(2, SCMP_CMP_MASKED_EQ, PROT_EXEC, 0);
      allow(nr, 1, &no_exec);
    } else if (nr == SYS_clone) {
      const scmp_arg_cmp thread = arg(0, SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD);
      allow(nr, 1, &thread);
      if (s.forks) {  // glibc's fork, made by the loader for the program: a new process, nothing shared
        const scmp_arg_cmp fork = arg(0, SCMP_CMP_EQ, CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID | SIGCHLD);
        allow(nr, 1, &fork);
      }
    } else if (nr == SYS_clone3) {
      if (rc == 0) rc = seccomp_rule_add(f, SCMP_ACT_ERRNO(ENOSYS), nr, 0);
    } else if (nr == SYS_socket && !s.any_family) {
      for (int fam = 0; fam < 64; ++fam) {
        if (!(s.families >> fam & 1)) continue;
        const scmp_arg_cmp family = arg(0, SCMP_CMP_EQ, static_cast<scmp_datum_t>(fam));
        allow(nr, 1, &family);
      }
    } else if (nr == SYS_tgkill || nr == SYS_rt_tgsigqueueinfo || (nr == SYS_kill && !supervisor)) {
      const scmp_arg_cmp own = arg(0, SCMP_CMP_EQ, self);
      allow(nr, 1, &own);
    } else {
      allow(nr, 0, nullptr);
    }
  }
  if (!s.calls.test(SYS_ioctl)) {
    const scmp_arg_cmp tcgets = arg(1, SCMP_CMP_EQ, TCGETS);
    allow(SYS_ioctl, 1, &tcgets);
  }
  if (!s.calls.test(SYS_rt_sigreturn)) allow(SYS_rt_sigreturn, 0, nullptr);
  if (s.runtime_tags) allow(SYS_pkey_mprotect, 0, nullptr);
  // Reading its own dumpable or no_new_privs flag (the sanitizer runtimes ask) changes nothing; setting
  // dumpable (they try to, around their reports) fails quietly: the process stays non-dumpable.
  for (const scmp_datum_t query : {PR_GET_DUMPABLE, PR_GET_NO_NEW_PRIVS}) {
    const scmp_arg_cmp get = arg(0, SCMP_CMP_EQ, query);
    allow(SYS_prctl, 1, &get);
  }
  const scmp_arg_cmp set_dumpable = arg(0, SCMP_CMP_EQ, PR_SET_DUMPABLE);
  if (rc == 0) rc = seccomp_rule_add_array(f, SCMP_ACT_ERRNO(EPERM), SYS_prctl, 1, &set_dumpable);
  return rc;
}

}  // namespace

void domain_sets(const flex_image_layout &img, mpk_syscall_sets &out) {
  out = {};
  const mpk_plan &plan = mpk_booted_plan();
  for (unsigned d = 0; d < plan.n_domains && d < static_cast<unsigned>(kMaxMpkDomains); ++d) {
    const process_set s = union_of(img, std::uint64_t{1} << plan.domains[d].compartment, false);
    for (int nr = 0; nr < 512 && nr < flex::syscalls::kMaxSyscall; ++nr) {
      if (!s.calls.test(static_cast<std::size_t>(nr))) continue;
      const char *name = flex::syscalls::name_of(nr);
      if (name && !flex::syscalls::never_allowed(name).empty()) continue;
      out.allowed[d][nr / 64] |= std::uint64_t{1} << (nr % 64);
    }
  }
}

void refuse_domain_call(unsigned compartment, long nr, const unsigned long args[6], mpk_refusal why) {
  flex::syscalls::name_table_init();
  fault_line l;
  l.str("flex: ");
  report(l, compartment, getpid(), why == mpk_refusal::foreign_abi ? AUDIT_ARCH_I386 : AUDIT_ARCH_X86_64, nr, args,
         why == mpk_refusal::signal_state ? static_cast<int>(kSignalData)
         : why == mpk_refusal::memory     ? static_cast<int>(kDomainMemoryData)
         : why == mpk_refusal::descriptor ? static_cast<int>(kDomainFdData)
                                          : 0);
  l.emit();
  terminate_image(kExitSyscall);
}

status install_reporter() {
  static bool installed = false;  // once: the mpk signal wall routes it through the runtime afterwards
  if (installed) return {};
  struct sigaction sa {};
  sa.sa_sigaction = on_sigsys;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigfillset(&sa.sa_mask);
  if (sigaction(SIGSYS, &sa, nullptr) != 0) return status::from_errno("cannot install the SIGSYS reporter", errno);
  installed = true;
  return {};
}

void remember_image(const flex_image_layout &img, std::uint64_t hosted) {
  if (g_img != &img) g_img = &img;  // written once: sealed afterwards
  if (g_hosted != hosted) g_hosted = hosted;
}

status install_filter(const flex_image_layout &img, std::uint64_t hosted, bool supervisor) {
  remember_image(img, hosted);
  flex::syscalls::name_table_init();
  const bool enforce = img.lockdown == FLEX_LOCKDOWN_ENFORCE;
  if (enforce) {
    if (status st = install_reporter(); !st.ok()) return st;
  }
  scmp_filter_ctx f = seccomp_init(enforce ? SCMP_ACT_TRAP : SCMP_ACT_NOTIFY);
  if (!f) return status::error("seccomp_init failed");
  int rc = seccomp_attr_set(f, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_TRAP);
  if (rc == 0) rc = seccomp_attr_set(f, SCMP_FLTATR_CTL_NNP, 1);
  // Enforce covers every thread; log leaves its supervisor thread unfiltered (it must answer).
  if (rc == 0 && enforce) rc = seccomp_attr_set(f, SCMP_FLTATR_CTL_TSYNC, 1);
  process_set set = union_of(img, hosted, supervisor);
  // The system-call wall tags the fresh memory it maps for a domain at its one pkey_mprotect site, which
  // the layout filter pins (no other site may make the call).
  set.runtime_tags = mpk_pkey_site() != 0;
  if (rc == 0) rc = add_rules(f, set, supervisor);
  if (rc != 0) {
    seccomp_release(f);
    return status::from_errno("cannot build the seccomp filter", -rc);
  }
  if (!enforce) {
    // The supervisor starts before the filter: a thread inherits its creator's filter when created.
    pthread_t t;
    if (int err = pthread_create(&t, nullptr, supervise, nullptr); err != 0) {
      seccomp_release(f);
      return status::from_errno("cannot start the lockdown log supervisor", err);
    }
    pthread_detach(t);
    rc = seccomp_load(f);
    const int fd = rc == 0 ? seccomp_notify_fd(f) : -1;
    g_notify_fd.store(fd >= 0 ? fd : kNoFd, std::memory_order_release);
    syscall(SYS_futex, &g_notify_fd, FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
    // The context stays: releasing it would close the notification descriptor.
    if (rc != 0 || fd < 0) return status::from_errno("cannot load the seccomp filter", rc ? -rc : EINVAL);
    return {};
  }
  rc = seccomp_load(f);
  seccomp_release(f);
  if (rc != 0) return status::from_errno("cannot load the seccomp filter", -rc);
  return {};
}

}  // namespace flex::runtime::lockdown_detail
