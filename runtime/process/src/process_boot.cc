// Boot of the process backend: shared memory, fork, unmapping, death watch and orderly shutdown.
// The call path is in process_backend.cc, the channels' pages in process_channels.cc; process.h describes
// the whole design.
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <new>
#include <string>

#include "flex/runtime/heap.h"
#include "flex/runtime/process_impl.h"

namespace flex::runtime {
namespace {

using detail::g_process;

heap *g_shared_heap = nullptr;

std::uintptr_t page_size() {
  return static_cast<std::uintptr_t>(sysconf(_SC_PAGESIZE));
}

bool page_range(const process_region &r) {
  const auto b = reinterpret_cast<std::uintptr_t>(r.begin), e = reinterpret_cast<std::uintptr_t>(r.end);
  return b < e && b % page_size() == 0 && e % page_size() == 0;
}

std::size_t len(const process_region &r) {
  return static_cast<std::size_t>(static_cast<char *>(r.end) - static_cast<char *>(r.begin));
}

bool in_main() {
  return g_process.self_slot == detail::kMainSlot;
}

// What is wrong with a configuration, in words ("" when nothing is).
std::string invalid(const process_config &cfg) {
  if (!cfg.compartments || cfg.n_compartments == 0 || cfg.n_compartments > kMaxCompartments) {
    return "an image has 1 to " + std::to_string(kMaxCompartments) + " compartments";
  }
  if (cfg.n_shared && !cfg.shared) return "shared regions are counted but not given";
  for (unsigned i = 0; i < cfg.n_shared; ++i) {
    if (!page_range(cfg.shared[i])) return "shared region " + std::to_string(i) + " is not page-aligned";
  }
  for (unsigned c = 0; c < cfg.n_compartments; ++c) {
    const process_compartment &p = cfg.compartments[c];
    const std::string which = "compartment " + std::to_string(c);
    if (!p.name) return which + " has no name";
    if ((p.n_exports && !p.exports) || (p.n_regions && !p.regions)) {
      return which + " counts exports or regions it does not give";
    }
    for (unsigned i = 0; i < p.n_regions; ++i) {
      if (!page_range(p.regions[i])) return which + "'s region " + std::to_string(i) + " is not page-aligned";
    }
  }
  if (cfg.main_compartment != kNoCompartment &&
      (cfg.main_compartment >= cfg.n_compartments || cfg.compartments[cfg.main_compartment].own_process)) {
    return "the main process's compartment must be one without a process of its own";
  }
  return "";
}

int register_all(const process_config &cfg) {
  for (unsigned c = 0; c < cfg.n_compartments; ++c) {
    const process_compartment &p = cfg.compartments[c];
    if (int rc = register_compartment(c, p.name); rc < 0) return rc;
    for (unsigned i = 0; i < p.n_regions; ++i) {
      const process_region &r = p.regions[i];
      const region reg{reinterpret_cast<std::uintptr_t>(r.begin), reinterpret_cast<std::uintptr_t>(r.end), c,
                       r.kind, r.name};
      if (int rc = register_region(reg); rc < 0) return rc;
    }
  }
  for (unsigned i = 0; i < cfg.n_shared; ++i) {
    const process_region &r = cfg.shared[i];
    const region reg{reinterpret_cast<std::uintptr_t>(r.begin), reinterpret_cast<std::uintptr_t>(r.end),
                     kSharedOwner, region_kind::shared, r.name};
    if (int rc = register_region(reg); rc < 0) return rc;
  }
  return 0;
}

// Replaces a (typically file-backed MAP_PRIVATE) range by a MAP_SHARED memfd mapping at the same address,
// with the same content. The fd is closed at once: no alias of the memory stays reachable by descriptor.
int make_shared(const process_region &r) {
  if (r.kind == region_kind::rodata) return 0;
  const int fd = static_cast<int>(syscall(SYS_memfd_create, "flex.shared", 1u /* MFD_CLOEXEC */));
  if (fd < 0) return -errno;
  int rc = ftruncate(fd, static_cast<off_t>(len(r))) == 0 ? 0 : -errno;
  for (std::size_t done = 0; rc == 0 && done < len(r);) {
    // The raw system call: an ASan runtime in the image would check the whole range, which holds the
    // redzones between an instrumented compartment's globals.
    const ssize_t w = syscall(SYS_pwrite64, fd, static_cast<char *>(r.begin) + done, len(r) - done,
                              static_cast<off_t>(done));
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0)
      rc = w < 0 ? -errno : -EIO;
    else
      done += static_cast<std::size_t>(w);
  }
  if (rc == 0 && mmap(r.begin, len(r), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0) == MAP_FAILED) {
    rc = -errno;
  }
  close(fd);
  return rc;
}

int unmap_private(unsigned c) {
  const process_compartment &p = g_process.comps[c];
  for (unsigned i = 0; i < p.n_regions; ++i) {
    if (munmap(p.regions[i].begin, len(p.regions[i])) != 0) return -errno;
    const auto b = reinterpret_cast<std::uintptr_t>(p.regions[i].begin);
    mark_absent(b, b + len(p.regions[i]));
  }
  return 0;
}

// Ends the image from the main process: every compartment process is killed and reaped first, so nothing
// outlives the image and nobody waits on a dead peer. `flush` only outside signal handlers.
[[noreturn]] void die(int status, bool flush = false) {
  if (flush) std::fflush(nullptr);
  sigset_t all;
  sigfillset(&all);
  sigprocmask(SIG_BLOCK, &all, nullptr);
  for (unsigned c = 0; c < g_process.n; ++c) {
    if (g_process.pids[c] > 0) kill(g_process.pids[c], SIGKILL);
  }
  for (unsigned c = 0; c < g_process.n; ++c) {
    if (g_process.pids[c] > 0) waitpid(g_process.pids[c], nullptr, 0);
  }
  _exit(status);
}

// The status a compartment process announced before ending the image (main process only), read once and
// kept to the statuses the runtime ends images with: each child writes only its own word, and a
// compromised one must not make a dying image look successful or end it with a status nobody reported.
int announced_status() {
  for (unsigned c = 0; c < g_process.n; ++c) {
    if (!g_process.comps[c].own_process || !g_process.ctl[c]) continue;
    const std::uint32_t why = g_process.ctl[c]->ended.load(std::memory_order_acquire);
    if (why == 0) continue;
    return why == kExitFault || why == kExitBadCall || why == kExitSyscall ? static_cast<int>(why) : kExitDied;
  }
  return 0;
}

// A compartment process is gone (main process only). If it announced why (a fault or a refused call,
// already reported), the image ends with that status; otherwise this is the report.
[[noreturn]] void on_death(unsigned c, pid_t pid, int status, bool flush) {
  g_process.pids[c] = 0;
  if (const int why = announced_status()) die(why, flush);
  fault_line l;
  l.str("flex: compartment '").str(g_process.comps[c].name).str("' (pid ").dec(pid).str(") died: ");
  if (WIFSIGNALED(status)) {
    l.str("killed by signal ")
        .dec(WTERMSIG(status))
        .str(" (")
        .str(signal_description(WTERMSIG(status)))
        .str(")");
  } else {
    l.str("exited with status ").dec(WEXITSTATUS(status));
  }
  l.emit();
  die(kExitDied, flush);
}

void reap_dead_children(bool flush) {
  for (unsigned c = 0; c < g_process.n; ++c) {
    int status = 0;
    if (g_process.pids[c] > 0 && waitpid(g_process.pids[c], &status, WNOHANG) == g_process.pids[c]) {
      on_death(c, g_process.pids[c], status, flush);
    }
  }
}

void on_sigchld(int) {
  const int saved = errno;
  if (g_process.shutting_down) {
    // the atexit handler is reaping
  } else if (g_process.waiting) {
    g_process.peer_event = 1;  // the waiter reports it as soon as the handler returns (EINTR or spin end)
  } else {
    reap_dead_children(/*flush=*/false);  // the app is running: end the image from here
  }
  errno = saved;
}

// Terminator of a compartment process: tell the main process why before going (it ends the image).
void child_terminator(int status) {
  std::uint32_t expected = 0;
  g_process.ctl[g_process.self_slot]->ended.compare_exchange_strong(expected,
                                                                    static_cast<std::uint32_t>(status));
  detail::ring(g_process.bells[detail::kMainSlot]);
}

void main_terminator(int status) {
  die(status);
}

// Orderly shutdown (atexit in the main process): ask each compartment process to exit, give them a second,
// then kill what is left. SIGCHLD is ignored meanwhile (the handler sees `shutting_down`).
void shutdown_children_now() {
  if (!in_main() || !g_process.booted) return;
  g_process.shutting_down = 1;
  g_process.bc->shutdown.store(1, std::memory_order_release);
  for (unsigned c = 0; c < g_process.n; ++c) {
    if (g_process.pids[c] > 0) detail::ring(g_process.bells[c]);
  }
  for (int ms = 0; ms < 1000; ++ms) {
    bool left = false;
    for (unsigned c = 0; c < g_process.n; ++c) {
      if (g_process.pids[c] > 0 && waitpid(g_process.pids[c], nullptr, WNOHANG) == 0)
        left = true;
      else
        g_process.pids[c] = 0;
    }
    if (!left) return;
    const timespec one_ms{0, 1000000};
    nanosleep(&one_ms, nullptr);
  }
  for (unsigned c = 0; c < g_process.n; ++c) {
    if (g_process.pids[c] > 0) {
      kill(g_process.pids[c], SIGKILL);
      waitpid(g_process.pids[c], nullptr, 0);
      g_process.pids[c] = 0;
    }
  }
}

[[noreturn]] void child_fail(const char *what, int err) {
  fault_line()
      .str("flex: ")
      .who(current_compartment())
      .str(" could not ")
      .str(what)
      .str(": errno ")
      .dec(-err)
      .emit();
  terminate_image(kExitDied);
}

// A compartment process after fork: die with the image, drop every other compartment's memory, serve.
[[noreturn]] void child_main(unsigned self, pid_t main_pid) {
  g_process.self_slot = self;
  set_current_compartment(self);
  set_image_terminator(child_terminator);
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != main_pid) _exit(kExitDied);  // the main process died before prctl took effect
  setpgid(0, 0);  // terminal signals (^C, ^\) reach the main process only: it decides how the image ends
  signal(SIGCHLD, SIG_DFL);
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_UNBLOCK, &chld, nullptr);
  for (unsigned c = 0; c < g_process.n; ++c) {
    if (c == self) continue;
    if (int rc = unmap_private(c); rc < 0) child_fail("unmap another compartment's memory", rc);
  }
  if (int rc = detail::narrow_channels_after_fork(); rc < 0)
    child_fail("unmap the channels of other processes", rc);
  if (const process_compartment &me = g_process.comps[self]; me.heap_base) {
    heap *h = heap::create({me.heap_base, me.heap_bytes});
    if (!h) child_fail("create its heap", -ENOMEM);
    heap_install_process_own(h);
  }
  if (g_process.on_start) g_process.on_start(self);
  g_process.ctl[self]->ready.store(1, std::memory_order_release);
  syscall(SYS_futex, &g_process.ctl[self]->ready, FUTEX_WAKE, 1, nullptr, nullptr, 0);
  if (void *top = g_process.comps[self].stack_top) {
    // Serve on the compartment's own stack: what its code puts there is absent from the other processes.
    asm volatile(
        "mov %0, %%rsp\n\t"
        "xor %%ebp, %%ebp\n\t"
        "call *%1\n\t"
        "ud2" ::"r"(top),
        "r"(&detail::serve_forever)
        : "memory");
    __builtin_unreachable();
  }
  detail::serve_forever();
}

}  // namespace

