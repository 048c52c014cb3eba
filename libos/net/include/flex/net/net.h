/* net: the socket API of the libOS. Addresses are numeric strings ("127.0.0.1", "::1", "0.0.0.0");
 * every call returns a negative errno on failure (-EBADF for a socket net did not create or already
 * closed, -EFAULT for a null buffer, -EINVAL for an oversized length or a bad address), and nothing a
 * caller passes can make it touch another compartment's state. Buffers and event arrays that cross a
 * compartment boundary must be shared memory (flexos_whitelist / flexos_malloc_whitelist).
 *
 *   int s = net_socket(NET_INET, NET_STREAM);
 *   net_bind(s, addr, 6379);                 // addr: a whitelisted "0.0.0.0"
 *   net_listen(s, 511);
 *   net_poll_add(s, NET_IN, 0);
 *   struct net_event ev[64];                 // whitelisted
 *   int n = net_poll_wait(ev, 64, 100);      // ms; -1: until something is ready
 *   int c = net_accept(s, NET_NONBLOCK);
 *   long got = net_recv(c, buf, sizeof buf, 0);
 *   struct net_io io[2] = {{.s = c, .buf = b1, .len = 16384}, {.s = d, .buf = b2, .len = 16384}};
 *   net_recv_many(io, 2);                    // whitelisted io and buffers; io[i].result as net_recv's
 *
 * Blocking: a call on a blocking socket (and net_poll_wait with a timeout) blocks the calling sched
 * thread until it can complete, while the image's other sched threads run; event loops use NET_NONBLOCK
 * sockets and net_poll_wait. In a process image the sockets live in net's process, and
 * net_poll_wait waits there, so readiness reaches the caller through the gate's return. */
#ifndef FLEX_NET_NET_H
#define FLEX_NET_NET_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum { NET_INET = 2, NET_INET6 = 10 };
enum { NET_STREAM = 1, NET_SOCK_NONBLOCK = 04000 }; /* type: NET_STREAM, optionally | NET_SOCK_NONBLOCK */
enum { NET_NONBLOCK = 1 };
enum { NET_IN = 1, NET_OUT = 4, NET_ERR = 8, NET_HUP = 16 };
enum { NET_MAX_IO = 1 << 30 }; /* the largest length one recv or send accepts */
enum { NET_MAX_BATCH = 256 };  /* the most operations one net_recv_many or net_send_many takes */

struct net_event {
  uint32_t events; /* NET_IN | NET_OUT | NET_ERR | NET_HUP */
  uint64_t cookie; /* what net_poll_add was given */
} __attribute__((packed));

int net_socket(int family, int type);
/* A pipe: ends[0] is read from, ends[1] written to (recv and send, readiness as any socket's; a send on
 * ends[0] or a recv on ends[1] fails, a recv on ends[0] after ends[1] is closed returns 0, a send on
 * ends[1] after ends[0] is closed -EPIPE). type: 0, or NET_SOCK_NONBLOCK for both ends. It is a pair of
 * the backend's local stream sockets, so its readiness is in the same set as every socket's. */
int net_pipe(int ends[2], int type);
int net_bind(int s, const char *addr, int port);
int net_listen(int s, int backlog);
int net_accept(int s, int flags);
int net_connect(int s, const char *addr, int port);
long net_recv(int s, void *buf, size_t len, int flags);
long net_send(int s, const void *buf, size_t len, int flags);
/* Many receives or sends in one call, so an event loop pays one gate crossing for a whole round of
 * ready sockets instead of one per socket (the host backend still makes one system call per operation).
 * In: op[i].s, .buf, .len and .flags, as net_recv or net_send take them; out: op[i].result, what that
 * call would have returned. Every operation is non-blocking (as with MSG_DONTWAIT), and each socket's
 * operations happen in array order. Returns n, or a negative errno when the batch itself is bad (a null
 * array, n outside 0..NET_MAX_BATCH): then nothing is done. A bad operation fails alone. */
