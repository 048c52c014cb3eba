// The host backend of net: the host kernel's TCP/IP, reached through plat.
#include <cstddef>

#include <flex/net/net_impl.h>
#include <flex/plat/plat.h>

static_assert(sizeof(net_event) == sizeof(plat_event));
static_assert(sizeof(net_io) == sizeof(plat_io) && offsetof(net_io, s) == offsetof(plat_io, fd) &&
              offsetof(net_io, flags) == offsetof(plat_io, flags) && offsetof(net_io, buf) == offsetof(plat_io, buf) &&
              offsetof(net_io, len) == offsetof(plat_io, len) && offsetof(net_io, result) == offsetof(plat_io, result));
static_assert(int{NET_IN} == int{PLAT_IN} && int{NET_OUT} == int{PLAT_OUT} && int{NET_ERR} == int{PLAT_ERR} &&
              int{NET_HUP} == int{PLAT_HUP});

namespace flex::net {
namespace {

int poll_ctl(int ep, int op, int s, unsigned events, uint64_t cookie) {
  return plat_poll_ctl(ep, op, s, events, cookie);
}

int poll_wait(int ep, net_event *ev, int max, int timeout_ms) {
  return plat_poll_wait(ep, reinterpret_cast<plat_event *>(ev), max, timeout_ms);
}

int socket(int family, int type) {
  return plat_socket(family, type, 0);
}

void recv_many(net_io *op, int n) {
  plat_recv_many(reinterpret_cast<plat_io *>(op), n);
}

void send_many(net_io *op, int n) {
  plat_send_many(reinterpret_cast<plat_io *>(op), n);
}

int local_port(int s) {
  return plat_local_port(s);
}

}  // namespace

const backend &host_backend() {
  static const backend b = {
      .name = "host",
      .socket = &socket,
      .pair = &plat_socketpair,
      .bind = &plat_bind,
      .listen = &plat_listen,
      .accept = &plat_accept,
      .connect = &plat_connect,
      .recv = &plat_recv,
      .send = &plat_send,
      .close = &plat_close,
      .shutdown = &plat_shutdown,
      .setsockopt = &plat_setsockopt,
      .getsockopt = &plat_getsockopt,
      .local_port = &local_port,
      .sock_name = &plat_sock_name,
      .poll_create = &plat_poll_create,
      .poll_ctl = &poll_ctl,
      .poll_wait = &poll_wait,
      .recv_many = &recv_many,
      .send_many = &send_many,
  };
  return b;
}

}  // namespace flex::net
