// posix: the POSIX names an application calls (sockets, files, descriptors, clocks, sleeps), served by
// net, vfs, time and console, so a C program keeps its POSIX code. It sits in the compartment of its
// caller: the application calls it with plain calls, and it reaches the libOS through the gates of
// lower_gates.c, which copy what crosses a boundary into shared memory. Results follow POSIX: -1 and
// errno on failure.
#undef _FORTIFY_SOURCE  // this file defines read(), recv(), ... themselves, not their checked inlines
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <limits.h>
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <flex/plat/plat.h>
#include <flex/runtime/layout.h>
#include <flex/runtime/self.h>

#include "fd_table.h"
#include "lower.h"

// The image's layout and this compartment's place in it (absent outside an image).
extern "C" const struct flex_image_layout flex_image __attribute__((weak));
extern "C" const struct flex_self_info flex_self __attribute__((weak));

namespace flex::posix {

void hold_locks_across_fork();

// Never destroyed: threads of the program may still use it while the process ends.
table &fds() {
  static table &t = *new table;
  static std::once_flag streams;
  std::call_once(streams, [] {
    t.fds[0] = {.k = kind::host, .id = 0};
    t.fds[1] = {.k = kind::console, .id = 1};
    t.fds[2] = {.k = kind::console, .id = 2};
    hold_locks_across_fork();
  });
  return t;
}

long result(long r) {
  if (r < 0) {
    errno = static_cast<int>(-r);
    return -1;
  }
  return r;
}

int claim(kind k, int id, bool nonblock, bool cloexec) {
  table &t = fds();
  std::lock_guard lock(t.mu);
  for (int fd = 0; fd < kMaxFds; ++fd) {
    if (t.fds[fd].k == kind::free) {
      t.fds[fd] = {.k = k, .id = id, .nonblock = nonblock, .cloexec = cloexec};
      return fd;
    }
  }
  return -EMFILE;
}

fd_entry lookup(int fd) {
  if (fd < 0 || fd >= kMaxFds) return {};
  table &t = fds();
  std::lock_guard lock(t.mu);
  return t.fds[fd];
}

fd_entry release(int fd) {
  if (fd < 0 || fd >= kMaxFds) return {};
  table &t = fds();
  std::lock_guard lock(t.mu);
  fd_entry e = t.fds[fd];
  for (epoll_instance &ep : t.epolls) ep.interest.erase(fd);
  t.fds[fd] = {};
  return e;
}

namespace {

// What a descriptor names, looked up once: its entry, or -EBADF.
struct target {
  fd_entry e;
  int error = 0;
};

target find(int fd) {
  target t{lookup(fd)};
  if (t.e.k == kind::free) t.error = -EBADF;
  return t;
}

// The entry of a socket descriptor: 0, -EBADF, or -ENOTSOCK for a descriptor that is no socket.
int socket_of(int fd, fd_entry &e) {
  target t = find(fd);
  if (t.error) return t.error;
  if (t.e.k != kind::net) return -ENOTSOCK;
  e = t.e;
  return 0;
}

// POSIX's int results: -1 and errno for a negative errno.
int fail_or(long r) {
  return static_cast<int>(result(r));
}

// A socket address as net takes it: a numeric string and a port.
int from_sockaddr(const sockaddr *sa, socklen_t len, char (&addr)[NET_ADDR_MAX], int &port) {
  if (!sa) return -EFAULT;
  if (sa->sa_family == AF_INET && len >= sizeof(sockaddr_in)) {
    const auto *v4 = reinterpret_cast<const sockaddr_in *>(sa);
    inet_ntop(AF_INET, &v4->sin_addr, addr, sizeof addr);
    port = ntohs(v4->sin_port);
    return 0;
  }
  if (sa->sa_family == AF_INET6 && len >= sizeof(sockaddr_in6)) {
    const auto *v6 = reinterpret_cast<const sockaddr_in6 *>(sa);
    inet_ntop(AF_INET6, &v6->sin6_addr, addr, sizeof addr);
    port = ntohs(v6->sin6_port);
    return 0;
  }
  return sa->sa_family == AF_INET || sa->sa_family == AF_INET6 ? -EINVAL : -EAFNOSUPPORT;
}

// net's numeric address and port into the caller's sockaddr, truncated to *len as POSIX says; *len
// becomes the full size.
void to_sockaddr(const char *addr, int port, sockaddr *out, socklen_t *len) {
  if (!out || !len) return;
  sockaddr_storage ss{};
  socklen_t full = 0;
  auto *v4 = reinterpret_cast<sockaddr_in *>(&ss);
  auto *v6 = reinterpret_cast<sockaddr_in6 *>(&ss);
  if (inet_pton(AF_INET, addr, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(port));
    full = sizeof *v4;
  } else if (inet_pton(AF_INET6, addr, &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(port));
    full = sizeof *v6;
  }
  std::memcpy(out, &ss, std::min(*len, full));
  *len = full;
}

// bind or connect: net's `call` on socket fd with the address sa names.
int at_address(int fd, const sockaddr *sa, socklen_t len, int (*call)(int, const char *, int)) {
  fd_entry e;
  if (int r = socket_of(fd, e); r < 0) return r;
  char addr[NET_ADDR_MAX];
  int port = 0;
  if (int r = from_sockaddr(sa, len, addr, port); r < 0) return r;
  return call(e.id, addr, port);
}

long sock_name(int fd, int peer, sockaddr *addr, socklen_t *len) {
  target t = find(fd);
  if (t.error) return t.error;
  if (t.e.k != kind::net) return -ENOTSOCK;
  if (!addr || !len) return -EFAULT;
  char a[NET_ADDR_MAX];
  int port = 0;
  if (int r = posix_lo_net_name(t.e.id, peer, a, &port); r < 0) return r;
  to_sockaddr(a, port, addr, len);
  return 0;
}

// Reads into buf from whatever fd names; flags as recv takes them (0 for read).
long read_from(const fd_entry &e, void *buf, size_t len, int flags) {
  if (!buf && len) return -EFAULT;
  switch (e.k) {
    case kind::net: {
      if (e.nonblock) flags |= MSG_DONTWAIT;
      const bool all = flags & MSG_WAITALL;
      flags &= ~(MSG_WAITALL | MSG_NOSIGNAL | MSG_CMSG_CLOEXEC);
      size_t done = 0;
      if (!(flags & MSG_DONTWAIT)) flush_held();  // it may wait for an answer to what is held
      if (long n; read_ahead_pays() && read_taken(e.id, buf, len, flags, &n)) {
        if (!all || n <= 0 || static_cast<size_t>(n) == len || (flags & MSG_PEEK)) return n;
        done = static_cast<size_t>(n);
      } else if (!all) {
        return posix_lo_net_recv(e.id, buf, len, flags);
      }
      while (done < len) {
        long n = posix_lo_net_recv(e.id, static_cast<char *>(buf) + done, len - done, flags);
        if (n <= 0) return done ? static_cast<long>(done) : n;
        done += static_cast<size_t>(n);
      }
      return static_cast<long>(done);
    }
    case kind::vfs: return flags ? -ENOTSOCK : posix_lo_vfs_read(e.id, buf, len);
    case kind::host:
      if (flags) return -ENOTSOCK;
      flush_held();  // the standard input may block
      return plat_read(e.id, buf, len);
    case kind::console: return -EBADF;  // write-only
    case kind::epoll: return -EINVAL;
    case kind::free: break;
  }
  return -EBADF;
}

// Writes all of buf unless an error or a non-blocking socket stops it (then what was written, or the
// error when nothing was).
long write_to(const fd_entry &e, const void *buf, size_t len, int flags) {
  if (!buf && len) return -EFAULT;
  const char *p = static_cast<const char *>(buf);
  const int send_flags = (flags & ~(MSG_NOSIGNAL | MSG_EOR)) | (e.nonblock ? MSG_DONTWAIT : 0);
  if (e.k == kind::net && hold_pays()) {
    if (long n = write_held(e.id, buf, len, send_flags); n != kNotHeld) return n;
  }
  size_t done = 0;
  do {
    const size_t piece = std::min<size_t>(len - done, POSIX_IO_CHUNK);
    long n;
    switch (e.k) {
      case kind::net:
        n = posix_lo_net_send(e.id, p + done, piece, send_flags);
        if (hold_pays()) sent_directly(e.id, n);
        break;
      case kind::vfs: n = flags ? -ENOTSOCK : posix_lo_vfs_write(e.id, p + done, piece); break;
      case kind::console: n = flags ? -ENOTSOCK : posix_lo_console_write(p + done, piece); break;
      case kind::host: n = flags ? -ENOTSOCK : plat_write(e.id, p + done, piece); break;
      case kind::epoll: return -EINVAL;
      case kind::free: return -EBADF;
    }
    if (n < 0) return done ? static_cast<long>(done) : n;
    done += static_cast<size_t>(n);
    if (static_cast<size_t>(n) < piece) break;  // a non-blocking socket took what it could
  } while (done < len);
  return static_cast<long>(done);
}

// The iovec array as one private buffer (writev, sendmsg) or scattered from one (readv, recvmsg).
long iov_total(const iovec *iov, int n) {
  if (n < 0 || n > IOV_MAX) return -EINVAL;
  if (!iov && n) return -EFAULT;
  size_t total = 0;
  for (int i = 0; i < n; ++i) {
    if (iov[i].iov_len > SSIZE_MAX - total) return -EINVAL;
    total += iov[i].iov_len;
  }
  return static_cast<long>(total);
}

long gather_write(const fd_entry &e, const iovec *iov, int n, int flags) {
  long total = iov_total(iov, n);
  if (total < 0) return total;
  if (n == 1) return write_to(e, iov[0].iov_base, iov[0].iov_len, flags);
  std::vector<char> all(static_cast<size_t>(total));
  size_t at = 0;
  for (int i = 0; i < n; ++i) {
    if (iov[i].iov_len) std::memcpy(all.data() + at, iov[i].iov_base, iov[i].iov_len);
    at += iov[i].iov_len;
  }
  return write_to(e, all.data(), all.size(), flags);
}

long scatter_read(const fd_entry &e, const iovec *iov, int n, int flags) {
  long total = iov_total(iov, n);
  if (total < 0) return total;
  if (n == 1) return read_from(e, iov[0].iov_base, iov[0].iov_len, flags);
  std::vector<char> all(static_cast<size_t>(std::min<long>(total, POSIX_IO_CHUNK)));
  long got = read_from(e, all.data(), all.size(), flags);
  if (got <= 0) return got;
  size_t at = 0;
  for (int i = 0; i < n && at < static_cast<size_t>(got); ++i) {
    size_t k = std::min(iov[i].iov_len, static_cast<size_t>(got) - at);
    std::memcpy(iov[i].iov_base, all.data() + at, k);
    at += k;
  }
  return got;
}

int close_entry(const fd_entry &e) {
  switch (e.k) {
    case kind::net: return posix_lo_net_close(e.id);  // also leaves net's readiness set
    case kind::vfs: return posix_lo_vfs_close(e.id);
    case kind::epoll: {
      table &t = fds();
      std::lock_guard lock(t.mu);
      epoll_instance &ep = t.epolls[e.id];
      std::vector<int> members;
      for (const auto &[fd, in] : ep.interest) members.push_back(fd);
      ep = {};
      for (int fd : members) {
        std::uint32_t want = 0;
        for (const epoll_instance &other : t.epolls) {
          if (auto it = other.interest.find(fd); it != other.interest.end()) want |= it->second.events;
        }
        t.fds[fd].epoll_events = want;
        sync_registration(fd);
      }
      return 0;
    }
    case kind::console:
    case kind::host: return 0;  // the image's standard streams stay open for the others
    case kind::free: break;
  }
  return -EBADF;
}

// A descriptor's close: the owner's object is closed with the last descriptor that names it (and a
// socket's bytes read ahead go with it).
int close_shared(const fd_entry &e) {
  {
    table &t = fds();
    std::lock_guard lock(t.mu);
    if (auto it = t.shared.find({e.k, e.id}); it != t.shared.end()) {
      if (--it->second == 0) t.shared.erase(it);
      return 0;
    }
    if (e.k == kind::net) {
      t.taken.erase(e.id);
      t.send_error.erase(e.id);
      t.kept.erase(e.id);
    }
  }
  return close_entry(e);
}

// Another descriptor for what `fd` names: `to` itself (closing what it named first, as dup2 does), or,
// with `to` -1, the lowest free one from `min` up. Both name one object of the owner's, and one position
// for a file: the owner's (Linux's open file description). Readiness registrations stay the first's.
int duplicate(int fd, int to, int min, bool cloexec) {
  if (fd < 0 || fd >= kMaxFds || to >= kMaxFds) return -EBADF;
  table &t = fds();
  fd_entry replaced{};
  {
    std::lock_guard lock(t.mu);
    if (t.fds[fd].k == kind::free) return -EBADF;
    if (to == fd) return to;
    if (to < 0) {
      to = min;
      while (to < kMaxFds && t.fds[to].k != kind::free) ++to;
      if (to == kMaxFds) return -EMFILE;
    } else if (t.fds[to].k != kind::free) {
      replaced = t.fds[to];
      for (epoll_instance &ep : t.epolls) ep.interest.erase(to);
    }
    const fd_entry &e = t.fds[fd];
    t.fds[to] = {.k = e.k, .id = e.id, .nonblock = e.nonblock, .cloexec = cloexec};
    ++t.shared[{e.k, e.id}];
  }
  if (replaced.k != kind::free) close_shared(replaced);
  return to;
}

// Host directories the program's paths reach: FLEX_MOUNTS="TARGET=HOSTDIR[,TARGET=HOSTDIR...]" in its
// environment mounts each HOSTDIR with hostfs at TARGET before its first file call (every path beneath
// stays beneath). A mount that fails is said on the console, naming the entry and the error.
void mount_host_dirs() {
  static std::once_flag once;
  std::call_once(once, [] {
    const char *spec = std::getenv("FLEX_MOUNTS");
    if (!spec) return;
    std::string all(spec);
    for (std::size_t at = 0; at <= all.size();) {
      std::size_t end = all.find(',', at);
      if (end == std::string::npos) end = all.size();
      const std::string entry = all.substr(at, end - at);
      at = end + 1;
      if (entry.empty()) continue;
      const std::size_t eq = entry.find('=');
      int rc = -EINVAL;
      if (eq != std::string::npos && eq > 0 && eq + 1 < entry.size())
        rc = posix_lo_vfs_mount(entry.substr(0, eq).c_str(), "hostfs", entry.substr(eq + 1).c_str());
      if (rc < 0) {
        const std::string line = "posix: FLEX_MOUNTS entry '" + entry + "': " +
                                 (rc == -EINVAL && eq == std::string::npos ? "not TARGET=HOSTDIR"
                                                                           : std::string(std::strerror(-rc))) +
                                 "\n";
        posix_lo_console_write(line.data(), line.size());
      }
    }
  });
}

// The working directory: relative paths are taken from it (chdir sets it; it starts at "/"). Plain bytes,
// no destructor: a process image's main process runs the exit handlers with this compartment's memory
// unmapped.
std::mutex g_cwd_mu;
char g_cwd[VFS_PATH_MAX + 1] = "/";

}  // namespace

// In an image whose program forks (the program's threads may be in posix meanwhile), the fork waits for
// posix's locks and the child gets them free: a lock another thread held at the fork would stay held in
// the child, where that thread does not exist.
void hold_locks_across_fork() {
  if (&flex_image == nullptr || !flex_image_forks(&flex_image)) return;
  auto hold = [] {
    g_cwd_mu.lock();
    fds().mu.lock();
  };
  auto release = [] {
    fds().mu.unlock();
    g_cwd_mu.unlock();
  };
  pthread_atfork(hold, release, release);
}

namespace {
int g_ahead_forced = -1;  // PX(posix_read_ahead): -1 decides from the image's layout

// Whether net is across a costly boundary from this compartment: in another compartment, one of the two
// a process of its own. An mpk gate or a plain call costs less than the copy a read ahead makes.
bool net_is_across_a_process() {
  if (&flex_image == nullptr || &flex_self == nullptr) return false;
  const unsigned me = flex_self.index;
  if (me >= flex_image.n_compartments) return false;
  for (unsigned c = 0; c < flex_image.n_compartments; ++c) {
    for (const char *const *l = flex_image.compartments[c].libraries; l && *l; ++l) {
      if (std::strcmp(*l, "net") != 0) continue;
      if (c == me) return false;
      return flex_image.compartments[c].isolation == FLEX_ISO_PROCESS ||
             flex_image.compartments[me].isolation == FLEX_ISO_PROCESS;
    }
  }
  return false;
}
}  // namespace

bool read_ahead_pays() {
  static const bool across = net_is_across_a_process();
  return g_ahead_forced >= 0 ? g_ahead_forced != 0 : across;
}

bool has_taken(int id) {
  const auto &taken = fds().taken;
  auto it = taken.find(id);
  return it != taken.end() && (!it->second.bytes.empty() || it->second.eof || it->second.error);
}

bool read_taken(int id, void *buf, std::size_t len, int flags, long *n) {
  table &t = fds();
  std::lock_guard lock(t.mu);
  if (t.taken.empty()) return false;
  auto it = t.taken.find(id);
  if (it == t.taken.end()) return false;
  ahead &a = it->second;
  const bool peek = flags & MSG_PEEK;
  if (!a.bytes.empty()) {
    const std::size_t k = std::min(len, a.bytes.size());
    std::memcpy(buf, a.bytes.data(), k);
    if (!peek) a.bytes.erase(0, k);
    if (a.bytes.empty() && !a.eof && !a.error) t.taken.erase(it);
    *n = static_cast<long>(k);
    return true;
  }
  if (a.error) {
    *n = a.error;
    if (!peek) t.taken.erase(it);
    return true;
  }
  if (a.eof) {  // it stays: every later read ends the stream too
    *n = 0;
    return true;
  }
  t.taken.erase(it);
  return false;
}

void keep_taken(const net_event *ev, int n, const char *const *data, const std::int64_t *result) {
  table &t = fds();
  for (int i = 0; i < n; ++i) {
    const std::int64_t r = result[i];
    if (r == -EAGAIN || r == -EWOULDBLOCK) continue;
    const int fd = static_cast<int>(ev[i].cookie);
    if (fd < 0 || fd >= kMaxFds || t.fds[fd].k != kind::net) continue;  // closed meanwhile: its bytes go too
    ahead &a = t.taken[t.fds[fd].id];
    if (r > 0) {
      a.bytes.append(data[i], static_cast<std::size_t>(r));
    } else if (r == 0) {
      a.eof = true;
    } else {
      a.error = static_cast<int>(r);
    }
  }
}

namespace {

// `path` as vfs takes it: from "/", with the working directory before a relative one.
std::string absolute(const char *path) {
  std::string_view p(path);
  if (!p.empty() && p.front() == '/') return std::string(p);
  while (p.size() >= 2 && p.substr(0, 2) == "./") p.remove_prefix(2);
  std::lock_guard lock(g_cwd_mu);
  const std::string_view cwd(g_cwd);
  if (p.empty() || p == ".") return std::string(cwd);
  return cwd == "/" ? "/" + std::string(p) : std::string(cwd) + "/" + std::string(p);
}

int open_file(const char *path_in, int flags, int mode) {
  if (missing(path_in)) return -EFAULT;
  mount_host_dirs();
  const std::string full = absolute(path_in);
  const char *path = full.c_str();
  const int supported = O_ACCMODE | O_CREAT | O_EXCL | O_TRUNC | O_APPEND | O_DIRECTORY | O_CLOEXEC |
                        O_NONBLOCK | O_NOCTTY | O_LARGEFILE | O_NOFOLLOW;
  if (flags & ~supported) return -EINVAL;
  int vfd = posix_lo_vfs_open(path, flags & (O_ACCMODE | O_CREAT | O_EXCL | O_TRUNC | O_APPEND | O_DIRECTORY), mode);
  if (vfd < 0) return vfd;
  int fd = claim(kind::vfs, vfd, flags & O_NONBLOCK, flags & O_CLOEXEC);
  if (fd < 0) posix_lo_vfs_close(vfd);
  return fd;
}

void to_stat(const struct vfs_stat &v, struct stat *st) {
  std::memset(st, 0, sizeof *st);
  st->st_dev = v.dev;
  st->st_ino = v.ino;
  st->st_size = static_cast<off_t>(v.size);
  st->st_blocks = static_cast<blkcnt_t>(v.blocks);
  st->st_mode = v.mode;
  st->st_nlink = v.nlink;
  st->st_uid = v.uid;
  st->st_gid = v.gid;
  st->st_blksize = 4096;
  auto ts = [](int64_t ns) { return timespec{.tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000}; };
  st->st_atim = ts(v.atime_ns);
  st->st_mtim = ts(v.mtime_ns);
  st->st_ctim = ts(v.ctime_ns);
}

int stat_entry(const fd_entry &e, struct stat *st) {
  if (missing(st)) return -EFAULT;
  if (e.k == kind::vfs) {
    struct vfs_stat v{};
    if (int r = posix_lo_vfs_fstat(e.id, &v); r < 0) return r;
    to_stat(v, st);
    return 0;
  }
  std::memset(st, 0, sizeof *st);
  switch (e.k) {
    case kind::net: st->st_mode = S_IFSOCK | 0777; return 0;
    case kind::console:
    case kind::host: st->st_mode = S_IFCHR | 0620; return 0;
    case kind::epoll: st->st_mode = 0600; return 0;
    default: return -EBADF;
  }
}

int stat_path(const char *path, struct stat *st) {
  if (missing(path) || missing(st)) return -EFAULT;
  mount_host_dirs();
  struct vfs_stat v{};
  if (int r = posix_lo_vfs_stat(absolute(path).c_str(), &v); r < 0) return r;
  to_stat(v, st);
  return 0;
}

int set_flags(int fd, int flags) {
  table &t = fds();
  fd_entry e = lookup(fd);
  if (e.k == kind::free) return -EBADF;
  const bool nonblock = flags & O_NONBLOCK;
  if (e.k == kind::net && nonblock != e.nonblock) {
    if (int r = posix_lo_net_set_nonblock(e.id, nonblock); r < 0) return r;
  }
  std::lock_guard lock(t.mu);
  if (t.fds[fd].k == e.k && t.fds[fd].id == e.id) t.fds[fd].nonblock = nonblock;
  return 0;
}

int64_t clock_ns(clockid_t clk) {
  switch (clk) {
    case CLOCK_MONOTONIC:
    case CLOCK_MONOTONIC_RAW:
    case CLOCK_MONOTONIC_COARSE:
    case CLOCK_BOOTTIME: return posix_lo_time_monotonic_ns();
    case CLOCK_REALTIME:
    case CLOCK_REALTIME_COARSE: return posix_lo_time_realtime_ns();
    default: return -EINVAL;
  }
}

int sleep_ns(int64_t ns) {
  return ns > 0 ? posix_lo_time_sleep_ns(ns) : 0;
}

}  // namespace
}  // namespace flex::posix

