/* sched: cooperative threads on one host thread (the unikernel model). A thread runs until it blocks
 * (join, sleep, a wait queue, a mutex or condition variable, an fd) or yields; when every thread is
 * blocked, sched waits in plat (epoll) until an fd it watches is ready or the next timer is due.
 *
 *   long conn_main(void *arg) __attribute__((libsched_callback));   // sched calls it back
 *   int tid;
 *   flexos_gate_r(libsched, tid, sched_create, conn_main, arg);
 *   flexos_gate_r(libsched, rc, sched_detach, tid);                 // or sched_join(tid, &ret)
 *   flexos_gate_r(libsched, rc, sched_sleep_ns, 1000000);
 *   flexos_gate_r(libsched, ev, sched_wait_fd, fd, SCHED_IN, -1);   // libraries that own host fds (net)
 *
 * A thread's entry runs in the compartment of the library that defined it: marked libsched_callback, a
 * pointer to it reaches sched as the gate from sched's compartment into that function. Each thread has
 * one stack per compartment it enters: with mpk full gates, a block of the runtime's per-domain stack
 * arenas and its own gate table (flex/runtime/uthread.h), swapped with its registers; otherwise one stack of
 * SCHED_STACK_SIZE bytes from plat; with any gates, its own shared stack for whitelisted locals. The
 * thread that first calls sched is thread 1 and runs on its own
 * stacks. Mutexes, condition variables and wait queues are ids: their state stays in sched.
 *
 * Not supported: switching threads while one of them has a call pending across a process boundary (a
 * host thread's process channel carries one call at a time), so threads that block must not do so under a
 * process gate; net falls back to blocking the host thread when sched is in another process than net.
 *
 * One host thread per image. More could come as one scheduler per host thread (Unikraft's per-CPU
 * schedulers): each with its own run queue, epoll set and threads, a thread staying on the host thread
 * that created it (its gate table and per-domain stacks are swapped on that host thread only), wakeups
 * from another host thread through an eventfd in the owner's epoll set, and the object table under a lock.
 *
 * Every call returns a negative errno on failure: -ESRCH for a thread id sched did not give out or that
 * has been reaped, -EINVAL for a bad id or argument, -EDEADLK for a wait nothing can ever end (every
 * other thread blocked for ever, no timer, no fd) or a join of oneself, -EAGAIN when no thread (or
 * stack) is left, -ETIMEDOUT when a timed wait's deadline passes. Timeouts are in nanoseconds; -1 waits
 * for ever. */
#ifndef FLEX_SCHED_SCHED_H
#define FLEX_SCHED_SCHED_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum { SCHED_IN = 1, SCHED_OUT = 4, SCHED_ERR = 8, SCHED_HUP = 16 }; /* plat's (epoll's) bits */
enum { SCHED_MAX_THREADS = 1024, SCHED_STACK_SIZE = 256 << 10, SCHED_MAX_OBJECTS = 4096 };

typedef long (*sched_entry_fn)(void *arg);

int sched_create(sched_entry_fn fn, void *arg); /* -> a thread id > 0; the new thread runs later */
int sched_detach(int tid);                      /* reaped when it ends; no join */
int sched_join(int tid, long *result);          /* result: NULL, or where to store fn's return value */
int sched_self(void);
int sched_yield_now(void);
int sched_sleep_ns(int64_t ns);
/* Blocks until fd (a host fd of sched's process) has one of `events`; returns the events seen (> 0), 0
 * when timeout_ns passed first, -EBUSY when another thread waits on fd, -EPERM when called from a host
 * thread other than sched's (the caller then waits by itself). */
int sched_wait_fd(int fd, unsigned events, int64_t timeout_ns);
int sched_threads(void); /* threads that have not ended */

int sched_wq_create(void);
int sched_wq_wait(int wq, int64_t timeout_ns); /* 0 when woken, -ETIMEDOUT */
int sched_wq_wake(int wq, int n);              /* wakes up to n waiters (n < 0: all); returns how many */
int sched_wq_destroy(int wq);                  /* -EBUSY while a thread waits on it */

int sched_mutex_create(void);
int sched_mutex_lock(int m);
int sched_mutex_trylock(int m); /* -EBUSY when held */
int sched_mutex_unlock(int m);  /* -EPERM unless the caller holds it */
int sched_mutex_destroy(int m);

int sched_cond_create(void);
int sched_cond_wait(int c, int m, int64_t timeout_ns); /* m held by the caller; held again on return */
int sched_cond_signal(int c);
int sched_cond_broadcast(int c);
int sched_cond_destroy(int c);

#ifdef __cplusplus
}
#endif

#endif /* FLEX_SCHED_SCHED_H */
