// Per-compartment heaps: one allocator per compartment over a fixed region tagged with its key, one shared
// heap tagged with the shared key, and the dispatch that sends malloc/free/new/delete to the heap of the
// compartment that is running (DESIGN.md §5).
//
//   heap *h = heap::create({region, bytes});   // the heap's own bookkeeping lives at the region's start
//   void *p = h->memalign(64, 100);
//   assert(h->owns(p) && h->usable_size(p) >= 100);
//   h->free(p);
//
// The allocator is the TLSF heap of base/tlsf (flex::tlsf::heap): O(1) malloc and free, 16-byte aligned blocks,
// one spin lock per heap, corruption it can see (double free, a pointer into a block, a foreign pointer)
// aborts with a message.
//
// Dispatch: malloc_override.cc routes every C and C++ allocation. It is its own archive member: an image
// links it with -Wl,-u,flex_malloc_override_anchor (any reference to malloc fetches it too), an ASan image
// must not (the sanitizer runtime defines malloc first and keeps its own allocator; forcing this file in
// would silently disable ASan's heap checks, so it refuses to start). Routing:
//   - before heap_install(), or in images without mpk domains: glibc (__libc_malloc and friends);
//   - afterwards: the heap of the running compartment, found from the PKRU register (RDPKRU), never from a
//     variable a compartment could overwrite; code whose PKRU is no compartment's (the runtime) uses glibc;
//   - free/realloc/usable_size go to the heap that owns the pointer (glibc when none does).
// The dispatch table lives in the mpk runtime page, which mpk_boot() makes read-only after boot.
#pragma once

#include <cstddef>
#include <cstdint>

#include <flex/tlsf/tlsf.h>

namespace flex::runtime {

// The allocator of every compartment heap and of the shared heap: the TLSF heap (base/tlsf, over a
// caller-given region, include/flex/tlsf/tlsf.h). It never maps memory, so a tagged
// region keeps its key; its state is offsets into the region, so the shared heap works across processes.
using heap_region = flex::tlsf::heap_region;
using heap_stats = flex::tlsf::heap_stats;
using heap = flex::tlsf::heap;

// ---- Dispatch (what malloc_override.cc and the whitelist API use) ----------------------------------------

// What mpk_boot() installs: the heap of each protection key and the PKRU value under which that heap is
// "the running compartment's". Keys without a heap are nullptr.
struct heap_dispatch {
  heap *by_key[16] = {};
  // Where each by_key heap's region lies, filled by heap_install: a domain must tell which heap owns a
  // block without reading the other domains' heap headers, which carry their keys.
  std::uintptr_t lo_by_key[16] = {}, hi_by_key[16] = {};
  std::uint32_t pkru_by_key[16] = {};
  int shared_key = 0;
  heap *shared = nullptr;
  // A process compartment's own heap: every allocation made in its process (where no PKRU tells
  // compartments apart), installed by the process backend in that process only.
  heap *process_own = nullptr;
  // Tests only: where to read the "PKRU" from instead of RDPKRU (hardware without PKU, emulated gates).
  std::uint32_t (*read_pkru)() = nullptr;
  // Set by heap_install when some key has a heap: only then is PKRU read (RDPKRU faults without PKU).
  bool by_pkru = false;
};

// Installs the dispatch table in the mpk runtime page (which must still be writable: before
// mpk_lock_runtime()). From then on malloc & co. route as described above.
void heap_install(const heap_dispatch &d);
bool heap_installed();
// In a process compartment's process, after boot: route its allocations to `h`, keeping the shared heap.
void heap_install_process_own(heap *h);

// The heap of the running compartment (nullptr: use glibc).
heap *heap_current();
// Opens what flexos_memory_usage reads (/proc/self/statm) for the calling process, so that it needs no
// file access later (the lockdown calls it before it confines the process).
void heap_usage_prepare();
// The heap that owns p (the shared heap included), nullptr if none.
heap *heap_owner(const void *p);
// The shared heap (nullptr before boot or in images without one).
heap *heap_shared();

// Maps a PKRU value to its compartment's key: the lowest key other than 0 and the shared key to which it
// grants full access, provided PKRU is exactly that key's PKRU value; 0 if none. Exposed for tests.
int heap_key_for_pkru(std::uint32_t pkru, const std::uint32_t pkru_by_key[16], int shared_key);

// ---- Whitelisted locals under user threads (uthread.h) ----------------------------------------------------
// Each user thread has a shared stack of whitelisted locals of its own (shared_locals.cc), swapped with
// its other gate state, since its locals are released in its own LIFO order, not in the host thread's.
std::size_t shared_locals_state_size();
void shared_locals_swap(void *save, const void *load);
void shared_locals_release(void *state);

}  // namespace flex::runtime

// The FlexOS shared-heap API (C ABI): allocations every compartment may read and write. Before boot, or in
// an image without a shared heap, they fall back to the ordinary allocator.
extern "C" {
void *flexos_malloc_whitelist(std::size_t size);
void *flexos_calloc_whitelist(std::size_t n, std::size_t size);
void flexos_free_whitelist(void *p);
void *flexos_realloc_whitelist(void *p, std::size_t size);
}
