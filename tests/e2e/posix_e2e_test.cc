// Plain POSIX programs on the libOS, built from their unmodified sources with a three-line lib.yaml, in one
// compartment, with net in a process of its own, and in an MPK domain (in the PKU guest where the CPU has
// no PKU): the chat server (apps/chat: sockets, select(), getaddrinfo, open/write/pread on a transcript),
// which real clients talk to (a conversation with commands, many clients at once, clients that
// misbehave), and kv (apps/kv: an epoll loop, accept4, a client that connects, SAVE to a host directory
// and the reload at the next start).
#include <gtest/gtest.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "test_util.h"

namespace flex::test {
namespace {

namespace fs = std::filesystem;

bool in_pku_guest() {
  return std::getenv("FLEX_PKU_VM_GUEST") != nullptr;
}

// A line client: what the server sent so far, read with a deadline.
class client {
 public:
  explicit client(int port) : fd_(connect_to(port)) {}
  ~client() {
    if (fd_ >= 0) ::close(fd_);
  }
  client(const client &) = delete;
  client &operator=(const client &) = delete;
  bool ok() const { return fd_ >= 0; }
  int fd() const { return fd_; }
  bool say(const std::string &line) {
    std::string s = line + "\n";
    return ::send(fd_, s.data(), s.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(s.size());
  }
  // Reads until `text` has arrived (true) or `seconds` pass or the server closes (false).
  bool wait_for(const std::string &text, int seconds) {
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    while (got_.find(text) == std::string::npos) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
      char buf[4096];
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) return false;
      got_.append(buf, static_cast<size_t>(n));
    }
    return true;
  }
  // How many times `text` has arrived.
  size_t count(const std::string &text) const {
    size_t n = 0;
    for (size_t at = got_.find(text); at != std::string::npos; at = got_.find(text, at + text.size())) ++n;
    return n;
  }
  const std::string &got() const { return got_; }

 private:
  int fd_;
  std::string got_;
};

// A profile's image, built, and a scratch folder; skipped where the profile needs PKU and the CPU has none.
class posix_image : public ::testing::TestWithParam<const char *> {
 protected:
  void SetUp() override {
    name_ = GetParam();
    auto b = build_test_image(source_dir() / "profiles" / (name_ + ".yaml"), name_);
    ASSERT_EQ(b.status, 0) << b.out;
    if (profile_needs_pku(name_) && !machine_has_pku()) GTEST_SKIP() << "PKU not available (base/pku: no usable protection keys here)";
    dir_ = std::make_unique<scratch_dir>("posix-" + name_);
  }
  int seconds() const { return in_pku_guest() ? 300 : 30; }

  std::string name_;
  std::unique_ptr<scratch_dir> dir_;
};

class chat : public posix_image {
 protected:
  void SetUp() override {
    posix_image::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    port_ = free_port();
    img_ = std::make_unique<image_process>(test_image(name_).string(),
                                           std::vector<std::string>{"-p", std::to_string(port_), "-l", "/chat.log"},
                                           dir_->path() / "chat.log");
    ASSERT_TRUE(img_->ready("chat: listening on 127.0.0.1:" + std::to_string(port_), seconds())) << img_->log();
  }

