// The POSIX layer over net, vfs, time and console with plain calls, under its test names (px_socket,
// ...): sockets end to end on loopback with POSIX addresses, errno on every failure, non-blocking mode,
// poll, select and epoll (one-shot included), numeric name resolution, files on vfs paths, clocks and
// sleeps. The descriptors are the layer's own numbers, not the host's.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <stdio.h>
#include <time.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <chrono>
#include <thread>

#include <flex/runtime/self.h>
#include <flex/sched/sched.h>

// The compartment identity flexbuild links into an image (console prints it).
extern "C" const flex_self_info flex_self = {"unit", 0};

extern "C" {
int px_socket(int, int, int);
int px_pipe(int *);
int px_chdir(const char *);
char *px_getcwd(char *, size_t);
int px_pipe2(int *, int);
int px_bind(int, const sockaddr *, socklen_t);
int px_listen(int, int);
int px_accept(int, sockaddr *, socklen_t *);
int px_accept4(int, sockaddr *, socklen_t *, int);
int px_connect(int, const sockaddr *, socklen_t);
ssize_t px_read(int, void *, size_t);
ssize_t px_write(int, const void *, size_t);
ssize_t px_readv(int, const iovec *, int);
ssize_t px_writev(int, const iovec *, int);
ssize_t px_recv(int, void *, size_t, int);
ssize_t px_send(int, const void *, size_t, int);
int px_close(int);
int px_dup(int);
void px_posix_read_ahead(int);
void px_posix_before_call(long);
int px_dup2(int, int);
int px_dup3(int, int, int);
int px_shutdown(int, int);
int px_fcntl(int, int, ...);
int px_setsockopt(int, int, int, const void *, socklen_t);
int px_getsockopt(int, int, int, void *, socklen_t *);
int px_getsockname(int, sockaddr *, socklen_t *);
int px_getpeername(int, sockaddr *, socklen_t *);
int px_poll(pollfd *, nfds_t, int);
int px_select(int, fd_set *, fd_set *, fd_set *, timeval *);
int px_epoll_create1(int);
int px_epoll_ctl(int, int, int, epoll_event *);
int px_epoll_wait(int, epoll_event *, int, int);
int px_getaddrinfo(const char *, const char *, const addrinfo *, addrinfo **);
void px_freeaddrinfo(addrinfo *);
int px_getnameinfo(const sockaddr *, socklen_t, char *, socklen_t, char *, socklen_t, int);
int px_open(const char *, int, ...);
off_t px_lseek(int, off_t, int);
int px_fstat(int, struct stat *);
int px_stat(const char *, struct stat *);
int px_rename(const char *, const char *);
int px_unlink(const char *);
int px_mkdir(const char *, mode_t);
int px_rmdir(const char *);
int px_fsync(int);
int px_clock_gettime(clockid_t, timespec *);
long px_posix_syscall(long, long, long, long, long, long, long);
unsigned long px_posix_unserved(long);
FILE *px_fopen(const char *, const char *);
FILE *px_fdopen(int, const char *);
int px_nanosleep(const timespec *, timespec *);
}

namespace {

// A host directory mounted through FLEX_MOUNTS before the layer's first file call, and an entry that is
// not TARGET=HOSTDIR, which is reported and skipped.
std::string make_host_dir() {
  char tmpl[] = "/tmp/flex_posix_test_XXXXXX";
  const char *dir = ::mkdtemp(tmpl);
  std::string d = dir ? dir : "";
  ::setenv("FLEX_MOUNTS", ("/host=" + d + ",nonsense").c_str(), 1);
  return d;
}
const std::string g_host_dir = make_host_dir();

// sched's host thread is this one: blocking calls block its sched thread.
[[maybe_unused]] const int g_sched_home = sched_self();

// errno after a call that must fail with -1.
int fails_with(long r) {
  return r == -1 ? errno : -1000;
}

sockaddr_in loopback(int port) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(port));
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return sa;
}

// An epoll instance watching fd for `events`, handing back `data`.
int epoll_on(int fd, std::uint32_t events, std::uint64_t data) {
  const int ep = px_epoll_create1(0);
  EXPECT_GE(ep, 0);
  epoll_event e{};
  e.events = events;
  e.data.u64 = data;
  EXPECT_EQ(px_epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e), 0);
  return ep;
}

// A listening socket on an ephemeral loopback port, a client connected to it and the accepted side.
struct connection {
  int listener = -1, client = -1, server = -1, port = 0;
  connection() {
    listener = px_socket(AF_INET, SOCK_STREAM, 0);
    EXPECT_GE(listener, 0);
    int on = 1;
    EXPECT_EQ(px_setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on), 0);
    sockaddr_in sa = loopback(0);
    EXPECT_EQ(px_bind(listener, reinterpret_cast<sockaddr *>(&sa), sizeof sa), 0);
    EXPECT_EQ(px_listen(listener, 16), 0);
    socklen_t len = sizeof sa;
    EXPECT_EQ(px_getsockname(listener, reinterpret_cast<sockaddr *>(&sa), &len), 0);
    port = ntohs(sa.sin_port);
    client = px_socket(AF_INET, SOCK_STREAM, 0);
    EXPECT_GE(client, 0);
    sockaddr_in to = loopback(port);
    EXPECT_EQ(px_connect(client, reinterpret_cast<sockaddr *>(&to), sizeof to), 0);
    sockaddr_in peer{};
    len = sizeof peer;
    server = px_accept(listener, reinterpret_cast<sockaddr *>(&peer), &len);
    EXPECT_GE(server, 0);
    EXPECT_EQ(len, sizeof peer);
    EXPECT_EQ(peer.sin_family, AF_INET);
    EXPECT_EQ(peer.sin_addr.s_addr, htonl(INADDR_LOOPBACK));
  }
  ~connection() {
    for (int fd : {server, client, listener}) {
      if (fd >= 0) px_close(fd);
    }
  }
};

