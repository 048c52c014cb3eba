// Set commands.
#include <set>

#include "test_util.h"

namespace flex::redis::testing {
namespace {

using sets = engine_test;
using strs = std::vector<std::string>;

TEST_F(sets, add_rem_members) {
  EXPECT_EQ(run({"SADD", "s", "a", "b", "a"}), num(2));
  EXPECT_EQ(run({"SADD", "s", "b", "c"}), num(1));
  EXPECT_EQ(run({"SCARD", "s"}), num(3));
  EXPECT_EQ(run({"SCARD", "none"}), num(0));
  EXPECT_EQ(sorted(run_arr({"SMEMBERS", "s"})), (strs{"a", "b", "c"}));
  EXPECT_EQ(run({"SMEMBERS", "none"}), "*0\r\n");
  EXPECT_EQ(run({"SISMEMBER", "s", "a"}), num(1));
  EXPECT_EQ(run({"SISMEMBER", "s", "z"}), num(0));
  EXPECT_EQ(run({"SISMEMBER", "none", "z"}), num(0));
  EXPECT_EQ(run({"SREM", "s", "a", "z"}), num(1));
  EXPECT_EQ(run({"SREM", "none", "a"}), num(0));
  EXPECT_EQ(run({"SREM", "s", "b", "c"}), num(2));
  EXPECT_EQ(run({"EXISTS", "s"}), num(0));
  run({"SET", "str", "v"});
  EXPECT_EQ(run({"SADD", "str", "a"}), wrongtype);
  EXPECT_EQ(run({"SMEMBERS", "str"}), wrongtype);
  EXPECT_EQ(run({"SCARD", "str"}), wrongtype);
}

TEST_F(sets, spop_srandmember) {
  EXPECT_EQ(run({"SPOP", "none"}), nil);
  EXPECT_EQ(run({"SPOP", "none", "3"}), "*0\r\n");
  EXPECT_EQ(run({"SRANDMEMBER", "none"}), nil);
  EXPECT_EQ(run({"SRANDMEMBER", "none", "3"}), "*0\r\n");
  for (int i = 0; i < 20; i++) run({"SADD", "s", std::to_string(i)});
  EXPECT_EQ(run({"SPOP", "s", "-1"}), err("ERR value is out of range, must be positive"));
  EXPECT_EQ(run({"SPOP", "s", "1", "2"}), syntax);
  EXPECT_EQ(run({"SRANDMEMBER", "s", "x"}), not_int);
  // The count is range-checked before the key is looked up: -INT64_MIN picks would not fit.
  EXPECT_EQ(run({"SRANDMEMBER", "none", "-9223372036854775808"}),
            err("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"));
  auto r = run_arr({"SRANDMEMBER", "s", "5"});
  EXPECT_EQ(std::set<std::string>(r.begin(), r.end()).size(), 5u);
  EXPECT_EQ(run_arr({"SRANDMEMBER", "s", "-30"}).size(), 30u);
  EXPECT_EQ(run_arr({"SRANDMEMBER", "s", "100"}).size(), 20u);
  std::string one = run({"SPOP", "s"});
  EXPECT_EQ(one[0], '$');
  EXPECT_EQ(run({"SCARD", "s"}), num(19));
  auto popped = run_arr({"SPOP", "s", "10"});
  EXPECT_EQ(std::set<std::string>(popped.begin(), popped.end()).size(), 10u);
  for (auto& m : popped) EXPECT_EQ(run({"SISMEMBER", "s", m}), num(0));
  EXPECT_EQ(run({"SCARD", "s"}), num(9));
  EXPECT_EQ(run_arr({"SPOP", "s", "100"}).size(), 9u);
  EXPECT_EQ(run({"EXISTS", "s"}), num(0));
}

TEST_F(sets, algebra) {
  run({"SADD", "a", "1", "2", "3", "4"});
  run({"SADD", "b", "3", "4", "5"});
  run({"SADD", "c", "4", "6"});
  EXPECT_EQ(sorted(run_arr({"SINTER", "a", "b", "c"})), (strs{"4"}));
  EXPECT_EQ(sorted(run_arr({"SINTER", "a", "b"})), (strs{"3", "4"}));
  EXPECT_EQ(run({"SINTER", "a", "none"}), "*0\r\n");
  EXPECT_EQ(sorted(run_arr({"SUNION", "a", "b", "none"})), (strs{"1", "2", "3", "4", "5"}));
  EXPECT_EQ(sorted(run_arr({"SDIFF", "a", "b", "none"})), (strs{"1", "2"}));
  EXPECT_EQ(run({"SDIFF", "none", "a"}), "*0\r\n");
  run({"SET", "str", "x"});
  EXPECT_EQ(run({"SINTER", "a", "str"}), wrongtype);
  EXPECT_EQ(run({"SUNION", "str"}), wrongtype);
  EXPECT_EQ(run({"SDIFF", "a", "str"}), wrongtype);
}

}  // namespace
}  // namespace flex::redis::testing
