/* time -> sched through a gate: a sleep blocks the calling sched thread. */
#include <stdint.h>

#include <flex/sched/sched.h>
#include <flexos/isolation.h>

int time_sleep_through_sched(int64_t ns) {
  int rc;
  flexos_gate_r(libsched, rc, sched_sleep_ns, ns);
  return rc;
}
