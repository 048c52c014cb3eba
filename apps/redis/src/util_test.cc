// Number parsing and formatting and glob matching.
#include "../src/util.h"

#include <gtest/gtest.h>

namespace flex::redis {
namespace {

TEST(util, string_to_ll_is_strict) {
  int64_t v;
  EXPECT_TRUE(string_to_ll("0", v));
  EXPECT_EQ(v, 0);
  EXPECT_TRUE(string_to_ll("-9223372036854775808", v));
  EXPECT_EQ(v, INT64_MIN);
  EXPECT_TRUE(string_to_ll("9223372036854775807", v));
  EXPECT_FALSE(string_to_ll("9223372036854775808", v));
  EXPECT_FALSE(string_to_ll("-9223372036854775809", v));
  for (const char* bad : {"", "-", "+1", " 1", "1 ", "01", "-0", "1.0", "abc", "99999999999999999999"}) {
    EXPECT_FALSE(string_to_ll(bad, v)) << bad;
  }
}

TEST(util, doubles) {
  double d;
  EXPECT_TRUE(string_to_double("1.5", d));
  EXPECT_TRUE(string_to_double("-inf", d));
  EXPECT_TRUE(string_to_double("+inf", d));
  EXPECT_FALSE(string_to_double("nan", d));
  EXPECT_FALSE(string_to_double(" 1", d));
  EXPECT_FALSE(string_to_double("1x", d));
  EXPECT_FALSE(string_to_double("", d));
  EXPECT_EQ(format_double(1.1), "1.1000000000000001");
  EXPECT_EQ(format_double(3), "3");
  EXPECT_EQ(format_double(1.0 / 0.0), "inf");
  EXPECT_EQ(format_long_double_human(10.6L), "10.6");
  EXPECT_EQ(format_long_double_human(3.0L), "3");
  EXPECT_EQ(format_long_double_human(-0.0L), "0");
  EXPECT_EQ(format_long_double_human(5.0e3L), "5000");
}

TEST(util, glob) {
  EXPECT_TRUE(glob_match("*", "anything"));
  EXPECT_TRUE(glob_match("h?llo", "hello"));
  EXPECT_TRUE(glob_match("h*llo", "heeeello"));
  EXPECT_TRUE(glob_match("h[ae]llo", "hallo"));
  EXPECT_FALSE(glob_match("h[ae]llo", "hillo"));
  EXPECT_TRUE(glob_match("h[^e]llo", "hallo"));
  EXPECT_FALSE(glob_match("h[^e]llo", "hello"));
  EXPECT_TRUE(glob_match("h[a-b]llo", "hbllo"));
  EXPECT_TRUE(glob_match("h\\*llo", "h*llo"));
  EXPECT_FALSE(glob_match("h\\*llo", "hello"));
  EXPECT_TRUE(glob_match("*a*b*c*", "xxaxxbxxcxx"));
  EXPECT_FALSE(glob_match("*a*b*c*d", "xxaxxbxxcxx"));
  EXPECT_TRUE(glob_match("MAX*", "maxmemory", true));
  EXPECT_FALSE(glob_match("MAX*", "maxmemory", false));
  EXPECT_FALSE(glob_match("a", ""));
  EXPECT_TRUE(glob_match("", ""));
}

}  // namespace
}  // namespace flex::redis
