/* console: output for the other libraries of an image.
 *
 * Each line is prefixed with the compartment the console runs in, so a reader sees which compartment
 * printed it:
 *
 *   flexos_gate_r(libconsole, rc, console_write_line, msg, len);   // "[console@core] <msg>\n"
 */
#ifndef FLEX_CONSOLE_CONSOLE_H
#define FLEX_CONSOLE_CONSOLE_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Writes len bytes of buf as they are. Returns len, or a negative errno. */
long console_write(const char *buf, size_t len);

/* Writes one line: "[console@<compartment>] " + len bytes of msg + "\n". Returns the bytes written, or a
 * negative errno (-EINVAL for a null msg or a len over CONSOLE_LINE_MAX). */
long console_write_line(const char *msg, size_t len);

#define CONSOLE_LINE_MAX 4096

#ifdef __cplusplus
}
#endif

#endif /* FLEX_CONSOLE_CONSOLE_H */