namespace detail {

void check_words() {
  if (!in_main()) {
    if (g_process.bc->shutdown.load(std::memory_order_acquire)) {
      std::fflush(nullptr);  // the compartment's own buffered output; nothing else runs after this
      _exit(0);
    }
    return;
  }
  if (const int why = announced_status()) die(why, /*flush=*/true);  // a peer reported its end itself
}

void check_peers() {
  check_words();
  if (!in_main()) {
    if (getppid() != g_process.main_pid) _exit(kExitDied);  // PDEATHSIG should have come first
    return;
  }
  sigset_t chld, old;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, &old);  // one reporter at a time: this check or the handler
  g_process.peer_event = 0;
  reap_dead_children(/*flush=*/true);
  sigprocmask(SIG_SETMASK, &old, nullptr);
}

}  // namespace detail

// Forks one process per process compartment and drops their memory from the main process. Failures
// here end the image: some compartments may already run.
static void fork_compartments(detail::process_state &st) {
  // SIGCHLD stays blocked until every pid is recorded, so the handler never meets an unknown child.
  struct sigaction sa {};
  sa.sa_handler = on_sigchld;
  sa.sa_flags = SA_NOCLDSTOP | SA_RESTART;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGCHLD, &sa, nullptr);
  sigset_t chld, old;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, &old);
  set_image_terminator(main_terminator);
  std::fflush(nullptr);  // or children would flush the parent's pending output a second time
  for (unsigned c = 0; c < st.n; ++c) {
    if (!st.comps[c].own_process) continue;
    const pid_t pid = fork();
    if (pid < 0) {
      fault_line().str("flex: fork for compartment '").str(st.comps[c].name).str("' failed").emit();
      die(kExitDied);
    }
    if (pid == 0) child_main(c, st.main_pid);
    st.pids[c] = pid;
    st.bc->pids[c] = pid;
  }
  close(st.bc_fd);  // every compartment process has its own copy, to remap the page read-only
  st.bc_fd = -1;
  if (int rc = detail::narrow_channels_after_fork(); rc < 0) {
    fault_line()
        .str("flex: the main process could not unmap the channels of other processes: errno ")
        .dec(-rc)
        .emit();
    die(kExitDied);
  }
  for (unsigned c = 0; c < st.n; ++c) {
    if (!st.comps[c].own_process) continue;
    if (int rc = unmap_private(c); rc < 0) {
      fault_line()
          .str("flex: the main process could not unmap compartment '")
          .str(st.comps[c].name)
          .str("': errno ")
          .dec(-rc)
          .emit();
      die(kExitDied);
    }
  }
  std::atexit(shutdown_children_now);
  sigprocmask(SIG_SETMASK, &old, nullptr);
}

