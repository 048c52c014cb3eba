// net with plain calls over the host backend: a real TCP round trip on loopback, readiness, and every
// bad argument refused with a negative errno (sockets net did not create included).
#include <flex/net/net.h>
#include <flex/sched/sched.h>

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <thread>
#include <vector>

namespace {

// A listening socket on an ephemeral loopback port.
int listen_any(int &port) {
  int s = net_socket(NET_INET, NET_STREAM);
  EXPECT_GE(s, 0);
  int on = 1;
  EXPECT_EQ(net_setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on), 0);
  EXPECT_EQ(net_bind(s, "127.0.0.1", 0), 0);
  EXPECT_EQ(net_listen(s, 64), 0);
  sockaddr_in sa{};
  socklen_t len = sizeof sa;
  EXPECT_EQ(getsockname(s, reinterpret_cast<sockaddr *>(&sa), &len), 0);
  port = ntohs(sa.sin_port);
  return s;
}

// sched's host thread is this one (the clients of many_concurrent_connections are other host threads,
// whose blocking calls wait in plat).
[[maybe_unused]] const int g_sched_home = sched_self();

TEST(net, tcp_round_trip_with_readiness) {
  int port = 0;
  int l = listen_any(port);
  ASSERT_EQ(net_poll_add(l, NET_IN, 1), 0);
  int c = net_socket(NET_INET, NET_STREAM);
  ASSERT_GE(c, 0);
  ASSERT_EQ(net_connect(c, "127.0.0.1", port), 0);
  net_event ev[8];
  ASSERT_EQ(net_poll_wait(ev, 8, 2000), 1);
  EXPECT_EQ(ev[0].cookie, 1u);
  int a = net_accept(l, NET_NONBLOCK);
  ASSERT_GE(a, 0);
  ASSERT_EQ(net_poll_add(a, NET_IN, 2), 0);
  EXPECT_EQ(net_send(c, "hello", 5, 0), 5);
  ASSERT_EQ(net_poll_wait(ev, 8, 2000), 1);
  EXPECT_EQ(ev[0].cookie, 2u);
  char buf[16] = {};
  EXPECT_EQ(net_recv(a, buf, sizeof buf, 0), 5);
  EXPECT_EQ(std::string(buf), "hello");
  EXPECT_EQ(net_recv(a, buf, sizeof buf, 0), -EAGAIN);  // non-blocking, nothing left
  EXPECT_EQ(net_shutdown(c, 1), 0);
  ASSERT_EQ(net_poll_wait(ev, 8, 2000), 1);
  EXPECT_EQ(net_recv(a, buf, sizeof buf, 0), 0);  // the peer's end of stream
  int one = 1;
  EXPECT_EQ(net_setsockopt(a, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one), 0);
  int got = 0;
  unsigned len = sizeof got;
  EXPECT_EQ(net_getsockopt(a, IPPROTO_TCP, TCP_NODELAY, &got, &len), 0);
  EXPECT_EQ(got, 1);
  EXPECT_EQ(net_poll_del(a), 0);
  EXPECT_EQ(net_close(a), 0);
  EXPECT_EQ(net_close(c), 0);
  EXPECT_EQ(net_close(l), 0);
}

TEST(net, many_concurrent_connections) {
  int port = 0;
  int l = listen_any(port);
  constexpr int kClients = 64;
  std::vector<std::thread> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back([port, i] {
      int c = net_socket(NET_INET, NET_STREAM);
      ASSERT_GE(c, 0);
      ASSERT_EQ(net_connect(c, "127.0.0.1", port), 0);
      std::string msg = "client " + std::to_string(i);
      ASSERT_EQ(net_send(c, msg.data(), msg.size(), 0), static_cast<long>(msg.size()));
      char buf[64] = {};
      long n = net_recv(c, buf, sizeof buf, 0);
      EXPECT_EQ(std::string(buf, n > 0 ? static_cast<size_t>(n) : 0), msg);
      net_close(c);
    });
  }
  for (int served = 0; served < kClients; ++served) {
    int a = net_accept(l, 0);
    ASSERT_GE(a, 0);
    char buf[64];
    long n = net_recv(a, buf, sizeof buf, 0);
    ASSERT_GT(n, 0);
    EXPECT_EQ(net_send(a, buf, static_cast<size_t>(n), 0), n);
    net_close(a);
  }
  for (auto &t : clients) t.join();
  net_close(l);
}

