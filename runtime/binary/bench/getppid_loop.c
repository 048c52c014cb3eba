/* The program binary-bench runs under the loader: argv[1] getppid system calls, nothing else. Linked
 * statically so that no interpreter or library loading enters the figure. */
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 1000;
  for (long i = 0; i < n; ++i) syscall(SYS_getppid);
  return 0;
}
