// Lazy and active expiry with a fake clock.
#include "test_util.h"

namespace flex::redis::testing {
namespace {

using expiry = engine_test;

TEST_F(expiry, lazy_on_access) {
  run({"SET", "k", "v", "PX", "100"});
  run({"RPUSH", "l", "a"});
  run({"PEXPIRE", "l", "100"});
  now += 99;
  EXPECT_EQ(run({"GET", "k"}), bulk("v"));
  EXPECT_EQ(run({"PTTL", "k"}), num(1));
  now += 1;
  EXPECT_EQ(run({"GET", "k"}), nil);
  EXPECT_EQ(run({"LLEN", "l"}), num(0));
  EXPECT_EQ(run({"TTL", "k"}), num(-2));
  EXPECT_EQ(eng->dbsize(0), 0u);
  // An expired key behaves as missing for writes too.
  run({"SET", "c", "5", "PX", "10"});
  now += 10;
  EXPECT_EQ(run({"INCR", "c"}), num(1));
  EXPECT_EQ(run({"TTL", "c"}), num(-1));
}

TEST_F(expiry, active_cycle_deletes_expired_keys) {
  for (int i = 0; i < 500; i++) run({"SET", "t:" + std::to_string(i), "v", "PX", "100"});
  for (int i = 0; i < 500; i++) run({"SET", "p:" + std::to_string(i), "v"});
  for (int i = 0; i < 100; i++) run({"SET", "long:" + std::to_string(i), "v", "EX", "1000"});
  EXPECT_EQ(eng->active_expire(now, 1000), 0u);
  now += 200;
  size_t total = 0;
  for (int round = 0; round < 200 && eng->dbsize(0) > 600; round++) total += eng->active_expire(now, 100);
  EXPECT_EQ(total, 500u);
  EXPECT_EQ(eng->dbsize(0), 600u);
  EXPECT_EQ(run({"EXISTS", "long:1", "p:1"}), num(2));
  std::string info = run({"INFO", "stats"});
  EXPECT_NE(info.find("expired_keys:500\r\n"), std::string::npos);
}

TEST_F(expiry, active_cycle_respects_budget_and_all_dbs) {
  for (int i = 0; i < 100; i++) run({"SET", "a" + std::to_string(i), "v", "PX", "1"});
  run({"SELECT", "5"});
  for (int i = 0; i < 100; i++) run({"SET", "b" + std::to_string(i), "v", "PX", "1"});
  now += 10;
  size_t first = eng->active_expire(now, 10);
  EXPECT_LE(first, 10u);
  EXPECT_GT(first, 0u);
  for (int round = 0; round < 100; round++) eng->active_expire(now, 50);
  EXPECT_EQ(eng->dbsize(0), 0u);
  EXPECT_EQ(eng->dbsize(5), 0u);
}

}  // namespace
}  // namespace flex::redis::testing