// c's server end with a small send buffer and both ends non-blocking: its writes soon outrun the socket.
void narrow(const connection &c) {
  int small = 4096;
  EXPECT_EQ(px_setsockopt(c.server, SOL_SOCKET, SO_SNDBUF, &small, sizeof small), 0);
  EXPECT_EQ(px_fcntl(c.server, F_SETFL, O_NONBLOCK), 0);
  EXPECT_EQ(px_fcntl(c.client, F_SETFL, O_NONBLOCK), 0);
}

TEST(posix, a_tcp_conversation_with_posix_addresses) {
  connection c;
  EXPECT_GT(c.port, 0);
  // Descriptors are the layer's own: the lowest free numbers after the standard streams.
  EXPECT_EQ(c.listener, 3);
  EXPECT_EQ(c.client, 4);
  EXPECT_EQ(c.server, 5);
  EXPECT_EQ(px_write(c.client, "ping\n", 5), 5);
  char buf[16] = {};
  EXPECT_EQ(px_read(c.server, buf, sizeof buf), 5);
  EXPECT_STREQ(buf, "ping\n");
  iovec out[2] = {{const_cast<char *>("po"), 2}, {const_cast<char *>("ng"), 2}};
  EXPECT_EQ(px_writev(c.server, out, 2), 4);
  char a[3] = {}, b[3] = {};
  iovec in[2] = {{a, 2}, {b, 2}};
  EXPECT_EQ(px_readv(c.client, in, 2), 4);
  EXPECT_STREQ(a, "po");
  EXPECT_STREQ(b, "ng");
  sockaddr_in peer{};
  socklen_t len = sizeof peer;
  ASSERT_EQ(px_getpeername(c.client, reinterpret_cast<sockaddr *>(&peer), &len), 0);
  EXPECT_EQ(ntohs(peer.sin_port), c.port);
  EXPECT_EQ(px_shutdown(c.client, SHUT_WR), 0);
  EXPECT_EQ(px_recv(c.server, buf, sizeof buf, 0), 0);  // end of stream
}

TEST(posix, failures_set_errno_and_return_minus_one) {
  char buf[4];
  EXPECT_EQ(fails_with(px_read(77, buf, sizeof buf)), EBADF);
  EXPECT_EQ(fails_with(px_read(-1, buf, sizeof buf)), EBADF);
  EXPECT_EQ(fails_with(px_close(77)), EBADF);
  EXPECT_EQ(fails_with(px_socket(AF_UNIX, SOCK_STREAM, 0)), EAFNOSUPPORT);
  EXPECT_EQ(fails_with(px_socket(AF_INET, SOCK_DGRAM, 0)), EPROTONOSUPPORT);
  int s = px_socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(s, 0);
  sockaddr_in closed = loopback(1);  // nothing listens on port 1
  EXPECT_EQ(fails_with(px_connect(s, reinterpret_cast<sockaddr *>(&closed), sizeof closed)), ECONNREFUSED);
  sockaddr_in short_one = loopback(0);
  EXPECT_EQ(fails_with(px_bind(s, reinterpret_cast<sockaddr *>(&short_one), 4)), EINVAL);
  EXPECT_EQ(fails_with(px_lseek(s, 0, SEEK_SET)), ESPIPE);
  EXPECT_EQ(px_close(s), 0);
  int f = px_open("/posix-test-file", O_RDWR | O_CREAT | O_TRUNC, 0644);
  ASSERT_GE(f, 0);
  EXPECT_EQ(fails_with(px_listen(f, 1)), ENOTSOCK);
  EXPECT_EQ(fails_with(px_recv(f, buf, sizeof buf, 0)), ENOTSOCK);
  EXPECT_EQ(px_close(f), 0);
  EXPECT_EQ(fails_with(px_open("/no/such/dir/file", O_RDONLY)), ENOENT);
}

TEST(posix, non_blocking_mode_through_fcntl_and_accept4) {
  connection c;
  EXPECT_EQ(px_fcntl(c.server, F_GETFL) & O_NONBLOCK, 0);
  ASSERT_EQ(px_fcntl(c.server, F_SETFL, px_fcntl(c.server, F_GETFL) | O_NONBLOCK), 0);
  EXPECT_NE(px_fcntl(c.server, F_GETFL) & O_NONBLOCK, 0);
  char buf[8];
  EXPECT_EQ(fails_with(px_read(c.server, buf, sizeof buf)), EAGAIN);
  ASSERT_EQ(px_fcntl(c.listener, F_SETFL, O_NONBLOCK), 0);
  EXPECT_EQ(fails_with(px_accept4(c.listener, nullptr, nullptr, SOCK_NONBLOCK)), EAGAIN);
  EXPECT_EQ(px_fcntl(c.server, F_SETFD, FD_CLOEXEC), 0);
  EXPECT_EQ(px_fcntl(c.server, F_GETFD), FD_CLOEXEC);
}

