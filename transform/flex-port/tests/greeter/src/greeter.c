/* greeter: prints a banner and one line per argument through the console library, with plain calls and
 * buffers of its own. flex-port turns the calls into gates and whitelists the buffers they pass. */
#include <stdio.h>

#include <flex/console/console.h>

static char banner[64];

int main(int argc, char **argv) {
  char line[128];
  long rc;
  int n = snprintf(banner, sizeof banner, "greeter: %d words", argc - 1);
  rc = console_write_line(banner, (size_t)n);
  if (rc < 0) return 1;
  for (int i = 1; i < argc; i++) {
    n = snprintf(line, sizeof line, "greeter says: %s", argv[i]);
    console_write_line(line, (size_t)n);
  }
  char sep[2] = "-", done[16] = "greeter: done";
  console_write_line(done, (size_t)13 + (size_t)(sep[0] != '-'));
  return 0;
}
