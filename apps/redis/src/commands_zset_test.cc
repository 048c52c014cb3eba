// Sorted set commands.
#include "test_util.h"

namespace flex::redis::testing {
namespace {

using zsets = engine_test;
using strs = std::vector<std::string>;

TEST_F(zsets, zadd_flags) {
  EXPECT_EQ(run({"ZADD", "z", "1", "a", "2", "b", "3", "c"}), num(3));
  EXPECT_EQ(run({"ZADD", "z", "NX", "XX", "1", "a"}), err("ERR XX and NX options at the same time are not compatible"));
  EXPECT_EQ(run({"ZADD", "z", "GT", "LT", "1", "a"}),
            err("ERR GT, LT, and/or NX options at the same time are not compatible"));
  EXPECT_EQ(run({"ZADD", "z", "GT", "NX", "1", "a"}),
            err("ERR GT, LT, and/or NX options at the same time are not compatible"));
  EXPECT_EQ(run({"ZADD", "z", "INCR", "1", "a", "2", "b"}), err("ERR INCR option supports a single increment-element pair"));
  EXPECT_EQ(run({"ZADD", "z", "1"}), arity("zadd"));
  EXPECT_EQ(run({"ZADD", "z", "1", "a", "2"}), syntax);
  EXPECT_EQ(run({"ZADD", "z", "abc", "a"}), err("ERR value is not a valid float"));
  EXPECT_EQ(run({"ZADD", "z", "nan", "a"}), err("ERR value is not a valid float"));
  EXPECT_EQ(run({"ZADD", "z", "XX", "INCR", "5", "nope"}), nil);
  EXPECT_EQ(run({"ZADD", "z", "CH", "5", "a", "9", "d"}), num(2));
  EXPECT_EQ(run({"ZADD", "z", "NX", "100", "a", "4", "e"}), num(1));
  EXPECT_EQ(run({"ZSCORE", "z", "a"}), bulk("5"));
  EXPECT_EQ(run({"ZADD", "z", "GT", "CH", "1", "a"}), num(0));
  EXPECT_EQ(run({"ZADD", "z", "GT", "CH", "6", "a"}), num(1));
  EXPECT_EQ(run({"ZADD", "z", "LT", "CH", "7", "a"}), num(0));
  EXPECT_EQ(run({"ZADD", "z", "LT", "CH", "0", "a"}), num(1));
  EXPECT_EQ(run({"ZADD", "z", "XX", "1", "new"}), num(0));
  EXPECT_EQ(run({"ZSCORE", "z", "new"}), nil);
  EXPECT_EQ(run({"ZADD", "z", "INCR", "-inf", "a"}), bulk("-inf"));
  EXPECT_EQ(run({"ZADD", "z", "INCR", "+inf", "a"}), err("ERR resulting score is not a number (NaN)"));
  EXPECT_EQ(run({"ZADD", "z", "INCR", "2.5", "b"}), bulk("4.5"));
  EXPECT_EQ(run({"ZADD", "nz", "XX", "1", "a"}), num(0));
  EXPECT_EQ(run({"EXISTS", "nz"}), num(0));
  run({"SET", "s", "v"});
  EXPECT_EQ(run({"ZADD", "s", "1", "a"}), wrongtype);
}

TEST_F(zsets, score_rank_card_rem) {
  run({"ZADD", "z", "1.1", "f", "2", "b", "1", "a"});
  EXPECT_EQ(run({"ZSCORE", "z", "f"}), bulk("1.1000000000000001"));
  EXPECT_EQ(run({"ZSCORE", "z", "nope"}), nil);
  EXPECT_EQ(run({"ZSCORE", "none", "a"}), nil);
  EXPECT_EQ(run({"ZCARD", "z"}), num(3));
  EXPECT_EQ(run({"ZCARD", "none"}), num(0));
  EXPECT_EQ(run({"ZRANK", "z", "a"}), num(0));
  EXPECT_EQ(run({"ZRANK", "z", "b"}), num(2));
  EXPECT_EQ(run({"ZREVRANK", "z", "b"}), num(0));
  EXPECT_EQ(run({"ZRANK", "z", "nope"}), nil);
  EXPECT_EQ(run({"ZREM", "z", "a", "nope"}), num(1));
  EXPECT_EQ(run({"ZRANK", "z", "f"}), num(0));
  EXPECT_EQ(run({"ZREM", "z", "f", "b"}), num(2));
  EXPECT_EQ(run({"EXISTS", "z"}), num(0));
  run({"SET", "s", "v"});
  EXPECT_EQ(run({"ZSCORE", "s", "a"}), wrongtype);
  EXPECT_EQ(run({"ZRANK", "s", "a"}), wrongtype);
  EXPECT_EQ(run({"ZCARD", "s"}), wrongtype);
}

TEST_F(zsets, ties_order_by_member) {
  run({"ZADD", "z", "1", "c", "1", "a", "1", "b", "0", "z"});
  EXPECT_EQ(run({"ZRANGE", "z", "0", "-1"}), arr({"z", "a", "b", "c"}));
  EXPECT_EQ(run({"ZRANK", "z", "b"}), num(2));
}

TEST_F(zsets, zrange) {
  run({"ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d"});
  EXPECT_EQ(run({"ZRANGE", "z", "0", "-1"}), arr({"a", "b", "c", "d"}));
  EXPECT_EQ(run({"ZRANGE", "z", "1", "2", "WITHSCORES"}), arr({"b", "2", "c", "3"}));
  EXPECT_EQ(run({"ZRANGE", "z", "-2", "100"}), arr({"c", "d"}));
  EXPECT_EQ(run({"ZRANGE", "z", "5", "10"}), "*0\r\n");
  EXPECT_EQ(run({"ZRANGE", "z", "0", "-1", "REV"}), arr({"d", "c", "b", "a"}));
  EXPECT_EQ(run({"ZRANGE", "z", "(1", "3", "BYSCORE"}), arr({"b", "c"}));
  EXPECT_EQ(run({"ZRANGE", "z", "+inf", "-inf", "BYSCORE", "REV", "LIMIT", "0", "1"}), arr({"d"}));
  EXPECT_EQ(run({"ZRANGE", "z", "0", "1", "LIMIT", "0", "1"}),
            err("ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"));
  EXPECT_EQ(run({"ZRANGE", "z", "0", "1", "FOO"}), syntax);
  EXPECT_EQ(run({"ZRANGE", "z", "a", "1"}), not_int);
  EXPECT_EQ(run({"ZRANGE", "none", "0", "-1"}), "*0\r\n");
  EXPECT_EQ(run({"ZREVRANGE", "z", "0", "1", "WITHSCORES"}), arr({"d", "4", "c", "3"}));
}

TEST_F(zsets, zrangebyscore) {
  run({"ZADD", "z", "1", "a", "2", "b", "3", "c", "9", "d", "-5", "e"});
  EXPECT_EQ(run({"ZRANGEBYSCORE", "z", "-inf", "+inf"}), arr({"e", "a", "b", "c", "d"}));
  EXPECT_EQ(run({"ZRANGEBYSCORE", "z", "(1", "+inf", "WITHSCORES", "LIMIT", "1", "2"}), arr({"c", "3", "d", "9"}));
  EXPECT_EQ(run({"ZRANGEBYSCORE", "z", "1", "(3"}), arr({"a", "b"}));
  EXPECT_EQ(run({"ZRANGEBYSCORE", "z", "(1", "(2"}), "*0\r\n");
  EXPECT_EQ(run({"ZRANGEBYSCORE", "z", "5", "1"}), "*0\r\n");
  EXPECT_EQ(run({"ZRANGEBYSCORE", "z", "-inf", "+inf", "LIMIT", "0", "-1"}), arr({"e", "a", "b", "c", "d"}));
  EXPECT_EQ(run({"ZRANGEBYSCORE", "z", "-inf", "+inf", "LIMIT", "-1", "2"}), "*0\r\n");
  EXPECT_EQ(run({"ZRANGEBYSCORE", "z", "-inf", "+inf", "LIMIT", "10", "2"}), "*0\r\n");
  EXPECT_EQ(run({"ZRANGEBYSCORE", "z", "a", "b"}), err("ERR min or max is not a float"));
  EXPECT_EQ(run({"ZRANGEBYSCORE", "z", "0", "1", "LIMIT", "x", "1"}), not_int);
  EXPECT_EQ(run({"ZRANGEBYSCORE", "z", "0", "1", "LIMIT", "1"}), syntax);
  EXPECT_EQ(run({"ZREVRANGEBYSCORE", "z", "+inf", "2"}), arr({"d", "c", "b"}));
  EXPECT_EQ(run({"ZCOUNT", "z", "(1", "9"}), num(3));
}

// Range bounds are read with strtod as Redis reads them: leading space, an empty string (0), a sign, hex and
// values out of a double's range (+-inf, 0) are accepted; only NaN and trailing characters are not. Scores
// given to ZADD stay stricter (no leading space, nothing out of range).
TEST_F(zsets, range_bounds_take_what_strtod_takes) {
  run({"ZADD", "z", "-1", "m", "0", "a", "1", "b", "16", "c"});
  EXPECT_EQ(run({"ZRANGEBYSCORE", "z", "", " 1"}), arr({"a", "b"}));
  EXPECT_EQ(run({"ZRANGEBYSCORE", "z", "+1", "0x10"}), arr({"b", "c"}));
  EXPECT_EQ(run({"ZRANGEBYSCORE", "z", "(1e-400", "1e500"}), arr({"b", "c"}));
  EXPECT_EQ(run({"ZCOUNT", "z", "-1e500", "( 0"}), num(1));
  EXPECT_EQ(run({"ZRANGEBYSCORE", "z", "nan", "1"}), err("ERR min or max is not a float"));
  EXPECT_EQ(run({"ZRANGEBYSCORE", "z", "1 ", "2"}), err("ERR min or max is not a float"));
  EXPECT_EQ(run({"ZADD", "z", " 1", "d"}), err("ERR value is not a valid float"));
  EXPECT_EQ(run({"ZADD", "z", "1e500", "d"}), err("ERR value is not a valid float"));
}

// -0 is kept as 0, as Redis's small-set encoding keeps it; ZINCRBY's reply for a new member is the
// increment itself, -0 included.
TEST_F(zsets, negative_zero_scores) {
  EXPECT_EQ(run({"ZADD", "z", "-0", "a"}), num(1));
  EXPECT_EQ(run({"ZSCORE", "z", "a"}), bulk("0"));
  EXPECT_EQ(run({"ZINCRBY", "z", "-0", "b"}), bulk("-0"));
  EXPECT_EQ(run({"ZRANGE", "z", "0", "-1", "WITHSCORES"}), arr({"a", "0", "b", "0"}));
  EXPECT_EQ(run({"ZINCRBY", "z", "-0", "a"}), bulk("0"));
}

TEST_F(zsets, zincrby_and_pops) {
  EXPECT_EQ(run({"ZINCRBY", "z", "2", "a"}), bulk("2"));
  EXPECT_EQ(run({"ZINCRBY", "z", "1.5", "a"}), bulk("3.5"));
  EXPECT_EQ(run({"ZINCRBY", "z", "abc", "a"}), err("ERR value is not a valid float"));
  run({"ZADD", "z", "1", "b", "9", "c"});
  EXPECT_EQ(run({"ZPOPMIN", "z"}), arr({"b", "1"}));
  EXPECT_EQ(run({"ZPOPMAX", "z", "5"}), arr({"c", "9", "a", "3.5"}));
  EXPECT_EQ(run({"EXISTS", "z"}), num(0));
  EXPECT_EQ(run({"ZPOPMIN", "z"}), "*0\r\n");
  EXPECT_EQ(run({"ZPOPMIN", "z", "-1"}), err("ERR value is out of range, must be positive"));
  EXPECT_EQ(run({"ZPOPMIN", "z", "1", "2"}), syntax);
}

TEST_F(zsets, many_members_keep_ranks) {
  for (int i = 0; i < 2000; i++) run({"ZADD", "z", std::to_string((i * 7919) % 2000), "m" + std::to_string(i)});
  for (int i = 0; i < 2000; i += 97) {
    int score = (i * 7919) % 2000;
    EXPECT_EQ(run({"ZRANK", "z", "m" + std::to_string(i)}), num(score));
  }
  for (int i = 0; i < 2000; i += 2) run({"ZREM", "z", "m" + std::to_string(i)});
  EXPECT_EQ(run({"ZCARD", "z"}), num(1000));
  auto all = run_arr({"ZRANGE", "z", "0", "-1", "WITHSCORES"});
  ASSERT_EQ(all.size(), 2000u);
  for (size_t i = 2; i < all.size(); i += 2) EXPECT_LT(std::stod(all[i - 1]), std::stod(all[i + 1]));
}

}  // namespace
}  // namespace flex::redis::testing