TEST(posix, poll_and_select_see_readiness_and_time_out) {
  connection c;
  pollfd p[2] = {{c.server, POLLIN, 0}, {c.listener, POLLIN, 0}};
  EXPECT_EQ(px_poll(p, 2, 20), 0);  // nothing to read, no one connecting
  EXPECT_EQ(px_write(c.client, "x", 1), 1);
  ASSERT_EQ(px_poll(p, 2, 2000), 1);
  EXPECT_EQ(p[0].revents, POLLIN);
  EXPECT_EQ(p[1].revents, 0);
  // The same socket polled again is still registered: the data is still there.
  ASSERT_EQ(px_poll(p, 1, 0), 1);
  char buf[4];
  EXPECT_EQ(px_read(c.server, buf, sizeof buf), 1);
  // A bad descriptor is POLLNVAL; a negative one is skipped.
  pollfd bad[2] = {{77, POLLIN, 0}, {-1, POLLIN, 0}};
  EXPECT_EQ(px_poll(bad, 2, 0), 1);
  EXPECT_EQ(bad[0].revents, POLLNVAL);
  EXPECT_EQ(bad[1].revents, 0);

  fd_set rd, wr;
  FD_ZERO(&rd);
  FD_ZERO(&wr);
  FD_SET(c.server, &rd);
  FD_SET(c.client, &wr);
  timeval tv = {2, 0};
  ASSERT_EQ(px_select(c.server + 1, &rd, &wr, nullptr, &tv), 1);  // the client can write; nothing to read
  EXPECT_FALSE(FD_ISSET(c.server, &rd));
  EXPECT_TRUE(FD_ISSET(c.client, &wr));
  EXPECT_EQ(px_write(c.client, "y", 1), 1);
  FD_ZERO(&rd);
  FD_SET(c.server, &rd);
  FD_SET(c.listener, &rd);
  ASSERT_EQ(px_select(c.server + 1, &rd, nullptr, nullptr, nullptr), 1);
  EXPECT_TRUE(FD_ISSET(c.server, &rd));
  EXPECT_FALSE(FD_ISSET(c.listener, &rd));
  FD_ZERO(&rd);
  FD_SET(77, &rd);
  EXPECT_EQ(fails_with(px_select(78, &rd, nullptr, nullptr, &tv)), EBADF);
}

TEST(posix, epoll_reports_the_data_it_was_given_and_one_shot_disarms) {
  connection c;
  int ep = px_epoll_create1(EPOLL_CLOEXEC);
  ASSERT_GE(ep, 0);
  epoll_event e{};
  e.events = EPOLLIN | EPOLLONESHOT;
  e.data.u64 = 0xfeedface;
  ASSERT_EQ(px_epoll_ctl(ep, EPOLL_CTL_ADD, c.server, &e), 0);
  EXPECT_EQ(fails_with(px_epoll_ctl(ep, EPOLL_CTL_ADD, c.server, &e)), EEXIST);
  epoll_event out[4];
  EXPECT_EQ(px_epoll_wait(ep, out, 4, 20), 0);
  EXPECT_EQ(px_write(c.client, "z", 1), 1);
  ASSERT_EQ(px_epoll_wait(ep, out, 4, 2000), 1);
  EXPECT_EQ(out[0].events, static_cast<uint32_t>(EPOLLIN));
  EXPECT_EQ(out[0].data.u64, 0xfeedfaceu);
  EXPECT_EQ(px_epoll_wait(ep, out, 4, 20), 0);  // one-shot: disarmed though the byte is unread
  e.events = EPOLLIN;
  ASSERT_EQ(px_epoll_ctl(ep, EPOLL_CTL_MOD, c.server, &e), 0);
  EXPECT_EQ(px_epoll_wait(ep, out, 4, 2000), 1);  // level-triggered again
  ASSERT_EQ(px_epoll_ctl(ep, EPOLL_CTL_DEL, c.server, nullptr), 0);
  EXPECT_EQ(px_epoll_wait(ep, out, 4, 20), 0);
  EXPECT_EQ(fails_with(px_epoll_ctl(ep, EPOLL_CTL_DEL, c.server, nullptr)), ENOENT);
  int f = px_open("/posix-epoll-file", O_RDWR | O_CREAT, 0644);
  ASSERT_GE(f, 0);
  EXPECT_EQ(fails_with(px_epoll_ctl(ep, EPOLL_CTL_ADD, f, &e)), EPERM);
  EXPECT_EQ(fails_with(px_epoll_wait(f, out, 4, 0)), EINVAL);
  EXPECT_EQ(px_close(f), 0);
  EXPECT_EQ(px_close(ep), 0);
}

TEST(posix, a_pipe_wakes_an_epoll_wait_and_ends_its_stream) {
  int p[2] = {-1, -1};
  ASSERT_EQ(px_pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
  EXPECT_NE(p[0], p[1]);
  EXPECT_EQ(px_fcntl(p[0], F_GETFD), FD_CLOEXEC);
  char buf[8] = {};
  EXPECT_EQ(fails_with(px_read(p[0], buf, sizeof buf)), EAGAIN);
  int ep = px_epoll_create1(0);
  ASSERT_GE(ep, 0);
  epoll_event e{};
  e.events = EPOLLIN;
  e.data.u64 = 42;
  ASSERT_EQ(px_epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &e), 0);
  epoll_event out[2];
  EXPECT_EQ(px_epoll_wait(ep, out, 2, 10), 0);
  std::thread writer([&] { EXPECT_EQ(px_write(p[1], "!", 1), 1); });
  ASSERT_EQ(px_epoll_wait(ep, out, 2, 5000), 1);
  writer.join();
  EXPECT_EQ(out[0].data.u64, 42u);
  EXPECT_EQ(px_read(p[0], buf, sizeof buf), 1);
  EXPECT_EQ(buf[0], '!');
  EXPECT_EQ(px_close(p[1]), 0);
  EXPECT_EQ(px_read(p[0], buf, sizeof buf), 0);  // end of stream
  EXPECT_EQ(px_close(ep), 0);
  EXPECT_EQ(px_close(p[0]), 0);
  // By number, as a caught program makes it; a blocking pipe by default.
  int q[2] = {-1, -1};
  ASSERT_EQ(px_posix_syscall(SYS_pipe2, reinterpret_cast<long>(q), 0, 0, 0, 0, 0), 0);
  EXPECT_EQ(px_fcntl(q[0], F_GETFL) & O_NONBLOCK, 0);
  EXPECT_EQ(px_posix_syscall(SYS_write, q[1], reinterpret_cast<long>("ab"), 2, 0, 0, 0), 2);
  EXPECT_EQ(px_posix_syscall(SYS_read, q[0], reinterpret_cast<long>(buf), sizeof buf, 0, 0, 0), 2);
  EXPECT_EQ(px_posix_syscall(SYS_pipe2, reinterpret_cast<long>(q), O_DIRECT, 0, 0, 0, 0), -EINVAL);
  EXPECT_EQ(px_posix_syscall(SYS_pipe, 0, 0, 0, 0, 0, 0), -EFAULT);
  EXPECT_EQ(px_close(q[0]), 0);
  EXPECT_EQ(px_close(q[1]), 0);
}

