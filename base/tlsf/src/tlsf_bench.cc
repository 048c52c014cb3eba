// TLSF against glibc malloc, in one binary so both run under the same conditions. Each pattern runs with
// both allocators; the `op` counter is the time per malloc or free (not per iteration).
//
//   base/tlsf/ratios.py build/bin/tlsf-bench     # each pattern in a fresh process: medians, ratios
//
// Run patterns one per process (as ratios.py does) when comparing: glibc keeps the state an earlier
// pattern left in its arena, which changes its later figures severalfold.
//
// Patterns:
//   small_pair   malloc+free of 16-128 B, one block at a time (the allocator's fast path)
//   medium_pair  malloc+free of 1-64 KiB, one block at a time
//   batch        malloc N blocks of 16 B-4 KiB, then free them in a random order
//   redis_mix    a replayed trace over 20k slots: keys and values of 16-512 B, a 4-64 KiB buffer one time
//                in fifty, each step freeing the slot's block or filling the slot
#include <benchmark/benchmark.h>
#include <sys/mman.h>

#include <algorithm>
#include <cstdlib>
#include <random>
#include <vector>

#include "flex/tlsf/tlsf.h"

namespace {

using flex::tlsf::heap;

struct glibc {
  static void *alloc(std::size_t n) { return std::malloc(n); }
  static void release(void *p) { std::free(p); }
};

// One TLSF heap over a 1 GiB region for the whole run (reserved, so only touched pages cost memory), with
// the per-thread front cache.
heap *make_heap() {
  const std::size_t bytes = std::size_t{1} << 30;
  void *base =
      ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (base == MAP_FAILED) std::abort();
  heap *h = heap::create({base, bytes}, {.thread_cache = true});
  if (!h) std::abort();
  return h;
}

heap *const g_heap = make_heap();

struct tlsf {
  static void *alloc(std::size_t n) { return g_heap->malloc(n); }
  static void release(void *p) { g_heap->free(p); }
};

std::vector<std::size_t> sizes(std::size_t count, std::size_t lo, std::size_t hi, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<std::size_t> d(lo, hi);
  std::vector<std::size_t> v(count);
  for (auto &s : v) s = d(rng);
  return v;
}

void per_op(benchmark::State &state, double ops_per_iteration) {
  state.counters["op"] = benchmark::Counter(
      ops_per_iteration, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

template <class A>
void pair(benchmark::State &state, std::size_t lo, std::size_t hi) {
  const std::vector<std::size_t> sz = sizes(4096, lo, hi, 1);
  std::size_t i = 0;
  for (auto _ : state) {
    void *p = A::alloc(sz[i++ & 4095]);
    benchmark::DoNotOptimize(p);
    A::release(p);
  }
  per_op(state, 2);
}

template <class A>
void small_pair(benchmark::State &state) {
  pair<A>(state, 16, 128);
}

template <class A>
void medium_pair(benchmark::State &state) {
  pair<A>(state, 1024, 64 * 1024);
}

template <class A>
void batch(benchmark::State &state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const std::vector<std::size_t> sz = sizes(n, 16, 4096, 2);
  std::vector<std::size_t> order(n);
  for (std::size_t i = 0; i < n; ++i) order[i] = i;
  std::shuffle(order.begin(), order.end(), std::mt19937(3));
  std::vector<void *> live(n);
  for (auto _ : state) {
    for (std::size_t i = 0; i < n; ++i) live[i] = A::alloc(sz[i]);
    benchmark::DoNotOptimize(live.data());
    for (std::size_t i : order) A::release(live[i]);
  }
  per_op(state, 2.0 * n);
}

// A trace of (slot, size) steps: size 0 frees the slot's block, any other size fills the empty slot.
struct step {
  std::uint32_t slot;
  std::uint32_t size;
};

const std::vector<step> &redis_trace() {
  static const std::vector<step> trace = [] {
    const std::size_t kSlots = 20000, kSteps = 200000;
    std::mt19937 rng(4);
    std::vector<bool> full(kSlots, false);
    std::vector<step> t;
    t.reserve(kSteps + kSlots);
    for (std::size_t i = 0; i < kSteps; ++i) {
      auto slot = static_cast<std::uint32_t>(rng() % kSlots);
      std::uint32_t size = 0;
      if (!full[slot]) size = (rng() % 50 == 0) ? 4096 + rng() % (60 * 1024) : 16 + rng() % 497;
      full[slot] = !full[slot];
      t.push_back({slot, size});
    }
    for (std::uint32_t s = 0; s < kSlots; ++s) {
      if (full[s]) t.push_back({s, 0});
    }
    return t;
  }();
  return trace;
}

template <class A>
void redis_mix(benchmark::State &state) {
  const std::vector<step> &trace = redis_trace();
  std::vector<void *> slots(20000, nullptr);
  for (auto _ : state) {
    for (const step &s : trace) {
      if (s.size) {
        slots[s.slot] = A::alloc(s.size);
      } else {
        A::release(slots[s.slot]);
      }
    }
    benchmark::DoNotOptimize(slots.data());
  }
  per_op(state, static_cast<double>(trace.size()));
}

// Two acquire/release pairs per iteration, like one malloc and one free.
void lock_floor(benchmark::State &state) {
  std::uint32_t lock = 0;
  for (auto _ : state) {
    for (int k = 0; k < 2; ++k) {
      while (__atomic_exchange_n(&lock, 1u, __ATOMIC_ACQUIRE)) __builtin_ia32_pause();
      benchmark::ClobberMemory();
      __atomic_store_n(&lock, 0u, __ATOMIC_RELEASE);
    }
  }
  per_op(state, 2);
}

BENCHMARK(lock_floor);
BENCHMARK(small_pair<glibc>);
BENCHMARK(small_pair<tlsf>);
BENCHMARK(medium_pair<glibc>);
BENCHMARK(medium_pair<tlsf>);
BENCHMARK(batch<glibc>)->Arg(1000)->Arg(100000);
BENCHMARK(batch<tlsf>)->Arg(1000)->Arg(100000);
BENCHMARK(redis_mix<glibc>);
BENCHMARK(redis_mix<tlsf>);

}  // namespace

BENCHMARK_MAIN();
