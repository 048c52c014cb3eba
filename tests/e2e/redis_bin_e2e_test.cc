// The stock Debian redis-server, unmodified, in images (profiles redis-bin-*): one compartment, net in a
// process of its own, and net in an MPK domain of its own (redis-bin-2comp-mpk: its runs skip where PKU
// is missing, and run in the PKU guest, pku_guest.redis_bin). Each serves redis-cli byte for byte as the same program does natively (a
// differential run of one script against both), keeps its data across SAVE and a restart through a host
// directory mounted with hostfs, saves in the background with a forked child where the image is one
// process (and answers BGSAVE with Redis's own error elsewhere), serves redis-benchmark's 50 clients, and
// stops cleanly on SIGTERM and SHUTDOWN.
#include <gtest/gtest.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <unistd.h>
#include <sys/socket.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <regex>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "redis_server.h"
#include "test_util.h"

namespace flex::test {
namespace {

namespace fs = std::filesystem;

constexpr const char *kRedisServer = "/usr/bin/redis-server";

// Commands of every type, their errors, a transaction and a script: what the differential run sends.
// Nothing whose order depends on the hash seed (which Redis draws at random on each start): SMEMBERS
// and a KEYS of several keys answer in a different order on each native run too.
constexpr const char *kScript =
    "PING\nECHO hi\nSET greeting hello\nGET greeting\nAPPEND greeting !\nSTRLEN greeting\nINCR counter\n"
    "INCRBYFLOAT counter 0.5\nMSET a 1 b 2\nMGET a b missing\nRPUSH list x y z\nLRANGE list 0 -1\nLPOP list\n"
    "HSET h f1 v1 f2 v2\nHGETALL h\nSADD s m1 m2 m1\nSMISMEMBER s m1 m3 m2\nZADD z 1 one 2 two 3 three\n"
    "ZRANGE z 0 -1 WITHSCORES\nZRANGEBYSCORE z 2 +inf\nSETEX temp 100 v\nTTL temp\nPERSIST temp\nTTL temp\n"
    "TYPE h\nEXISTS greeting nothing\nDEL a b\nDBSIZE\nGET list\nINCR greeting\nGET\nFOO bar\n"
    "MULTI\nINCR tx\nINCR tx\nEXEC\nEVAL \"return redis.call('GET', KEYS[1]) .. ARGV[1]\" 1 greeting ?\n"
    "OBJECT ENCODING list\nSCAN 0 MATCH gre* COUNT 100\nKEYS gre*\nDBSIZE\nFLUSHALL\nDBSIZE";

class redis_bin : public ::testing::TestWithParam<const char *> {
 protected:
  void SetUp() override {
    if (!fs::exists(kRedisServer)) GTEST_SKIP() << "redis-server is not installed";
    name_ = GetParam();
    auto b = build_test_image(source_dir() / "profiles" / (name_ + ".yaml"), name_);
    ASSERT_EQ(b.status, 0) << b.out;
    if (profile_needs_pku(name_) && !machine_has_pku()) GTEST_SKIP() << "PKU not available (base/pku: no usable protection keys here)";
    dir_ = std::make_unique<scratch_dir>("redis-bin-" + name_);
    fs::create_directories(dir_->path() / "data");
    // The image reaches the scratch directory's data/ at /data (hostfs), as Redis's --dir.
    ::setenv("FLEX_MOUNTS", ("/data=" + (dir_->path() / "data").string()).c_str(), 1);
  }
  void TearDown() override { ::unsetenv("FLEX_MOUNTS"); }

