#include <stddef.h>
long net_recv(int fd, void *buf, size_t n, int flags);
long net_send(int fd, const void *buf, size_t n, int flags);
int net_poll_wait(int timeout_ms);
void console_write(const char *s, size_t n);
void console_flush(void);
long local_helper(long x);

long serve(int fd) {
  char buf[64];
  long rc;
  int ready = net_poll_wait(100);
  rc = net_recv(fd, buf, sizeof buf, 0);
  console_write("got data", 8);
  console_flush();
  rc = local_helper(rc);
  if (net_send(fd, buf, (size_t)rc, 0) < 0) return -1;
  return rc + ready;
}
