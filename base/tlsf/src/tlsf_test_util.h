// Helpers of the TLSF unit tests (tlsf_test.cc, tlsf_cache_test.cc): a scoped anonymous mapping, a heap
// over it, and a byte pattern to check that blocks keep their contents.
#ifndef FLEX_BASE_TLSF_SRC_TLSF_TEST_UTIL_H_
#define FLEX_BASE_TLSF_SRC_TLSF_TEST_UTIL_H_

#include <gtest/gtest.h>
#include <sys/mman.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "flex/tlsf/tlsf.h"

namespace flex::tlsf {

// An anonymous mapping, released at the end of the scope.
class region {
 public:
  explicit region(std::size_t bytes, int flags = MAP_PRIVATE) : bytes_(bytes) {
    base_ = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, flags | MAP_ANONYMOUS, -1, 0);
    if (base_ == MAP_FAILED) base_ = nullptr;
  }
  ~region() {
    if (base_) ::munmap(base_, bytes_);
  }
  region(const region &) = delete;
  region &operator=(const region &) = delete;
  heap_region get() const { return {base_, bytes_}; }
  char *base() const { return static_cast<char *>(base_); }

 private:
  void *base_;
  std::size_t bytes_;
};

inline heap *make(const region &r) {
  heap *h = heap::create(r.get());
  EXPECT_NE(h, nullptr);
  return h;
}

// The block size a request of n bytes takes: 8 bytes of header, 16-byte granularity, at least 32.
inline std::size_t block_for(std::size_t n) {
  std::size_t s = (n + 8 + 15) & ~std::size_t{15};
  return std::max<std::size_t>(s, 32);
}

inline void fill(void *p, std::size_t n, std::uint32_t seed) {
  auto *c = static_cast<unsigned char *>(p);
  for (std::size_t i = 0; i < n; ++i) c[i] = static_cast<unsigned char>(seed + i * 131);
}

inline bool intact(const void *p, std::size_t n, std::uint32_t seed) {
  auto *c = static_cast<const unsigned char *>(p);
  for (std::size_t i = 0; i < n; ++i) {
    if (c[i] != static_cast<unsigned char>(seed + i * 131)) return false;
  }
  return true;
}

inline bool aligned(const void *p, std::size_t a) {
  return (reinterpret_cast<std::uintptr_t>(p) & (a - 1)) == 0;
}

}  // namespace flex::tlsf

#endif  // FLEX_BASE_TLSF_SRC_TLSF_TEST_UTIL_H_
