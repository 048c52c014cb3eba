// The TLSF allocator: a heap (two-level segregated fit, Masmano et al., ECRTS'04) over one region
// the caller gives it. malloc and free are O(1) (two bitmap searches, no list walks), free blocks coalesce
// immediately through boundary tags, and the good-fit class search keeps fragmentation low.
//
//   heap *h = heap::create({region, bytes});   // the heap's own bookkeeping lives at the region's start
//   void *p = h->memalign(64, 100);
//   assert(h->owns(p) && h->usable_size(p) >= 100);
//   p = h->realloc(p, 200);                    // in place when the next block is free
//   h->free(p);
//   heap_stats s = h->stats();                 // s.live_blocks == 0
//
// The runtime's compartment heaps (flex::runtime::heap) and the libOS's alloc library are this heap.
//
// Properties callers rely on:
//   - It never maps memory: a region tagged with an MPK key keeps its key (a fresh mmap would reset it).
//   - Every payload is at least 16-byte aligned; memalign takes any power of two.
//   - All state lives inside the region and refers to it by offsets, with one spin lock per heap (no
//     pthread objects), so a MAP_SHARED region may be used by several processes at once, even mapped at
//     different addresses (each process then gets its own addresses for the same blocks).
//   - Corruption it can see aborts with a message on stderr: a double free, a pointer into the middle of a
//     block, a pointer it does not own, a block header overwritten by an overflow. Each header carries a
//     16-bit tag derived from its position, size and a per-heap salt, so a stray pointer almost never passes
//     for a block.
//
// Costs: 8 bytes per allocated block (the size word; the previous-size word of the next block is part of
// the payload while the block is in use), a minimum block of 32 bytes (24 usable), and bookkeeping of
// about 300 bytes plus 256 bytes per power of two of the region size (1.8 KiB for a 16 KiB region, 6 KiB
// for 1 GiB). In a process with several threads, or for a heap shared between processes
// (heap_options::cross_process), each malloc and free takes the heap's spin lock once (one atomic
// exchange), unless the heap was created with heap_options::thread_cache (below), which serves most small
// requests without the lock; a single-threaded process takes no lock on a private heap.
#pragma once

#include <cstddef>
#include <cstdint>

namespace flex::tlsf {

struct heap_region {
  void *base = nullptr;
  std::size_t bytes = 0;
};

struct heap_options {
  // A per-thread, per-heap front cache: each thread keeps up to 8 free blocks of every size up to 512
  // bytes (payloads up to 504 bytes) and, while the process has several threads, defers up to 2 frees of
  // blocks up to 64 KiB to its next locked call, so most small malloc/free calls take no lock and no
  // atomic instruction. Cached blocks stay allocated from the heap's point of view (coalescing and every
  // corruption check still hold; a cached block freed again aborts as a double free, and one written
  // after free aborts when it is handed out again).
  // Costs and rules:
  //   - A thread holds at most about 70 KiB of the heap in its cache; a request that fails first returns
  //     the calling thread's cache, but cannot reach other threads' caches.
  //   - in_use_bytes, live_blocks and free_bytes count cached blocks as in use; allocs and frees served by
  //     a cache are added when that cache next takes the heap's lock. stats() first returns the calling
  //     thread's cache, so a single-threaded caller sees exact figures.
  //   - A thread's cache goes back to the heap at thread exit (for the main thread: at exit()), and with
  //     flush_thread_cache(). A process that ends without that (_exit, a crash) leaves its cached blocks
  //     allocated. After fork() the child drops the forking thread's cache without returning it (in a
  //     MAP_SHARED heap those blocks still belong to the parent), so the child of a private heap leaks them.
  //   - A thread that used the heap should call flush_thread_cache() before the region is unmapped; at
  //     thread exit a cache whose region is no longer mapped, or holds a different heap, is dropped.
  //   - About 4.4 KiB of thread-local storage per thread; a thread caches at most two heaps at once.
  bool thread_cache = false;
  // The heap's region is mapped in several processes (MAP_SHARED) that all allocate from it: the lock is
  // always taken. Otherwise a process with a single thread takes no lock at all (like glibc's malloc).
  bool cross_process = false;
};

struct heap_stats {
  std::size_t region_bytes = 0;  // the whole region, bookkeeping included
  std::size_t in_use_bytes = 0;  // bytes in allocated blocks (headers included)
  std::size_t peak_in_use_bytes = 0;
  std::size_t free_bytes = 0;    // bytes in free blocks (headers included)
  std::size_t largest_free = 0;  // the largest block a request could still get (header included)
  std::size_t live_blocks = 0;
  std::uint64_t allocs = 0;  // successful malloc/memalign/realloc-that-moved
  std::uint64_t frees = 0;   // free, realloc(p, 0), and the old block of a realloc that moved
  std::uint64_t failed = 0;  // requests that returned NULL
};

struct thread_cache;

class heap {
 public:
  // Places the heap's bookkeeping at the start of `r` and manages the rest. `r.base` must be 64-byte
  // aligned and the region between kMinRegion and kMaxRegion bytes; returns nullptr otherwise.
  static heap *create(heap_region r);
  static heap *create(heap_region r, const heap_options &o);
  static constexpr std::size_t kMinRegion = 16 * 1024;
  static constexpr std::size_t kMaxRegion = std::size_t{1} << 47;
  static constexpr std::size_t kAlign = 16;