// Duplicates name one object: the pipe's write end stays open while one of its descriptors does, and a
// file's position is shared. dup2 onto an open descriptor closes what it named first (a standard stream
// becomes the socket, as a forked server's child does with its connection).
TEST(posix, duplicates_share_one_object_closed_with_the_last) {
  int p[2] = {-1, -1};
  ASSERT_EQ(px_pipe2(p, O_NONBLOCK), 0);
  const int w2 = px_dup(p[1]);
  ASSERT_GE(w2, 0);
  EXPECT_NE(w2, p[1]);
  EXPECT_EQ(px_dup2(p[1], 40), 40);
  EXPECT_EQ(px_dup2(40, 40), 40);
  EXPECT_EQ(px_close(p[1]), 0);
  EXPECT_EQ(px_write(w2, "a", 1), 1);
  EXPECT_EQ(px_close(w2), 0);
  EXPECT_EQ(px_write(40, "b", 1), 1);
  char buf[8] = {};
  EXPECT_EQ(px_read(p[0], buf, sizeof buf), 2);
  EXPECT_STREQ(buf, "ab");
  EXPECT_EQ(fails_with(px_read(p[0], buf, sizeof buf)), EAGAIN);  // a writer is still open
  EXPECT_EQ(px_close(40), 0);
  EXPECT_EQ(px_read(p[0], buf, sizeof buf), 0);  // the last one closed: end of stream
  // Onto a standard stream; F_DUPFD from a floor; dup3's flags.
  int q[2] = {-1, -1};
  ASSERT_EQ(px_pipe2(q, O_NONBLOCK), 0);
  const int console = px_dup(1);
  ASSERT_GE(console, 0);
  EXPECT_EQ(px_dup2(q[1], 1), 1);
  EXPECT_EQ(px_write(1, "c", 1), 1);
  EXPECT_EQ(px_read(q[0], buf, sizeof buf), 1);
  EXPECT_EQ(buf[0], 'c');
  const int high = px_fcntl(q[1], F_DUPFD_CLOEXEC, 100);
  EXPECT_GE(high, 100);
  EXPECT_EQ(px_fcntl(high, F_GETFD), FD_CLOEXEC);
  EXPECT_EQ(px_dup3(q[1], 50, O_CLOEXEC), 50);
  EXPECT_EQ(px_fcntl(50, F_GETFD), FD_CLOEXEC);
  EXPECT_EQ(fails_with(px_dup3(q[1], q[1], 0)), EINVAL);
  EXPECT_EQ(fails_with(px_dup2(999999, 5)), EBADF);
  EXPECT_EQ(fails_with(px_dup(-1)), EBADF);
  for (int fd : {q[1], high, 50, q[0]}) EXPECT_EQ(px_close(fd), 0);
  EXPECT_EQ(fails_with(px_write(1, "d", 1)), EPIPE);  // fd 1 names the pipe, whose reader is gone
  EXPECT_EQ(px_dup2(console, 1), 1);                   // the console again
  EXPECT_EQ(px_close(console), 0);
  EXPECT_EQ(px_write(1, "", 0), 0);
  // A file's position is the object's: what one descriptor reads moves the other.
  int f = px_open("/posix-dup.txt", O_RDWR | O_CREAT | O_TRUNC, 0644);
  ASSERT_GE(f, 0);
  EXPECT_EQ(px_write(f, "0123456789", 10), 10);
  EXPECT_EQ(px_lseek(f, 0, SEEK_SET), 0);
  const int g = px_dup(f);
  EXPECT_EQ(px_read(f, buf, 4), 4);
  EXPECT_EQ(px_read(g, buf, 2), 2);
  EXPECT_EQ(buf[0], '4');
  EXPECT_EQ(px_close(f), 0);
  EXPECT_EQ(px_close(g), 0);
  EXPECT_EQ(px_unlink("/posix-dup.txt"), 0);
}

// Read ahead (on where net is across a process boundary; forced on here): epoll_wait reads the sockets it
// reports readable in one batch, and the reads that follow take those bytes in order, as much as each
// asks for; a socket holding bytes read ahead stays readable to epoll_wait and poll, a peek leaves them,
// and the end of the stream is seen by every read after the bytes.
TEST(posix, bytes_read_ahead_are_served_in_order_and_keep_the_socket_readable) {
  px_posix_read_ahead(1);
  int p[2] = {-1, -1};
  ASSERT_EQ(px_pipe2(p, O_NONBLOCK), 0);
  const int ep = epoll_on(p[0], EPOLLIN, 7);
  ASSERT_EQ(px_write(p[1], "hello", 5), 5);
  epoll_event out[2];
  ASSERT_EQ(px_epoll_wait(ep, out, 2, 5000), 1);
  EXPECT_EQ(out[0].data.u64, 7u);
  ASSERT_EQ(px_write(p[1], " world", 6), 6);  // after the read ahead: it comes after its bytes
  char buf[32] = {};
  EXPECT_EQ(px_recv(p[0], buf, 2, MSG_PEEK), 2);
  EXPECT_EQ(std::string(buf, 2), "he");
  EXPECT_EQ(px_read(p[0], buf, 2), 2);
  EXPECT_EQ(std::string(buf, 2), "he");
  EXPECT_EQ(px_epoll_wait(ep, out, 2, 0), 1);  // "llo" is still there
  pollfd pf{p[0], POLLIN, 0};
  EXPECT_EQ(px_poll(&pf, 1, 0), 1);
  EXPECT_EQ(pf.revents & POLLIN, POLLIN);
  EXPECT_EQ(px_read(p[0], buf, sizeof buf), 3);
  EXPECT_EQ(std::string(buf, 3), "llo");
  EXPECT_EQ(px_read(p[0], buf, sizeof buf), 6);
  EXPECT_EQ(std::string(buf, 6), " world");
  EXPECT_EQ(fails_with(px_read(p[0], buf, sizeof buf)), EAGAIN);
  EXPECT_EQ(px_close(p[1]), 0);
  ASSERT_EQ(px_epoll_wait(ep, out, 2, 5000), 1);  // the end of the stream, read ahead
  EXPECT_EQ(px_read(p[0], buf, sizeof buf), 0);
  EXPECT_EQ(px_read(p[0], buf, sizeof buf), 0);
  EXPECT_EQ(px_epoll_wait(ep, out, 2, 0), 1);
  EXPECT_EQ(px_close(ep), 0);
  EXPECT_EQ(px_close(p[0]), 0);
  px_posix_read_ahead(-1);
}

