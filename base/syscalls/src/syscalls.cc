#include "flex/syscalls/syscalls.h"

#include <seccomp.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cstdlib>

namespace flex::syscalls {
namespace {

constexpr forbidden_call kNeverAllowed[] = {
    {"ptrace", "reads and writes another process's memory and registers"},
    {"process_vm_readv", "reads another process's memory"},
    {"process_vm_writev", "writes another process's memory"},
    {"kcmp", "compares kernel objects of other processes (an information leak across compartments)"},
    {"pidfd_getfd", "steals a descriptor from another process"},
    {"pidfd_open", "gives a handle on another process (signals, pidfd_getfd)"},
    {"bpf", "loads programs into the kernel"},
    {"userfaultfd", "lets a compartment stall the kernel inside another's system call"},
    {"io_uring_setup", "makes system calls the seccomp filter never sees"},
    {"io_uring_enter", "makes system calls the seccomp filter never sees"},
    {"io_uring_register", "makes system calls the seccomp filter never sees"},
    {"perf_event_open", "observes other processes and the kernel"},
    {"seccomp", "the runtime installs the image's only filter"},
    {"unshare", "leaves the image's namespaces"},
    {"setns", "enters other namespaces"},
    {"mount", "changes the file system tree"},
    {"umount2", "changes the file system tree"},
    {"pivot_root", "changes the file system tree"},
    {"move_mount", "changes the file system tree"},
    {"open_tree", "changes the file system tree"},
    {"fsopen", "changes the file system tree"},
    {"fsconfig", "changes the file system tree"},
    {"fsmount", "changes the file system tree"},
    {"fspick", "changes the file system tree"},
    {"mount_setattr", "changes the file system tree"},
    {"keyctl", "reaches the kernel keyrings"},
    {"add_key", "reaches the kernel keyrings"},
    {"request_key", "reaches the kernel keyrings"},
    {"personality", "changes how the kernel runs the process (e.g. READ_IMPLIES_EXEC)"},
    {"modify_ldt", "changes the segment table"},
    {"kexec_load", "replaces the kernel"},
    {"kexec_file_load", "replaces the kernel"},
    {"init_module", "loads kernel modules"},
    {"finit_module", "loads kernel modules"},
    {"delete_module", "unloads kernel modules"},
    {"pkey_alloc", "protection keys belong to the runtime"},
    {"pkey_free", "protection keys belong to the runtime"},
    {"pkey_mprotect", "protection keys belong to the runtime"},
};

// Measured with `lockdown: log` over the test suite; each is made by the runtime or by glibc on its behalf.
constexpr std::string_view kAny[] = {
    "write",         "writev",        "futex",        "mmap",         "munmap",     "mprotect",
    "madvise",       "mremap",        "brk",          "exit",         "exit_group", "rt_sigreturn",
    "rt_sigaction",  "rt_sigprocmask", "sigaltstack", "getpid",       "gettid",     "tgkill",
    "clock_gettime", "clock_nanosleep", "nanosleep",  "sched_yield",  "getrandom",  "restart_syscall",
    "set_robust_list", "rseq",        "close",        "newfstatat",   "fstat",      "lseek",
    "clone",         "clone3",        "getppid",      "pread64",
};
constexpr std::string_view kSupervisor[] = {"kill", "wait4"};
constexpr std::string_view kCompartment[] = {"getppid"};
constexpr std::string_view kSanitizers[] = {"pipe2"};
// The loader of unmodified programs (runtime/binary) starts each thread a program creates and gives it the
// program's clear-child-tid address, as the kernel's clone would; and queues again to a thread the signals
// that came while the runtime answered one of its bound calls.
constexpr std::string_view kLoader[] = {"set_tid_address", "rt_tgsigqueueinfo"};

struct family {
  std::string_view name;
  int value;
};
constexpr family kFamilies[] = {
    {"AF_UNIX", AF_UNIX},         {"AF_INET", AF_INET},   {"AF_INET6", AF_INET6},
    {"AF_NETLINK", AF_NETLINK},   {"AF_PACKET", AF_PACKET}, {"AF_VSOCK", AF_VSOCK},
};

std::array<const char *, kMaxSyscall> g_names{};
bool g_names_ready = false;

}  // namespace

int number(std::string_view name) {
  if (name.empty() || name.size() > 64) return -1;
  const std::string z(name);
  const int nr = seccomp_syscall_resolve_name_arch(SCMP_ARCH_X86_64, z.c_str());
  return nr == __NR_SCMP_ERROR || nr < 0 ? -1 : nr;
}

std::string name(int nr) {
  char *s = seccomp_syscall_resolve_num_arch(SCMP_ARCH_X86_64, nr);
  if (!s) return {};
  std::string out(s);
  std::free(s);
  return out;
}

std::string_view never_allowed(std::string_view name) {
  for (const forbidden_call &f : kNeverAllowed) {
    if (f.name == name) return f.why;
  }
  return {};
}

std::span<const forbidden_call> never_allowed_calls() {
  return kNeverAllowed;
}

std::span<const std::string_view> runtime_needs(process_kind kind) {
  switch (kind) {
    case process_kind::any:
      return kAny;
    case process_kind::supervisor:
      return kSupervisor;
    case process_kind::compartment:
      return kCompartment;
  }
  return {};
}

std::span<const std::string_view> sanitizer_needs() {
  return kSanitizers;
}

std::span<const std::string_view> loader_needs() {
  return kLoader;
}

int socket_family(std::string_view name) {
  for (const family &f : kFamilies) {
    if (f.name == name) return f.value;
  }
  return -1;
}

std::string_view socket_family_name(int value) {
  for (const family &f : kFamilies) {
    if (f.value == value) return f.name;
  }
  return {};
}

void name_table_init() {
  if (g_names_ready) return;
  for (int nr = 0; nr < kMaxSyscall; ++nr) {
    char *s = seccomp_syscall_resolve_num_arch(SCMP_ARCH_X86_64, nr);
    g_names[static_cast<std::size_t>(nr)] = s;  // kept for the image's lifetime
  }
  g_names_ready = true;
}

const char *name_of(int nr) {
  if (!g_names_ready || nr < 0 || nr >= kMaxSyscall) return nullptr;
  return g_names[static_cast<std::size_t>(nr)];
}

}  // namespace flex::syscalls
