// binary: the app of an image that runs an unmodified Linux program (the profile's `binary:`, which
// flexbuild writes into flex_image). It loads the program into this compartment (runtime/binary: its ELF
// mapped, every system call it makes caught) and answers each call:
//   - what the libOS serves goes to posix (sockets and readiness on net, files on vfs paths, the standard
//     streams on console, clocks and sleeps on time): the program's descriptors are posix's;
//   - the process's own state stays the kernel's, within this compartment's system-call set (lib.yaml):
//     anonymous memory, futexes, ids, limits, randomness, scheduling, the thread's signal stack;
//   - anything else is -ENOSYS, counted by posix (posix_unserved), never a crash.
// The command line after the image's own flags follows the profile's arguments.
#include <errno.h>
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

long answer(void *, long nr, const long a[6]) {
  switch (nr) {
    case SYS_mmap:
      // Files are the libOS's (posix descriptors), not the kernel's: only anonymous memory is mapped.
      if (!(a[3] & MAP_ANONYMOUS)) return -ENODEV;
      return kernel<SYS_mmap>(a);
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
    FLEX_KERNEL(SYS_getcwd)
    case SYS_tgkill:  // a signal to one of its own threads
      return a[0] == ::getpid() ? kernel<SYS_tgkill>(a) : -EPERM;
    case SYS_prctl:  // its threads' names
      return a[0] == PR_SET_NAME || a[0] == PR_GET_NAME ? kernel<SYS_prctl>(a) : -EINVAL;
    default: return posix_syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
  }
}

}  // namespace

int main(int argc, char **argv) {
  if (!flex_image.binary_path) {
    fprintf(stderr, "binary: image %s names no program: its profile needs `binary: <path>`\n", flex_image.name);
    return 2;
  }
  flex::runtime::binary::program p;
  p.path = flex_image.binary_path;
  const char *slash = strrchr(p.path.c_str(), '/');
  p.argv.push_back(slash ? slash + 1 : p.path);
  for (const char *const *a = flex_image.binary_args; a && *a; ++a) p.argv.push_back(*a);
  for (int i = 1; i < argc; ++i) p.argv.push_back(argv[i]);
  for (char **e = environ; e && *e; ++e) p.env.push_back(*e);
  int status = 0;
  flex::runtime::status s = flex::runtime::binary::run(p, &answer, nullptr, &status);
  if (!s.ok()) {
    fprintf(stderr, "flex: %s\n", s.message().c_str());
    return 127;
  }
  return status;
}