// Held writes (hold.cc), as an image whose net is a process of its own makes them once its program's
// calls are announced: a non-blocking socket's write waits for the next call that may block or that is
// not socket I/O, or for epoll_wait's crossing; a write that is not held, and a blocking read, send what
// is held first.
TEST(posix, writes_are_held_until_a_call_that_is_not_socket_io_and_keep_their_order) {
  px_posix_read_ahead(1);
  px_posix_before_call(SYS_getpid);  // from now on every call is announced
  int p[2] = {-1, -1};
  ASSERT_EQ(px_pipe2(p, O_NONBLOCK), 0);
  char buf[32768] = {};
  ASSERT_EQ(px_write(p[1], "one", 3), 3);
  EXPECT_EQ(fails_with(px_read(p[0], buf, sizeof buf)), EAGAIN);  // held
  ASSERT_EQ(px_write(p[1], "two", 3), 3);
  px_posix_before_call(SYS_read);  // socket I/O: they stay held
  EXPECT_EQ(fails_with(px_read(p[0], buf, sizeof buf)), EAGAIN);
  px_posix_before_call(SYS_nanosleep);  // not socket I/O: they go first
  ASSERT_EQ(px_read(p[0], buf, sizeof buf), 6);
  EXPECT_EQ(std::string(buf, 6), "onetwo");

  // A write too large to hold sends what is held first.
  const std::string big(20000, 'b');
  ASSERT_EQ(px_write(p[1], "a", 1), 1);
  ASSERT_EQ(px_write(p[1], big.data(), big.size()), static_cast<ssize_t>(big.size()));
  std::string got;
  for (int i = 0; i < 1000 && got.size() < big.size() + 1; ++i) {
    ssize_t n = px_read(p[0], buf, sizeof buf);
    if (n > 0) got.append(buf, static_cast<size_t>(n));
  }
  EXPECT_TRUE(got == "a" + big) << got.substr(0, 8);

  // epoll_wait's crossing carries them: the wait sees them arrive.
  const int ep = epoll_on(p[0], EPOLLIN, 3);
  ASSERT_EQ(px_write(p[1], "ping", 4), 4);
  epoll_event out[2];
  ASSERT_EQ(px_epoll_wait(ep, out, 2, 5000), 1);
  EXPECT_EQ(out[0].data.u64, 3u);
  ASSERT_EQ(px_read(p[0], buf, sizeof buf), 4);
  EXPECT_EQ(std::string(buf, 4), "ping");

  // A blocking read may wait for an answer to what is held: it sends it first (else it waits for ever).
  ASSERT_EQ(px_fcntl(p[0], F_SETFL, 0), 0);
  ASSERT_EQ(px_write(p[1], "answer", 6), 6);
  ASSERT_EQ(px_read(p[0], buf, sizeof buf), 6);
  EXPECT_EQ(std::string(buf, 6), "answer");
  // A blocking socket's write is never held.
  ASSERT_EQ(px_fcntl(p[1], F_SETFL, 0), 0);
  ASSERT_EQ(px_write(p[1], "now", 3), 3);
  EXPECT_EQ(px_recv(p[0], buf, sizeof buf, MSG_DONTWAIT), 3);
  EXPECT_EQ(px_close(ep), 0);
  EXPECT_EQ(px_close(p[0]), 0);
  EXPECT_EQ(px_close(p[1]), 0);
  px_posix_read_ahead(-1);
}

// A held write whose connection is gone when it is sent: the socket's next write fails with its error.
TEST(posix, a_held_writes_error_is_its_sockets_next_write) {
  px_posix_read_ahead(1);
  px_posix_before_call(SYS_getpid);
  connection c;
  ASSERT_EQ(px_fcntl(c.server, F_SETFL, O_NONBLOCK), 0);
  linger hard{1, 0};  // the client's close resets the connection
  ASSERT_EQ(px_setsockopt(c.client, SOL_SOCKET, SO_LINGER, &hard, sizeof hard), 0);
  ASSERT_EQ(px_close(c.client), 0);
  c.client = -1;
  px_posix_before_call(SYS_nanosleep);
  ::usleep(20000);  // the reset arrives
  ASSERT_EQ(px_write(c.server, "late", 4), 4);  // held: its failure is not known yet
  px_posix_before_call(SYS_nanosleep);          // sent, and refused
  const int error = fails_with(px_write(c.server, "again", 5));
  EXPECT_TRUE(error == ECONNRESET || error == EPIPE) << error;
  px_posix_read_ahead(-1);
}

