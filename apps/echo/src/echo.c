/* echo: a TCP echo server, one sched thread per connection.
 *
 *   echo [--port N] [--bind ADDR] [--max N] [--delay-us N] [--dir HOSTDIR]
 *   echo --selftest [--dir HOSTDIR]      bad input through every gate; HOSTDIR holds an escaping symlink
 *
 * Prints "echo: listening on ADDR:PORT" once it listens (port 0, the default, picks one). After --max
 * connections (0: no limit) have come and gone it writes "served C connections, B bytes" to
 * /data/echo.log (a hostfs mount of --dir) or /echo.log (ramfs), prints what it reads back and exits 0.
 * --delay-us: each connection sleeps that long (time, through sched) before its first echo. */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/socket.h>

#include <flex/console/console.h>
#include <flex/net/net.h>
#include <flex/sched/sched.h>
#include <flex/time/time.h>
#include <flex/vfs/vfs.h>
#include <flexos/isolation.h>

static long g_active, g_connections, g_bytes;
static int64_t g_delay_ns;
static int g_wq;

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...) {
  static char line[512] __attribute__((flexos_whitelist));
  long rc;
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  flexos_gate_r(libconsole, rc, console_write_line, line, (size_t)(n < (int)sizeof line ? n : (int)sizeof line - 1));
  (void)rc;
}

/* One connection: echoes until the peer ends its side. Runs in the app's compartment, called back by
 * sched on a thread of its own. */
