// The malloc/new dispatch to per-compartment heaps, which this binary links for real: it references flex_malloc_override_anchor, as images do with -Wl,-u. The "current
// compartment" comes from a test PKRU source installed in the dispatch table instead of RDPKRU.
#include <malloc.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "flex/runtime/heap.h"
#include "flex/runtime/mpk.h"
#include "flexos/isolation.h"

extern "C" int flex_malloc_override_anchor;
[[maybe_unused]] static int *const kPullOverride = &flex_malloc_override_anchor;

namespace flex::runtime {
namespace {

// A mapped region that outlives the test (the dispatch tests leave blocks owned by gtest in their heaps).
heap *new_heap(std::size_t bytes) {
  void *p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return nullptr;
  return heap::create({p, bytes});
}

bool aligned_to(const void *p, std::size_t a) {
  return (reinterpret_cast<std::uintptr_t>(p) & (a - 1)) == 0;
}

// The allocator itself (blocks, alignment, realloc, exhaustion, statistics, corruption, threads, a
// randomized model check) is tested with the TLSF library (base/tlsf/src/tlsf_test.cc); here, the
// dispatch that picks the heap and the routing of every allocation entry point.

TEST(heap_dispatch, pkru_to_key) {
  std::uint32_t by_key[16] = {};
  for (int k = 1; k <= 3; ++k) by_key[k] = pkru_for(k, 4);
  for (int k = 1; k <= 3; ++k) EXPECT_EQ(heap_key_for_pkru(pkru_for(k, 4), by_key, 4), k);
  EXPECT_EQ(heap_key_for_pkru(kPkruAllAccess, by_key, 4), 0);                       // the runtime: glibc
  EXPECT_EQ(heap_key_for_pkru(0x55555554u, by_key, 4), 0);                          // Linux's default PKRU
  EXPECT_EQ(heap_key_for_pkru(pkru_for(5, 4), by_key, 4), 0);                       // not a domain's value
  EXPECT_EQ(heap_key_for_pkru(pkru_for(1, 4) & ~pkru_deny_bits(2), by_key, 4), 0);  // extra rights
  // Two none domains share rights: both map to the first one's heap.
  std::uint16_t none = (1u << 1) | (1u << 2);
  by_key[1] = by_key[2] = pkru_for(1, 4, none);
  EXPECT_EQ(heap_key_for_pkru(pkru_for(2, 4, none), by_key, 4), 1);
}

// ---- The dispatch, with malloc_override.cc linked ------------------------------------------------------

thread_local std::uint32_t t_pkru = kPkruRuntime;
std::uint32_t test_pkru() {
  return t_pkru;
}

struct dispatch_heaps {
  heap *one, *two, *shared;
};
// Installed once per process and never removed: blocks gtest allocates meanwhile stay owned.
const dispatch_heaps &install_once() {
  static const dispatch_heaps hs = [] {
    dispatch_heaps h{new_heap(8 << 20), new_heap(8 << 20), new_heap(8 << 20)};
    heap_dispatch d;
    d.by_key[1] = h.one;
    d.by_key[2] = h.two;
    d.pkru_by_key[1] = pkru_for(1, 3);
    d.pkru_by_key[2] = pkru_for(2, 3);
    d.shared_key = 3;
    d.shared = h.shared;
    d.read_pkru = &test_pkru;
    heap_install(d);
    return h;
  }();
  return hs;
}

struct in_compartment {
  explicit in_compartment(int key) { t_pkru = pkru_for(key, 3); }
  ~in_compartment() { t_pkru = kPkruRuntime; }
};

TEST(malloc_override, before_install_everything_is_glibcs) {
  if (heap_installed()) GTEST_SKIP() << "another test in this process installed the dispatch already";
  void *p = std::malloc(100);
  EXPECT_EQ(heap_owner(p), nullptr);
  EXPECT_GE(malloc_usable_size(p), 100u);
  p = std::realloc(p, 5000);
  std::free(p);
  EXPECT_EQ(heap_current(), nullptr);
  void *w = flexos_malloc_whitelist(10);  // no shared heap yet: the ordinary allocator
  EXPECT_EQ(heap_owner(w), nullptr);
  flexos_free_whitelist(w);
}

// A process image's main process without mpk domains has a shared heap and no key heaps: its
// allocations go to glibc (or its own heap) without reading PKRU, which would fault without PKU.
TEST(heap_dispatch, without_key_heaps_pkru_is_never_read) {
  EXPECT_EXIT(
      {
        heap_dispatch d;
        d.shared = new_heap(1 << 20);
        d.read_pkru = []() -> std::uint32_t { _exit(3); };
        heap_install(d);
        void *p = std::malloc(10);
        const bool glibc = heap_owner(p) == nullptr && heap_current() == nullptr;
        std::free(p);
        _exit(glibc ? 0 : 4);
      },
      ::testing::ExitedWithCode(0), "");
}

TEST(malloc_override, routes_c_allocations_to_the_running_compartment) {
  const dispatch_heaps &h = install_once();
  void *glibc = std::malloc(64);  // the runtime's PKRU is no compartment's
  EXPECT_EQ(heap_owner(glibc), nullptr);
  void *a, *b;
  {
    in_compartment c(1);
    a = std::malloc(100);
    EXPECT_TRUE(h.one->owns(a));
    auto *z = static_cast<unsigned char *>(std::calloc(100, 10));
    EXPECT_TRUE(h.one->owns(z));
    EXPECT_TRUE(std::all_of(z, z + 1000, [](unsigned char v) { return v == 0; }));
    std::free(z);
    std::free(glibc);  // freed by its owner (glibc), whoever runs
  }
  {
    in_compartment c(2);
    b = std::malloc(100);
    EXPECT_TRUE(h.two->owns(b));
    a = std::realloc(a, 100000);  // realloc keeps a block in the heap that owns it
    EXPECT_TRUE(h.one->owns(a));
    EXPECT_GE(malloc_usable_size(a), 100000u);
    std::free(a);
    void *moved = reallocarray(nullptr, 10, 10);
    EXPECT_TRUE(h.two->owns(moved));
    std::free(moved);
    errno = 0;
    EXPECT_EQ(reallocarray(nullptr, SIZE_MAX / 2, 4), nullptr);
    EXPECT_EQ(errno, ENOMEM);
  }
  std::free(b);
}

TEST(malloc_override, aligned_entry_points) {
  const dispatch_heaps &h = install_once();
  in_compartment c(1);
  void *p = nullptr;
  EXPECT_EQ(posix_memalign(&p, 4096, 100), 0);
  EXPECT_TRUE(h.one->owns(p) && aligned_to(p, 4096));
  std::free(p);
  EXPECT_EQ(posix_memalign(&p, 24, 100), EINVAL);
  EXPECT_EQ(posix_memalign(&p, 4, 100), EINVAL);  // not a multiple of sizeof(void *)
  p = aligned_alloc(256, 1000);
  EXPECT_TRUE(h.one->owns(p) && aligned_to(p, 256));
  std::free(p);
  volatile std::size_t odd = 48;  // (volatile: clang warns about constant non-power-of-two alignments)
  errno = 0;
  EXPECT_EQ(aligned_alloc(odd, 10), nullptr);
  EXPECT_EQ(errno, EINVAL);
  p = memalign(odd, 10);  // rounded up to 64, as glibc does
  EXPECT_TRUE(h.one->owns(p) && aligned_to(p, 64));
  std::free(p);
  p = valloc(10);
  EXPECT_TRUE(h.one->owns(p) && aligned_to(p, 4096));
  std::free(p);
  p = pvalloc(5000);
  EXPECT_TRUE(h.one->owns(p) && aligned_to(p, 4096));
  EXPECT_GE(malloc_usable_size(p), 8192u);
  std::free(p);
  errno = 0;
  EXPECT_EQ(std::malloc(SIZE_MAX - 100), nullptr);
  EXPECT_EQ(errno, ENOMEM);
}

struct alignas(512) big_aligned {
  char bytes[600];
};

TEST(malloc_override, operator_new_and_delete_in_every_form) {
  const dispatch_heaps &h = install_once();
  in_compartment c(2);
  auto *i = new int(5);
  EXPECT_TRUE(h.two->owns(i));
  delete i;
  auto *arr = new int[1000];
  EXPECT_TRUE(h.two->owns(arr));
  delete[] arr;
  auto *al = new big_aligned;
  EXPECT_TRUE(h.two->owns(al) && aligned_to(al, 512));
  delete al;
  auto *als = new big_aligned[3];
  EXPECT_TRUE(h.two->owns(als) && aligned_to(als, 512));
  delete[] als;
  auto *nt = new (std::nothrow) long[10];
  EXPECT_TRUE(h.two->owns(nt));
  ::operator delete[](nt, std::nothrow);
  volatile std::size_t huge = SIZE_MAX / 2;
  EXPECT_EQ(::operator new[](huge, std::nothrow), nullptr);
  void *sized = ::operator new(100);
  ::operator delete(sized, 100);
  void *ant = ::operator new (100, std::align_val_t{1024}, std::nothrow);
  EXPECT_TRUE(h.two->owns(ant) && aligned_to(ant, 1024));
  ::operator delete (ant, 100, std::align_val_t{1024});
  std::string s(10000, 'x');  // libstdc++ allocations land here too
  EXPECT_TRUE(h.two->owns(s.data()));
  EXPECT_EQ(h.two->stats().live_blocks, 1u);
}

TEST(malloc_override, whitelist_allocations_are_shared) {
  const dispatch_heaps &h = install_once();
  in_compartment c(1);
  void *p = flexos_malloc_whitelist(100);
  EXPECT_TRUE(h.shared->owns(p));
  p = flexos_realloc_whitelist(p, 5000);
  EXPECT_TRUE(h.shared->owns(p));
  flexos_free_whitelist(p);
  auto *z = static_cast<char *>(flexos_calloc_whitelist(10, 10));
  EXPECT_TRUE(h.shared->owns(z) && std::all_of(z, z + 100, [](char v) { return v == 0; }));
  flexos_free_whitelist(z);
  auto *priv = static_cast<char *>(std::malloc(10));
  std::strcpy(priv, "private");
  auto *shared = static_cast<char *>(flexos_realloc_whitelist(priv, 20));  // moved into the shared heap
  EXPECT_TRUE(h.shared->owns(shared));
  EXPECT_STREQ(shared, "private");
  std::free(shared);  // free() finds the owner too
  EXPECT_EQ(h.shared->stats().live_blocks, 0u);
  EXPECT_EQ(heap_shared(), h.shared);
}

// flexos_memory_usage reports the allocator of whoever runs: the compartment's heap, else glibc.
TEST(memory_usage, reports_the_running_compartments_heap) {
  const dispatch_heaps &h = install_once();
  flexos_mem_stats before{}, during{}, after{};
  {
    in_compartment c(2);
    flexos_memory_usage(&before);
    void *p = std::malloc(100000);
    asm volatile("" : : "r"(p) : "memory");  // the block must exist: no allocation elision
    flexos_memory_usage(&during);
    std::free(p);
    flexos_memory_usage(&after);
  }
  EXPECT_STREQ(during.allocator, "tlsf");
  EXPECT_EQ(during.heap_bytes, h.two->stats().region_bytes);
  EXPECT_GE(during.in_use_bytes, before.in_use_bytes + 100000);
  EXPECT_GE(during.peak_in_use_bytes, during.in_use_bytes);
  EXPECT_EQ(after.in_use_bytes, before.in_use_bytes);
  EXPECT_GT(during.resident_bytes, 0u);

  flexos_mem_stats glibc_before{}, glibc_during{};
  flexos_memory_usage(&glibc_before);  // the runtime's PKRU is no compartment's: glibc serves it
  void *big = std::malloc(4 << 20);
  asm volatile("" : : "r"(big) : "memory");
  flexos_memory_usage(&glibc_during);
  std::free(big);
  EXPECT_STREQ(glibc_during.allocator, "glibc");
  EXPECT_EQ(glibc_during.heap_bytes, 0u);
  EXPECT_GE(glibc_during.in_use_bytes, glibc_before.in_use_bytes + (4 << 20));
}

}  // namespace
}  // namespace flex::runtime
