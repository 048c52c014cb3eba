// Which heap serves an allocation: the running compartment's (from PKRU), the owner of a pointer, and the
// FlexOS shared-heap API. The table lives in the mpk runtime page, read-only after boot.
#include <dlfcn.h>
#include <malloc.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "flex/runtime/heap.h"
#include "flex/runtime/mpk_impl.h"

namespace flex::runtime {
namespace {

const heap_dispatch &table() {
  return flex_mpk_runtime.heaps;
}

bool installed() {
  return __atomic_load_n(&flex_mpk_runtime.heaps_on, __ATOMIC_ACQUIRE) != 0;
}

std::uint32_t rdpkru() {
  std::uint32_t eax;
  asm volatile("rdpkru" : "=a"(eax) : "c"(0) : "rdx");  // ECX must be 0; EDX is zeroed
  return eax;
}

}  // namespace

int heap_key_for_pkru(std::uint32_t pkru, const std::uint32_t pkru_by_key[16], int shared_key) {
  // Bit 2k of `open` is set when PKRU leaves key k fully accessible (AD and WD both clear).
  std::uint32_t open = ~pkru & ~(pkru >> 1) & 0x55555555u;
  open &= ~1u;  // key 0 is everybody's
  if (shared_key > 0 && shared_key < kPkeyCount) open &= ~(1u << (2 * shared_key));
  if (!open) return 0;
  int key = __builtin_ctz(open) / 2;
  return pkru_by_key[key] == pkru ? key : 0;
}

void heap_install(const heap_dispatch &d) {
  detail::mpk_runtime_page &page = flex_mpk_runtime;
  page.heaps = d;
  for (int k = 0; k < 16; ++k) {
    heap *h = d.by_key[k];
    page.heaps.lo_by_key[k] = h ? reinterpret_cast<std::uintptr_t>(h) : 0;
    page.heaps.hi_by_key[k] = h ? reinterpret_cast<std::uintptr_t>(h) + h->stats().region_bytes : 0;
    page.heaps.by_pkru |= h != nullptr;
  }
  // glibc's own malloc_usable_size, for its pointers once malloc_override.cc defines the public one.
  page.glibc_usable_size = reinterpret_cast<std::size_t (*)(void *)>(dlsym(RTLD_NEXT, "malloc_usable_size"));
  __atomic_store_n(&page.heaps_on, 1u, __ATOMIC_RELEASE);
}

void heap_install_process_own(heap *h) {
  heap_dispatch d = installed() ? table() : heap_dispatch{};
  d.process_own = h;
  heap_install(d);
}

bool heap_installed() {
  return installed();
}

heap *heap_current() {
  if (!installed()) return nullptr;
  const heap_dispatch &d = table();
  if (d.process_own) return d.process_own;
  if (!d.by_pkru) return nullptr;
  std::uint32_t pkru = d.read_pkru ? d.read_pkru() : rdpkru();
  int key = heap_key_for_pkru(pkru, d.pkru_by_key, d.shared_key);
  return key ? d.by_key[key] : nullptr;
}

heap *heap_owner(const void *p) {
  if (!p || !installed()) return nullptr;
  const heap_dispatch &d = table();
  const auto a = reinterpret_cast<std::uintptr_t>(p);
  for (int k = 0; k < 16; ++k) {
    if (d.by_key[k] && a >= d.lo_by_key[k] && a < d.hi_by_key[k]) return d.by_key[k];
  }
  if (d.process_own && d.process_own->owns(p)) return d.process_own;
  return d.shared && d.shared->owns(p) ? d.shared : nullptr;
}

heap *heap_shared() {
  return installed() ? table().shared : nullptr;
}

}  // namespace flex::runtime

using flex::runtime::heap;
using flex::runtime::heap_shared;

extern "C" void *flexos_malloc_whitelist(std::size_t size) {
  heap *s = heap_shared();
  if (!s) return std::malloc(size);
  void *p = s->malloc(size);
  if (!p) errno = ENOMEM;
  return p;
}

extern "C" void *flexos_calloc_whitelist(std::size_t n, std::size_t size) {
  if (size && n > SIZE_MAX / size) {
    errno = ENOMEM;
    return nullptr;
  }
  heap *s = heap_shared();
  if (!s) return std::calloc(n, size);
  void *p = s->malloc(n * size);
  if (!p) {
    errno = ENOMEM;
    return nullptr;
  }
  std::memset(p, 0, n * size);
  return p;
}

extern "C" void flexos_free_whitelist(void *p) {
  heap *s = heap_shared();
  if (s && s->owns(p)) {
    s->free(p);
  } else {
    std::free(p);
  }
}

extern "C" void *flexos_realloc_whitelist(void *p, std::size_t size) {
  heap *s = heap_shared();
  if (!s) return std::realloc(p, size);
  if (!p) return flexos_malloc_whitelist(size);
  if (s->owns(p)) {
    void *q = s->realloc(p, size);
    if (!q && size) errno = ENOMEM;
    return q;
  }
  // A private block made shared: move it into the shared heap.
  if (size == 0) {
    std::free(p);
    return nullptr;
  }
  void *q = s->malloc(size);
  if (!q) {
    errno = ENOMEM;
    return nullptr;
  }
  std::size_t old = malloc_usable_size(p);
  std::memcpy(q, p, old < size ? old : size);
  std::free(p);
  return q;
}
