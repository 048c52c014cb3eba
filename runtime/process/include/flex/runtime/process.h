// The `process` gate backend: a compartment in its own address space (DESIGN.md §6).
//
// At boot the image forks one process per `process` compartment. Shared regions are remapped
// MAP_SHARED at the addresses they already had, and a shared arena (channels, shared heap) is mapped
// once before forking, so every pointer into shared memory means the same thing in every process.
// Each compartment process munmaps every other compartment's private regions (statics, heap, stacks),
// and the main process munmaps those of the process compartments: the data is absent, not merely
// protected, so a compromised compartment cannot mprotect its way back to it. The main process keeps
// every compartment that is not `process` (those are separated by the call or MPK backends).
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
// Calls. One logical thread of control per image (the unikernel model: one host thread). Each process
// has a mailbox in the arena: a futex word (its "bell": whose turn it is) and one message {call or
// return, from, to, export id, reply process, 6 words}. A call writes the callee's mailbox, rings its bell
// and waits on its own: it spins `spin_iterations`, then sleeps in FUTEX_WAIT (shared, not private: the
// word is in MAP_SHARED memory) with a timeout that checks the other processes are alive. While waiting,
// a call addressed to this process is served (callbacks, A->B->A->B recursion to any depth, bounded only
// by the stacks); a return completes the innermost call, since calls nest strictly. The callee checks the
// export id against its own export table and never jumps to a pointer it was handed: invoke's `fn` is
// ignored. A callee in the caller's own process is called directly through the same table, without the
// channel (flexbuild instantiates the call or MPK gate for such boundaries anyway).
//
// Several host threads (not implemented): each thread would get its own row of mailboxes (one per
// process) in the arena, indexed by a thread slot taken when the thread starts, and each compartment
// process would run one server thread per client thread, created on that thread's first call; nesting
// and waiting stay per thread exactly as here, so callbacks still find the thread that is waiting.
//
// Death. A compartment process that dies (signal or exit) ends the image: the main process, told by
// SIGCHLD or by a waiter's timeout, prints `flex: compartment 'net' (pid N) died: killed by signal 9
// (Killed)`, kills the other processes, reaps them and exits with kExitDied. A fault or a refused call in
// any process is reported where it happens (fault.h) and ends the image with kExitFault or kExitBadCall.
// Children carry PR_SET_PDEATHSIG=SIGKILL, so they never outlive the main process; when the main process
// exits normally (exit or return from main), an atexit handler asks them to exit and reaps them. Each
// child is in a process group of its own, so ^C reaches the main process alone and the app's own SIGINT
// handling decides. The main process flushes stdio before ending the image, except when it ends it from a
// signal handler (a fault in the main process, or a death noticed while the app was running).
//
// Limitations: memory no compartment registered (the main thread's stack, the glibc heap, the runtime's
// own data) is inherited by every compartment process as a copy-on-write snapshot taken at boot, so boot
// runs before the app does; the runtime owns SIGCHLD in the main process after boot (a waiter's liveness
// check still catches deaths if the app replaces the handler); exit() called inside a compartment
// process is reported as that compartment's death; the channel is writable by every compartment, so a
// compromised one can forge calls (only to exported entry points, as the gate allows anyway) or stall the
// image; an unmapped range may later be reused by the same process's own mmap (that memory is then its
// own, though the registry still names the old owner); shared regions are memfd-backed, and closing
// /proc/self/map_files and /proc/self/mem to compartments is left to the lockdown (DESIGN.md §8).
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
void set_spin_iterations(unsigned n);         // for every process of the image, from the next wait on
void *shared_alloc(std::size_t bytes, std::size_t align = 16);  // from the arena; nullptr when full
std::size_t shared_arena_left();
// Asks every compartment process to exit and reaps them (what the main process's atexit handler does).
void process_shutdown();
heap *process_shared_heap();  // the heap boot carved from the arena (nullptr if none)
// The termination request flags (flexos_watch_termination) in the control block every process of the
// image maps; both null before boot or in images without compartment processes.
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
