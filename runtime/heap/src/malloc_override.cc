// malloc & co. and operator new/delete, routed to the running compartment's heap (heap.h).
//
// Its own archive member. How it gets linked, given archive semantics:
//   - an image whose link defines malloc before libflex_gates.a (ASan: the sanitizer runtime comes first)
//     does not fetch it, and must not force it with -u: ASan's interceptors are weak, so this file's
//     malloc would silently replace them and turn ASan's heap checks off (a constructor below refuses);
//   - any other image fetches it by its first reference to malloc; -Wl,-u,flex_malloc_override_anchor
//     states the intent (and pulls it even into an image that calls no allocator directly).
// An image that must not have it needs it outside libflex_gates.a (its own library, linked or not).
// Before heap_install() (mpk_boot) every call goes to glibc's __libc_* entry points, so pre-boot and
// non-mpk images behave exactly as without this file.
#include <dlfcn.h>
#include <malloc.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>

#include "flex/runtime/heap.h"
#include "flex/runtime/mpk_impl.h"

extern "C" {
void *__libc_malloc(std::size_t);
void __libc_free(void *);
void *__libc_calloc(std::size_t, std::size_t);
void *__libc_realloc(void *, std::size_t);
void *__libc_memalign(std::size_t, std::size_t);

// The linker is told to pull this member by this symbol (-Wl,-u,flex_malloc_override_anchor).
int flex_malloc_override_anchor = 0;
}

// Defined only when AddressSanitizer's runtime is linked in.
extern "C" void __asan_init() __attribute__((weak));

namespace {

using flex::runtime::heap;

// An ASan image that forced this file in would lose ASan's heap checking without a word: refuse.
__attribute__((constructor)) void refuse_under_asan() {
  if (&__asan_init != nullptr) {
    static const char msg[] =
        "flex: malloc_override.cc is linked into an AddressSanitizer image; it would turn ASan's heap checks "
        "off. Link ASan images without -Wl,-u,flex_malloc_override_anchor\n";
    (void)!::write(2, msg, sizeof msg - 1);
    std::abort();
  }
}

using flex::runtime::heap_current;
using flex::runtime::heap_owner;

bool power_of_two(std::size_t v) {
  return v && !(v & (v - 1));
}

void *aligned(std::size_t align, std::size_t n) {
  if (heap *h = heap_current()) {
    void *p = h->memalign(align, n);
    if (!p) errno = ENOMEM;
    return p;
  }
  return __libc_memalign(align, n);
}

std::size_t glibc_usable_size(void *p) {
  auto fn = flex_mpk_runtime.glibc_usable_size;
  if (!fn) fn = reinterpret_cast<std::size_t (*)(void *)>(dlsym(RTLD_NEXT, "malloc_usable_size"));
  return fn ? fn(p) : 0;
}

[[noreturn]] void out_of_memory(std::size_t n) {
  char msg[120];
  int len = std::snprintf(msg, sizeof msg,
                          "flex: operator new(%zu): out of memory in this compartment's heap\n", n);
  if (len > 0) (void)!::write(2, msg, static_cast<std::size_t>(len) < sizeof msg ? len : sizeof msg - 1);
  std::abort();  // exceptions never cross a gate, and Flex code is built without them
}

// operator new: retry through the new-handler, as the standard asks, then give up.
void *new_or_die(std::size_t n, std::size_t align) {
  for (;;) {
    void *p = align > heap::kAlign ? aligned(align, n) : malloc(n);
    if (p) return p;
    std::new_handler h = std::get_new_handler();
    if (!h) out_of_memory(n);
    h();
  }
}

}  // namespace

