// net: the checked entry points (see net.h). Every argument is validated here, before the backend sees
// it; the table of live sockets is net's own, so a compartment can name only sockets net gave out. Host
// sockets are always non-blocking: a blocking call waits for readiness through sched (net_wait.cc), so
// it blocks the calling sched thread, not the image.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sys/socket.h>

#include <atomic>
#include <cstdint>
#include <cerrno>
#include <cstring>

#include <flex/net/net_impl.h>
#include <flex/plat/plat.h>
#include <flex/runtime/layout.h>

// The image's layout (absent outside an image: net's own tests).
extern "C" const struct flex_image_layout flex_image __attribute__((weak));

namespace flex::net {
namespace {

constexpr int kMaxSockets = 65536;
constexpr int kMaxEvents = 4096;
constexpr unsigned kMaxAhead = 1u << 20;  // the most net_poll_wait_ahead receives per socket
static_assert(NET_ADDR_MAX == INET6_ADDRSTRLEN);

const backend &be() {
  return host_backend();
}

// A bit per socket, updated atomically: host threads other than sched's may call net at once (each
// blocking in plat), and a lost update would make a live socket look closed.
template <std::size_t N>
class socket_bits {
 public:
  bool test(std::size_t i) const { return (words_[i / 64].load(std::memory_order_acquire) >> (i % 64)) & 1; }
  void set(std::size_t i, bool on = true) {
    const std::uint64_t bit = std::uint64_t{1} << (i % 64);
    if (on) {
      words_[i / 64].fetch_or(bit, std::memory_order_acq_rel);
    } else {
      words_[i / 64].fetch_and(~bit, std::memory_order_acq_rel);
    }
  }
  void reset(std::size_t i) { set(i, false); }

