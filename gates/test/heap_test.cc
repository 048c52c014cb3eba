// The per-compartment allocator (against a shadow model) and the malloc/new dispatch, which this binary
// links for real: it references flex_malloc_override_anchor, as images do with -Wl,-u. The "current
// compartment" comes from a test PKRU source installed in the dispatch table instead of RDPKRU.
#include <malloc.h>
#include <sys/mman.h>

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

#include "flex/gates/heap.h"
#include "flex/gates/mpk.h"

extern "C" int flex_malloc_override_anchor;
[[maybe_unused]] static int *const kPullOverride = &flex_malloc_override_anchor;

namespace flex::gates {
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

TEST(heap, create_checks_its_region) {
  alignas(64) static char small[1024];
  EXPECT_EQ(heap::create({small, sizeof small}), nullptr);
  void *p = ::mmap(nullptr, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  EXPECT_EQ(heap::create({static_cast<char *>(p) + 8, (1 << 20) - 8}), nullptr);
  EXPECT_EQ(heap::create({nullptr, 1 << 20}), nullptr);
  heap *h = heap::create({p, 1 << 20});
  ASSERT_NE(h, nullptr);
  EXPECT_EQ(h->stats().region_bytes, std::size_t{1} << 20);
  EXPECT_FALSE(h->owns(small));
}

TEST(heap, blocks_are_aligned_usable_and_owned) {
  heap *h = new_heap(1 << 20);
  for (std::size_t n : {0, 1, 15, 16, 17, 100, 1000, 4096, 100000}) {
    void *p = h->malloc(n);
    ASSERT_NE(p, nullptr) << n;
    EXPECT_TRUE(aligned_to(p, 16)) << n;
    EXPECT_GE(h->usable_size(p), n);
    EXPECT_LT(h->usable_size(p), n + 48);
    EXPECT_TRUE(h->owns(p));
    std::memset(p, 0xab, h->usable_size(p));
    h->free(p);
  }
  EXPECT_EQ(h->stats().live_blocks, 0u);
  h->free(nullptr);
}

TEST(heap, memalign_any_power_of_two) {
  heap *h = new_heap(16 << 20);
  std::vector<void *> live;
  for (std::size_t a = 1; a <= (std::size_t{1} << 20); a <<= 1) {
    for (std::size_t n : {1, 24, 4000}) {
      void *p = h->memalign(a, n);
      ASSERT_NE(p, nullptr) << a << " " << n;
      EXPECT_TRUE(aligned_to(p, a < 16 ? 16 : a)) << a;
      EXPECT_GE(h->usable_size(p), n);
      std::memset(p, 1, n);
      live.push_back(p);
    }
  }
  EXPECT_EQ(h->memalign(3, 10), nullptr);
  EXPECT_EQ(h->memalign(0, 10), nullptr);
  for (void *p : live) h->free(p);
  heap_stats s = h->stats();
  EXPECT_EQ(s.in_use_bytes, 0u);
  EXPECT_EQ(s.largest_free, s.free_bytes);  // the leading and trailing pieces coalesced back
}

TEST(heap, realloc_keeps_contents_and_shrinks_or_grows_in_place) {
  heap *h = new_heap(1 << 20);
  auto *p = static_cast<unsigned char *>(h->malloc(100));
  for (int i = 0; i < 100; ++i) p[i] = static_cast<unsigned char>(i);
  auto *q = static_cast<unsigned char *>(h->realloc(p, 40));
  EXPECT_EQ(q, p);                                        // shrinking never moves
  q = static_cast<unsigned char *>(h->realloc(q, 3000));  // the rest of the heap follows: grows in place
  EXPECT_EQ(q, p);
  for (int i = 0; i < 40; ++i) ASSERT_EQ(q[i], i);
  void *blocker = h->malloc(16);
  auto *r = static_cast<unsigned char *>(h->realloc(q, 100000));  // must move past the blocker
  ASSERT_NE(r, nullptr);
  EXPECT_NE(r, q);
  for (int i = 0; i < 40; ++i) ASSERT_EQ(r[i], i);
  EXPECT_EQ(h->realloc(r, 0), nullptr);  // frees
  void *fresh = h->realloc(nullptr, 10);
  EXPECT_TRUE(h->owns(fresh));
  h->free(fresh);
  h->free(blocker);
  EXPECT_EQ(h->stats().in_use_bytes, 0u);
}

TEST(heap, exhaustion_returns_null_and_counts) {
  heap *h = new_heap(64 << 10);
  std::vector<void *> live;
  while (void *p = h->malloc(1000)) live.push_back(p);
  EXPECT_GT(live.size(), 50u);
  EXPECT_EQ(h->stats().failed, 1u);
  EXPECT_EQ(h->malloc(std::size_t{1} << 40), nullptr);
  EXPECT_EQ(h->malloc(SIZE_MAX), nullptr);
  EXPECT_EQ(h->memalign(4096, SIZE_MAX - 10), nullptr);
  void *keep = live.back();
  std::memset(keep, 0x5a, 1000);
  EXPECT_EQ(h->realloc(keep, 60 << 10), nullptr);  // a failed realloc leaves the block alone
  EXPECT_EQ(static_cast<unsigned char *>(keep)[999], 0x5a);
  for (void *p : live) h->free(p);
  heap_stats s = h->stats();
  EXPECT_EQ(s.live_blocks, 0u);
  EXPECT_EQ(s.largest_free, s.free_bytes);
  void *big = h->malloc(s.largest_free - 16);  // everything coalesced: the whole heap is one block again
  EXPECT_NE(big, nullptr);
  EXPECT_EQ(h->malloc(1), nullptr);
}

TEST(heap, stats_follow_the_blocks) {
  heap *h = new_heap(1 << 20);
  heap_stats empty = h->stats();
  void *a = h->malloc(100), *b = h->malloc(200);
  heap_stats s = h->stats();
  EXPECT_EQ(s.allocs, 2u);
  EXPECT_EQ(s.live_blocks, 2u);
  EXPECT_EQ(s.in_use_bytes, 128u + 224u);  // 16-byte headers, 16-byte granules
  EXPECT_EQ(s.in_use_bytes, h->usable_size(a) + h->usable_size(b) + 32);
  EXPECT_EQ(s.in_use_bytes + s.free_bytes, empty.free_bytes);
  h->free(a);
  h->free(b);
  s = h->stats();
  EXPECT_EQ(s.frees, 2u);
  EXPECT_EQ(s.in_use_bytes, 0u);
  EXPECT_EQ(s.peak_in_use_bytes, 352u);
}

TEST(heap, corruption_is_fatal) {
  heap *h = new_heap(1 << 20);
  void *p = h->malloc(10);
  h->free(p);
  EXPECT_DEATH(h->free(p), "double free");
  void *q = h->malloc(64);
  std::memset(q, 0, 64);
  EXPECT_DEATH(h->free(static_cast<char *>(q) + 16), "");
  int outside;
  EXPECT_DEATH(h->free(&outside), "not a block of this heap");
}

// Random malloc/memalign/realloc/free against a model of the live blocks and their contents.
TEST(heap, randomized_against_a_shadow_model) {
  heap *h = new_heap(32 << 20);
  std::mt19937_64 rng(42);
  struct block {
    std::size_t size;
    unsigned char fill;
  };
  std::map<std::uintptr_t, block> live;
  auto check_contents = [&](std::uintptr_t a, const block &b) {
    auto *p = reinterpret_cast<unsigned char *>(a);
    for (std::size_t i = 0; i < b.size; i += 1 + b.size / 8) ASSERT_EQ(p[i], b.fill);
    if (b.size) ASSERT_EQ(p[b.size - 1], b.fill);
  };
  auto add = [&](void *p, std::size_t n, std::size_t align) {
    ASSERT_TRUE(aligned_to(p, align));
    ASSERT_GE(h->usable_size(p), n);
    auto a = reinterpret_cast<std::uintptr_t>(p);
    auto next = live.lower_bound(a);  // no overlap with a live block
    if (next != live.end()) ASSERT_GE(next->first, a + std::max<std::size_t>(n, 1));
    if (next != live.begin()) {
      auto prev = std::prev(next);
      ASSERT_LE(prev->first + std::max<std::size_t>(prev->second.size, 1), a);
    }
    auto fill = static_cast<unsigned char>(rng());
    std::memset(p, fill, n);
    live[a] = {n, fill};
  };
  auto size = [&] {
    unsigned r = rng() % 100;
    return r < 70 ? rng() % 128 : r < 95 ? rng() % 4096 : rng() % (256 << 10);
  };
  for (int op = 0; op < 200000; ++op) {
    unsigned what = rng() % 10;
    if (live.empty() || what < 4) {
      std::size_t n = size();
      if (void *p = h->malloc(n)) add(p, n, 16);
    } else if (what < 5) {
      std::size_t n = size(), a = std::size_t{1} << (rng() % 13);
      if (void *p = h->memalign(a, n)) add(p, n, a);
    } else {
      auto it = live.begin();
      std::advance(it, rng() % std::min<std::size_t>(live.size(), 64));
      if (rng() % 2) std::advance(it, rng() % live.size() / 2);
      if (it == live.end()) it = live.begin();
      check_contents(it->first, it->second);
      if (what < 7) {
        std::size_t n = size();
        block old = it->second;
        void *p = h->realloc(reinterpret_cast<void *>(it->first), n);
        if (!p && n) continue;  // full: the old block is intact
        live.erase(it);
        if (!p) continue;
        auto *c = static_cast<unsigned char *>(p);
        for (std::size_t i = 0; i < std::min(old.size, n); i += 1 + n / 8) ASSERT_EQ(c[i], old.fill);
        add(p, n, 16);
      } else {
        h->free(reinterpret_cast<void *>(it->first));
        live.erase(it);
      }
    }
    if (op % 20000 == 0) ASSERT_EQ(h->stats().live_blocks, live.size());
  }
  for (auto &[a, b] : live) {
    check_contents(a, b);
    h->free(reinterpret_cast<void *>(a));
  }
  heap_stats s = h->stats();
  EXPECT_EQ(s.live_blocks, 0u);
  EXPECT_EQ(s.in_use_bytes, 0u);
  EXPECT_EQ(s.largest_free, s.free_bytes) << "free blocks were not all coalesced";
  EXPECT_EQ(s.allocs - s.frees, 0u);
}

TEST(heap, threads_share_one_heap_safely) {
  heap *h = new_heap(64 << 20);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([h, t] {
      std::mt19937 rng(static_cast<unsigned>(t));
      std::vector<std::pair<unsigned char *, std::size_t>> mine;
      for (int i = 0; i < 50000; ++i) {
        if (mine.size() < 100 && rng() % 2) {
          std::size_t n = rng() % 2000;
          auto *p = static_cast<unsigned char *>(h->malloc(n));
          if (!p) continue;
          std::memset(p, t + 1, n);
          mine.push_back({p, n});
        } else if (!mine.empty()) {
          auto [p, n] = mine.back();
          mine.pop_back();
          for (std::size_t j = 0; j < n; ++j) {
            if (p[j] != t + 1) std::abort();  // another thread wrote into this block
          }
          h->free(p);
        }
      }
      for (auto [p, n] : mine) h->free(p);
    });
  }
  for (auto &t : threads) t.join();
  EXPECT_EQ(h->stats().live_blocks, 0u);
  EXPECT_EQ(h->stats().largest_free, h->stats().free_bytes);
}

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

}  // namespace
}  // namespace flex::gates
