/* posix -> net, vfs, time and console through gates (images). What crosses the boundary is copied into
 * shared memory here: numeric addresses and paths into whitelisted locals, data into a block of the shared
 * heap for the length of the call, results copied back out. The application's buffers never need to be
 * shared, so a POSIX program passes its own locals, statics and heap blocks as it always has. */
#include <errno.h>
#include <string.h>

#include <flex/console/console.h>
#include <flex/net/net.h>
#include <flex/time/time.h>
#include <flex/vfs/vfs.h>
#include <flexos/isolation.h>

#include "lower.h"

/* A copy of a NUL-terminated string of at most `max` bytes (without the NUL); 0, or -ENAMETOOLONG. */
static int copy_string(char *out, const char *in, size_t max) {
  size_t n = strnlen(in, max + 1);
  if (n > max) return -ENAMETOOLONG;
  memcpy(out, in, n);
  out[n] = '\0';
  return 0;
}

static void *shared_block(size_t len) {
  return flexos_malloc_whitelist(len ? len : 1);
}

int posix_lo_net_socket(int family, int type) {
  int rc;
  flexos_gate_r(libnet, rc, net_socket, family, type);
  return rc;
}

int posix_lo_net_pipe(int ends[2], int type) {
  int e[2] __attribute__((flexos_whitelist));
  int rc;
  flexos_gate_r(libnet, rc, net_pipe, e, type);
  if (rc == 0) memcpy(ends, e, sizeof e);
  return rc;
}

int posix_lo_net_bind(int s, const char *addr, int port) {
  char a[NET_ADDR_MAX] __attribute__((flexos_whitelist));
  if (copy_string(a, addr, NET_ADDR_MAX - 1) < 0) return -EINVAL;
  int rc;
  flexos_gate_r(libnet, rc, net_bind, s, a, port);
  return rc;
}

int posix_lo_net_listen(int s, int backlog) {
  int rc;
  flexos_gate_r(libnet, rc, net_listen, s, backlog);
  return rc;
}

int posix_lo_net_accept(int s, int flags) {
  int rc;
  flexos_gate_r(libnet, rc, net_accept, s, flags);
  return rc;
}

int posix_lo_net_connect(int s, const char *addr, int port) {
  char a[NET_ADDR_MAX] __attribute__((flexos_whitelist));
  if (copy_string(a, addr, NET_ADDR_MAX - 1) < 0) return -EINVAL;
  int rc;
  flexos_gate_r(libnet, rc, net_connect, s, a, port);
  return rc;
}

long posix_lo_net_recv(int s, void *buf, size_t len, int flags) {
  if (len > POSIX_IO_CHUNK) len = POSIX_IO_CHUNK;
  void *b = shared_block(len);
  if (!b) return -ENOMEM;
  long rc;
  flexos_gate_r(libnet, rc, net_recv, s, b, len, flags);
  if (rc > 0) memcpy(buf, b, (size_t)rc);
  flexos_free_whitelist(b);
  return rc;
}

long posix_lo_net_send(int s, const void *buf, size_t len, int flags) {
  if (len > POSIX_IO_CHUNK) len = POSIX_IO_CHUNK;
  void *b = shared_block(len);
  if (!b) return -ENOMEM;
  memcpy(b, buf, len);
  long rc;
  flexos_gate_r(libnet, rc, net_send, s, b, len, flags);
  flexos_free_whitelist(b);
  return rc;
}

int posix_lo_net_close(int s) {
  int rc;
  flexos_gate_r(libnet, rc, net_close, s);
  return rc;
}

int posix_lo_net_shutdown(int s, int how) {
  int rc;
  flexos_gate_r(libnet, rc, net_shutdown, s, how);
  return rc;
}

int posix_lo_net_setsockopt(int s, int level, int name, const void *val, unsigned len) {
  unsigned char v[64] __attribute__((flexos_whitelist));
  if (len > sizeof v) return -EINVAL;
  memcpy(v, val, len);
  int rc;
  flexos_gate_r(libnet, rc, net_setsockopt, s, level, name, v, len);
  return rc;
}

