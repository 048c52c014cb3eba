/* hello: greets from its own compartment through the console library's.
 *
 *   hello [words...]    prints "hello from compartment <name>" and then the words, one line each
 */
#include <stdio.h>
#include <string.h>

#include <flex/console/console.h>
#include <flex/gates/self.h>
#include <flexos/isolation.h>

int main(int argc, char **argv) {
  static char msg[256] __attribute__((flexos_whitelist)); /* shared: the console reads it */
  long rc;
  int n = snprintf(msg, sizeof msg, "hello from compartment %s", flex_self.name);
  flexos_gate_r(libconsole, rc, console_write_line, msg, (size_t)n);
  if (rc < 0) return 1;
  for (int i = 1; i < argc; i++) {
    n = snprintf(msg, sizeof msg, "%s says: %s", flex_self.name, argv[i]);
    flexos_gate_r(libconsole, rc, console_write_line, msg, (size_t)n);
    if (rc < 0) return 1;
  }
  return 0;
}
