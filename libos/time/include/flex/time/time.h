/* time: clocks and sleeping for the other libraries. Clocks read plat directly (no gate: they are cheap
 * and private); a sleep blocks the calling sched thread, not the image, by asking sched.
 *
 *   int64_t t0 = time_monotonic_ns();
 *   flexos_gate_r(libtime, rc, time_sleep_ns, 1000000);   // 1 ms, other threads run meanwhile
 *   int64_t wall = time_realtime_ns();                    // ns since the Unix epoch
 *
 * Errors are negative errnos: -EINVAL for a negative duration or an unknown clock. */
#ifndef FLEX_TIME_TIME_H
#define FLEX_TIME_TIME_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum { TIME_MONOTONIC = 0, TIME_REALTIME = 1 };

int64_t time_monotonic_ns(void);
int64_t time_realtime_ns(void);
int64_t time_now_ns(int clock); /* TIME_MONOTONIC or TIME_REALTIME */
int time_sleep_ns(int64_t ns);
int time_sleep_until_ns(int64_t monotonic_deadline_ns); /* returns at once when it has passed */

#ifdef __cplusplus
}
#endif

#endif /* FLEX_TIME_TIME_H */