// Bytes that the socket did not take at once are kept by net: the socket's later writes are not held but
// refused (EAGAIN) until net has sent them, and the peer reads everything in order.
TEST(posix, a_socket_whose_bytes_net_keeps_refuses_writes_until_they_are_gone) {
  px_posix_read_ahead(1);
  px_posix_before_call(SYS_getpid);
  connection c;
  narrow(c);
  std::string sent;
  const std::string chunk(65536, 'x');  // too large to hold: sent at once, until the socket is full
  for (int i = 0; i < 1000; ++i) {
    ssize_t n = px_write(c.server, chunk.data(), chunk.size());
    if (n < 0) {
      ASSERT_EQ(errno, EAGAIN);
      break;
    }
    sent.append(chunk, 0, static_cast<size_t>(n));
  }
  ASSERT_EQ(px_write(c.server, "tail", 4), 4);  // held
  sent += "tail";
  px_posix_before_call(SYS_nanosleep);  // the round: the socket takes none of it, net keeps it
  EXPECT_EQ(fails_with(px_write(c.server, "more", 4)), EAGAIN);  // not held behind kept bytes
  const int ep = epoll_on(c.server, EPOLLOUT, 0);
  epoll_event out[1];
  EXPECT_EQ(px_epoll_wait(ep, out, 1, 0), 0);  // not writable while net keeps bytes
  std::string got;
  static char buf[65536];
  bool writable = false;
  for (int i = 0; i < 20000 && !(writable && got.size() >= sent.size()); ++i) {
    ssize_t n = px_read(c.client, buf, sizeof buf);
    if (n > 0) got.append(buf, static_cast<size_t>(n));
    if (!writable && px_epoll_wait(ep, out, 1, 1) == 1) writable = true;  // a wait sends kept bytes
  }
  EXPECT_TRUE(writable);
  ASSERT_EQ(got.size(), sent.size());
  EXPECT_TRUE(got == sent);
  ASSERT_EQ(px_write(c.server, "more", 4), 4);  // gone: writes go on
  px_posix_before_call(SYS_nanosleep);
  ssize_t n = -1;
  for (int i = 0; i < 1000 && n < 0; ++i) n = px_read(c.client, buf, sizeof buf);
  ASSERT_EQ(n, 4);
  EXPECT_EQ(std::string(buf, 4), "more");
  EXPECT_EQ(px_close(ep), 0);
  px_posix_read_ahead(-1);
}