// The arena for shared_alloc and the shared heap, mapped once before the fork so every process has it at the
// same address; its first page holds the allocation counter. Shared by design: every process writes it.
static status map_arena(const process_config &cfg, detail::process_state &st) {
  const std::size_t bytes = (cfg.arena_bytes + page_size() - 1) / page_size() * page_size();
  void *mem = mmap(nullptr, page_size() + bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) return status::from_errno("cannot map the shared arena", errno);
  const auto base = reinterpret_cast<std::uintptr_t>(mem);
  if (int rc = register_region(
          {base, base + page_size() + bytes, kSharedOwner, region_kind::shared, "flex.arena"});
      rc < 0) {
    munmap(mem, page_size() + bytes);
    return status::from_errno("cannot register the shared arena", -rc);
  }
  st.arena_used = new (mem) std::atomic<std::size_t>{0};
  st.arena = static_cast<char *>(mem) + page_size();
  st.arena_bytes = bytes;
  if (cfg.shared_heap_bytes) {
    // Before any fork, so every process has it; its bookkeeping lives in the arena, so all of them see
    // one heap (its spin lock works across processes).
    void *p = shared_alloc(cfg.shared_heap_bytes, page_size());
    g_shared_heap = p ? heap::create({p, cfg.shared_heap_bytes}, {.cross_process = true}) : nullptr;
    if (!g_shared_heap) return status::error("the shared heap does not fit in the shared arena");
    heap_dispatch d;
    d.shared = g_shared_heap;
    heap_install(d);
  }
  return {};
}

