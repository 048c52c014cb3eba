// net: the checked entry points (see net.h). Every argument is validated here, before the backend sees
// it; the table of live sockets is net's own, so a compartment can name only sockets net gave out. Host
// sockets are always non-blocking: a blocking call waits for readiness through sched (net_wait.cc), so
// it blocks the calling sched thread, not the image.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <map>
#include <mutex>
#include <string>

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
socket_bits<kMaxSockets> g_user_reg;   // ... that their user registered in the readiness set
socket_bits<kMaxSockets> g_kept_bit;   // ... that keep bytes of a round's sends (kept_map())
int g_poll = -1;                  // one readiness set for the whole image
// What each socket's user registered it in the set for, and its cookie: the set itself carries the
// socket's number, so that a wait knows which socket each event is (to read it ahead, to send its kept
// bytes), and a forked child can build a set of its own with the same registrations.
std::uint32_t g_reg_events[kMaxSockets];
std::uint64_t g_reg_cookie[kMaxSockets];

// Kept bytes (net_round): what a socket did not take at once of a round's sends, sent by net's waits as
// the socket drains. While a socket keeps bytes its registration in the set is net's too: it carries
// NET_OUT (and exists even where its user registered nothing), and the wait hides from the user what
// it did not ask for. g_kept_mu guards kept_map() and every change of a registration in the set.
struct kept_bytes {
  std::string bytes;
  int shut = -1;         // a shutdown of the writing side its user asked for meanwhile: made after them
  bool closing = false;  // its user closed it: it is closed after them
};
std::mutex g_kept_mu;
// Made at first use and never destroyed: in an image, net's statics are out of reach of the other
// processes, whose exit would run a destructor on them.
std::map<int, kept_bytes> &kept_map() {
  static auto *const m = new std::map<int, kept_bytes>;
  return *m;
}
std::atomic<int> g_n_kept{0};  // kept_map().size(), for a look without the lock

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
// Bytes kept are the parent's to send (the child's copy of them is dropped). The kept bytes' lock is held
// across the fork, so that the child's copy is whole.
void before_fork() {
  g_kept_mu.lock();
}
void after_fork_in_parent() {
  g_kept_mu.unlock();
}
void after_fork_in_child() {
  g_kept_mu.unlock();
  for (auto &[s, k] : kept_map()) {
    g_kept_bit.reset(static_cast<size_t>(s));
    if (k.closing) be().close(s);
  }
  kept_map().clear();
  g_n_kept.store(0);
  if (g_poll < 0) return;
  be().close(g_poll);
  g_poll = be().poll_create();
  if (g_poll < 0) return;
  for (int s = 0; s < kMaxSockets; ++s) {
    if (g_user_reg.test(static_cast<size_t>(s)) && live(s)) {
      be().poll_ctl(g_poll, 1, s, g_reg_events[s], static_cast<uint64_t>(s));
    }
  }
}

int poll_set() {
  if (g_poll < 0) {
    g_poll = be().poll_create();
    if (g_poll >= 0 && &flex_image != nullptr && flex_image_forks(&flex_image)) {
      pthread_atfork(&before_fork, &after_fork_in_parent, &after_fork_in_child);
    }
  }
  return g_poll;
}

// A user's registration in the set (op: 1 add, 2 delete, 3 change), with the socket's number as the set's
// data; what it is for is kept once the set took it. A socket keeping bytes is in the set already, with
// NET_OUT: the user's events join that registration, and the user's add, change or delete is checked here.
int poll_ctl(int s, int op, unsigned events, uint64_t cookie) {
  int ep = poll_set();
  if (ep < 0) return ep;
  std::lock_guard lock(g_kept_mu);
  const auto i = static_cast<size_t>(s);
  if (g_kept_bit.test(i)) {
    if (op == 1 && g_user_reg.test(i)) return -EEXIST;
    if (op != 1 && !g_user_reg.test(i)) return -ENOENT;
    if (op != 2) g_reg_cookie[s] = cookie;
    g_reg_events[s] = op == 2 ? 0 : events;
    g_user_reg.set(i, op != 2);
    return be().poll_ctl(ep, 3, s, g_reg_events[s] | NET_OUT, static_cast<uint64_t>(s));
  }
  if (op != 2) g_reg_cookie[s] = cookie;  // before the set can report it
  const int rc = be().poll_ctl(ep, op, s, events, static_cast<uint64_t>(s));
  if (rc == 0) {
    g_reg_events[s] = op == 2 ? 0 : events;
    g_user_reg.set(i, op != 2);
  }
  return rc;
}

