/* plat: the host interface of the libOS. Every other library reaches the host through these calls, so
 * the system calls a compartment can make are the ones its libraries' plat calls make. Each returns a
 * negative errno on failure, never sets errno, and retries EINTR where that is safe.
 *
 *   #include <flex/plat/plat.h>
 *   long n = plat_write(1, "hi\n", 3);
 *   int ep = plat_poll_create();
 *   plat_poll_ctl(ep, PLAT_POLL_ADD, fd, PLAT_IN, cookie);
 *   struct plat_event ev[16];
 *   int ready = plat_poll_wait(ep, ev, 16, 100);          // ms; -1 waits for ever
 *
 * plat is replicated (lib.yaml): each compartment has its own copy, so a call costs a function call.
 * In a process image, fds belong to the process that opened them: the library that owns a kind of fd
 * (net: sockets, hostfs: files) is the one that waits on them, and callers in other compartments wait
 * by calling into it (net_poll_wait), so readiness always reaches the waiting thread. */
#ifndef FLEX_PLAT_PLAT_H
#define FLEX_PLAT_PLAT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bytes. */
long plat_write(int fd, const void *buf, size_t len); /* writes all of it unless an error stops it */
long plat_read(int fd, void *buf, size_t len);
long plat_pread(int fd, void *buf, size_t len, int64_t off);
long plat_pwrite(int fd, const void *buf, size_t len, int64_t off);
int plat_close(int fd);

/* Sockets (BSD semantics, addresses as struct sockaddr bytes). */
int plat_socket(int domain, int type, int protocol);
/* A connected pair of local stream sockets (AF_UNIX), non-blocking and close-on-exec: fds[0], fds[1]. */
int plat_socketpair(int fds[2]);
int plat_bind(int fd, const void *addr, unsigned len);
int plat_listen(int fd, int backlog);
int plat_accept(int fd, int nonblock); /* the new fd is close-on-exec, and non-blocking if asked */
int plat_connect(int fd, const void *addr, unsigned len);
long plat_recv(int fd, void *buf, size_t len, int flags);
long plat_send(int fd, const void *buf, size_t len, int flags); /* MSG_NOSIGNAL always added */
/* Many socket receives or sends at once: op[i].fd, .buf, .len, .flags in, op[i].result out (what
 * plat_recv or plat_send would return). Ops on one fd happen in array order. */
struct plat_io {
  int32_t fd;
  int32_t flags;
  void *buf;
  uint64_t len;
  int64_t result;
};
void plat_recv_many(struct plat_io *op, int n);
void plat_send_many(struct plat_io *op, int n);
int plat_shutdown(int fd, int how);
int plat_setsockopt(int fd, int level, int name, const void *val, unsigned len);
int plat_getsockopt(int fd, int level, int name, void *val, unsigned *len);
int plat_set_nonblock(int fd, int on);
int plat_local_port(int fd); /* the port of a bound inet socket (getsockname) */
/* The socket's own address (peer 0: getsockname) or its peer's (peer 1: getpeername) into addr, at most
 * *len bytes; *len becomes the address's size. 0 or a negative errno. */
int plat_sock_name(int fd, int peer, void *addr, unsigned *len);

/* Readiness (epoll). */
enum { PLAT_IN = 1, PLAT_OUT = 4, PLAT_ERR = 8, PLAT_HUP = 16 };
enum { PLAT_ONESHOT = 1u << 30 }; /* poll_ctl: report once, then stay registered but silent until MOD */
enum { PLAT_POLL_ADD = 1, PLAT_POLL_DEL = 2, PLAT_POLL_MOD = 3 };
struct plat_event {
  uint32_t events;
  uint64_t cookie;
} __attribute__((packed));
int plat_poll_create(void);
int plat_poll_ctl(int ep, int op, int fd, uint32_t events, uint64_t cookie);
int plat_poll_wait(int ep, struct plat_event *ev, int max, int timeout_ms);
/* Waits for one fd (poll): the PLAT_* events seen, 0 on timeout. Blocks the host thread. */
int plat_wait_fd(int fd, uint32_t events, int timeout_ms);
/* The host thread's id (gettid). */
long plat_thread_id(void);

/* Files (paths are host paths; hostfs confines them). */
int plat_open(const char *path, int flags, int mode);
int plat_fsync(int fd);
int plat_ftruncate(int fd, int64_t len);
int plat_rename(const char *from, const char *to);
int plat_unlink(const char *path);
int plat_mkdir(const char *path, int mode);
int plat_rmdir(const char *path);
/* Relative to a directory fd (hostfs resolves every path beneath its root with these). */
int plat_openat(int dirfd, const char *path, int flags, int mode);
/* openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS): the path may not leave dirfd's tree, through "..", an
 * absolute path or a symlink (-EXDEV), nor use /proc magic links. -ENOSYS where the kernel lacks openat2. */
int plat_openat_beneath(int dirfd, const char *path, int flags, int mode);
struct plat_stat {
  uint64_t dev, ino, size, blocks;
  uint32_t mode, nlink, uid, gid;
  int64_t atime_ns, mtime_ns, ctime_ns;
};
/* A directory entry as file systems hand it to vfs (hostfs fills it from getdents64). */
struct plat_dirent {
  uint64_t ino;
  uint32_t type; /* DT_* */
  char name[256];
};
int plat_fstat(int fd, struct plat_stat *st);
int plat_fstatat(int dirfd, const char *name, struct plat_stat *st, int nofollow);
int plat_mkdirat(int dirfd, const char *name, int mode);
int plat_unlinkat(int dirfd, const char *name, int is_dir);
int plat_renameat(int from_dir, const char *from, int to_dir, const char *to);
long plat_getdents(int fd, void *buf, size_t len); /* getdents64 records */
int64_t plat_lseek(int fd, int64_t off, int whence);

/* Memory for stacks: len bytes read-write above a no-access guard page, or NULL. */
void *plat_map_stack(size_t len);
int plat_unmap_stack(void *base, size_t len);

/* Clocks, in nanoseconds. */
enum { PLAT_CLOCK_MONOTONIC = 0, PLAT_CLOCK_REALTIME = 1 };
int64_t plat_clock_ns(int clock);
int plat_sleep_ns(int64_t ns);

#ifdef __cplusplus
}
#endif

#endif /* FLEX_PLAT_PLAT_H */
