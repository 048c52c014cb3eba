// The per-compartment allocator: segregated free lists over one fixed region, boundary tags, first fit,
// immediate coalescing. Small and obviously correct rather than fast; TLSF replaces it behind heap.h.
//
// A chunk is a 16-byte header followed by its payload (so payloads are 16-byte aligned):
//
//   +-----------+-----------------------+---------------------------------------------+
//   | prev_size | size | PINUSE | INUSE | payload (free chunks: next, prev list links) |
//   +-----------+-----------------------+---------------------------------------------+
//
// prev_size is meaningful only when the previous chunk is free (it is that chunk's footer). A sentinel
// header of size 0 marked in use ends the region, so coalescing never runs past it.
#include "flex/gates/heap.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>

namespace flex::gates {

namespace {

constexpr std::size_t kHeader = 16;
constexpr std::size_t kMinChunk = 32;
constexpr std::size_t kInUse = 1;
constexpr std::size_t kPrevInUse = 2;
constexpr std::size_t kFlags = kInUse | kPrevInUse;
constexpr std::size_t kMaxRequest = (std::size_t{1} << 62);

}  // namespace

struct heap::chunk {
  std::size_t prev_size;
  std::size_t head;
  chunk *next;  // free chunks only
  chunk *prev;

  std::size_t size() const { return head & ~kFlags; }
  chunk *at(std::size_t offset) { return reinterpret_cast<chunk *>(reinterpret_cast<char *>(this) + offset); }
  chunk *following() { return at(size()); }
  char *payload() { return reinterpret_cast<char *>(this) + kHeader; }
  static chunk *of(std::uintptr_t payload) { return reinterpret_cast<chunk *>(payload - kHeader); }
};

namespace {

std::uintptr_t align_up(std::uintptr_t v, std::size_t a) {
  return (v + a - 1) & ~(std::uintptr_t{a} - 1);
}

// Chunk size for a request of n payload bytes; 0 when the request cannot be satisfied by any heap.
std::size_t chunk_size_for(std::size_t n) {
  if (n > kMaxRequest) return 0;
  std::size_t c = align_up(n + kHeader, heap::kAlign);
  return c < kMinChunk ? kMinChunk : c;
}

// Small sizes (< 1 KiB) have exact bins; larger ones two bins per power of two; the last bin takes the rest.
int bin_index(std::size_t size) {
  if (size < 1024) return static_cast<int>(size >> 4);
  int lg = 63 - __builtin_clzll(size);
  int idx = 64 + (lg - 10) * 2 + static_cast<int>((size >> (lg - 1)) & 1);
  return idx < 127 ? idx : 127;
}

[[noreturn]] void corrupt(const char *op, const void *p, const char *what) {
  char msg[200];
  int n = std::snprintf(msg, sizeof msg, "flex heap: %s(%p): %s\n", op, p, what);
  if (n > 0) (void)!::write(2, msg, static_cast<std::size_t>(n) < sizeof msg ? n : sizeof msg - 1);
  std::abort();
}

}  // namespace

heap *heap::create(heap_region r) {
  auto base = reinterpret_cast<std::uintptr_t>(r.base);
  if (!r.base || (base & 63) || r.bytes < kMinRegion) return nullptr;
  std::uintptr_t begin = align_up(base + sizeof(heap), kAlign);
  std::uintptr_t end = (base + r.bytes) & ~(std::uintptr_t{kAlign} - 1);
  heap *h = new (r.base) heap(begin, end);
  auto *first = reinterpret_cast<chunk *>(begin);
  std::size_t size = end - kHeader - begin;
  first->prev_size = 0;
  first->head = size | kPrevInUse;
  auto *sentinel = reinterpret_cast<chunk *>(end - kHeader);
  sentinel->prev_size = size;
  sentinel->head = kInUse;
  h->insert(first);
  h->stats_.region_bytes = r.bytes;
  return h;
}

void heap::lock() const {
  while (__atomic_exchange_n(&lock_, 1u, __ATOMIC_ACQUIRE)) {
    while (__atomic_load_n(&lock_, __ATOMIC_RELAXED)) __builtin_ia32_pause();
  }
}

void heap::unlock() const {
  __atomic_store_n(&lock_, 0u, __ATOMIC_RELEASE);
}

void heap::insert(chunk *c) {
  int i = bin_index(c->size());
  c->prev = nullptr;
  c->next = bins_[i];
  if (c->next) c->next->prev = c;
  bins_[i] = c;
  nonempty_[i / 64] |= std::uint64_t{1} << (i % 64);
}

void heap::unlink(chunk *c) {
  int i = bin_index(c->size());
  if (c->prev) {
    c->prev->next = c->next;
  } else {
    bins_[i] = c->next;
    if (!c->next) nonempty_[i / 64] &= ~(std::uint64_t{1} << (i % 64));
  }
  if (c->next) c->next->prev = c->prev;
}

heap::chunk *heap::take(std::size_t csize) {
  int i = bin_index(csize);
  chunk *c = nullptr;
  for (chunk *it = bins_[i]; it; it = it->next) {  // first fit within the request's own bin
    if (it->size() >= csize) {
      c = it;
      break;
    }
  }
  if (!c) {  // any chunk of a higher bin is large enough
    for (int w = (i + 1) / 64; w < kBins / 64 && !c; ++w) {
      std::uint64_t bits = nonempty_[w];
      if (w == (i + 1) / 64) bits &= ~std::uint64_t{0} << ((i + 1) % 64);
      if (bits) c = bins_[w * 64 + __builtin_ctzll(bits)];
    }
    if (!c) return nullptr;
  }
  unlink(c);
  std::size_t size = c->size();
  if (size - csize >= kMinChunk) {
    auto *rest = c->at(csize);
    rest->head = (size - csize) | kPrevInUse;
    rest->following()->prev_size = size - csize;
    insert(rest);
    c->head = csize | (c->head & kPrevInUse) | kInUse;
  } else {
    c->head |= kInUse;
    c->following()->head |= kPrevInUse;
  }
  return c;
}

void heap::release(chunk *c) {
  std::size_t size = c->size();
  if (!(c->head & kPrevInUse)) {
    chunk *prev = reinterpret_cast<chunk *>(reinterpret_cast<char *>(c) - c->prev_size);
    unlink(prev);
    size += prev->size();
    c = prev;
  }
  auto *next = c->at(size);
  if (!(next->head & kInUse)) {
    unlink(next);
    size += next->size();
  }
  c->head = size | kPrevInUse;  // coalescing is immediate, so the chunk before a free chunk is in use
  next = c->following();
  next->prev_size = size;
  next->head &= ~kPrevInUse;
  insert(c);
}

void heap::split(chunk *c, std::size_t csize) {
  std::size_t size = c->size();
  if (size - csize < kMinChunk) return;
  auto *rest = c->at(csize);
  rest->head = (size - csize) | kPrevInUse | kInUse;
  c->head = csize | (c->head & kFlags);
  stats_.in_use_bytes -= size - csize;
  release(rest);
}

heap::chunk *heap::checked(const void *p, const char *op) const {
  auto a = reinterpret_cast<std::uintptr_t>(p);
  if (!owns(p) || (a & (kAlign - 1)) || a < begin_ + kHeader) corrupt(op, p, "not a block of this heap");
  chunk *c = chunk::of(reinterpret_cast<std::uintptr_t>(p));
  if (!(c->head & kInUse)) corrupt(op, p, "block is not allocated (double free?)");
  std::size_t size = c->size();
  if (size < kMinChunk || size > end_ - a || !(c->following()->head & kPrevInUse)) {
    corrupt(op, p, "corrupted block header");
  }
  return c;
}

void *heap::malloc(std::size_t n) {
  std::size_t csize = chunk_size_for(n);
  lock();
  chunk *c = csize ? take(csize) : nullptr;
  if (!c) {
    ++stats_.failed;
    unlock();
    return nullptr;
  }
  stats_.in_use_bytes += c->size();
  if (stats_.in_use_bytes > stats_.peak_in_use_bytes) stats_.peak_in_use_bytes = stats_.in_use_bytes;
  ++stats_.allocs;
  ++stats_.live_blocks;
  unlock();
  return c->payload();
}

void heap::free(void *p) {
  if (!p) return;
  lock();
  chunk *c = checked(p, "free");
  stats_.in_use_bytes -= c->size();
  ++stats_.frees;
  --stats_.live_blocks;
  release(c);
  unlock();
}

void *heap::memalign(std::size_t align, std::size_t n) {
  if (align == 0 || (align & (align - 1))) return nullptr;
  if (align <= kAlign) return malloc(n);
  std::size_t csize = chunk_size_for(n);
  if (!csize || align > kMaxRequest) {
    lock();
    ++stats_.failed;
    unlock();
    return nullptr;
  }
  lock();
  // Room for the block, a leading free chunk of at least kMinChunk and the worst alignment shift.
  chunk *c = take(csize + align + kMinChunk);
  if (!c) {
    ++stats_.failed;
    unlock();
    return nullptr;
  }
  stats_.in_use_bytes += c->size();
  auto p = reinterpret_cast<std::uintptr_t>(c->payload());
  if (p & (align - 1)) {
    std::uintptr_t q = align_up(p + kMinChunk, align);
    std::size_t lead = q - p;
    chunk *a = chunk::of(q);
    a->head = (c->size() - lead) | kInUse;  // PINUSE clear: the lead becomes free just below
    c->head = lead | (c->head & kPrevInUse) | kInUse;
    stats_.in_use_bytes -= lead;
    release(c);
    c = a;
  }
  split(c, csize);
  if (stats_.in_use_bytes > stats_.peak_in_use_bytes) stats_.peak_in_use_bytes = stats_.in_use_bytes;
  ++stats_.allocs;
  ++stats_.live_blocks;
  unlock();
  return c->payload();
}

void *heap::realloc(void *p, std::size_t n) {
  if (!p) return malloc(n);
  if (n == 0) {
    free(p);
    return nullptr;
  }
  std::size_t csize = chunk_size_for(n);
  lock();
  chunk *c = checked(p, "realloc");
  std::size_t size = c->size();
  if (csize && csize <= size) {  // shrink in place
    split(c, csize);
    unlock();
    return p;
  }
  chunk *next = c->following();
  if (csize && !(next->head & kInUse) && size + next->size() >= csize) {  // grow into the next chunk
    unlink(next);
    std::size_t merged = size + next->size();
    c->head = merged | (c->head & kFlags);
    c->following()->head |= kPrevInUse;
    stats_.in_use_bytes += merged - size;
    split(c, csize);
    if (stats_.in_use_bytes > stats_.peak_in_use_bytes) stats_.peak_in_use_bytes = stats_.in_use_bytes;
    unlock();
    return p;
  }
  chunk *moved = csize ? take(csize) : nullptr;
  if (!moved) {  // the old block stays valid, as C requires
    ++stats_.failed;
    unlock();
    return nullptr;
  }
  std::memcpy(moved->payload(), p, size - kHeader);
  stats_.in_use_bytes += moved->size();
  stats_.in_use_bytes -= size;
  if (stats_.in_use_bytes > stats_.peak_in_use_bytes) stats_.peak_in_use_bytes = stats_.in_use_bytes;
  ++stats_.allocs;
  ++stats_.frees;
  release(c);
  unlock();
  return moved->payload();
}

std::size_t heap::usable_size(const void *p) const {
  if (!p) return 0;
  lock();
  chunk *c = checked(p, "malloc_usable_size");
  std::size_t n = c->size() - kHeader;
  unlock();
  return n;
}

heap_stats heap::stats() const {
  lock();
  heap_stats s = stats_;
  s.free_bytes = (end_ - kHeader - begin_) - s.in_use_bytes;
  for (int i = kBins - 1; i >= 0 && !s.largest_free; --i) {
    for (chunk *c = bins_[i]; c; c = c->next) {
      if (c->size() > s.largest_free) s.largest_free = c->size();
    }
  }
  unlock();
  return s;
}

}  // namespace flex::gates
