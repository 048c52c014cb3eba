// sched with plain calls: threads interleave where they yield or block, join returns results, sleeps
// and timeouts end, wait queues, mutexes and condition variables hand off in order, fd waits end when the
// fd is ready (and the idle wait in plat is where that happens), and bad ids are negative errnos.
#include <flex/sched/sched.h>

#include <gtest/gtest.h>
#include <flex/plat/plat.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <vector>

namespace {

std::string g_trace;

long tracer(void *arg) {
  const char *tag = static_cast<const char *>(arg);
  for (int i = 0; i < 3; ++i) {
    g_trace += tag;
    sched_yield_now();
  }
  return static_cast<long>(tag[0]);
}

TEST(sched, threads_interleave_at_yields_and_join_returns_their_results) {
  g_trace.clear();
  static char a[] = "a", b[] = "b";
  int ta = sched_create(tracer, a);
  int tb = sched_create(tracer, b);
  ASSERT_GT(ta, 0);
  ASSERT_GT(tb, 0);
  EXPECT_NE(ta, tb);
  EXPECT_EQ(sched_threads(), 3);
  long ra = 0, rb = 0;
  EXPECT_EQ(sched_join(ta, &ra), 0);
  EXPECT_EQ(sched_join(tb, &rb), 0);
  EXPECT_EQ(ra, 'a');
  EXPECT_EQ(rb, 'b');
  EXPECT_EQ(g_trace, "ababab");
  EXPECT_EQ(sched_threads(), 1);
  EXPECT_EQ(sched_join(ta, nullptr), -ESRCH);  // reaped
}

// A sleeper records when its sleep ended: its place among the others, and whether it slept its full time.
struct sleeper_arg {
  int64_t ns;
  std::vector<int64_t> *woken;  // the durations of the sleepers, in the order they woke
  bool slept_enough = false;
};

long sleeper(void *arg) {
  auto *s = static_cast<sleeper_arg *>(arg);
  int64_t t0 = plat_clock_ns(PLAT_CLOCK_MONOTONIC);
  EXPECT_EQ(sched_sleep_ns(s->ns), 0);
  s->slept_enough = plat_clock_ns(PLAT_CLOCK_MONOTONIC) - t0 >= s->ns;
  s->woken->push_back(s->ns);
  return 0;
}

// Created in an order that is neither their deadlines' nor its reverse, so waking them in creation
// order, in id order or last-in-first-out all show.
TEST(sched, sleeps_end_in_deadline_order_and_never_early) {
  static std::vector<int64_t> woken;
  static sleeper_arg args[] = {
      {30000000, &woken}, {10000000, &woken}, {40000000, &woken}, {20000000, &woken}};
  woken.clear();
  int tids[std::size(args)];
  for (size_t i = 0; i < std::size(args); ++i) {
    tids[i] = sched_create(sleeper, &args[i]);
    ASSERT_GT(tids[i], 0);
  }
  for (int tid : tids) ASSERT_EQ(sched_join(tid, nullptr), 0);
  EXPECT_EQ(woken, (std::vector<int64_t>{10000000, 20000000, 30000000, 40000000}));
  for (const sleeper_arg &a : args) EXPECT_TRUE(a.slept_enough) << "the " << a.ns << " ns sleep ended early";
}

// Every deadline passes while the main thread runs without yielding, so the sleepers all become due in
// the same look at the timers: they must still wake earliest deadline first, not in id order.
TEST(sched, sleepers_due_together_wake_in_deadline_order) {
  static std::vector<int64_t> woken;
  static sleeper_arg args[] = {{3000000, &woken}, {1000000, &woken}, {4000000, &woken}, {2000000, &woken}};
  woken.clear();
  int tids[std::size(args)];
  for (size_t i = 0; i < std::size(args); ++i) {
    tids[i] = sched_create(sleeper, &args[i]);
    ASSERT_GT(tids[i], 0);
  }
  sched_yield_now();  // each sleeper starts and blocks; the main thread runs again when all are blocked
  ASSERT_TRUE(woken.empty()) << woken.size() << " sleepers woke before their deadline";
  const int64_t all_due = plat_clock_ns(PLAT_CLOCK_MONOTONIC) + 5000000;
  while (plat_clock_ns(PLAT_CLOCK_MONOTONIC) < all_due) {
  }
  for (int tid : tids) ASSERT_EQ(sched_join(tid, nullptr), 0);
  EXPECT_EQ(woken, (std::vector<int64_t>{1000000, 2000000, 3000000, 4000000}));
  for (const sleeper_arg &a : args) EXPECT_TRUE(a.slept_enough) << "the " << a.ns << " ns sleep ended early";
}

long spinner(void *arg) {
  auto *stop = static_cast<bool *>(arg);
  while (!*stop) sched_yield_now();
  return 0;
}

TEST(sched, timers_fire_while_other_threads_keep_yielding) {
  static bool stop = false;
  int spin = sched_create(spinner, &stop);
  EXPECT_EQ(sched_sleep_ns(5000000), 0);  // the spinner always has work; the timer must still fire
  stop = true;
  EXPECT_EQ(sched_join(spin, nullptr), 0);
}

struct pc {
  int m, c;
  std::vector<int> queue;
  std::vector<int> got;
};

long consumer(void *arg) {
  auto *p = static_cast<pc *>(arg);
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(sched_mutex_lock(p->m), 0);
    while (p->queue.empty()) EXPECT_EQ(sched_cond_wait(p->c, p->m, -1), 0);
    p->got.push_back(p->queue.front());
    p->queue.erase(p->queue.begin());
    EXPECT_EQ(sched_mutex_unlock(p->m), 0);
  }
  return 0;
}

