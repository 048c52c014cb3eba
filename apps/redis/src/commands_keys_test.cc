// Generic key commands.
#include <set>

#include "test_util.h"

namespace flex::redis::testing {
namespace {

using keys = engine_test;

TEST_F(keys, del_exists_type) {
  run({"MSET", "a", "1", "b", "2"});
  run({"RPUSH", "l", "x"});
  run({"HSET", "h", "f", "v"});
  run({"SADD", "s", "m"});
  run({"ZADD", "z", "1", "m"});
  run({"XADD", "x", "*", "f", "v"});
  EXPECT_EQ(run({"EXISTS", "a", "a", "nope", "b"}), num(3));
  EXPECT_EQ(run({"TYPE", "a"}), simple("string"));
  EXPECT_EQ(run({"TYPE", "l"}), simple("list"));
  EXPECT_EQ(run({"TYPE", "h"}), simple("hash"));
  EXPECT_EQ(run({"TYPE", "s"}), simple("set"));
  EXPECT_EQ(run({"TYPE", "z"}), simple("zset"));
  EXPECT_EQ(run({"TYPE", "x"}), simple("stream"));
  EXPECT_EQ(run({"TYPE", "nope"}), simple("none"));
  EXPECT_EQ(run({"DEL", "a", "b", "nope"}), num(2));
  EXPECT_EQ(run({"DEL"}), arity("del"));
  EXPECT_EQ(run({"EXISTS", "a"}), num(0));
}

TEST_F(keys, expire_ttl_persist) {
  EXPECT_EQ(run({"EXPIRE", "k", "10"}), num(0));
  run({"SET", "k", "v"});
  EXPECT_EQ(run({"TTL", "k"}), num(-1));
  EXPECT_EQ(run({"TTL", "nope"}), num(-2));
  EXPECT_EQ(run({"PTTL", "nope"}), num(-2));
  EXPECT_EQ(run({"EXPIRE", "k", "10"}), num(1));
  EXPECT_EQ(run({"TTL", "k"}), num(10));
  EXPECT_EQ(run({"PEXPIRE", "k", "2500"}), num(1));
  EXPECT_EQ(run({"PTTL", "k"}), num(2500));
  EXPECT_EQ(run({"TTL", "k"}), num(3));  // rounded like Redis
  EXPECT_EQ(run({"PERSIST", "k"}), num(1));
  EXPECT_EQ(run({"PERSIST", "k"}), num(0));
  EXPECT_EQ(run({"TTL", "k"}), num(-1));
  EXPECT_EQ(run({"EXPIRE", "k", "abc"}), not_int);
  EXPECT_EQ(run({"EXPIRE", "k", "10", "foo"}), err("ERR Unsupported option foo"));
  EXPECT_EQ(run({"EXPIRE", "k", "abc", "foo"}), err("ERR Unsupported option foo"));  // options come first
  EXPECT_EQ(run({"EXPIRE", "k", "abc", "nx", "gt"}),
            err("ERR NX and XX, GT or LT options at the same time are not compatible"));
  EXPECT_EQ(run({"EXPIRE", "k", "10", "nx", "xx"}),
            err("ERR NX and XX, GT or LT options at the same time are not compatible"));
  EXPECT_EQ(run({"EXPIRE", "k", "10", "gt", "lt"}), err("ERR GT and LT options at the same time are not compatible"));
  EXPECT_EQ(run({"EXPIRE", "k", "9223372036854775807"}), err("ERR invalid expire time in 'expire' command"));
  EXPECT_EQ(run({"EXPIRE", "k", "10", "XX"}), num(0));
  EXPECT_EQ(run({"EXPIRE", "k", "10", "GT"}), num(0));
  EXPECT_EQ(run({"EXPIRE", "k", "10", "NX"}), num(1));
  EXPECT_EQ(run({"EXPIRE", "k", "20", "NX"}), num(0));
  EXPECT_EQ(run({"EXPIRE", "k", "5", "GT"}), num(0));
  EXPECT_EQ(run({"EXPIRE", "k", "20", "GT"}), num(1));
  EXPECT_EQ(run({"EXPIRE", "k", "30", "LT"}), num(0));
  EXPECT_EQ(run({"EXPIRE", "k", "15", "LT"}), num(1));
  EXPECT_EQ(run({"TTL", "k"}), num(15));
  EXPECT_EQ(run({"EXPIRE", "k", "-1"}), num(1));  // a time in the past deletes the key
  EXPECT_EQ(run({"EXISTS", "k"}), num(0));
  run({"SET", "k", "v"});
  EXPECT_EQ(run({"EXPIREAT", "k", std::to_string(now / 1000 + 50)}), num(1));
  EXPECT_EQ(run({"TTL", "k"}), num(50));
  EXPECT_EQ(run({"PEXPIREAT", "k", std::to_string(now + 70)}), num(1));
  EXPECT_EQ(run({"PTTL", "k"}), num(70));
}

TEST_F(keys, keys_glob) {
  run({"MSET", "hello", "1", "hallo", "2", "hxllo", "3", "world", "4"});
  EXPECT_EQ(sorted(run_arr({"KEYS", "h?llo"})), (std::vector<std::string>{"hallo", "hello", "hxllo"}));
  EXPECT_EQ(sorted(run_arr({"KEYS", "h[ae]llo"})), (std::vector<std::string>{"hallo", "hello"}));
  EXPECT_EQ(sorted(run_arr({"KEYS", "*"})).size(), 4u);
  EXPECT_EQ(run({"KEYS", "nomatch*"}), "*0\r\n");
  run({"PEXPIRE", "world", "1"});
  now += 5;
  EXPECT_EQ(run_arr({"KEYS", "w*"}).size(), 0u);
}

TEST_F(keys, rename) {
  EXPECT_EQ(run({"RENAME", "a", "b"}), err("ERR no such key"));
  run({"SET", "a", "1", "EX", "100"});
  run({"SET", "b", "old"});
  EXPECT_EQ(run({"RENAME", "a", "b"}), ok);
  EXPECT_EQ(run({"GET", "b"}), bulk("1"));
  EXPECT_EQ(run({"TTL", "b"}), num(100));
  EXPECT_EQ(run({"EXISTS", "a"}), num(0));
  EXPECT_EQ(run({"RENAME", "b", "b"}), ok);
  run({"SET", "c", "x"});
  EXPECT_EQ(run({"RENAMENX", "b", "c"}), num(0));
  EXPECT_EQ(run({"RENAMENX", "b", "d"}), num(1));
}

TEST_F(keys, randomkey) {
  EXPECT_EQ(run({"RANDOMKEY"}), nil);
  run({"MSET", "a", "1", "b", "2", "c", "3"});
  std::set<std::string> seen;
  for (int i = 0; i < 200; i++) {
    std::string r = run({"RANDOMKEY"});
    ASSERT_EQ(r.substr(0, 4), "$1\r\n");
    seen.insert(r.substr(4, 1));
  }
  EXPECT_EQ(seen, (std::set<std::string>{"a", "b", "c"}));
  run({"PEXPIRE", "a", "1"});
  run({"PEXPIRE", "b", "1"});
  run({"PEXPIRE", "c", "1"});
  now += 10;
  EXPECT_EQ(run({"RANDOMKEY"}), nil);
}

TEST_F(keys, scan_options_and_errors) {
  for (int i = 0; i < 50; i++) run({"SET", "key:" + std::to_string(i), "v"});
  run({"RPUSH", "list", "x"});
  EXPECT_EQ(run({"SCAN", "abc"}), err("ERR invalid cursor"));
  EXPECT_EQ(run({"SCAN", "0", "COUNT", "0"}), syntax);
  EXPECT_EQ(run({"SCAN", "0", "COUNT", "x"}), not_int);
  EXPECT_EQ(run({"SCAN", "0", "FOO", "1"}), syntax);
  EXPECT_EQ(run({"SCAN", "0", "MATCH"}), syntax);
  std::set<std::string> all, lists, matched;
  for (auto [opts, dst] : {std::pair{std::vector<std::string>{}, &all},
                           std::pair{std::vector<std::string>{"TYPE", "list"}, &lists},
                           std::pair{std::vector<std::string>{"MATCH", "key:1*", "COUNT", "3"}, &matched}}) {
    std::string cursor = "0";
    int rounds = 0;
    do {
      std::vector<std::string> argv = {"SCAN", cursor};
      argv.insert(argv.end(), opts.begin(), opts.end());
      std::string r = run_v(argv);
      // *2 $n cursor *m keys...
      size_t p = r.find("\r\n", 4);
      size_t q = r.find("\r\n", p + 2);
      cursor = r.substr(p + 2, q - p - 2);
      for (auto& k : decode_array(r.substr(q + 2))) dst->insert(k);
      ASSERT_LT(++rounds, 1000);
    } while (cursor != "0");
  }
  EXPECT_EQ(all.size(), 51u);
  EXPECT_EQ(lists, (std::set<std::string>{"list"}));
  EXPECT_EQ(matched.size(), 11u);  // key:1 and key:10..19
}

class scanning : public engine_test {
 protected:
  // One SCAN page: adds the keys it returned to `seen` and returns the next cursor.
  std::string scan_page(const std::string &cursor, std::set<std::string> &seen) {
    std::string r = run({"SCAN", cursor, "COUNT", "20"});
    size_t p = r.find("\r\n", 4);
    size_t q = r.find("\r\n", p + 2);
    for (auto &k : decode_array(r.substr(q + 2))) seen.insert(k);
    return r.substr(p + 2, q - p - 2);
  }
};

// Every key present for the whole scan is returned even while the table grows under it.
TEST_F(scanning, covers_all_keys_while_adding) {
  for (int i = 0; i < 1000; i++) run({"SET", "orig:" + std::to_string(i), "v"});
  std::set<std::string> seen;
  std::string cursor = "0";
  int added = 0;
  do {
    cursor = scan_page(cursor, seen);
    for (int j = 0; j < 50; j++) run({"SET", "new:" + std::to_string(added++), "v"});
  } while (cursor != "0");
  for (int i = 0; i < 1000; i++) EXPECT_TRUE(seen.count("orig:" + std::to_string(i))) << i;
  EXPECT_GT(added, 1000);
}

TEST_F(scanning, covers_all_keys_while_deleting) {
  for (int i = 0; i < 2000; i++) run({"SET", "k:" + std::to_string(i), "v"});
  std::set<std::string> seen;
  std::string cursor = "0";
  int next_del = 1000;
  do {
    cursor = scan_page(cursor, seen);
    for (int j = 0; j < 40 && next_del < 2000; j++) run({"DEL", "k:" + std::to_string(next_del++)});
  } while (cursor != "0");
  for (int i = 0; i < 1000; i++) EXPECT_TRUE(seen.count("k:" + std::to_string(i))) << i;
}

}  // namespace
}  // namespace flex::redis::testing