 private:
  std::atomic<std::uint64_t> words_[(N + 63) / 64] = {};
};

socket_bits<kMaxSockets> g_live;      // sockets this library created and has not closed
socket_bits<kMaxSockets> g_nonblock;  // ... that their user made non-blocking (host sockets always are)
socket_bits<kMaxSockets> g_listening;  // ... that listen() made listeners (nothing to receive)
int g_poll = -1;                  // one readiness set for the whole image
// What each socket is registered in it for (events 0: not registered), and its user's cookie: the set
// itself carries the socket's number, so that a wait knows which socket each event is (to read it ahead:
// net_poll_wait_ahead), and a forked child can build a set of its own with the same registrations.
std::uint32_t g_reg_events[kMaxSockets];
std::uint64_t g_reg_cookie[kMaxSockets];

bool live(int s) {
  return s >= 0 && s < kMaxSockets && g_live.test(static_cast<size_t>(s));
}

int adopt(int s, bool nonblock) {
  if (s < 0) return s;
  if (s >= kMaxSockets) {
    be().close(s);
    return -EMFILE;
  }
  g_live.set(static_cast<size_t>(s));
  g_nonblock.set(static_cast<size_t>(s), nonblock);
  return s;
}

bool blocking(int s, int flags = 0) {
  return !g_nonblock.test(static_cast<size_t>(s)) && !(flags & MSG_DONTWAIT);
}

// A blocking call on a (host non-blocking) socket: retries `op` after each wait for `events` until it
// no longer says -EAGAIN. The wait blocks the calling sched thread (net_wait.cc).
template <typename Op>
long until_ready(int s, unsigned events, Op op) {
  for (;;) {
    long r = op();
    if (r != -EAGAIN && r != -EWOULDBLOCK) return r;
    int w = wait_ready(s, events, -1);
    if (w < 0) return w;
  }
}

// A numeric address and a port into a sockaddr of the socket's family.
int make_addr(const char *addr, int port, sockaddr_storage &out, unsigned &len) {
  if (!addr) return -EFAULT;
  if (port < 0 || port > 65535) return -EINVAL;
  if (std::memchr(addr, '\0', INET6_ADDRSTRLEN) == nullptr) return -EINVAL;  // unterminated or too long
  std::memset(&out, 0, sizeof out);
  auto *v4 = reinterpret_cast<sockaddr_in *>(&out);
  if (inet_pton(AF_INET, addr, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(port));
    len = sizeof *v4;
    return 0;
  }
  auto *v6 = reinterpret_cast<sockaddr_in6 *>(&out);
  if (inet_pton(AF_INET6, addr, &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(port));
    len = sizeof *v6;
    return 0;
  }
  return -EINVAL;
}

bool allowed_option(int level, int name, bool set) {
  if (level == SOL_SOCKET) {
    return name == SO_REUSEADDR || name == SO_KEEPALIVE || name == SO_RCVBUF || name == SO_SNDBUF ||
           name == SO_LINGER || (!set && name == SO_ERROR);
  }
  if (level == IPPROTO_IPV6) return name == IPV6_V6ONLY;
  return level == IPPROTO_TCP && name == TCP_NODELAY;
}

// In the child of a fork (an image whose program forks copies the whole process): the readiness set is
// the parent's, which a fork shares, so what the child registers would wake the parent's waits. The child
// drops its reference and registers its sockets in a set of its own, as they were.
void after_fork_in_child() {
  if (g_poll < 0) return;
  be().close(g_poll);
  g_poll = be().poll_create();
  if (g_poll < 0) return;
  for (int s = 0; s < kMaxSockets; ++s) {
    if (g_reg_events[s] != 0 && live(s)) be().poll_ctl(g_poll, 1, s, g_reg_events[s], static_cast<uint64_t>(s));
  }
}

int poll_set() {
  if (g_poll < 0) {
    g_poll = be().poll_create();
    if (g_poll >= 0 && &flex_image != nullptr && flex_image_forks(&flex_image)) {
      pthread_atfork(nullptr, nullptr, &after_fork_in_child);
    }
  }
  return g_poll;
}

// A registration in the set (op: 1 add, 2 delete, 3 change), with the socket's number as the set's data;
// what it is for is kept once the set took it.
int poll_ctl(int s, int op, unsigned events, uint64_t cookie) {
  int ep = poll_set();
  if (ep < 0) return ep;
  if (op != 2) g_reg_cookie[s] = cookie;  // before the set can report it
  const int rc = be().poll_ctl(ep, op, s, events, static_cast<uint64_t>(s));
  if (rc == 0) g_reg_events[s] = op == 2 ? 0 : events;
  return rc;
}

// The set's events, each with its user's cookie in place of the socket's number (kept in `sock`).
int poll_events(int ep, struct net_event *ev, int max, int timeout_ms, int *sock) {
  const int n = be().poll_wait(ep, ev, max, timeout_ms);
  for (int i = 0; i < n; ++i) {
    const auto s = static_cast<int>(ev[i].cookie);
    if (sock) sock[i] = s;
    ev[i].cookie = s >= 0 && s < kMaxSockets ? g_reg_cookie[s] : 0;
  }
  return n;
}

constexpr unsigned kEventMask = NET_IN | NET_OUT | NET_ERR | NET_HUP;

// One batch of net_recv_many or net_send_many. The caller's array is shared memory that another
// compartment (or thread) may change at any time, so each operation is read from it once, into net's
// own stack, checked there, and only its result is written back: what the backend acts on is what was
// checked.
int io_many(net_io *user, int n, bool send) {
  if (!user) return -EFAULT;
  if (n < 0 || n > NET_MAX_BATCH) return -EINVAL;
  net_io op[NET_MAX_BATCH];
  int index[NET_MAX_BATCH];  // op[k] is user[index[k]]
  const int allowed = send ? (MSG_DONTWAIT | MSG_MORE) : (MSG_PEEK | MSG_DONTWAIT);
  int k = 0;
  for (int i = 0; i < n; ++i) {
    net_io o;
    std::memcpy(&o, &user[i], sizeof o);
    if (!live(o.s)) {
      user[i].result = -EBADF;
    } else if (!o.buf) {
      user[i].result = -EFAULT;
    } else if (o.len > static_cast<uint64_t>(NET_MAX_IO) || (o.flags & ~allowed)) {
      user[i].result = -EINVAL;
    } else {
      o.flags |= MSG_DONTWAIT;
      op[k] = o;
      index[k++] = i;
    }
  }
  if (k > 0) (send ? be().send_many : be().recv_many)(op, k);
  for (int j = 0; j < k; ++j) user[index[j]].result = op[j].result;
  return n;
}

// net_poll_wait; `sock` (when given) gets each event's socket.
int wait_events(struct net_event *ev, int max, int timeout_ms, int *sock) {
  if (!ev) return -EFAULT;
  if (max <= 0 || max > kMaxEvents || timeout_ms < -1) return -EINVAL;
  int ep = poll_set();
  if (ep < 0) return ep;
  // Waiting blocks the calling sched thread: look first, then wait for the set itself (an epoll fd is
  // readable while one of its fds is ready), then look again.
  int n = poll_events(ep, ev, max, 0, sock);
  if (n != 0 || timeout_ms == 0) return n;
  const int64_t deadline = timeout_ms < 0 ? -1 : plat_clock_ns(PLAT_CLOCK_MONOTONIC) + int64_t{timeout_ms} * 1000000;
  for (;;) {
    int64_t left = -1;
    if (deadline >= 0) {
      left = deadline - plat_clock_ns(PLAT_CLOCK_MONOTONIC);
      if (left <= 0) return 0;
    }
    if (int w = wait_ready(ep, NET_IN, left); w < 0) return w;
    n = poll_events(ep, ev, max, 0, sock);
    if (n != 0) return n;
  }
}

}  // namespace
}  // namespace flex::net

