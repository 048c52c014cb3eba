// The heap's creation, lock, thread caches and its fast entry points (malloc, free); the block layout and the
// operations they inline are in tlsf_blocks.h, the entry points off the fast path in tlsf_slow.cc.
// victim"), is kept out of the lists: see take().
#include <pthread.h>
#include <sys/mman.h>
#include <sys/single_threaded.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>

#include "tlsf_blocks.h"

namespace flex::tlsf {

namespace {

std::uint64_t make_salt(const void *where) {
  std::uint64_t x = __builtin_ia32_rdtsc() ^ reinterpret_cast<std::uintptr_t>(where);
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  return x;
}

}  // namespace

[[noreturn]] void corrupt(const char *op, const void *p, const char *what) {
  char msg[256];
  int n = std::snprintf(msg, sizeof msg, "flex alloc: %s(%p): %s\n", op, p, what);
  if (n > 0) (void)!::write(2, msg, static_cast<std::size_t>(n) < sizeof msg ? n : sizeof msg - 1);
  std::abort();
}

namespace {

constinit thread_local thread_cache t_caches[kCaches] = {};
constinit thread_local bool t_exited = false;

// Its destructor, registered by the first use of a cache in a thread, returns that thread's caches.
struct cache_owner {
  bool armed = false;
  ~cache_owner() { thread_cache::at_thread_exit(); }
};
thread_local cache_owner t_owner;

}  // namespace

// ---- Bookkeeping ------------------------------------------------------------------------------------------

heap::heap(std::uint64_t salt, std::uint64_t begin, std::uint64_t end, unsigned fl_count)
    : fl_count_(fl_count), salt_(salt), begin_(begin), end_(end) {}
heap *heap::create(heap_region r) {
  return create(r, heap_options{});
}

heap *heap::create(heap_region r, const heap_options &o) {
  auto base = reinterpret_cast<std::uintptr_t>(r.base);
  if (!r.base || (base & 63) || r.bytes < kMinRegion || r.bytes > kMaxRegion) return nullptr;
  std::uint64_t end = (r.bytes - kHeader) & ~std::uint64_t{kAlign - 1};  // the sentinel
  // The heads array depends on the largest block, which depends on where the heads end: size it for the
  // whole region (at most one class too many).
  unsigned fl_count = mapping(end).fl + 1;
  std::uint64_t begin = sizeof(heap) + std::uint64_t{fl_count} * kSlCount * sizeof(std::uint64_t);
  begin = (begin + kAlign - 1) & ~std::uint64_t{kAlign - 1};
  if (begin + kMinBlock > end) return nullptr;
  heap *h = new (r.base) heap(make_salt(r.base), begin, end, fl_count);
  std::memset(h->heads(), 0, std::size_t{fl_count} * kSlCount * sizeof(std::uint64_t));
  h->stats_.region_bytes = r.bytes;
  h->thread_cache_ = o.thread_cache;
  h->cross_process_ = o.cross_process;
  block *sentinel = h->at(end);
  h->set_head(sentinel, 0, kPrevFree);
  block *first = h->at(begin);
  first->prev_size = 0;
  h->set_head(first, end - begin, kFree);
  sentinel->prev_size = end - begin;
  h->insert(first);
  return h;
}

// The lock is left out while the process has one thread (glibc's __libc_single_threaded, as its own
// malloc does) unless the heap is shared with other processes; the caller hands the answer to unlock, so a
// thread created meanwhile cannot unbalance the pair.
bool heap::lock_elided() const {
  return !cross_process_ && __libc_single_threaded;
}

bool heap::lock() const {
  if (lock_elided()) return false;
  while (__atomic_exchange_n(&lock_, 1u, __ATOMIC_ACQUIRE)) {
    while (__atomic_load_n(&lock_, __ATOMIC_RELAXED)) __builtin_ia32_pause();
  }
  return true;
}

void heap::unlock(bool locked) const {
  if (locked) __atomic_store_n(&lock_, 0u, __ATOMIC_RELEASE);
}

void heap::trim(block *b, std::size_t size) {
  std::size_t have = b->size();
  if (have - size < kMinBlock) return;
  block *rest = b->at_offset(size);
  set_head(rest, have - size, 0);
  set_head(b, size, b->head & kPrevFree);
  sub(stats_.in_use_bytes, have - size);
  release(rest);
}


// ---- Thread caches ---------------------------------------------------------------------------------------

[[gnu::always_inline]] inline thread_cache *heap::cache() {
  if (!thread_cache_) return nullptr;
  if (t_caches[0].h == this && t_caches[0].salt == salt_) return &t_caches[0];
  if (t_caches[1].h == this && t_caches[1].salt == salt_) return &t_caches[1];
  return cache_attach();
}

thread_cache *heap::cache_attach() {
  if (t_exited) return nullptr;  // a destructor running after the thread's caches went back
  static const int registered = pthread_atfork(nullptr, nullptr, &thread_cache::after_fork_child);
  (void)registered;
  t_owner.armed = true;
  thread_cache *pick = nullptr;
  for (thread_cache &c : t_caches) {
    if (c.h == this) c.reset();  // a heap created anew over the old one's region: those blocks are gone
    if (!pick && !c.h) pick = &c;
  }
  if (!pick) {
    pick = &t_caches[kCaches - 1];
    thread_cache::retire(*pick);
  }
  pick->reset();
  pick->h = this;
  pick->salt = salt_;
  return pick;
}

bool thread_cache::reachable(const thread_cache &c) {
  // The heap object must still be mapped (mincore fails on an unmapped page) and still be the same heap.
  auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
  auto first = reinterpret_cast<std::uintptr_t>(c.h) & ~(page - 1);
  auto last = (reinterpret_cast<std::uintptr_t>(c.h) + sizeof(heap) - 1) & ~(page - 1);
  unsigned char v[2];
  if (::mincore(reinterpret_cast<void *>(first), last - first + page, v) != 0) return false;
  return __atomic_load_n(&c.h->salt_, __ATOMIC_RELAXED) == c.salt;
}

void thread_cache::retire(thread_cache &c) {
  if (c.h && reachable(c)) {
    const bool locked = c.h->lock();
    c.h->cache_flush_locked(&c);
    c.h->unlock(locked);
  }
  c.reset();
}

void thread_cache::at_thread_exit() {
  for (thread_cache &c : t_caches) retire(c);
  t_exited = true;
}

// The child of fork() has copies of the forking thread's caches; the blocks in them are the parent's.
void thread_cache::after_fork_child() {
  for (thread_cache &c : t_caches) c.reset();
}

void heap::cache_put_locked(thread_cache *c, block *b) {
  (void)c;
  b->store_mark(0);
  sub(stats_.in_use_bytes, b->size());
  sub(stats_.live_blocks, 1);
  release(b);
}

// Merges the cache's counters into the heap's and does its deferred frees.
[[gnu::always_inline]] inline void heap::cache_sync_locked(thread_cache *c) {
  add(stats_.allocs, c->hits);
  add(stats_.frees, c->puts);
  c->hits = c->puts = 0;
  for (unsigned k = 0; k < c->defers; ++k) cache_put_locked(c, at(c->defer[k]));
  c->defers = 0;
}

// lock() for a call made through cache c (or none), which syncs c when the lock is really taken: with the
// lock elided the process has never had a second thread, so nothing was deferred and nobody else reads the
// counters (stats() flushes its caller's cache first).
[[gnu::always_inline]] inline bool heap::lock_for(thread_cache *c) {
  const bool locked = lock();
  if (locked && c) cache_sync_locked(c);
  return locked;
}

void heap::cache_flush_locked(thread_cache *c) {
  cache_sync_locked(c);
  for (int bin = 0; bin < kBins; ++bin) {
    for (unsigned k = 0; k < c->count[bin]; ++k) cache_put_locked(c, at(c->slot[bin][k]));
    c->count[bin] = 0;
  }
}

void heap::flush_mine_locked() {
  for (thread_cache &c : t_caches) {
    if (c.h && c.salt == salt_) cache_flush_locked(&c);  // this heap through any mapping of it
  }
}

void heap::flush_thread_cache() {
  if (!thread_cache_) return;
  const bool locked = lock();
  flush_mine_locked();
  unlock(locked);
}

// A miss: one block for the caller and kRefill - 1 more of the same size for the bin, under one lock.
void *heap::cache_refill(thread_cache *c, std::size_t size) {
  const bool locked = lock_for(c);
  void *p = malloc_locked(size - kOverhead, c);
  if (p) {
    std::size_t bin = size >> kAlignLog2;
    while (c->count[bin] < kRefill) {
      block *b = take(size);
      if (!b) break;
      add(stats_.in_use_bytes, b->size());
      add(stats_.live_blocks, 1);
      b->store_mark(cookie(off(b)));
      c->slot[bin][c->count[bin]++] = off(b);
    }
    note_peak(stats_);
  }
  unlock(locked);
  return p;
}

// A free of a cached size that found its bin full: the older half of the bin goes back.
void heap::cache_overflow(thread_cache *c, block *b) {
  const bool locked = lock_for(c);
  std::size_t size = b->size();
  std::uint64_t *s = c->slot[size >> kAlignLog2];
  constexpr unsigned kHalf = kDepth / 2;
  for (unsigned k = 0; k < kHalf; ++k) cache_put_locked(c, at(s[k]));
  std::memmove(s, s + kHalf, (kDepth - kHalf) * sizeof *s);
  b->store_mark(cookie(off(b)));
  s[kDepth - kHalf] = off(b);
  c->count[size >> kAlignLog2] = kDepth - kHalf + 1;
  add(stats_.frees, 1);
  unlock(locked);
}

// ---- Entry points -----------------------------------------------------------------------------------------

// With a thread cache, a request of a cached size pops a block of its exact size from the thread's bin: no
// lock, no atomic instruction, no header write (the block stays allocated from the heap's point of view).
// The inline path knows only the thread's first cache; everything else goes through malloc_slow.
[[gnu::always_inline]] inline void *heap::cache_pop(thread_cache *c, std::size_t bin) {
  unsigned k = c->count[bin] - 1;
  std::uint64_t o = c->slot[bin][k];
  c->count[bin] = static_cast<std::uint8_t>(k);
  block *b = at(o);
  if (b->load_mark() != cookie(o)) {
    corrupt("malloc", b->payload(), "a block in the thread cache was written after it was freed");
  }
  b->store_mark(0);
  ++c->hits;
  return b->payload();
}

void *heap::malloc(std::size_t n) {
  thread_cache *c = &t_caches[0];
  if (n <= kCacheMax - kOverhead && c->h == this && c->salt == salt_) {
    std::size_t bin = cached_size(n) >> kAlignLog2;
    if (c->count[bin]) return cache_pop(c, bin);
  }
  return malloc_slow(n);
}

[[gnu::noinline]] void *heap::malloc_slow(std::size_t n) {
  thread_cache *c = cache();
  if (c && n <= kCacheMax - kOverhead) {
    std::size_t size = cached_size(n);
    if (c->count[size >> kAlignLog2]) return cache_pop(c, size >> kAlignLog2);
    return cache_refill(c, size);
  }
  const bool locked = lock_for(c);
  void *p = malloc_locked(n, c);
  unlock(locked);
  return p;
}

// With a thread cache, the checks run without the lock (they read only the block's head, its first payload
// word and the next block's head), then the block joins its bin or waits for the thread's next locked call.
// The inline path knows only the thread's first cache and a bin with room; everything else is free_slow.
[[gnu::always_inline]] inline void heap::cache_push(thread_cache *c, std::size_t bin, block *b) {
  unsigned k = c->count[bin];
  b->store_mark(cookie(off(b)));
  c->slot[bin][k] = off(b);
  c->count[bin] = static_cast<std::uint8_t>(k + 1);
  ++c->puts;
}

void heap::free(void *p) {
  thread_cache *c = &t_caches[0];
  if (p && c->h == this && c->salt == salt_) {
    block *b = checked(p, "free");
    std::size_t size = b->size();
    if (size <= kCacheMax && c->count[size >> kAlignLog2] < kDepth) return cache_push(c, size >> kAlignLog2, b);
    return free_uncached(c, b);
  }
  free_slow(p);
}

[[gnu::noinline]] void heap::free_slow(void *p) {
  if (!p) return;
  if (thread_cache *c = cache()) return free_uncached(c, checked(p, "free"));
  const bool locked = lock();
  free_locked(checked(p, "free"));
  unlock(locked);
}

// A checked block the inline path of free could not cache.
[[gnu::noinline]] void heap::free_uncached(thread_cache *c, block *b) {
  std::size_t size = b->size();
  if (size <= kCacheMax) {
    if (c->count[size >> kAlignLog2] < kDepth) return cache_push(c, size >> kAlignLog2, b);
    return cache_overflow(c, b);
  }
  if (size <= kDeferMax && c->defers < kDefers && !lock_elided()) {  // deferring saves locks
    b->store_mark(cookie(off(b)));
    c->defer[c->defers++] = off(b);
    ++c->puts;
    return;
  }
  const bool locked = lock_for(c);
  free_locked(b);
  unlock(locked);
}

}  // namespace flex::tlsf
