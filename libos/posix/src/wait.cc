// posix: readiness waits (poll, select, epoll) on net's one readiness set. Each socket is registered
// there once, with the union of what its epoll instances and the poll/select calls now waiting want,
// and its cookie is the descriptor. Registrations outlive a poll call, so a loop that polls the same
// sockets pays one gate crossing per call; a socket nobody waits for any more is dropped from the set
// the first time it reports an event. Files and the standard streams are always ready, as on Linux.
// Where net is across a process boundary, epoll_wait's crossing also reads the sockets it reports readable
// (net_poll_wait_ahead): the reads that follow take those bytes with no crossing, and a socket holding
// bytes read ahead is readable to every wait. It also carries the writes held since the last wait
// (hold.cc): the round sends them, then waits.
// Edge-triggered epoll (EPOLLET) is served level-triggered: a program that reads until EAGAIN, as
// edge-triggered programs must, sees the same data, with more wake-ups.
#undef _FORTIFY_SOURCE
#include <poll.h>
#include <sys/epoll.h>
#include <sys/select.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "fd_table.h"
#include "lower.h"

namespace flex::posix {

namespace {

constexpr std::uint32_t kReadiness = NET_IN | NET_OUT;
constexpr std::uint32_t kAlways = NET_ERR | NET_HUP;
static_assert(NET_IN == POLLIN && NET_OUT == POLLOUT && NET_ERR == POLLERR && NET_HUP == POLLHUP);
static_assert(int{NET_IN} == int{EPOLLIN} && int{NET_OUT} == int{EPOLLOUT} && int{NET_ERR} == int{EPOLLERR} &&
              int{NET_HUP} == int{EPOLLHUP});

std::uint32_t wanted(const fd_entry &e) {
  return (e.epoll_events | (e.calls_waiting ? e.call_events : 0)) & kReadiness;
}

// An event for a descriptor nobody waits for: leave the set. Called with the lock held.
void drop_if_unwanted(int fd) {
  if (fd < 0 || fd >= kMaxFds) return;
  fd_entry &e = fds().fds[fd];
  if (e.k == kind::net && e.registered && wanted(e) == 0) {
    posix_lo_net_poll_del(e.id);
    e.registered = 0;
  }
}

int64_t now_ms() {
  return posix_lo_time_monotonic_ns() / 1000000;
}

// What is left of a timeout in ms (-1: none) that started at `start`.
int left_ms(int timeout, int64_t start) {
  if (timeout < 0) return -1;
  int64_t left = timeout - (now_ms() - start);
  return left > 0 ? static_cast<int>(left) : 0;
}

int epoll_union(int fd) {
  std::uint32_t want = 0;
  for (const epoll_instance &ep : fds().epolls) {
    if (auto it = ep.interest.find(fd); it != ep.interest.end()) want |= it->second.events;
  }
  return static_cast<int>(want & kReadiness);
}

}  // namespace

int sync_registration(int fd) {
  fd_entry &e = fds().fds[fd];
  if (e.k != kind::net) return 0;
  const std::uint32_t want = wanted(e);
  if (want == 0 || want == e.registered) return 0;  // an unwanted registration leaves lazily
  int r = e.registered ? posix_lo_net_poll_mod(e.id, want, static_cast<uint64_t>(fd))
                       : posix_lo_net_poll_add(e.id, want, static_cast<uint64_t>(fd));
  if (r == -EEXIST) r = posix_lo_net_poll_mod(e.id, want, static_cast<uint64_t>(fd));
  if (r == 0) e.registered = want;
  return r;
}

// poll() itself, for poll and select.
int poll_fds(pollfd *p, nfds_t n, int timeout) {
  if (missing(p) && n) return -EFAULT;
  if (n > static_cast<nfds_t>(kMaxFds)) return -EINVAL;
  table &t = fds();
  int ready = 0;
  std::vector<int> net_fds;
  {
    std::lock_guard lock(t.mu);
    for (nfds_t i = 0; i < n; ++i) {
      p[i].revents = 0;
      if (p[i].fd < 0) continue;
      if (p[i].fd >= kMaxFds || t.fds[p[i].fd].k == kind::free) {
        p[i].revents = POLLNVAL;
      } else if (t.fds[p[i].fd].k == kind::net) {
        fd_entry &e = t.fds[p[i].fd];
        if (std::find(net_fds.begin(), net_fds.end(), p[i].fd) == net_fds.end()) {
          net_fds.push_back(p[i].fd);
          ++e.calls_waiting;
        }
        e.call_events |= static_cast<std::uint32_t>(p[i].events) & kReadiness;
        if (int r = sync_registration(p[i].fd); r < 0) p[i].revents = POLLERR;
        if ((p[i].events & POLLIN) && has_taken(e.id)) p[i].revents |= POLLIN;  // read ahead: readable
      } else if (t.fds[p[i].fd].k != kind::epoll) {
        p[i].revents = static_cast<short>(p[i].events & (POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM));
      }
      if (p[i].revents) ++ready;
    }
  }
  int rc = 0;
  if (!net_fds.empty()) {
    const int64_t start = now_ms();
    net_event ev[256];
    for (;;) {
      int got = posix_lo_net_poll_wait(ev, 256, ready ? 0 : left_ms(timeout, start));
      if (got < 0) {
        rc = got;
        break;
      }
      std::lock_guard lock(t.mu);
      for (int k = 0; k < got; ++k) {
        const int fd = static_cast<int>(ev[k].cookie);
        bool mine = false;
        for (nfds_t i = 0; i < n; ++i) {
          if (p[i].fd != fd) continue;
          mine = true;
          const short seen = static_cast<short>(ev[k].events & (static_cast<std::uint32_t>(p[i].events) | kAlways));
          if (seen && !p[i].revents) ++ready;
          p[i].revents |= seen;
        }
        if (!mine) drop_if_unwanted(fd);
      }
      if (ready || got == 0 || left_ms(timeout, start) == 0) break;
    }
    std::lock_guard lock(t.mu);
    for (int fd : net_fds) {
      fd_entry &e = t.fds[fd];
      if (e.k == kind::net && --e.calls_waiting <= 0) {
        e.calls_waiting = 0;
        e.call_events = 0;
      }
    }
  }
  return rc < 0 ? rc : ready;
}

}  // namespace flex::posix

