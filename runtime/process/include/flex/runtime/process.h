// The `process` gate backend: a compartment in its own address space (DESIGN.md §6).
//
// At boot the image forks one process per `process` compartment. Shared regions are remapped
// MAP_SHARED at the addresses they already had, and the shared arena (shared_alloc, the shared heap) and
// the runtime's channels are mapped once before forking, so every pointer into shared memory means the
// same thing in every process. Each compartment process munmaps every other compartment's private regions
// (statics, heap, stacks), and the main process munmaps those of the process compartments: the data is
// absent, not merely protected, so a compromised compartment cannot mprotect its way back to it. The main
// process keeps every compartment that is not `process` (those are separated by the call or MPK backends).
//
//   // erase(f): reinterpret_cast<erased_fn>(reinterpret_cast<void (*)()>(f)), see gate.h
//   static const flex::runtime::erased_fn net_exports[] = {erase(&net_recv), erase(&net_send)};
//   flex::runtime::process_compartment comps[] = {
//       {.name = "app"},
//       {.name = "net", .own_process = true, .exports = net_exports, .n_exports = 2,
//        .regions = net_regions, .n_regions = 3},
//   };
//   flex::runtime::process_config cfg{.compartments = comps, .n_compartments = 2,
//                                   .shared = shared, .n_shared = 1};
//   if (auto s = flex::runtime::process_boot(cfg); !s.ok()) ...;  // children never return from boot
//   using gate = flex::runtime::gate<flex::runtime::process_backend>;
//   long n = gate::call({.callee = 1, .export_id = 0}, nullptr, &net_recv, fd, buf, len, 0);
//
// Who maps what. Two processes are peers when a boundary joins compartments they hold (`peers`; the main
// process holds every compartment that has no process of its own). A compartment process maps only what
// it is a party to, and no word whose corruption would forge another pair's calls or results or stop the
// image:
//   - per pair of peers, one page: their channel, a mailbox per direction; only the two of them map it;
//   - per compartment process, one page with the main process (in the same page as their channel when
//     they are peers): the words it tells the main process (the status it ends the image with, that it is
//     ready, that it watches termination requests); only the two of them map it;
//   - per process, a page with its bell, mapped by its peers, and the main process's bell by every
//     process, the other bells by the main process (a ring only makes the process look, see below);
//   - one page the main process writes (the shutdown request, spin_iterations, the termination request,
//     the pids): mapped read-only in compartment processes, from a memfd sealed so that it cannot be made
//     writable again;
//   - the shared arena and regions: whitelisted data, shared by design (FlexOS's shared data) and mapped
//     by every process. Any compartment can write them, their bookkeeping included (the arena's counter,
//     the shared heap's free lists), so what they hold is only as trustworthy as the least trusted
//     compartment.
// Each process munmaps, after the fork, every page it is not a party to, and marks it absent in the region
// registry, so touching one is reported as a fault on memory it does not own ("address belongs to shared
// region 'flex.channel b-app'"). With `narrow_channels = false` (for the attack tests only) every process
// keeps every page, writable: a compromised compartment can then forge any pair's calls and results and
// stop the image.
//
// Calls. One logical thread of control per image (the unikernel model: one host thread). A call writes
// {call, from, to, export id, 6 words} into the callee process's mailbox of their channel, bumps its
// sequence number, rings the callee's bell and waits: it spins `spin_iterations` over its channels, then
// sleeps in FUTEX_WAIT on its bell (shared, not private: the word is in MAP_SHARED memory) with a timeout
// that checks the other processes are alive. A ring only says "look": a process woken without a new
// message checks on its peers (a death, the shutdown) and waits again, so a spurious ring costs a wake-up
// and nothing else. While waiting, a call from any peer is served (callbacks, A->B->A->B recursion and
// A->B->C->A chains to any depth, bounded only by the stacks); its result goes back on the channel it
// came on. A return completes the innermost call, and only on the channel that call went out on, since
// calls nest strictly. Every field is read once from shared memory and checked: the callee must live in
// this process, the caller in the process at the other end of the channel, the export id in the callee's
// own export table (it never jumps to a pointer it was handed: invoke's `fn` is ignored). A callee in the
// caller's own process is called directly through the same table, without a channel (flexbuild
// instantiates the call or MPK gate for such boundaries anyway).
//
// Several host threads (not implemented): each thread would get its own row of mailboxes in each channel,
// indexed by a thread slot taken when the thread starts, and each compartment process would run one
// server thread per client thread, created on that thread's first call; nesting and waiting stay per
// thread exactly as here, so callbacks still find the thread that is waiting.
//
// Death. A compartment process that dies (signal or exit) ends the image: the main process, told by
// SIGCHLD or by a waiter's timeout, prints `flex: compartment 'net' (pid N) died: killed by signal 9
// (Killed)`, kills the other processes, reaps them and exits with kExitDied. A fault or a refused call in
// any process is reported where it happens (fault.h) and ends the image with kExitFault or kExitBadCall
// (a compartment process announces it in its page with the main process, which takes only those two
// statuses from it, any other as a death: no process can announce an end for another). Children carry
// PR_SET_PDEATHSIG=SIGKILL, so they never outlive the main process; when the main process exits normally
// (exit or return from main), an atexit handler asks them to exit and reaps them (a child that exits
// without being asked is a death, whatever the shared pages say). Each child is in a process group of its
// own, so ^C reaches the main process alone and the app's own SIGINT handling decides. The main process
// flushes stdio before ending the image, except when it ends it from a signal handler (a fault in the
// main process, or a death noticed while the app was running).
//
// Limitations: memory no compartment registered (the main thread's stack, the glibc heap, the runtime's
// own data) is inherited by every compartment process as a copy-on-write snapshot taken at boot, so boot
// runs before the app does; the runtime owns SIGCHLD in the main process after boot (a waiter's liveness
// check still catches deaths if the app replaces the handler); exit() called inside a compartment
// process is reported as that compartment's death; a compromised compartment can still call its peers'
// exported entry points (as the gate allows) at any time, also while they wait for another peer, which
// can disturb the order of their calls (not their content), or stall the image by not answering; the
// main process, which holds the runtime, can still stop every process; an unmapped range may later be
// reused by the same process's own mmap (that memory is then its own, though the registry still names the
// old owner); shared regions are memfd-backed, and closing /proc/self/map_files and /proc/self/mem to
// compartments is left to the lockdown (DESIGN.md §8).
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstddef>
#include <cstdio>
#include <cstdint>

