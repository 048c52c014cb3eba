// binary: the app of an image that runs an unmodified Linux program (the profile's `binary:`, which
// flexbuild writes into flex_image). It loads the program into this compartment (runtime/binary: its ELF
// mapped, every system call it makes caught) and answers each call:
//   - what the libOS serves goes to posix (sockets and readiness on net, files on vfs paths, the standard
//     streams on console, clocks and sleeps on time): the program's descriptors are posix's;
//   - the process's own state stays the kernel's, within this compartment's system-call set (lib.yaml):
//     anonymous memory, futexes, ids, limits, randomness, scheduling, the thread's signal stack, waits for
//     its own children;
//   - a dynamic program's interpreter reads its libraries from the host's library directories (/lib,
//     /lib64, /usr/lib, /usr/local/lib and /etc/ld.so.cache), read-only: those opens are the kernel's, and
//     their descriptors (numbered from kHostFdBase, above every posix descriptor) take read, pread, fstat,
//     lseek, mmap and close;
//   - anything else is -ENOSYS, counted by posix (posix_unserved), never a crash.
// The command line after the image's own flags follows the profile's arguments. The runtime links a
// dynamic program at boot with this same dispatcher (flex_binary_answer), before the lockdown.
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <string>

#include <flex/posix/posix.h>
#include <flex/runtime/binary.h>
#include <flex/runtime/layout.h>

namespace {

long raw(long v) {
  return v == -1 ? -errno : v;
}

// One function per call the kernel makes for the program, each with its number as a constant: the
// image's system-call check charges each to this compartment (lib.yaml's syscalls: says so).
template <long N>
[[gnu::noinline]] long kernel(const long a[6]) {
  return raw(::syscall(N, a[0], a[1], a[2], a[3], a[4], a[5]));
}
#define FLEX_KERNEL(n) \
  case n: return kernel<n>(a);

// The host's library files the program has open: its number - kHostFdBase -> the kernel's descriptor.
constexpr long kHostFdBase = 4096;  // posix numbers its descriptors below 1024 (FD_SETSIZE)
constexpr int kMaxHostFds = 64;
int g_host_fd[kMaxHostFds];
bool g_host_init = false;

bool library_path(const char *path) {
  static const char *const kDirs[] = {"/lib/", "/lib64/", "/usr/lib/", "/usr/local/lib/"};
  if (!path) return false;
  if (strcmp(path, "/etc/ld.so.cache") == 0) return true;
  if (strstr(path, "/../")) return false;
  for (const char *d : kDirs) {
    if (strncmp(path, d, strlen(d)) == 0) return true;
  }
  return false;
}

// The kernel's descriptor behind the program's `fd`, or -1 when it is not a host library file.
int host_fd(long fd) {
  const long i = fd - kHostFdBase;
  return i >= 0 && i < kMaxHostFds && g_host_init ? g_host_fd[i] : -1;
}

long open_library(const char *path, long flags) {
  if ((flags & O_ACCMODE) != O_RDONLY) return -EACCES;
  if (!g_host_init) {
    for (int &f : g_host_fd) f = -1;
    g_host_init = true;
  }
  int i = 0;
  while (i < kMaxHostFds && g_host_fd[i] >= 0) ++i;
  if (i == kMaxHostFds) return -EMFILE;
  const long a[6] = {AT_FDCWD, reinterpret_cast<long>(path), O_RDONLY | O_CLOEXEC, 0, 0, 0};
  const long fd = kernel<SYS_openat>(a);
  if (fd < 0) return fd;
  g_host_fd[i] = static_cast<int>(fd);
  return kHostFdBase + i;
}

// A call on a host library file: the kernel's, with the kernel's descriptor in place of the program's.
long on_host_file(long nr, const long a[6], int fd) {
  long k[6] = {fd, a[1], a[2], a[3], a[4], a[5]};
  switch (nr) {
    case SYS_read: return kernel<SYS_read>(k);
    case SYS_pread64: return kernel<SYS_pread64>(k);
    case SYS_fstat: return kernel<SYS_fstat>(k);
    case SYS_newfstatat: return kernel<SYS_newfstatat>(k);
    case SYS_lseek: return kernel<SYS_lseek>(k);
    case SYS_close:
      g_host_fd[static_cast<int>(a[0]) - kHostFdBase] = -1;
      return kernel<SYS_close>(k);
    default: return -EBADF;
  }
}

}  // namespace

