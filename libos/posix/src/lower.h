/* posix -> net, vfs, time and console: the calls the POSIX layer makes into the libOS. Every pointer
 * argument is the caller's own memory; the gate wrappers (lower_gates.c, images) copy what crosses a
 * boundary into shared memory and back, so the POSIX API asks nothing of the application's buffers. The
 * unit tests link lower_direct.c, plain calls. Each returns what the libOS call returns (a negative errno
 * on failure). */
#ifndef FLEX_POSIX_LOWER_H
#define FLEX_POSIX_LOWER_H

#include <stddef.h>
#include <stdint.h>

#include <flex/net/net.h>
#include <flex/vfs/vfs.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The most one read or write moves through a gate; larger requests are served in pieces. */
enum { POSIX_IO_CHUNK = 1 << 20 };

int posix_lo_net_socket(int family, int type);
int posix_lo_net_pipe(int ends[2], int type);
int posix_lo_net_bind(int s, const char *addr, int port);
int posix_lo_net_listen(int s, int backlog);
int posix_lo_net_accept(int s, int flags);
int posix_lo_net_connect(int s, const char *addr, int port);
long posix_lo_net_recv(int s, void *buf, size_t len, int flags);
long posix_lo_net_send(int s, const void *buf, size_t len, int flags);
int posix_lo_net_close(int s);
int posix_lo_net_shutdown(int s, int how);
int posix_lo_net_setsockopt(int s, int level, int name, const void *val, unsigned len);
int posix_lo_net_getsockopt(int s, int level, int name, void *val, unsigned *len);
int posix_lo_net_name(int s, int peer, char *addr, int *port);
int posix_lo_net_set_nonblock(int s, int on);
int posix_lo_net_poll_add(int s, unsigned events, uint64_t cookie);
int posix_lo_net_poll_mod(int s, unsigned events, uint64_t cookie);
int posix_lo_net_poll_del(int s);
int posix_lo_net_poll_wait(struct net_event *ev, int max, int timeout_ms);
/* net_poll_wait_ahead with at most POSIX_AHEAD_EVENTS events of POSIX_AHEAD_BYTES each: data[i] points at
 * event i's bytes (result[i] of them) in a block the call holds (*hold) until posix_lo_net_ahead_done(*hold),
 * even after an error. -ENOBUFS (nothing waited for) when every block is held by another wait. */
enum { POSIX_AHEAD_EVENTS = 64, POSIX_AHEAD_BYTES = 4096 };
int posix_lo_net_poll_wait_ahead(struct net_event *ev, int max, int timeout_ms, const char **data, int64_t *result,
                                 int *hold);
void posix_lo_net_ahead_done(int hold);

/* Writes held for the next round (hold.cc): one arena of shared memory, POSIX_HOLD_SENDS sends of
 * POSIX_HOLD_BYTES in all. The caller serialises these calls (posix's lock), except that a round runs
 * without it and anyone may ask posix_lo_net_round_sent at any time. */
enum { POSIX_HOLD_BYTES = 65536, POSIX_HOLD_SENDS = 64 };
/* Appends a send of len bytes of buf to socket s: 0, or -ENOBUFS when it does not fit. */
int posix_lo_net_hold(int s, const void *buf, size_t len);
/* A round (net_round): the held sends, then, with max > 0, a wait as posix_lo_net_poll_wait_ahead's. With
 * every read-ahead block held by another wait, only the sends are made and the result is -ENOBUFS. */
int posix_lo_net_round(struct net_event *ev, int max, int timeout_ms, const char **data, int64_t *result, int *hold);
/* Asked while a round carries the held sends: whether it has made them (net says so before it waits).
 * Reset by posix_lo_net_round_results, so a later round's waiter never reads an earlier round's answer. */
int posix_lo_net_round_sent(void);
/* The last round's sends into out (POSIX_HOLD_SENDS of them at most), each with its result: their number.
 * The arena is empty again. */
int posix_lo_net_round_results(struct net_io *out);
int posix_lo_net_drain(int timeout_ms);

int posix_lo_vfs_mount(const char *target, const char *fstype, const char *source);
int posix_lo_vfs_open(const char *path, int flags, int mode);
long posix_lo_vfs_read(int fd, void *buf, size_t len);
long posix_lo_vfs_write(int fd, const void *buf, size_t len);
long posix_lo_vfs_pread(int fd, void *buf, size_t len, int64_t off);
long posix_lo_vfs_pwrite(int fd, const void *buf, size_t len, int64_t off);
int64_t posix_lo_vfs_lseek(int fd, int64_t off, int whence);
int posix_lo_vfs_close(int fd);
int posix_lo_vfs_stat(const char *path, struct vfs_stat *st);
int posix_lo_vfs_fstat(int fd, struct vfs_stat *st);
int posix_lo_vfs_unlink(const char *path);
int posix_lo_vfs_rename(const char *from, const char *to);
int posix_lo_vfs_mkdir(const char *path, int mode);
int posix_lo_vfs_rmdir(const char *path);
int posix_lo_vfs_fsync(int fd);
int posix_lo_vfs_ftruncate(int fd, int64_t len);

int64_t posix_lo_time_monotonic_ns(void);
int64_t posix_lo_time_realtime_ns(void);
int posix_lo_time_sleep_ns(int64_t ns);

long posix_lo_console_write(const char *buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* FLEX_POSIX_LOWER_H */
