// Unit tests of the TLSF heap: size classes, alignment, realloc, exhaustion, coalescing, statistics,
// corruption aborts, a randomized run against a model, threads, and a region shared between processes
// (the thread caches: tlsf_cache_test.cc).
#include "flex/tlsf/tlsf.h"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <iterator>
#include <map>
#include <random>
#include <thread>
#include <vector>

#include "tlsf_test_util.h"

namespace flex::tlsf {
namespace {


TEST(alloc_create, rejects_bad_regions) {
  region r(1 << 20);
  EXPECT_EQ(heap::create({nullptr, 1 << 20}), nullptr);
  EXPECT_EQ(heap::create({r.base() + 16, (1 << 20) - 64}), nullptr);  // not 64-byte aligned
  EXPECT_EQ(heap::create({r.base(), heap::kMinRegion - 1}), nullptr);
  heap *h = heap::create({r.base(), heap::kMinRegion});
  ASSERT_NE(h, nullptr);
  EXPECT_EQ(static_cast<void *>(h), r.base());
  heap_stats s = h->stats();
  EXPECT_EQ(s.region_bytes, heap::kMinRegion);
  EXPECT_GT(s.free_bytes, heap::kMinRegion / 2);  // the bookkeeping of a small heap is small
  EXPECT_EQ(s.largest_free, s.free_bytes);
  EXPECT_EQ(s.in_use_bytes, 0u);
  EXPECT_TRUE(h->verify());
}

// Requests just below, at and above every class boundary (every 16 bytes below 512, then 32 classes per
// power of two) get a 16-aligned block of exactly the expected size, and leave the heap consistent.
TEST(alloc_sizes, every_class_boundary) {
  region r(std::size_t{64} << 20);
  heap *h = make(r);
  std::vector<std::size_t> starts;
  for (std::size_t s = 32; s < 512; s += 16) starts.push_back(s);
  for (int lg = 9; lg < 25; ++lg) {
    for (std::size_t sl = 0; sl < 32; ++sl) starts.push_back((std::size_t{1} << lg) + (sl << (lg - 5)));
  }
  std::size_t requests = 0;
  for (std::size_t s : starts) {
    for (std::size_t n : {s - 9, s - 8, s - 7}) {
      void *p = h->malloc(n);
      ASSERT_NE(p, nullptr) << n;
      ASSERT_TRUE(aligned(p, heap::kAlign)) << n;
      ASSERT_EQ(h->usable_size(p), block_for(n) - 8) << n;
      std::memset(p, 0xab, h->usable_size(p));
      void *q = h->malloc(16);  // a neighbour, so the block cannot merge back into the rest at once
      ASSERT_NE(q, nullptr);
      ASSERT_TRUE(h->verify()) << n;
      h->free(p);
      h->free(q);
      ++requests;
    }
  }
  EXPECT_TRUE(h->verify());
  heap_stats s = h->stats();
  EXPECT_EQ(s.live_blocks, 0u);
  EXPECT_EQ(s.allocs, 2 * requests);
  EXPECT_EQ(s.frees, 2 * requests);
  EXPECT_EQ(s.largest_free, s.free_bytes);
  EXPECT_EQ(h->malloc(std::size_t{64} << 20), nullptr);
  EXPECT_EQ(h->malloc(~std::size_t{0}), nullptr);
  EXPECT_EQ(h->malloc(~std::size_t{0} - 8), nullptr);
  EXPECT_EQ(h->stats().failed, 3u);
  void *z = h->malloc(0);  // a real, freeable block
  ASSERT_NE(z, nullptr);
  EXPECT_EQ(h->usable_size(z), 24u);
  h->free(z);
  h->free(nullptr);
}

TEST(alloc_align, every_power_of_two_up_to_64_kib) {
  region r(std::size_t{16} << 20);
  heap *h = make(r);
  std::vector<void *> live;
  for (std::size_t align = 1; align <= 64 * 1024; align <<= 1) {
    for (std::size_t n : {std::size_t{1}, std::size_t{24}, std::size_t{100}, std::size_t{5000}}) {
      void *p = h->memalign(align, n);
      ASSERT_NE(p, nullptr) << align << " " << n;
      EXPECT_TRUE(aligned(p, std::max(align, heap::kAlign))) << align << " " << n;
      EXPECT_GE(h->usable_size(p), n);
      EXPECT_LT(h->usable_size(p), n + 48) << "the alignment slack must go back to the heap";
      fill(p, n, static_cast<std::uint32_t>(align + n));
      live.push_back(p);
      ASSERT_TRUE(h->verify()) << align << " " << n;
    }
  }
  std::size_t i = 0;
  for (std::size_t align = 1; align <= 64 * 1024; align <<= 1) {
    for (std::size_t n : {std::size_t{1}, std::size_t{24}, std::size_t{100}, std::size_t{5000}}) {
      EXPECT_TRUE(intact(live[i++], n, static_cast<std::uint32_t>(align + n)));
    }
  }
  for (std::size_t k = 0; k < live.size(); k += 2) h->free(live[k]);
  EXPECT_TRUE(h->verify());
  for (std::size_t k = 1; k < live.size(); k += 2) h->free(live[k]);
  EXPECT_TRUE(h->verify());
  heap_stats s = h->stats();
  EXPECT_EQ(s.live_blocks, 0u);
  EXPECT_EQ(s.largest_free, s.free_bytes);
  EXPECT_EQ(h->memalign(0, 16), nullptr);
  EXPECT_EQ(h->memalign(48, 16), nullptr);
  EXPECT_EQ(h->memalign(std::size_t{1} << 30, 16), nullptr);  // larger than the region
  EXPECT_EQ(h->stats().failed, 3u);
  // Large alignments well inside a small heap.
  region small(heap::kMinRegion * 16);
  heap *g = make(small);
  void *p = g->memalign(64 * 1024, 100);
  ASSERT_NE(p, nullptr);
  EXPECT_TRUE(aligned(p, 64 * 1024));
  g->free(p);
  EXPECT_TRUE(g->verify());
}

TEST(alloc_realloc, grows_into_free_neighbour_and_shrinks_in_place) {
  region r(1 << 20);
  heap *h = make(r);
  char *a = static_cast<char *>(h->malloc(100));
  char *b = static_cast<char *>(h->malloc(200));
  char *c = static_cast<char *>(h->malloc(100));
  fill(a, 100, 1);
  h->free(b);
  EXPECT_EQ(h->realloc(a, 250), a);  // into b's space
  EXPECT_GE(h->usable_size(a), 250u);
  EXPECT_TRUE(intact(a, 100, 1));
  EXPECT_TRUE(h->verify());
  EXPECT_EQ(h->realloc(a, 300), a);  // a + b is exactly 112 + 208 = 320 bytes: 312 usable
  EXPECT_EQ(h->usable_size(a), 312u);
  EXPECT_TRUE(h->verify());
  fill(a, 300, 2);
  EXPECT_EQ(h->realloc(a, 40), a);  // shrink: the tail goes back to the heap
  EXPECT_EQ(h->usable_size(a), 40u);
  EXPECT_TRUE(intact(a, 40, 2));
  EXPECT_TRUE(h->verify());
  char *d = static_cast<char *>(h->malloc(200));
  EXPECT_EQ(d, a + 48) << "the shrunk tail is free and reused";
  h->free(d);
  // No free neighbour big enough: the block moves, its contents with it.
  fill(a, 40, 3);
  heap_stats before = h->stats();
  char *m = static_cast<char *>(h->realloc(a, 4000));
  ASSERT_NE(m, nullptr);
  EXPECT_NE(m, a);
  EXPECT_TRUE(intact(m, 40, 3));
  heap_stats after = h->stats();
  EXPECT_EQ(after.allocs, before.allocs + 1);
  EXPECT_EQ(after.frees, before.frees + 1);
  EXPECT_EQ(after.live_blocks, before.live_blocks);
  // The last block grows into the free rest of the region.
  EXPECT_EQ(h->realloc(m, 100000), m);
  EXPECT_TRUE(intact(m, 40, 3));
  EXPECT_TRUE(h->verify());
  // realloc(p, 0) frees.
  EXPECT_EQ(h->realloc(m, 0), nullptr);
  h->free(c);
  EXPECT_EQ(h->stats().live_blocks, 0u);
  EXPECT_TRUE(h->verify());
}

// The remainder of the last split (the designated block) serves a run of requests from one place, takes a
// block freed next to it back at once, and never wins over a smaller listed block that fits.
TEST(alloc_designated, runs_are_contiguous_and_good_fit_holds) {
  region r(1 << 20);
  heap *h = make(r);
  std::vector<char *> run;
  for (std::size_t n : {3000, 100, 5000, 700, 40000, 24}) {
    run.push_back(static_cast<char *>(h->malloc(n)));
    if (run.size() > 1) {
      EXPECT_EQ(run[run.size() - 1], run[run.size() - 2] + block_for(h->usable_size(run[run.size() - 2])))
          << "request " << run.size() << " is carved right behind the previous one";
    }
  }
  ASSERT_TRUE(h->verify());
  // The last block of the run merges back into the designated block, and the next request of its size
  // gets the same place.
  char *last = run.back();
  h->free(last);
  EXPECT_TRUE(h->verify());
  EXPECT_EQ(h->malloc(24), last);
  // A hole in the middle of the run (5000 bytes) is listed. A request it fits takes it, not the far larger
  // designated block; a request it does not fit goes to the designated block.
  char *hole = run[2];
  h->free(hole);
  EXPECT_TRUE(h->verify());
  char *big = static_cast<char *>(h->malloc(6000));
  EXPECT_GT(big, run.back()) << "6000 bytes do not fit the hole";
  EXPECT_EQ(h->malloc(4500), hole) << "the smaller listed fit wins over the designated block";
  EXPECT_TRUE(h->verify());
  // realloc grows into the designated block when it is the next one.
  char *grown = static_cast<char *>(h->realloc(big, 200000));
  EXPECT_EQ(grown, big);
  EXPECT_GE(h->usable_size(grown), 200000u);
  EXPECT_TRUE(h->verify());
  // Freeing everything leaves one free block again, whatever was designated on the way.
  h->free(grown);
  h->free(hole);
  for (std::size_t i = 0; i + 1 < run.size(); ++i) {
    if (run[i] != hole) h->free(run[i]);
  }
  h->free(last);
  EXPECT_TRUE(h->verify());
  heap_stats s = h->stats();
  EXPECT_EQ(s.live_blocks, 0u);
  EXPECT_EQ(s.largest_free, s.free_bytes);
}

TEST(alloc_exhaustion, returns_null_and_counts_failures) {
  region r(heap::kMinRegion);
  heap *h = make(r);
  std::vector<void *> live;
  for (;;) {
    void *p = h->malloc(100);
    if (!p) break;
    live.push_back(p);
  }
  ASSERT_GT(live.size(), 50u);
  heap_stats s = h->stats();
  EXPECT_EQ(s.failed, 1u);
  EXPECT_LT(s.largest_free, block_for(100));
  EXPECT_EQ(h->memalign(64, 100), nullptr);
  EXPECT_EQ(h->stats().failed, 2u);
  // A realloc that cannot be satisfied leaves the old block valid.
  fill(live[0], 100, 9);
  EXPECT_EQ(h->realloc(live[0], 10000), nullptr);
  EXPECT_EQ(h->stats().failed, 3u);
  EXPECT_TRUE(intact(live[0], 100, 9));
  for (void *p : live) h->free(p);
  EXPECT_TRUE(h->verify());
  EXPECT_NE(h->malloc(100), nullptr);
}

TEST(alloc_coalesce, free_all_then_one_block_of_everything) {
  region r(std::size_t{8} << 20);
  heap *h = make(r);
  const std::size_t whole = h->stats().free_bytes;
  std::mt19937 rng(7);
  std::vector<void *> live;
  for (int i = 0; i < 5000; ++i) {
    void *p = (i % 7 == 0) ? h->memalign(256, rng() % 600) : h->malloc(rng() % 1500);
    ASSERT_NE(p, nullptr);
    live.push_back(p);
  }
  std::shuffle(live.begin(), live.end(), rng);
  for (void *p : live) h->free(p);
  ASSERT_TRUE(h->verify());
  heap_stats s = h->stats();
  EXPECT_EQ(s.free_bytes, whole);
  EXPECT_EQ(s.largest_free, whole) << "every free block merged back into one";
  void *all = h->malloc(whole - 8);
  ASSERT_NE(all, nullptr);
  EXPECT_EQ(h->usable_size(all), whole - 8);
  EXPECT_EQ(h->malloc(0), nullptr);
  h->free(all);
  EXPECT_TRUE(h->verify());
}

TEST(alloc_stats, counts_every_operation) {
  region r(1 << 20);
  heap *h = make(r);
  const heap_stats s0 = h->stats();
  void *a = h->malloc(100);   // block of 112
  void *b = h->malloc(1000);  // block of 1008
  heap_stats s = h->stats();
  EXPECT_EQ(s.in_use_bytes, 112u + 1008u);
  EXPECT_EQ(s.peak_in_use_bytes, 112u + 1008u);
  EXPECT_EQ(s.free_bytes, s0.free_bytes - 1120);
  EXPECT_EQ(s.largest_free, s.free_bytes);
  EXPECT_EQ(s.live_blocks, 2u);
  EXPECT_EQ(s.allocs, 2u);
  h->free(b);
  void *c = h->memalign(4096, 10);  // block of 32
  s = h->stats();
  EXPECT_EQ(s.in_use_bytes, 112u + 32u);
  EXPECT_EQ(s.peak_in_use_bytes, 1120u);
  EXPECT_EQ(s.live_blocks, 2u);
  EXPECT_EQ(s.allocs, 3u);
  EXPECT_EQ(s.frees, 1u);
  EXPECT_EQ(s.in_use_bytes + s.free_bytes, s0.free_bytes);
  EXPECT_LT(s.largest_free, s.free_bytes) << "the aligned block splits the free space";
  h->free(a);
  h->free(c);
  s = h->stats();
  EXPECT_EQ(s.in_use_bytes, 0u);
  EXPECT_EQ(s.live_blocks, 0u);
  EXPECT_EQ(s.frees, 3u);
  EXPECT_EQ(s.failed, 0u);
  EXPECT_EQ(s.largest_free, s0.largest_free);
  EXPECT_EQ(s.region_bytes, std::size_t{1} << 20);
}

// ---- Corruption -------------------------------------------------------------------------------------------

using alloc_DeathTest = ::testing::Test;

TEST_F(alloc_DeathTest, double_free) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  region r(1 << 20);
  heap *h = make(r);
  void *p = h->malloc(100);
  void *q = h->malloc(100);
  h->free(p);
  EXPECT_DEATH(h->free(p), "flex alloc: free\\(0x[0-9a-f]+\\): double free");
  h->free(q);  // p merged into q's free block: p's header is still there, saying free
  EXPECT_DEATH(h->free(p), "double free");
  EXPECT_DEATH(h->free(q), "double free");
}

TEST_F(alloc_DeathTest, pointer_into_a_block) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  region r(1 << 20);
  heap *h = make(r);
  char *p = static_cast<char *>(h->malloc(1000));
  std::memset(p, 0, 1000);
  EXPECT_DEATH(h->free(p + 16), "not the start of a block");
  fill(p, 1000, 5);
  EXPECT_DEATH(h->free(p + 256), "not the start of a block");
  EXPECT_DEATH(h->free(p + 8), "not a block of this heap");  // not 16-aligned
  EXPECT_DEATH(h->realloc(p + 32, 10), "flex alloc: realloc\\(.*not the start of a block");
  EXPECT_DEATH(h->usable_size(p + 64), "malloc_usable_size\\(.*not the start of a block");
  h->free(p);
}

