// The redis app under the real clients, for every profile: redis-cli with commands of every type, the
// errors real redis gives, expiry, SAVE and a restart that loads the snapshot (and a kill -9 in the middle
// of a SAVE, which keeps the previous snapshot), redis-benchmark with 50 concurrent clients, and a
// malformed request that is refused without disturbing other clients. The mpk profiles run where the CPU
// has PKU, and in the PKU guest (pku_guest.redis) where it has none.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <map>
#include <regex>
#include <thread>

#include "redis_server.h"
#include "test_util.h"


namespace flex::test {
namespace {

namespace fs = std::filesystem;

class redis : public ::testing::TestWithParam<const char *> {
 protected:
  void SetUp() override {
    name_ = GetParam();
    auto b = build_test_image(source_dir() / "profiles" / (name_ + ".yaml"), name_);
    ASSERT_EQ(b.status, 0) << b.out;
    if (profile_needs_pku(name_) && !machine_has_pku()) GTEST_SKIP() << "PKU not available (base/pku: no usable protection keys here)";
    dir_ = std::make_unique<scratch_dir>("redis-" + name_);
  }
  std::unique_ptr<server> start() {
    auto s = std::make_unique<server>(test_image(name_).string(), dir_->path(), free_port());
    EXPECT_TRUE(s->ready()) << s->log();
    return s;
  }
  std::string name_;
  std::unique_ptr<scratch_dir> dir_;
};

TEST_P(redis, commands_of_every_type_and_their_errors_under_redis_cli) {
  auto s = start();
  auto r = s->cli(
      "SET greeting hello\nGET greeting\nAPPEND greeting !\nSTRLEN greeting\nINCR counter\nINCRBY counter 41\n"
      "MSET a 1 b 2\nMGET a b missing\nRPUSH list x y z\nLRANGE list 0 -1\nLPOP list\nHSET h f1 v1 f2 v2\n"
      "HGET h f2\nSADD s m1 m2 m1\nSCARD s\nZADD z 1 one 2 two\nZRANGE z 0 -1 WITHSCORES\nZRANK z two\n"
      "TYPE h\nEXISTS greeting nothing\nDEL a b\nDBSIZE\nGET list\nINCR greeting\nGET\nFOO bar");
  EXPECT_EQ(r.out,
            "OK\nhello\n6\n6\n1\n42\nOK\n1\n2\n\n3\nx\ny\nz\nx\n2\nv2\n2\n2\n2\none\n1\ntwo\n2\n1\nhash\n1\n2\n"
            "6\n"
            // redis-cli follows each error with an empty line
            "WRONGTYPE Operation against a key holding the wrong kind of value\n\n"
            "ERR value is not an integer or out of range\n\n"
            "ERR wrong number of arguments for 'get' command\n\n"
            "ERR unknown command 'FOO', with args beginning with: 'bar' \n\n")
      << r.out << s->log();
  EXPECT_EQ(s->stop(), 0) << s->log();
}

TEST_P(redis, keys_expire) {
  auto s = start();
  auto r = s->cli("SET short v PX 300\nSET long v EX 100\nPTTL short\nTTL long");
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.out, m, std::regex("^OK\nOK\n([0-9]+)\n(100|99)\n$"))) << r.out;
  EXPECT_LE(std::stoi(m[1]), 300);
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  r = s->cli("GET short\nEXISTS short\nEXISTS long");
  EXPECT_EQ(r.out, "\n0\n1\n") << r.out;
}

// The active expiry cycle deletes expired keys nobody touches (DBSIZE counts keys not yet deleted).
TEST_P(redis, expired_keys_nobody_touches_are_deleted) {
  auto s = start();
  EXPECT_EQ(s->cli("SET a 1 PX 100\nSET b 2 PX 100\nSET kept 3\nDBSIZE").out, "OK\nOK\nOK\n3\n");
  std::string n;
  for (int i = 0; i < 50 && n != "1\n"; ++i) {  // up to 5 s: the PKU guest is slow
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    n = s->cli("DBSIZE").out;
  }
  EXPECT_EQ(n, "1\n") << s->log();
}

TEST_P(redis, save_and_restart_keep_the_data) {
  {
    auto s = start();
    EXPECT_EQ(s->cli("SET kept value\nRPUSH kept_list a b\nSAVE").out, "OK\n2\nOK\n");
    EXPECT_EQ(s->stop(), 0) << s->log();
  }
  auto s = start();
  EXPECT_EQ(s->cli("GET kept\nLRANGE kept_list 0 -1\nDBSIZE").out, "value\na\nb\n2\n") << s->log();
}

