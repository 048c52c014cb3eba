// Server and connection commands, dispatch, and feed().
#include "test_util.h"

namespace flex::redis::testing {
namespace {

using server = engine_test;

TEST_F(server, ping_echo_quit) {
  EXPECT_EQ(run({"PING"}), simple("PONG"));
  EXPECT_EQ(run({"ping", "hi"}), bulk("hi"));
  EXPECT_EQ(run({"PING", "a", "b"}), arity("ping"));
  EXPECT_EQ(run({"ECHO", "x y"}), bulk("x y"));
  EXPECT_EQ(run({"ECHO"}), arity("echo"));
  EXPECT_FALSE(client.close_after_reply);
  EXPECT_EQ(run({"QUIT"}), ok);
  EXPECT_TRUE(client.close_after_reply);
}

TEST_F(server, unknown_command) {
  EXPECT_EQ(run({"foo", "a", "b"}), err("ERR unknown command 'foo', with args beginning with: 'a' 'b' "));
  EXPECT_EQ(run({"foo"}), err("ERR unknown command 'foo', with args beginning with: "));
  std::string long_arg(200, 'x');
  std::string r = run({"foo", long_arg, "b"});
  EXPECT_EQ(r, err("ERR unknown command 'foo', with args beginning with: '" + std::string(128, 'x') + "' "));
  EXPECT_EQ(run({"GeT", "k"}), nil);  // names are case-insensitive
}

TEST_F(server, select_dbsize_flush) {
  run({"SET", "a", "1"});
  EXPECT_EQ(run({"DBSIZE"}), num(1));
  EXPECT_EQ(run({"SELECT", "1"}), ok);
  EXPECT_EQ(run({"DBSIZE"}), num(0));
  EXPECT_EQ(run({"GET", "a"}), nil);
  run({"SET", "b", "2"});
  EXPECT_EQ(run({"SELECT", "16"}), err("ERR DB index is out of range"));
  EXPECT_EQ(run({"SELECT", "-1"}), err("ERR DB index is out of range"));
  EXPECT_EQ(run({"SELECT", "x"}), not_int);
  EXPECT_EQ(run({"SELECT", "99999999999"}), not_int);
  EXPECT_EQ(run({"FLUSHDB", "x"}), syntax);
  EXPECT_EQ(run({"FLUSHDB"}), ok);
  EXPECT_EQ(run({"DBSIZE"}), num(0));
  EXPECT_EQ(run({"SELECT", "0"}), ok);
  EXPECT_EQ(run({"DBSIZE"}), num(1));
  run({"SELECT", "3"});
  run({"SET", "c", "3"});
  EXPECT_EQ(run({"FLUSHALL", "ASYNC"}), ok);
  EXPECT_EQ(eng->dbsize(0) + eng->dbsize(3), 0u);
}

TEST_F(server, info) {
  cfg.stats = [] {
    server_stats s;
    s.connected_clients = 7;
    s.used_memory = 3 * 1024 * 1024;
    s.mem_allocator = "tlsf";
    s.process_id = 4242;
    return s;
  };
  make_engine();
  run({"SET", "a", "1"});
  run({"SET", "b", "1", "EX", "100"});
  std::string r = run({"INFO"});
  EXPECT_NE(r.find("# Server\r\nredis_version:"), std::string::npos);
  EXPECT_NE(r.find("connected_clients:7\r\n"), std::string::npos);
  EXPECT_NE(r.find("used_memory:3145728\r\nused_memory_human:3.00M\r\n"), std::string::npos);
  EXPECT_NE(r.find("mem_allocator:tlsf\r\n"), std::string::npos);
  EXPECT_NE(r.find("process_id:4242\r\n"), std::string::npos);
  EXPECT_NE(r.find("db0:keys=2,expires=1,avg_ttl=0"), std::string::npos);
  EXPECT_NE(r.find("total_commands_processed:"), std::string::npos);
  std::string k = run({"INFO", "keyspace"});
  EXPECT_EQ(k, bulk("# Keyspace\r\ndb0:keys=2,expires=1,avg_ttl=0\r\n"));
  std::string two = run({"INFO", "clients", "MEMORY"});
  EXPECT_NE(two.find("# Clients"), std::string::npos);
  EXPECT_NE(two.find("\r\n\r\n# Memory"), std::string::npos);
  EXPECT_EQ(two.find("# Server"), std::string::npos);
  EXPECT_EQ(run({"INFO", "nosuch"}), bulk(""));
}

// instantaneous_ops_per_sec: the mean of the last 16 per-tick rates, as in Redis.
TEST_F(server, instantaneous_ops_per_sec) {
  auto ops = [this] {
    std::string r = run({"INFO", "stats"});
    size_t at = r.find("instantaneous_ops_per_sec:");
    return r.substr(at + 26, r.find('\r', at) - at - 26);
  };
  EXPECT_EQ(ops(), "0");
  eng->sample_ops(now);
  for (int tick = 0; tick < 16; tick++) {
    for (int i = 0; i < 50; i++) run({"PING"});  // 500 commands/s (the INFO at tick 7 adds 10/s to tick 8)
    now += 100;
    eng->sample_ops(now);
    if (tick == 7) EXPECT_EQ(ops(), "250");  // half of the samples at 500/s
  }
  EXPECT_EQ(ops(), "500");
  run({"CONFIG", "RESETSTAT"});  // the count restarts at 0: the next rate is not a wrap-around
  now += 100;
  eng->sample_ops(now);
  EXPECT_LE(std::stoull(ops()), 500u);
}

TEST_F(server, shutdown) {
  EXPECT_EQ(run({"SHUTDOWN", "NOSAVE", "SAVE"}), syntax);
  EXPECT_EQ(run({"SHUTDOWN", "LATER"}), syntax);
  EXPECT_EQ(run({"SHUTDOWN", "ABORT", "NOW"}), syntax);
  EXPECT_EQ(run({"SHUTDOWN", "ABORT"}), err("ERR No shutdown in progress."));
  EXPECT_FALSE(eng->shutdown_requested());
  // A save that fails stops nothing, unless FORCE says so.
  cfg.dir = "/nonexistent-flex-dir";
  make_engine();
  EXPECT_EQ(run({"SHUTDOWN", "SAVE"}), err("ERR Errors trying to SHUTDOWN. Check logs."));
  EXPECT_FALSE(eng->shutdown_requested());
  EXPECT_FALSE(client.close_after_reply);
  EXPECT_EQ(run({"SHUTDOWN", "SAVE", "FORCE"}), "");
  EXPECT_TRUE(eng->shutdown_requested());
  EXPECT_TRUE(client.close_after_reply);
  // Without save points, a plain SHUTDOWN does not save (so the missing folder does not matter).
  make_engine();
  EXPECT_EQ(run({"SHUTDOWN"}), "");
  EXPECT_TRUE(eng->shutdown_requested());
}

TEST_F(server, config_get_set) {
  EXPECT_EQ(run({"CONFIG", "GET", "save"}), arr({"save", ""}));
  EXPECT_EQ(run({"CONFIG", "GET", "appendonly"}), arr({"appendonly", "no"}));
  EXPECT_EQ(run({"CONFIG", "GET", "databases"}), arr({"databases", "16"}));
  EXPECT_EQ(run({"CONFIG", "GET", "MAXMEM*"}), arr({"maxmemory", "0", "maxmemory-policy", "noeviction"}));
  EXPECT_EQ(run({"CONFIG", "GET", "port", "bind"}), arr({"port", "6379", "bind", "* -::*"}));
  EXPECT_EQ(run({"CONFIG", "GET", "nosuch"}), "*0\r\n");
  EXPECT_EQ(run({"CONFIG", "GET"}), arity("config|get"));
  EXPECT_EQ(run({"CONFIG", "SET", "maxmemory"}), arity("config|set"));
  EXPECT_EQ(run({"CONFIG", "SET", "maxmemory", "100mb"}), ok);
  EXPECT_EQ(run({"CONFIG", "GET", "maxmemory"}), arr({"maxmemory", "104857600"}));
  EXPECT_EQ(run({"CONFIG", "SET", "maxmemory", "abc"}),
            err("ERR CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be a memory value"));
  EXPECT_EQ(run({"CONFIG", "SET", "foo", "bar"}), err("ERR Unknown option or number of arguments for CONFIG SET - 'foo'"));
  EXPECT_EQ(run({"CONFIG", "SET", "databases", "3"}),
            err("ERR CONFIG SET failed (possibly related to argument 'databases') - can't set immutable config"));
  EXPECT_EQ(run({"CONFIG", "SET", "maxclients", "abc"}),
            err("ERR CONFIG SET failed (possibly related to argument 'maxclients') - argument couldn't be parsed into an integer"));
  EXPECT_EQ(run({"CONFIG", "SET", "save", "", "appendonly"}), syntax);
  EXPECT_EQ(run({"CONFIG", "SET", "save", "", "appendonly", "yes"}), ok);
  EXPECT_EQ(run({"CONFIG", "GET", "appendonly"}), arr({"appendonly", "yes"}));
  // A failing pair leaves the earlier pairs unapplied.
  EXPECT_EQ(run({"CONFIG", "SET", "maxclients", "5", "port", "x"})[0], '-');
  EXPECT_EQ(run({"CONFIG", "GET", "maxclients"}), arr({"maxclients", "10000"}));
  EXPECT_EQ(run({"CONFIG", "FOO"}), err("ERR unknown subcommand 'FOO'. Try CONFIG HELP."));
  EXPECT_EQ(run({"CONFIG", "REWRITE"}), err("ERR The server is running without a config file"));
}

// Redis's testing knob, with Redis's replies: a hidden integer parameter (an exact name finds it, a
// pattern never does) that takes any int, given as Redis's strict integers.
TEST_F(server, rdb_key_save_delay_is_a_hidden_int_config) {
  EXPECT_EQ(run({"CONFIG", "GET", "rdb-key-save-delay"}), arr({"rdb-key-save-delay", "0"}));
  EXPECT_EQ(run({"CONFIG", "GET", "RDB-Key-Save-Delay"}), arr({"RDB-Key-Save-Delay", "0"}));
  EXPECT_EQ(run({"CONFIG", "GET", "rdb-key*"}), "*0\r\n");
  const std::vector<std::string> all = run_arr({"CONFIG", "GET", "*"});
  EXPECT_FALSE(all.empty());
  EXPECT_EQ(std::count(all.begin(), all.end(), "rdb-key-save-delay"), 0) << "listed by CONFIG GET *";
  EXPECT_EQ(eng->config().rdb_key_save_delay, 0);

  EXPECT_EQ(run({"CONFIG", "SET", "rdb-key-save-delay", "1000"}), ok);
  EXPECT_EQ(run({"CONFIG", "GET", "rdb-key-save-delay"}), arr({"rdb-key-save-delay", "1000"}));
  EXPECT_EQ(eng->config().rdb_key_save_delay, 1000);
  EXPECT_EQ(run({"CONFIG", "SET", "RDB-KEY-SAVE-DELAY", "-5"}), ok);
  EXPECT_EQ(run({"CONFIG", "GET", "rdb-key-save-delay"}), arr({"rdb-key-save-delay", "-5"}));
  EXPECT_EQ(run({"CONFIG", "SET", "rdb-key-save-delay", "-2147483648"}), ok);
  EXPECT_EQ(run({"CONFIG", "SET", "rdb-key-save-delay", "2147483647"}), ok);
  EXPECT_EQ(run({"CONFIG", "GET", "rdb-key-save-delay"}), arr({"rdb-key-save-delay", "2147483647"}));

  const std::string range = err(
      "ERR CONFIG SET failed (possibly related to argument 'rdb-key-save-delay') - argument must be between "
      "-2147483648 and 2147483647 inclusive");
  EXPECT_EQ(run({"CONFIG", "SET", "rdb-key-save-delay", "2147483648"}), range);
  EXPECT_EQ(run({"CONFIG", "SET", "rdb-key-save-delay", "-2147483649"}), range);
  const std::string not_an_int = err(
      "ERR CONFIG SET failed (possibly related to argument 'rdb-key-save-delay') - argument couldn't be parsed "
      "into an integer");
  for (std::string_view bad : {"abc", "1k", "1.5", "", "+7", "007", "-0", " 5", "0x10", "9223372036854775808"}) {
    EXPECT_EQ(run({"CONFIG", "SET", "rdb-key-save-delay", bad}), not_an_int) << "value '" << bad << "'";
  }
  EXPECT_EQ(run({"CONFIG", "GET", "rdb-key-save-delay"}), arr({"rdb-key-save-delay", "2147483647"}));
  // A refused pair leaves the delay as it was.
  EXPECT_EQ(run({"CONFIG", "SET", "rdb-key-save-delay", "0", "maxclients", "0"})[0], '-');
  EXPECT_EQ(eng->config().rdb_key_save_delay, 2147483647);
  EXPECT_EQ(run({"CONFIG", "SET", "rdb-key-save-delay", "0"}), ok);
  EXPECT_EQ(eng->config().rdb_key_save_delay, 0);
}

TEST_F(server, proto_max_bulk_len_reaches_the_parser) {
  EXPECT_EQ(run({"CONFIG", "SET", "proto-max-bulk-len", "2mb"}), ok);
  reply_buffer out;
  EXPECT_TRUE(eng->feed(client, "*2\r\n$4\r\nECHO\r\n$3000000\r\n", out));
  EXPECT_EQ(out.data(), err("ERR Protocol error: invalid bulk length"));
}

TEST_F(server, command) {
  std::string count = run({"COMMAND", "COUNT"});
  ASSERT_EQ(count[0], ':');
  EXPECT_GT(std::stoi(count.substr(1)), 100);
  EXPECT_EQ(run({"COMMAND", "COUNT", "x"}), arity("command|count"));
  EXPECT_EQ(run({"COMMAND", "DOCS"}), "*0\r\n");
  EXPECT_EQ(run({"COMMAND", "DOCS", "get"}), "*0\r\n");
  std::string info = run({"COMMAND", "INFO", "get", "nosuch"});
  EXPECT_EQ(info.substr(0, 4), "*2\r\n");
  EXPECT_NE(info.find("*10\r\n$3\r\nget\r\n:2\r\n*2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n"), std::string::npos);
  EXPECT_EQ(info.substr(info.size() - 5), nil);
  EXPECT_EQ(run({"COMMAND"}).substr(0, 1), "*");
  EXPECT_EQ(run({"COMMAND", "FOO"}), err("ERR unknown subcommand 'FOO'. Try COMMAND HELP."));
}

TEST_F(server, feed_pipelines_and_closes) {
  reply_buffer out;
  std::string bytes;
  for (int i = 0; i < 1000; i++) bytes += "*3\r\n$5\r\nRPUSH\r\n$1\r\nl\r\n$1\r\nx\r\n";
  EXPECT_FALSE(eng->feed(client, bytes, out));
  EXPECT_EQ(run({"LLEN", "l"}), num(1000));
  out.clear();
  // Partial frame: nothing runs until the rest arrives.
  EXPECT_FALSE(eng->feed(client, "*2\r\n$3\r\nGET\r\n$1\r", out));
  EXPECT_EQ(out.data(), "");
  EXPECT_FALSE(eng->feed(client, "\nk\r\nPING\r\n", out));
  EXPECT_EQ(out.data(), nil + simple("PONG"));
  out.clear();
  // Nothing after QUIT runs.
  EXPECT_TRUE(eng->feed(client, "PING\r\nQUIT\r\nSET after 1\r\n", out));
  EXPECT_EQ(out.data(), simple("PONG") + ok);
  EXPECT_EQ(run({"EXISTS", "after"}), num(0));
}

TEST_F(server, feed_protocol_error_closes) {
  reply_buffer out;
  EXPECT_TRUE(eng->feed(client, "PING\r\n*1\r\nx\r\n", out));
  EXPECT_EQ(out.data(), simple("PONG") + err("ERR Protocol error: expected '$', got 'x'"));
}

TEST_F(server, save_lastsave) {
  cfg.dir = ::testing::TempDir();
  cfg.dbfilename = "server_test.flexdb";
  make_engine();
  EXPECT_EQ(run({"LASTSAVE"}), num(now / 1000));
  now += 5000;
  run({"SET", "a", "1"});
  EXPECT_EQ(run({"SAVE"}), ok);
  EXPECT_EQ(run({"LASTSAVE"}), num(now / 1000));
  EXPECT_EQ(run({"BGSAVE"}), simple("Background saving started"));
  EXPECT_EQ(run({"BGSAVE", "x"}), syntax);
}

}  // namespace
}  // namespace flex::redis::testing