#include "flex/runtime/backend.h"
#include "flex/runtime/fault.h"
#include "flex/runtime/gate.h"
#include "flex/runtime/heap.h"
#include "flex/runtime/status.h"

namespace flex::runtime {

// A page-aligned range of memory: [begin, end).
struct process_region {
  void *begin = nullptr;
  void *end = nullptr;
  region_kind kind = region_kind::data;
  const char *name = "";
};

struct process_compartment {
  const char *name = "";
  bool own_process = false;            // isolation: process
  const erased_fn *exports = nullptr;  // export id -> entry point; must stay readable in its own process
  unsigned n_exports = 0;
  const process_region *regions = nullptr;  // its private memory: unmapped in every other process
  unsigned n_regions = 0;
  // Its heap, one of `regions` (mapped before the fork): its process allocates from it alone once booted,
  // so the other processes, where it is unmapped, fault on its pointers. {} keeps glibc's heap.
  void *heap_base = nullptr;
  std::size_t heap_bytes = 0;
  // The top of its stack, one of `regions`: its process serves calls on it (16-byte aligned; nullptr:
  // the boot thread's stack, a copy of which every process has).
  void *stack_top = nullptr;
};

struct process_config {
  const process_compartment *compartments = nullptr;  // index = compartment index in gate targets
  unsigned n_compartments = 0;
  // Made MAP_SHARED at the same address, content preserved. rodata regions are left alone: read-only
  // private copies stay identical.
  const process_region *shared = nullptr;
  unsigned n_shared = 0;
  std::size_t arena_bytes = std::size_t{1} << 20;  // shared heap handed out by shared_alloc
  unsigned spin_iterations = 20000;  // pause-loop iterations before sleeping on the futex; 0: sleep at once
  unsigned main_compartment = 0;     // what the main process runs as; kNoCompartment when all are processes
  unsigned liveness_ms = 100;        // how often a sleeping waiter checks that its peers are alive
  // When non-zero, a heap of this size is carved from the arena before any fork and installed as the
  // shared heap (flexos_malloc_whitelist & co.) in every process; arena_bytes must leave room for it.
  std::size_t shared_heap_bytes = 0;
  // Which compartments talk: bit j of peers[i] set when a boundary joins compartments i and j (either
  // direction is enough). Two processes get a channel when a boundary joins compartments they hold.
  // nullptr: every pair. Each channel costs a page and an entry in the region registry.
  const std::uint64_t *peers = nullptr;
  // true: each process maps only the channels and control words it is a party to (above). false: every
  // process maps every channel, and the control words the main process writes stay writable everywhere:
  // the layout without the defence, for the attack tests to show what it stops. No profile sets it.
  bool narrow_channels = true;
  // Called in each compartment process once booted, before it serves its first call (the lockdown).
  void (*on_start)(unsigned compartment) = nullptr;
};

// Boots the compartments. In the main process returns success once every compartment process has unmapped
// what it must, or what is wrong (a bad config, a failure before any fork), nothing forked. In a
// compartment process it never returns: the process serves calls until the image ends. Call it once,
// single-threaded, with the config's strings alive for the image's lifetime. Failures after forking end
// the image with a report.
status process_boot(const process_config &cfg);

bool process_booted();
pid_t compartment_pid(unsigned compartment);  // its process (the main pid for non-process ones); -1 if none
void set_spin_iterations(unsigned n);         // main process only: for every process, from the next wait on
void *shared_alloc(std::size_t bytes, std::size_t align = 16);  // from the arena; nullptr when full
std::size_t shared_arena_left();
// Asks every compartment process to exit and reaps them (what the main process's atexit handler does).
void process_shutdown();
heap *process_shared_heap();  // the heap boot carved from the arena (nullptr if none)
// The termination request flags (flexos_watch_termination): the request in the page the main process
// writes and every process reads; the watch in this process's own memory (the main process) or in its page
// with the main process (a compartment process), and the main process's answer folds in its children's.
// Both null before boot or in images without compartment processes.
struct termination_flags {
  std::atomic<std::uint32_t> *watched = nullptr;
  std::atomic<std::uint32_t> *requested = nullptr;
};
termination_flags process_termination_flags();

// The process backend's lifecycle (backend.h): builds the process_config of an image from its layout table
// (each process compartment's statics, heap and stack; the main process's heap and stack), boots it and
// hands the shared heap and the app's stack on to the next backends.
struct process_lifecycle {
  static constexpr const char *kName = "process";
  static constexpr const char *kGates[] = {"process"};
  static bool applies(const flex_image_layout &img);  // a process compartment
  static status check(const flex_image_layout &) { return {}; }
  static status boot(boot_context &ctx);
  static void teardown() { process_shutdown(); }
  static void describe(const flex_image_layout &img, std::FILE *out);  // which compartment has which process
};
static_assert(lifecycle<process_lifecycle>);

struct process_backend {
  static constexpr const char *kName = "process";
  struct target {
    unsigned callee = 0;     // compartment index
    unsigned export_id = 0;  // index into the callee's export table
  };
  static word invoke(const target &t, erased_fn, const call_args &args);
};
static_assert(backend<process_backend>);

}  // namespace flex::runtime
