// plat: each call does what its system call does, and refuses what the kernel would not check.
#include <flex/plat/plat.h>

#include <gtest/gtest.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
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

TEST(plat, directory_relative_calls_stay_beneath_their_directory) {
  char dir[] = "/tmp/plat-at-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  int d = plat_open(dir, O_PATH | O_DIRECTORY, 0);
  ASSERT_GE(d, 0);
  EXPECT_EQ(plat_mkdirat(d, "sub", 0700), 0);
  int f = plat_openat(d, "sub/f", O_CREAT | O_WRONLY, 0600);
  ASSERT_GE(f, 0);
  EXPECT_EQ(plat_write(f, "abc", 3), 3);
  plat_stat st{};
  EXPECT_EQ(plat_fstat(f, &st), 0);
  EXPECT_EQ(st.size, 3u);
  EXPECT_TRUE(S_ISREG(st.mode));
  EXPECT_EQ(plat_lseek(f, 0, SEEK_END), 3);
  plat_close(f);
  EXPECT_EQ(plat_fstatat(d, "sub", &st, 1), 0);
  EXPECT_TRUE(S_ISDIR(st.mode));
  int b = plat_openat_beneath(d, "sub/f", O_RDONLY, 0);
  if (b != -ENOSYS) {
    EXPECT_GE(b, 0);
    plat_close(b);
    EXPECT_EQ(plat_openat_beneath(d, "../etc", O_RDONLY, 0), -EXDEV);  // out through ".."
    EXPECT_EQ(plat_openat_beneath(d, "/etc/passwd", O_RDONLY, 0), -EXDEV);
    EXPECT_EQ(symlink("/etc/passwd", (std::string(dir) + "/out").c_str()), 0);
    EXPECT_EQ(plat_openat_beneath(d, "out", O_RDONLY, 0), -EXDEV);  // out through a symlink
    EXPECT_EQ(plat_unlinkat(d, "out", 0), 0);
  }
  int s = plat_openat(d, "sub", O_RDONLY | O_DIRECTORY, 0);
  ASSERT_GE(s, 0);
  char ents[1024];
  EXPECT_GT(plat_getdents(s, ents, sizeof ents), 0);
  EXPECT_EQ(plat_getdents(s, nullptr, 1), -EFAULT);
  plat_close(s);
  EXPECT_EQ(plat_renameat(d, "sub/f", d, "g"), 0);
  EXPECT_EQ(plat_unlinkat(d, "g", 0), 0);
  EXPECT_EQ(plat_unlinkat(d, "sub", 1), 0);
  EXPECT_EQ(plat_openat(d, nullptr, O_RDONLY, 0), -EFAULT);
  EXPECT_EQ(plat_fstat(d, nullptr), -EFAULT);
  plat_close(d);
  EXPECT_EQ(plat_rmdir(dir), 0);
}

TEST(plat, stacks_waits_ports_and_thread_ids) {
  void *st = plat_map_stack(64 << 10);
  ASSERT_NE(st, nullptr);
  static_cast<char *>(st)[0] = 1;
  static_cast<char *>(st)[(64 << 10) - 1] = 1;
  EXPECT_EQ(plat_unmap_stack(st, 64 << 10), 0);
  EXPECT_EQ(plat_map_stack(100), nullptr);  // not a multiple of the page size
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  EXPECT_EQ(plat_wait_fd(sv[0], PLAT_IN, 0), 0);
  EXPECT_EQ(plat_wait_fd(sv[0], PLAT_OUT, 0), PLAT_OUT);
  close(sv[0]);
  close(sv[1]);
  EXPECT_EQ(plat_wait_fd(sv[0], PLAT_IN, 0), -EBADF);
  int l = plat_socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(plat_bind(l, &sa, sizeof sa), 0);
  EXPECT_GT(plat_local_port(l), 0);
  plat_close(l);
  const int port_of_stdin = plat_local_port(0);
  EXPECT_TRUE(port_of_stdin < 0) << "fd 0 (stdin) is no bound inet socket, yet plat_local_port(0) returned "
                                 << port_of_stdin;
  EXPECT_GT(plat_thread_id(), 0);
}

}  // namespace