int posix_lo_net_getsockopt(int s, int level, int name, void *val, unsigned *len) {
  unsigned char v[64] __attribute__((flexos_whitelist));
  unsigned l __attribute__((flexos_whitelist));
  l = *len > sizeof v ? (unsigned)sizeof v : *len;
  int rc;
  flexos_gate_r(libnet, rc, net_getsockopt, s, level, name, v, &l);
  if (rc == 0) {
    memcpy(val, v, l < *len ? l : *len);
    *len = l;
  }
  return rc;
}

int posix_lo_net_name(int s, int peer, char *addr, int *port) {
  char a[NET_ADDR_MAX] __attribute__((flexos_whitelist));
  int p __attribute__((flexos_whitelist));
  int rc;
  flexos_gate_r(libnet, rc, net_name, s, peer, a, &p);
  if (rc == 0) {
    memcpy(addr, a, sizeof a);
    *port = p;
  }
  return rc;
}

int posix_lo_net_set_nonblock(int s, int on) {
  int rc;
  flexos_gate_r(libnet, rc, net_set_nonblock, s, on);
  return rc;
}

int posix_lo_net_poll_add(int s, unsigned events, uint64_t cookie) {
  int rc;
  flexos_gate_r(libnet, rc, net_poll_add, s, events, cookie);
  return rc;
}

int posix_lo_net_poll_mod(int s, unsigned events, uint64_t cookie) {
  int rc;
  flexos_gate_r(libnet, rc, net_poll_mod, s, events, cookie);
  return rc;
}

int posix_lo_net_poll_del(int s) {
  int rc;
  flexos_gate_r(libnet, rc, net_poll_del, s);
  return rc;
}

int posix_lo_net_poll_wait(struct net_event *ev, int max, int timeout_ms) {
  if (max <= 0) return -EINVAL;
  struct net_event *b = shared_block(sizeof *ev * (size_t)max);
  if (!b) return -ENOMEM;
  int rc;
  flexos_gate_r(libnet, rc, net_poll_wait, b, max, timeout_ms);
  if (rc > 0) memcpy(ev, b, sizeof *ev * (size_t)rc);
  flexos_free_whitelist(b);
  return rc;
}

/* Blocks of the shared heap for waits that read ahead, each taken by one wait at a time and kept (no
 * thread-local storage: a compartment's memory holds no TLS). With every block taken, a wait reads
 * nothing ahead: -ENOBUFS tells the caller to wait plainly. */
struct ahead_block {
  struct net_event ev[POSIX_AHEAD_EVENTS];
  int64_t result[POSIX_AHEAD_EVENTS];
  char bytes[POSIX_AHEAD_EVENTS][POSIX_AHEAD_BYTES];
};
enum { AHEAD_BLOCKS = 4 };
static struct ahead_block *ahead_blocks[AHEAD_BLOCKS];
static int ahead_taken[AHEAD_BLOCKS];

/* A free block, now held (its number), or -1. */
static int ahead_take(void) {
  int k = 0;
  while (k < AHEAD_BLOCKS && __atomic_exchange_n(&ahead_taken[k], 1, __ATOMIC_ACQUIRE)) ++k;
  if (k == AHEAD_BLOCKS) return -1;
  if (!ahead_blocks[k] && !(ahead_blocks[k] = shared_block(sizeof *ahead_blocks[k]))) {
    __atomic_store_n(&ahead_taken[k], 0, __ATOMIC_RELEASE);
    return -1;
  }
  return k;
}

static struct net_event *ahead_ev(int k) {
  return ahead_blocks[k]->ev;
}

static char *ahead_bytes_of(int k) {
  return &ahead_blocks[k]->bytes[0][0];
}

static int64_t *ahead_result_of(int k) {
  return ahead_blocks[k]->result;
}