TEST_F(alloc_DeathTest, foreign_pointer) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  region r(1 << 20), other(1 << 20);
  heap *h = make(r);
  heap *g = make(other);
  int local = 0;
  void *q = g->malloc(64);
  EXPECT_FALSE(h->owns(&local));
  EXPECT_FALSE(h->owns(q));
  EXPECT_TRUE(g->owns(q));
  EXPECT_FALSE(h->owns(h));  // its own bookkeeping is no block
  EXPECT_DEATH(h->free(&local), "not a block of this heap");
  EXPECT_DEATH(h->free(q), "not a block of this heap");
  EXPECT_DEATH(h->free(r.base() + 64), "not a block of this heap");
}

TEST_F(alloc_DeathTest, overflow_into_the_next_header) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  region r(1 << 20);
  heap *h = make(r);
  char *p = static_cast<char *>(h->malloc(100));
  char *q = static_cast<char *>(h->malloc(100));
  char *s = static_cast<char *>(h->malloc(100));
  h->free(q);
  std::memset(p, 0x41, h->usable_size(p) + 16);  // past the end: over q's size word
  EXPECT_DEATH(h->free(p), "the next block's header was overwritten");
  std::memset(s, 0x41, h->usable_size(s) + 16);  // over the header of the free rest of the region
  EXPECT_DEATH(h->free(s), "header was overwritten");
}

