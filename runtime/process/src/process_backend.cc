// The process gate: calls through per-pair channels in shared memory, futex hand-off, serving while
// waiting. Boot, death and shutdown are in process_boot.cc, the channels' pages in process_channels.cc;
// the protocol is described in process.h.
#include <immintrin.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <ctime>

#include "flex/runtime/process_impl.h"

namespace flex::runtime {
namespace detail {

process_state g_process;

namespace {

constexpr std::uint8_t kFromRuntime = 0xff;  // a call the main process makes outside every compartment

long futex(std::atomic<std::uint32_t> *w, int op, std::uint32_t val, const timespec *ts) {
  // Not FUTEX_PRIVATE_FLAG: the word lives in MAP_SHARED memory and the waker is another process.
  return syscall(SYS_futex, reinterpret_cast<std::uint32_t *>(w), op, val, ts, nullptr, 0);
}

// Reads a field of shared memory exactly once: the peer can write its side of the channel at any time, so
// a value is checked and used from one local copy, never fetched again.
template <typename T>
T once(const T &v) {
  return *static_cast<const volatile T *>(&v);
}

// A message taken from a channel: copied out of shared memory once.
struct message {
  std::uint8_t kind;
  unsigned from, to, export_id;
  word w[kMaxArgs];
};

unsigned compartment_of(std::uint8_t c) {
  return c == kFromRuntime ? kNoCompartment : c;
}

[[noreturn]] void refuse(const char *why, unsigned from, unsigned to, unsigned id) {
  fault_line l;
  l.str("flex: ").who(current_compartment()).str(" refused a call from '").str(compartment_name(from));
  l.str("' to '").str(to < g_process.n ? g_process.comps[to].name : "?").str("' export ").dec(id).str(": ");
  l.str(why).emit();
  std::fflush(nullptr);  // normal context: the image's pending output is not lost with it
  terminate_image(kExitBadCall);
}

// The slot of the first channel holding a message this process has not taken, or kNoSlot.
unsigned pending() {
  process_state &st = g_process;
  for (unsigned k = 0; k < st.n_peer_slots; ++k) {
    const channel_end &l = st.links[st.peer_slots[k]];
    if (l.in->seq.load(std::memory_order_acquire) != l.taken) return st.peer_slots[k];
  }
  return kNoSlot;
}

message take(unsigned slot) {
  channel_end &l = g_process.links[slot];
  const mailbox &in = *l.in;
  l.taken = in.seq.load(std::memory_order_acquire);
  message m{
      once(in.kind), compartment_of(once(in.from)), compartment_of(once(in.to)), once(in.export_id), {}};
  for (int i = 0; i < kMaxArgs; ++i) m.w[i] = once(in.w[i]);
  return m;
}

void send(unsigned slot, std::uint8_t kind, unsigned from, unsigned to, unsigned id, const word *w, int n) {
  channel_end &l = g_process.links[slot];
  mailbox &out = *l.out;
  out.kind = kind;
  out.from = from == kNoCompartment ? kFromRuntime : static_cast<std::uint8_t>(from);
  out.to = static_cast<std::uint8_t>(to);
  out.export_id = id;
  for (int i = 0; i < n; ++i) out.w[i] = w[i];
  out.seq.store(++l.sent, std::memory_order_release);
  ring(l.peer_bell);
}

// Runs export `id` of `callee`, which lives in this process. The table is this process's own copy, so a
// caller can only choose an index, never an address.
word run_export(unsigned from, unsigned callee, unsigned id, const word *a) {
  const process_compartment &c = g_process.comps[callee];
  if (id >= c.n_exports || !c.exports[id]) refuse("no such export id in its export table", from, callee, id);
  const unsigned saved = current_compartment();
  set_current_compartment(callee);
  const word r = c.exports[id](a[0], a[1], a[2], a[3], a[4], a[5]);
  set_current_compartment(saved);
  return r;
}

// Serves a call that came on the channel from process `slot`, then returns the result on that channel.
// The channel says which process called; the caller it names must live there.
void serve_call(unsigned slot, const message &m) {
  const process_state &st = g_process;
  if (m.to >= st.n || st.slot_of[m.to] != st.self_slot) {
    refuse("the callee does not live in this process", m.from, m.to, m.export_id);
  }
  const bool from_ok =
      m.from == kNoCompartment ? slot == kMainSlot : m.from < st.n && st.slot_of[m.from] == slot;
  if (!from_ok) refuse("the caller does not live in the calling process", m.from, m.to, m.export_id);
  const word r = run_export(m.from, m.to, m.export_id, m.w);
  send(slot, kMsgReturn, m.to, m.from, 0, &r, 1);
}

// Waits for the return of the call this process just made to process `callee_slot`, serving calls from
// any peer meanwhile. Calls nest strictly, so a return on another channel answers no call of ours.
word wait_return(unsigned callee_slot) {
  for (;;) {
    const unsigned slot = await_message();
    const message m = take(slot);
    if (m.kind == kMsgReturn && slot == callee_slot) return m.w[0];
    if (m.kind == kMsgReturn) refuse("a return with no call waiting", m.from, m.to, m.export_id);
    if (m.kind != kMsgCall) refuse("corrupt channel", m.from, m.to, m.export_id);
    serve_call(slot, m);
  }
}

// Whether the liveness check is due: at least every liveness_ms, even when rings keep a waiter from
// timing out.
bool liveness_due() {
  static std::int64_t next_ns = 0;
  timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  const std::int64_t now_ns = std::int64_t{now.tv_sec} * 1000000000 + now.tv_nsec;
  if (now_ns < next_ns) return false;
  next_ns = now_ns + std::int64_t{g_process.liveness_ms} * 1000000;
  return true;
}

// After a wake-up, a ring found before sleeping, or a timeout. The ring's message, if there is one, is
// taken at once; the ring itself is taken (the bell set idle, a cache line the ringer just wrote) only at
// the next wait that finds nothing, off the path of the call. A ring with no message is left over from a
// message taken without sleeping, or announces a shutdown or a child's end, or is spurious: the shared
// words say which, without a system call. A timeout, a SIGCHLD or the liveness period also checks that the
// other processes live.
unsigned after_wake(bell &b, bool timed_out) {
  if (const unsigned s = pending(); s != kNoSlot) return s;
  b.v.exchange(kBellIdle, std::memory_order_acq_rel);  // a full barrier: a later ring is seen, or wakes us
  if (const unsigned s = pending(); s != kNoSlot) return s;
  if (timed_out || g_process.peer_event || liveness_due())
    check_peers();
  else
    check_words();
  return kNoSlot;
}

}  // namespace

// Hands the turn to the process whose bell this is. The exchange publishes the message written before it
// (release); the futex wake is paid only when the waiter has gone to sleep.
void ring(bell *b) {
  if (b && b->v.exchange(kBellRung, std::memory_order_acq_rel) == kBellAsleep) {
    futex(&b->v, FUTEX_WAKE, 1, nullptr);
  }
}

unsigned await_message() {
  process_state &st = g_process;
  bell &b = *st.bells[st.self_slot];
  unsigned s = kNoSlot;
  st.waiting = 1;
  for (unsigned i = st.bc->spin.load(std::memory_order_relaxed); i > 0 && !st.peer_event; --i) {
    if ((s = pending()) != kNoSlot) break;
    _mm_pause();
  }
  const timespec timeout{static_cast<time_t>(st.liveness_ms / 1000),
                         static_cast<long>(st.liveness_ms % 1000) * 1000000L};
  while (s == kNoSlot && (s = pending()) == kNoSlot) {
    if (st.peer_event) check_peers();  // a SIGCHLD arrived while we were spinning
    // Announce the sleep (idle -> asleep) so a ringer knows to wake us. A sender rings after writing its
    // message, so a message not seen above comes with a ring: before the announcement (it fails, and
    // after_wake looks again) or after it (the ringer wakes us).
    std::uint32_t v = kBellIdle;
    bool timed_out = false;
    if (b.v.compare_exchange_strong(v, kBellAsleep, std::memory_order_acq_rel) || v == kBellAsleep) {
      timed_out = futex(&b.v, FUTEX_WAIT, kBellAsleep, &timeout) != 0 && errno == ETIMEDOUT;
    }
    s = after_wake(b, timed_out);
  }
  st.waiting = 0;
  return s;
}

void serve_forever() {
  for (;;) {
    const unsigned slot = await_message();
    const message m = take(slot);
    if (m.kind != kMsgCall) refuse("a return with no call waiting", m.from, m.to, m.export_id);
    serve_call(slot, m);
  }
}

word process_call(unsigned callee, unsigned id, const call_args &args) {
  process_state &st = g_process;
  const unsigned from = current_compartment();
  if (!st.booted) {
    fault_line().str("flex: ").who(from).str(" used the process gate before boot").emit();
    terminate_image(kExitBadCall);
  }
  if (callee >= st.n) refuse("no such compartment", from, callee, id);
  const unsigned slot = st.slot_of[callee];
  if (slot == st.self_slot) return run_export(from, callee, id, args.a);  // same process
  if (!st.links[slot].out) refuse("no boundary links their processes", from, callee, id);
  send(slot, kMsgCall, from, callee, id, args.a, kMaxArgs);
  return wait_return(slot);
}

}  // namespace detail

word process_backend::invoke(const target &t, erased_fn, const call_args &args) {
  return detail::process_call(t.callee, t.export_id, args);
}

}  // namespace flex::runtime