struct net_io {
  int32_t s;
  int32_t flags;
  void *buf;
  uint64_t len;
  int64_t result;
};
int net_recv_many(struct net_io *op, int n);
int net_send_many(struct net_io *op, int n);
int net_close(int s);
int net_shutdown(int s, int how); /* 0: read, 1: write, 2: both */
/* Only the options an application needs: SO_REUSEADDR, SO_KEEPALIVE, SO_RCVBUF, SO_SNDBUF, SO_LINGER,
 * SO_ERROR (get only) at SOL_SOCKET, TCP_NODELAY at IPPROTO_TCP, IPV6_V6ONLY at
 * IPPROTO_IPV6; -ENOPROTOOPT for the rest. */
int net_setsockopt(int s, int level, int name, const void *val, unsigned len);
int net_getsockopt(int s, int level, int name, void *val, unsigned *len);
int net_local_port(int s); /* the port a bound socket got (bind to port 0 picks one) */
/* A socket's own address (peer 0) or its connected peer's (peer 1), as net_bind takes them: the numeric
 * address into addr (at least NET_ADDR_MAX bytes, NUL-terminated), the port into *port. -ENOTCONN for
 * the peer of an unconnected socket. */
enum { NET_ADDR_MAX = 46 };
int net_name(int s, int peer, char *addr, int *port);
/* Makes a socket's calls block (on 0) or return -EAGAIN (on 1), as fcntl(O_NONBLOCK) does. */
int net_set_nonblock(int s, int on);

int net_poll_add(int s, unsigned events, uint64_t cookie);
int net_poll_mod(int s, unsigned events, uint64_t cookie);
int net_poll_del(int s);
int net_poll_wait(struct net_event *ev, int max, int timeout_ms);
/* net_poll_wait, then, in the same call, one receive (as net_recv with MSG_DONTWAIT) of up to `per` bytes
 * from each socket it reports readable (NET_IN) that is not a listener, into ahead + i * per for event i;
 * result[i] is what that receive returned (its length, 0 at the end of the stream, a negative errno),
 * -EAGAIN for an event with nothing received. For an event loop behind a costly boundary: one crossing for
 * the wait and its round's reads. per: 1 .. 1 MiB. */
int net_poll_wait_ahead(struct net_event *ev, int max, int timeout_ms, char *ahead, unsigned per, int64_t *result);

/* One round of an event loop behind a costly boundary, in one call: the writes the loop made since its last
 * wait, then its next wait. All of it is shared memory; net reads the round once, at the start.
 *  - send[0 .. n_send): as net_send_many makes them (array order, never blocking), except that what a
 *    socket does not take at once net keeps and sends itself, in order, as the socket drains: .result is
 *    what the socket took at once (the rest, up to .len, is kept), or a negative errno (nothing sent, nothing
 *    kept). A socket's kept bytes (at most NET_MAX_KEPT) come before anything else it sends: a send on it
 *    while it keeps bytes (net_send, net_send_many, another round's) is -EAGAIN, or kept too in a round; its
 *    NET_OUT is reported only once they are gone; net_shutdown of its writing side and net_close take
 *    effect after them (close returns at once, and the socket is gone for its user). Kept bytes that the
 *    peer refuses (the connection reset) are dropped. Net sends them during its waits (every net_poll_wait
 *    and round): an image that no longer waits no longer sends them.
 *  - then *sent = 1 (a release store: the sends are made), before the wait;
 *  - then, when max > 0, the wait: net_poll_wait_ahead(ev, max, timeout_ms, ahead, per, result), or
 *    net_poll_wait(ev, max, timeout_ms) when ahead is null.
 * Returns the wait's result (0 with max 0), or a negative errno when the round itself is bad (null
 * arrays, n_send outside 0 .. NET_MAX_BATCH): then nothing is done. */
enum { NET_MAX_KEPT = 1 << 20 };
struct net_round {
  struct net_io *send;
  int32_t n_send;
  int32_t max;
  struct net_event *ev;
  int32_t timeout_ms;
  uint32_t per;
  char *ahead;
  int64_t *result;
  uint32_t *sent;
};
int net_round(struct net_round *round);
/* Sends every socket's kept bytes (net_round), waiting up to timeout_ms (-1: as long as it takes) for the
 * sockets to take them: 0 once none is left, -ETIMEDOUT when some still are (they stay kept). For an image
 * about to end, whose sockets the kernel would otherwise still be sending from. */
int net_drain(int timeout_ms);

#ifdef __cplusplus
}
#endif

#endif /* FLEX_NET_NET_H */
