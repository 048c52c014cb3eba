// The end of an image whose MPK domains share the process: no libc state is trusted there.
//
// glibc's writable data is key-0 memory, which every compartment may write (DESIGN.md §5): the list of
// exit handlers (atexit is a legitimate call, and a forged entry works as well), the FILE objects and
// their chain, printf's conversion tables (register_printf_specifier). libc's exit() runs with the rights
// of its caller, and the image's end runs with the runtime's (every key). So once the app has run, the
// runtime calls no libc function that acts on such state: it runs no exit handler (neither the app's nor
// the libraries' destructors), formats its own lines (fault_line), writes out what the standard output
// still holds from a buffer of its own, and ends with exit_group.
//
// The standard output's buffer is the runtime's, set at boot (key-0 memory: every compartment prints
// into it, whichever prints first). At the end its pending bytes are read as data, never through the
// FILE's functions, and only when the FILE's pointers lie inside that buffer: a compartment that rewrote
// them cannot have the runtime write out another domain's memory. A compartment that gives the standard
// output a buffer of its own (setvbuf), or opens FILEs of its own, flushes them itself before returning.
#include <stdio.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

#include "flex/runtime/boot.h"
#include "flex/runtime/fault.h"

namespace flex::runtime {
namespace {

constexpr std::size_t kStdoutBufferBytes = 1 << 16;
alignas(4096) char g_stdout_buffer[kStdoutBufferBytes];
bool g_stdout_owned = false;

void write_all(int fd, const char *p, std::size_t n) {
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return;
    p += w;
    n -= static_cast<std::size_t>(w);
  }
}

}  // namespace

void own_standard_output() {
  std::fflush(stdout);
  // As glibc would choose: line-buffered on a terminal, fully buffered elsewhere.
  const int mode = ::isatty(STDOUT_FILENO) ? _IOLBF : _IOFBF;
  g_stdout_owned = std::setvbuf(stdout, g_stdout_buffer, mode, kStdoutBufferBytes) == 0;
}

bool write_out_standard_output() {
  if (!g_stdout_owned) return true;
  const auto lo = reinterpret_cast<std::uintptr_t>(g_stdout_buffer);
  const auto hi = lo + kStdoutBufferBytes;
  const auto base = reinterpret_cast<std::uintptr_t>(stdout->_IO_write_base);
  const auto ptr = reinterpret_cast<std::uintptr_t>(stdout->_IO_write_ptr);
  if (base == ptr) return true;  // nothing pending (or unbuffered: glibc's one-byte buffer)
  if (base < lo || ptr > hi || base > ptr) return false;
  write_all(STDOUT_FILENO, reinterpret_cast<const char *>(base), ptr - base);
  return true;
}

void end_without_libc(int rc, void (*report)()) {
  if (report) report();
  shutdown_backends();
  if (!write_out_standard_output()) {
    fault_line()
        .str("flex: the standard output's buffer pointers lie outside the runtime's buffer (a compartment "
             "rewrote them or gave it a buffer of its own); what it still held is not written")
        .emit();
  }
  ::_exit(rc);
}

}  // namespace flex::runtime
