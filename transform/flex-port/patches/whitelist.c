#include <stddef.h>
struct point { int x, y; };
static char banner[32];
static char unshared[32];

long serve(int fd, char *heap) {
  char buf[64];
  char greeting[8] = "hi";
  struct point where = {1, 2};
  long rc, n = 0;
  int unrelated[4];
  flexos_gate_r(libnet, rc, net_recv, fd, buf, sizeof buf, 0);
  flexos_gate(libconsole, console_write, greeting, 2);
  flexos_gate(libconsole, console_write, banner, sizeof banner);
  flexos_gate_r(libnet, n, net_locate, &where);
  flexos_gate(libconsole, console_write, heap, 4);
  unrelated[0] = unshared[0];
  return rc + n + unrelated[0];
}