// ---- A randomized run against a model ---------------------------------------------------------------------

struct live_block {
  std::size_t n;  // requested bytes, filled with the pattern
  std::size_t usable;
  std::uint32_t seed;
};

TEST(alloc_random, agrees_with_a_model) {
  region r(std::size_t{32} << 20);
  heap *h = make(r);
  const std::size_t whole = h->stats().free_bytes;
  std::mt19937_64 rng(20240601);
  std::map<std::uintptr_t, live_block> model;
  std::uint64_t allocs = 0, frees = 0, failed = 0;
  std::size_t in_use = 0;

  auto random_size = [&]() -> std::size_t {
    std::uint64_t k = rng() % 100;
    if (k < 70) return rng() % 256;
    if (k < 95) return rng() % 8192;
    return rng() % (256 * 1024);
  };
  auto track = [&](void *p, std::size_t n) {
    ASSERT_TRUE(aligned(p, heap::kAlign));
    ASSERT_TRUE(h->owns(p));
    auto a = reinterpret_cast<std::uintptr_t>(p);
    std::size_t usable = h->usable_size(p);
    ASSERT_GE(usable, n);
    auto next = model.lower_bound(a);
    ASSERT_TRUE(next == model.end() || next->first >= a + usable) << "overlaps the next live block";
    if (next != model.begin()) {
      auto prev = std::prev(next);
      ASSERT_LE(prev->first + prev->second.usable, a) << "overlaps the previous live block";
    }
    auto seed = static_cast<std::uint32_t>(rng());
    fill(p, n, seed);
    model[a] = {n, usable, seed};
    in_use += usable + 8;
  };
  auto pick = [&]() {
    auto it = model.lower_bound(reinterpret_cast<std::uintptr_t>(r.base()) + rng() % (std::size_t{32} << 20));
    return it == model.end() ? model.begin() : it;
  };

  for (int op = 0; op < 200000; ++op) {
    std::uint64_t k = rng() % 100;
    bool grow = model.size() < 3000;
    if (model.empty() || (grow && k < 45) || (!grow && k < 25)) {
      std::size_t n = random_size();
      void *p;
      if (rng() % 8 == 0) {
        std::size_t align = std::size_t{1} << (rng() % 14);
        p = h->memalign(align, n);
        if (p) ASSERT_TRUE(aligned(p, align));
      } else {
        p = h->malloc(n);
      }
      if (!p) {
        ++failed;
        continue;
      }
      ++allocs;
      track(p, n);
    } else if (k < 75) {
      auto it = pick();
      ASSERT_TRUE(intact(reinterpret_cast<void *>(it->first), it->second.n, it->second.seed));
      h->free(reinterpret_cast<void *>(it->first));
      in_use -= it->second.usable + 8;
      model.erase(it);
      ++frees;
    } else {
      auto it = pick();
      live_block old = it->second;
      void *p = reinterpret_cast<void *>(it->first);
      std::size_t n = (rng() % 2) ? random_size() : old.n + rng() % 512;
      if (n == 0) n = 1;
      void *q = h->realloc(p, n);
      if (!q) {
        ++failed;
        ASSERT_TRUE(intact(p, old.n, old.seed));
        continue;
      }
      if (q != p) {
        ++allocs;
        ++frees;
      }
      ASSERT_TRUE(intact(q, std::min(old.n, n), old.seed)) << "realloc kept the contents";
      in_use -= old.usable + 8;
      model.erase(it);
      track(q, n);
    }
    if (op % 1000 == 0) {
      heap_stats s = h->stats();
      ASSERT_EQ(s.live_blocks, model.size());
      ASSERT_EQ(s.in_use_bytes, in_use);
      ASSERT_EQ(s.free_bytes, whole - in_use);
      ASSERT_EQ(s.allocs, allocs);
      ASSERT_EQ(s.frees, frees);
      ASSERT_EQ(s.failed, failed);
      ASSERT_GE(s.peak_in_use_bytes, in_use);
      ASSERT_LE(s.largest_free, s.free_bytes);
      ASSERT_TRUE(h->verify()) << "after " << op << " operations";
    }
  }
  for (auto &[a, b] : model) {
    ASSERT_TRUE(intact(reinterpret_cast<void *>(a), b.n, b.seed));
    h->free(reinterpret_cast<void *>(a));
  }
  ASSERT_TRUE(h->verify());
  heap_stats s = h->stats();
  EXPECT_EQ(s.live_blocks, 0u);
  EXPECT_EQ(s.largest_free, whole);
  EXPECT_GT(s.peak_in_use_bytes, std::size_t{1} << 20);
}

