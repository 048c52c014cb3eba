// A system call made with the `syscall` instruction itself: no libc wrapper, no errno, no cancellation
// point; -errno on failure. For the code that must choose which instruction makes its calls (plat's
// default way into the kernel, the runtime's own calls under the mpk system-call wall).
#pragma once

namespace flex::runtime {

inline long raw_syscall(long nr, long a0 = 0, long a1 = 0, long a2 = 0, long a3 = 0, long a4 = 0, long a5 = 0) {
  long r;
  register long r10 asm("r10") = a3;
  register long r8 asm("r8") = a4;
  register long r9 asm("r9") = a5;
  asm volatile("syscall"
               : "=a"(r)
               : "a"(nr), "D"(a0), "S"(a1), "d"(a2), "r"(r10), "r"(r8), "r"(r9)
               : "rcx", "r11", "memory");
  return r;
}

}  // namespace flex::runtime
