// posix: stdio streams on the libOS's files. fopen and fdopen give C library FILEs whose reads, writes,
// seeks and close are this layer's (glibc's fopencookie), so a program's fprintf, fgets and fclose on a
// file it opened reach vfs like its read() and write() do; stdin, stdout and stderr stay the C library's.
// fileno() of such a stream is -1 (it has no kernel descriptor).
#undef _FORTIFY_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

#include "entries.h"
#include "fd_table.h"

namespace {

int fd_of(void *cookie) {
  return static_cast<int>(reinterpret_cast<std::intptr_t>(cookie));
}

ssize_t stream_read(void *cookie, char *buf, size_t len) {
  return PX(read)(fd_of(cookie), buf, len);
}

ssize_t stream_write(void *cookie, const char *buf, size_t len) {
  const ssize_t n = PX(write)(fd_of(cookie), buf, len);
  return n < 0 ? 0 : n;  // fopencookie: 0 is the error
}

int stream_seek(void *cookie, off64_t *off, int whence) {
  const off_t at = PX(lseek)(fd_of(cookie), *off, whence);
  if (at < 0) return -1;
  *off = at;
  return 0;
}

int stream_close(void *cookie) {
  return PX(close)(fd_of(cookie));
}

// fopen's mode as open flags; -1 (EINVAL) for a mode fopen would refuse.
int open_flags(const char *mode) {
  if (flex::posix::missing(mode)) return -1;
  int flags;
  switch (mode[0]) {
    case 'r': flags = 0; break;
    case 'w': flags = O_CREAT | O_TRUNC; break;
    case 'a': flags = O_CREAT | O_APPEND; break;
    default: return -1;
  }
  bool plus = false;
  for (const char *m = mode + 1; *m; ++m) {
    if (*m == '+') plus = true;
    else if (*m == 'x') flags |= O_EXCL;
    else if (*m == 'e') flags |= O_CLOEXEC;
    // 'b', 'm', 'c' and the ",ccs=" extension change nothing here
  }
  return flags | (plus ? O_RDWR : mode[0] == 'r' ? O_RDONLY : O_WRONLY);
}

FILE *stream(int fd, const char *mode) {
  const cookie_io_functions_t io = {stream_read, stream_write, stream_seek, stream_close};
  return fopencookie(reinterpret_cast<void *>(static_cast<std::intptr_t>(fd)), mode, io);
}

}  // namespace

extern "C" {

FILE *PX(fopen)(const char *path, const char *mode) {
  const int flags = open_flags(mode);
  if (flags < 0) {
    errno = EINVAL;
    return nullptr;
  }
  const int fd = PX(open)(path, flags, 0666);
  if (fd < 0) return nullptr;
  FILE *f = stream(fd, mode);
  if (!f) PX(close)(fd);
  return f;
}

FILE *PX(fdopen)(int fd, const char *mode) {
  if (open_flags(mode) < 0) {
    errno = EINVAL;
    return nullptr;
  }
  return stream(fd, mode);
}

}  // extern "C"

#ifndef FLEX_POSIX_TEST_NAMES
extern "C" FILE *fopen64(const char *path, const char *mode) {
  return fopen(path, mode);
}
#endif