// Sends what `s` keeps, as far as it takes it: true once nothing is left (sent, or dropped because the
// connection is gone). Called with g_kept_mu held.
bool drain_locked(int s, kept_bytes &k) {
  while (!k.bytes.empty()) {
    const long n = be().send(s, k.bytes.data(), std::min<size_t>(k.bytes.size(), NET_MAX_IO), MSG_DONTWAIT);
    if (n == -EAGAIN || n == -EWOULDBLOCK) return false;
    if (n <= 0) {
      k.bytes.clear();
      break;
    }
    k.bytes.erase(0, static_cast<size_t>(n));
  }
  return true;
}

// `s` keeps nothing more: its registration is its user's alone again, and a close or shutdown its user
// asked for meanwhile is made. Called with g_kept_mu held.
void settle_locked(std::map<int, kept_bytes>::iterator it) {
  const int s = it->first;
  const kept_bytes k = std::move(it->second);
  kept_map().erase(it);
  g_n_kept.fetch_sub(1, std::memory_order_relaxed);
  g_kept_bit.reset(static_cast<size_t>(s));
  if (k.closing) {
    be().close(s);  // also leaves the set
    return;
  }
  if (g_user_reg.test(static_cast<size_t>(s))) {
    be().poll_ctl(g_poll, 3, s, g_reg_events[s], static_cast<uint64_t>(s));
  } else {
    be().poll_ctl(g_poll, 2, s, 0, 0);
  }
  if (k.shut >= 0) be().shutdown(s, k.shut);
}

// Sends what `s` keeps: true when it keeps nothing (any more).
bool drain(int s) {
  if (!g_kept_bit.test(static_cast<size_t>(s))) return true;
  std::lock_guard lock(g_kept_mu);
  auto it = kept_map().find(s);
  if (it == kept_map().end()) return true;
  if (!drain_locked(s, it->second)) return false;
  settle_locked(it);
  return true;
}

// Every socket's kept bytes, as far as the sockets take them.
void drain_all() {
  if (g_n_kept.load(std::memory_order_relaxed) == 0) return;
  std::lock_guard lock(g_kept_mu);
  for (auto it = kept_map().begin(); it != kept_map().end();) {
    auto next = std::next(it);
    if (drain_locked(it->first, it->second)) settle_locked(it);
    it = next;
  }
}

// Keeps n bytes for `s`, after what it keeps already; -ENOBUFS beyond NET_MAX_KEPT (nothing kept).
int keep(int s, const char *p, size_t n) {
  int ep = poll_set();
  if (ep < 0) return ep;
  std::lock_guard lock(g_kept_mu);
  auto [it, fresh] = kept_map().try_emplace(s);
  if (it->second.bytes.size() + n > NET_MAX_KEPT) {
    if (fresh) kept_map().erase(it);
    return -ENOBUFS;
  }
  it->second.bytes.append(p, n);
  if (fresh) {
    g_n_kept.fetch_add(1, std::memory_order_relaxed);
    g_kept_bit.set(static_cast<size_t>(s));
    if (g_user_reg.test(static_cast<size_t>(s))) {
      be().poll_ctl(ep, 3, s, g_reg_events[s] | NET_OUT, static_cast<uint64_t>(s));
    } else {
      be().poll_ctl(ep, 1, s, NET_OUT, static_cast<uint64_t>(s));
    }
  }
  return 0;
}

