// posix: the Linux system calls by number, as a program that makes them itself expects them answered (a
// negative errno, not -1 and errno). This is the layer's entry for code whose system calls are caught
// rather than linked: each number it serves goes to the same function a source port's call reaches;
// every other number is answered -ENOSYS and counted, so that an image can say which calls a program
// made that the libOS does not serve.
#undef _FORTIFY_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include <flex/posix/posix.h>

#include "entries.h"
#include "fd_table.h"

namespace {

std::atomic<unsigned long> g_unserved[512];

// A POSIX entry's result as the kernel gives it.
long raw(long r) {
  return r == -1 ? -errno : r;
}

template <typename T>
T *ptr(long v) {
  return reinterpret_cast<T *>(v);
}

// The *at calls serve paths from the working directory: the directory must be AT_FDCWD.
bool from_cwd(long dirfd) {
  return static_cast<int>(dirfd) == AT_FDCWD;
}

}  // namespace

extern "C" long PX(posix_syscall)(long nr, long a0, long a1, long a2, long a3, long a4, long a5) {
  const int saved = errno;
  long r = -ENOSYS;
  bool served = true;
  switch (nr) {
    case SYS_read: r = raw(PX(read)(static_cast<int>(a0), ptr<void>(a1), static_cast<size_t>(a2))); break;
    case SYS_write: r = raw(PX(write)(static_cast<int>(a0), ptr<const void>(a1), static_cast<size_t>(a2))); break;
    case SYS_readv: r = raw(PX(readv)(static_cast<int>(a0), ptr<const iovec>(a1), static_cast<int>(a2))); break;
    case SYS_writev: r = raw(PX(writev)(static_cast<int>(a0), ptr<const iovec>(a1), static_cast<int>(a2))); break;
    case SYS_pread64: r = raw(PX(pread)(static_cast<int>(a0), ptr<void>(a1), static_cast<size_t>(a2), a3)); break;
    case SYS_pwrite64:
      r = raw(PX(pwrite)(static_cast<int>(a0), ptr<const void>(a1), static_cast<size_t>(a2), a3));
      break;
    case SYS_close: r = raw(PX(close)(static_cast<int>(a0))); break;
    case SYS_dup: r = raw(PX(dup)(static_cast<int>(a0))); break;
    case SYS_dup2: r = raw(PX(dup2)(static_cast<int>(a0), static_cast<int>(a1))); break;
    case SYS_dup3: r = raw(PX(dup3)(static_cast<int>(a0), static_cast<int>(a1), static_cast<int>(a2))); break;
    case SYS_fcntl: r = raw(PX(fcntl)(static_cast<int>(a0), static_cast<int>(a1), a2)); break;
    case SYS_ioctl: r = raw(PX(ioctl)(static_cast<int>(a0), static_cast<unsigned long>(a1), a2)); break;
    case SYS_socket: r = raw(PX(socket)(static_cast<int>(a0), static_cast<int>(a1), static_cast<int>(a2))); break;
    case SYS_pipe: r = raw(PX(pipe)(ptr<int>(a0))); break;
    case SYS_pipe2: r = raw(PX(pipe2)(ptr<int>(a0), static_cast<int>(a1))); break;
    case SYS_bind: r = raw(PX(bind)(static_cast<int>(a0), ptr<const sockaddr>(a1), static_cast<socklen_t>(a2))); break;
    case SYS_listen: r = raw(PX(listen)(static_cast<int>(a0), static_cast<int>(a1))); break;
    case SYS_accept:
    case SYS_accept4:
      r = raw(PX(accept4)(static_cast<int>(a0), ptr<sockaddr>(a1), ptr<socklen_t>(a2),
                          nr == SYS_accept4 ? static_cast<int>(a3) : 0));
      break;
    case SYS_connect:
      r = raw(PX(connect)(static_cast<int>(a0), ptr<const sockaddr>(a1), static_cast<socklen_t>(a2)));
      break;
    case SYS_recvfrom:
      r = raw(PX(recvfrom)(static_cast<int>(a0), ptr<void>(a1), static_cast<size_t>(a2), static_cast<int>(a3),
                           ptr<sockaddr>(a4), ptr<socklen_t>(a5)));
      break;
    case SYS_sendto:
      r = raw(PX(sendto)(static_cast<int>(a0), ptr<const void>(a1), static_cast<size_t>(a2), static_cast<int>(a3),
                         ptr<const sockaddr>(a4), static_cast<socklen_t>(a5)));
      break;
    case SYS_recvmsg: r = raw(PX(recvmsg)(static_cast<int>(a0), ptr<msghdr>(a1), static_cast<int>(a2))); break;
    case SYS_sendmsg: r = raw(PX(sendmsg)(static_cast<int>(a0), ptr<const msghdr>(a1), static_cast<int>(a2))); break;
    case SYS_shutdown: r = raw(PX(shutdown)(static_cast<int>(a0), static_cast<int>(a1))); break;
    case SYS_setsockopt:
      r = raw(PX(setsockopt)(static_cast<int>(a0), static_cast<int>(a1), static_cast<int>(a2), ptr<const void>(a3),
                             static_cast<socklen_t>(a4)));
      break;
    case SYS_getsockopt:
      r = raw(PX(getsockopt)(static_cast<int>(a0), static_cast<int>(a1), static_cast<int>(a2), ptr<void>(a3),
                             ptr<socklen_t>(a4)));
      break;
    case SYS_getsockname: r = raw(PX(getsockname)(static_cast<int>(a0), ptr<sockaddr>(a1), ptr<socklen_t>(a2))); break;
    case SYS_getpeername: r = raw(PX(getpeername)(static_cast<int>(a0), ptr<sockaddr>(a1), ptr<socklen_t>(a2))); break;
    case SYS_open: r = raw(PX(open)(ptr<const char>(a0), static_cast<int>(a1), static_cast<int>(a2))); break;
    case SYS_openat:
      r = from_cwd(a0) ? raw(PX(open)(ptr<const char>(a1), static_cast<int>(a2), static_cast<int>(a3))) : -ENOTSUP;
      break;
    case SYS_lseek: r = raw(PX(lseek)(static_cast<int>(a0), a1, static_cast<int>(a2))); break;
    case SYS_fstat: r = raw(PX(fstat)(static_cast<int>(a0), ptr<struct stat>(a1))); break;
    case SYS_stat: r = raw(PX(stat)(ptr<const char>(a0), ptr<struct stat>(a1))); break;
    case SYS_lstat: r = raw(PX(lstat)(ptr<const char>(a0), ptr<struct stat>(a1))); break;
    case SYS_newfstatat:
      if (a3 & AT_EMPTY_PATH) {
        r = raw(PX(fstat)(static_cast<int>(a0), ptr<struct stat>(a2)));
      } else {
        r = from_cwd(a0) ? raw(PX(stat)(ptr<const char>(a1), ptr<struct stat>(a2))) : -ENOTSUP;
      }
      break;
    case SYS_fsync: r = raw(PX(fsync)(static_cast<int>(a0))); break;
    case SYS_fdatasync: r = raw(PX(fdatasync)(static_cast<int>(a0))); break;
    case SYS_ftruncate: r = raw(PX(ftruncate)(static_cast<int>(a0), a1)); break;
    case SYS_unlink: r = raw(PX(unlink)(ptr<const char>(a0))); break;
    case SYS_unlinkat:
      r = !from_cwd(a0) ? -ENOTSUP
          : (a2 & AT_REMOVEDIR) ? raw(PX(rmdir)(ptr<const char>(a1)))
                                : raw(PX(unlink)(ptr<const char>(a1)));
      break;
    case SYS_rename: r = raw(PX(rename)(ptr<const char>(a0), ptr<const char>(a1))); break;
    case SYS_renameat:
      r = from_cwd(a0) && from_cwd(a2) ? raw(PX(rename)(ptr<const char>(a1), ptr<const char>(a3))) : -ENOTSUP;
      break;
    case SYS_mkdir: r = raw(PX(mkdir)(ptr<const char>(a0), static_cast<mode_t>(a1))); break;
    case SYS_mkdirat: r = from_cwd(a0) ? raw(PX(mkdir)(ptr<const char>(a1), static_cast<mode_t>(a2))) : -ENOTSUP; break;
    case SYS_rmdir: r = raw(PX(rmdir)(ptr<const char>(a0))); break;
    case SYS_chdir: r = raw(PX(chdir)(ptr<const char>(a0))); break;
    case SYS_getcwd: {  // the kernel's form: the length with the NUL
      const char *got = PX(getcwd)(ptr<char>(a0), static_cast<size_t>(a1));
      r = got ? static_cast<long>(std::strlen(got) + 1) : -errno;
      break;
    }
    case SYS_clock_gettime: r = raw(PX(clock_gettime)(static_cast<clockid_t>(a0), ptr<timespec>(a1))); break;
    case SYS_gettimeofday: r = raw(PX(gettimeofday)(ptr<timeval>(a0), ptr<void>(a1))); break;
    case SYS_nanosleep: r = raw(PX(nanosleep)(ptr<const timespec>(a0), ptr<timespec>(a1))); break;
    case SYS_clock_nanosleep:
      // Relative sleeps on the monotonic or realtime clock; an absolute one (TIMER_ABSTIME) is not served.
      r = (a1 & TIMER_ABSTIME) ? -ENOTSUP : raw(PX(nanosleep)(ptr<const timespec>(a2), ptr<timespec>(a3)));
      break;
    case SYS_poll: r = raw(PX(poll)(ptr<pollfd>(a0), static_cast<nfds_t>(a1), static_cast<int>(a2))); break;
    case SYS_select:
      r = raw(PX(select)(static_cast<int>(a0), ptr<fd_set>(a1), ptr<fd_set>(a2), ptr<fd_set>(a3), ptr<timeval>(a4)));
      break;
    case SYS_epoll_create: r = a0 <= 0 ? -EINVAL : raw(PX(epoll_create1)(0)); break;
    case SYS_epoll_create1: r = raw(PX(epoll_create1)(static_cast<int>(a0))); break;
    case SYS_epoll_ctl:
      r = raw(PX(epoll_ctl)(static_cast<int>(a0), static_cast<int>(a1), static_cast<int>(a2), ptr<epoll_event>(a3)));
      break;
    case SYS_epoll_wait:
    case SYS_epoll_pwait:  // the signal mask is the runtime's
      r = raw(PX(epoll_wait)(static_cast<int>(a0), ptr<epoll_event>(a1), static_cast<int>(a2), static_cast<int>(a3)));
      break;
    default: served = false; break;
  }
  if (!served && nr >= 0 && nr < 512) g_unserved[nr].fetch_add(1, std::memory_order_relaxed);
  errno = saved;
  return r;
}

extern "C" unsigned long PX(posix_unserved)(long nr) {
  return nr >= 0 && nr < 512 ? g_unserved[nr].load(std::memory_order_relaxed) : 0;
}
