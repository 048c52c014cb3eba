// The process gate: calls through mailboxes in shared memory, futex hand-off, serving while waiting.
// Boot, death and shutdown are in process_boot.cc; the protocol is described in process.h.
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

long futex(std::atomic<std::uint32_t> *w, int op, std::uint32_t val, const timespec *ts) {
  // Not FUTEX_PRIVATE_FLAG: the word lives in MAP_SHARED memory and the waker is another process.
  return syscall(SYS_futex, reinterpret_cast<std::uint32_t *>(w), op, val, ts, nullptr, 0);
}

mailbox &own_box() {
  return g_process.ctl->box[g_process.self_slot];
}

// Reads a mailbox field exactly once: other compartments can write the mailbox at any time, so a value is
// checked and used from one local copy, never fetched again from shared memory.
template <typename T>
T once(const T &v) {
  return *static_cast<const volatile T *>(&v);
}

[[noreturn]] void refuse(const char *why, unsigned from, unsigned to, unsigned id) {
  fault_line l;
  l.str("flex: ").who(current_compartment()).str(" refused a call from '").str(compartment_name(from));
  l.str("' to '").str(to < g_process.n ? g_process.comps[to].name : "?").str("' export ").dec(id).str(": ");
  l.str(why).emit();
  std::fflush(nullptr);  // normal context: the image's pending output is not lost with it
  terminate_image(kExitBadCall);
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

// Serves the call waiting in this process's mailbox, then sends the return to the caller's mailbox.
void serve_call() {
  mailbox &in = own_box();
  // Copy first: nested calls made by the export reuse this mailbox for their returns.
  const unsigned from = once(in.from), to = once(in.to), id = once(in.export_id), reply = once(in.reply_slot);
  word a[kMaxArgs];
  for (int i = 0; i < kMaxArgs; ++i) a[i] = once(in.w[i]);
  if (to >= g_process.n || g_process.slot_of[to] != g_process.self_slot) {
    refuse("the callee does not live in this process", from, to, id);
  }
  const bool reply_ok = reply == kMainSlot || (reply < g_process.n && g_process.comps[reply].own_process);
  if (!reply_ok || reply == g_process.self_slot) refuse("bad reply mailbox", from, to, id);
  const word r = run_export(from, to, id, a);
  mailbox &out = g_process.ctl->box[reply];
  out.kind = kMsgReturn;
  out.from = to;
  out.to = from;
  out.w[0] = r;
  ring(reply);
}

// Waits for the return of the call this process just made, serving calls addressed to it meanwhile.
word wait_return() {
  for (;;) {
    await_turn();
    mailbox &m = own_box();
    const std::uint32_t kind = once(m.kind);
    if (kind == kMsgReturn) return once(m.w[0]);
    if (kind != kMsgCall) refuse("corrupt mailbox", once(m.from), once(m.to), once(m.export_id));
    serve_call();
  }
}

}  // namespace

// Hands the turn to the process owning mailbox `slot`. The exchange publishes the message written before
// it (release); the futex wake is paid only when the waiter has gone to sleep.
void ring(unsigned slot) {
  auto &bell = g_process.ctl->box[slot].bell;
  if (bell.exchange(kBellTurn, std::memory_order_acq_rel) == kBellAsleep)
    futex(&bell, FUTEX_WAKE, 1, nullptr);
}

void await_turn() {
  control *ctl = g_process.ctl;
  auto &bell = own_box().bell;
  bool mine = false;
  g_process.waiting = 1;
  for (unsigned i = ctl->spin.load(std::memory_order_relaxed); i > 0 && !mine && !g_process.peer_event; --i) {
    mine = bell.load(std::memory_order_acquire) == kBellTurn;
    if (!mine) _mm_pause();
  }
  const timespec timeout{static_cast<time_t>(g_process.liveness_ms / 1000),
                         static_cast<long>(g_process.liveness_ms % 1000) * 1000000L};
  while (!mine) {
    if (g_process.peer_event) check_peers();  // a SIGCHLD arrived while we were spinning
    // Announce the sleep (idle -> asleep) so the ringer knows to wake us; if it rang meanwhile, go on.
    std::uint32_t v = kBellIdle;
    if (bell.compare_exchange_strong(v, kBellAsleep, std::memory_order_acq_rel) || v == kBellAsleep) {
      futex(&bell, FUTEX_WAIT, kBellAsleep, &timeout);
    }
    mine = bell.load(std::memory_order_acquire) == kBellTurn;
    if (!mine) check_peers();  // timeout, signal or spurious wake-up: is everyone still alive?
  }
  g_process.waiting = 0;
  bell.store(kBellIdle, std::memory_order_relaxed);  // nobody rings us again before we ring someone
  if (ctl->dead.load(std::memory_order_acquire) || ctl->shutdown.load(std::memory_order_acquire)) {
    check_peers();  // does not return in these cases
  }
}

void serve_forever() {
  for (;;) {
    await_turn();
    const mailbox &m = own_box();
    if (once(m.kind) != kMsgCall) refuse("a return with no call waiting", once(m.from), once(m.to), 0);
    serve_call();
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
  if (st.slot_of[callee] == st.self_slot) return run_export(from, callee, id, args.a);  // same process
  mailbox &m = st.ctl->box[st.slot_of[callee]];
  m.kind = kMsgCall;
  m.from = from;
  m.to = callee;
  m.export_id = id;
  m.reply_slot = st.self_slot;
  for (int i = 0; i < kMaxArgs; ++i) m.w[i] = args.a[i];
  ring(st.slot_of[callee]);
  return wait_return();
}

}  // namespace detail

word process_backend::invoke(const target &t, erased_fn, const call_args &args) {
  return detail::process_call(t.callee, t.export_id, args);
}

}  // namespace flex::runtime
