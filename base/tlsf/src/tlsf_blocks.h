// Internal to base/tlsf: the block layout, the size classes and the free-list and block operations of
// the heap, inline so that malloc and free in tlsf.cc compile to straight-line code, and shared with the
// entry points off the fast path (tlsf_slow.cc). Nothing outside base/tlsf includes it.
//
// TLSF: two-level segregated fit (Masmano, Ripoll, Crespo, Real: "TLSF: a new dynamic memory allocator
// for real-time systems", ECRTS 2004), over one region whose first bytes hold this heap object.
//
// Size classes. A block size s (a multiple of 16, at least 32) maps to a first level fl and a second level
// sl: below 512 bytes fl = 0 and sl = s / 16 (exact classes); from 512 up fl = msb(s) - 8 and sl is the
// next 5 bits below the msb, so each power of two is cut into 32 equal classes. One bitmap says which
// first levels have a free block, one per first level which second levels do; every class has a doubly
// linked free list. malloc rounds the request up to the start of the next class ("good fit"), so any block
// of the class found by two find-first-set instructions is large enough.
//
// A block at offset B (16-aligned) from the heap:
//
//   B+0  prev_size   size of the previous block; meaningful only when that block is free (its footer)
//   B+8  head        size | PREV_FREE | FREE, and a 16-bit tag in bits 48..63
//   B+16 payload     free blocks: next_free, prev_free (offsets from the heap; 0 ends the list)
//   ...
//   B+size           the next block; its prev_size word is the last 8 payload bytes while B is in use
//
// so an allocated block costs 8 bytes of header and its payload is 16-byte aligned. A sentinel (size 0, in
// use) ends the region, and the first block's previous block counts as in use, so coalescing never leaves
// the block area. Free blocks never touch: freeing merges a block with free neighbours at once.
//
// One free block, the designated block (the remainder of the last split, after dlmalloc's "designated
#ifndef FLEX_BASE_TLSF_SRC_TLSF_BLOCKS_H_
#define FLEX_BASE_TLSF_SRC_TLSF_BLOCKS_H_

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "flex/tlsf/tlsf.h"