using namespace flex::posix;

extern "C" {

// Descriptors and their data.

ssize_t PX(read)(int fd, void *buf, size_t len) {
  target t = find(fd);
  return t.error ? result(t.error) : result(read_from(t.e, buf, len, 0));
}

ssize_t PX(write)(int fd, const void *buf, size_t len) {
  target t = find(fd);
  return t.error ? result(t.error) : result(write_to(t.e, buf, len, 0));
}

ssize_t PX(readv)(int fd, const struct iovec *iov, int n) {
  target t = find(fd);
  return t.error ? result(t.error) : result(scatter_read(t.e, iov, n, 0));
}

ssize_t PX(writev)(int fd, const struct iovec *iov, int n) {
  target t = find(fd);
  return t.error ? result(t.error) : result(gather_write(t.e, iov, n, 0));
}

ssize_t PX(pread)(int fd, void *buf, size_t len, off_t off) {
  target t = find(fd);
  if (t.error) return result(t.error);
  if (t.e.k != kind::vfs) return result(-ESPIPE);
  if (!buf && len) return result(-EFAULT);
  return result(posix_lo_vfs_pread(t.e.id, buf, len, off));
}

ssize_t PX(pwrite)(int fd, const void *buf, size_t len, off_t off) {
  target t = find(fd);
  if (t.error) return result(t.error);
  if (t.e.k != kind::vfs) return result(-ESPIPE);
  if (!buf && len) return result(-EFAULT);
  return result(posix_lo_vfs_pwrite(t.e.id, buf, len, off));
}

int PX(close)(int fd) {
  fd_entry e = release(fd);
  return e.k == kind::free ? static_cast<int>(result(-EBADF)) : static_cast<int>(result(close_shared(e)));
}

void PX(posix_read_ahead)(int on) {
  g_ahead_forced = on < 0 ? -1 : on != 0;
}

int PX(dup)(int fd) {
  return static_cast<int>(result(duplicate(fd, -1, 0, false)));
}

int PX(dup2)(int fd, int to) {
  if (to < 0) return static_cast<int>(result(-EBADF));
  return static_cast<int>(result(duplicate(fd, to, 0, false)));
}

int PX(dup3)(int fd, int to, int flags) {
  if (to < 0) return static_cast<int>(result(-EBADF));
  if (fd == to || (flags & ~O_CLOEXEC)) return static_cast<int>(result(-EINVAL));
  return static_cast<int>(result(duplicate(fd, to, 0, flags & O_CLOEXEC)));
}

int PX(fcntl)(int fd, int cmd, ...) {
  va_list ap;
  va_start(ap, cmd);
  long arg = va_arg(ap, long);
  va_end(ap);
  target t = find(fd);
  if (t.error) return static_cast<int>(result(t.error));
  switch (cmd) {
    case F_GETFL: return O_RDWR | (t.e.nonblock ? O_NONBLOCK : 0);
    case F_SETFL: return static_cast<int>(result(set_flags(fd, static_cast<int>(arg))));
    case F_DUPFD:
    case F_DUPFD_CLOEXEC:
      if (arg < 0 || arg >= kMaxFds) return static_cast<int>(result(-EINVAL));
      return static_cast<int>(result(duplicate(fd, -1, static_cast<int>(arg), cmd == F_DUPFD_CLOEXEC)));
    case F_GETFD: return t.e.cloexec ? FD_CLOEXEC : 0;
    case F_SETFD: {
      table &tb = fds();
      std::lock_guard lock(tb.mu);
      tb.fds[fd].cloexec = arg & FD_CLOEXEC;
      return 0;
    }
    default: return static_cast<int>(result(-EINVAL));
  }
}

int PX(ioctl)(int fd, unsigned long request, ...) {
  va_list ap;
  va_start(ap, request);
  int *arg = va_arg(ap, int *);
  va_end(ap);
  target t = find(fd);
  if (t.error) return static_cast<int>(result(t.error));
  if (request != FIONBIO) return static_cast<int>(result(-ENOTTY));
  if (!arg) return static_cast<int>(result(-EFAULT));
  return static_cast<int>(result(set_flags(fd, *arg ? O_NONBLOCK : 0)));
}

// Sockets.

int PX(socket)(int domain, int type, int protocol) {
  const int base = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (domain != AF_INET && domain != AF_INET6) return fail_or(-EAFNOSUPPORT);
  if (base != SOCK_STREAM || (protocol != 0 && protocol != IPPROTO_TCP))
    return fail_or(-EPROTONOSUPPORT);
  const bool nonblock = type & SOCK_NONBLOCK;
  int s = posix_lo_net_socket(domain == AF_INET ? NET_INET : NET_INET6,
                              NET_STREAM | (nonblock ? NET_SOCK_NONBLOCK : 0));
  if (s < 0) return fail_or(s);
  int fd = claim(kind::net, s, nonblock, type & SOCK_CLOEXEC);
  if (fd < 0) posix_lo_net_close(s);
  return fail_or(fd);
}

// Pipes: a pair of net's local stream sockets with one direction each (net_pipe), so that their
// readiness is waited for with every socket's.
int PX(pipe2)(int out[2], int flags) {
  if (missing(out)) return fail_or(-EFAULT);
  if (flags & ~(O_NONBLOCK | O_CLOEXEC)) return fail_or(-EINVAL);
  const bool nonblock = flags & O_NONBLOCK;
  int ends[2];
  if (int r = posix_lo_net_pipe(ends, nonblock ? NET_SOCK_NONBLOCK : 0); r < 0) return fail_or(r);
  const int rd = claim(kind::net, ends[0], nonblock, flags & O_CLOEXEC);
  const int wr = rd < 0 ? rd : claim(kind::net, ends[1], nonblock, flags & O_CLOEXEC);
  if (wr < 0) {
    if (rd >= 0) release(rd);
    posix_lo_net_close(ends[0]);
    posix_lo_net_close(ends[1]);
    return fail_or(wr);
  }
  out[0] = rd;
  out[1] = wr;
  return 0;
}

int PX(pipe)(int out[2]) {
  return PX(pipe2)(out, 0);
}

int PX(bind)(int fd, const struct sockaddr *sa, socklen_t len) {
  return fail_or(at_address(fd, sa, len, &posix_lo_net_bind));
}

int PX(listen)(int fd, int backlog) {
  fd_entry e;
  if (int r = socket_of(fd, e); r < 0) return fail_or(r);
  return fail_or(posix_lo_net_listen(e.id, std::max(backlog, 0)));
}

int PX(accept4)(int fd, struct sockaddr *addr, socklen_t *len, int flags) {
  fd_entry e;
  if (int r = socket_of(fd, e); r < 0) return fail_or(r);
  if (flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) return fail_or(-EINVAL);
  if (addr && !len) return fail_or(-EFAULT);
  // A listening socket made non-blocking by fcntl is non-blocking in net too (set_flags).
  int s = posix_lo_net_accept(e.id, (flags & SOCK_NONBLOCK) ? NET_NONBLOCK : 0);
  if (s < 0) return fail_or(s);
  int nfd = claim(kind::net, s, flags & SOCK_NONBLOCK, flags & SOCK_CLOEXEC);
  if (nfd < 0) {
    posix_lo_net_close(s);
    return fail_or(nfd);
  }
  if (addr) {
    char a[NET_ADDR_MAX];
    int port = 0;
    if (posix_lo_net_name(s, 1, a, &port) == 0) {
      to_sockaddr(a, port, addr, len);
    } else {
      *len = 0;  // the peer is gone already; the connection still has to be read and closed
    }
  }
  return nfd;
}

int PX(accept)(int fd, struct sockaddr *addr, socklen_t *len) {
  return PX(accept4)(fd, addr, len, 0);
}

int PX(connect)(int fd, const struct sockaddr *sa, socklen_t len) {
  return fail_or(at_address(fd, sa, len, &posix_lo_net_connect));
}

ssize_t PX(recv)(int fd, void *buf, size_t len, int flags) {
  fd_entry e;
  if (int r = socket_of(fd, e); r < 0) return result(r);
  return result(read_from(e, buf, len, flags));
}

ssize_t PX(recvfrom)(int fd, void *buf, size_t len, int flags, struct sockaddr *from, socklen_t *fromlen) {
  ssize_t n = PX(recv)(fd, buf, len, flags);
  if (n >= 0 && from && fromlen && sock_name(fd, 1, from, fromlen) < 0) *fromlen = 0;
  return n;
}

ssize_t PX(send)(int fd, const void *buf, size_t len, int flags) {
  fd_entry e;
  if (int r = socket_of(fd, e); r < 0) return result(r);
  return result(write_to(e, buf, len, flags));
}

ssize_t PX(sendto)(int fd, const void *buf, size_t len, int flags, const struct sockaddr *to, socklen_t tolen) {
  if (to) {  // a stream socket is connected: Linux answers EISCONN (or ENOTCONN, which send gives)
    fd_entry e;
    const int r = socket_of(fd, e);
    return result(r < 0 ? r : -EISCONN);
  }
  return PX(send)(fd, buf, len, flags);
}

ssize_t PX(recvmsg)(int fd, struct msghdr *msg, int flags) {
  fd_entry e;
  if (int r = socket_of(fd, e); r < 0) return result(r);
  if (!msg) return result(-EFAULT);
  long n = scatter_read(e, msg->msg_iov, static_cast<int>(msg->msg_iovlen), flags);
  if (n >= 0) {
    msg->msg_controllen = 0;  // no ancillary data over TCP here
    msg->msg_flags = 0;
    if (msg->msg_name && sock_name(fd, 1, static_cast<sockaddr *>(msg->msg_name), &msg->msg_namelen) < 0)
      msg->msg_namelen = 0;
  }
  return result(n);
}

ssize_t PX(sendmsg)(int fd, const struct msghdr *msg, int flags) {
  fd_entry e;
  if (int r = socket_of(fd, e); r < 0) return result(r);
  if (!msg) return result(-EFAULT);
  if (msg->msg_controllen) return result(-EINVAL);  // no descriptors or credentials to pass over TCP
  return result(gather_write(e, msg->msg_iov, static_cast<int>(msg->msg_iovlen), flags));
}

int PX(shutdown)(int fd, int how) {
  fd_entry e;
  if (int r = socket_of(fd, e); r < 0) return fail_or(r);
  return fail_or(posix_lo_net_shutdown(e.id, how));
}

int PX(setsockopt)(int fd, int level, int name, const void *val, socklen_t len) {
  fd_entry e;
  if (int r = socket_of(fd, e); r < 0) return fail_or(r);
  if (!val) return fail_or(-EFAULT);
  return fail_or(posix_lo_net_setsockopt(e.id, level, name, val, len));
}

int PX(getsockopt)(int fd, int level, int name, void *val, socklen_t *len) {
  fd_entry e;
  if (int r = socket_of(fd, e); r < 0) return fail_or(r);
  if (!val || !len) return fail_or(-EFAULT);
  unsigned l = *len;
  int r = posix_lo_net_getsockopt(e.id, level, name, val, &l);
  if (r == 0) *len = l;
  return fail_or(r);
}

int PX(getsockname)(int fd, struct sockaddr *addr, socklen_t *len) {
  return fail_or(sock_name(fd, 0, addr, len));
}

int PX(getpeername)(int fd, struct sockaddr *addr, socklen_t *len) {
  return fail_or(sock_name(fd, 1, addr, len));
}

// Files, by vfs path.

int PX(open)(const char *path, int flags, ...) {
  int mode = 0;
  if (flags & (O_CREAT | __O_TMPFILE)) {
    va_list ap;
    va_start(ap, flags);
    mode = va_arg(ap, int);
    va_end(ap);
  }
  return static_cast<int>(result(open_file(path, flags, mode)));
}

int PX(creat)(const char *path, mode_t mode) {
  return static_cast<int>(result(open_file(path, O_WRONLY | O_CREAT | O_TRUNC, static_cast<int>(mode))));
}

off_t PX(lseek)(int fd, off_t off, int whence) {
  target t = find(fd);
  if (t.error) return result(t.error);
  if (t.e.k != kind::vfs) return result(-ESPIPE);
  return result(posix_lo_vfs_lseek(t.e.id, off, whence));
}

int PX(fstat)(int fd, struct stat *st) {
  target t = find(fd);
  return static_cast<int>(result(t.error ? t.error : stat_entry(t.e, st)));
}

int PX(stat)(const char *path, struct stat *st) {
  return static_cast<int>(result(stat_path(path, st)));
}

int PX(lstat)(const char *path, struct stat *st) {
  return static_cast<int>(result(stat_path(path, st)));
}

int PX(fsync)(int fd) {
  target t = find(fd);
  if (t.error) return static_cast<int>(result(t.error));
  return t.e.k == kind::vfs ? static_cast<int>(result(posix_lo_vfs_fsync(t.e.id))) : static_cast<int>(result(-EINVAL));
}

int PX(fdatasync)(int fd) {
  return PX(fsync)(fd);
}

int PX(ftruncate)(int fd, off_t len) {
  target t = find(fd);
  if (t.error) return static_cast<int>(result(t.error));
  if (t.e.k != kind::vfs) return static_cast<int>(result(-EINVAL));
  return static_cast<int>(result(posix_lo_vfs_ftruncate(t.e.id, len)));
}

int PX(unlink)(const char *path) {
  mount_host_dirs();
  return static_cast<int>(result(missing(path) ? -EFAULT : posix_lo_vfs_unlink(absolute(path).c_str())));
}

int PX(rename)(const char *from, const char *to) {
  mount_host_dirs();
  if (missing(from) || missing(to)) return static_cast<int>(result(-EFAULT));
  return static_cast<int>(result(posix_lo_vfs_rename(absolute(from).c_str(), absolute(to).c_str())));
}

int PX(mkdir)(const char *path, mode_t mode) {
  mount_host_dirs();
  if (missing(path)) return static_cast<int>(result(-EFAULT));
  return static_cast<int>(result(posix_lo_vfs_mkdir(absolute(path).c_str(), static_cast<int>(mode))));
}

int PX(rmdir)(const char *path) {
  mount_host_dirs();
  return static_cast<int>(result(missing(path) ? -EFAULT : posix_lo_vfs_rmdir(absolute(path).c_str())));
}

int PX(chdir)(const char *path) {
  struct stat st;
  if (int r = stat_path(path, &st); r < 0) return static_cast<int>(result(r));
  if (!S_ISDIR(st.st_mode)) return static_cast<int>(result(-ENOTDIR));
  std::string dir = absolute(path);
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  if (dir.size() > VFS_PATH_MAX) return static_cast<int>(result(-ENAMETOOLONG));
  std::lock_guard lock(g_cwd_mu);
  std::memcpy(g_cwd, dir.c_str(), dir.size() + 1);
  return 0;
}

char *PX(getcwd)(char *buf, size_t size) {
  std::lock_guard lock(g_cwd_mu);
  if (missing(buf)) {
    errno = EINVAL;  // glibc's allocating form (a null buffer) is not served
    return nullptr;
  }
  const std::size_t n = std::strlen(g_cwd);
  if (size < n + 1) {
    errno = size == 0 ? EINVAL : ERANGE;
    return nullptr;
  }
  std::memcpy(buf, g_cwd, n + 1);
  return buf;
}

// Clocks and sleeps: sleeps block the calling sched thread, not the image.

int PX(clock_gettime)(clockid_t clk, struct timespec *ts) {
  if (missing(ts)) return static_cast<int>(result(-EFAULT));
  int64_t ns = clock_ns(clk);
  if (ns < 0) return static_cast<int>(result(ns));
  ts->tv_sec = ns / 1000000000;
  ts->tv_nsec = ns % 1000000000;
  return 0;
}

int PX(gettimeofday)(struct timeval *tv, void *) {
  if (!missing(tv)) {
    int64_t ns = posix_lo_time_realtime_ns();
    tv->tv_sec = ns / 1000000000;
    tv->tv_usec = (ns % 1000000000) / 1000;
  }
  return 0;
}

time_t PX(time)(time_t *out) {
  time_t now = static_cast<time_t>(posix_lo_time_realtime_ns() / 1000000000);
  if (out) *out = now;
  return now;
}

int PX(nanosleep)(const struct timespec *req, struct timespec *rem) {
  if (missing(req)) return static_cast<int>(result(-EFAULT));
  if (req->tv_sec < 0 || req->tv_nsec < 0 || req->tv_nsec >= 1000000000) return static_cast<int>(result(-EINVAL));
  int r = sleep_ns(req->tv_sec * 1000000000 + req->tv_nsec);
  if (rem) *rem = {};
  return static_cast<int>(result(r));
}

int PX(usleep)(useconds_t us) {
  return static_cast<int>(result(sleep_ns(static_cast<int64_t>(us) * 1000)));
}

unsigned PX(sleep)(unsigned s) {
  return sleep_ns(static_cast<int64_t>(s) * 1000000000) < 0 ? s : 0;
}

}  // extern "C"

