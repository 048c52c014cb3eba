// net -> sched with a plain call, for net's unit tests (images use net_wait.cc). Host threads other than
// sched's wait in plat.
#include <cerrno>

#include <flex/net/net_impl.h>
#include <flex/plat/plat.h>
#include <flex/sched/sched.h>

namespace flex::net {

int wait_ready(int fd, unsigned events, int64_t timeout_ns) {
  int rc = sched_wait_fd(fd, events, timeout_ns);
  if (rc != -EPERM) return rc;
  return plat_wait_fd(fd, events, timeout_ns < 0 ? -1 : static_cast<int>((timeout_ns + 999999) / 1000000));
}

}  // namespace flex::net
