// Whitelisted locals (sharing.stack, DESIGN.md §3 and §7): the storage flex-transform gives a local
// marked flexos_whitelist in a library with isolating boundaries. The transformed declaration
//
//   char buf[64] = "x";                                         // the original, now only an initialiser
//   __typeof__(buf) *const __flex_wl_buf __attribute__((cleanup(flexos_wl_release))) =
//       (__typeof__(buf) *)flexos_wl_alloc(&buf, sizeof buf, __alignof__(buf), FLEXOS_WL_DSS);
//
// takes storage every compartment may touch, copies the initial value into it, and gives it back when
// the scope ends, on every path out of it (the cleanup attribute). The modes:
//   FLEXOS_WL_DSS     the local's DSS mirror, when it lives on a stack of an mpk domain entered by a full
//                     gate (free: a fixed offset); elsewhere (light gates, process compartments, code on
//                     the boot stack) the shared stack below
//   FLEXOS_WL_SHARED  a per-thread stack carved from the shared heap (a bump pointer, LIFO)
//   FLEXOS_WL_HEAP    a block of the shared heap
// Whatever the mode, a request the shared stack cannot hold goes to the shared heap, and release tells
// the three apart by address, so one cleanup function serves every local.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "flex/runtime/heap.h"
#include "flex/runtime/mpk.h"
#include <flexos/isolation.h>

namespace {

constexpr std::size_t kSharedStackBytes = std::size_t{256} << 10;

// This thread's shared stack: [base, base + kSharedStackBytes), `top` the next free byte. Key-0 TLS, like
// the MPK thread table (what a compartment may write there is the key-0 question of DESIGN.md §5).
struct shared_stack {
  char *base = nullptr;
  char *top = nullptr;
};
thread_local shared_stack t_stack;

[[noreturn]] void fail(const char *what) {
  std::fprintf(stderr, "flex: whitelisted local: %s\n", what);
  std::abort();
}

bool in_stack(const void *p) {
  const char *c = static_cast<const char *>(p);
  return t_stack.base && c >= t_stack.base && c < t_stack.base + kSharedStackBytes;
}

void *push(std::size_t size, std::size_t align) {
  if (!t_stack.base) {
    t_stack.base = static_cast<char *>(flexos_malloc_whitelist(kSharedStackBytes));
    if (!t_stack.base) return nullptr;
    t_stack.top = t_stack.base;
  }
  auto at = (reinterpret_cast<std::uintptr_t>(t_stack.top) + align - 1) & ~(std::uintptr_t{align} - 1);
  // One word before the block remembers where the top was, so release restores it exactly.
  at = (at + sizeof(void *) + align - 1) & ~(std::uintptr_t{align} - 1);
  if (at + size > reinterpret_cast<std::uintptr_t>(t_stack.base) + kSharedStackBytes) return nullptr;
  reinterpret_cast<char **>(at)[-1] = t_stack.top;
  t_stack.top = reinterpret_cast<char *>(at + size);
  return reinterpret_cast<void *>(at);
}

void *from_heap(std::size_t size, std::size_t align) {
  void *p = nullptr;
  if (flex::runtime::heap *h = flex::runtime::heap_shared()) {
    p = h->memalign(align < flex::runtime::heap::kAlign ? flex::runtime::heap::kAlign : align, size ? size : 1);
  } else if (posix_memalign(&p, align < sizeof(void *) ? sizeof(void *) : align, size ? size : 1) != 0) {
    p = nullptr;  // no shared heap in this image (every boundary is a plain call)
  }
  return p;
}

}  // namespace

extern "C" void *flexos_wl_alloc(const void *init, size_t size, size_t align, int mode) {
  if (align == 0 || (align & (align - 1))) fail("bad alignment");
  void *p = nullptr;
  if (mode == FLEXOS_WL_DSS) p = flexos_dss_address(init);
  if (!p && mode != FLEXOS_WL_HEAP) p = push(size, align);
  if (!p) p = from_heap(size, align);
  if (!p) fail("out of shared memory");
  if (p != init) std::memcpy(p, init, size);  // the initial value (a DSS mirror holds stale bytes)
  return p;
}

extern "C" void flexos_wl_release(void *const *slot) {
  void *p = *slot;
  if (!p) return;
  if (in_stack(p)) {
    char *prev = static_cast<char **>(p)[-1];
    if (prev < t_stack.base || prev > t_stack.top) fail("the shared stack was corrupted");
    t_stack.top = prev;  // LIFO: scopes end in reverse order of their declarations
    return;
  }
  flex::runtime::heap *h = flex::runtime::heap_shared();
  if (!h) {
    std::free(p);  // posix_memalign'd by from_heap: this image has no shared heap (and so no DSS)
  } else if (h->owns(p)) {
    h->free(p);
  }
  // Otherwise a DSS mirror (images with DSS always have a shared heap): nothing to give back.
}

// User threads (uthread.cc): each has a shared stack of its own, swapped with its other gate state, since
// its whitelisted locals are released in its own LIFO order, not in the host thread's.
namespace flex::runtime {
std::size_t shared_locals_state_size() {
  return sizeof(shared_stack);
}
void shared_locals_swap(void *save, const void *load) {
  if (save) std::memcpy(save, &t_stack, sizeof t_stack);
  if (load) std::memcpy(&t_stack, load, sizeof t_stack);
}
void shared_locals_release(void *state) {
  shared_stack s;
  std::memcpy(&s, state, sizeof s);
  if (s.base) flexos_free_whitelist(s.base);
  std::memset(state, 0, sizeof s);
}
}  // namespace flex::runtime

extern "C" size_t flexos_whitelist_bytes_in_use(void) {
  std::size_t n = t_stack.base ? static_cast<std::size_t>(t_stack.top - t_stack.base) : 0;
  if (flex::runtime::heap *h = flex::runtime::heap_shared()) n += h->stats().in_use_bytes;
  return n;
}
