/* posix -> net, vfs, time and console with plain calls, for posix's unit tests (images link
 * lower_gates.c). */
#include <errno.h>
#include <stdlib.h>

#include <flex/console/console.h>
#include <flex/net/net.h>
#include <flex/time/time.h>
#include <flex/vfs/vfs.h>

#include "lower.h"

int posix_lo_net_socket(int family, int type) {
  return net_socket(family, type);
}

int posix_lo_net_pipe(int ends[2], int type) {
  return net_pipe(ends, type);
}

int posix_lo_net_bind(int s, const char *addr, int port) {
  return net_bind(s, addr, port);
}

int posix_lo_net_listen(int s, int backlog) {
  return net_listen(s, backlog);
}

int posix_lo_net_accept(int s, int flags) {
  return net_accept(s, flags);
}

int posix_lo_net_connect(int s, const char *addr, int port) {
  return net_connect(s, addr, port);
}

long posix_lo_net_recv(int s, void *buf, size_t len, int flags) {
  return net_recv(s, buf, len, flags);
}

long posix_lo_net_send(int s, const void *buf, size_t len, int flags) {
  return net_send(s, buf, len, flags);
}

int posix_lo_net_close(int s) {
  return net_close(s);
}

int posix_lo_net_shutdown(int s, int how) {
  return net_shutdown(s, how);
}

int posix_lo_net_setsockopt(int s, int level, int name, const void *val, unsigned len) {
  return net_setsockopt(s, level, name, val, len);
}

int posix_lo_net_getsockopt(int s, int level, int name, void *val, unsigned *len) {
  return net_getsockopt(s, level, name, val, len);
}

int posix_lo_net_name(int s, int peer, char *addr, int *port) {
  return net_name(s, peer, addr, port);
}

int posix_lo_net_set_nonblock(int s, int on) {
  return net_set_nonblock(s, on);
}

int posix_lo_net_poll_add(int s, unsigned events, uint64_t cookie) {
  return net_poll_add(s, events, cookie);
}

int posix_lo_net_poll_mod(int s, unsigned events, uint64_t cookie) {
  return net_poll_mod(s, events, cookie);
}

int posix_lo_net_poll_del(int s) {
  return net_poll_del(s);
}

int posix_lo_net_poll_wait(struct net_event *ev, int max, int timeout_ms) {
  return net_poll_wait(ev, max, timeout_ms);
}

static char ahead_bytes[POSIX_AHEAD_EVENTS][POSIX_AHEAD_BYTES];
static struct net_event ahead_events[POSIX_AHEAD_EVENTS];
static int64_t ahead_results[POSIX_AHEAD_EVENTS];
static int ahead_taken;

/* The one block, now held (0), or -1. */
static int ahead_take(void) {
  return __atomic_exchange_n(&ahead_taken, 1, __ATOMIC_ACQUIRE) ? -1 : 0;
}

static struct net_event *ahead_ev(int k) {
  (void)k;
  return ahead_events;
}

static char *ahead_bytes_of(int k) {
  (void)k;
  return &ahead_bytes[0][0];
}

static int64_t *ahead_result_of(int k) {
  (void)k;
  return ahead_results;
}

int posix_lo_net_poll_wait_ahead(struct net_event *ev, int max, int timeout_ms, const char **data, int64_t *result,
                                 int *hold) {
  *hold = -1;
  if (max <= 0) return -EINVAL;
  if (max > POSIX_AHEAD_EVENTS) max = POSIX_AHEAD_EVENTS;
  if (ahead_take() < 0) return -ENOBUFS;
  *hold = 0;
  int rc = net_poll_wait_ahead(ev, max, timeout_ms, &ahead_bytes[0][0], POSIX_AHEAD_BYTES, result);
  for (int i = 0; i < rc; ++i) data[i] = ahead_bytes[i];
  return rc;
}

void posix_lo_net_ahead_done(int hold) {
  if (hold == 0) __atomic_store_n(&ahead_taken, 0, __ATOMIC_RELEASE);
}

static void *hold_shared(size_t len) {
  return malloc(len);
}

#include "hold_arena.h"

int posix_lo_net_drain(int timeout_ms) {
  return net_drain(timeout_ms);
}

static int hold_call(void) {
  return net_round(&hold_arena_now->round);
}

int posix_lo_vfs_mount(const char *target, const char *fstype, const char *source) {
  return vfs_mount(target, fstype, source, 0);
}

int posix_lo_vfs_open(const char *path, int flags, int mode) {
  return vfs_open(path, flags, mode);
}

long posix_lo_vfs_read(int fd, void *buf, size_t len) {
  return vfs_read(fd, buf, len);
}

long posix_lo_vfs_write(int fd, const void *buf, size_t len) {
  return vfs_write(fd, buf, len);
}

long posix_lo_vfs_pread(int fd, void *buf, size_t len, int64_t off) {
  return vfs_pread(fd, buf, len, off);
}

long posix_lo_vfs_pwrite(int fd, const void *buf, size_t len, int64_t off) {
  return vfs_pwrite(fd, buf, len, off);
}

int64_t posix_lo_vfs_lseek(int fd, int64_t off, int whence) {
  return vfs_lseek(fd, off, whence);
}

int posix_lo_vfs_close(int fd) {
  return vfs_close(fd);
}

int posix_lo_vfs_stat(const char *path, struct vfs_stat *st) {
  return vfs_stat(path, st);
}

int posix_lo_vfs_fstat(int fd, struct vfs_stat *st) {
  return vfs_fstat(fd, st);
}

int posix_lo_vfs_unlink(const char *path) {
  return vfs_unlink(path);
}

int posix_lo_vfs_rename(const char *from, const char *to) {
  return vfs_rename(from, to);
}

int posix_lo_vfs_mkdir(const char *path, int mode) {
  return vfs_mkdir(path, mode);
}

int posix_lo_vfs_rmdir(const char *path) {
  return vfs_rmdir(path);
}

int posix_lo_vfs_fsync(int fd) {
  return vfs_fsync(fd);
}

int posix_lo_vfs_ftruncate(int fd, int64_t len) {
  return vfs_ftruncate(fd, len);
}

int64_t posix_lo_time_monotonic_ns(void) {
  return time_monotonic_ns();
}

int64_t posix_lo_time_realtime_ns(void) {
  return time_realtime_ns();
}

int posix_lo_time_sleep_ns(int64_t ns) {
  return time_sleep_ns(ns);
}

long posix_lo_console_write(const char *buf, size_t len) {
  return console_write(buf, len);
}
