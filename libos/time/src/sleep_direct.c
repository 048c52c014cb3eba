/* time -> sched with a plain call, for time's unit tests (images use sleep.c). */
#include <stdint.h>

#include <flex/sched/sched.h>

int time_sleep_through_sched(int64_t ns) {
  return sched_sleep_ns(ns);
}
