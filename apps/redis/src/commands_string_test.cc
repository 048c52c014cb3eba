// String commands, replies compared byte for byte with Redis 7.0.
#include "test_util.h"

namespace flex::redis::testing {
namespace {

using strings = engine_test;

TEST_F(strings, get_set) {
  EXPECT_EQ(run({"GET", "k"}), nil);
  EXPECT_EQ(run({"SET", "k", "v"}), ok);
  EXPECT_EQ(run({"get", "k"}), bulk("v"));
  EXPECT_EQ(run({"GET"}), arity("get"));
  EXPECT_EQ(run({"GET", "a", "b"}), arity("get"));
  EXPECT_EQ(run({"SET", "k"}), arity("set"));
  run({"RPUSH", "l", "x"});
  EXPECT_EQ(run({"GET", "l"}), wrongtype);
  EXPECT_EQ(run({"SET", "l", "s"}), ok);  // SET replaces any type
  EXPECT_EQ(run({"GET", "l"}), bulk("s"));
}

TEST_F(strings, set_options) {
  EXPECT_EQ(run({"SET", "k", "v", "NX"}), ok);
  EXPECT_EQ(run({"SET", "k", "w", "NX"}), nil);
  EXPECT_EQ(run({"SET", "k", "w", "XX"}), ok);
  EXPECT_EQ(run({"SET", "n", "w", "XX"}), nil);
  EXPECT_EQ(run({"SET", "k", "x", "GET"}), bulk("w"));
  EXPECT_EQ(run({"SET", "new", "x", "GET"}), nil);
  EXPECT_EQ(run({"SET", "k", "y", "NX", "GET"}), bulk("x"));
  EXPECT_EQ(run({"GET", "k"}), bulk("x"));
  EXPECT_EQ(run({"SET", "k", "v", "NX", "XX"}), syntax);
  EXPECT_EQ(run({"SET", "k", "v", "EX"}), syntax);
  EXPECT_EQ(run({"SET", "k", "v", "EX", "10", "PX", "100"}), syntax);
  EXPECT_EQ(run({"SET", "k", "v", "KEEPTTL", "EX", "10"}), syntax);
  EXPECT_EQ(run({"SET", "k", "v", "FOO"}), syntax);
  EXPECT_EQ(run({"SET", "k", "v", "EX", "abc"}), not_int);
  EXPECT_EQ(run({"SET", "k", "v", "EX", "0"}), err("ERR invalid expire time in 'set' command"));
  EXPECT_EQ(run({"SET", "k", "v", "PX", "-5"}), err("ERR invalid expire time in 'set' command"));
  run({"RPUSH", "l", "x"});
  EXPECT_EQ(run({"SET", "l", "v", "GET"}), wrongtype);
}

TEST_F(strings, set_expiry_options) {
  EXPECT_EQ(run({"SET", "k", "v", "EX", "10"}), ok);
  EXPECT_EQ(run({"PTTL", "k"}), num(10000));
  EXPECT_EQ(run({"SET", "k", "v", "px", "1500"}), ok);
  EXPECT_EQ(run({"PTTL", "k"}), num(1500));
  EXPECT_EQ(run({"SET", "k", "v", "KEEPTTL"}), ok);
  EXPECT_EQ(run({"PTTL", "k"}), num(1500));
  EXPECT_EQ(run({"SET", "k", "v"}), ok);
  EXPECT_EQ(run({"PTTL", "k"}), num(-1));
  EXPECT_EQ(run({"SET", "k", "v", "EXAT", std::to_string(now / 1000 + 100)}), ok);
  EXPECT_EQ(run({"TTL", "k"}), num(100));
  EXPECT_EQ(run({"SET", "k", "v", "PXAT", std::to_string(now + 250)}), ok);
  EXPECT_EQ(run({"PTTL", "k"}), num(250));
  EXPECT_EQ(run({"SET", "k", "v", "PXAT", "1"}), ok);  // already in the past
  EXPECT_EQ(run({"EXISTS", "k"}), num(0));
}

TEST_F(strings, setnx_setex_psetex_getset) {
  EXPECT_EQ(run({"SETNX", "k", "a"}), num(1));
  EXPECT_EQ(run({"SETNX", "k", "b"}), num(0));
  EXPECT_EQ(run({"GET", "k"}), bulk("a"));
  EXPECT_EQ(run({"SETEX", "k", "5", "b"}), ok);
  EXPECT_EQ(run({"TTL", "k"}), num(5));
  EXPECT_EQ(run({"SETEX", "k", "0", "b"}), err("ERR invalid expire time in 'setex' command"));
  EXPECT_EQ(run({"SETEX", "k", "x", "b"}), not_int);
  EXPECT_EQ(run({"PSETEX", "k", "700", "c"}), ok);
  EXPECT_EQ(run({"PTTL", "k"}), num(700));
  EXPECT_EQ(run({"PSETEX", "k", "-1", "c"}), err("ERR invalid expire time in 'psetex' command"));
  EXPECT_EQ(run({"GETSET", "k", "d"}), bulk("c"));
  EXPECT_EQ(run({"PTTL", "k"}), num(-1));
  EXPECT_EQ(run({"GETSET", "n", "d"}), nil);
  run({"SADD", "s", "m"});
  EXPECT_EQ(run({"GETSET", "s", "d"}), wrongtype);
}

TEST_F(strings, mget_mset) {
  EXPECT_EQ(run({"MSET", "a", "1", "b", "2"}), ok);
  run({"LPUSH", "l", "x"});
  EXPECT_EQ(run({"MGET", "a", "nope", "b", "l"}), "*4\r\n" + bulk("1") + nil + bulk("2") + nil);
  EXPECT_EQ(run({"MSET", "a", "1", "b"}), arity("mset"));
  EXPECT_EQ(run({"MGET"}), arity("mget"));
}

TEST_F(strings, counters) {
  EXPECT_EQ(run({"INCR", "c"}), num(1));
  EXPECT_EQ(run({"INCRBY", "c", "10"}), num(11));
  EXPECT_EQ(run({"DECR", "c"}), num(10));
  EXPECT_EQ(run({"DECRBY", "c", "20"}), num(-10));
  EXPECT_EQ(run({"INCRBY", "c", "x"}), not_int);
  run({"SET", "s", "abc"});
  EXPECT_EQ(run({"INCR", "s"}), not_int);
  run({"SET", "s", " 1"});
  EXPECT_EQ(run({"INCR", "s"}), not_int);
  run({"SET", "m", "9223372036854775807"});
  EXPECT_EQ(run({"INCR", "m"}), err("ERR increment or decrement would overflow"));
  run({"SET", "m", "-9223372036854775808"});
  EXPECT_EQ(run({"DECR", "m"}), err("ERR increment or decrement would overflow"));
  EXPECT_EQ(run({"DECRBY", "m", "-9223372036854775808"}), err("ERR decrement would overflow"));
  run({"LPUSH", "l", "x"});
  EXPECT_EQ(run({"INCR", "l"}), wrongtype);
  run({"SET", "t", "5", "EX", "100"});
  run({"INCR", "t"});
  EXPECT_EQ(run({"TTL", "t"}), num(100));  // INCR keeps the TTL
}

TEST_F(strings, incrbyfloat) {
  EXPECT_EQ(run({"INCRBYFLOAT", "f", "10.5"}), bulk("10.5"));
  EXPECT_EQ(run({"INCRBYFLOAT", "f", "0.1"}), bulk("10.6"));
  EXPECT_EQ(run({"INCRBYFLOAT", "f", "-5.6"}), bulk("5"));
  EXPECT_EQ(run({"INCRBYFLOAT", "f", "5.0e3"}), bulk("5005"));
  EXPECT_EQ(run({"INCRBYFLOAT", "f", "abc"}), err("ERR value is not a valid float"));
  EXPECT_EQ(run({"INCRBYFLOAT", "f", "inf"}), err("ERR increment would produce NaN or Infinity"));
  run({"SET", "s", "x"});
  EXPECT_EQ(run({"INCRBYFLOAT", "s", "1"}), err("ERR value is not a valid float"));
  EXPECT_EQ(run({"GET", "f"}), bulk("5005"));
}

TEST_F(strings, append_strlen) {
  EXPECT_EQ(run({"APPEND", "k", "ab"}), num(2));
  EXPECT_EQ(run({"APPEND", "k", "cd"}), num(4));
  EXPECT_EQ(run({"STRLEN", "k"}), num(4));
  EXPECT_EQ(run({"STRLEN", "none"}), num(0));
  run({"SADD", "s", "m"});
  EXPECT_EQ(run({"APPEND", "s", "x"}), wrongtype);
  EXPECT_EQ(run({"STRLEN", "s"}), wrongtype);
}

TEST_F(strings, getrange_setrange) {
  run({"SET", "k", "Hello World"});
  EXPECT_EQ(run({"GETRANGE", "k", "0", "4"}), bulk("Hello"));
  EXPECT_EQ(run({"GETRANGE", "k", "-5", "-1"}), bulk("World"));
  EXPECT_EQ(run({"GETRANGE", "k", "-1", "-5"}), bulk(""));
  EXPECT_EQ(run({"GETRANGE", "k", "0", "100"}), bulk("Hello World"));
  EXPECT_EQ(run({"GETRANGE", "k", "5", "2"}), bulk(""));
  EXPECT_EQ(run({"GETRANGE", "none", "0", "1"}), bulk(""));
  EXPECT_EQ(run({"GETRANGE", "k", "a", "1"}), not_int);
  EXPECT_EQ(run({"SETRANGE", "k", "6", "Redis"}), num(11));
  EXPECT_EQ(run({"GET", "k"}), bulk("Hello Redis"));
  EXPECT_EQ(run({"SETRANGE", "p", "3", "x"}), num(4));
  EXPECT_EQ(run({"GET", "p"}), bulk(std::string("\0\0\0x", 4)));
  EXPECT_EQ(run({"SETRANGE", "q", "3", ""}), num(0));
  EXPECT_EQ(run({"EXISTS", "q"}), num(0));
  EXPECT_EQ(run({"SETRANGE", "k", "-1", "x"}), err("ERR offset is out of range"));
  EXPECT_EQ(run({"SETRANGE", "k", "536870911", "xx"}), err("ERR string exceeds maximum allowed size (proto-max-bulk-len)"));
}

}  // namespace
}  // namespace flex::redis::testing
