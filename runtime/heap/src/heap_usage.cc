// flexos_memory_usage (flexos/isolation.h): the allocator that serves the running compartment, and what it holds.
//   - ASan's allocator where the image has one (it owns malloc, whatever the dispatch table says);
//   - else the compartment's TLSF heap (a key heap under mpk, a process compartment's own heap);
//   - else glibc (images without compartment heaps, and the runtime itself).
#include <fcntl.h>
#include <malloc.h>
#include <unistd.h>

#include <cstdlib>

#include "flex/runtime/heap.h"
#include "flexos/isolation.h"

// Defined by the sanitizer runtime when the image has one.
extern "C" std::size_t __sanitizer_get_current_allocated_bytes() __attribute__((weak));

namespace {

// /proc/self/statm of this process, opened once per process: a descriptor opened before a fork names the
// parent, and after the lockdown a compartment may no longer open files.
int g_statm_fd = -1;
pid_t g_statm_pid = 0;

// The second field of /proc/self/statm, in bytes.
std::size_t resident_bytes() {
  if (g_statm_pid != ::getpid()) flex::runtime::heap_usage_prepare();
  if (g_statm_fd < 0) return 0;
  char buf[128];
  ssize_t n = ::pread(g_statm_fd, buf, sizeof buf - 1, 0);
  if (n <= 0) return 0;
  buf[n] = '\0';
  char *p = buf;
  std::strtoull(p, &p, 10);  // total size
  char *end = p;
  unsigned long long pages = std::strtoull(p, &end, 10);
  if (end == p) return 0;
  long page = ::sysconf(_SC_PAGESIZE);
  return static_cast<std::size_t>(pages) * static_cast<std::size_t>(page > 0 ? page : 4096);
}

}  // namespace

void flex::runtime::heap_usage_prepare() {
  if (g_statm_pid == ::getpid() && g_statm_fd >= 0) return;
  g_statm_fd = ::open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
  g_statm_pid = ::getpid();
}

extern "C" void flexos_memory_usage(struct flexos_mem_stats *out) {
  if (out == nullptr) return;
  *out = {};
  out->resident_bytes = resident_bytes();
  if (__sanitizer_get_current_allocated_bytes != nullptr) {
    out->in_use_bytes = __sanitizer_get_current_allocated_bytes();
    out->allocator = "asan";
  } else if (flex::runtime::heap *h = flex::runtime::heap_current()) {
    flex::runtime::heap_stats s = h->stats();
    out->in_use_bytes = s.in_use_bytes;
    out->peak_in_use_bytes = s.peak_in_use_bytes;
    out->heap_bytes = s.region_bytes;
    out->allocator = "tlsf";
  } else {
    struct mallinfo2 m = ::mallinfo2();
    out->in_use_bytes = m.uordblks + m.hblkhd;
    out->allocator = "glibc";
  }
}
