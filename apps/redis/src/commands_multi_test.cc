// Transactions (MULTI, EXEC, DISCARD, WATCH, UNWATCH) and the connection commands (CLIENT, HELLO, AUTH).
#include "test_util.h"

namespace flex::redis::testing {
namespace {

using transactions = engine_test;

TEST_F(transactions, exec_runs_the_queue_in_order_with_each_reply) {
  EXPECT_EQ(run({"MULTI"}), ok);
  EXPECT_EQ(run({"SET", "a", "1"}), "+QUEUED\r\n");
  EXPECT_EQ(run({"INCR", "a"}), "+QUEUED\r\n");
  EXPECT_EQ(run({"LPUSH", "a", "x"}), "+QUEUED\r\n");  // fails only when it runs
  EXPECT_EQ(run({"GET", "a"}), "+QUEUED\r\n");
  EXPECT_EQ(run({"EXEC"}), "*4\r\n+OK\r\n:2\r\n" + wrongtype + bulk("2"));
  EXPECT_EQ(run({"EXEC"}), err("ERR EXEC without MULTI"));
  EXPECT_EQ(run({"DISCARD"}), err("ERR DISCARD without MULTI"));
}

TEST_F(transactions, a_command_refused_while_queued_aborts_exec) {
  run({"MULTI"});
  EXPECT_EQ(run({"MULTI"}), err("ERR MULTI calls can not be nested"));  // not queued, not fatal
  EXPECT_EQ(run({"SET", "a", "1"}), "+QUEUED\r\n");
  EXPECT_EQ(run({"GET"}), arity("get"));
  EXPECT_EQ(run({"EXEC"}), err("EXECABORT Transaction discarded because of previous errors."));
  EXPECT_EQ(run({"EXISTS", "a"}), num(0));
  run({"MULTI"});
  EXPECT_EQ(run({"NOSUCHCOMMAND"}), err("ERR unknown command 'NOSUCHCOMMAND', with args beginning with: "));
  EXPECT_EQ(run({"EXEC"}), err("EXECABORT Transaction discarded because of previous errors."));
  run({"MULTI"});
  EXPECT_EQ(run({"EXEC", "x"}), err("EXECABORT Transaction discarded because of: wrong number of arguments for 'exec' command"));
  EXPECT_EQ(run({"EXEC"}), err("ERR EXEC without MULTI"));
}

TEST_F(transactions, discard_drops_the_queue_and_the_watches) {
  run({"WATCH", "a"});
  run({"MULTI"});
  run({"SET", "a", "1"});
  EXPECT_EQ(run({"WATCH", "b"}), err("ERR WATCH inside MULTI is not allowed"));
  EXPECT_EQ(run({"DISCARD"}), ok);
  EXPECT_EQ(run({"EXISTS", "a"}), num(0));
  run({"SET", "a", "2"});  // no longer watched
  run({"MULTI"});
  run({"GET", "a"});
  EXPECT_EQ(run({"EXEC"}), "*1\r\n" + bulk("2"));
}

TEST_F(transactions, watch_fails_exec_when_a_watched_key_changed) {
  client_state other;
  auto by_other = [&](std::initializer_list<std::string_view> args) {
    std::vector<std::string> argv(args.begin(), args.end());
    reply_buffer out;
    eng->execute(other, argv, out);
    return out.take();
  };
  run({"SET", "k", "v"});
  // Untouched: EXEC runs.
  EXPECT_EQ(run({"WATCH", "k", "missing"}), ok);
  run({"MULTI"});
  run({"GET", "k"});
  EXPECT_EQ(run({"EXEC"}), "*1\r\n" + bulk("v"));
  // Modified, created, deleted by another client, or flushed: EXEC replies null and runs nothing.
  const std::vector<std::pair<std::vector<std::string>, std::string>> changes = {
      {{"APPEND", "k", "x"}, "k"}, {{"SET", "missing", "1"}, "missing"}, {{"DEL", "k"}, "k"},
      {{"FLUSHALL"}, "k"}, {{"MSET", "a", "1", "k", "2"}, "k"}, {{"RENAME", "k", "k2"}, "k"}};
  for (const auto& [change, key] : changes) {
    run({"FLUSHALL"});
    run({"SET", "k", "v"});
    run({"WATCH", key});
    std::vector<std::string> argv = change;
    reply_buffer out;
    eng->execute(other, argv, out);
    run({"MULTI"});
    run({"SET", "ran", "yes"});
    EXPECT_EQ(run({"EXEC"}), nil_array) << change[0];
    EXPECT_EQ(run({"EXISTS", "ran"}), num(0)) << change[0];
  }
  // A key that expires after WATCH counts as changed; UNWATCH forgets every key.
  run({"SET", "t", "v", "PX", "100"});
  run({"WATCH", "t"});
  now += 200;
  run({"MULTI"});
  EXPECT_EQ(run({"EXEC"}), nil_array);
  run({"WATCH", "k"});
  by_other({"SET", "k", "changed"});
  EXPECT_EQ(run({"UNWATCH"}), ok);
  run({"MULTI"});
  EXPECT_EQ(run({"EXEC"}), "*0\r\n");
  // A write to another database's key of the same name changes nothing watched here.
  run({"WATCH", "k"});
  by_other({"SELECT", "1"});
  by_other({"SET", "k", "elsewhere"});
  run({"MULTI"});
  EXPECT_EQ(run({"EXEC"}), "*0\r\n");
}

using connection = engine_test;

TEST_F(connection, client_id_and_name) {
  std::string id = run({"CLIENT", "ID"});
  EXPECT_EQ(id[0], ':');
  client_state other;
  reply_buffer out;
  eng->execute(other, {"CLIENT", "ID"}, out);
  EXPECT_NE(out.take(), id);  // every connection its own id
  EXPECT_EQ(run({"CLIENT", "GETNAME"}), nil);
  EXPECT_EQ(run({"CLIENT", "SETNAME", "worker-1"}), ok);
  EXPECT_EQ(run({"CLIENT", "GETNAME"}), bulk("worker-1"));
  EXPECT_EQ(run({"CLIENT", "SETNAME", "a b"}),
            err("ERR Client names cannot contain spaces, newlines or special characters."));
  EXPECT_EQ(run({"CLIENT", "SETNAME", ""}), ok);
  EXPECT_EQ(run({"CLIENT", "GETNAME"}), nil);
  EXPECT_EQ(run({"CLIENT", "ID", "x"}), arity("client|id"));
  EXPECT_EQ(run({"CLIENT", "FOO"}), err("ERR unknown subcommand 'FOO'. Try CLIENT HELP."));
}

TEST_F(connection, hello_speaks_resp2_only_and_auth_takes_the_default_user) {
  std::string id = run({"CLIENT", "ID"}).substr(1);
  id.resize(id.size() - 2);
  std::string hello = "*14\r\n" + bulk("server") + bulk("redis") + bulk("version") + bulk("7.0.15") + bulk("proto") +
                      num(2) + bulk("id") + num(std::stoll(id)) + bulk("mode") + bulk("standalone") + bulk("role") +
                      bulk("master") + bulk("modules") + "*0\r\n";
  EXPECT_EQ(run({"HELLO"}), hello);
  EXPECT_EQ(run({"HELLO", "2", "AUTH", "default", "any", "SETNAME", "n"}), hello);
  EXPECT_EQ(run({"CLIENT", "GETNAME"}), bulk("n"));
  EXPECT_EQ(run({"HELLO", "3"}), err("NOPROTO unsupported protocol version"));
  EXPECT_EQ(run({"HELLO", "x"}), err("ERR Protocol version is not an integer or out of range"));
  EXPECT_EQ(run({"HELLO", "2", "AUTH", "bob", "pw"}), err("WRONGPASS invalid username-password pair or user is disabled."));
  EXPECT_EQ(run({"HELLO", "2", "AUTH"}), err("ERR Syntax error in HELLO option 'AUTH'"));
  EXPECT_EQ(run({"AUTH", "pw"}),
            err("ERR AUTH <password> called without any password configured for the default user. Are you sure your "
                "configuration is correct?"));
  EXPECT_EQ(run({"AUTH", "default", "pw"}), ok);
  EXPECT_EQ(run({"AUTH", "bob", "pw"}), err("WRONGPASS invalid username-password pair or user is disabled."));
}

}  // namespace
}  // namespace flex::redis::testing