// A round's send: what `s` takes at once, the rest kept (see net_round). All of it is kept behind bytes
// it keeps already.
long send_keeping(int s, const char *p, size_t len) {
  long n = drain(s) ? be().send(s, p, len, MSG_DONTWAIT) : -EAGAIN;
  if (n == -EWOULDBLOCK) n = -EAGAIN;
  if (n == -EAGAIN) n = 0;
  if (n < 0 || static_cast<size_t>(n) == len) return n;
  if (int r = keep(s, p + n, len - static_cast<size_t>(n)); r < 0) return n ? n : r;
  return n;
}

// The set's events, each with its user's cookie in place of the socket's number (kept in `sock`). An
// event for a socket keeping bytes sends them first; what its user did not register for is left out (an
// event of net's own registration, NET_OUT while bytes are still kept).
int poll_events(int ep, struct net_event *ev, int max, int timeout_ms, int *sock) {
  const int n = be().poll_wait(ep, ev, max, timeout_ms);
  int k = 0;
  for (int i = 0; i < n; ++i) {
    const auto s = static_cast<int>(ev[i].cookie);
    if (s < 0 || s >= kMaxSockets) continue;
    const auto si = static_cast<size_t>(s);
    std::uint32_t events = ev[i].events;
    if (g_kept_bit.test(si)) {
      if (!drain(s)) events &= ~static_cast<std::uint32_t>(NET_OUT);
      events &= g_reg_events[s] | NET_ERR | NET_HUP;
    }
    // Closed or unregistered meanwhile (by another thread, or a socket whose kept bytes left the set).
    if (!events || !g_user_reg.test(si) || !live(s)) continue;
    sock[k] = s;
    ev[k].events = events;
    ev[k].cookie = g_reg_cookie[s];
    ++k;
  }
  return n < 0 ? n : k;
}

constexpr unsigned kEventMask = NET_IN | NET_OUT | NET_ERR | NET_HUP;

// One batch of net_recv_many or net_send_many. The caller's array is shared memory that another
// compartment (or thread) may change at any time, so each operation is read from it once, into net's
// own stack, checked there, and only its result is written back: what the backend acts on is what was
// checked.
// One operation of a batch or a round, as read once from the caller's array: 0, or why it fails alone.
int check_op(const net_io &o, int allowed_flags) {
  if (!live(o.s)) return -EBADF;
  if (!o.buf) return -EFAULT;
  if (o.len > static_cast<uint64_t>(NET_MAX_IO) || (o.flags & ~allowed_flags)) return -EINVAL;
  return 0;
}

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
    if (int r = check_op(o, allowed); r < 0) {
      user[i].result = r;
    } else {
      o.flags |= MSG_DONTWAIT;
      op[k] = o;
      index[k++] = i;
    }
  }
  if (send && g_n_kept.load(std::memory_order_relaxed) != 0) {  // a socket keeping bytes sends nothing else
    int m = 0;
    for (int j = 0; j < k; ++j) {
      if (drain(op[j].s)) {
        op[m] = op[j];
        index[m++] = index[j];
      } else {
        user[index[j]].result = -EAGAIN;
      }
    }
    k = m;
  }
  if (k > 0) (send ? be().send_many : be().recv_many)(op, k);
  for (int j = 0; j < k; ++j) user[index[j]].result = op[j].result;
  return n;
}

