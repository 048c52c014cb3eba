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

// A process of the image: process compartment c is slot c, the main process (every other compartment) is
// kMainSlot.
inline constexpr unsigned kMainSlot = kMaxCompartments;
inline constexpr unsigned kSlots = kMaxCompartments + 1;
inline constexpr unsigned kNoSlot = ~0u;

enum : std::uint32_t { kBellIdle = 0, kBellRung = 1, kBellAsleep = 2 };
enum : std::uint8_t { kMsgCall = 1, kMsgReturn = 2 };

// One direction of a channel: the sender writes the message, then bumps `seq`; the receiver, which keeps
// the last sequence number it took in its own memory, sees a new message when `seq` differs from it. Only
// the channel's two processes map it. One cache line: the flag and the message travel together.
struct alignas(64) mailbox {
  std::atomic<std::uint32_t> seq{0};
  std::uint8_t kind = 0;
  std::uint8_t from = 0;  // compartment indices (< kMaxCompartments)
  std::uint8_t to = 0;
  std::uint8_t unused = 0;
  std::uint32_t export_id = 0;
  std::uint32_t unused2 = 0;
  word w[kMaxArgs] = {};  // arguments; w[0] carries the result of a return
};
static_assert(sizeof(mailbox) == 64 && kMaxCompartments <= 256);

// What a compartment process tells the main process, in the page only the two of them map.
struct child_control {
  std::atomic<std::uint32_t> ended{0};         // 0, or the status it is ending the image with (reported)
  std::atomic<std::uint32_t> ready{0};         // done unmapping what is not its own
  std::atomic<std::uint32_t> term_watched{0};  // it asked for termination requests (flexos_watch_termination)
};

// The page of a pair of processes (a "pair unit"): the channel between them when they are peers (box[i]:
// messages to the pair's i-th process, the lower slot first), and, when one of them is the main process,
// the other's control words. Mapped by the two processes alone.
struct pair_page {
  struct alignas(128) padded_box {
    mailbox m;
  };
  padded_box box[2];
  alignas(128) child_control ctl;
};

// A process's doorbell (a "bell unit", a page of its own): the futex word it sleeps on, rung by its peers,
// by every compartment process (the main process's bell: to hurry a death report) and by the main process
// (every bell: at shutdown). A ring says "look": the sleeper checks its channels, so a spurious ring only
// wakes it.
struct alignas(64) bell {
  std::atomic<std::uint32_t> v{kBellIdle};
};

// Written by the main process, read by every process (read-only in compartment processes: a sealed memfd
// mapped without write access, so mprotect cannot give it back).
struct broadcast {
  std::atomic<std::uint32_t> shutdown{0};        // the main process is exiting normally
  std::atomic<std::uint32_t> spin{0};            // pause iterations before a waiter sleeps
  std::atomic<std::uint32_t> term_requested{0};  // SIGTERM or SIGINT arrived (flexos_termination_requested)
  pid_t pids[kMaxCompartments] = {};             // for compartment_pid in compartment processes
};

// A set of processes (slots).
struct slot_set {
  std::uint64_t children = 0;
  bool main = false;
  bool has(unsigned s) const { return s == kMainSlot ? main : (children >> s & 1) != 0; }
  void add(unsigned s) {
    if (s == kMainSlot)
      main = true;
    else
      children |= std::uint64_t{1} << s;
  }
};

// This process's end of the channel to a peer process.
struct channel_end {
  const mailbox *in = nullptr;  // messages from the peer
  mailbox *out = nullptr;       // messages to it
  bell *peer_bell = nullptr;
  std::uint32_t taken = 0;  // the last sequence number taken from `in`
  std::uint32_t sent = 0;   // the last sequence number put in `out`
};

struct process_state {
  // Mapped before the fork at the same address in every process; each process then unmaps the units it is
  // not a party to (process_channels.cc).
  char *units = nullptr;
  std::size_t unit_bytes = 0;  // one page
  unsigned n_units = 0;
  broadcast *bc = nullptr;
  int bc_fd = -1;  // its memfd, open until every compartment process has remapped it read-only
  char *arena = nullptr;
  std::size_t arena_bytes = 0;
  std::atomic<std::size_t> *arena_used = nullptr;  // in the arena's first page, shared by every process
  bool narrow = true;                              // process_config::narrow_channels
  slot_set peers[kSlots];                     // which processes have a channel (the relation is symmetric)
  bell *bells[kSlots] = {};                   // in this process, nullptr where unmapped or not a process
  child_control *ctl[kMaxCompartments] = {};  // main <-> child pages; in a child, only its own is kept
  channel_end links[kSlots];                  // this process's channels; out == nullptr: none
  unsigned peer_slots[kSlots] = {};           // the slots of `links` in use, for the waiter's scan
  unsigned n_peer_slots = 0;

  unsigned self_slot = kMainSlot;
  unsigned n = 0;
  unsigned liveness_ms = 100;
  process_compartment comps[kMaxCompartments];
  unsigned slot_of[kMaxCompartments] = {};  // compartment -> slot of its process
  pid_t main_pid = 0;
  pid_t pids[kMaxCompartments] = {};           // process compartments' pids, trusted (main process only)
  std::atomic<std::uint32_t> main_watched{0};  // the main process's termination watch (with its children's)
  void (*on_start)(unsigned compartment) = nullptr;
  bool booted = false;
  // Main process: its atexit handler is reaping. Its own memory, not a shared word a child could set.
  volatile int shutting_down = 0;
  // Set by the main process while it waits in a gate: its SIGCHLD handler then leaves the report to the
  // waiter (normal context, so stdio can be flushed) and only raises peer_event.
  volatile int waiting = 0;
  volatile int peer_event = 0;
};
extern process_state g_process;

// The channels (process_channels.cc): planned and mapped before the fork, narrowed after it.
int map_channels(const process_config &cfg);  // 0 or a negative errno
int narrow_channels_after_fork();             // in each process, once its slot is known
pair_page *pair_of(unsigned a, unsigned b);   // the two processes' page (nullptr if not mapped here)

void ring(bell *b);
unsigned await_message();           // the slot whose channel holds a new message; deaths, shutdown on the way
[[noreturn]] void serve_forever();  // a compartment process's life after boot
void check_words();                 // the shutdown request, a child's announced end: memory only
void check_peers();                 // those, and whether the other processes live (system calls)

}  // namespace detail
}  // namespace flex::runtime
