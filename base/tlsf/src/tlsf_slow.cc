// The heap's entry points off the fast path: aligned allocation, realloc, usable size, the statistics and
// the consistency check.
#include <cstring>

#include "tlsf_blocks.h"

namespace flex::tlsf {

void *heap::memalign_locked(std::size_t align, std::size_t n) {
  if (align <= kAlign) return malloc_locked(n, nullptr);
  std::size_t size = block_size_for(n);
  if (!size || align > kMaxRequest) {
    add(stats_.failed, 1);
    return nullptr;
  }
  // Room for the block behind a leading free block of at least kMinBlock and the worst alignment shift.
  block *b = take(size + align + kMinBlock);
  if (!b) {
    add(stats_.failed, 1);
    return nullptr;
  }
  auto p = reinterpret_cast<std::uintptr_t>(b->payload());
  if (p & (align - 1)) {
    std::uintptr_t q = (p + kMinBlock + align - 1) & ~(std::uintptr_t{align} - 1);
    std::size_t lead = q - p;
    block *a = b->at_offset(lead);
    set_head(a, b->size() - lead, kPrevFree);
    set_head(b, lead, (b->head & kPrevFree) | kFree);
    a->prev_size = lead;
    insert(b);  // its previous block is in use: b was free before take()
    b = a;
  }
  add(stats_.in_use_bytes, b->size());
  trim(b, size);
  sub(stats_.in_use_bytes, b->size());
  count_alloc(b);
  return b->payload();
}

void *heap::memalign(std::size_t align, std::size_t n) {
  const bool locked = lock();
  void *p = nullptr;
  if (align == 0 || (align & (align - 1))) {
    add(stats_.failed, 1);
  } else {
    p = memalign_locked(align, n);
  }
  unlock(locked);
  return p;
}

void *heap::realloc(void *p, std::size_t n) {
  if (!p) return malloc(n);
  if (n == 0) {
    free(p);
    return nullptr;
  }
  std::size_t size = block_size_for(n);
  const bool locked = lock();
  block *b = checked(p, "realloc");
  std::size_t have = b->size();
  if (size && size <= have) {  // shrink in place
    trim(b, size);
    unlock(locked);
    return p;
  }
  block *next = b->next();
  if (size && next->is_free() && have + next->size() >= size) {  // grow into the next block
    if (off(next) == dv_) {
      dv_ = 0;
    } else {
      remove(next);
    }
    std::size_t merged = have + next->size();
    set_head(b, merged, b->head & kPrevFree);
    b->next()->store_head(b->next()->head & ~kPrevFree);
    add(stats_.in_use_bytes, merged - have);
    note_peak(stats_);
    trim(b, size);
    unlock(locked);
    return p;
  }
  block *moved = size ? take(size) : nullptr;
  if (!moved) {  // the old block stays valid, as C requires
    add(stats_.failed, 1);
    unlock(locked);
    return nullptr;
  }
  std::memcpy(moved->payload(), p, have - kOverhead);
  count_alloc(moved);
  sub(stats_.in_use_bytes, have);
  add(stats_.frees, 1);
  sub(stats_.live_blocks, 1);
  release(b);
  unlock(locked);
  return moved->payload();
}

std::size_t heap::usable_size(const void *p) const {
  if (!p) return 0;
  const bool locked = lock();
  std::size_t n = checked(p, "malloc_usable_size")->size() - kOverhead;
  unlock(locked);
  return n;
}

heap_stats heap::stats() const {
  const bool locked = lock();
  if (thread_cache_) const_cast<heap *>(this)->flush_mine_locked();
  heap_stats s = stats_;
  s.free_bytes = (end_ - begin_) - s.in_use_bytes;
  if (dv_) s.largest_free = at(dv_)->size();
  if (fl_bitmap_) {  // the largest listed block is in the highest non-empty class
    int fl = msb(fl_bitmap_);
    int sl = msb(sl_bitmap_[fl]);
    for (std::uint64_t o = heads()[fl * kSlCount + sl]; o; o = at(o)->next_free) {
      if (at(o)->size() > s.largest_free) s.largest_free = at(o)->size();
    }
  }
  unlock(locked);
  return s;
}

bool heap::verify() const {
  const bool locked = lock();
  bool ok = true;
  std::size_t free_blocks = 0, in_use = 0, live = 0;
  bool prev_free = false, dv_seen = false;
  std::uint64_t prev_size = 0;
  std::uint64_t o = begin_;
  while (ok && o < end_) {
    block *b = at(o);
    std::size_t size = b->size();
    ok = size >= kMinBlock && size <= end_ - o && (b->head >> kTagShift) == tag(o, size) &&
         b->prev_is_free() == prev_free && (!prev_free || b->prev_size == prev_size) &&
         !(prev_free && b->is_free());
    if (o == dv_) {
      ok = ok && b->is_free();
      dv_seen = true;
    }
    if (b->is_free()) {
      ++free_blocks;
    } else {
      in_use += size;
      ++live;
    }
    prev_free = b->is_free();
    prev_size = size;
    o += size;
  }
  block *sentinel = at(end_);
  ok = ok && o == end_ && sentinel->size() == 0 && !sentinel->is_free() &&
       sentinel->prev_is_free() == prev_free && (!prev_free || sentinel->prev_size == prev_size) &&
       in_use == stats_.in_use_bytes && live == stats_.live_blocks && (dv_seen || dv_ == 0);
  std::size_t listed = dv_ ? 1 : 0;  // the designated block counts as listed: it is in no list
  for (unsigned fl = 0; ok && fl < fl_count_; ++fl) {
    ok = ((fl_bitmap_ >> fl) & 1) == (sl_bitmap_[fl] != 0);
    for (unsigned sl = 0; ok && sl < kSlCount; ++sl) {
      std::uint64_t h = heads()[fl * kSlCount + sl];
      ok = ((sl_bitmap_[fl] >> sl) & 1) == (h != 0);
      std::uint64_t back = 0;
      for (std::uint64_t e = h; ok && e; e = at(e)->next_free) {
        block *b = at(e);
        index i = mapping(b->size());
        ok = e >= begin_ && e < end_ && e != dv_ && b->is_free() && i.fl == fl && i.sl == sl &&
             b->prev_free == back && ++listed <= free_blocks;
        back = e;
      }
    }
  }
  ok = ok && listed == free_blocks;
  unlock(locked);
  return ok;
}

}  // namespace flex::tlsf
