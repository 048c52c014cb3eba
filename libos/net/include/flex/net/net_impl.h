/* For implementers of net backends only. A backend moves bytes and readiness; net.cc in front of it
 * validates every argument and keeps the table of the sockets it created. */
#ifndef FLEX_NET_NET_IMPL_H
#define FLEX_NET_NET_IMPL_H

#include <flex/net/net.h>

#ifdef __cplusplus
namespace flex::net {

struct backend {
  const char *name;
  int (*socket)(int family, int type);
  int (*pair)(int s[2]);  // a connected pair of local stream sockets, non-blocking
  int (*bind)(int s, const void *sockaddr, unsigned len);
  int (*listen)(int s, int backlog);
  int (*accept)(int s, int nonblock);
  int (*connect)(int s, const void *sockaddr, unsigned len);
  long (*recv)(int s, void *buf, size_t len, int flags);
  long (*send)(int s, const void *buf, size_t len, int flags);
  int (*close)(int s);
  int (*shutdown)(int s, int how);
  int (*setsockopt)(int s, int level, int name, const void *val, unsigned len);
  int (*getsockopt)(int s, int level, int name, void *val, unsigned *len);
  int (*local_port)(int s);
  int (*sock_name)(int s, int peer, void *sockaddr, unsigned *len);
  int (*poll_create)();
  int (*poll_ctl)(int ep, int op, int s, unsigned events, uint64_t cookie);
  int (*poll_wait)(int ep, struct net_event *ev, int max, int timeout_ms);
  // Checked, non-blocking operations in net's own memory (net.cc copies them out of the caller's
  // array first): each one's result is set, as recv or send with MSG_DONTWAIT would return it.
  void (*recv_many)(struct net_io *op, int n);
  void (*send_many)(struct net_io *op, int n);
};

const backend &host_backend();  // the host kernel's TCP through plat

// Blocks the calling sched thread until host fd `fd` has one of `events` (NET_*) or timeout_ns (-1: none)
// passes: the events seen, 0 on timeout, or a negative errno. net_wait.cc asks sched through a gate
// (images); net_wait_direct.cc calls it (unit tests). Where sched cannot wait on net's fds (it lives in
// another process, or the caller is another host thread), the wait blocks the host thread in plat.
int wait_ready(int fd, unsigned events, int64_t timeout_ns);

}  // namespace flex::net
#endif

#endif /* FLEX_NET_NET_IMPL_H */