TEST(sched, mutex_and_condition_variable_hand_items_over_in_order) {
  static pc p;
  p.m = sched_mutex_create();
  p.c = sched_cond_create();
  ASSERT_GT(p.m, 0);
  ASSERT_GT(p.c, 0);
  int t = sched_create(consumer, &p);
  for (int i = 0; i < 100; ++i) {
    ASSERT_EQ(sched_mutex_lock(p.m), 0);
    p.queue.push_back(i);
    EXPECT_EQ(sched_cond_signal(p.c), 0);
    ASSERT_EQ(sched_mutex_unlock(p.m), 0);
    if (i % 7 == 0) sched_yield_now();
  }
  ASSERT_EQ(sched_join(t, nullptr), 0);
  ASSERT_EQ(p.got.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(p.got[static_cast<size_t>(i)], i);
  EXPECT_EQ(sched_mutex_trylock(p.m), 0);
  EXPECT_EQ(sched_mutex_trylock(p.m), -EBUSY);
  EXPECT_EQ(sched_mutex_lock(p.m), -EDEADLK);
  EXPECT_EQ(sched_mutex_destroy(p.m), -EBUSY);
  EXPECT_EQ(sched_mutex_unlock(p.m), 0);
  EXPECT_EQ(sched_mutex_unlock(p.m), -EPERM);
  EXPECT_EQ(sched_mutex_destroy(p.m), 0);
  EXPECT_EQ(sched_cond_destroy(p.c), 0);
}

long wq_waiter(void *arg) {
  int wq = *static_cast<int *>(arg);
  return sched_wq_wait(wq, -1);
}

TEST(sched, wait_queues_wake_n_and_time_out) {
  static int wq = sched_wq_create();
  ASSERT_GT(wq, 0);
  std::vector<int> tids;
  for (int i = 0; i < 5; ++i) tids.push_back(sched_create(wq_waiter, &wq));
  sched_yield_now();  // all five now wait
  EXPECT_EQ(sched_wq_destroy(wq), -EBUSY);
  EXPECT_EQ(sched_wq_wake(wq, 2), 2);
  EXPECT_EQ(sched_wq_wake(wq, -1), 3);
  EXPECT_EQ(sched_wq_wake(wq, -1), 0);
  for (int t : tids) {
    long r = -1;
    EXPECT_EQ(sched_join(t, &r), 0);
    EXPECT_EQ(r, 0);
  }
  EXPECT_EQ(sched_wq_wait(wq, 1000000), -ETIMEDOUT);
  EXPECT_EQ(sched_wq_destroy(wq), 0);
  EXPECT_EQ(sched_wq_wait(wq, 0), -EINVAL);
}

long reader(void *arg) {
  int fd = *static_cast<int *>(arg);
  int ev = sched_wait_fd(fd, SCHED_IN, -1);
  char c = 0;
  EXPECT_EQ(read(fd, &c, 1), 1);
  return ev > 0 ? c : -1;
}

TEST(sched, fd_waits_block_the_thread_and_the_idle_loop_waits_in_plat) {
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  static int fd;
  fd = sv[0];
  int t = sched_create(reader, &fd);
  sched_yield_now();                                   // the reader blocks on its fd
  EXPECT_EQ(sched_wait_fd(sv[0], SCHED_IN, 0), -EBUSY);  // one waiter per fd
  ASSERT_EQ(write(sv[1], "x", 1), 1);
  long r = 0;
  ASSERT_EQ(sched_join(t, &r), 0);                  // idle: main and reader both wait, in plat
  EXPECT_EQ(r, 'x');
  EXPECT_EQ(sched_wait_fd(sv[0], SCHED_IN, 1000000), 0);  // nothing to read: the timeout
  EXPECT_GT(sched_wait_fd(sv[1], SCHED_OUT, -1), 0);
  close(sv[0]);
  close(sv[1]);
}

// An event loop's pattern: wait on the same fd again and again, each time woken by its readiness.
long repeat_reader(void *arg) {
  int fd = *static_cast<int *>(arg);
  long sum = 0;
  for (int i = 0; i < 5; ++i) {
    if (sched_wait_fd(fd, SCHED_IN, -1) <= 0) return -1;
    char c = 0;
    if (read(fd, &c, 1) != 1) return -1;
    sum = sum * 10 + (c - '0');
  }
  return sum;
}

long write_digits(void *arg) {
  int fd = *static_cast<int *>(arg);
  for (char c = '1'; c <= '5'; ++c) {
    sched_yield_now();  // the reader is blocked again before each byte
    if (write(fd, &c, 1) != 1) return -1;
  }
  return 0;
}

TEST(sched, repeated_fd_waits_on_one_fd_each_end_at_its_readiness) {
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  static int rfd, wfd;
  rfd = sv[0];
  wfd = sv[1];
  int r = sched_create(repeat_reader, &rfd);
  int w = sched_create(write_digits, &wfd);
  long got = 0, wrote = -1;
  ASSERT_EQ(sched_join(r, &got), 0);
  ASSERT_EQ(sched_join(w, &wrote), 0);
  EXPECT_EQ(got, 12345);
  EXPECT_EQ(wrote, 0);

  // A wait that times out leaves nothing armed behind: bytes that come later wake no one, and the next
  // wait sees them at once.
  EXPECT_EQ(sched_wait_fd(sv[0], SCHED_IN, 1000000), 0);
  ASSERT_EQ(write(sv[1], "z", 1), 1);
  EXPECT_GT(sched_wait_fd(sv[0], SCHED_IN, -1), 0);
  char c = 0;
  EXPECT_EQ(read(sv[0], &c, 1), 1);
  // Two waits in a row that readiness ends, then one for another event on the same fd.
  ASSERT_EQ(write(sv[1], "ab", 2), 2);
  EXPECT_EQ(sched_wait_fd(sv[0], SCHED_IN, -1) & SCHED_IN, SCHED_IN);
  EXPECT_EQ(sched_wait_fd(sv[0], SCHED_IN, -1) & SCHED_IN, SCHED_IN);
  EXPECT_EQ(sched_wait_fd(sv[0], SCHED_OUT, -1) & SCHED_OUT, SCHED_OUT);

  // The fd closes while sched keeps it; a new socket gets the same number, and waits on it work.
  const int old = sv[0];
  close(sv[0]);
  close(sv[1]);
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  ASSERT_EQ(sv[0], old);
  EXPECT_EQ(sched_wait_fd(sv[0], SCHED_IN, 1000000), 0);  // a fresh socket: nothing to read yet
  ASSERT_EQ(write(sv[1], "y", 1), 1);
  EXPECT_GT(sched_wait_fd(sv[0], SCHED_IN, -1), 0);
  close(sv[0]);
  close(sv[1]);
}

long forever(void *) {
  return sched_wq_wait(sched_wq_create(), -1);
}

TEST(sched, waits_nothing_can_end_fail_with_edeadlk_instead_of_hanging) {
  int t = sched_create(forever, nullptr);
  long r = 0;
  EXPECT_EQ(sched_join(t, &r), 0);  // main joins; the thread's wait can never end
  EXPECT_EQ(r, -EDEADLK);
  int wq = sched_wq_create();
  EXPECT_EQ(sched_wq_wait(wq, -1), -EDEADLK);
  sched_wq_destroy(wq);
}

long detached_worker(void *arg) {
  ++*static_cast<int *>(arg);
  sched_yield_now();
  return 0;
}

TEST(sched, detached_threads_are_reaped_and_ids_run_out_cleanly) {
  static int done = 0;
  for (int i = 0; i < 3000; ++i) {  // more than SCHED_MAX_THREADS over time: stacks are reused
    int t = sched_create(detached_worker, &done);
    ASSERT_GT(t, 0);
    ASSERT_EQ(sched_detach(t), 0);
    if (i % 100 == 0) sched_sleep_ns(0);
  }
  while (sched_threads() > 1) sched_yield_now();
  EXPECT_EQ(done, 3000);
  std::vector<int> tids;
  int t;
  while ((t = sched_create(detached_worker, &done)) > 0) tids.push_back(t);
  EXPECT_EQ(t, -EAGAIN);
  EXPECT_EQ(tids.size(), static_cast<size_t>(SCHED_MAX_THREADS - 1));
  for (int id : tids) EXPECT_EQ(sched_join(id, nullptr), 0);
}

TEST(sched, bad_arguments_are_negative_errnos) {
  EXPECT_EQ(sched_create(nullptr, nullptr), -EFAULT);
  for (int id : {-1, 0, 999, SCHED_MAX_THREADS + 1, 1 << 30}) {
    EXPECT_EQ(sched_join(id, nullptr), -ESRCH) << id;
    EXPECT_EQ(sched_detach(id), -ESRCH) << id;
  }
  EXPECT_EQ(sched_join(sched_self(), nullptr), -EDEADLK);
  EXPECT_EQ(sched_sleep_ns(-1), -EINVAL);
  EXPECT_EQ(sched_wait_fd(-1, SCHED_IN, 0), -EBADF);
  EXPECT_EQ(sched_wait_fd(0, 0, 0), -EINVAL);
  EXPECT_EQ(sched_wait_fd(0, 0x100, 0), -EINVAL);
  EXPECT_LT(sched_wait_fd(1 << 20, SCHED_IN, 0), 0);  // not an fd
  for (int id : {-1, 0, SCHED_MAX_OBJECTS + 1, 4000}) {
    EXPECT_EQ(sched_wq_wait(id, 0), -EINVAL);
    EXPECT_EQ(sched_wq_wake(id, 1), -EINVAL);
    EXPECT_EQ(sched_mutex_lock(id), -EINVAL);
    EXPECT_EQ(sched_mutex_unlock(id), -EINVAL);
    EXPECT_EQ(sched_cond_wait(id, id, 0), -EINVAL);
    EXPECT_EQ(sched_cond_signal(id), -EINVAL);
  }
  int wq = sched_wq_create();
  EXPECT_EQ(sched_mutex_lock(wq), -EINVAL);  // a wait queue is not a mutex
  int m = sched_mutex_create(), c = sched_cond_create();
  EXPECT_EQ(sched_cond_wait(c, m, 0), -EPERM);  // the mutex is not held
  EXPECT_EQ(sched_cond_wait(m, c, 0), -EINVAL);
  sched_wq_destroy(wq);
  sched_mutex_destroy(m);
  sched_cond_destroy(c);
}

}  // namespace