// Returns once every compartment process has dropped what is not its own (each says so in its own page).
static void wait_ready(detail::process_state &st) {
  const timespec timeout{static_cast<time_t>(st.liveness_ms / 1000),
                         static_cast<long>(st.liveness_ms % 1000) * 1000000L};
  for (unsigned c = 0; c < st.n; ++c) {
    if (!st.comps[c].own_process) continue;
    while (st.ctl[c]->ready.load(std::memory_order_acquire) == 0) {
      syscall(SYS_futex, &st.ctl[c]->ready, FUTEX_WAIT, 0, &timeout, nullptr, 0);
      detail::check_peers();
    }
  }
}

status process_boot(const process_config &cfg) {
  if (g_process.booted) return status::error("the process compartments are booted already");
  if (std::string why = invalid(cfg); !why.empty()) return status::error("invalid configuration: " + why);
  if (int rc = register_all(cfg); rc < 0)
    return status::from_errno("cannot register the compartments' memory", -rc);
  if (int rc = install_fault_reporter(); rc < 0)
    return status::from_errno("cannot install the fault reporter", -rc);
  for (unsigned i = 0; i < cfg.n_shared; ++i) {
    if (int rc = make_shared(cfg.shared[i]); rc < 0) {
      return status::from_errno("cannot share region " + std::string(cfg.shared[i].name), -rc);
    }
  }
  detail::process_state &st = g_process;
  if (status s = map_arena(cfg, st); !s.ok()) return s;
  st.main_pid = getpid();
  st.n = cfg.n_compartments;
  st.liveness_ms = cfg.liveness_ms ? cfg.liveness_ms : 100;
  st.on_start = cfg.on_start;
  for (unsigned c = 0; c < st.n; ++c) {
    st.comps[c] = cfg.compartments[c];
    st.slot_of[c] = st.comps[c].own_process ? c : detail::kMainSlot;
  }
  if (int rc = detail::map_channels(cfg); rc < 0) return status::from_errno("cannot map the channels", -rc);
  set_current_compartment(cfg.main_compartment);
  st.booted = true;

  fork_compartments(st);
  wait_ready(st);
  return {};
}

