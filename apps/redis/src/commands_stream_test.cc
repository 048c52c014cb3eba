// Stream commands (XADD, XLEN).
#include "test_util.h"

namespace flex::redis::testing {
namespace {

using streams = engine_test;

TEST_F(streams, xadd_ids) {
  EXPECT_EQ(run({"XLEN", "s"}), num(0));
  EXPECT_EQ(run({"XADD", "s", "5", "f", "v"}), bulk("5-0"));
  EXPECT_EQ(run({"XADD", "s", "5", "f", "v"}),
            err("ERR The ID specified in XADD is equal or smaller than the target stream top item"));
  EXPECT_EQ(run({"XADD", "s", "5-*", "f", "v"}), bulk("5-1"));
  EXPECT_EQ(run({"XADD", "s", "7-3", "f", "v"}), bulk("7-3"));
  EXPECT_EQ(run({"XADD", "s", "6-*", "f", "v"}),
            err("ERR The ID specified in XADD is equal or smaller than the target stream top item"));
  std::string ms = std::to_string(now);
  EXPECT_EQ(run({"XADD", "s", "*", "f", "v"}), bulk(ms + "-0"));
  EXPECT_EQ(run({"XADD", "s", "*", "f", "v", "g", "w"}), bulk(ms + "-1"));
  EXPECT_EQ(run({"XLEN", "s"}), num(5));
  EXPECT_EQ(run({"XADD", "t", "0-0", "f", "v"}), err("ERR The ID specified in XADD must be greater than 0-0"));
  EXPECT_EQ(run({"XADD", "t", "0-*", "f", "v"}), bulk("0-1"));
  EXPECT_EQ(run({"XADD", "t", "abc", "f", "v"}), err("ERR Invalid stream ID specified as stream command argument"));
  EXPECT_EQ(run({"XADD", "t", "*", "f"}), arity("xadd"));
  EXPECT_EQ(run({"XADD", "t", "*", "f", "v", "g"}), arity("xadd"));
  EXPECT_EQ(run({"XADD", "u", "NOMKSTREAM", "*", "f", "v"}), nil);
  EXPECT_EQ(run({"EXISTS", "u"}), num(0));
  run({"SET", "str", "v"});
  EXPECT_EQ(run({"XADD", "str", "*", "f", "v"}), wrongtype);
  EXPECT_EQ(run({"XLEN", "str"}), wrongtype);
}

TEST_F(streams, trimming) {
  for (int i = 1; i <= 10; i++) run({"XADD", "s", std::to_string(i), "f", "v"});
  EXPECT_EQ(run({"XADD", "s", "MAXLEN", "3", "*", "f", "v"})[0], '$');
  EXPECT_EQ(run({"XLEN", "s"}), num(3));
  EXPECT_EQ(run({"XADD", "s", "MAXLEN", "~", "2", "*", "f", "v"})[0], '$');
  EXPECT_EQ(run({"XLEN", "s"}), num(2));
  EXPECT_EQ(run({"XADD", "s", "MAXLEN", "-1", "*", "f", "v"}), err("ERR The MAXLEN argument must be >= 0."));
  EXPECT_EQ(run({"XADD", "s", "MAXLEN", "2", "LIMIT", "5", "*", "f", "v"}),
            err("ERR syntax error, LIMIT cannot be used without the special ~ option"));
  for (int i = 1; i <= 5; i++) run({"XADD", "m", std::to_string(i), "f", "v"});
  run({"XADD", "m", "MINID", "3", "6", "f", "v"});
  EXPECT_EQ(run({"XLEN", "m"}), num(4));
}

}  // namespace
}  // namespace flex::redis::testing