// net_poll_wait; `sock` gets each event's socket. Bytes kept are sent first.
int wait_events(struct net_event *ev, int max, int timeout_ms, int *sock) {
  if (!ev) return -EFAULT;
  if (max <= 0 || max > kMaxEvents || timeout_ms < -1) return -EINVAL;
  int ep = poll_set();
  if (ep < 0) return ep;
  drain_all();
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
  if (!blocking(s, flags)) return drain(s) ? be().send(s, buf, len, flags) : -EAGAIN;
  // Bytes kept go first.
  if (long w = until_ready(s, NET_OUT, [&] { return drain(s) ? 0L : -EAGAIN; }); w < 0) return w;
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
  const auto i = static_cast<size_t>(s);
  g_live.reset(i);
  g_nonblock.reset(i);
  g_listening.reset(i);
  if (!drain(s)) {  // closed once its kept bytes are sent; gone for its user now
    std::lock_guard lock(g_kept_mu);
    if (auto it = kept_map().find(s); it != kept_map().end()) {
      it->second.closing = true;
      if (g_user_reg.test(i)) be().poll_ctl(g_poll, 3, s, NET_OUT, static_cast<uint64_t>(s));
      g_user_reg.reset(i);
      g_reg_events[s] = 0;
      return 0;
    }
  }
  std::lock_guard lock(g_kept_mu);
  g_user_reg.reset(i);
  g_reg_events[s] = 0;
  return be().close(s);  // also leaves the readiness set
}

int net_shutdown(int s, int how) {
  if (!live(s)) return -EBADF;
  if (how < 0 || how > 2) return -EINVAL;
  if (how != SHUT_RD && !drain(s)) {  // the writing side ends after the kept bytes
    std::lock_guard lock(g_kept_mu);
    if (auto it = kept_map().find(s); it != kept_map().end()) {
      it->second.shut = SHUT_WR;
      return how == SHUT_RDWR ? be().shutdown(s, SHUT_RD) : 0;
    }
  }
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
  int sock[kMaxEvents];
  return wait_events(ev, max, timeout_ms, sock);
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

int net_round(struct net_round *user) {
  if (!user) return -EFAULT;
  struct net_round r;
  std::memcpy(&r, user, sizeof r);  // read once: the caller may change it
  if (!r.sent || (r.n_send > 0 && !r.send)) return -EFAULT;
  if (r.n_send < 0 || r.n_send > NET_MAX_BATCH || r.max < 0 || r.max > kMaxEvents || r.timeout_ms < -1) return -EINVAL;
  if (r.max > 0 && (!r.ev || (r.ahead && !r.result))) return -EFAULT;
  if (r.max > 0 && r.ahead && (r.per == 0 || r.per > kMaxAhead)) return -EINVAL;
  for (int i = 0; i < r.n_send; ++i) {
    net_io o;
    std::memcpy(&o, &r.send[i], sizeof o);
    const int bad = check_op(o, 0);
    r.send[i].result = bad < 0 ? bad : send_keeping(o.s, static_cast<const char *>(o.buf), o.len);
  }
  __atomic_store_n(r.sent, 1u, __ATOMIC_RELEASE);
  if (r.max == 0) return 0;
  if (r.ahead) return net_poll_wait_ahead(r.ev, r.max, r.timeout_ms, r.ahead, r.per, r.result);
  return net_poll_wait(r.ev, r.max, r.timeout_ms);
}

int net_drain(int timeout_ms) {
  if (timeout_ms < -1) return -EINVAL;
  const int64_t deadline = timeout_ms < 0 ? -1 : plat_clock_ns(PLAT_CLOCK_MONOTONIC) + int64_t{timeout_ms} * 1000000;
  for (;;) {
    drain_all();
    int s = -1;
    {
      std::lock_guard lock(g_kept_mu);
      if (kept_map().empty()) return 0;
      s = kept_map().begin()->first;
    }
    int64_t left = -1;
    if (deadline >= 0) {
      left = deadline - plat_clock_ns(PLAT_CLOCK_MONOTONIC);
      if (left <= 0) return -ETIMEDOUT;
    }
    constexpr int64_t kLook = 10000000;  // 10 ms: the other sockets are looked at again meanwhile
    if (int w = wait_ready(s, NET_OUT, left < 0 ? kLook : std::min(left, kLook)); w < 0) return w;
  }
}

}  // extern "C"
