// plat: the host interface (see plat.h). Thin: argument checks the kernel would not make, EINTR retries,
// errno turned into a negative return.
#include <flex/plat/plat.h>

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

namespace {

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
static_assert(PLAT_POLL_ADD == EPOLL_CTL_ADD && PLAT_POLL_DEL == EPOLL_CTL_DEL && PLAT_POLL_MOD == EPOLL_CTL_MOD);
static_assert(sizeof(plat_event) == sizeof(epoll_event), "plat_event mirrors struct epoll_event");

}  // namespace

extern "C" {

long plat_write(int fd, const void *buf, size_t len) {
  if (!buf && len) return -EFAULT;
  size_t done = 0;
  while (done < len) {
    long n = retry([&] { return ::write(fd, static_cast<const char *>(buf) + done, len - done); });
    if (n < 0) return done ? static_cast<long>(done) : n;
    done += static_cast<size_t>(n);
  }
  return static_cast<long>(done);
}

long plat_read(int fd, void *buf, size_t len) {
  if (!buf && len) return -EFAULT;
  return retry([&] { return ::read(fd, buf, len); });
}

long plat_pread(int fd, void *buf, size_t len, int64_t off) {
  if ((!buf && len) || off < 0) return buf ? -EINVAL : -EFAULT;
  return retry([&] { return ::pread(fd, buf, len, off); });
}

long plat_pwrite(int fd, const void *buf, size_t len, int64_t off) {
  if ((!buf && len) || off < 0) return buf ? -EINVAL : -EFAULT;
  return retry([&] { return ::pwrite(fd, buf, len, off); });
}

int plat_close(int fd) {
  return static_cast<int>(ret(::close(fd)));  // never retried: the fd is gone whatever close returns
}

int plat_socket(int domain, int type, int protocol) {
  return static_cast<int>(ret(::socket(domain, type | SOCK_CLOEXEC, protocol)));
}

int plat_bind(int fd, const void *addr, unsigned len) {
  if (!addr) return -EFAULT;
  return static_cast<int>(ret(::bind(fd, static_cast<const sockaddr *>(addr), len)));
}

int plat_listen(int fd, int backlog) {
  return static_cast<int>(ret(::listen(fd, backlog)));
}

int plat_accept(int fd, int nonblock) {
  return static_cast<int>(
      retry([&] { return ::accept4(fd, nullptr, nullptr, SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0)); }));
}

int plat_connect(int fd, const void *addr, unsigned len) {
  if (!addr) return -EFAULT;
  return static_cast<int>(ret(::connect(fd, static_cast<const sockaddr *>(addr), len)));
}

long plat_recv(int fd, void *buf, size_t len, int flags) {
  if (!buf && len) return -EFAULT;
  return retry([&] { return ::recv(fd, buf, len, flags); });
}

long plat_send(int fd, const void *buf, size_t len, int flags) {
  if (!buf && len) return -EFAULT;
  return retry([&] { return ::send(fd, buf, len, flags | MSG_NOSIGNAL); });
}

int plat_shutdown(int fd, int how) {
  return static_cast<int>(ret(::shutdown(fd, how)));
}

int plat_setsockopt(int fd, int level, int name, const void *val, unsigned len) {
  if (!val && len) return -EFAULT;
  return static_cast<int>(ret(::setsockopt(fd, level, name, val, len)));
}

int plat_getsockopt(int fd, int level, int name, void *val, unsigned *len) {
  if (!val || !len) return -EFAULT;
  socklen_t l = *len;
  int r = ::getsockopt(fd, level, name, val, &l);
  if (r == 0) *len = l;
  return static_cast<int>(ret(r));
}

int plat_set_nonblock(int fd, int on) {
  int fl = ::fcntl(fd, F_GETFL);
  if (fl < 0) return -errno;
  return static_cast<int>(ret(::fcntl(fd, F_SETFL, on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK)));
}

int plat_poll_create(void) {
  return static_cast<int>(ret(::epoll_create1(EPOLL_CLOEXEC)));
}

int plat_poll_ctl(int ep, int op, int fd, uint32_t events, uint64_t cookie) {
  epoll_event e{};
  e.events = events;
  e.data.u64 = cookie;
  return static_cast<int>(ret(::epoll_ctl(ep, op, fd, &e)));
}

int plat_poll_wait(int ep, struct plat_event *ev, int max, int timeout_ms) {
  if (!ev || max <= 0) return -EINVAL;
  return static_cast<int>(
      retry([&] { return ::epoll_wait(ep, reinterpret_cast<epoll_event *>(ev), max, timeout_ms); }));
}

int plat_open(const char *path, int flags, int mode) {
  if (!path) return -EFAULT;
  return static_cast<int>(retry([&] { return ::open(path, flags | O_CLOEXEC, mode); }));
}

int plat_fsync(int fd) {
  return static_cast<int>(retry([&] { return ::fsync(fd); }));
}

int plat_ftruncate(int fd, int64_t len) {
  if (len < 0) return -EINVAL;
  return static_cast<int>(retry([&] { return ::ftruncate(fd, len); }));
}

int plat_rename(const char *from, const char *to) {
  if (!from || !to) return -EFAULT;
  return static_cast<int>(ret(::rename(from, to)));
}

int plat_unlink(const char *path) {
  if (!path) return -EFAULT;
  return static_cast<int>(ret(::unlink(path)));
}

int plat_mkdir(const char *path, int mode) {
  if (!path) return -EFAULT;
  return static_cast<int>(ret(::mkdir(path, static_cast<mode_t>(mode))));
}

int plat_rmdir(const char *path) {
  if (!path) return -EFAULT;
  return static_cast<int>(ret(::rmdir(path)));
}

int64_t plat_clock_ns(int clock) {
  timespec ts{};
  if (::clock_gettime(clock == PLAT_CLOCK_REALTIME ? CLOCK_REALTIME : CLOCK_MONOTONIC, &ts) != 0) return -errno;
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

int plat_sleep_ns(int64_t ns) {
  if (ns < 0) return -EINVAL;
  timespec ts{static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)};
  while (::nanosleep(&ts, &ts) != 0) {
    if (errno != EINTR) return -errno;
  }
  return 0;
}

}  // extern "C"