long echo_conn(void *arg) __attribute__((libsched_callback));
long echo_conn(void *arg) {
  int fd = (int)(intptr_t)arg;
  char buf[16384] __attribute__((flexos_whitelist));
  long n, sent = 0, rc;
  if (g_delay_ns > 0) flexos_gate_r(libtime, rc, time_sleep_ns, g_delay_ns);
  for (;;) {
    flexos_gate_r(libnet, n, net_recv, fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    flexos_gate_r(libnet, sent, net_send, fd, buf, (size_t)n, 0);
    if (sent != n) break;
    g_bytes += n;
  }
  flexos_gate_r(libnet, rc, net_close, fd);
  --g_active;
  flexos_gate_r(libsched, rc, sched_wq_wake, g_wq, 1);
  (void)rc;
  return n < 0 ? n : 0;
}

/* The log of what was served, written and read back through vfs. */
static int write_log(const char *dir) {
  static char path[64] __attribute__((flexos_whitelist));
  static char text[256] __attribute__((flexos_whitelist));
  long rc, n;
  int fd;
  snprintf(path, sizeof path, "%s/echo.log", dir ? "/data" : "");
  int len = snprintf(text, sizeof text, "served %ld connections, %ld bytes\n", g_connections, g_bytes);
  flexos_gate_r(libvfs, fd, vfs_open, path, VFS_O_RDWR | VFS_O_CREAT | VFS_O_TRUNC, 0644);
  if (fd < 0) return fd;
  flexos_gate_r(libvfs, n, vfs_write, fd, text, (size_t)len);
  flexos_gate_r(libvfs, rc, vfs_fsync, fd);
  if (n != len || rc < 0) return -1;
  memset(text, 0, sizeof text);
  flexos_gate_r(libvfs, n, vfs_pread, fd, text, sizeof text - 1, 0);
  flexos_gate_r(libvfs, rc, vfs_close, fd);
  if (n != len) return -1;
  text[n - 1] = '\0';
  say("echo: %s: %s", path, text);
  return 0;
}

/* --selftest: bad input through every gate the app uses comes back as a negative errno, and everything
 * still works afterwards. Prints "echo: selftest: N checks passed" (exit 0) or the failed ones (exit 1). */
static int g_checks, g_failed;
static void check(long got, long want, const char *what) {
  ++g_checks;
  if (got == want) return;
  ++g_failed;
  say("echo: selftest: %s: got %ld, want %ld", what, got, want);
}

long selftest_thread(void *arg) __attribute__((libsched_callback));
long selftest_thread(void *arg) {
  return (long)(intptr_t)arg + 1;
}

static int selftest(const char *dir) {
  static char buf[64] __attribute__((flexos_whitelist));
  static long result __attribute__((flexos_whitelist));
  static char big[VFS_PATH_MAX + 8] __attribute__((flexos_whitelist));
  long rc;
  int fd, s, tid;
  /* vfs (and ramfs, hostfs behind it) */
  flexos_gate_r(libvfs, rc, vfs_read, -1, buf, 1);
  check(rc, -EBADF, "vfs_read(-1)");
  flexos_gate_r(libvfs, rc, vfs_read, 4000, buf, 1);
  check(rc, -EBADF, "vfs_read(4000)");
  flexos_gate_r(libvfs, rc, vfs_open, NULL, VFS_O_RDONLY, 0);
  check(rc, -EFAULT, "vfs_open(NULL)");
  flexos_gate_r(libvfs, rc, vfs_open, "/x", 0x40000000, 0);
  check(rc, -EINVAL, "vfs_open(bad flags)");
  memset(big, 'a', sizeof big - 1);
  big[0] = '/';
  flexos_gate_r(libvfs, rc, vfs_open, big, VFS_O_RDONLY, 0);
  check(rc, -ENAMETOOLONG, "vfs_open(long path)");
  flexos_gate_r(libvfs, fd, vfs_open, "/self", VFS_O_RDWR | VFS_O_CREAT | VFS_O_TRUNC, 0644);
  check(fd >= 0, 1, "vfs_open(/self)");
  flexos_gate_r(libvfs, rc, vfs_read, fd, NULL, 1);
  check(rc, -EFAULT, "vfs_read(NULL)");
  flexos_gate_r(libvfs, rc, vfs_write, fd, buf, (size_t)1 << 40);
  check(rc, -EINVAL, "vfs_write(oversized)");
  flexos_gate_r(libvfs, rc, vfs_pwrite, fd, buf, 1, -1);
  check(rc, -EINVAL, "vfs_pwrite(-1)");
  flexos_gate_r(libvfs, rc, vfs_close, fd);
  check(rc, 0, "vfs_close");
  flexos_gate_r(libvfs, rc, vfs_close, fd);
  check(rc, -EBADF, "vfs_close(closed)");
  if (dir) {
    flexos_gate_r(libvfs, rc, vfs_open, "/data/../../../etc/passwd", VFS_O_RDONLY, 0);
    check(rc, -ENOENT, "vfs_open(/data/../../../etc/passwd)");
    flexos_gate_r(libvfs, rc, vfs_open, "/data/escape", VFS_O_RDONLY, 0);
    check(rc, -EACCES, "vfs_open(/data/escape), a symlink out of the root");
  }
  /* net */
  flexos_gate_r(libnet, rc, net_recv, -1, buf, 1, 0);
  check(rc, -EBADF, "net_recv(-1)");
  flexos_gate_r(libnet, s, net_socket, NET_INET, NET_STREAM);
  check(s >= 0, 1, "net_socket");
  flexos_gate_r(libnet, rc, net_recv, s, NULL, 1, 0);
  check(rc, -EFAULT, "net_recv(NULL)");
  flexos_gate_r(libnet, rc, net_recv, s, buf, (size_t)NET_MAX_IO + 1, 0);
  check(rc, -EINVAL, "net_recv(oversized)");
  flexos_gate_r(libnet, rc, net_bind, s, "not an address", 1);
  check(rc, -EINVAL, "net_bind(bad address)");
  flexos_gate_r(libnet, rc, net_close, s);
  check(rc, 0, "net_close");
  flexos_gate_r(libnet, rc, net_send, s, buf, 1, 0);
  check(rc, -EBADF, "net_send(closed)");
  /* sched and time */
  flexos_gate_r(libsched, rc, sched_join, 12345, NULL);
  check(rc, -ESRCH, "sched_join(12345)");
  flexos_gate_r(libsched, rc, sched_create, NULL, NULL);
  check(rc, -EFAULT, "sched_create(NULL)");
  flexos_gate_r(libsched, rc, sched_mutex_unlock, 77);
  check(rc, -EINVAL, "sched_mutex_unlock(77)");
  flexos_gate_r(libsched, rc, sched_wait_fd, -1, SCHED_IN, 0);
  check(rc, -EBADF, "sched_wait_fd(-1)");
  flexos_gate_r(libtime, rc, time_sleep_ns, -1);
  check(rc, -EINVAL, "time_sleep_ns(-1)");
  flexos_gate_r(libconsole, rc, console_log, 42, "x", 1);
  check(rc, -EINVAL, "console_log(42)");
  /* ... and everything still works. */
  flexos_gate_r(libsched, tid, sched_create, selftest_thread, (void *)(intptr_t)41);
  flexos_gate_r(libsched, rc, sched_join, tid, &result);
  check(rc == 0 ? result : rc, 42, "a thread after all that");
  flexos_gate_r(libvfs, fd, vfs_open, "/self", VFS_O_RDONLY, 0);
  check(fd >= 0, 1, "vfs_open(/self) again");
  flexos_gate_r(libvfs, rc, vfs_close, fd);
  say("echo: selftest: %d checks passed", g_checks - g_failed);
  return g_failed != 0;
}

int main(int argc, char **argv) {
  static char bind_addr[64] __attribute__((flexos_whitelist)) = "127.0.0.1";
  static char dir[1024] __attribute__((flexos_whitelist));
  int port = 0, s, rc;
  long max = 0;
  int self_test = argc > 1 && !strcmp(argv[1], "--selftest");
  for (int i = 1 + self_test; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--port")) port = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--bind")) snprintf(bind_addr, sizeof bind_addr, "%s", argv[i + 1]);
    else if (!strcmp(argv[i], "--max")) max = atol(argv[i + 1]);
    else if (!strcmp(argv[i], "--delay-us")) g_delay_ns = atol(argv[i + 1]) * 1000;
    else if (!strcmp(argv[i], "--dir")) snprintf(dir, sizeof dir, "%s", argv[i + 1]);
    else {
      fprintf(stderr, "echo: unknown option %s\n", argv[i]);
      return 2;
    }
  }
  if (dir[0]) {
    flexos_gate_r(libvfs, rc, vfs_mount, "/data", "hostfs", dir, 0);
    if (rc < 0) {
      say("echo: cannot mount %s: error %d", dir, -rc);
      return 1;
    }
  }
  if (self_test) return selftest(dir[0] ? dir : NULL);
  flexos_gate_r(libsched, g_wq, sched_wq_create);
  flexos_gate_r(libnet, s, net_socket, NET_INET, NET_STREAM);
  if (s < 0 || g_wq < 0) return 1;
  static int on __attribute__((flexos_whitelist)) = 1;
  flexos_gate_r(libnet, rc, net_setsockopt, s, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  flexos_gate_r(libnet, rc, net_bind, s, bind_addr, port);
  if (rc < 0) {
    say("echo: cannot bind %s: error %d", bind_addr, -rc);
    return 1;
  }
  flexos_gate_r(libnet, rc, net_listen, s, 512);
  flexos_gate_r(libnet, port, net_local_port, s);
  say("echo: listening on %s:%d", bind_addr, port);
  while (max == 0 || g_connections < max) {
    int c, tid;
    flexos_gate_r(libnet, c, net_accept, s, 0); /* blocks this thread; the connections' threads run */
    if (c < 0) {
      say("echo: accept: error %d", -c);
      return 1;
    }
    ++g_connections;
    ++g_active;
    flexos_gate_r(libsched, tid, sched_create, echo_conn, (void *)(intptr_t)c);
    if (tid < 0) {
      flexos_gate_r(libnet, rc, net_close, c);
      --g_active;
      continue;
    }
    flexos_gate_r(libsched, rc, sched_detach, tid);
  }
  while (g_active > 0) flexos_gate_r(libsched, rc, sched_wq_wait, g_wq, -1);
  flexos_gate_r(libnet, rc, net_close, s);
  return write_log(dir[0] ? dir : NULL) < 0;
}
