// console with plain calls: lines carry the compartment's name, log lines their level, lines under the
// threshold are dropped, and bad arguments are -EINVAL.
#include <flex/console/console.h>

#include <gtest/gtest.h>
#include <flex/runtime/self.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

extern "C" const flex_self_info flex_self = {"unit", 0};

namespace {

// Runs f with stdout redirected into a pipe; returns what it wrote.
template <typename F>
std::string capture(F f) {
  int p[2];
  EXPECT_EQ(pipe(p), 0);
  int saved = dup(1);
  dup2(p[1], 1);
  f();
  dup2(saved, 1);
  close(saved);
  close(p[1]);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(p[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  close(p[0]);
  return out;
}

TEST(console, lines_and_log_lines_name_the_compartment_and_the_level) {
  std::string out = capture([] {
    EXPECT_EQ(console_write("raw", 3), 3);
    EXPECT_GT(console_write_line("a line", 6), 0);
    EXPECT_GT(console_log(CONSOLE_WARN, "careful", 7), 0);
    EXPECT_EQ(console_log(CONSOLE_DEBUG, "hidden", 6), 0);  // under the default threshold (info)
    EXPECT_EQ(console_set_level(CONSOLE_DEBUG), CONSOLE_INFO);
    EXPECT_GT(console_log(CONSOLE_DEBUG, "shown", 5), 0);
    EXPECT_EQ(console_set_level(CONSOLE_ERROR), CONSOLE_DEBUG);
    EXPECT_EQ(console_log(CONSOLE_WARN, "dropped", 7), 0);
    EXPECT_GT(console_log(CONSOLE_ERROR, "bad", 3), 0);
    EXPECT_EQ(console_set_level(CONSOLE_INFO), CONSOLE_ERROR);
  });
  EXPECT_EQ(out,
            "raw[console@unit] a line\n[console@unit] warn: careful\n[console@unit] debug: shown\n"
            "[console@unit] error: bad\n");
}

TEST(console, bad_arguments_are_einval) {
  EXPECT_EQ(console_write(nullptr, 1), -EINVAL);
  EXPECT_EQ(console_write_line(nullptr, 0), -EINVAL);
  EXPECT_EQ(console_write_line("x", CONSOLE_LINE_MAX + 1), -EINVAL);
  EXPECT_EQ(console_log(-1, "x", 1), -EINVAL);
  EXPECT_EQ(console_log(4, "x", 1), -EINVAL);
  EXPECT_EQ(console_log(CONSOLE_ERROR, nullptr, 1), -EINVAL);
  EXPECT_EQ(console_log(CONSOLE_ERROR, "x", CONSOLE_LINE_MAX + 1), -EINVAL);
  EXPECT_EQ(console_set_level(9), -EINVAL);
  EXPECT_EQ(console_set_level(-1), -EINVAL);
}

}  // namespace