int posix_lo_net_poll_wait_ahead(struct net_event *ev, int max, int timeout_ms, const char **data, int64_t *result,
                                 int *hold) {
  *hold = -1;
  if (max <= 0) return -EINVAL;
  if (max > POSIX_AHEAD_EVENTS) max = POSIX_AHEAD_EVENTS;
  const int k = ahead_take();
  if (k < 0) return -ENOBUFS;
  *hold = k;
  struct ahead_block *b = ahead_blocks[k];
  int rc;
  flexos_gate_r(libnet, rc, net_poll_wait_ahead, b->ev, max, timeout_ms, &b->bytes[0][0], POSIX_AHEAD_BYTES, b->result);
  for (int i = 0; i < rc; ++i) {
    ev[i] = b->ev[i];
    result[i] = b->result[i];
    data[i] = b->bytes[i];
  }
  return rc;
}

void posix_lo_net_ahead_done(int hold) {
  if (hold >= 0 && hold < AHEAD_BLOCKS) __atomic_store_n(&ahead_taken[hold], 0, __ATOMIC_RELEASE);
}

static void *hold_shared(size_t len) {
  return flexos_malloc_whitelist(len);
}

#include "hold_arena.h"

int posix_lo_net_drain(int timeout_ms) {
  int rc;
  flexos_gate_r(libnet, rc, net_drain, timeout_ms);
  return rc;
}

static int hold_call(void) {
  int rc;
  flexos_gate_r(libnet, rc, net_round, &hold_arena_now->round);
  return rc;
}

int posix_lo_vfs_mount(const char *target, const char *fstype, const char *source) {
  char t[VFS_PATH_MAX + 1] __attribute__((flexos_whitelist));
  char f[16] __attribute__((flexos_whitelist));
  char s[VFS_PATH_MAX + 1] __attribute__((flexos_whitelist));
  if (copy_string(t, target, VFS_PATH_MAX) < 0 || copy_string(f, fstype, sizeof f - 1) < 0 ||
      copy_string(s, source, VFS_PATH_MAX) < 0)
    return -ENAMETOOLONG;
  int rc;
  flexos_gate_r(libvfs, rc, vfs_mount, t, f, s, 0);
  return rc;
}

int posix_lo_vfs_open(const char *path, int flags, int mode) {
  char p[VFS_PATH_MAX + 1] __attribute__((flexos_whitelist));
  if (copy_string(p, path, VFS_PATH_MAX) < 0) return -ENAMETOOLONG;
  int rc;
  flexos_gate_r(libvfs, rc, vfs_open, p, flags, mode);
  return rc;
}

long posix_lo_vfs_read(int fd, void *buf, size_t len) {
  if (len > POSIX_IO_CHUNK) len = POSIX_IO_CHUNK;
  void *b = shared_block(len);
  if (!b) return -ENOMEM;
  long rc;
  flexos_gate_r(libvfs, rc, vfs_read, fd, b, len);
  if (rc > 0) memcpy(buf, b, (size_t)rc);
  flexos_free_whitelist(b);
  return rc;
}

long posix_lo_vfs_write(int fd, const void *buf, size_t len) {
  if (len > POSIX_IO_CHUNK) len = POSIX_IO_CHUNK;
  void *b = shared_block(len);
  if (!b) return -ENOMEM;
  memcpy(b, buf, len);
  long rc;
  flexos_gate_r(libvfs, rc, vfs_write, fd, b, len);
  flexos_free_whitelist(b);
  return rc;
}

long posix_lo_vfs_pread(int fd, void *buf, size_t len, int64_t off) {
  if (len > POSIX_IO_CHUNK) len = POSIX_IO_CHUNK;
  void *b = shared_block(len);
  if (!b) return -ENOMEM;
  long rc;
  flexos_gate_r(libvfs, rc, vfs_pread, fd, b, len, off);
  if (rc > 0) memcpy(buf, b, (size_t)rc);
  flexos_free_whitelist(b);
  return rc;
}

long posix_lo_vfs_pwrite(int fd, const void *buf, size_t len, int64_t off) {
  if (len > POSIX_IO_CHUNK) len = POSIX_IO_CHUNK;
  void *b = shared_block(len);
  if (!b) return -ENOMEM;
  memcpy(b, buf, len);
  long rc;
  flexos_gate_r(libvfs, rc, vfs_pwrite, fd, b, len, off);
  flexos_free_whitelist(b);
  return rc;
}

