// posix: the layer's own POSIX entries (posix.cc, wait.cc), by the names this build gives them (PX), for
// its other parts that call them: the calls by number (syscall.cc) and the stdio streams (stdio.cc).
#ifndef FLEX_POSIX_ENTRIES_H
#define FLEX_POSIX_ENTRIES_H

#include <poll.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "fd_table.h"

extern "C" {
ssize_t PX(read)(int, void *, size_t);
ssize_t PX(write)(int, const void *, size_t);
ssize_t PX(readv)(int, const struct iovec *, int);
ssize_t PX(writev)(int, const struct iovec *, int);
ssize_t PX(pread)(int, void *, size_t, off_t);
ssize_t PX(pwrite)(int, const void *, size_t, off_t);
int PX(close)(int);
int PX(dup)(int);
int PX(dup2)(int, int);
int PX(dup3)(int, int, int);
// Reading sockets ahead after a readiness wait: 1 on, 0 off, -1 as the image's layout says (net across a
// process boundary). For tests and measurements.
void PX(posix_read_ahead)(int on);
int PX(fcntl)(int, int, ...);
int PX(ioctl)(int, unsigned long, ...);
int PX(socket)(int, int, int);
int PX(pipe)(int *);
int PX(chdir)(const char *);
char *PX(getcwd)(char *, size_t);
int PX(pipe2)(int *, int);
int PX(bind)(int, const struct sockaddr *, socklen_t);
int PX(listen)(int, int);
int PX(accept4)(int, struct sockaddr *, socklen_t *, int);
int PX(connect)(int, const struct sockaddr *, socklen_t);
ssize_t PX(recvfrom)(int, void *, size_t, int, struct sockaddr *, socklen_t *);
ssize_t PX(sendto)(int, const void *, size_t, int, const struct sockaddr *, socklen_t);
ssize_t PX(recvmsg)(int, struct msghdr *, int);
ssize_t PX(sendmsg)(int, const struct msghdr *, int);
int PX(shutdown)(int, int);
int PX(setsockopt)(int, int, int, const void *, socklen_t);
int PX(getsockopt)(int, int, int, void *, socklen_t *);
int PX(getsockname)(int, struct sockaddr *, socklen_t *);
int PX(getpeername)(int, struct sockaddr *, socklen_t *);
int PX(open)(const char *, int, ...);
off_t PX(lseek)(int, off_t, int);
int PX(fstat)(int, struct stat *);
int PX(stat)(const char *, struct stat *);
int PX(lstat)(const char *, struct stat *);
int PX(fsync)(int);
int PX(fdatasync)(int);
int PX(ftruncate)(int, off_t);
int PX(unlink)(const char *);
int PX(rename)(const char *, const char *);
int PX(mkdir)(const char *, mode_t);
int PX(rmdir)(const char *);
int PX(clock_gettime)(clockid_t, struct timespec *);
int PX(gettimeofday)(struct timeval *, void *);
int PX(nanosleep)(const struct timespec *, struct timespec *);
int PX(poll)(struct pollfd *, nfds_t, int);
int PX(select)(int, fd_set *, fd_set *, fd_set *, struct timeval *);
int PX(epoll_create1)(int);
int PX(epoll_ctl)(int, int, int, struct epoll_event *);
int PX(epoll_wait)(int, struct epoll_event *, int, int);
}

#endif  // FLEX_POSIX_ENTRIES_H
