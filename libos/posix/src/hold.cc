// posix: writes held for the next round. An event loop behind a process boundary otherwise pays a crossing
// per reply on top of its wait's: the wait's crossing already reads ahead (wait.cc), and here it also
// carries the replies written since the last wait (net_round: the sends, then the wait). A write is held
// only where nothing can observe the difference but time:
//   - the socket is non-blocking, the write has no flags, and it fits the arena;
//   - the program's calls are announced (posix_before_call): any call that may block, or that is not socket
//     I/O, sends what is held first, so the bytes leave before the program can wait for an answer to
//     them, end, fork, or sleep. A program that computes after a write without making a call delays it;
//   - order: a write that is not held sends what is held first, and writes to a socket for which net may
//     keep bytes (it did not take a round's send at once) are not held until a send of its own goes
//     through, so that net never keeps more than one arena's bytes for a socket;
//   - errors: a held send that fails is the socket's next write's error (the connection is gone: its
//     readiness says so too);
//   - the end: exit_group sends what is held and waits (kDrainAtEndMs at most) for net to send what it
//     keeps, which the kernel would otherwise still deliver after the program's end.
#include <sys/socket.h>
#include <sys/syscall.h>

#include <cerrno>

#include <flex/posix/posix.h>

#include "fd_table.h"
#include "lower.h"

namespace flex::posix {
namespace {

// At the image's end, how long net may take to send what it keeps (a peer that does not read holds the
// end up this long at most; natively the kernel would go on sending after the process ended).
constexpr int kDrainAtEndMs = 2000;
constexpr std::size_t kHoldLargest = 16384;  // a larger write goes at once (one write does not fill the arena)
std::atomic<bool> g_announced{false};        // posix_before_call has been called: every call is announced

// The last round's sends are made: what they said is noted and the arena is free again. Lock held.
void settle_locked(table &t) {
  net_io done[POSIX_HOLD_SENDS];
  const int n = posix_lo_net_round_results(done);
  for (int i = 0; i < n; ++i) {
    if (done[i].result < 0) {
      t.send_error[done[i].s] = static_cast<int>(done[i].result);
    } else if (static_cast<std::uint64_t>(done[i].result) < done[i].len) {
      t.kept.insert(done[i].s);
    }
  }
  t.held.store(0, std::memory_order_relaxed);
  t.round_out = false;
}

// Waits until no round carries held sends any more. Net makes a round's sends before its wait, so this
// waits for sends, never for the wait.
void wait_for_round(table &t, std::unique_lock<std::mutex> &lock) {
  while (t.round_out) {
    if (posix_lo_net_round_sent()) {
      settle_locked(t);
      return;
    }
    lock.unlock();
    for (int i = 0; i < 256; ++i) __builtin_ia32_pause();
    lock.lock();
  }
}

void flush_locked(table &t, std::unique_lock<std::mutex> &lock) {
  wait_for_round(t, lock);
  if (t.held.load(std::memory_order_relaxed) == 0) return;
  t.round_out = true;
  lock.unlock();
  const char *data[1];
  std::int64_t result[1];
  int hold = -1;
  posix_lo_net_round(nullptr, 0, 0, data, result, &hold);
  lock.lock();
  if (t.round_out) settle_locked(t);
}

}  // namespace

bool hold_pays() {
  return read_ahead_pays() && g_announced.load(std::memory_order_relaxed);
}

long write_held(int id, const void *buf, std::size_t len, int flags) {
  table &t = fds();
  std::unique_lock lock(t.mu);
  wait_for_round(t, lock);
  if (auto it = t.send_error.find(id); it != t.send_error.end()) {
    const int error = it->second;
    t.send_error.erase(it);
    return error;
  }
  if (flags == MSG_DONTWAIT && len > 0 && len <= kHoldLargest && !t.kept.contains(id)) {
    // A full arena: what it holds goes, and this write takes its place.
    for (int tries = 0; tries < 2; ++tries) {
      if (posix_lo_net_hold(id, buf, len) == 0) {
        t.held.fetch_add(1, std::memory_order_relaxed);
        return static_cast<long>(len);
      }
      if (tries == 0) flush_locked(t, lock);
    }
  }
  flush_locked(t, lock);
  return kNotHeld;
}

void sent_directly(int id, long n) {
  if (n <= 0) return;
  table &t = fds();
  std::lock_guard lock(t.mu);
  t.kept.erase(id);
}

void flush_held() {
  table &t = fds();
  if (t.held.load(std::memory_order_relaxed) == 0) return;
  std::unique_lock lock(t.mu);
  flush_locked(t, lock);
}

bool round_takes_held() {
  table &t = fds();
  if (t.held.load(std::memory_order_relaxed) == 0) return false;
  std::unique_lock lock(t.mu);
  wait_for_round(t, lock);  // another thread's round: its sends are made (they came first)
  if (t.held.load(std::memory_order_relaxed) == 0) return false;
  t.round_out = true;
  return true;
}

void round_back() {
  table &t = fds();
  std::lock_guard lock(t.mu);
  if (t.round_out) settle_locked(t);
}

}  // namespace flex::posix

using namespace flex::posix;

extern "C" void PX(posix_before_call)(long nr) {
  if (!g_announced.load(std::memory_order_relaxed)) g_announced.store(true, std::memory_order_relaxed);
  if (fds().held.load(std::memory_order_relaxed) == 0 && nr != SYS_exit_group) return;
  switch (nr) {
    case SYS_write:  // socket I/O that may go on holding (a read that would block sends them: read_from)
    case SYS_writev:
    case SYS_sendto:
    case SYS_sendmsg:
    case SYS_read:
    case SYS_readv:
    case SYS_recvfrom:
    case SYS_recvmsg:
    case SYS_epoll_wait:  // its round carries them
    case SYS_epoll_pwait:
    case SYS_epoll_pwait2: return;
    case SYS_exit_group:  // the image ends: what net keeps goes too, as the kernel would still send it
      flush_held();
      if (hold_pays()) posix_lo_net_drain(kDrainAtEndMs);
      return;
    default: flush_held();
  }
}