using namespace flex::net;

extern "C" {

int net_socket(int family, int type) {
  if ((family != NET_INET && family != NET_INET6) || (type & ~NET_SOCK_NONBLOCK) != NET_STREAM) return -EAFNOSUPPORT;
  return adopt(be().socket(family, SOCK_STREAM | SOCK_NONBLOCK), type & NET_SOCK_NONBLOCK);
}

int net_pipe(int ends[2], int type) {
  if (!ends) return -EFAULT;
  if (type & ~NET_SOCK_NONBLOCK) return -EINVAL;
  int pair[2];
  if (int r = be().pair(pair); r < 0) return r;
  // One direction only: the read end no longer sends, the write end no longer receives.
  if (int r = be().shutdown(pair[0], SHUT_WR); r < 0 || (r = be().shutdown(pair[1], SHUT_RD)) < 0) {
    be().close(pair[0]);
    be().close(pair[1]);
    return r;
  }
  const int r = adopt(pair[0], type & NET_SOCK_NONBLOCK);
  if (r < 0) {
    be().close(pair[1]);
    return r;
  }
  const int w = adopt(pair[1], type & NET_SOCK_NONBLOCK);
  if (w < 0) {
    net_close(r);
    return w;
  }
  ends[0] = r;
  ends[1] = w;
  return 0;
}

int net_bind(int s, const char *addr, int port) {
  if (!live(s)) return -EBADF;
  sockaddr_storage sa;
  unsigned len = 0;
  if (int r = make_addr(addr, port, sa, len); r < 0) return r;
  return be().bind(s, &sa, len);
}

int net_listen(int s, int backlog) {
  if (!live(s)) return -EBADF;
  if (backlog < 0) return -EINVAL;
  const int r = be().listen(s, backlog);
  if (r == 0) g_listening.set(static_cast<size_t>(s));
  return r;
}

int net_accept(int s, int flags) {
  if (!live(s)) return -EBADF;
  if (flags & ~NET_NONBLOCK) return -EINVAL;
  const bool wait = blocking(s);
  long a = wait ? until_ready(s, NET_IN, [&] { return static_cast<long>(be().accept(s, 1)); }) : be().accept(s, 1);
  return adopt(static_cast<int>(a), flags & NET_NONBLOCK);
}

int net_connect(int s, const char *addr, int port) {
  if (!live(s)) return -EBADF;
  sockaddr_storage sa;
  unsigned len = 0;
  if (int r = make_addr(addr, port, sa, len); r < 0) return r;
  int rc = be().connect(s, &sa, len);
  if (rc != -EINPROGRESS || !blocking(s)) return rc;
  if (int w = wait_ready(s, NET_OUT, -1); w < 0) return w;
  int err = 0;
  unsigned elen = sizeof err;
  if (int g = be().getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &elen); g < 0) return g;
  return -err;
}

long net_recv(int s, void *buf, size_t len, int flags) {
  if (!live(s)) return -EBADF;
  if (!buf) return -EFAULT;
  if (len > static_cast<size_t>(NET_MAX_IO)) return -EINVAL;
  if (flags & ~(MSG_PEEK | MSG_DONTWAIT)) return -EINVAL;
  if (!blocking(s, flags)) return be().recv(s, buf, len, flags);
  return until_ready(s, NET_IN, [&] { return be().recv(s, buf, len, flags); });
}

long net_send(int s, const void *buf, size_t len, int flags) {
  if (!live(s)) return -EBADF;
  if (!buf) return -EFAULT;
  if (len > static_cast<size_t>(NET_MAX_IO)) return -EINVAL;
  if (flags & ~(MSG_DONTWAIT | MSG_MORE)) return -EINVAL;
  if (!blocking(s, flags)) return be().send(s, buf, len, flags);
  // A blocking send returns when all of it is sent (or an error stops it).
  size_t done = 0;
  while (done < len || len == 0) {
    const char *p = static_cast<const char *>(buf) + done;
    long n = until_ready(s, NET_OUT, [&] { return be().send(s, p, len - done, flags); });
    if (n < 0) return done ? static_cast<long>(done) : n;
    done += static_cast<size_t>(n);
    if (len == 0) break;
  }
  return static_cast<long>(done);
}