// Large-file names: the same calls on x86-64 (off_t is 64 bits, struct stat64 is struct stat), under the
// names that programs built with _FILE_OFFSET_BITS=64 call.
#ifndef FLEX_POSIX_TEST_NAMES
static_assert(sizeof(struct stat) == sizeof(struct stat64) && sizeof(off_t) == sizeof(off64_t));
extern "C" {
// Same signatures as open and fcntl: the same functions.
int open64(const char *path, int flags, ...) __attribute__((alias("open")));
int fcntl64(int fd, int cmd, ...) __attribute__((alias("fcntl")));
off64_t lseek64(int fd, off64_t off, int whence) { return lseek(fd, off, whence); }
ssize_t pread64(int fd, void *buf, size_t len, off64_t off) { return pread(fd, buf, len, off); }
ssize_t pwrite64(int fd, const void *buf, size_t len, off64_t off) { return pwrite(fd, buf, len, off); }
int fstat64(int fd, struct stat64 *st) { return fstat(fd, reinterpret_cast<struct stat *>(st)); }
int stat64(const char *path, struct stat64 *st) { return stat(path, reinterpret_cast<struct stat *>(st)); }
int lstat64(const char *path, struct stat64 *st) { return lstat(path, reinterpret_cast<struct stat *>(st)); }
int ftruncate64(int fd, off64_t len) { return ftruncate(fd, len); }
int creat64(const char *path, mode_t mode) { return creat(path, mode); }
}
#endif
