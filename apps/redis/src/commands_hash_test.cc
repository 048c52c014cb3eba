// Hash commands.
#include "test_util.h"

namespace flex::redis::testing {
namespace {

using hashes = engine_test;

TEST_F(hashes, set_get_del) {
  EXPECT_EQ(run({"HSET", "h", "a", "1", "b", "2"}), num(2));
  EXPECT_EQ(run({"HSET", "h", "a", "10", "c", "3"}), num(1));
  EXPECT_EQ(run({"HSET", "h", "a"}), arity("hset"));
  EXPECT_EQ(run({"HSET", "h", "a", "1", "b"}), arity("hset"));
  EXPECT_EQ(run({"HGET", "h", "a"}), bulk("10"));
  EXPECT_EQ(run({"HGET", "h", "zz"}), nil);
  EXPECT_EQ(run({"HGET", "none", "a"}), nil);
  EXPECT_EQ(run({"HMGET", "h", "a", "zz", "c"}), "*3\r\n" + bulk("10") + nil + bulk("3"));
  EXPECT_EQ(run({"HMGET", "none", "a"}), "*1\r\n" + nil);
  EXPECT_EQ(run({"HLEN", "h"}), num(3));
  EXPECT_EQ(run({"HEXISTS", "h", "b"}), num(1));
  EXPECT_EQ(run({"HEXISTS", "h", "zz"}), num(0));
  EXPECT_EQ(run({"HDEL", "h", "a", "zz"}), num(1));
  EXPECT_EQ(run({"HDEL", "none", "a"}), num(0));
  EXPECT_EQ(run({"HMSET", "h", "d", "4"}), ok);
  EXPECT_EQ(sorted(run_arr({"HKEYS", "h"})), (std::vector<std::string>{"b", "c", "d"}));
  EXPECT_EQ(sorted(run_arr({"HVALS", "h"})), (std::vector<std::string>{"2", "3", "4"}));
  auto all = run_arr({"HGETALL", "h"});
  ASSERT_EQ(all.size(), 6u);
  for (size_t i = 0; i < all.size(); i += 2) EXPECT_EQ(run({"HGET", "h", all[i]}), bulk(all[i + 1]));
  EXPECT_EQ(run({"HGETALL", "none"}), "*0\r\n");
  EXPECT_EQ(run({"HDEL", "h", "b", "c", "d"}), num(3));
  EXPECT_EQ(run({"EXISTS", "h"}), num(0));
}

TEST_F(hashes, wrongtype) {
  run({"SET", "s", "v"});
  for (auto cmd : {std::vector<std::string>{"HSET", "s", "a", "1"}, {"HGET", "s", "a"}, {"HMGET", "s", "a"},
                   {"HDEL", "s", "a"}, {"HGETALL", "s"}, {"HLEN", "s"}, {"HEXISTS", "s", "a"},
                   {"HINCRBY", "s", "a", "1"}, {"HKEYS", "s"}, {"HVALS", "s"}}) {
    EXPECT_EQ(run_v(cmd), wrongtype) << cmd[0];
  }
}

TEST_F(hashes, hincrby) {
  EXPECT_EQ(run({"HINCRBY", "h", "n", "5"}), num(5));
  EXPECT_EQ(run({"HINCRBY", "h", "n", "-7"}), num(-2));
  EXPECT_EQ(run({"HINCRBY", "h", "n", "x"}), not_int);
  run({"HSET", "h", "s", "abc"});
  EXPECT_EQ(run({"HINCRBY", "h", "s", "1"}), err("ERR hash value is not an integer"));
  run({"HSET", "h", "m", "9223372036854775807"});
  EXPECT_EQ(run({"HINCRBY", "h", "m", "1"}), err("ERR increment or decrement would overflow"));
  EXPECT_EQ(run({"HINCRBYFLOAT", "h", "f", "1.5"}), bulk("1.5"));
  // An infinite increment is refused before the key is looked at (so even on a key of another type).
  EXPECT_EQ(run({"HINCRBYFLOAT", "h", "f", "inf"}), err("ERR value is NaN or Infinity"));
  run({"SET", "s", "v"});
  EXPECT_EQ(run({"HINCRBYFLOAT", "s", "f", "-inf"}), err("ERR value is NaN or Infinity"));
  EXPECT_EQ(run({"HINCRBYFLOAT", "s", "f", "1"}), wrongtype);
}

}  // namespace
}  // namespace flex::redis::testing
