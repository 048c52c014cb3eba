// sched: the cooperative scheduler (see sched.h). One run queue, one list of objects (wait queues,
// mutexes, condition variables) and one epoll set; switches swap the callee-saved registers and the stack pointer
// (flex_uthread_swap_stack), preceded by a swap of the runtime's per-thread gate state.
#include <flex/sched/sched.h>

#include <pthread.h>

#include <cerrno>
#include <algorithm>
#include <bitset>
#include <cstring>

#include <flex/runtime/layout.h>
#include <flex/runtime/uthread.h>
#include <flex/plat/plat.h>

// The image's layout (absent outside an image: sched's own tests).
extern "C" const struct flex_image_layout flex_image __attribute__((weak));

namespace flex::sched {
namespace {

enum class state { free, ready, blocked, done };
enum class wake { none, event, timeout, deadlock };

struct thread {
  state st = state::free;
  uint64_t sp = 0;
  void *stack = nullptr;     // from plat (nullptr: the runtime's, or thread 1's own)
  size_t stack_len = 0;
  unsigned char *gates = nullptr;  // flex_uthread state (new[]), when the image needs it
  bool runtime_stack = false;
  sched_entry_fn fn = nullptr;
  void *arg = nullptr;
  long result = 0;
  bool detached = false;
  int joiner = 0;            // the thread waiting in sched_join
  int64_t deadline = -1;     // monotonic ns; -1: none
  wake why = wake::none;
  int wait_fd = -1;
  unsigned want = 0;         // what the fd wait waits for
  unsigned events = 0;       // what the fd wait saw
  int wait_obj = 0;          // the wait queue (object id) it sits on, 0: none
  int next = 0;              // the next thread in the queue it sits on (ready, or wait_obj's waiters)
};

// A FIFO of thread ids, linked through thread::next (a thread is in at most one queue at a time).
struct queue {
  int head = 0, tail = 0;
  bool empty() const { return head == 0; }
  void push_back(int tid);
  int pop_front();
  void remove(int tid);
};

enum class kind { free, wq, mutex, cond };
struct object {
  kind k = kind::free;
  queue waiters;
  int owner = 0;  // mutexes
};

// Constant-initialised (no constructor runs): usable from any static initialiser.
thread g_threads[SCHED_MAX_THREADS + 1];  // index = id; 0 unused
object g_objects[SCHED_MAX_OBJECTS + 1];
queue g_ready;

void queue::push_back(int tid) {
  g_threads[tid].next = 0;
  if (tail) {
    g_threads[tail].next = tid;
  } else {
    head = tid;
  }
  tail = tid;
}

int queue::pop_front() {
  int tid = head;
  head = g_threads[tid].next;
  if (!head) tail = 0;
  g_threads[tid].next = 0;
  return tid;
}

void queue::remove(int tid) {
  for (int prev = 0, cur = head; cur; prev = cur, cur = g_threads[cur].next) {
    if (cur != tid) continue;
    if (prev) {
      g_threads[prev].next = g_threads[cur].next;
    } else {
      head = g_threads[cur].next;
    }
    if (tail == cur) tail = prev;
    g_threads[cur].next = 0;
    return;
  }
}
int g_current = 0;  // 0 until the first call
int g_live = 0;
int g_reap = 0;     // a thread that ended and whose stacks can go once we are off them
int g_epoll = -1;
size_t g_gate_state = 0;
int g_fd_waiters = 0;          // threads blocked in sched_wait_fd
// The fds left in g_epoll after a wait that their readiness ended. They are registered one-shot, so the
// event that woke the waiter also silenced them, and the next wait on the same fd re-arms them with one
// EPOLL_CTL_MOD instead of an ADD and a DEL: an event loop waits on the same fd at every idle moment, and
// adding an epoll fd to another epoll set is the costly kind of ADD (the kernel checks for loops).
// A closed fd leaves the set by itself; MOD then fails with -ENOENT and the wait adds it again.
// A bitset (trivially destroyed: the library's globals may outlive its destructors in a process
// compartment); fds past its end are simply not kept.
constexpr size_t kKeptFds = 1 << 16;
std::bitset<kKeptFds> g_kept;
int64_t g_next_deadline = -1;  // no deadline before this one (-1: none)
unsigned g_switches = 0;       // since the last look at the fds

int64_t now() {
  return plat_clock_ns(PLAT_CLOCK_MONOTONIC);
}

long g_home = 0;  // the host thread sched runs on (the first caller's)

// In the child of a fork (an image whose program forks copies the whole process): g_epoll is the
// parent's readiness set, which a fork shares, so the child's waits would take the parent's events and
// its deletions would silence the parent's waiters. The child drops its reference and builds a set of its
// own with the waits its threads were blocked in.
void after_fork_in_child() {
  if (g_epoll < 0) return;
  plat_close(g_epoll);
  g_epoll = plat_poll_create();
  g_kept.reset();
  for (int id = 1; id <= SCHED_MAX_THREADS; ++id) {
    const thread &t = g_threads[static_cast<size_t>(id)];
    if (t.st != state::blocked || t.wait_fd < 0) continue;
    if (g_epoll >= 0) plat_poll_ctl(g_epoll, PLAT_POLL_ADD, t.wait_fd, t.want | PLAT_ONESHOT, static_cast<uint64_t>(id));
  }
}

// Thread 1 is whoever calls first; its stacks are its own.
void boot() {
  if (g_current) return;
  if (&flex_image != nullptr && flex_image_forks(&flex_image)) pthread_atfork(nullptr, nullptr, &after_fork_in_child);
  g_home = plat_thread_id();
  g_gate_state = flex_uthread_state_size();
  thread &t = g_threads[1];
  t.st = state::ready;
  t.gates = new unsigned char[g_gate_state]();
  g_current = 1;
  g_live = 1;
}

thread &cur() {
  return g_threads[static_cast<size_t>(g_current)];
}

thread *get(int tid) {
  if (tid <= 0 || tid > SCHED_MAX_THREADS) return nullptr;
  thread &t = g_threads[static_cast<size_t>(tid)];
  return t.st == state::free ? nullptr : &t;
}

object *obj(int id, kind k) {
  if (id <= 0 || id > SCHED_MAX_OBJECTS) return nullptr;
  object &o = g_objects[static_cast<size_t>(id)];
  return o.k == k ? &o : nullptr;
}

void free_stacks(thread &t) {
  if (t.stack) plat_unmap_stack(t.stack, t.stack_len);
  if (t.gates) flex_uthread_release(t.gates);
  delete[] t.gates;
  t = thread{};
}

void make_ready(int tid, wake why) {
  thread &t = g_threads[static_cast<size_t>(tid)];
  if (t.st != state::blocked) return;
  t.st = state::ready;
  t.why = why;
  t.deadline = -1;
  if (t.wait_obj) {
    g_objects[static_cast<size_t>(t.wait_obj)].waiters.remove(tid);
    t.wait_obj = 0;
  }
  if (t.wait_fd >= 0) {
    const auto fd = static_cast<size_t>(t.wait_fd);
    if (why == wake::event && fd < kKeptFds) {  // its one shot fired: silent now, kept for the next wait
      g_kept[fd] = true;
    } else {  // still armed: it must not wake anyone later
      plat_poll_ctl(g_epoll, PLAT_POLL_DEL, t.wait_fd, 0, 0);
    }
    t.wait_fd = -1;
    --g_fd_waiters;
  }
  g_ready.push_back(tid);
}

int g_due[SCHED_MAX_THREADS];  // expire's list of the threads whose deadline has passed

// Wakes the threads whose deadline has passed, earliest deadline first (ties: lowest id): when the
// host thread was held up, several sleeps fall due in one look, and they must still end in the order
// of their deadlines.
void expire(int64_t t_now) {
  g_next_deadline = -1;
  size_t due = 0;
  for (int id = 1; id <= SCHED_MAX_THREADS; ++id) {
    thread &t = g_threads[static_cast<size_t>(id)];
    if (t.st != state::blocked || t.deadline < 0) continue;
    if (t.deadline <= t_now) {
      g_due[due++] = id;
    } else if (g_next_deadline < 0 || t.deadline < g_next_deadline) {
      g_next_deadline = t.deadline;
    }
  }
  std::sort(g_due, g_due + due, [](int a, int b) {
    const int64_t da = g_threads[static_cast<size_t>(a)].deadline;
    const int64_t db = g_threads[static_cast<size_t>(b)].deadline;
    return da != db ? da < db : a < b;
  });
  for (size_t i = 0; i < due; ++i) make_ready(g_due[i], wake::timeout);
}

// Makes the threads whose fd is ready runnable; waits up to timeout_ms for one.
void poll_fds(int timeout_ms) {
  plat_event ev[64];
  int n = plat_poll_wait(g_epoll, ev, 64, timeout_ms);
  for (int i = 0; i < n; ++i) {
    int tid = static_cast<int>(ev[i].cookie);
    if (tid <= 0 || tid > SCHED_MAX_THREADS) continue;
    thread &t = g_threads[static_cast<size_t>(tid)];
    if (t.st != state::blocked || t.wait_fd < 0) continue;
    t.events = ev[i].events;
    make_ready(tid, wake::event);
  }
}

// Nothing is ready: waits in plat for an fd or the earliest deadline. False when nothing can ever wake
// anyone (no fd watched, no deadline).
bool idle() {
  if (g_fd_waiters == 0 && g_next_deadline < 0) return false;
  int timeout_ms = -1;
  if (g_next_deadline >= 0) {
    int64_t left = g_next_deadline - now();
    timeout_ms = left <= 0 ? 0 : static_cast<int>(std::min<int64_t>((left + 999999) / 1000000, 1 << 30));
  }
  if (g_fd_waiters > 0) {
    poll_fds(timeout_ms);
  } else if (timeout_ms > 0) {
    plat_sleep_ns(g_next_deadline - now());
  }
  if (g_next_deadline >= 0) expire(now());
  return true;
}

void reap() {
  if (!g_reap || g_reap == g_current) return;
  free_stacks(g_threads[static_cast<size_t>(g_reap)]);
  g_reap = 0;
}

// Runs another thread until this one is ready again. The caller set cur().st (blocked, or ready and
// queued, or done). Returns false, with this thread made ready again, when it is blocked and nothing can
// ever wake it.
// Threads that keep each other busy must not starve the timers and fds: due deadlines end waits at
// every switch, ready fds every 64th.
void look_around() {
  if (g_next_deadline >= 0 && now() >= g_next_deadline) expire(now());
  if (g_fd_waiters > 0 && ++g_switches % 64 == 0) poll_fds(0);
}

bool schedule() {
  const int self = g_current;
  look_around();
  while (g_ready.empty()) {
    if (idle()) continue;
    if (cur().st == state::blocked) {
      make_ready(self, wake::deadlock);
      g_ready.remove(self);
      return false;
    }
    // This thread ends, and every other one waits for something nothing will bring: wake one, so that
    // its wait fails with -EDEADLK instead of the image hanging.
    int victim = 0;
    for (int id = 1; id <= SCHED_MAX_THREADS && !victim; ++id) {
      if (g_threads[static_cast<size_t>(id)].st == state::blocked) victim = id;
    }
    if (!victim) return true;
    make_ready(victim, wake::deadlock);
  }
  int next = g_ready.pop_front();
  if (next == self) {
    reap();
    return true;
  }
  thread &from = cur();
  thread &to = g_threads[static_cast<size_t>(next)];
  g_current = next;
  flex_uthread_switch(from.gates, to.gates);
  flex_uthread_swap_stack(&from.sp, to.sp);
  // Running again (g_current is self once more).
  reap();
  return true;
}

// Blocks the running thread until woken or until `timeout_ns` passes; wait_obj/wait_fd are set by the
// caller. Returns why it woke; -EDEADLK when nothing could ever wake it.
int block(int64_t timeout_ns) {
  thread &t = cur();
  t.st = state::blocked;
  t.why = wake::none;
  t.deadline = timeout_ns < 0 ? -1 : now() + timeout_ns;
  if (t.deadline >= 0 && (g_next_deadline < 0 || t.deadline < g_next_deadline)) g_next_deadline = t.deadline;
  if (!schedule()) return -EDEADLK;
  if (cur().why == wake::deadlock) return -EDEADLK;
  return cur().why == wake::timeout ? -ETIMEDOUT : 0;
}

[[noreturn]] void finish(long result);

// A new thread's first frame: runs its entry, then ends.
void thread_start() {
  reap();
  thread &t = cur();
  finish(t.fn(t.arg));
}

void finish(long result) {
  thread &t = cur();
  t.result = result;
  t.st = state::done;
  --g_live;
  if (t.joiner) make_ready(t.joiner, wake::event);
  if (t.detached) g_reap = g_current;
  schedule();
  __builtin_trap();  // a finished thread is never scheduled again
}

int add_object(kind k) {
  boot();
  for (int id = 1; id <= SCHED_MAX_OBJECTS; ++id) {
    object &o = g_objects[static_cast<size_t>(id)];
    if (o.k != kind::free) continue;
    o = object{};
    o.k = k;
    return id;
  }
  return -EAGAIN;
}

int wait_on(int id, int64_t timeout_ns) {
  g_objects[static_cast<size_t>(id)].waiters.push_back(g_current);
  cur().wait_obj = id;
  return block(timeout_ns);
}

int wake_some(object &o, int n) {
  int woken = 0;
  while (!o.waiters.empty() && (n < 0 || woken < n)) {
    int tid = o.waiters.head;
    make_ready(tid, wake::event);  // also takes it off o.waiters
    ++woken;
  }
  return woken;
}

int destroy(int id, kind k) {
  object *o = obj(id, k);
  if (!o) return -EINVAL;
  if (!o->waiters.empty() || o->owner) return -EBUSY;
  *o = object{};
  return 0;
}

}  // namespace
}  // namespace flex::sched