bool process_booted() {
  return g_process.booted;
}

pid_t compartment_pid(unsigned c) {
  if (!g_process.booted || c >= g_process.n) return -1;
  if (!g_process.comps[c].own_process) return g_process.main_pid;
  if (in_main()) return g_process.pids[c];
  return *static_cast<const volatile pid_t *>(&g_process.bc->pids[c]);
}

void set_spin_iterations(unsigned n) {
  if (g_process.bc && in_main()) g_process.bc->spin.store(n, std::memory_order_relaxed);
}

void process_shutdown() {
  shutdown_children_now();
}

heap *process_shared_heap() {
  return g_shared_heap;
}

// In a compartment process, its own watch word (in its page with the main process) and the request the
// main process broadcasts. In the main process, its own watch word, into which each call folds those its
// compartment processes set: the signal handler calls this, and learns whether anyone watches.
termination_flags process_termination_flags() {
  detail::process_state &st = g_process;
  if (!st.bc) return {};
  if (!in_main()) return {&st.ctl[st.self_slot]->term_watched, &st.bc->term_requested};
  for (unsigned c = 0; c < st.n; ++c) {
    if (st.comps[c].own_process && st.ctl[c] && st.ctl[c]->term_watched.load(std::memory_order_relaxed)) {
      st.main_watched.store(1, std::memory_order_relaxed);
    }
  }
  return {&st.main_watched, &st.bc->term_requested};
}

void *shared_alloc(std::size_t bytes, std::size_t align) {
  if (!g_process.arena_used || align == 0 || (align & (align - 1)) || bytes > g_process.arena_bytes)
    return nullptr;
  auto &used = *g_process.arena_used;  // shared by every process: an allocation is unique image-wide
  std::size_t old = used.load(std::memory_order_relaxed), start = 0;
  do {
    start = (old + align - 1) & ~(align - 1);
    if (start > g_process.arena_bytes || bytes > g_process.arena_bytes - start) return nullptr;
  } while (!used.compare_exchange_weak(old, start + bytes, std::memory_order_relaxed));
  return g_process.arena + start;
}

std::size_t shared_arena_left() {
  if (!g_process.arena_used) return 0;
  const std::size_t used = g_process.arena_used->load(std::memory_order_relaxed);
  return used < g_process.arena_bytes ? g_process.arena_bytes - used : 0;
}

}  // namespace flex::runtime