// INFO memory reports the allocator of the app's compartment (its TLSF heap under mpk, glibc where the app
// shares the main process's allocator, ASan's in the hardened image) and what it holds: 10 MB of values
// show in used_memory, and the resident set holds at least that much.
TEST_P(redis, info_memory_reports_the_apps_allocator) {
  auto s = start();
  auto field = [&](const std::string &name) -> std::uint64_t {
    std::string info = s->cli("INFO memory").out;
    std::smatch m;
    if (!std::regex_search(info, m, std::regex("\\b" + name + ":([0-9]+)"))) return 0;
    return std::stoull(m[1]);
  };
  const std::map<std::string, std::string> allocator = {{"redis-1comp", "glibc"}, {"redis-2comp", "tlsf"},
                                                        {"redis-3comp", "tlsf"}, {"redis-3comp-process", "tlsf"},
                                                        {"redis-hardened", "asan"}};
  ASSERT_TRUE(allocator.count(name_)) << "no expectation for " << name_;
  EXPECT_NE(s->cli("INFO memory").out.find("mem_allocator:" + allocator.at(name_)), std::string::npos)
      << s->cli("INFO memory").out;
  const std::uint64_t before = field("used_memory");
  EXPECT_GT(before, 0u);
  std::string fill;
  const std::string value(5000, 'v');
  for (int i = 0; i < 2000; ++i) fill += "SET key:" + std::to_string(i) + " " + value + "\r\n";
  write(dir_->path() / "fill.txt", fill);
  auto r = run("redis-cli -p " + std::to_string(s->port()) + " --pipe < " + (dir_->path() / "fill.txt").string());
  ASSERT_EQ(r.status, 0) << r.out;
  const std::uint64_t after = field("used_memory");
  EXPECT_GE(after, before + 2000 * 5000) << "before " << before << ", after " << after;
  EXPECT_GE(field("used_memory_rss"), after);
  EXPECT_GE(field("used_memory_peak"), after);
  EXPECT_EQ(s->cli("FLUSHALL").out, "OK\n");
  EXPECT_LT(field("used_memory"), after - 2000 * 5000 / 2);
}

// redis-cli shutdown: SHUTDOWN SAVE writes the snapshot and the image exits normally by itself.
TEST_P(redis, shutdown_saves_and_stops_the_image) {
  {
    auto s = start();
    EXPECT_EQ(s->cli("SET kept value\nSHUTDOWN ABORT").out, "OK\nERR No shutdown in progress.\n\n");
    s->cli("SHUTDOWN SAVE");
    EXPECT_EQ(s->wait_exit(), 0) << s->log();
  }
  auto s = start();
  EXPECT_EQ(s->cli("GET kept").out, "value\n") << s->log();
}

// SAVE writes a temporary file, syncs it and renames it over the snapshot (through vfs and hostfs), so a
// kill -9 during a SAVE leaves the previous snapshot whole. rdb-key-save-delay (1 ms after each key, as
// redis's own tests do it) stretches the second SAVE to seconds, and the kill comes once that SAVE's
// temporary file is there: it lands inside the save, and the test checks that it did.
TEST_P(redis, a_kill_during_save_never_loses_the_previous_snapshot) {
  const fs::path snapshot = dir_->path() / "dump.flexdb";
  const fs::path temporary = dir_->path() / "dump.flexdb.tmp";
  std::string fill, all_keys;
  const std::string value(1000, 'v');
  for (int i = 0; i < 3000; ++i) {
    fill += "SET key:" + std::to_string(i) + " " + value + "\r\n";
    all_keys += " key:" + std::to_string(i);
  }
  write(dir_->path() / "fill.txt", fill);
  std::string first;
  {
    auto s = start();
    auto r = run("redis-cli -p " + std::to_string(s->port()) + " --pipe < " + (dir_->path() / "fill.txt").string());
    ASSERT_EQ(r.status, 0) << r.out;
    ASSERT_EQ(s->cli("SAVE\nDBSIZE").out, "OK\n3000\n") << s->log();
    first = read(snapshot);
    ASSERT_FALSE(first.empty()) << "SAVE wrote no " << snapshot;
    ASSERT_FALSE(fs::exists(temporary)) << "the first SAVE left " << temporary << " behind";
    // Data the second snapshot would hold and the first does not; then the slow save.
    ASSERT_EQ(s->cli("SET added yes\nDEL key:0\nSET key:1 changed\nCONFIG SET rdb-key-save-delay 1000\n"
                     "CONFIG GET rdb-key-save-delay")
                  .out,
              "OK\n1\nOK\nOK\nrdb-key-save-delay\n1000\n")
        << s->log();
    std::atomic<bool> save_returned{false};
    command_result save;
    std::thread saver([&] {
      save = s->cli("SAVE");
      save_returned = true;
    });
    bool temporary_seen = false;
    // Up to a minute for the temporary file to appear: the PKU guest is slow.
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (!save_returned && std::chrono::steady_clock::now() < give_up) {
      if (fs::exists(temporary)) {
        temporary_seen = true;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    s->kill_hard();
    saver.join();
    ASSERT_TRUE(temporary_seen) << "no " << temporary << " while SAVE ran; SAVE answered: " << save.out
                                << s->log();
    EXPECT_TRUE(save.out.find("OK") == std::string::npos) << "SAVE ended before the kill: " << save.out;
    EXPECT_TRUE(fs::exists(temporary)) << "the killed save's temporary file is gone";
    EXPECT_TRUE(read(snapshot) == first)
        << "the killed save replaced or damaged " << snapshot << " (" << first.size() << " bytes before, "
        << read(snapshot).size() << " after)";
  }
  // The restarted image loads the first snapshot, exactly: its 3000 keys, key:1 as it was then, none of the
  // later changes.
  auto s = start();
  EXPECT_EQ(s->cli("DBSIZE\nEXISTS" + all_keys + "\nEXISTS added\nSTRLEN key:1\nGETRANGE key:1 -3 -1\n"
                   "STRLEN key:2999")
                .out,
            "3000\n3000\n0\n1000\nvvv\n1000\n")
      << s->log();
}

TEST_P(redis, many_concurrent_clients_under_redis_benchmark) {
  auto s = start();
  auto r = run("redis-benchmark -p " + std::to_string(s->port()) + " -t set,get,lpush -n 3000 -c 50 -q");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_TRUE(std::count(r.out.begin(), r.out.end(), '\n') >= 3 &&
              r.out.find("requests per second") != std::string::npos)
      << "expected a requests-per-second line for each of set, get and lpush:\n"
      << r.out;
  auto n = s->cli("LLEN mylist\nEXISTS key:__rand_int__");
  EXPECT_EQ(n.out, "3000\n1\n") << n.out;
}

TEST_P(redis, a_malformed_request_is_refused_and_others_are_unaffected) {
  auto s = start();
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(s->port()));
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr *>(&sa), sizeof sa), 0);
  const char bad[] = "*x\r\n";
  ASSERT_EQ(::send(fd, bad, sizeof bad - 1, 0), static_cast<ssize_t>(sizeof bad - 1));
  std::string got;
  char buf[256];
  for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) got.append(buf, static_cast<size_t>(n));
  ::close(fd);  // recv returned 0: the server closed the connection
  EXPECT_EQ(got, "-ERR Protocol error: invalid multibulk length\r\n");
  EXPECT_EQ(s->cli("PING").out, "PONG\n");
}

