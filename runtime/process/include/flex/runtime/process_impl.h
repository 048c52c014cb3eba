// For the process backend and its tests only: the channel layout and the state the backend's call path and
// its boot share. Nothing else includes this file; the rest of the runtime uses process.h.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "flex/runtime/process.h"

namespace flex::runtime {

namespace detail {

inline constexpr unsigned kMainSlot = kMaxCompartments;   // the main process's mailbox
inline constexpr unsigned kSlots = kMaxCompartments + 1;  // process compartment c uses mailbox c

enum : std::uint32_t { kBellIdle = 0, kBellTurn = 1, kBellAsleep = 2 };
enum : std::uint32_t { kMsgCall = 1, kMsgReturn = 2 };

struct alignas(128) mailbox {
  std::atomic<std::uint32_t> bell{kBellIdle};  // futex word: kBellTurn while this process runs
  std::uint32_t kind = 0;
  std::uint32_t from = 0;  // compartment indices
  std::uint32_t to = 0;
  std::uint32_t export_id = 0;
  std::uint32_t reply_slot = 0;  // the caller's mailbox, where the return goes
  word w[kMaxArgs] = {};         // arguments; w[0] carries the result of a return
};

struct control {
  std::atomic<std::uint32_t> dead{0};      // 0, or the exit status of an image being ended
  std::atomic<std::uint32_t> shutdown{0};  // the main process is exiting normally
  std::atomic<std::uint32_t> ready{0};     // compartment processes done unmapping
  std::atomic<std::uint32_t> term_watched{0};    // an app asked for SIGTERM/SIGINT (flexos_watch_termination)
  std::atomic<std::uint32_t> term_requested{0};  // and one arrived
  std::atomic<std::uint32_t> spin{0};
  std::atomic<std::size_t> arena_used{0};
  pid_t main_pid = 0;
  pid_t pids[kMaxCompartments] = {};  // for information only: the main process kills from its own copy
  mailbox box[kSlots];
};

struct process_state {
  control *ctl = nullptr;
  char *arena = nullptr;  // after ctl, page-aligned
  std::size_t arena_bytes = 0;
  unsigned self_slot = kMainSlot;
  unsigned n = 0;
  unsigned liveness_ms = 100;
  process_compartment comps[kMaxCompartments];
  unsigned slot_of[kMaxCompartments] = {};  // compartment -> mailbox of its process
  pid_t pids[kMaxCompartments] = {};        // process compartments' pids, trusted (main process only)
  void (*on_start)(unsigned compartment) = nullptr;
  bool booted = false;
  // Set by the main process while it waits in a gate: its SIGCHLD handler then leaves the report to the
  // waiter (normal context, so stdio can be flushed) and only raises peer_event.
  volatile int waiting = 0;
  volatile int peer_event = 0;
};
extern process_state g_process;

void ring(unsigned slot);
void await_turn();                  // returns holding the turn; handles shutdown and death on the way
[[noreturn]] void serve_forever();  // a compartment process's life after boot
void check_peers();                 // boot's liveness check, called by waiters on timeout

}  // namespace detail
}  // namespace flex::runtime