using namespace flex::posix;

extern "C" {

int PX(poll)(struct pollfd *p, nfds_t n, int timeout) {
  return static_cast<int>(result(poll_fds(p, n, timeout)));
}

int PX(select)(int nfds, fd_set *rd, fd_set *wr, fd_set *ex, struct timeval *tv) {
  if (nfds < 0 || nfds > FD_SETSIZE) return static_cast<int>(result(-EINVAL));
  int timeout = -1;
  if (tv) {
    if (tv->tv_sec < 0 || tv->tv_usec < 0) return static_cast<int>(result(-EINVAL));
    timeout = static_cast<int>(std::min<long>(tv->tv_sec * 1000 + (tv->tv_usec + 999) / 1000, 1 << 30));
  }
  std::vector<pollfd> p;
  for (int fd = 0; fd < nfds; ++fd) {
    short events = 0;
    if (rd && FD_ISSET(fd, rd)) events |= POLLIN;
    if (wr && FD_ISSET(fd, wr)) events |= POLLOUT;
    if (ex && FD_ISSET(fd, ex)) events |= POLLPRI;
    if (events) p.push_back({.fd = fd, .events = events, .revents = 0});
  }
  int r = poll_fds(p.data(), p.size(), timeout);
  if (r < 0) return static_cast<int>(result(r));
  for (const pollfd &q : p) {
    if (q.revents & POLLNVAL) return static_cast<int>(result(-EBADF));
  }
  if (rd) FD_ZERO(rd);
  if (wr) FD_ZERO(wr);
  if (ex) FD_ZERO(ex);
  int count = 0;
  for (const pollfd &q : p) {
    // A socket in error or hung up is readable (the read returns the error or end of stream).
    if (rd && (q.events & POLLIN) && (q.revents & (POLLIN | POLLERR | POLLHUP))) {
      FD_SET(q.fd, rd);
      ++count;
    }
    if (wr && (q.events & POLLOUT) && (q.revents & (POLLOUT | POLLERR))) {
      FD_SET(q.fd, wr);
      ++count;
    }
  }
  return count;
}

int PX(epoll_create1)(int flags) {
  if (flags & ~EPOLL_CLOEXEC) return static_cast<int>(result(-EINVAL));
  table &t = fds();
  int index = -1;
  {
    std::lock_guard lock(t.mu);
    for (int i = 0; i < kMaxEpolls; ++i) {
      if (!t.epolls[i].live) {
        t.epolls[i] = {.live = true, .interest = {}};
        index = i;
        break;
      }
    }
  }
  if (index < 0) return static_cast<int>(result(-EMFILE));
  int fd = claim(kind::epoll, index, false, flags & EPOLL_CLOEXEC);
  if (fd < 0) {
    std::lock_guard lock(t.mu);
    t.epolls[index] = {};
  }
  return static_cast<int>(result(fd));
}

int PX(epoll_create)(int size) {
  return size <= 0 ? static_cast<int>(result(-EINVAL)) : PX(epoll_create1)(0);
}

int PX(epoll_ctl)(int epfd, int op, int fd, struct epoll_event *event) {
  table &t = fds();
  std::lock_guard lock(t.mu);
  if (epfd < 0 || epfd >= kMaxFds || fd < 0 || fd >= kMaxFds || t.fds[epfd].k == kind::free ||
      t.fds[fd].k == kind::free)
    return static_cast<int>(result(-EBADF));
  if (t.fds[epfd].k != kind::epoll || epfd == fd) return static_cast<int>(result(-EINVAL));
  // Files are always ready (Linux refuses them too); only sockets have readiness to wait for here.
  if (t.fds[fd].k != kind::net) return static_cast<int>(result(-EPERM));
  if (op != EPOLL_CTL_DEL && !event) return static_cast<int>(result(-EFAULT));
  epoll_instance &ep = t.epolls[t.fds[epfd].id];
  auto it = ep.interest.find(fd);
  switch (op) {
    case EPOLL_CTL_ADD:
      if (it != ep.interest.end()) return static_cast<int>(result(-EEXIST));
      ep.interest[fd] = {event->events, event->data.u64};
      break;
    case EPOLL_CTL_MOD:
      if (it == ep.interest.end()) return static_cast<int>(result(-ENOENT));
      it->second = {event->events, event->data.u64};
      break;
    case EPOLL_CTL_DEL:
      if (it == ep.interest.end()) return static_cast<int>(result(-ENOENT));
      ep.interest.erase(it);
      break;
    default: return static_cast<int>(result(-EINVAL));
  }
  fd_entry &e = t.fds[fd];
  e.epoll_events = static_cast<std::uint32_t>(epoll_union(fd));
  if (wanted(e) == 0) {
    drop_if_unwanted(fd);
    return 0;
  }
  return static_cast<int>(result(sync_registration(fd)));
}

int PX(epoll_wait)(int epfd, struct epoll_event *out, int max, int timeout) {
  fd_entry self = lookup(epfd);
  if (self.k == kind::free) return static_cast<int>(result(-EBADF));
  if (self.k != kind::epoll || max <= 0) return static_cast<int>(result(-EINVAL));
  if (missing(out)) return static_cast<int>(result(-EFAULT));
  table &t = fds();
  const bool ahead = read_ahead_pays();
  // Sockets read ahead are readable without asking net: their events first, with no crossing.
  if (ahead) {
    std::lock_guard lock(t.mu);
    int n = 0;
    if (!t.taken.empty()) {
      for (auto &[fd, in] : t.epolls[self.id].interest) {
        if (n == max) break;
        if (!(in.events & EPOLLIN) || t.fds[fd].k != kind::net || !has_taken(t.fds[fd].id)) continue;
        out[n].events = EPOLLIN;
        out[n].data.u64 = in.data;
        ++n;
        if (in.events & EPOLLONESHOT) {
          in.events = 0;
          t.fds[fd].epoll_events = static_cast<std::uint32_t>(epoll_union(fd));
        }
      }
    }
    if (n > 0) return n;
  }
  const int64_t start = now_ms();
  net_event ev[256];
  const char *ahead_bytes[POSIX_AHEAD_EVENTS];
  int64_t ahead_result[POSIX_AHEAD_EVENTS];
  for (;;) {
    int hold = -1;  // a read-ahead block held until its bytes are kept
    int got = -ENOBUFS;
    if (ahead && round_takes_held()) {  // the writes held since the last wait go in the same crossing
      got = posix_lo_net_round(ev, std::min<int>(max, POSIX_AHEAD_EVENTS), left_ms(timeout, start), ahead_bytes,
                               ahead_result, &hold);
      round_back();
    } else if (ahead) {
      got = posix_lo_net_poll_wait_ahead(ev, std::min<int>(max, POSIX_AHEAD_EVENTS), left_ms(timeout, start),
                                         ahead_bytes, ahead_result, &hold);
    }
    const bool took = hold >= 0;
    if (got == -ENOBUFS && !took) got = posix_lo_net_poll_wait(ev, std::min(max, 256), left_ms(timeout, start));
    if (got < 0) {
      if (took) posix_lo_net_ahead_done(hold);
      return static_cast<int>(result(got));
    }
    int n = 0;
    {
      std::lock_guard lock(t.mu);
      if (took) {
        keep_taken(ev, got, ahead_bytes, ahead_result);
        posix_lo_net_ahead_done(hold);
      }
      epoll_instance &ep = t.epolls[self.id];
      for (int k = 0; k < got; ++k) {
        const int fd = static_cast<int>(ev[k].cookie);
        auto it = ep.interest.find(fd);
        const std::uint32_t seen =
            it == ep.interest.end() ? 0 : ev[k].events & ((it->second.events & kReadiness) | kAlways);
        if (!seen || (it->second.events & kReadiness) == 0) {
          drop_if_unwanted(fd);
          continue;
        }
        out[n].events = seen;
        out[n].data.u64 = it->second.data;
        ++n;
        if (it->second.events & EPOLLONESHOT) {  // disarmed until EPOLL_CTL_MOD
          it->second.events = 0;
          t.fds[fd].epoll_events = static_cast<std::uint32_t>(epoll_union(fd));
        }
      }
    }
    if (n > 0 || got == 0 || left_ms(timeout, start) == 0) return n;
  }
}

int PX(epoll_pwait)(int epfd, struct epoll_event *out, int max, int timeout, const sigset_t *) {
  return PX(epoll_wait)(epfd, out, max, timeout);  // the signal mask is the runtime's (signals belong to it)
}

}  // extern "C"
