/* console: the output library (lines, and log lines with levels). Reaches the host through plat. */
#include <flex/console/console.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <flex/plat/plat.h>

#include <flex/runtime/self.h>

static long write_all(int fd, const char *buf, size_t len) {
  return plat_write(fd, buf, len); /* writes all of it, retrying EINTR */
}

long console_write(const char *buf, size_t len) {
  if (buf == NULL && len != 0) return -EINVAL;
  return write_all(STDOUT_FILENO, buf, len);
}

long console_write_line(const char *msg, size_t len) {
  if (msg == NULL || len > CONSOLE_LINE_MAX) return -EINVAL;
  char line[CONSOLE_LINE_MAX + 128];
  int head = snprintf(line, sizeof line, "[console@%s] ", flex_self.name);
  if (head < 0 || (size_t)head >= sizeof line - len - 1) return -EINVAL;
  memcpy(line + head, msg, len);
  line[head + len] = '\n';
  return write_all(STDOUT_FILENO, line, (size_t)head + len + 1);
}

static int g_level = CONSOLE_INFO;

static const char *level_name(int level) {
  static const char *const names[] = {"debug", "info", "warn", "error"};
  return names[level];
}

long console_log(int level, const char *msg, size_t len) {
  if (level < CONSOLE_DEBUG || level > CONSOLE_ERROR || msg == NULL || len > CONSOLE_LINE_MAX) return -EINVAL;
  if (level < g_level) return 0;
  char line[CONSOLE_LINE_MAX + 128];
  int head = snprintf(line, sizeof line, "[console@%s] %s: ", flex_self.name, level_name(level));
  if (head < 0 || (size_t)head >= sizeof line - len - 1) return -EINVAL;
  memcpy(line + head, msg, len);
  line[head + len] = '\n';
  return write_all(STDOUT_FILENO, line, (size_t)head + len + 1);
}

int console_set_level(int level) {
  if (level < CONSOLE_DEBUG || level > CONSOLE_ERROR) return -EINVAL;
  int old = g_level;
  g_level = level;
  return old;
}
