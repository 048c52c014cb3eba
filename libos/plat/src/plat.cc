// plat: the host interface (see plat.h). Thin: argument checks the kernel would not make, EINTR retries,
// errno turned into a negative return. Every system call goes through plat_syscall: the raw call here,
// and in an mpk image the calling domain's own system-call gate (flexbuild links one into each domain,
// DESIGN.md §8), so that the libOS's calls are checked against its compartment's set without a trap.
#include <flex/plat/plat.h>
#include <flex/runtime/raw_syscall.h>

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <poll.h>
#include <sys/epoll.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <type_traits>

// The raw call (-errno on failure); an mpk domain's copy of plat gets its gate instead (a strong definition
// in the compartment's generated self.c).
extern "C" __attribute__((weak, noinline)) long plat_syscall(long nr, long a0, long a1, long a2, long a3, long a4,
                                                             long a5) {
  return flex::runtime::raw_syscall(nr, a0, a1, a2, a3, a4, a5);
}

namespace {

template <typename T>
long word(T v) {
  if constexpr (std::is_null_pointer_v<T>) {
    return 0;
  } else if constexpr (std::is_pointer_v<T>) {
    return static_cast<long>(reinterpret_cast<std::uintptr_t>(v));
  } else {
    return static_cast<long>(v);
  }
}

// A system call in libc's convention (-1 and errno), so that ret() and retry() serve both.
template <typename... A>
long sys(long nr, A... args) {
  static_assert(sizeof...(A) <= 6);
  long w[6] = {word(args)...};
  const long r = plat_syscall(nr, w[0], w[1], w[2], w[3], w[4], w[5]);
  if (r < 0 && r > -4096) {
    errno = static_cast<int>(-r);
    return -1;
  }
  return r;
}

long ret(long r) {
  return r < 0 ? -errno : r;
}

template <typename F>
long retry(F f) {
  long r;
  do {
    r = f();
  } while (r < 0 && errno == EINTR);
  return ret(r);
}

static_assert(int{PLAT_IN} == int{EPOLLIN} && int{PLAT_OUT} == int{EPOLLOUT} && int{PLAT_ERR} == int{EPOLLERR} &&
              int{PLAT_HUP} == int{EPOLLHUP});
static_assert(unsigned{PLAT_ONESHOT} == unsigned{EPOLLONESHOT});
static_assert(PLAT_POLL_ADD == EPOLL_CTL_ADD && PLAT_POLL_DEL == EPOLL_CTL_DEL && PLAT_POLL_MOD == EPOLL_CTL_MOD);
static_assert(sizeof(plat_event) == sizeof(epoll_event), "plat_event mirrors struct epoll_event");

void to_plat(const struct stat &s, plat_stat *st) {
  st->dev = s.st_dev;
  st->ino = s.st_ino;
  st->size = static_cast<uint64_t>(s.st_size);
  st->blocks = static_cast<uint64_t>(s.st_blocks);
  st->mode = s.st_mode;
  st->nlink = static_cast<uint32_t>(s.st_nlink);
  st->uid = s.st_uid;
  st->gid = s.st_gid;
  auto ns = [](const timespec &t) { return static_cast<int64_t>(t.tv_sec) * 1000000000 + t.tv_nsec; };
  st->atime_ns = ns(s.st_atim);
  st->mtime_ns = ns(s.st_mtim);
  st->ctime_ns = ns(s.st_ctim);
}

}  // namespace

extern "C" {

long plat_write(int fd, const void *buf, size_t len) {
  if (!buf && len) return -EFAULT;
  size_t done = 0;
  while (done < len) {
    long n = retry([&] { return sys(SYS_write, fd, static_cast<const char *>(buf) + done, len - done); });
    if (n < 0) return done ? static_cast<long>(done) : n;
    done += static_cast<size_t>(n);
  }
  return static_cast<long>(done);
}

long plat_read(int fd, void *buf, size_t len) {
  if (!buf && len) return -EFAULT;
  return retry([&] { return sys(SYS_read, fd, buf, len); });
}

long plat_pread(int fd, void *buf, size_t len, int64_t off) {
  if ((!buf && len) || off < 0) return buf ? -EINVAL : -EFAULT;
  return retry([&] { return sys(SYS_pread64, fd, buf, len, off); });
}

long plat_pwrite(int fd, const void *buf, size_t len, int64_t off) {
  if ((!buf && len) || off < 0) return buf ? -EINVAL : -EFAULT;
  return retry([&] { return sys(SYS_pwrite64, fd, buf, len, off); });
}

int plat_close(int fd) {
  return static_cast<int>(ret(sys(SYS_close, fd)));  // never retried: the fd is gone whatever close returns
}

int plat_socket(int domain, int type, int protocol) {
  return static_cast<int>(ret(sys(SYS_socket, domain, type | SOCK_CLOEXEC, protocol)));
}

int plat_socketpair(int fds[2]) {
  if (!fds) return -EFAULT;
  return static_cast<int>(ret(sys(SYS_socketpair, AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds)));
}

int plat_bind(int fd, const void *addr, unsigned len) {
  if (!addr) return -EFAULT;
  return static_cast<int>(ret(sys(SYS_bind, fd, addr, len)));
}

int plat_listen(int fd, int backlog) {
  return static_cast<int>(ret(sys(SYS_listen, fd, backlog)));
}

int plat_accept(int fd, int nonblock) {
  return static_cast<int>(
      retry([&] { return sys(SYS_accept4, fd, nullptr, nullptr, SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0)); }));
}

