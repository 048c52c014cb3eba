// List commands.
#include "test_util.h"

namespace flex::redis::testing {
namespace {

using lists = engine_test;

TEST_F(lists, push_pop_range) {
  EXPECT_EQ(run({"RPUSH", "l", "a", "b", "c"}), num(3));
  EXPECT_EQ(run({"LPUSH", "l", "z", "y"}), num(5));
  EXPECT_EQ(run({"LRANGE", "l", "0", "-1"}), arr({"y", "z", "a", "b", "c"}));
  EXPECT_EQ(run({"LRANGE", "l", "-2", "100"}), arr({"b", "c"}));
  EXPECT_EQ(run({"LRANGE", "l", "3", "1"}), "*0\r\n");
  EXPECT_EQ(run({"LRANGE", "l", "10", "20"}), "*0\r\n");
  EXPECT_EQ(run({"LRANGE", "none", "0", "-1"}), "*0\r\n");
  EXPECT_EQ(run({"LRANGE", "l", "a", "1"}), not_int);
  EXPECT_EQ(run({"LLEN", "l"}), num(5));
  EXPECT_EQ(run({"LPOP", "l"}), bulk("y"));
  EXPECT_EQ(run({"RPOP", "l"}), bulk("c"));
  EXPECT_EQ(run({"LPOP", "l", "2"}), arr({"z", "a"}));
  EXPECT_EQ(run({"RPOP", "l", "0"}), "*0\r\n");
  EXPECT_EQ(run({"RPOP", "l", "5"}), arr({"b"}));
  EXPECT_EQ(run({"EXISTS", "l"}), num(0));  // an emptied list is deleted
  EXPECT_EQ(run({"LPOP", "l"}), nil);
  EXPECT_EQ(run({"LPOP", "l", "1"}), nil_array);
  EXPECT_EQ(run({"LPOP", "l", "-1"}), err("ERR value is out of range, must be positive"));
  EXPECT_EQ(run({"LPOP", "l", "1", "2"}), arity("lpop"));
  EXPECT_EQ(run({"LLEN", "none"}), num(0));
  run({"SET", "s", "v"});
  EXPECT_EQ(run({"LPUSH", "s", "a"}), wrongtype);
  EXPECT_EQ(run({"LPOP", "s"}), wrongtype);
  EXPECT_EQ(run({"LRANGE", "s", "0", "1"}), wrongtype);
  EXPECT_EQ(run({"LLEN", "s"}), wrongtype);
}

TEST_F(lists, index_set) {
  run({"RPUSH", "l", "a", "b", "c"});
  EXPECT_EQ(run({"LINDEX", "l", "0"}), bulk("a"));
  EXPECT_EQ(run({"LINDEX", "l", "-1"}), bulk("c"));
  EXPECT_EQ(run({"LINDEX", "l", "3"}), nil);
  EXPECT_EQ(run({"LINDEX", "none", "0"}), nil);
  EXPECT_EQ(run({"LINDEX", "l", "x"}), not_int);
  EXPECT_EQ(run({"LSET", "l", "1", "B"}), ok);
  EXPECT_EQ(run({"LSET", "l", "-1", "C"}), ok);
  EXPECT_EQ(run({"LRANGE", "l", "0", "-1"}), arr({"a", "B", "C"}));
  EXPECT_EQ(run({"LSET", "l", "3", "x"}), err("ERR index out of range"));
  EXPECT_EQ(run({"LSET", "none", "0", "x"}), err("ERR no such key"));
  EXPECT_EQ(run({"LSET", "l", "x", "x"}), not_int);
}

// Redis looks the key up before it parses the index: a missing key or one of another type answers first.
TEST_F(lists, index_set_check_the_key_before_the_index) {
  EXPECT_EQ(run({"LINDEX", "none", "x"}), nil);
  EXPECT_EQ(run({"LSET", "none", "x", "v"}), err("ERR no such key"));
  run({"SET", "s", "v"});
  EXPECT_EQ(run({"LINDEX", "s", "x"}), wrongtype);
  EXPECT_EQ(run({"LSET", "s", "x", "v"}), wrongtype);
}

TEST_F(lists, lrem) {
  run({"RPUSH", "l", "a", "b", "a", "c", "a"});
  EXPECT_EQ(run({"LREM", "l", "1", "a"}), num(1));
  EXPECT_EQ(run({"LRANGE", "l", "0", "-1"}), arr({"b", "a", "c", "a"}));
  EXPECT_EQ(run({"LREM", "l", "-1", "a"}), num(1));
  EXPECT_EQ(run({"LRANGE", "l", "0", "-1"}), arr({"b", "a", "c"}));
  run({"RPUSH", "l", "a", "a"});
  EXPECT_EQ(run({"LREM", "l", "0", "a"}), num(3));
  EXPECT_EQ(run({"LRANGE", "l", "0", "-1"}), arr({"b", "c"}));
  EXPECT_EQ(run({"LREM", "none", "0", "a"}), num(0));
  EXPECT_EQ(run({"LREM", "l", "x", "a"}), not_int);
  EXPECT_EQ(run({"LREM", "l", "0", "b"}), num(1));
  EXPECT_EQ(run({"LREM", "l", "0", "c"}), num(1));
  EXPECT_EQ(run({"EXISTS", "l"}), num(0));
}

TEST_F(lists, lrem_with_the_most_negative_count_removes_every_match_from_the_tail) {
  run({"RPUSH", "l", "a", "b", "a", "a"});
  EXPECT_EQ(run({"LREM", "l", "-9223372036854775808", "a"}), num(3));
  EXPECT_EQ(run({"LRANGE", "l", "0", "-1"}), arr({"b"}));
}

TEST_F(lists, ltrim) {
  run({"RPUSH", "l", "a", "b", "c", "d", "e"});
  EXPECT_EQ(run({"LTRIM", "l", "1", "-2"}), ok);
  EXPECT_EQ(run({"LRANGE", "l", "0", "-1"}), arr({"b", "c", "d"}));
  EXPECT_EQ(run({"LTRIM", "l", "1", "100"}), ok);
  EXPECT_EQ(run({"LRANGE", "l", "0", "-1"}), arr({"c", "d"}));
  EXPECT_EQ(run({"LTRIM", "l", "5", "10"}), ok);
  EXPECT_EQ(run({"EXISTS", "l"}), num(0));
  EXPECT_EQ(run({"LTRIM", "none", "0", "1"}), ok);
  EXPECT_EQ(run({"LTRIM", "l", "a", "1"}), not_int);
}

}  // namespace
}  // namespace flex::redis::testing
