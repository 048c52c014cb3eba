// net -> sched through a gate: a blocking socket call blocks the calling sched thread (see net_impl.h).
// sched waits on the host fd itself, so it must share net's fd table: where one of them is a process
// compartment of its own, net waits in plat instead, blocking the host thread (and so the image).
#include <cerrno>

#include <flex/net/net_impl.h>
#include <flex/plat/plat.h>
#include <flex/sched/sched.h>
#include <flexos/isolation.h>

extern "C" const int flex_colocated_sched __attribute__((weak));

namespace flex::net {
namespace {

// Whether sched's code runs in this compartment's process (and so waits on our fds): a constant flexbuild
// links into each compartment (flex/runtime/self.h); absent when the image has no sched.
bool sched_shares_our_fds() {
  return &flex_colocated_sched != nullptr && flex_colocated_sched != 0;
}

int wait_in_plat(int fd, unsigned events, int64_t timeout_ns) {
  int ms = timeout_ns < 0 ? -1 : static_cast<int>((timeout_ns + 999999) / 1000000);
  return plat_wait_fd(fd, events, ms);
}

}  // namespace

int wait_ready(int fd, unsigned events, int64_t timeout_ns) {
  if (!sched_shares_our_fds()) return wait_in_plat(fd, events, timeout_ns);
  int rc;
  flexos_gate_r(libsched, rc, sched_wait_fd, fd, events, timeout_ns);
  return rc == -EPERM ? wait_in_plat(fd, events, timeout_ns) : rc;
}

}  // namespace flex::net
