// The libOS allocator: a TLSF heap (two-level segregated fit, Masmano et al., ECRTS'04) over one region
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
// The interface mirrors flex::gates::heap, so either can sit behind the per-compartment dispatch.
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
// for 1 GiB). Each malloc and free takes the heap's spin lock once (one atomic exchange).
#pragma once

#include <cstddef>
#include <cstdint>

namespace flex::alloc {

struct heap_region {
  void *base = nullptr;
  std::size_t bytes = 0;
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

class heap {
 public:
  // Places the heap's bookkeeping at the start of `r` and manages the rest. `r.base` must be 64-byte
  // aligned and the region between kMinRegion and kMaxRegion bytes; returns nullptr otherwise.
  static heap *create(heap_region r);
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

  heap(const heap &) = delete;
  heap &operator=(const heap &) = delete;

 private:
  struct block;
  static constexpr int kSlLog2 = 5;  // 32 second-level classes per power of two
  static constexpr int kSlCount = 1 << kSlLog2;
  static constexpr int kFlMax = 40;  // first-level classes for blocks below kMaxRegion

  heap(std::uint64_t salt, std::uint64_t begin, std::uint64_t end, unsigned fl_count);
  void lock() const;
  void unlock() const;
  block *at(std::uint64_t off) const;
  std::uint64_t off(const block *b) const;
  std::uint64_t *heads() const;  // fl_count_ * kSlCount list heads, right after this object
  std::uint64_t tag(std::uint64_t off, std::uint64_t size) const;
  void set_head(block *b, std::uint64_t size, std::uint64_t flags);
  void insert(block *b);
  void remove(block *b);
  void remove_from(block *b, std::size_t size);  // b's list is the one of `size`
  void replace(block *old, block *nu);           // nu, of old's class, takes old's place in its list
  block *find(std::size_t size);          // a free block of at least `size` bytes, still linked; or nullptr
  block *take(std::size_t size);          // unlinks, splits and marks in use a block of at least `size`
  void release(block *b);                 // b in use: frees and coalesces it
  void trim(block *b, std::size_t size);  // b in use: gives back its tail beyond `size`
  block *checked(const void *p, const char *op) const;
  void *malloc_locked(std::size_t n);
  void *memalign_locked(std::size_t align, std::size_t n);
  void count_alloc(const block *b);

  mutable std::uint32_t lock_ = 0;
  std::uint32_t fl_count_;
  std::uint64_t salt_;
  std::uint64_t begin_, end_;  // offsets from this object: the first block and the end sentinel
  std::uint64_t fl_bitmap_ = 0;
  std::uint32_t sl_bitmap_[kFlMax] = {};
  heap_stats stats_;
};

}  // namespace flex::alloc