// The program's end (exit_group, announced) sends what is held and waits for net to send what it keeps,
// which the kernel would still deliver after a native program's end.
TEST(posix, the_programs_end_sends_what_is_held_and_kept) {
  px_posix_read_ahead(1);
  px_posix_before_call(SYS_getpid);
  connection c;
  narrow(c);
  std::string sent;
  for (int i = 0; i < 64; ++i) {  // small writes, held, more than the socket takes
    const std::string piece(8000, static_cast<char>('a' + i % 26));
    ssize_t n = px_write(c.server, piece.data(), piece.size());
    if (n < 0) break;
    sent.append(piece, 0, static_cast<size_t>(n));
  }
  ASSERT_GT(sent.size(), 65536u);  // more than the arena holds (lower.h): a round was made, the socket is full
  std::string got;
  std::thread reader([&] {
    static char buf[65536];
    for (int i = 0; i < 5000 && got.size() < sent.size(); ++i) {
      ssize_t n = px_read(c.client, buf, sizeof buf);
      if (n > 0) got.append(buf, static_cast<size_t>(n));
      if (n < 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  });
  px_posix_before_call(SYS_exit_group);
  reader.join();
  EXPECT_EQ(got.size(), sent.size());
  EXPECT_TRUE(got == sent);
  px_posix_read_ahead(-1);
}

TEST(posix, numeric_names_resolve_and_others_do_not) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo *res = nullptr;
  ASSERT_EQ(px_getaddrinfo("127.0.0.1", "6379", &hints, &res), 0);
  ASSERT_NE(res, nullptr);
  EXPECT_EQ(res->ai_family, AF_INET);
  EXPECT_EQ(ntohs(reinterpret_cast<sockaddr_in *>(res->ai_addr)->sin_port), 6379);
  px_freeaddrinfo(res);
  ASSERT_EQ(px_getaddrinfo("::1", nullptr, &hints, &res), 0);
  EXPECT_EQ(res->ai_family, AF_INET6);
  px_freeaddrinfo(res);
  ASSERT_EQ(px_getaddrinfo("localhost", "80", &hints, &res), 0);
  EXPECT_EQ(reinterpret_cast<sockaddr_in *>(res->ai_addr)->sin_addr.s_addr, htonl(INADDR_LOOPBACK));
  px_freeaddrinfo(res);
  hints.ai_flags = AI_PASSIVE;
  ASSERT_EQ(px_getaddrinfo(nullptr, "0", &hints, &res), 0);
  EXPECT_EQ(reinterpret_cast<sockaddr_in *>(res->ai_addr)->sin_addr.s_addr, htonl(INADDR_ANY));
  px_freeaddrinfo(res);
  EXPECT_EQ(px_getaddrinfo("example.org", "80", &hints, &res), EAI_NONAME);
  sockaddr_in sa = loopback(6380);
  char host[64], serv[8];
  ASSERT_EQ(px_getnameinfo(reinterpret_cast<sockaddr *>(&sa), sizeof sa, host, sizeof host, serv, sizeof serv, 0), 0);
  EXPECT_STREQ(host, "127.0.0.1");
  EXPECT_STREQ(serv, "6380");
  EXPECT_EQ(px_getnameinfo(reinterpret_cast<sockaddr *>(&sa), sizeof sa, host, 4, nullptr, 0, 0), EAI_OVERFLOW);
  EXPECT_EQ(px_getnameinfo(reinterpret_cast<sockaddr *>(&sa), sizeof sa, host, sizeof host, nullptr, 0, NI_NAMEREQD),
            EAI_NONAME);
  EXPECT_EQ(px_getaddrinfo("127.0.0.1", "http", &hints, &res), EAI_SERVICE);
  hints.ai_socktype = SOCK_DGRAM;
  EXPECT_EQ(px_getaddrinfo("127.0.0.1", "53", &hints, &res), EAI_SOCKTYPE);
}

TEST(posix, files_on_vfs_paths) {
  int f = px_open("/posix-notes.txt", O_RDWR | O_CREAT | O_TRUNC, 0644);
  ASSERT_GE(f, 3);
  EXPECT_EQ(px_write(f, "hello, file", 11), 11);
  EXPECT_EQ(px_fsync(f), 0);
  EXPECT_EQ(px_lseek(f, 7, SEEK_SET), 7);
  char buf[16] = {};
  EXPECT_EQ(px_read(f, buf, sizeof buf), 4);
  EXPECT_STREQ(buf, "file");
  struct stat st{};
  ASSERT_EQ(px_fstat(f, &st), 0);
  EXPECT_EQ(st.st_size, 11);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(px_close(f), 0);
  ASSERT_EQ(px_rename("/posix-notes.txt", "/posix-notes.old"), 0);
  EXPECT_EQ(fails_with(px_stat("/posix-notes.txt", &st)), ENOENT);
  ASSERT_EQ(px_stat("/posix-notes.old", &st), 0);
  EXPECT_EQ(px_unlink("/posix-notes.old"), 0);
  // The standard streams: writes go to the console; reading it is a bad descriptor.
  EXPECT_EQ(px_write(1, "", 0), 0);
  EXPECT_EQ(fails_with(px_read(1, buf, 1)), EBADF);
}

TEST(posix, relative_paths_are_taken_from_the_working_directory) {
  char cwd[64];
  ASSERT_EQ(px_getcwd(cwd, sizeof cwd), cwd);
  EXPECT_STREQ(cwd, "/");
  ASSERT_EQ(px_mkdir("/wd", 0755), 0);
  ASSERT_EQ(px_chdir("/wd/"), 0);
  EXPECT_STREQ(px_getcwd(cwd, sizeof cwd), "/wd");
  EXPECT_EQ(px_getcwd(cwd, 3), nullptr);
  EXPECT_EQ(errno, ERANGE);
  int f = px_open("./rel.txt", O_RDWR | O_CREAT, 0644);
  ASSERT_GE(f, 0);
  EXPECT_EQ(px_write(f, "hi", 2), 2);
  EXPECT_EQ(px_close(f), 0);
  struct stat st{};
  EXPECT_EQ(px_stat("/wd/rel.txt", &st), 0);
  EXPECT_EQ(st.st_size, 2);
  EXPECT_EQ(px_rename("rel.txt", "moved.txt"), 0);
  EXPECT_EQ(px_stat("moved.txt", &st), 0);
  // By number, as a caught program asks: the kernel's getcwd returns the length with the NUL.
  EXPECT_EQ(px_posix_syscall(SYS_getcwd, reinterpret_cast<long>(cwd), sizeof cwd, 0, 0, 0, 0), 4);
  EXPECT_EQ(px_posix_syscall(SYS_chdir, reinterpret_cast<long>("moved.txt"), 0, 0, 0, 0, 0), -ENOTDIR);
  EXPECT_EQ(px_posix_syscall(SYS_chdir, reinterpret_cast<long>("/nowhere"), 0, 0, 0, 0, 0), -ENOENT);
  EXPECT_EQ(px_unlink("moved.txt"), 0);
  ASSERT_EQ(px_chdir("/"), 0);
  EXPECT_EQ(px_rmdir("wd"), 0);
}

TEST(posix, flex_mounts_puts_a_host_directory_under_a_path) {
  ASSERT_FALSE(g_host_dir.empty());
  int f = px_open("/host/kept.txt", O_WRONLY | O_CREAT | O_TRUNC, 0644);
  ASSERT_GE(f, 0) << std::strerror(errno);
  EXPECT_EQ(px_write(f, "on the host", 11), 11);
  EXPECT_EQ(px_close(f), 0);
  std::ifstream in(g_host_dir + "/kept.txt");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text, "on the host");
  EXPECT_EQ(fails_with(px_open("/host/../../etc/passwd", O_RDONLY)), ENOENT);  // ".." stops at "/"
  std::filesystem::remove_all(g_host_dir);
}

