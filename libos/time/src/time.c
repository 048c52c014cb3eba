/* time: the clocks (plat) and the checks of the sleeps (see time.h); the sleep itself is sched's. */
#include <flex/time/time.h>

#include <errno.h>

#include <flex/plat/plat.h>

int time_sleep_through_sched(int64_t ns); /* sleep.c (images: a gate) or sleep_direct.c (unit tests) */

int64_t time_monotonic_ns(void) {
  return plat_clock_ns(PLAT_CLOCK_MONOTONIC);
}

int64_t time_realtime_ns(void) {
  return plat_clock_ns(PLAT_CLOCK_REALTIME);
}

int64_t time_now_ns(int clock) {
  if (clock != TIME_MONOTONIC && clock != TIME_REALTIME) return -EINVAL;
  return plat_clock_ns(clock == TIME_REALTIME ? PLAT_CLOCK_REALTIME : PLAT_CLOCK_MONOTONIC);
}

int time_sleep_ns(int64_t ns) {
  if (ns < 0) return -EINVAL;
  return time_sleep_through_sched(ns);
}

int time_sleep_until_ns(int64_t deadline) {
  if (deadline < 0) return -EINVAL;
  int64_t left = deadline - time_monotonic_ns();
  return left > 0 ? time_sleep_through_sched(left) : 0;
}