  std::unique_ptr<server> start(const std::vector<std::string> &flags = {}) {
    auto s = std::make_unique<server>(test_image(name_).string(), dir_->path(), free_port(), "/data", flags);
    EXPECT_TRUE(s->ready()) << s->log();
    return s;
  }
  std::string name_;
  std::unique_ptr<scratch_dir> dir_;
};

TEST_P(redis_bin, answers_redis_cli_byte_for_byte_as_the_same_program_natively) {
  auto s = start();
  const command_result flex = s->cli(kScript);
  scratch_dir native_dir("redis-bin-native-" + name_);
  server native(kRedisServer, native_dir.path(), free_port());
  ASSERT_TRUE(native.ready()) << native.log();
  const command_result host = native.cli(kScript);
  EXPECT_EQ(flex.out, host.out) << "in the image:\n" << flex.out << "\nnatively:\n" << host.out << s->log();
  // Not a vacuous agreement: the replies are there, errors included.
  EXPECT_NE(flex.out.find("hello!?\n"), std::string::npos) << flex.out;
  EXPECT_NE(flex.out.find("WRONGTYPE"), std::string::npos) << flex.out;
  EXPECT_EQ(s->stop(), 0) << s->log();
}

TEST_P(redis_bin, save_and_restart_keep_the_data_in_the_mounted_directory) {
  {
    auto s = start();
    EXPECT_EQ(s->cli("SET kept value\nRPUSH kept_list a b\nSAVE").out, "OK\n2\nOK\n") << s->log();
    EXPECT_EQ(s->stop(), 0) << s->log();
  }
  EXPECT_TRUE(fs::exists(dir_->path() / "data" / "dump.rdb"));
  auto s = start();
  EXPECT_EQ(s->cli("GET kept\nLRANGE kept_list 0 -1\nDBSIZE").out, "value\na\nb\n2\n") << s->log();
  EXPECT_NE(s->log().find("DB loaded from disk"), std::string::npos) << s->log();
}

// BGSAVE forks. With every compartment `isolation: none` (redis-bin-1comp) the fork is real: the child, a
// copy of the image with only the thread that forked, writes the file through the libOS and ends, and
// Redis reaps it and reports success; a restart loads what it wrote. With net in a process of its own
// (redis-bin-2comp), or in an MPK domain (redis-bin-2comp-mpk), a copy of the main process would share
// what it cannot own (net's process; the keys' state): fork is -ENOSYS, which Redis reports as an error,
// and it keeps serving; --gate-stats counts the call nothing served (glibc's fork is a clone).
TEST_P(redis_bin, bgsave_forks_where_the_image_is_one_process_and_is_refused_elsewhere) {
  auto s = start({"--gate-stats"});
  if (name_ == "redis-bin-1comp") {
    EXPECT_EQ(s->cli("SET k v\nBGSAVE").out, "OK\nBackground saving started\n") << s->log();
    std::string info;
    for (int i = 0; i < 200; ++i) {
      info = s->cli("INFO persistence").out;
      if (info.find("rdb_bgsave_in_progress:0") != std::string::npos &&
          info.find("rdb_last_bgsave_status:ok") != std::string::npos && fs::exists(dir_->path() / "data" / "dump.rdb"))
        break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    EXPECT_NE(info.find("rdb_last_bgsave_status:ok"), std::string::npos) << info << s->log();
    for (int i = 0; i < 100 && s->log().find("Background saving terminated with success") == std::string::npos; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    EXPECT_NE(s->log().find("Background saving terminated with success"), std::string::npos) << s->log();
    EXPECT_EQ(s->cli("SET k overwritten\nGET k").out, "OK\noverwritten\n");
    EXPECT_EQ(s->stop(), 0) << s->log();  // no save points: what the next start loads is the child's file
    EXPECT_EQ(s->log().find("answered ENOSYS: clone"), std::string::npos) << s->log();
    EXPECT_TRUE(std::regex_search(s->log(), std::regex("gate-stats: program /usr/bin/redis-server: [1-9][0-9]* bound calls")))
        << s->log();
    auto again = start();
    EXPECT_EQ(again->cli("GET k").out, "v\n") << again->log();
    EXPECT_EQ(again->stop(), 0) << again->log();
    return;
  }
  const command_result r = s->cli("SET k v\nBGSAVE\nGET k");
  EXPECT_EQ(r.out, "OK\nERR\n\nv\n") << r.out << s->log();
  EXPECT_NE(s->log().find("Can't save in background: fork: Function not implemented"), std::string::npos)
      << s->log();
  EXPECT_EQ(s->stop(), 0) << s->log();
  EXPECT_NE(s->log().find("gate-stats: program answered ENOSYS: clone (56): 1 calls"), std::string::npos) << s->log();
  // The server's reads, writes and readiness waits came bound (through its C library's imports).
  EXPECT_TRUE(std::regex_search(s->log(), std::regex("gate-stats: program /usr/bin/redis-server: [1-9][0-9]* bound calls")))
      << s->log();
}

TEST_P(redis_bin, many_concurrent_clients_under_redis_benchmark) {
  auto s = start();
  auto r = run("redis-benchmark -p " + std::to_string(s->port()) + " -t set,get,lpush -n 3000 -c 50 -q");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("LPUSH"), std::string::npos) << r.out;
  EXPECT_EQ(s->cli("LLEN mylist\nEXISTS key:__rand_int__").out, "3000\n1\n") << s->log();
}

// Replies to a client that reads only later, through a small receive buffer: the server's writes outrun
// the socket (with net in a process, net keeps what the socket does not take of a held write and Redis is
// told EAGAIN until it is gone), and every byte arrives, in order, once the client reads.
TEST_P(redis_bin, replies_to_a_slow_reader_arrive_whole_and_in_order) {
  auto s = start();
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  int small = 4096;
  ASSERT_EQ(::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small), 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<uint16_t>(s->port()));
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr *>(&to), sizeof to), 0);
  auto send_all = [&](const std::string &what) {
    for (size_t at = 0; at < what.size();) {
      const ssize_t n = ::send(fd, what.data() + at, what.size() - at, MSG_NOSIGNAL);
      ASSERT_GT(n, 0);
      at += static_cast<size_t>(n);
    }
  };
  std::string value(16000, '\0');
  for (size_t i = 0; i < value.size(); ++i) value[i] = static_cast<char>('a' + i % 26);
  send_all("*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$" + std::to_string(value.size()) + "\r\n" + value + "\r\n");
  std::string expected = "+OK\r\n";
  constexpr int kGets = 500;  // 8 MB: more than the server's socket takes (tcp_wmem's 4 MiB at most)
  for (int i = 0; i < kGets; ++i) {  // one reply per round of the server's loop, none read yet
    send_all("GET big\r\n");
    expected += "$" + std::to_string(value.size()) + "\r\n" + value + "\r\n";
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  std::string got;
  char buf[65536];
  timeval tv{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  while (got.size() < expected.size()) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    got.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  ASSERT_EQ(got.size(), expected.size()) << s->log();
  EXPECT_TRUE(got == expected) << "the replies differ from what Redis sends";
  EXPECT_EQ(s->cli("PING").out, "PONG\n");
  EXPECT_EQ(s->stop(), 0) << s->log();
}

TEST_P(redis_bin, shutdown_saves_and_ends_the_image) {
  auto s = start();
  EXPECT_EQ(s->cli("SET k v\nSHUTDOWN SAVE").out.substr(0, 3), "OK\n");
  EXPECT_EQ(s->wait_exit(), 0) << s->log();
  EXPECT_NE(s->log().find("Redis is now ready to exit"), std::string::npos) << s->log();
  EXPECT_TRUE(fs::exists(dir_->path() / "data" / "dump.rdb"));
}

INSTANTIATE_TEST_SUITE_P(profiles, redis_bin, ::testing::Values("redis-bin-1comp", "redis-bin-2comp", "redis-bin-2comp-mpk"),
                         [](const auto &info) { return param_name(info.param); });

// flexbuild report lists the program's system calls, found in its files (its imports from the C library,
// the `syscall` instructions of its other libraries), each marked with whether the kernel answers it in
// the image.
TEST(redis_bin_report, lists_the_programs_system_calls_and_where_each_comes_from) {
  if (!fs::exists(kRedisServer)) GTEST_SKIP() << "redis-server is not installed";
  scratch_dir dir("redis-bin-report");
  auto r = run(flexbuild().string() + " report --profile " + (source_dir() / "profiles" / "redis-bin-1comp.yaml").string() +
               " -o " + dir.path().string() + " --json 2>/dev/null");
  ASSERT_EQ(r.status, 0) << r.out;
  const nlohmann::json rep = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_FALSE(rep.is_discarded()) << r.out;
  const nlohmann::json &p = rep["program"];
  EXPECT_EQ(p["path"], kRedisServer);
  std::map<std::string, nlohmann::json> calls;
  for (const auto &c : p["calls"]) calls[c["name"].get<std::string>()] = c;
  ASSERT_TRUE(calls.count("accept4")) << p.dump(1);
  EXPECT_FALSE(calls["accept4"]["kernel"].get<bool>()) << "posix answers sockets";
  EXPECT_NE(calls["accept4"]["where"].dump().find("the program imports accept"), std::string::npos) << calls["accept4"];
  ASSERT_TRUE(calls.count("futex")) << p.dump(1);
  EXPECT_TRUE(calls["futex"]["kernel"].get<bool>()) << "futexes stay the kernel's";
  // libjemalloc makes system calls of its own, found as instructions.
  bool jemalloc = false;
  for (const auto &o : p["objects"]) jemalloc |= o.get<std::string>().find("libjemalloc") != std::string::npos;
  EXPECT_TRUE(jemalloc) << p["objects"];
  auto text = run(flexbuild().string() + " report --profile " + (source_dir() / "profiles" / "redis-bin-1comp.yaml").string() +
                  " -o " + dir.path().string() + " 2>/dev/null");
  EXPECT_NE(text.out.find("Program /usr/bin/redis-server: "), std::string::npos) << text.out;
}

// With net in a process of its own, the server's process holds none of the sockets: they are net's.
TEST(redis_bin_2comp, the_servers_sockets_live_in_nets_process) {
  if (!fs::exists(kRedisServer)) GTEST_SKIP() << "redis-server is not installed";
  auto b = build_test_image(source_dir() / "profiles" / "redis-bin-2comp.yaml", "redis-bin-2comp");
  ASSERT_EQ(b.status, 0) << b.out;
  scratch_dir dir("redis-bin-sockets");
  server s(test_image("redis-bin-2comp").string(), dir.path(), free_port(), "/");
  ASSERT_TRUE(s.ready()) << s.log();
  auto sockets_of = [](int pid) {
    int n = 0;
    for (const auto &e : fs::directory_iterator("/proc/" + std::to_string(pid) + "/fd")) {
      std::error_code ec;
      if (fs::read_symlink(e.path(), ec).string().rfind("socket:", 0) == 0) ++n;
    }
    return n;
  };
  EXPECT_EQ(sockets_of(s.pid()), 0) << "the server's process holds a socket";
  int in_children = 0;
  for (const auto &e : fs::directory_iterator("/proc")) {
    const std::string n = e.path().filename().string();
    if (n.find_first_not_of("0123456789") != std::string::npos) continue;
    const std::string stat = read(e.path() / "stat");
    const std::size_t close = stat.rfind(')');
    if (close == std::string::npos) continue;
    if (std::atoi(stat.c_str() + close + 4) == s.pid()) in_children += sockets_of(std::atoi(n.c_str()));
  }
  EXPECT_GE(in_children, 1) << "net's process holds the listening socket";
}

}  // namespace
}  // namespace flex::test