int plat_connect(int fd, const void *addr, unsigned len) {
  if (!addr) return -EFAULT;
  return static_cast<int>(ret(sys(SYS_connect, fd, addr, len)));
}

long plat_recv(int fd, void *buf, size_t len, int flags) {
  if (!buf && len) return -EFAULT;
  return retry([&] { return sys(SYS_recvfrom, fd, buf, len, flags, nullptr, nullptr); });
}

long plat_send(int fd, const void *buf, size_t len, int flags) {
  if (!buf && len) return -EFAULT;
  return retry([&] { return sys(SYS_sendto, fd, buf, len, flags | MSG_NOSIGNAL, nullptr, 0); });
}

void plat_recv_many(plat_io *op, int n) {
  for (int i = 0; i < n; ++i) op[i].result = plat_recv(op[i].fd, op[i].buf, op[i].len, op[i].flags);
}

void plat_send_many(plat_io *op, int n) {
  for (int i = 0; i < n; ++i) op[i].result = plat_send(op[i].fd, op[i].buf, op[i].len, op[i].flags);
}

int plat_shutdown(int fd, int how) {
  return static_cast<int>(ret(sys(SYS_shutdown, fd, how)));
}

int plat_setsockopt(int fd, int level, int name, const void *val, unsigned len) {
  if (!val && len) return -EFAULT;
  return static_cast<int>(ret(sys(SYS_setsockopt, fd, level, name, val, len)));
}

int plat_getsockopt(int fd, int level, int name, void *val, unsigned *len) {
  if (!val || !len) return -EFAULT;
  socklen_t l = *len;
  int r = static_cast<int>(sys(SYS_getsockopt, fd, level, name, val, &l));
  if (r == 0) *len = l;
  return static_cast<int>(ret(r));
}

int plat_set_nonblock(int fd, int on) {
  int fl = static_cast<int>(sys(SYS_fcntl, fd, F_GETFL));
  if (fl < 0) return -errno;
  return static_cast<int>(ret(sys(SYS_fcntl, fd, F_SETFL, on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK)));
}

int plat_local_port(int fd) {
  sockaddr_storage sa{};
  socklen_t len = sizeof sa;
  if (sys(SYS_getsockname, fd, &sa, &len) != 0) return -errno;
  if (sa.ss_family == AF_INET) return ntohs(reinterpret_cast<sockaddr_in *>(&sa)->sin_port);
  if (sa.ss_family == AF_INET6) return ntohs(reinterpret_cast<sockaddr_in6 *>(&sa)->sin6_port);
  return -EAFNOSUPPORT;
}

// Each number loaded right before its own call, so the system-call check reads both (a shared call after
// a branch would show it only one of them).
[[gnu::noinline]] static long own_name(int fd, void *addr, socklen_t *len) {
  return sys(SYS_getsockname, fd, addr, len);
}
[[gnu::noinline]] static long peer_name(int fd, void *addr, socklen_t *len) {
  return sys(SYS_getpeername, fd, addr, len);
}

int plat_sock_name(int fd, int peer, void *addr, unsigned *len) {
  socklen_t l = *len;
  if ((peer ? peer_name(fd, addr, &l) : own_name(fd, addr, &l)) != 0) return -errno;
  *len = l;
  return 0;
}

int plat_poll_create(void) {
  return static_cast<int>(ret(sys(SYS_epoll_create1, EPOLL_CLOEXEC)));
}

int plat_poll_ctl(int ep, int op, int fd, uint32_t events, uint64_t cookie) {
  epoll_event e{};
  e.events = events;
  e.data.u64 = cookie;
  return static_cast<int>(ret(sys(SYS_epoll_ctl, ep, op, fd, &e)));
}

int plat_poll_wait(int ep, struct plat_event *ev, int max, int timeout_ms) {
  if (!ev || max <= 0) return -EINVAL;
  return static_cast<int>(
      retry([&] { return sys(SYS_epoll_wait, ep, ev, max, timeout_ms); }));
}

int plat_wait_fd(int fd, uint32_t events, int timeout_ms) {
  static_assert(POLLIN == PLAT_IN && POLLOUT == PLAT_OUT && POLLERR == PLAT_ERR && POLLHUP == PLAT_HUP);
  pollfd p{fd, static_cast<short>(events), 0};
  int r = static_cast<int>(retry([&] { return sys(SYS_poll, &p, 1, timeout_ms); }));
  if (r <= 0) return r;
  if (p.revents & POLLNVAL) return -EBADF;
  return p.revents;
}

long plat_thread_id(void) {
  return sys(SYS_gettid);
}