INSTANTIATE_TEST_SUITE_P(profiles, redis,
                         ::testing::Values("redis-1comp", "redis-2comp", "redis-3comp", "redis-3comp-process",
                                           "redis-hardened"),
                         [](const auto &info) { return param_name(info.param); });

// Every sharing.stack mode, for whitelisted locals that cross into the network stack: the server's
// request loop passes them to net behind a process boundary (heap, on any machine) and an mpk one
// (shared, with PKU). dss is the mode of the profiles above.
struct sharing_case {
  const char *name;
  const char *stack;     // dss | heap | shared
  const char *app_iso;   // the app's and core's isolation
};

class redis_sharing : public ::testing::TestWithParam<sharing_case> {};

TEST_P(redis_sharing, serves_redis_cli_and_pipelined_benchmark) {
  const sharing_case &c = GetParam();
  const bool mpk = std::string(c.app_iso) == "mpk";
  // Outside both trees, so flexbuild takes the libraries of the tree it was built from.
  fs::path profile = fs::temp_directory_path() / "flex-test-profiles" / (std::string(c.name) + ".yaml");
  fs::create_directories(profile.parent_path());
  write(profile, std::string("name: ") + c.name + "\napp: redis\ncompartments:\n"
                 "  - name: app\n    isolation: " + c.app_iso + "\n    libraries: [redis]\n"
                 "  - name: net\n    isolation: process\n    libraries: [net]\n"
                 "  - name: core\n    default: true\n    isolation: " + c.app_iso + "\n    libraries: [console]\n"
                 "sharing:\n  stack: " + c.stack + "\n" + (mpk ? "gates:\n  mpk: full\n" : ""));
  auto b = build_test_image(profile, c.name);
  ASSERT_EQ(b.status, 0) << b.out;
  if (mpk && !machine_has_pku()) GTEST_SKIP() << "PKU not available (base/pku: no usable protection keys here)";
  scratch_dir dir(std::string("redis-") + c.name);
  server s(test_image(c.name).string(), dir.path(), free_port());
  ASSERT_TRUE(s.ready()) << s.log();
  EXPECT_EQ(s.cli("SET k v\nGET k\nRPUSH l a b c\nLRANGE l 0 -1").out, "OK\nv\n3\na\nb\nc\n") << s.log();
  auto r = run("redis-benchmark -p " + std::to_string(s.port()) + " -t set,get -n 2000 -c 8 -P 16 -q");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("requests per second"), std::string::npos) << r.out;
  EXPECT_EQ(s.cli("DBSIZE").out, "3\n") << s.log();
  EXPECT_EQ(s.stop(), 0) << s.log();
}

INSTANTIATE_TEST_SUITE_P(modes, redis_sharing,
                         ::testing::Values(sharing_case{"redis-sharing-heap-process", "heap", "process"},
                                           sharing_case{"redis-sharing-shared-mpk", "shared", "mpk"}),
                         [](const auto &info) { return param_name(info.param.name); });

}  // namespace
}  // namespace flex::test