// ---- Concurrency ------------------------------------------------------------------------------------------

TEST(alloc_threads, one_heap_many_threads) {
  region r(std::size_t{16} << 20);
  heap *h = make(r);
  const int kThreads = 4;
  std::vector<std::thread> threads;
  std::vector<int> errors(kThreads, 0);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([h, t, &errors] {
      std::mt19937 rng(t);
      std::vector<std::pair<void *, std::uint32_t>> mine;
      for (int i = 0; i < 50000; ++i) {
        if (mine.size() < 200 && (mine.empty() || rng() % 2)) {
          std::size_t n = 1 + rng() % 700;
          void *p = h->malloc(n);
          if (!p) continue;
          std::uint32_t seed = rng();
          fill(p, 24, seed);
          mine.push_back({p, seed});
        } else {
          std::size_t k = rng() % mine.size();
          if (!intact(mine[k].first, 24, mine[k].second)) ++errors[t];
          h->free(mine[k].first);
          mine[k] = mine.back();
          mine.pop_back();
        }
      }
      for (auto &[p, seed] : mine) h->free(p);
    });
  }
  for (auto &th : threads) th.join();
  for (int e : errors) EXPECT_EQ(e, 0);
  EXPECT_TRUE(h->verify());
  EXPECT_EQ(h->stats().live_blocks, 0u);
}

