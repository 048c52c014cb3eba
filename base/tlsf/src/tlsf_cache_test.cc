// Unit tests of the TLSF heap's thread caches: reuse with exact statistics, blocks that cross threads and go
// back at thread exit, a cached block freed twice, and a cached heap shared by two processes.
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <random>
#include <thread>
#include <vector>

#include "flex/tlsf/tlsf.h"
#include "tlsf_test_util.h"

// ---- Thread caches ----------------------------------------------------------------------------------------

namespace flex::tlsf {
namespace {

using alloc_DeathTest = ::testing::Test;

heap *make_cached(const region &r) {
  heap *h = heap::create(r.get(), {.thread_cache = true});
  EXPECT_NE(h, nullptr);
  return h;
}

TEST(alloc_cache, reuses_blocks_and_stats_stay_exact) {
  region r(1 << 20);
  heap *h = make_cached(r);
  const std::size_t whole = h->stats().free_bytes;
  void *p = h->malloc(100);
  h->free(p);
  EXPECT_EQ(h->malloc(100), p) << "the freed block comes back from the thread's bin";
  EXPECT_TRUE(h->verify());
  h->free(p);
  heap_stats s = h->stats();  // returns the calling thread's cache first
  EXPECT_EQ(s.allocs, 2u);
  EXPECT_EQ(s.frees, 2u);
  EXPECT_EQ(s.live_blocks, 0u);
  EXPECT_EQ(s.largest_free, whole);
  EXPECT_TRUE(h->verify());
}

TEST(alloc_cache, blocks_cross_threads_and_go_back_at_thread_exit) {
  region r(std::size_t{16} << 20);
  heap *h = make_cached(r);
  const std::size_t whole = h->stats().free_bytes;
  std::vector<void *> handed(4000);
  std::thread producer([&] {
    for (std::size_t i = 0; i < handed.size(); ++i) {
      handed[i] = h->malloc(16 + i % 900);
      fill(handed[i], 16, static_cast<std::uint32_t>(i));
    }
  });
  producer.join();
  std::vector<std::thread> threads;
  std::vector<int> errors(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (std::size_t i = t; i < handed.size(); i += 4) {  // blocks of another thread into this cache
        if (!intact(handed[i], 16, static_cast<std::uint32_t>(i))) ++errors[t];
        h->free(handed[i]);
      }
      std::mt19937 rng(t);
      std::vector<void *> mine;
      for (int i = 0; i < 20000; ++i) {
        if (mine.size() < 100 && (mine.empty() || rng() % 2)) {
          void *p = h->malloc(rng() % 2000);
          fill(p, 16, static_cast<std::uint32_t>(t));
          mine.push_back(p);
        } else {
          std::size_t k = rng() % mine.size();
          if (!intact(mine[k], 16, static_cast<std::uint32_t>(t))) ++errors[t];
          h->free(mine[k]);
          mine[k] = mine.back();
          mine.pop_back();
        }
      }
      for (void *p : mine) h->free(p);  // left in this thread's cache until it exits
    });
  }
  for (auto &th : threads) th.join();
  for (int e : errors) EXPECT_EQ(e, 0);
  EXPECT_TRUE(h->verify());
  heap_stats s = h->stats();
  EXPECT_EQ(s.live_blocks, 0u) << "every thread returned its cache when it exited";
  EXPECT_EQ(s.allocs, s.frees);
  EXPECT_EQ(s.largest_free, whole);
}

TEST_F(alloc_DeathTest, cached_block_freed_twice) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  region r(1 << 20);
  heap *h = make_cached(r);
  void *p = h->malloc(100);
  void *big = h->malloc(5000);
  h->free(p);
  h->free(big);  // deferred with several threads; at once with one (no lock to save)
  EXPECT_DEATH(h->free(p), "double free \\(the block is in a thread cache\\)");
  EXPECT_DEATH(h->free(big), "double free \\(the block is (in a thread cache|already free)\\)");
  EXPECT_DEATH(h->realloc(p, 10), "realloc.*double free");
  EXPECT_DEATH(std::thread([&] { h->free(p); }).join(), "double free");  // another thread's cache
  std::memset(p, 0, 8);  // written after free
  EXPECT_DEATH(h->malloc(100), "written after it was freed");
}

// Two processes use one cached heap at once; neither ever gets a block the other holds.
TEST(alloc_cache, shared_heap_two_processes) {
  region r(std::size_t{4} << 20, MAP_SHARED);
  heap *h = heap::create(r.get(), {.thread_cache = true, .cross_process = true});
  ASSERT_NE(h, nullptr);
  void *parent_cached = h->malloc(64);
  h->free(parent_cached);  // in the parent's cache; the child drops its copy of that cache at fork
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  const std::uint32_t me = pid == 0 ? 2 : 1;
  int bad = 0;
  std::mt19937 rng(me);
  std::vector<void *> mine;
  for (int i = 0; i < 20000; ++i) {
    if (mine.size() < 50 && (mine.empty() || rng() % 2)) {
      void *p = h->malloc(16 + rng() % 300);
      if (!p) ++bad;
      if (!p) continue;
      fill(p, 16, me);
      mine.push_back(p);
    } else {
      std::size_t k = rng() % mine.size();
      if (!intact(mine[k], 16, me)) ++bad;  // the other process got the same block
      h->free(mine[k]);
      mine[k] = mine.back();
      mine.pop_back();
    }
  }
  for (void *p : mine) h->free(p);
  if (pid == 0) {
    h->flush_thread_cache();  // _exit runs no thread-exit code
    ::_exit(bad || !h->verify() ? 1 : 0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  EXPECT_EQ(bad, 0);
  heap_stats s = h->stats();  // the parent's cache, parent_cached included, goes back here
  EXPECT_EQ(s.live_blocks, 0u);
  EXPECT_EQ(s.allocs, s.frees);
  EXPECT_TRUE(h->verify());
}

}  // namespace
}  // namespace flex::tlsf