  void *malloc(std::size_t n);                       // nullptr when exhausted
  void free(void *p);                                // p must be owned (or null)
  void *realloc(void *p, std::size_t n);             // n == 0 frees and returns nullptr
  void *memalign(std::size_t align, std::size_t n);  // align: any power of two
  std::size_t usable_size(const void *p) const;      // p must be owned
  bool owns(const void *p) const {
    std::uintptr_t a = reinterpret_cast<std::uintptr_t>(p) - reinterpret_cast<std::uintptr_t>(this);
    return a >= begin_ && a < end_;
  }
  heap_stats stats() const;
  // Walks every block and every free list and checks that they agree (tags, flags, footers, bitmaps, no
  // two adjacent free blocks). O(blocks); for tests and debugging. Returns false at the first mismatch.
  bool verify() const;
  // Returns the calling thread's cached blocks of this heap (through any mapping of it) to the heap; a
  // no-op without heap_options::thread_cache.
  void flush_thread_cache();

  heap(const heap &) = delete;
  heap &operator=(const heap &) = delete;

 private:
  struct block;
  static constexpr int kSlLog2 = 5;  // 32 second-level classes per power of two
  static constexpr int kSlCount = 1 << kSlLog2;
  static constexpr int kFlMax = 40;  // first-level classes for blocks below kMaxRegion

  heap(std::uint64_t salt, std::uint64_t begin, std::uint64_t end, unsigned fl_count);
  bool lock_elided() const;  // one thread and a private heap: no lock needed
  bool lock() const;  // false: the lock was not needed (one thread, a private heap)
  void unlock(bool locked) const;
  block *at(std::uint64_t off) const;
  std::uint64_t off(const block *b) const;
  std::uint64_t *heads() const;  // fl_count_ * kSlCount list heads, right after this object
  std::uint64_t tag(std::uint64_t off, std::uint64_t size) const;
  std::uint64_t cookie(std::uint64_t off) const;  // marks a block held by a thread cache
  void set_head(block *b, std::uint64_t size, std::uint64_t flags);
  void insert(block *b);
  void remove(block *b);
  void remove_from(block *b, std::size_t size);  // b's list is the one of `size`
  void replace(block *old, block *nu);           // nu, of old's class, takes old's place in its list
  block *find(std::size_t size);          // a free block of at least `size` bytes, still linked; or nullptr
  block *take(std::size_t size);          // unlinks, splits and marks in use a block of at least `size`
  block *cut(block *b, std::size_t size);  // b free and unlinked: its front in use; returns the free rest
  block *take_listed(block *b, std::size_t size, block *d, std::size_t dv_size);
  void release(block *b);                 // b in use: frees and coalesces it
  void trim(block *b, std::size_t size);  // b in use: gives back its tail beyond `size`
  block *checked(const void *p, const char *op) const;
  void *malloc_locked(std::size_t n, thread_cache *c);  // c: returned to the heap when it is exhausted
  void *memalign_locked(std::size_t align, std::size_t n);
  void count_alloc(const block *b);
  friend struct thread_cache;
  thread_cache *cache();        // the calling thread's cache of this heap, or nullptr
  thread_cache *cache_attach();
  void cache_put_locked(thread_cache *c, block *b);   // b cached: back to the heap
  void cache_sync_locked(thread_cache *c);            // counters merged, deferred frees done
  bool lock_for(thread_cache *c);                     // lock(), then c synced if the lock was taken
  void cache_flush_locked(thread_cache *c);           // everything back to the heap
  void flush_mine_locked();                           // every cache of this thread for this heap
  void *cache_refill(thread_cache *c, std::size_t size);
  void cache_overflow(thread_cache *c, block *b);
  void *cache_pop(thread_cache *c, std::size_t bin);
  void cache_push(thread_cache *c, std::size_t bin, block *b);
  void *malloc_slow(std::size_t n);
  void free_slow(void *p);
  void free_uncached(thread_cache *c, block *b);
  void free_locked(block *b);

  mutable std::uint32_t lock_ = 0;
  std::uint32_t fl_count_;
  bool thread_cache_ = false;
  bool cross_process_ = false;
  std::uint64_t salt_;
  std::uint64_t begin_, end_;  // offsets from this object: the first block and the end sentinel
  std::uint64_t dv_ = 0;  // the designated block (free, in no list), 0 when there is none
  std::uint64_t fl_bitmap_ = 0;
  std::uint32_t sl_bitmap_[kFlMax] = {};
  heap_stats stats_;
};

}  // namespace flex::tlsf