using namespace flex::sched;

extern "C" {

int sched_create(sched_entry_fn fn, void *arg) {
  if (!fn) return -EFAULT;
  boot();
  int id = 0;
  for (int i = 1; i <= SCHED_MAX_THREADS; ++i) {
    if (g_threads[static_cast<size_t>(i)].st == state::free) {
      id = i;
      break;
    }
  }
  if (!id) return -EAGAIN;
  thread &t = g_threads[static_cast<size_t>(id)];
  t = thread{};
  t.gates = new unsigned char[g_gate_state]();
  void *runtime_top = nullptr;
  size_t len = 0;
  if (flex_uthread_init(t.gates, &runtime_top, &len) != 0) {
    delete[] t.gates;
    t = thread{};
    return -EAGAIN;
  }
  char *top = static_cast<char *>(runtime_top);
  if (top) {
    t.runtime_stack = true;  // mpk full gates: the runtime's block, one stack per domain
  } else {
    t.stack = plat_map_stack(SCHED_STACK_SIZE);
    if (!t.stack) {
      flex_uthread_release(t.gates);
      delete[] t.gates;
      t = thread{};
      return -EAGAIN;
    }
    t.stack_len = SCHED_STACK_SIZE;
    top = static_cast<char *>(t.stack) + SCHED_STACK_SIZE;
  }
  // The frame flex_uthread_swap_stack returns through: six callee-saved registers, then thread_start as the
  // return address, above it a zero "return address" of thread_start (the ABI's alignment at a call).
  auto *sp = reinterpret_cast<uint64_t *>(reinterpret_cast<uintptr_t>(top) & ~uintptr_t{15});
  *--sp = 0;
  *--sp = reinterpret_cast<uint64_t>(&thread_start);
  for (int i = 0; i < 6; ++i) *--sp = 0;
  t.sp = reinterpret_cast<uint64_t>(sp);
  t.fn = fn;
  t.arg = arg;
  t.st = state::ready;
  ++g_live;
  g_ready.push_back(id);
  return id;
}

int sched_detach(int tid) {
  boot();
  thread *t = get(tid);
  if (!t) return -ESRCH;
  if (t->detached || t->joiner) return -EINVAL;
  if (t->st == state::done) {
    if (tid == g_current) return -EINVAL;
    free_stacks(*t);
    return 0;
  }
  t->detached = true;
  return 0;
}

int sched_join(int tid, long *result) {
  boot();
  thread *t = get(tid);
  if (!t) return -ESRCH;
  if (tid == g_current) return -EDEADLK;
  if (t->detached || t->joiner) return -EINVAL;
  if (t->st != state::done) {
    t->joiner = g_current;
    int rc = block(-1);
    t = get(tid);
    if (rc < 0) {
      if (t) t->joiner = 0;
      return rc;
    }
  }
  if (result) *result = t->result;
  free_stacks(*t);
  return 0;
}

int sched_self(void) {
  boot();
  return g_current;
}

int sched_yield_now(void) {
  boot();
  look_around();
  if (g_ready.empty()) return 0;
  g_ready.push_back(g_current);
  schedule();
  return 0;
}

int sched_sleep_ns(int64_t ns) {
  boot();
  if (ns < 0) return -EINVAL;
  int rc = block(ns);
  return rc == -ETIMEDOUT ? 0 : rc;
}

int sched_wait_fd(int fd, unsigned events, int64_t timeout_ns) {
  boot();
  if (plat_thread_id() != g_home) return -EPERM;  // another host thread: it must wait by itself
  if (fd < 0) return -EBADF;
  if (events == 0 || (events & ~unsigned{SCHED_IN | SCHED_OUT | SCHED_ERR | SCHED_HUP})) return -EINVAL;
  if (g_epoll < 0) {
    g_epoll = plat_poll_create();
    if (g_epoll < 0) return g_epoll;
  }
  const auto cookie = static_cast<uint64_t>(g_current);
  const auto slot = static_cast<size_t>(fd);
  int rc = -ENOENT;
  if (slot < kKeptFds && g_kept[slot]) {
    g_kept[slot] = false;
    rc = plat_poll_ctl(g_epoll, PLAT_POLL_MOD, fd, events | PLAT_ONESHOT, cookie);
  }
  if (rc == -ENOENT) rc = plat_poll_ctl(g_epoll, PLAT_POLL_ADD, fd, events | PLAT_ONESHOT, cookie);
  if (rc < 0) return rc == -EEXIST ? -EBUSY : rc;  // another thread waits on this fd
  cur().wait_fd = fd;
  cur().want = events;
  cur().events = 0;
  ++g_fd_waiters;
  rc = block(timeout_ns);
  if (cur().wait_fd >= 0) {  // woken some other way than by the fd: still in the set
    plat_poll_ctl(g_epoll, PLAT_POLL_DEL, fd, 0, 0);
    cur().wait_fd = -1;
    --g_fd_waiters;
  }
  if (rc == -ETIMEDOUT) return 0;
  if (rc < 0) return rc;
  return static_cast<int>(cur().events ? cur().events : events);
}

int sched_threads(void) {
  boot();
  return g_live;
}

int sched_wq_create(void) {
  return add_object(kind::wq);
}

int sched_wq_wait(int wq, int64_t timeout_ns) {
  boot();
  if (!obj(wq, kind::wq)) return -EINVAL;
  return wait_on(wq, timeout_ns);
}

int sched_wq_wake(int wq, int n) {
  boot();
  object *o = obj(wq, kind::wq);
  if (!o) return -EINVAL;
  return wake_some(*o, n);
}

int sched_wq_destroy(int wq) {
  return destroy(wq, kind::wq);
}

int sched_mutex_create(void) {
  return add_object(kind::mutex);
}

int sched_mutex_lock(int m) {
  boot();
  object *o = obj(m, kind::mutex);
  if (!o) return -EINVAL;
  if (o->owner == g_current) return -EDEADLK;
  while (o->owner) {
    if (int rc = wait_on(m, -1); rc < 0) return rc;
  }
  o->owner = g_current;
  return 0;
}

int sched_mutex_trylock(int m) {
  boot();
  object *o = obj(m, kind::mutex);
  if (!o) return -EINVAL;
  if (o->owner) return -EBUSY;
  o->owner = g_current;
  return 0;
}

int sched_mutex_unlock(int m) {
  boot();
  object *o = obj(m, kind::mutex);
  if (!o) return -EINVAL;
  if (o->owner != g_current) return -EPERM;
  o->owner = 0;
  wake_some(*o, 1);
  return 0;
}

int sched_mutex_destroy(int m) {
  return destroy(m, kind::mutex);
}

int sched_cond_create(void) {
  return add_object(kind::cond);
}

int sched_cond_wait(int c, int m, int64_t timeout_ns) {
  boot();
  object *co = obj(c, kind::cond);
  object *mo = obj(m, kind::mutex);
  if (!co || !mo) return -EINVAL;
  if (mo->owner != g_current) return -EPERM;
  sched_mutex_unlock(m);
  int rc = wait_on(c, timeout_ns);
  int lrc = sched_mutex_lock(m);
  return rc < 0 ? rc : lrc;
}

int sched_cond_signal(int c) {
  boot();
  object *o = obj(c, kind::cond);
  if (!o) return -EINVAL;
  wake_some(*o, 1);
  return 0;
}

int sched_cond_broadcast(int c) {
  boot();
  object *o = obj(c, kind::cond);
  if (!o) return -EINVAL;
  wake_some(*o, -1);
  return 0;
}

int sched_cond_destroy(int c) {
  return destroy(c, kind::cond);
}

}  // extern "C"