extern "C" long flex_binary_answer(void *, long nr, const long a[6]) {
  posix_before_call(nr);  // every call, whoever serves it (posix holds writes on that promise)
  if (nr == SYS_mmap && !(a[3] & MAP_ANONYMOUS)) {
    // Only the host's library files are mapped; the program's other files are the libOS's.
    const int fd = host_fd(static_cast<int>(a[4]));
    if (fd < 0) return -ENODEV;
    const long k[6] = {a[0], a[1], a[2], a[3], fd, a[5]};
    return kernel<SYS_mmap>(k);
  }
  if (nr == SYS_openat && static_cast<int>(a[0]) == AT_FDCWD && library_path(reinterpret_cast<const char *>(a[1]))) {
    return open_library(reinterpret_cast<const char *>(a[1]), a[2]);
  }
  if (nr == SYS_open && library_path(reinterpret_cast<const char *>(a[0]))) {
    return open_library(reinterpret_cast<const char *>(a[0]), a[1]);
  }
  if (nr == SYS_read || nr == SYS_pread64 || nr == SYS_fstat || nr == SYS_newfstatat || nr == SYS_lseek ||
      nr == SYS_close) {
    if (const int fd = host_fd(static_cast<int>(a[0])); fd >= 0) return on_host_file(nr, a, fd);
  }
  switch (nr) {
    case SYS_mmap: return kernel<SYS_mmap>(a);
    FLEX_KERNEL(SYS_munmap)
    FLEX_KERNEL(SYS_mprotect)
    FLEX_KERNEL(SYS_madvise)
    FLEX_KERNEL(SYS_mremap)
    FLEX_KERNEL(SYS_futex)
    FLEX_KERNEL(SYS_getpid)
    FLEX_KERNEL(SYS_gettid)
    FLEX_KERNEL(SYS_getppid)
    FLEX_KERNEL(SYS_getuid)
    FLEX_KERNEL(SYS_geteuid)
    FLEX_KERNEL(SYS_getgid)
    FLEX_KERNEL(SYS_getegid)
    FLEX_KERNEL(SYS_getrandom)
    FLEX_KERNEL(SYS_sched_yield)
    FLEX_KERNEL(SYS_sched_getaffinity)
    FLEX_KERNEL(SYS_prlimit64)
    FLEX_KERNEL(SYS_getrlimit)
    FLEX_KERNEL(SYS_setrlimit)
    FLEX_KERNEL(SYS_uname)
    FLEX_KERNEL(SYS_sysinfo)
    FLEX_KERNEL(SYS_umask)
    FLEX_KERNEL(SYS_sigaltstack)
    case SYS_wait4:  // its own children, when it may have any (flex_image_forks)
      return flex_image_forks(&flex_image) ? kernel<SYS_wait4>(a) : -ENOSYS;
    case SYS_waitid: return flex_image_forks(&flex_image) ? kernel<SYS_waitid>(a) : -ENOSYS;
    case SYS_tgkill:  // a signal to one of its own threads
      return static_cast<int>(a[0]) == ::getpid() ? kernel<SYS_tgkill>(a) : -EPERM;
    case SYS_prctl:  // its threads' names
      return a[0] == PR_SET_NAME || a[0] == PR_GET_NAME ? kernel<SYS_prctl>(a) : -EINVAL;
    default: return posix_syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
  }
}

int main(int argc, char **argv) {
  if (!flex_image.binary_path) {
    fprintf(stderr, "binary: image %s names no program: its profile needs `binary: <path>`\n", flex_image.name);
    return 2;
  }
  int status = 0;
  flex::runtime::binary::program p = flex::runtime::binary::image_program(argc, argv);
  p.announce = &posix_before_call;
  flex::runtime::status s = flex::runtime::binary::run(p, &flex_binary_answer, nullptr, &status);
  if (!s.ok()) {
    fprintf(stderr, "flex: %s\n", s.message().c_str());
    return 127;
  }
  return status;
}
