// time with plain calls: clocks move forward (and realtime is wall time), sleeps last at least as long
// as asked, other sched threads run during a sleep, and bad arguments are negative errnos.
#include <flex/time/time.h>

#include <gtest/gtest.h>
#include <flex/sched/sched.h>

#include <cerrno>
#include <ctime>

namespace {

TEST(time, clocks_move_forward_and_realtime_is_wall_time) {
  int64_t a = time_monotonic_ns(), b = time_monotonic_ns();
  EXPECT_GT(a, 0);
  EXPECT_GE(b, a);
  int64_t wall = time_realtime_ns();
  EXPECT_NEAR(static_cast<double>(wall / 1000000000), static_cast<double>(std::time(nullptr)), 2.0);
  EXPECT_GE(time_now_ns(TIME_MONOTONIC), b);
  EXPECT_EQ(time_now_ns(7), -EINVAL);
}

long counter(void *arg) {
  auto *n = static_cast<int *>(arg);
  while (*n >= 0) {
    ++*n;
    sched_yield_now();
  }
  return 0;
}

TEST(time, a_sleep_blocks_only_the_calling_thread) {
  static int n = 0;
  int t = sched_create(counter, &n);
  int64_t t0 = time_monotonic_ns();
  EXPECT_EQ(time_sleep_ns(20000000), 0);
  EXPECT_GE(time_monotonic_ns() - t0, 20000000);
  EXPECT_GT(n, 0);  // the other thread ran meanwhile
  n = -1;
  EXPECT_EQ(sched_join(t, nullptr), 0);
  EXPECT_EQ(time_sleep_until_ns(time_monotonic_ns() - 1), 0);
  int64_t t1 = time_monotonic_ns();
  EXPECT_EQ(time_sleep_until_ns(t1 + 5000000), 0);
  EXPECT_GE(time_monotonic_ns(), t1 + 5000000);
}

TEST(time, bad_arguments_are_negative_errnos) {
  EXPECT_EQ(time_sleep_ns(-1), -EINVAL);
  EXPECT_EQ(time_sleep_until_ns(-5), -EINVAL);
}

}  // namespace
