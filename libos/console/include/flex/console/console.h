/* console: output for the other libraries of an image.
 *
 * Each line is prefixed with the compartment the console runs in, so a reader sees which compartment
 * printed it:
 *
 *   flexos_gate_r(libconsole, rc, console_write_line, msg, len);   // "[console@core] <msg>\n"
 *
 * Logging with levels, for the other libraries: each formats its message into a whitelisted buffer
 * (vsnprintf) and passes it with a level; lines under the threshold (default CONSOLE_INFO) are dropped.
 *
 *   flexos_gate_r(libconsole, rc, console_log, CONSOLE_WARN, msg, len);  // "[console@core] warn: <msg>\n"
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

enum { CONSOLE_DEBUG = 0, CONSOLE_INFO = 1, CONSOLE_WARN = 2, CONSOLE_ERROR = 3 };

/* Writes "[console@<compartment>] <level>: " + msg + "\n" when level is at or above the threshold.
 * Returns the bytes written (0 when dropped), or -EINVAL for a bad level, a null msg or an oversized len. */
long console_log(int level, const char *msg, size_t len);

/* Sets the threshold; returns the previous one, or -EINVAL for a bad level. */
int console_set_level(int level);

#ifdef __cplusplus
}
#endif

#endif /* FLEX_CONSOLE_CONSOLE_H */