// The same layer by system-call number, as a program that makes its calls itself expects: results are
// the kernel's (a negative errno, errno untouched), and a call it does not serve is -ENOSYS, counted.
TEST(posix, system_calls_by_number_answer_as_the_kernel_does) {
  long s = px_posix_syscall(SYS_socket, AF_INET, SOCK_STREAM, 0, 0, 0, 0);
  ASSERT_GE(s, 3);
  sockaddr_in sa = loopback(0);
  ASSERT_EQ(px_posix_syscall(SYS_bind, s, reinterpret_cast<long>(&sa), sizeof sa, 0, 0, 0), 0);
  ASSERT_EQ(px_posix_syscall(SYS_listen, s, 8, 0, 0, 0, 0), 0);
  socklen_t len = sizeof sa;
  ASSERT_EQ(px_posix_syscall(SYS_getsockname, s, reinterpret_cast<long>(&sa), reinterpret_cast<long>(&len), 0, 0, 0), 0);
  long c = px_posix_syscall(SYS_socket, AF_INET, SOCK_STREAM, 0, 0, 0, 0);
  ASSERT_EQ(px_posix_syscall(SYS_connect, c, reinterpret_cast<long>(&sa), sizeof sa, 0, 0, 0), 0);
  long a = px_posix_syscall(SYS_accept4, s, 0, 0, SOCK_NONBLOCK, 0, 0);
  ASSERT_GE(a, 0);
  ASSERT_EQ(px_posix_syscall(SYS_sendto, c, reinterpret_cast<long>("abc"), 3, 0, 0, 0), 3);
  char buf[8] = {};
  pollfd p{static_cast<int>(a), POLLIN, 0};
  ASSERT_EQ(px_posix_syscall(SYS_poll, reinterpret_cast<long>(&p), 1, 2000, 0, 0, 0), 1);
  EXPECT_EQ(px_posix_syscall(SYS_recvfrom, a, reinterpret_cast<long>(buf), sizeof buf, 0, 0, 0), 3);
  EXPECT_STREQ(buf, "abc");
  EXPECT_EQ(px_posix_syscall(SYS_read, a, reinterpret_cast<long>(buf), sizeof buf, 0, 0, 0), -EAGAIN);
  errno = 0;
  EXPECT_EQ(px_posix_syscall(SYS_close, 999, 0, 0, 0, 0, 0), -EBADF);
  EXPECT_EQ(errno, 0);  // the kernel's convention: the error is the result
  for (long fd : {a, c, s}) EXPECT_EQ(px_posix_syscall(SYS_close, fd, 0, 0, 0, 0, 0), 0);
  // Files by path from "/" (the *at calls with AT_FDCWD).
  long f = px_posix_syscall(SYS_openat, AT_FDCWD, reinterpret_cast<long>("/by-number"), O_RDWR | O_CREAT, 0644, 0, 0);
  ASSERT_GE(f, 0);
  EXPECT_EQ(px_posix_syscall(SYS_write, f, reinterpret_cast<long>("xyz"), 3, 0, 0, 0), 3);
  struct stat st{};
  EXPECT_EQ(px_posix_syscall(SYS_newfstatat, f, reinterpret_cast<long>(""), reinterpret_cast<long>(&st), AT_EMPTY_PATH, 0, 0), 0);
  EXPECT_EQ(st.st_size, 3);
  EXPECT_EQ(px_posix_syscall(SYS_openat, 3, reinterpret_cast<long>("x"), O_RDONLY, 0, 0, 0), -ENOTSUP);
  EXPECT_EQ(px_posix_syscall(SYS_close, f, 0, 0, 0, 0, 0), 0);
  EXPECT_EQ(px_posix_syscall(SYS_unlinkat, AT_FDCWD, reinterpret_cast<long>("/by-number"), 0, 0, 0, 0), 0);
  // Not served: -ENOSYS, counted per number.
  const unsigned long before = px_posix_unserved(SYS_getxattr);
  EXPECT_EQ(px_posix_syscall(SYS_getxattr, 0, 0, 0, 0, 0, 0), -ENOSYS);
  EXPECT_EQ(px_posix_syscall(SYS_getxattr, 0, 0, 0, 0, 0, 0), -ENOSYS);
  EXPECT_EQ(px_posix_unserved(SYS_getxattr), before + 2);
  EXPECT_EQ(px_posix_unserved(SYS_read), 0u);
}

// stdio on the layer's files: fopen's FILE reads, writes and seeks through vfs.
TEST(posix, stdio_streams_on_vfs_files) {
  FILE *w = px_fopen("/stream.txt", "w");
  ASSERT_NE(w, nullptr) << std::strerror(errno);
  EXPECT_EQ(std::fprintf(w, "line %d\nline %d\n", 1, 2), 14);
  EXPECT_EQ(std::fclose(w), 0);
  struct stat st{};
  ASSERT_EQ(px_stat("/stream.txt", &st), 0);
  EXPECT_EQ(st.st_size, 14);
  FILE *r = px_fopen("/stream.txt", "r");
  ASSERT_NE(r, nullptr);
  char line[32];
  ASSERT_NE(std::fgets(line, sizeof line, r), nullptr);
  EXPECT_STREQ(line, "line 1\n");
  EXPECT_EQ(std::fseek(r, 0, SEEK_SET), 0);
  EXPECT_EQ(std::fgetc(r), 'l');
  EXPECT_EQ(std::fclose(r), 0);
  FILE *a = px_fopen("/stream.txt", "a+");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(std::fputs("line 3\n", a), 1);
  EXPECT_EQ(std::fclose(a), 0);
  ASSERT_EQ(px_stat("/stream.txt", &st), 0);
  EXPECT_EQ(st.st_size, 21);
  EXPECT_EQ(px_fopen("/no/such/file", "r"), nullptr);
  EXPECT_EQ(errno, ENOENT);
  EXPECT_EQ(px_fopen("/stream.txt", "q"), nullptr);
  EXPECT_EQ(errno, EINVAL);
  const int fd = px_open("/stream.txt", O_RDONLY);
  FILE *d = px_fdopen(fd, "r");
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(std::fgetc(d), 'l');
  EXPECT_EQ(std::fclose(d), 0);  // closes fd too
  EXPECT_EQ(fails_with(px_close(fd)), EBADF);
  EXPECT_EQ(px_unlink("/stream.txt"), 0);
}

TEST(posix, clocks_and_sleeps) {
  timespec a{}, b{};
  ASSERT_EQ(px_clock_gettime(CLOCK_MONOTONIC, &a), 0);
  timespec nap = {0, 2000000};
  ASSERT_EQ(px_nanosleep(&nap, nullptr), 0);
  ASSERT_EQ(px_clock_gettime(CLOCK_MONOTONIC, &b), 0);
  EXPECT_GE((b.tv_sec - a.tv_sec) * 1000000000L + (b.tv_nsec - a.tv_nsec), 2000000L);
  ASSERT_EQ(px_clock_gettime(CLOCK_REALTIME, &a), 0);
  EXPECT_GT(a.tv_sec, 1600000000);
  EXPECT_EQ(fails_with(px_clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a)), EINVAL);
  timespec bad = {0, 1000000000};
  EXPECT_EQ(fails_with(px_nanosleep(&bad, nullptr)), EINVAL);
}

}  // namespace