int64_t posix_lo_vfs_lseek(int fd, int64_t off, int whence) {
  int64_t rc;
  flexos_gate_r(libvfs, rc, vfs_lseek, fd, off, whence);
  return rc;
}

int posix_lo_vfs_close(int fd) {
  int rc;
  flexos_gate_r(libvfs, rc, vfs_close, fd);
  return rc;
}

int posix_lo_vfs_stat(const char *path, struct vfs_stat *st) {
  char p[VFS_PATH_MAX + 1] __attribute__((flexos_whitelist));
  struct vfs_stat s __attribute__((flexos_whitelist));
  if (copy_string(p, path, VFS_PATH_MAX) < 0) return -ENAMETOOLONG;
  int rc;
  flexos_gate_r(libvfs, rc, vfs_stat, p, &s);
  if (rc == 0) *st = s;
  return rc;
}

int posix_lo_vfs_fstat(int fd, struct vfs_stat *st) {
  struct vfs_stat s __attribute__((flexos_whitelist));
  int rc;
  flexos_gate_r(libvfs, rc, vfs_fstat, fd, &s);
  if (rc == 0) *st = s;
  return rc;
}

int posix_lo_vfs_unlink(const char *path) {
  char p[VFS_PATH_MAX + 1] __attribute__((flexos_whitelist));
  if (copy_string(p, path, VFS_PATH_MAX) < 0) return -ENAMETOOLONG;
  int rc;
  flexos_gate_r(libvfs, rc, vfs_unlink, p);
  return rc;
}

int posix_lo_vfs_rename(const char *from, const char *to) {
  char f[VFS_PATH_MAX + 1] __attribute__((flexos_whitelist));
  char t[VFS_PATH_MAX + 1] __attribute__((flexos_whitelist));
  if (copy_string(f, from, VFS_PATH_MAX) < 0 || copy_string(t, to, VFS_PATH_MAX) < 0) return -ENAMETOOLONG;
  int rc;
  flexos_gate_r(libvfs, rc, vfs_rename, f, t);
  return rc;
}

int posix_lo_vfs_mkdir(const char *path, int mode) {
  char p[VFS_PATH_MAX + 1] __attribute__((flexos_whitelist));
  if (copy_string(p, path, VFS_PATH_MAX) < 0) return -ENAMETOOLONG;
  int rc;
  flexos_gate_r(libvfs, rc, vfs_mkdir, p, mode);
  return rc;
}

int posix_lo_vfs_rmdir(const char *path) {
  char p[VFS_PATH_MAX + 1] __attribute__((flexos_whitelist));
  if (copy_string(p, path, VFS_PATH_MAX) < 0) return -ENAMETOOLONG;
  int rc;
  flexos_gate_r(libvfs, rc, vfs_rmdir, p);
  return rc;
}

int posix_lo_vfs_fsync(int fd) {
  int rc;
  flexos_gate_r(libvfs, rc, vfs_fsync, fd);
  return rc;
}

int posix_lo_vfs_ftruncate(int fd, int64_t len) {
  int rc;
  flexos_gate_r(libvfs, rc, vfs_ftruncate, fd, len);
  return rc;
}

int64_t posix_lo_time_monotonic_ns(void) {
  int64_t ns;
  flexos_gate_r(libtime, ns, time_monotonic_ns);
  return ns;
}

int64_t posix_lo_time_realtime_ns(void) {
  int64_t ns;
  flexos_gate_r(libtime, ns, time_realtime_ns);
  return ns;
}

int posix_lo_time_sleep_ns(int64_t ns) {
  int rc;
  flexos_gate_r(libtime, rc, time_sleep_ns, ns);
  return rc;
}

long posix_lo_console_write(const char *buf, size_t len) {
  if (len > POSIX_IO_CHUNK) len = POSIX_IO_CHUNK;
  char *b = shared_block(len);
  if (!b) return -ENOMEM;
  memcpy(b, buf, len);
  long rc;
  flexos_gate_r(libconsole, rc, console_write, b, len);
  flexos_free_whitelist(b);
  return rc;
}