namespace flex::tlsf {


constexpr std::uint64_t kFree = 1;
constexpr std::uint64_t kPrevFree = 2;
constexpr std::uint64_t kSizeMask = 0x0000'ffff'ffff'fff0;
constexpr int kTagShift = 48;
constexpr std::size_t kHeader = 16;    // from a block to its payload
constexpr std::size_t kOverhead = 8;   // what an allocated block spends beyond its payload
constexpr std::size_t kMinBlock = 32;  // the size word, two list links and the next block's footer
constexpr int kAlignLog2 = 4;
constexpr int kFlShift = 5 + kAlignLog2;  // kSlLog2 + kAlignLog2: the first size with fl = 1
constexpr std::size_t kSmall = std::size_t{1} << kFlShift;
constexpr std::size_t kMaxRequest = heap::kMaxRegion;
// How many blocks of the request's own class a request may try when every larger class is empty: this
// keeps the last (largest) free block reachable by a request of exactly its size, in bounded time.
constexpr int kExactClassProbes = 8;
// Thread caches (heap_options::thread_cache): bins of exact block sizes up to kCacheMax, kDepth blocks
// each; a miss takes kRefill blocks under one lock, an overflow returns the older half of the bin. Frees of
// blocks up to kDeferMax wait (kDefers at most) for the thread's next locked call.
// A cached block stays allocated, so it keeps its neighbours from merging when they are freed. Caching up
// to 1 KiB pinned a quarter of the blocks of a mix of 16 B-4 KiB and made it 10% slower than glibc; up to
// 512 bytes it is 20% faster, and the Redis-like mix (keys and values of 16-512 B) stays cached.
constexpr std::size_t kCacheMax = 512;
constexpr int kBins = kCacheMax / heap::kAlign + 1;
constexpr unsigned kDepth = 8;
constexpr unsigned kRefill = kDepth / 2;
constexpr std::size_t kDeferMax = 64 * 1024;
constexpr unsigned kDefers = 2;
constexpr int kCaches = 2;  // heaps one thread caches at once

struct index {
  unsigned fl, sl;
};

inline int msb(std::uint64_t v) {
  return 63 - __builtin_clzll(v);
}

inline index mapping(std::size_t size) {
  if (size < kSmall) return {0, static_cast<unsigned>(size >> kAlignLog2)};
  int m = msb(size);
  return {static_cast<unsigned>(m - kFlShift + 1), static_cast<unsigned>((size >> (m - 5)) ^ 32)};
}

// Two block sizes share a class when they agree on the bits mapping() looks at: the msb and the 5 bits
// below it from 512 bytes up, every bit from the 16s up below that. Cheaper than comparing two mappings.
inline bool same_class(std::size_t a, std::size_t b) {
  int shift = msb(a | b) - 5;
  if (shift < kAlignLog2) shift = kAlignLog2;
  return (a >> shift) == (b >> shift);
}

// The first size of the class after size's own, unless size starts its class.
inline std::size_t round_to_class(std::size_t size) {
  if (size < kSmall) return size;
  return size + (std::size_t{1} << (msb(size) - 5)) - 1;
}

// Block size for a request of n payload bytes; 0 when no heap can satisfy it.
inline std::size_t block_size_for(std::size_t n) {
  if (n > kMaxRequest) return 0;
  std::size_t s = (n + kOverhead + heap::kAlign - 1) & ~(heap::kAlign - 1);
  return s < kMinBlock ? kMinBlock : s;
}

// block_size_for for a request known to be small.
inline std::size_t cached_size(std::size_t n) {
  return n < kMinBlock - kOverhead ? kMinBlock : (n + kOverhead + heap::kAlign - 1) & ~(heap::kAlign - 1);
}

// The statistics move one word at a time. The compiler would merge two neighbouring counters bumped
// together into one 16-byte load and store, and such a load cannot take its value from the 8-byte stores
// another path made just before: it waits for them to reach the cache (a store-forwarding stall).
inline void add(std::uint64_t &counter, std::uint64_t d) {
  __atomic_store_n(&counter, __atomic_load_n(&counter, __ATOMIC_RELAXED) + d, __ATOMIC_RELAXED);
}

inline void sub(std::uint64_t &counter, std::uint64_t d) {
  add(counter, -d);
}

inline void note_peak(heap_stats &s) {
  if (s.in_use_bytes > s.peak_in_use_bytes) s.peak_in_use_bytes = s.in_use_bytes;
}

// Ends the process with "flex alloc: OP(P): WHAT": the heap is corrupt or P is not one of its blocks.
[[noreturn]] void corrupt(const char *op, const void *p, const char *what);


struct heap::block {
  std::uint64_t prev_size;
  std::uint64_t head;
  std::uint64_t next_free;
  std::uint64_t prev_free;