// A heap in a MAP_SHARED region serves a parent and a forked child at once.
TEST(alloc_shared, forked_processes_share_one_heap) {
  region r(std::size_t{1} << 20, MAP_SHARED);
  heap *h = heap::create(r.get(), {.cross_process = true});
  ASSERT_NE(h, nullptr);
  void *mine = h->malloc(64);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    int bad = 0;
    for (int i = 0; i < 100; ++i) {
      void *p = h->malloc(32 + i);
      if (!p)
        ++bad;
      else
        fill(p, 32 + i, static_cast<std::uint32_t>(i));
    }
    h->free(mine);
    ::_exit(bad || !h->verify() ? 1 : 0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  heap_stats s = h->stats();
  EXPECT_EQ(s.live_blocks, 100u) << "the child's blocks are in the parent's heap";
  EXPECT_EQ(s.frees, 1u);
  EXPECT_TRUE(h->verify());
}

// Two single-threaded processes (each would leave the lock out of a private heap) allocate and free at
// once from a cross-process heap: the lock keeps its lists whole and no block is handed out twice.
TEST(alloc_shared, single_threaded_processes_at_once_take_the_lock) {
  EXPECT_EXIT(
      {
        region r(std::size_t{4} << 20, MAP_SHARED);
        heap *h = heap::create(r.get(), {.cross_process = true});
        pid_t pid = ::fork();
        const std::uint32_t me = pid == 0 ? 2 : 1;
        int bad = h && pid >= 0 ? 0 : 1;
        std::mt19937 rng(me);
        std::vector<void *> mine;
        for (int i = 0; h && i < 200000; ++i) {
          if (mine.size() < 64 && (mine.empty() || rng() % 2)) {
            void *p = h->malloc(16 + rng() % 2000);
            if (!p) {
              ++bad;
              continue;
            }
            fill(p, 16, me);
            mine.push_back(p);
          } else {
            std::size_t k = rng() % mine.size();
            if (!intact(mine[k], 16, me)) ++bad;
            h->free(mine[k]);
            mine[k] = mine.back();
            mine.pop_back();
          }
        }
        for (void *p : mine) h->free(p);
        if (pid == 0) ::_exit(bad ? 1 : 0);
        int status = 0;
        ::waitpid(pid, &status, 0);
        const bool child_ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
        ::_exit(!bad && child_ok && h->verify() && h->stats().live_blocks == 0 ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
}

// The same heap mapped at two addresses: offsets, not pointers, link its blocks.
TEST(alloc_shared, mapped_at_two_addresses) {
  const std::size_t bytes = std::size_t{1} << 20;
  int fd = ::memfd_create("flex-alloc-test", 0);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::ftruncate(fd, bytes), 0);
  char *x = static_cast<char *>(::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
  char *y = static_cast<char *>(::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
  ::close(fd);
  ASSERT_NE(x, MAP_FAILED);
  ASSERT_NE(y, MAP_FAILED);
  heap *hx = heap::create({x, bytes});
  ASSERT_NE(hx, nullptr);
  auto *hy = reinterpret_cast<heap *>(y);
  char *p = static_cast<char *>(hx->malloc(300));
  fill(p, 300, 77);
  char *py = p - x + y;
  EXPECT_TRUE(hy->owns(py));
  EXPECT_FALSE(hy->owns(p));
  EXPECT_TRUE(intact(py, 300, 77));
  EXPECT_EQ(hy->usable_size(py), hx->usable_size(p));
  char *q = static_cast<char *>(hy->realloc(py, 5000));
  ASSERT_NE(q, nullptr);
  EXPECT_TRUE(intact(q - y + x, 300, 77));
  hy->free(q);
  EXPECT_TRUE(hx->verify());
  EXPECT_EQ(hx->stats().live_blocks, 0u);
  ::munmap(x, bytes);
  ::munmap(y, bytes);
}

}  // namespace
}  // namespace flex::tlsf
