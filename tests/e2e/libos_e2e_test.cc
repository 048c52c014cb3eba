// The libOS end to end, in images: the echo server (one sched thread per connection, blocking net calls
// that block only their thread, sleeps through time, a log written through vfs to hostfs or ramfs)
// driven by many concurrent clients that check every echoed byte, in one compartment and with net,
// sched, vfs, ramfs, hostfs and time each in an MPK domain of its own; and hello's round trip through
// vfs and time. MPK images skip where the CPU has no PKU, and run in the PKU guest (pku_guest.libos).
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
#include <cstdlib>
#include <random>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "test_util.h"


namespace flex::test {
namespace {

namespace fs = std::filesystem;

bool in_pku_guest() {
  return std::getenv("FLEX_PKU_VM_GUEST") != nullptr;
}

// One client: connects, sends `bytes` pseudo-random bytes in uneven chunks while reading what comes back,
// ends its side, reads to the end; true when every byte came back in order.
bool echo_client(int port, size_t bytes, unsigned seed, std::string &why) {
  int c = -1;
  for (int i = 0; i < 50 && c < 0; ++i) {
    c = connect_to(port);
    if (c < 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (c < 0) {
    why = "cannot connect";
    return false;
  }
  std::mt19937 rng(seed);
  std::string out(bytes, '\0');
  for (char &ch : out) ch = static_cast<char>(rng());
  std::string back;
  back.reserve(bytes);
  size_t sent = 0;
  char buf[8192];
  while (sent < bytes) {
    size_t chunk = std::min<size_t>(bytes - sent, 1 + rng() % 6000);
    ssize_t n = ::send(c, out.data() + sent, chunk, MSG_NOSIGNAL);
    if (n <= 0) {
      why = "send failed";
      ::close(c);
      return false;
    }
    sent += static_cast<size_t>(n);
    // Keep the echo flowing so neither side's buffers fill up.
    while (back.size() + 65536 < sent) {
      ssize_t r = ::recv(c, buf, sizeof buf, 0);
      if (r <= 0) break;
      back.append(buf, static_cast<size_t>(r));
    }
  }
  ::shutdown(c, SHUT_WR);
  for (;;) {
    ssize_t r = ::recv(c, buf, sizeof buf, 0);
    if (r <= 0) break;
    back.append(buf, static_cast<size_t>(r));
  }
  ::close(c);
  if (back != out) {
    why = "echoed " + std::to_string(back.size()) + " of " + std::to_string(bytes) + " bytes, or other bytes";
    return false;
  }
  return true;
}

class echo : public ::testing::TestWithParam<const char *> {
 protected:
  void SetUp() override {
    name_ = GetParam();
    auto b = build_test_image(source_dir() / "profiles" / (name_ + ".yaml"), name_);
    ASSERT_EQ(b.status, 0) << b.out;
    if (profile_needs_pku(name_) && !machine_has_pku()) GTEST_SKIP() << "PKU not available (base/pku: no usable protection keys here)";
    dir_ = std::make_unique<scratch_dir>("echo-" + name_);
  }
  // Emulated PKU is 10-50x slower: fewer clients there, as many as the host likes elsewhere.
  int clients() const { return in_pku_guest() ? 32 : 128; }
  int seconds() const { return in_pku_guest() ? 900 : 120; }

  std::string name_;
  std::unique_ptr<scratch_dir> dir_;
};

TEST_P(echo, many_concurrent_clients_get_every_byte_back_and_the_log_lands_in_the_host_directory) {
  const int n = clients();
  int port = free_port();
  fs::path host_dir = dir_->path() / "data";
  fs::create_directories(host_dir);
  image_process img(test_image(name_).string(),
                    {"--port", std::to_string(port), "--max", std::to_string(n), "--delay-us", "2000", "--dir",
                     host_dir.string()},
                    dir_->path() / "echo.log");
  ASSERT_TRUE(img.ready("echo: listening on", seconds())) << img.log();
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  std::vector<std::string> why(static_cast<size_t>(n));
  size_t total = 0;
  std::vector<size_t> sizes;
  for (int i = 0; i < n; ++i) sizes.push_back(static_cast<size_t>(1 + (i * 7919) % (in_pku_guest() ? 20000 : 200000)));
  for (size_t s : sizes) total += s;
  for (int i = 0; i < n; ++i) {
    threads.emplace_back([&, i] {
      if (echo_client(port, sizes[static_cast<size_t>(i)], static_cast<unsigned>(i), why[static_cast<size_t>(i)])) ++ok;
    });
  }
  for (auto &t : threads) t.join();
  for (int i = 0; i < n; ++i) EXPECT_EQ(why[static_cast<size_t>(i)], "") << "client " << i;
  EXPECT_EQ(ok.load(), n);
  ASSERT_EQ(img.wait(seconds()), 0) << img.log();
  std::string expect = "served " + std::to_string(n) + " connections, " + std::to_string(total) + " bytes";
  EXPECT_EQ(read(host_dir / "echo.log"), expect + "\n");
  EXPECT_NE(img.log().find("echo: /data/echo.log: " + expect), std::string::npos) << img.log();
}

TEST_P(echo, clients_that_vanish_or_send_nothing_leave_the_server_serving) {
  const int n = 8;
  int port = free_port();
  image_process img(test_image(name_).string(), {"--port", std::to_string(port), "--max", std::to_string(n)},
                    dir_->path() / "echo.log");
  ASSERT_TRUE(img.ready("echo: listening on", seconds())) << img.log();
  for (int i = 0; i < n - 1; ++i) {  // connect and go: some say nothing, some reset
    int c = connect_to(port);
    ASSERT_GE(c, 0);
    if (i % 2) {
      linger l{1, 0};
      ::setsockopt(c, SOL_SOCKET, SO_LINGER, &l, sizeof l);  // close sends a reset
      ::send(c, "partial", 7, MSG_NOSIGNAL);
    }
    ::close(c);
  }
  std::string why;
  EXPECT_TRUE(echo_client(port, 5000, 99, why)) << why;
  ASSERT_EQ(img.wait(seconds()), 0) << img.log();
  EXPECT_NE(img.log().find("echo: /echo.log: served 8 connections"), std::string::npos) << img.log();
}

TEST_P(echo, bad_input_through_every_gate_is_a_negative_errno_and_nothing_breaks) {
  fs::path host_dir = dir_->path() / "data";
  fs::create_directories(host_dir);
  fs::create_symlink("/etc/passwd", host_dir / "escape");
  auto r = run(test_image(name_).string() + " --selftest --dir " + host_dir.string());
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_TRUE(std::regex_search(r.out, std::regex("echo: selftest: [0-9]+ checks passed"))) << r.out;
  EXPECT_EQ(r.out.find("got"), std::string::npos) << r.out;
}

INSTANTIATE_TEST_SUITE_P(profiles, echo, ::testing::Values("echo-1comp", "echo-mpk", "echo-mpk-light"),
                         [](const auto &info) { return param_name(info.param); });

// hello keeps its lines in a file on ramfs (vfs) and, with --time, times the round trip (time).
class hello : public ::testing::TestWithParam<const char *> {};

TEST_P(hello, lines_go_through_vfs_and_time_reports_the_round_trip) {
  std::string name = GetParam();
  auto b = build_test_image(source_dir() / "profiles" / (name + ".yaml"), name);
  ASSERT_EQ(b.status, 0) << b.out;
  if (profile_needs_pku(name) && !machine_has_pku()) GTEST_SKIP() << "PKU not available (base/pku: no usable protection keys here)";
  auto r = run(test_image(name).string() + " --time one 'two words'");
  ASSERT_EQ(r.status, 0) << r.out;
  std::string who = name == "hello-1comp" ? "main" : "app";
  std::string cons = name == "hello-1comp" ? "main" : "core";
  EXPECT_NE(r.out.find("[console@" + cons + "] hello from compartment " + who + "\n[console@" + cons + "] " + who +
                       " says: one\n[console@" + cons + "] " + who + " says: two words\n"),
            std::string::npos)
      << r.out;
  EXPECT_TRUE(std::regex_search(r.out, std::regex("3 lines through /hello.txt in [0-9]+ us; realtime [0-9]{10} s")))
      << r.out;
}

INSTANTIATE_TEST_SUITE_P(profiles, hello, ::testing::Values("hello-1comp", "hello-2comp", "hello-2comp-mpk"),
                         [](const auto &info) { return param_name(info.param); });

}  // namespace
}  // namespace flex::test
