/* hello: greets from its own compartment through the console library's: hello [--time] [words...] prints
 * "hello from compartment <name>" and then the words, one line each. With --time the lines go through a
 * file first (vfs, on the ramfs at "/"), and the time library times that round trip. */
#include <stdio.h>
#include <string.h>
#include <flex/console/console.h>
#include <flex/runtime/self.h>
#include <flex/time/time.h>
#include <flex/vfs/vfs.h>
#include <flexos/isolation.h>
static long emit(const char *line, int n, int timed), replay(void), report(int64_t t0, int lines);
int main(int argc, char **argv) {
  static char msg[256] __attribute__((flexos_whitelist)); /* shared: the console (and vfs) read it */
  long rc = 0, t0 = 0;
  int n = snprintf(msg, sizeof msg, "hello from compartment %s", flex_self.name), timed = argc > 1 && !strcmp(argv[1], "--time");
  if (timed) flexos_gate_r(libtime, t0, time_monotonic_ns); rc = emit(msg, n, timed);
  if (rc < 0) return 1;
  for (int i = 1 + timed; i < argc; i++) {
    n = snprintf(msg, sizeof msg, "%s says: %s", flex_self.name, argv[i]);
    rc = emit(msg, n, timed);
    if (rc < 0) return 1;
  }
  if (timed && replay() < 0) return 1;
  return timed && report(t0, argc - timed) < 0;
}

static int g_fd = -1;

/* One line: straight to the console, or (--time) appended to the file, created on first use. */
static long emit(const char *line, int n, int timed) {
  long rc;
  if (n < 0) return -1;
  if (n > 255) n = 255;
  if (!timed) {
    flexos_gate_r(libconsole, rc, console_write_line, line, (size_t)n);
    return rc;
  }
  if (g_fd < 0) {
    flexos_gate_r(libvfs, g_fd, vfs_open, "/hello.txt", VFS_O_RDWR | VFS_O_CREAT | VFS_O_TRUNC, 0644);
    if (g_fd < 0) return g_fd;
  }
  flexos_gate_r(libvfs, rc, vfs_write, g_fd, line, (size_t)n);
  if (rc < 0) return rc;
  flexos_gate_r(libvfs, rc, vfs_write, g_fd, "\n", 1);
  return rc;
}

/* Reads the file back from the start and prints each line through the console. */
static long replay(void) {
  static char buf[4096] __attribute__((flexos_whitelist));
  long rc, got = 0, n;
  int64_t at;
  flexos_gate_r(libvfs, at, vfs_lseek, g_fd, 0, VFS_SEEK_SET);
  if (at < 0) return at;
  do {
    flexos_gate_r(libvfs, n, vfs_read, g_fd, buf + got, sizeof buf - 1 - (size_t)got);
    if (n < 0) return n;
    got += n;
  } while (n > 0 && got < (long)sizeof buf - 1);
  for (long start = 0, i = 0; i < got; i++) {
    if (buf[i] != '\n') continue;
    flexos_gate_r(libconsole, rc, console_write_line, buf + start, (size_t)(i - start));
    if (rc < 0) return rc;
    start = i + 1;
  }
  flexos_gate_r(libvfs, rc, vfs_close, g_fd);
  return rc;
}

/* --time: how long the round trip through the file took, and the wall clock. */
static long report(int64_t t0, int lines) {
  static char line[160] __attribute__((flexos_whitelist));
  int64_t t1, wall;
  long rc;
  flexos_gate_r(libtime, t1, time_monotonic_ns);
  flexos_gate_r(libtime, wall, time_realtime_ns);
  int n = snprintf(line, sizeof line, "%d lines through /hello.txt in %lld us; realtime %lld s", lines,
                   (long long)((t1 - t0) / 1000), (long long)(wall / 1000000000));
  flexos_gate_r(libconsole, rc, console_write_line, line, (size_t)n);
  return rc;
}