int plat_open(const char *path, int flags, int mode) {
  if (!path) return -EFAULT;
  return static_cast<int>(retry([&] { return sys(SYS_openat, AT_FDCWD, path, flags | O_CLOEXEC, mode); }));
}

int plat_fsync(int fd) {
  return static_cast<int>(retry([&] { return sys(SYS_fsync, fd); }));
}

int plat_ftruncate(int fd, int64_t len) {
  if (len < 0) return -EINVAL;
  return static_cast<int>(retry([&] { return sys(SYS_ftruncate, fd, len); }));
}

int plat_rename(const char *from, const char *to) {
  if (!from || !to) return -EFAULT;
  return static_cast<int>(ret(sys(SYS_rename, from, to)));
}

int plat_unlink(const char *path) {
  if (!path) return -EFAULT;
  return static_cast<int>(ret(sys(SYS_unlink, path)));
}

int plat_mkdir(const char *path, int mode) {
  if (!path) return -EFAULT;
  return static_cast<int>(ret(sys(SYS_mkdir, path, mode)));
}

int plat_rmdir(const char *path) {
  if (!path) return -EFAULT;
  return static_cast<int>(ret(sys(SYS_rmdir, path)));
}

int plat_openat(int dirfd, const char *path, int flags, int mode) {
  if (!path) return -EFAULT;
  return static_cast<int>(retry([&] { return sys(SYS_openat, dirfd, path, flags | O_CLOEXEC, mode); }));
}

int plat_openat_beneath(int dirfd, const char *path, int flags, int mode) {
  if (!path) return -EFAULT;
  open_how how{};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
  how.mode = (flags & (O_CREAT | O_TMPFILE)) ? static_cast<uint64_t>(mode) : 0;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
  return static_cast<int>(retry([&] { return sys(SYS_openat2, dirfd, path, &how, sizeof how); }));
}


int plat_fstat(int fd, struct plat_stat *st) {
  if (!st) return -EFAULT;
  struct stat s {};
  if (sys(SYS_newfstatat, fd, "", &s, AT_EMPTY_PATH) != 0) return -errno;  // as glibc 2.33 and later
  to_plat(s, st);
  return 0;
}

int plat_fstatat(int dirfd, const char *name, struct plat_stat *st, int nofollow) {
  if (!name || !st) return -EFAULT;
  struct stat s {};
  if (sys(SYS_newfstatat, dirfd, name, &s, nofollow ? AT_SYMLINK_NOFOLLOW : 0) != 0) return -errno;
  to_plat(s, st);
  return 0;
}

int plat_mkdirat(int dirfd, const char *name, int mode) {
  if (!name) return -EFAULT;
  return static_cast<int>(ret(sys(SYS_mkdirat, dirfd, name, mode)));
}

int plat_unlinkat(int dirfd, const char *name, int is_dir) {
  if (!name) return -EFAULT;
  return static_cast<int>(ret(sys(SYS_unlinkat, dirfd, name, is_dir ? AT_REMOVEDIR : 0)));
}

int plat_renameat(int from_dir, const char *from, int to_dir, const char *to) {
  if (!from || !to) return -EFAULT;
  return static_cast<int>(ret(sys(SYS_renameat, from_dir, from, to_dir, to)));
}

long plat_getdents(int fd, void *buf, size_t len) {
  if (!buf) return -EFAULT;
  return retry([&] { return sys(SYS_getdents64, fd, buf, len); });
}

int64_t plat_lseek(int fd, int64_t off, int whence) {
  off_t r = sys(SYS_lseek, fd, off, whence);
  return r < 0 ? -errno : static_cast<int64_t>(r);
}

void *plat_map_stack(size_t len) {
  const size_t page = 4096;
  if (len == 0 || len % page != 0) return nullptr;
  // MAP_STACK: under light mpk gates the runtime tags a stack with the shared key (every domain runs on it).
  const long m =
      sys(SYS_mmap, nullptr, len + page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
  if (m == -1) return nullptr;
  void *p = reinterpret_cast<void *>(m);
  char *base = static_cast<char *>(p) + page;
  if (sys(SYS_mprotect, base, len, PROT_READ | PROT_WRITE) != 0) {
    sys(SYS_munmap, p, len + page);
    return nullptr;
  }
  return base;
}

int plat_unmap_stack(void *base, size_t len) {
  if (!base) return -EFAULT;
  return static_cast<int>(ret(sys(SYS_munmap, static_cast<char *>(base) - 4096, len + 4096)));
}

int64_t plat_clock_ns(int clock) {
  timespec ts{};
  if (::clock_gettime(clock == PLAT_CLOCK_REALTIME ? CLOCK_REALTIME : CLOCK_MONOTONIC, &ts) != 0) return -errno;
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

int plat_sleep_ns(int64_t ns) {
  if (ns < 0) return -EINVAL;
  timespec ts{static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)};
  while (sys(SYS_clock_nanosleep, CLOCK_REALTIME, 0, &ts, &ts) != 0) {
    if (errno != EINTR) return -errno;
  }
  return 0;
}

}  // extern "C"