  std::size_t size() const { return head & kSizeMask; }
  // A block's head may be read without the lock by the thread that owns it or its neighbour (the thread
  // cache's checks), while a lock holder changes the PREV_FREE bit: such words go through these.
  std::uint64_t load_head() const { return __atomic_load_n(&head, __ATOMIC_RELAXED); }
  void store_head(std::uint64_t v) { __atomic_store_n(&head, v, __ATOMIC_RELAXED); }
  // In a cached block, the first payload word holds heap::cookie() of its offset.
  std::uint64_t load_mark() const { return __atomic_load_n(&next_free, __ATOMIC_RELAXED); }
  void store_mark(std::uint64_t v) { __atomic_store_n(&next_free, v, __ATOMIC_RELAXED); }
  bool is_free() const { return head & kFree; }
  bool prev_is_free() const { return head & kPrevFree; }
  block *next() { return reinterpret_cast<block *>(reinterpret_cast<char *>(this) + size()); }
  block *prev() { return reinterpret_cast<block *>(reinterpret_cast<char *>(this) - prev_size); }
  block *at_offset(std::size_t d) { return reinterpret_cast<block *>(reinterpret_cast<char *>(this) + d); }
  void *payload() { return reinterpret_cast<char *>(this) + kHeader; }
};

// One thread's cache of one heap, in the thread's own memory. The blocks it holds are named by offsets from
// the heap, so any mapping of the heap can take them back; only its thread touches it, without the lock.
struct thread_cache {
  heap *h;             // nullptr: unused
  std::uint64_t salt;  // h->salt_ when attached: a heap created anew at h's address has another
  std::uint64_t hits;  // mallocs and frees served since the last locked call
  std::uint64_t puts;
  std::uint32_t defers;
  std::uint8_t count[kBins];
  std::uint64_t defer[kDefers];
  std::uint64_t slot[kBins][kDepth];  // slot[size / 16]: blocks of exactly that size