TEST(net, bad_arguments_are_refused_without_touching_anything) {
  // A descriptor net did not create (stdin, a raw socket) is not a socket of net's.
  EXPECT_EQ(net_recv(0, nullptr, 1, 0), -EBADF);
  int raw = socket(AF_INET, SOCK_STREAM, 0);
  char b[4];
  EXPECT_EQ(net_send(raw, b, 1, 0), -EBADF);
  EXPECT_EQ(net_close(raw), -EBADF);
  close(raw);
  EXPECT_EQ(net_close(-1), -EBADF);
  EXPECT_EQ(net_close(1 << 20), -EBADF);
  EXPECT_EQ(net_socket(NET_INET, 2), -EAFNOSUPPORT);
  EXPECT_EQ(net_socket(99, NET_STREAM), -EAFNOSUPPORT);
  int nb = net_socket(NET_INET, NET_STREAM | NET_SOCK_NONBLOCK);
  ASSERT_GE(nb, 0);
  EXPECT_EQ(net_bind(nb, "127.0.0.1", 0), 0);
  EXPECT_EQ(net_listen(nb, 1), 0);
  EXPECT_EQ(net_accept(nb, 0), -EAGAIN);  // a non-blocking listener with nobody waiting
  EXPECT_EQ(net_close(nb), 0);
  int s = net_socket(NET_INET, NET_STREAM);
  ASSERT_GE(s, 0);
  EXPECT_EQ(net_recv(s, nullptr, 4, 0), -EFAULT);
  EXPECT_EQ(net_recv(s, b, size_t{NET_MAX_IO} + 1, 0), -EINVAL);
  EXPECT_EQ(net_send(s, b, 1, 0x40000000), -EINVAL);
  EXPECT_EQ(net_bind(s, nullptr, 1), -EFAULT);
  EXPECT_EQ(net_bind(s, "not an address", 1), -EINVAL);
  EXPECT_EQ(net_bind(s, "127.0.0.1", 70000), -EINVAL);
  EXPECT_EQ(net_listen(s, -1), -EINVAL);
  EXPECT_EQ(net_accept(s, 8), -EINVAL);
  EXPECT_EQ(net_shutdown(s, 3), -EINVAL);
  int v = 1;
  EXPECT_EQ(net_setsockopt(s, SOL_SOCKET, SO_BINDTODEVICE, &v, sizeof v), -ENOPROTOOPT);
  EXPECT_EQ(net_setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &v, 0), -EINVAL);
  EXPECT_EQ(net_setsockopt(s, SOL_SOCKET, SO_REUSEADDR, nullptr, 4), -EFAULT);
  unsigned len = 4;
  EXPECT_EQ(net_getsockopt(s, SOL_SOCKET, SO_REUSEADDR, &v, nullptr), -EFAULT);
  EXPECT_EQ(net_getsockopt(s, SOL_SOCKET, SO_ERROR, &v, &len), 0);
  EXPECT_EQ(net_poll_add(s, 0x100, 0), -EINVAL);
  net_event ev[1];
  EXPECT_EQ(net_poll_wait(nullptr, 1, 0), -EFAULT);
  EXPECT_EQ(net_poll_wait(ev, 0, 0), -EINVAL);
  EXPECT_EQ(net_poll_wait(ev, 1, -2), -EINVAL);
  EXPECT_EQ(net_close(s), 0);
  EXPECT_EQ(net_close(s), -EBADF);  // closed sockets are gone from the table
  EXPECT_EQ(net_send(s, b, 1, 0), -EBADF);
}

// Blocking calls block the calling sched thread, not the host thread: a server thread and many client
// threads, all sched threads of this one host thread, talk over loopback with blocking sockets.
struct echo_job {
  int port;
  int id;
  bool ok = false;
};

long echo_client(void *arg) {
  auto *job = static_cast<echo_job *>(arg);
  int c = net_socket(NET_INET, NET_STREAM);
  if (c < 0 || net_connect(c, "127.0.0.1", job->port) != 0) return -1;
  std::string msg(3000 + job->id, static_cast<char>('A' + job->id % 26));
  if (net_send(c, msg.data(), msg.size(), 0) != static_cast<long>(msg.size())) return -2;
  net_shutdown(c, 1);
  std::string back;
  char buf[1024];
  long n;
  while ((n = net_recv(c, buf, sizeof buf, 0)) > 0) back.append(buf, static_cast<size_t>(n));
  net_close(c);
  job->ok = back == msg;
  return n;
}

long echo_conn(void *arg) {
  int a = static_cast<int>(reinterpret_cast<intptr_t>(arg));
  char buf[512];
  long n;
  while ((n = net_recv(a, buf, sizeof buf, 0)) > 0) {
    if (net_send(a, buf, static_cast<size_t>(n), 0) != n) break;
  }
  net_close(a);
  return n;
}

TEST(net, blocking_calls_block_the_sched_thread_not_the_image) {
  int port = 0;
  int l = listen_any(port);
  constexpr int kClients = 32;
  std::vector<echo_job> jobs(kClients);
  std::vector<int> tids;
  for (int i = 0; i < kClients; ++i) {
    jobs[static_cast<size_t>(i)] = {port, i};
    int t = sched_create(echo_client, &jobs[static_cast<size_t>(i)]);
    ASSERT_GT(t, 0);
    tids.push_back(t);
  }
  for (int served = 0; served < kClients; ++served) {
    int a = net_accept(l, 0);  // blocks this sched thread; the clients run meanwhile
    ASSERT_GE(a, 0);
    int t = sched_create(echo_conn, reinterpret_cast<void *>(static_cast<intptr_t>(a)));
    ASSERT_GT(t, 0);
    ASSERT_EQ(sched_detach(t), 0);
  }
  for (int i = 0; i < kClients; ++i) {
    long r = -9;
    ASSERT_EQ(sched_join(tids[static_cast<size_t>(i)], &r), 0);
    EXPECT_EQ(r, 0) << i;
    EXPECT_TRUE(jobs[static_cast<size_t>(i)].ok) << i;
  }
  // A blocking recv with nothing to read blocks only its thread: the main thread's timed poll ends.
  net_event ev[1];
  EXPECT_EQ(net_poll_wait(ev, 1, 20), 0);
  net_close(l);
}

}  // namespace