int net_recv_many(struct net_io *op, int n) {
  return io_many(op, n, false);
}

int net_send_many(struct net_io *op, int n) {
  return io_many(op, n, true);
}

int net_close(int s) {
  if (!live(s)) return -EBADF;
  g_live.reset(static_cast<size_t>(s));
  g_nonblock.reset(static_cast<size_t>(s));
  g_listening.reset(static_cast<size_t>(s));
  g_reg_events[s] = 0;
  return be().close(s);  // also leaves the readiness set
}

int net_shutdown(int s, int how) {
  if (!live(s)) return -EBADF;
  if (how < 0 || how > 2) return -EINVAL;
  return be().shutdown(s, how);
}

int net_setsockopt(int s, int level, int name, const void *val, unsigned len) {
  if (!live(s)) return -EBADF;
  if (!val) return -EFAULT;
  if (len == 0 || len > 64) return -EINVAL;
  if (!allowed_option(level, name, true)) return -ENOPROTOOPT;
  return be().setsockopt(s, level, name, val, len);
}

int net_getsockopt(int s, int level, int name, void *val, unsigned *len) {
  if (!live(s)) return -EBADF;
  if (!val || !len) return -EFAULT;
  if (*len == 0 || *len > 64) return -EINVAL;
  if (!allowed_option(level, name, false)) return -ENOPROTOOPT;
  return be().getsockopt(s, level, name, val, len);
}

int net_local_port(int s) {
  if (!live(s)) return -EBADF;
  return be().local_port(s);
}

int net_name(int s, int peer, char *addr, int *port) {
  if (!live(s)) return -EBADF;
  if (!addr || !port) return -EFAULT;
  sockaddr_storage sa{};
  unsigned len = sizeof sa;
  if (int r = be().sock_name(s, peer ? 1 : 0, &sa, &len); r < 0) return r;
  char text[NET_ADDR_MAX];
  int p = 0;
  if (sa.ss_family == AF_INET) {
    const auto *v4 = reinterpret_cast<const sockaddr_in *>(&sa);
    inet_ntop(AF_INET, &v4->sin_addr, text, sizeof text);
    p = ntohs(v4->sin_port);
  } else if (sa.ss_family == AF_INET6) {
    const auto *v6 = reinterpret_cast<const sockaddr_in6 *>(&sa);
    inet_ntop(AF_INET6, &v6->sin6_addr, text, sizeof text);
    p = ntohs(v6->sin6_port);
  } else {
    return -EAFNOSUPPORT;
  }
  std::memcpy(addr, text, std::strlen(text) + 1);
  *port = p;
  return 0;
}

int net_set_nonblock(int s, int on) {
  if (!live(s)) return -EBADF;
  g_nonblock.set(static_cast<size_t>(s), on != 0);  // host sockets are non-blocking already
  return 0;
}

int net_poll_add(int s, unsigned events, uint64_t cookie) {
  if (!live(s)) return -EBADF;
  if (events & ~kEventMask) return -EINVAL;
  return poll_ctl(s, 1, events, cookie);
}

int net_poll_mod(int s, unsigned events, uint64_t cookie) {
  if (!live(s)) return -EBADF;
  if (events & ~kEventMask) return -EINVAL;
  return poll_ctl(s, 3, events, cookie);
}

int net_poll_del(int s) {
  if (!live(s)) return -EBADF;
  return poll_ctl(s, 2, 0, 0);
}

int net_poll_wait(struct net_event *ev, int max, int timeout_ms) {
  return wait_events(ev, max, timeout_ms, nullptr);
}

int net_poll_wait_ahead(struct net_event *ev, int max, int timeout_ms, char *ahead, unsigned per, int64_t *result) {
  if (!ahead || !result) return -EFAULT;
  if (per == 0 || per > kMaxAhead) return -EINVAL;
  int sock[kMaxEvents];
  const int n = wait_events(ev, max, timeout_ms, sock);
  for (int i = 0; i < n; ++i) {
    const int s = sock[i];
    result[i] = -EAGAIN;
    if (!(ev[i].events & NET_IN) || !live(s) || g_listening.test(static_cast<size_t>(s))) continue;
    result[i] = be().recv(s, ahead + static_cast<size_t>(i) * per, per, MSG_DONTWAIT);
  }
  return n;
}

}  // extern "C"
