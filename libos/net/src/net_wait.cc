// net -> sched through a gate: a blocking socket call blocks the calling sched thread (see net_impl.h).
// sched waits on the host fd itself, so it must share net's fd table: where one of them is a process
// compartment of its own, net waits in plat instead, blocking the host thread (and so the image).
#include <cerrno>
#include <cstring>

#include <flex/runtime/layout.h>
#include <flex/runtime/self.h>
#include <flex/net/net_impl.h>
#include <flex/plat/plat.h>
#include <flex/sched/sched.h>
#include <flexos/isolation.h>

namespace flex::net {
namespace {

// Whether sched's compartment shares this one's process (decided once, from the image's layout).
bool sched_shares_our_fds() {
  static int answer = -1;
  if (answer >= 0) return answer;
  int sched_comp = -1;
  for (unsigned i = 0; i < flex_image.n_compartments; ++i) {
    for (const char *const *l = flex_image.compartments[i].libraries; l && *l; ++l) {
      if (std::strcmp(*l, "sched") == 0) sched_comp = static_cast<int>(i);
    }
  }
  const bool same = sched_comp == static_cast<int>(flex_self.index);
  const bool separate = sched_comp < 0 ||
                        flex_image.compartments[sched_comp].isolation == FLEX_ISO_PROCESS ||
                        flex_image.compartments[flex_self.index].isolation == FLEX_ISO_PROCESS;
  answer = same || !separate;
  return answer;
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
