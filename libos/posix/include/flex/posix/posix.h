/* posix: the POSIX API on the libOS (lib.yaml says what it serves). A source port calls the POSIX names
 * themselves; code whose system calls are caught rather than linked enters through posix_syscall.
 *
 *   long r = posix_syscall(SYS_sendto, fd, (long)buf, len, 0, 0, 0);   // as the kernel answers: -errno
 *   unsigned long n = posix_unserved(SYS_getxattr);                     // how often an unserved call came
 *
 * posix_syscall serves what the POSIX names serve (sockets, readiness, files on vfs paths, clocks and
 * sleeps), with the kernel's conventions: a negative errno, errno untouched. The *at calls take paths from
 * "/" (their directory must be AT_FDCWD; another is -ENOTSUP). Every other number is -ENOSYS, and counted. */
#ifndef FLEX_POSIX_POSIX_H
#define FLEX_POSIX_POSIX_H

#ifdef __cplusplus
extern "C" {
#endif

long posix_syscall(long nr, long a0, long a1, long a2, long a3, long a4, long a5);
unsigned long posix_unserved(long nr); /* for nr < 512 */
/* Announces a system call of the program's, whoever serves it, before it is served: a dispatcher that
 * calls this for every call lets posix hold a non-blocking socket's writes until the next crossing to net
 * (where net is a process of its own), because any call that may block, or that is not socket I/O, sends
 * them first. */
void posix_before_call(long nr);

#ifdef __cplusplus
}
#endif

#endif /* FLEX_POSIX_POSIX_H */