  void reset() {
    h = nullptr;
    hits = puts = 0;
    defers = 0;
    std::memset(count, 0, sizeof count);
  }
  static bool reachable(const thread_cache &c);
  static void retire(thread_cache &c);  // back to its heap if that heap is still there; then unused
  static void at_thread_exit();
  static void after_fork_child();
};

// ---- Bookkeeping ------------------------------------------------------------------------------------------

inline heap::block *heap::at(std::uint64_t off) const {
  return reinterpret_cast<block *>(reinterpret_cast<std::uintptr_t>(this) + off);
}

inline std::uint64_t heap::off(const block *b) const {
  return reinterpret_cast<std::uintptr_t>(b) - reinterpret_cast<std::uintptr_t>(this);
}

inline std::uint64_t *heap::heads() const {
  return reinterpret_cast<std::uint64_t *>(reinterpret_cast<std::uintptr_t>(this) + sizeof(heap));
}

inline std::uint64_t heap::tag(std::uint64_t off, std::uint64_t size) const {
  return (((off << 16) ^ size ^ salt_) * 0x9e3779b97f4a7c15ull) >> kTagShift;
}

inline std::uint64_t heap::cookie(std::uint64_t off) const {
  return ~salt_ ^ (off << 8);
}

inline void heap::set_head(block *b, std::uint64_t size, std::uint64_t flags) {
  b->store_head(size | flags | (tag(off(b), size) << kTagShift));
}

// ---- Free lists -------------------------------------------------------------------------------------------

[[gnu::always_inline]] inline void heap::insert(block *b) {
  index i = mapping(b->size());
  std::uint64_t &head = heads()[i.fl * kSlCount + i.sl];
  b->prev_free = 0;
  b->next_free = head;
  if (head) at(head)->prev_free = off(b);
  head = off(b);
  fl_bitmap_ |= std::uint64_t{1} << i.fl;
  sl_bitmap_[i.fl] |= 1u << i.sl;
}

[[gnu::always_inline]] inline void heap::remove(block *b) {
  remove_from(b, b->size());
}

[[gnu::always_inline]] inline void heap::remove_from(block *b, std::size_t size) {
  if (b->prev_free) {
    at(b->prev_free)->next_free = b->next_free;
  } else {
    index i = mapping(size);
    heads()[i.fl * kSlCount + i.sl] = b->next_free;
    if (!b->next_free) {
      sl_bitmap_[i.fl] &= ~(1u << i.sl);
      if (!sl_bitmap_[i.fl]) fl_bitmap_ &= ~(std::uint64_t{1} << i.fl);
    }
  }
  if (b->next_free) at(b->next_free)->prev_free = b->prev_free;
}

[[gnu::always_inline]] inline void heap::replace(block *old, block *nu) {
  std::uint64_t o = off(nu);
  nu->next_free = old->next_free;
  nu->prev_free = old->prev_free;
  if (nu->prev_free) {
    at(nu->prev_free)->next_free = o;
  } else {
    index i = mapping(nu->size());
    heads()[i.fl * kSlCount + i.sl] = o;
  }
  if (nu->next_free) at(nu->next_free)->prev_free = o;
}

[[gnu::always_inline]] inline heap::block *heap::find(std::size_t size) {
  index i = mapping(round_to_class(size));
  if (i.fl < fl_count_) {
    std::uint32_t sl_map = sl_bitmap_[i.fl] & (~0u << i.sl);
    if (!sl_map) {
      std::uint64_t fl_map = fl_bitmap_ & (~std::uint64_t{0} << (i.fl + 1));
      if (fl_map) {
        i.fl = __builtin_ctzll(fl_map);
        sl_map = sl_bitmap_[i.fl];
      }
    }
    if (sl_map) return at(heads()[i.fl * kSlCount + __builtin_ctz(sl_map)]);
  }
  // Every class that guarantees a fit is empty; the request's own class may still hold a large enough one.
  index own = mapping(size);
  if (own.fl >= fl_count_) return nullptr;
  std::uint64_t o = heads()[own.fl * kSlCount + own.sl];
  for (int k = 0; o && k < kExactClassProbes; ++k) {
    block *b = at(o);
    if (b->size() >= size) return b;
    o = b->next_free;
  }
  return nullptr;
}

// ---- Blocks -----------------------------------------------------------------------------------------------

// b: a free block of at least `size` bytes, out of its list. Marks its first `size` bytes in use and
// returns the free rest, or nullptr when the rest would be too small to be a block and b is used whole.
[[gnu::always_inline]] inline heap::block *heap::cut(block *b, std::size_t size) {
  std::size_t have = b->size();
  if (have - size < kMinBlock) {
    b->store_head(b->head & ~kFree);
    b->next()->store_head(b->next()->head & ~kPrevFree);
    return nullptr;
  }
  block *rest = b->at_offset(size);
  set_head(rest, have - size, kFree);  // its previous block (b) is in use
  rest->next()->prev_size = have - size;
  set_head(b, size, b->head & kPrevFree);
  return rest;
}

// The designated block (dlmalloc's "designated victim") is the remainder of the last split: free, but in
// no list. A request it fits takes it unless a list holds a smaller fit, so the good-fit policy is kept,
// and cutting from it, or freeing a block next to it, costs no list update: a run of requests is carved
// from one place, and a block freed next to that place merges back at once.
[[gnu::always_inline]] inline heap::block *heap::take(std::size_t size) {
  block *d = dv_ ? at(dv_) : nullptr;
  std::size_t dv_size = d ? d->size() : 0;
  if (dv_size < size || fl_bitmap_) {
    block *b = find(size);
    if (b && (dv_size < size || b->size() < dv_size)) return take_listed(b, size, d, dv_size);
    if (dv_size < size) return nullptr;
  }
  block *rest = cut(d, size);
  dv_ = rest ? off(rest) : 0;
  return d;
}

// b: a listed block of at least `size` bytes; d: the designated block (or nullptr) and its size.
[[gnu::always_inline]] inline heap::block *heap::take_listed(block *b, std::size_t size, block *d,
                                                             std::size_t dv_size) {
  std::size_t have = b->size();
  block *rest = cut(b, size);  // leaves b's list links alone
  std::size_t left = have - size;
  if (!rest) {
    remove_from(b, have);
  } else if (left > dv_size) {  // the larger remainder is designated; the other one goes to its list
    remove_from(b, have);
    if (d) insert(d);
    dv_ = off(rest);
  } else if (same_class(have, left)) {  // a large block cut from its front keeps its list place
    replace(b, rest);
  } else {
    remove_from(b, have);
    insert(rest);
  }
  return b;
}

[[gnu::always_inline]] inline void heap::release(block *b) {
  std::size_t size = b->size();
  block *next = b->next();
  block *listed = nullptr;  // a free neighbour that stays linked while its class does not change
  bool designated = false;  // a neighbour is the designated block: the merged block takes its place
  if (b->prev_is_free()) {
    block *prev = b->prev();
    if (prev->size() != b->prev_size || !prev->is_free() ||
        (prev->head >> kTagShift) != tag(off(prev), prev->size())) {
      corrupt("free", b->payload(), "heap corrupted: the previous block's header was overwritten");
    }
    size += prev->size();
    b->store_head(b->head | kFree);  // its header stays behind inside prev: a second free of it is a double free
    b = prev;
    if (off(prev) == dv_) {
      designated = true;
    } else {
      listed = prev;
    }
  }
  if (next->is_free()) {
    if ((next->head >> kTagShift) != tag(off(next), next->size()) || next->size() < kMinBlock) {
      corrupt("free", b->payload(), "heap corrupted: the next block's header was overwritten");
    }
    if (off(next) == dv_) {
      designated = true;
    } else if (listed || designated) {
      remove(next);
    } else {
      listed = next;
    }
    size += next->size();
    next = next->next();
  }
  std::size_t listed_size = listed ? listed->size() : 0;
  set_head(b, size, kFree);  // coalescing is immediate, so the block before a free block is in use
  next->prev_size = size;
  next->store_head(next->head | kPrevFree);
  if (designated) {
    if (listed) remove_from(listed, listed_size);
    dv_ = off(b);
  } else if (!listed) {
    insert(b);
  } else if (!same_class(listed_size, size)) {
    remove_from(listed, listed_size);
    insert(b);
  } else if (listed != b) {
    replace(listed, b);
  }
}

[[gnu::always_inline]] inline heap::block *heap::checked(const void *p, const char *op) const {
  std::uint64_t a = reinterpret_cast<std::uintptr_t>(p) - reinterpret_cast<std::uintptr_t>(this);
  if (a < begin_ + kHeader || a >= end_ || (a & (kAlign - 1))) corrupt(op, p, "not a block of this heap");
  block *b = at(a - kHeader);
  std::uint64_t h = b->load_head();
  std::uint64_t size = h & kSizeMask;
  if ((h >> kTagShift) != tag(a - kHeader, size) || size < kMinBlock || size > end_ - (a - kHeader)) {
    corrupt(op, p,
            "not the start of a block (a pointer into a block, a stale pointer, or an overwritten header)");
  }
  if (h & kFree) corrupt(op, p, "double free (the block is already free)");
  if (b->load_mark() == cookie(a - kHeader)) corrupt(op, p, "double free (the block is in a thread cache)");
  if (b->at_offset(size)->load_head() & kPrevFree) corrupt(op, p, "heap corrupted: the next block's header was overwritten");
  return b;
}

inline void heap::count_alloc(const block *b) {
  add(stats_.in_use_bytes, b->size());
  note_peak(stats_);
  add(stats_.allocs, 1);
  add(stats_.live_blocks, 1);
}

[[gnu::always_inline]] inline void heap::free_locked(block *b) {
  sub(stats_.in_use_bytes, b->size());
  add(stats_.frees, 1);
  sub(stats_.live_blocks, 1);
  release(b);
}

// A request under the lock; with a thread cache c, a heap too full for it first takes c's blocks back.
[[gnu::always_inline]] inline void *heap::malloc_locked(std::size_t n, thread_cache *c) {
  std::size_t size = block_size_for(n);
  block *b = size ? take(size) : nullptr;
  if (!b && size && c) {
    cache_flush_locked(c);
    b = take(size);
  }
  if (!b) {
    add(stats_.failed, 1);
    return nullptr;
  }
  count_alloc(b);
  return b->payload();
}

}  // namespace flex::tlsf

#endif  // FLEX_BASE_TLSF_SRC_TLSF_BLOCKS_H_
