// plat: each call does what its system call does, and refuses what the kernel would not check.
#include <flex/plat/plat.h>

#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>

namespace {

TEST(plat, files_round_trip_through_pwrite_pread_rename_and_unlink) {
  char dir[] = "/tmp/plat-test-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  std::string a = std::string(dir) + "/a", b = std::string(dir) + "/b";
  int fd = plat_open(a.c_str(), O_CREAT | O_RDWR | O_TRUNC, 0600);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(plat_pwrite(fd, "hello world", 11, 0), 11);
  EXPECT_EQ(plat_fsync(fd), 0);
  char buf[16] = {};
  EXPECT_EQ(plat_pread(fd, buf, 5, 6), 5);
  EXPECT_EQ(std::string(buf), "world");
  EXPECT_EQ(plat_ftruncate(fd, 5), 0);
  EXPECT_EQ(plat_pread(fd, buf, sizeof buf, 0), 5);
  EXPECT_EQ(plat_close(fd), 0);
  EXPECT_EQ(plat_rename(a.c_str(), b.c_str()), 0);
  EXPECT_EQ(plat_open(a.c_str(), O_RDONLY, 0), -ENOENT);
  EXPECT_EQ(plat_unlink(b.c_str()), 0);
  EXPECT_EQ(plat_mkdir((std::string(dir) + "/d").c_str(), 0700), 0);
  EXPECT_EQ(plat_rmdir((std::string(dir) + "/d").c_str()), 0);
  EXPECT_EQ(plat_rmdir(dir), 0);
}

TEST(plat, bad_arguments_are_negative_errnos) {
  EXPECT_EQ(plat_write(-1, "x", 1), -EBADF);
  EXPECT_EQ(plat_read(0, nullptr, 4), -EFAULT);
  EXPECT_EQ(plat_pread(0, nullptr, 4, 0), -EFAULT);
  char b[1];
  EXPECT_EQ(plat_pread(0, b, 1, -1), -EINVAL);
  EXPECT_EQ(plat_close(-1), -EBADF);
  EXPECT_EQ(plat_open(nullptr, O_RDONLY, 0), -EFAULT);
  EXPECT_EQ(plat_rename(nullptr, "x"), -EFAULT);
  EXPECT_EQ(plat_poll_wait(-1, nullptr, 1, 0), -EINVAL);
  EXPECT_EQ(plat_sleep_ns(-1), -EINVAL);
  EXPECT_EQ(plat_ftruncate(0, -1), -EINVAL);
}

TEST(plat, readiness_and_sockets) {
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  int ep = plat_poll_create();
  ASSERT_GE(ep, 0);
  EXPECT_EQ(plat_poll_ctl(ep, PLAT_POLL_ADD, sv[1], PLAT_IN, 77), 0);
  plat_event ev[4];
  EXPECT_EQ(plat_poll_wait(ep, ev, 4, 0), 0);  // nothing to read yet
  EXPECT_EQ(plat_send(sv[0], "ping", 4, 0), 4);
  ASSERT_EQ(plat_poll_wait(ep, ev, 4, 1000), 1);
  EXPECT_EQ(ev[0].cookie, 77u);
  EXPECT_TRUE(ev[0].events & PLAT_IN);
  char buf[8] = {};
  EXPECT_EQ(plat_recv(sv[1], buf, sizeof buf, 0), 4);
  EXPECT_EQ(std::string(buf), "ping");
  EXPECT_EQ(plat_set_nonblock(sv[1], 1), 0);
  EXPECT_EQ(plat_recv(sv[1], buf, sizeof buf, 0), -EAGAIN);
  close(sv[0]);
  close(sv[1]);
  close(ep);
}

TEST(plat, clocks_move_forward_and_sleep_sleeps) {
  int64_t a = plat_clock_ns(PLAT_CLOCK_MONOTONIC);
  EXPECT_EQ(plat_sleep_ns(2'000'000), 0);
  int64_t b = plat_clock_ns(PLAT_CLOCK_MONOTONIC);
  EXPECT_GE(b - a, 2'000'000);
  EXPECT_GT(plat_clock_ns(PLAT_CLOCK_REALTIME), int64_t{1'600'000'000} * 1'000'000'000);
}

}  // namespace