  int port_ = 0;
  std::unique_ptr<image_process> img_;
};

TEST_P(chat, the_source_is_the_unmodified_posix_program) {
  // Porting it took its lib.yaml alone: no gate, no sharing annotation, no Flex header in the source.
  const std::string src = read(source_dir() / "apps/chat/src/chat.c");
  EXPECT_EQ(src.find("flexos"), std::string::npos);
  EXPECT_EQ(src.find("<flex/"), std::string::npos);
  std::ifstream manifest(source_dir() / "apps/chat/lib.yaml");
  int lines = 0;
  for (std::string line; std::getline(manifest, line);) ++lines;
  EXPECT_LE(lines, 3);
}

TEST_P(chat, a_conversation_with_nicknames_the_list_and_the_transcript) {
  client a(port_), b(port_);
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_TRUE(a.wait_for("* welcome guest0 (from 127.0.0.1)", seconds())) << a.got() << img_->log();
  ASSERT_TRUE(b.wait_for("* welcome guest1", seconds())) << b.got();
  ASSERT_TRUE(a.wait_for("* guest1 joined", seconds())) << a.got();
  ASSERT_TRUE(a.say("/nick alice"));
  ASSERT_TRUE(b.wait_for("* guest0 is now alice", seconds())) << b.got();
  ASSERT_TRUE(a.say("hello, bob"));
  ASSERT_TRUE(b.wait_for("alice: hello, bob\n", seconds())) << b.got();
  EXPECT_EQ(a.count("alice: hello, bob"), 0u);  // not echoed to its sender
  ASSERT_TRUE(b.say("/who"));
  ASSERT_TRUE(b.wait_for("* alice\n* guest1\n", seconds())) << b.got();
  // The transcript is a file on vfs, written with write() and read back with pread().
  ASSERT_TRUE(b.say("/history"));
  ASSERT_TRUE(b.wait_for("* end of history", seconds())) << b.got();
  EXPECT_NE(b.got().find("* guest0 joined\n* guest1 joined\n* guest0 is now alice\nalice: hello, bob\n* end of history"),
            std::string::npos) << b.got();
  ASSERT_TRUE(b.say("/quit"));
  ASSERT_TRUE(b.wait_for("* bye", seconds())) << b.got();
  ASSERT_TRUE(a.wait_for("* guest1 left", seconds())) << a.got();
  EXPECT_FALSE(img_->exited()) << img_->log();
}

TEST_P(chat, many_clients_each_hear_every_other) {
  const int n = in_pku_guest() ? 6 : 20, lines = 5;
  std::vector<std::unique_ptr<client>> cs;
  for (int i = 0; i < n; ++i) {
    cs.push_back(std::make_unique<client>(port_));
    ASSERT_TRUE(cs.back()->ok());
    ASSERT_TRUE(cs.back()->wait_for("* welcome guest" + std::to_string(i), seconds())) << cs.back()->got();
  }
  for (int k = 0; k < lines; ++k) {
    for (int i = 0; i < n; ++i) ASSERT_TRUE(cs[static_cast<size_t>(i)]->say("line " + std::to_string(k) + " from " + std::to_string(i)));
  }
  for (int i = 0; i < n; ++i) {
    client &c = *cs[static_cast<size_t>(i)];
    const int other = (i + 1) % n;
    ASSERT_TRUE(c.wait_for("guest" + std::to_string(other) + ": line " + std::to_string(lines - 1) + " from " +
                               std::to_string(other) + "\n",
                           seconds()))
        << c.got();
  }
  // Every line reaches every other client once and in the order it was sent.
  for (int i = 0; i < n; ++i) {
    client &c = *cs[static_cast<size_t>(i)];
    for (int j = 0; j < n; ++j) {
      if (j == i) continue;
      const std::string prefix = "guest" + std::to_string(j) + ": line ";
      ASSERT_TRUE(c.wait_for(prefix + std::to_string(lines - 1) + " from " + std::to_string(j) + "\n", seconds()))
          << c.got();
      size_t last = 0;
      for (int k = 0; k < lines; ++k) {
        const std::string line = prefix + std::to_string(k) + " from " + std::to_string(j) + "\n";
        EXPECT_EQ(c.count(line), 1u) << line;
        size_t at = c.got().find(line);
        EXPECT_GE(at, last) << line;
        last = at;
      }
    }
  }
}

TEST_P(chat, clients_that_misbehave_leave_the_server_serving_the_others) {
  {
    client rude(port_);
    ASSERT_TRUE(rude.ok());
    ASSERT_TRUE(rude.wait_for("* welcome", seconds()));
    std::string flood(3000, 'x');  // longer than a line may be, with no newline: dropped
    ASSERT_EQ(::send(rude.fd(), flood.data(), flood.size(), MSG_NOSIGNAL), static_cast<ssize_t>(flood.size()));
    linger l{1, 0};
    ::setsockopt(rude.fd(), SOL_SOCKET, SO_LINGER, &l, sizeof l);  // its close resets the connection
  }
  client a(port_), b(port_);
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_TRUE(b.wait_for("* welcome", seconds())) << b.got();
  ASSERT_TRUE(a.wait_for("joined", seconds())) << a.got();
  ASSERT_TRUE(a.say("still here"));
  ASSERT_TRUE(b.wait_for(": still here\n", seconds())) << b.got() << img_->log();
  EXPECT_EQ(b.got().find("xxxx"), std::string::npos) << "the overlong line was relayed";
  EXPECT_FALSE(img_->exited()) << img_->log();
}

INSTANTIATE_TEST_SUITE_P(profiles, chat, ::testing::Values("chat-1comp", "chat-2comp-process", "chat-2comp-mpk"),
                         [](const auto &info) { return param_name(info.param); });

// kv: an epoll loop over non-blocking sockets, and its client (the same image with -c), which connects;
// SAVE writes a file in a host directory (FLEX_MOUNTS), which the next start reads back.
class kv : public posix_image {
 protected:
  void SetUp() override {
    posix_image::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    fs::create_directories(dir_->path() / "data");
  }
  std::unique_ptr<image_process> start(int port, const std::string &log) {
    ::setenv("FLEX_MOUNTS", ("/data=" + (dir_->path() / "data").string()).c_str(), 1);
    auto img = std::make_unique<image_process>(
        test_image(name_).string(), std::vector<std::string>{"-p", std::to_string(port), "-f", "/data/kv.db"},
        dir_->path() / log);
    ::unsetenv("FLEX_MOUNTS");
    return img;
  }
  // The client: the same image, one request.
  command_result ask(int port, const std::string &request) {
    return run(test_image(name_).string() + " -c 127.0.0.1 " + std::to_string(port) + " " + request + " 2>&1");
  }
};

TEST_P(kv, the_client_image_talks_to_the_server_and_saved_data_survives_a_restart) {
  const int port = free_port();
  {
    auto img = start(port, "first.log");
    ASSERT_TRUE(img->ready("kv: listening on 127.0.0.1:" + std::to_string(port), seconds())) << img->log();
    EXPECT_NE(img->log().find("kv: loaded 0 keys"), std::string::npos) << img->log();
    auto r = ask(port, "SET greeting hello world");
    EXPECT_EQ(r.status, 0) << r.out;
    EXPECT_EQ(r.out, "+OK\n");
    EXPECT_EQ(ask(port, "SET other 42").out, "+OK\n");
    EXPECT_EQ(ask(port, "GET greeting").out, "$hello world\n");
    EXPECT_EQ(ask(port, "DEL other").out, ":1\n");
    EXPECT_EQ(ask(port, "GET other").out, "$-\n");
    EXPECT_EQ(ask(port, "KEYS").out, ":1\n");
    auto bad = ask(port, "FROB x");
    EXPECT_EQ(bad.status, 1);
    EXPECT_EQ(bad.out, "-ERR unknown command or missing argument\n");
    EXPECT_EQ(ask(port, "SAVE").out, "+OK\n");
    // The file landed in the host directory, written to a temporary and renamed over.
    EXPECT_EQ(read(dir_->path() / "data/kv.db"), "greeting hello world\n");
    EXPECT_FALSE(fs::exists(dir_->path() / "data/kv.db.tmp"));
  }
  auto again = start(port, "second.log");
  ASSERT_TRUE(again->ready("kv: listening on", seconds())) << again->log();
  EXPECT_NE(again->log().find("kv: loaded 1 keys"), std::string::npos) << again->log();
  EXPECT_EQ(ask(port, "GET greeting").out, "$hello world\n");
  // A client with nobody to talk to says so and fails.
  auto none = run(test_image(name_).string() + " -c 127.0.0.1 " + std::to_string(free_port()) + " KEYS 2>&1");
  EXPECT_EQ(none.status, 2) << none.out;
  EXPECT_NE(none.out.find("kv: connect: Connection refused"), std::string::npos) << none.out;
}

TEST_P(kv, many_connections_at_once_each_get_their_own_answers) {
  const int port = free_port();
  auto img = start(port, "kv.log");
  ASSERT_TRUE(img->ready("kv: listening on", seconds())) << img->log();
  const int n = in_pku_guest() ? 8 : 40;
  std::vector<std::unique_ptr<client>> cs;
  for (int i = 0; i < n; ++i) {
    cs.push_back(std::make_unique<client>(port));
    ASSERT_TRUE(cs.back()->ok());
  }
  for (int i = 0; i < n; ++i) ASSERT_TRUE(cs[static_cast<size_t>(i)]->say("SET key" + std::to_string(i) + " value" + std::to_string(i)));
  for (int i = 0; i < n; ++i) ASSERT_TRUE(cs[static_cast<size_t>(i)]->wait_for("+OK\n", seconds())) << cs[static_cast<size_t>(i)]->got();
  for (int i = 0; i < n; ++i) ASSERT_TRUE(cs[static_cast<size_t>(i)]->say("GET key" + std::to_string((i + 1) % n)));
  for (int i = 0; i < n; ++i) {
    const std::string want = "$value" + std::to_string((i + 1) % n) + "\n";
    EXPECT_TRUE(cs[static_cast<size_t>(i)]->wait_for(want, seconds())) << cs[static_cast<size_t>(i)]->got();
  }
  ASSERT_TRUE(cs[0]->say("KEYS"));
  EXPECT_TRUE(cs[0]->wait_for(":" + std::to_string(n) + "\n", seconds())) << cs[0]->got();
  EXPECT_FALSE(img->exited()) << img->log();
}

INSTANTIATE_TEST_SUITE_P(profiles, kv, ::testing::Values("kv-1comp", "kv-2comp-process", "kv-2comp-mpk"),
                         [](const auto &info) { return param_name(info.param); });

// Porting them takes their lib.yaml alone: flex-port finds nothing to change in either.
TEST(posix_port, flex_port_leaves_the_posix_programs_as_they_are) {
  for (const char *app : {"chat", "kv"}) {
    scratch_dir out(std::string("port-") + app);
    fs::remove_all(out.path());
    auto r = run((source_dir() / "transform/flex-port/flex-port").string() + " --app " +
                 (source_dir() / "apps" / app).string() + " --root " + source_dir().string() + " -o " +
                 out.path().string() + " 2>&1");
    ASSERT_EQ(r.status, 0) << r.out;
    EXPECT_NE(r.out.find("flex-port: summary: 0 gates inserted, 0 variables shared, 0 calls left for you"),
              std::string::npos)
        << r.out;
    const std::string src = std::string("src/") + app + ".c";
    EXPECT_EQ(read(out.path() / src), read(source_dir() / "apps" / app / src)) << app;
  }
}

}  // namespace
}  // namespace flex::test