extern "C" {

void *malloc(std::size_t n) noexcept {
  if (heap *h = heap_current()) {
    void *p = h->malloc(n);
    if (!p) errno = ENOMEM;
    return p;
  }
  return __libc_malloc(n);
}

void free(void *p) noexcept {
  if (heap *h = heap_owner(p)) {
    h->free(p);
  } else {
    __libc_free(p);
  }
}

void *calloc(std::size_t n, std::size_t size) noexcept {
  heap *h = heap_current();
  if (!h) return __libc_calloc(n, size);
  if (size && n > SIZE_MAX / size) {
    errno = ENOMEM;
    return nullptr;
  }
  void *p = h->malloc(n * size);
  if (!p) {
    errno = ENOMEM;
    return nullptr;
  }
  return std::memset(p, 0, n * size);  // heap blocks are recycled, unlike fresh glibc mmaps
}

void *realloc(void *p, std::size_t n) noexcept {
  if (!p) return malloc(n);
  if (heap *h = heap_owner(p)) {  // the block stays in the heap that owns it
    void *q = h->realloc(p, n);
    if (!q && n) errno = ENOMEM;
    return q;
  }
  return __libc_realloc(p, n);
}

void *reallocarray(void *p, std::size_t n, std::size_t size) noexcept {
  if (size && n > SIZE_MAX / size) {
    errno = ENOMEM;
    return nullptr;
  }
  return realloc(p, n * size);
}

int posix_memalign(void **out, std::size_t align, std::size_t n) noexcept {
  if (!power_of_two(align) || align % sizeof(void *)) return EINVAL;
  int saved = errno;
  void *p = aligned(align, n);
  errno = saved;  // posix_memalign reports through its result only
  if (!p) return ENOMEM;
  *out = p;
  return 0;
}

void *aligned_alloc(std::size_t align, std::size_t n) noexcept {
  if (!power_of_two(align)) {
    errno = EINVAL;
    return nullptr;
  }
  return aligned(align, n);
}

void *memalign(std::size_t align, std::size_t n) noexcept {
  if (align < heap::kAlign) align = heap::kAlign;
  if (!power_of_two(align)) {  // glibc rounds up to the next power of two
    if (align > (SIZE_MAX >> 1)) {
      errno = EINVAL;
      return nullptr;
    }
    align = std::size_t{1} << (64 - __builtin_clzll(align));
  }
  return aligned(align, n);
}

void *valloc(std::size_t n) noexcept {
  return aligned(static_cast<std::size_t>(::getpagesize()), n);
}

void *pvalloc(std::size_t n) noexcept {
  auto page = static_cast<std::size_t>(::getpagesize());
  if (n > SIZE_MAX - page) {
    errno = ENOMEM;
    return nullptr;
  }
  return aligned(page, n ? (n + page - 1) & ~(page - 1) : page);
}

std::size_t malloc_usable_size(void *p) noexcept {
  if (!p) return 0;
  if (heap *h = heap_owner(p)) return h->usable_size(p);
  return glibc_usable_size(p);
}

}  // extern "C"

void *operator new(std::size_t n) {
  return new_or_die(n, 0);
}
void *operator new[](std::size_t n) {
  return new_or_die(n, 0);
}
void *operator new(std::size_t n, const std::nothrow_t &) noexcept {
  return malloc(n);
}
void *operator new[](std::size_t n, const std::nothrow_t &) noexcept {
  return malloc(n);
}
void *operator new(std::size_t n, std::align_val_t a) {
  return new_or_die(n, static_cast<std::size_t>(a));
}
void *operator new[](std::size_t n, std::align_val_t a) {
  return new_or_die(n, static_cast<std::size_t>(a));
}
void *operator new(std::size_t n, std::align_val_t a, const std::nothrow_t &) noexcept {
  return aligned(static_cast<std::size_t>(a), n);
}
void *operator new[](std::size_t n, std::align_val_t a, const std::nothrow_t &) noexcept {
  return aligned(static_cast<std::size_t>(a), n);
}

void operator delete(void *p) noexcept {
  free(p);
}
void operator delete[](void *p) noexcept {
  free(p);
}
void operator delete(void *p, const std::nothrow_t &) noexcept {
  free(p);
}
void operator delete[](void *p, const std::nothrow_t &) noexcept {
  free(p);
}
void operator delete(void *p, std::size_t) noexcept {
  free(p);
}
void operator delete[](void *p, std::size_t) noexcept {
  free(p);
}
void operator delete(void *p, std::align_val_t) noexcept {
  free(p);
}
void operator delete[](void *p, std::align_val_t) noexcept {
  free(p);
}
void operator delete(void *p, std::size_t, std::align_val_t) noexcept {
  free(p);
}
void operator delete[](void *p, std::size_t, std::align_val_t) noexcept {
  free(p);
}
void operator delete(void *p, std::align_val_t, const std::nothrow_t &) noexcept {
  free(p);
}
void operator delete[](void *p, std::align_val_t, const std::nothrow_t &) noexcept {
  free(p);
}
