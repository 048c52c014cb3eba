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
#include <chrono>
#include <string>
#include <thread>
#include <utility>
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

// A wait that reads ahead: each readable connection's bytes come with its event (the user's cookie), a
// listener's event comes with nothing received (its connection stays for accept), a quiet socket is not
// read, and the end of the stream is a 0.
TEST(net, a_wait_that_reads_ahead_brings_each_readable_sockets_bytes_with_its_event) {
  int port = 0;
  int l = listen_any(port);
  ASSERT_EQ(net_poll_add(l, NET_IN, 10), 0);
  int c = net_socket(NET_INET, NET_STREAM);
  ASSERT_GE(c, 0);
  ASSERT_EQ(net_connect(c, "127.0.0.1", port), 0);
  net_event ev[4];
  char ahead[4][64];
  int64_t result[4];
  ASSERT_EQ(net_poll_wait_ahead(ev, 4, 2000, &ahead[0][0], 64, result), 1);
  EXPECT_EQ(ev[0].cookie, 10u);
  EXPECT_EQ(result[0], -EAGAIN);  // a listener: not received from
  int a = net_accept(l, NET_NONBLOCK);
  ASSERT_GE(a, 0);
  ASSERT_EQ(net_poll_del(l), 0);
  ASSERT_EQ(net_poll_add(a, NET_IN, 20), 0);
  ASSERT_EQ(net_poll_add(c, NET_IN, 30), 0);  // nothing comes to it
  EXPECT_EQ(net_send(c, "ahead", 5, 0), 5);
  ASSERT_EQ(net_poll_wait_ahead(ev, 4, 2000, &ahead[0][0], 64, result), 1);
  EXPECT_EQ(ev[0].cookie, 20u);
  ASSERT_EQ(result[0], 5);
  EXPECT_EQ(std::string(ahead[0], 5), "ahead");
  char buf[16];
  EXPECT_EQ(net_recv(a, buf, sizeof buf, 0), -EAGAIN);  // the wait took it
  EXPECT_EQ(net_shutdown(c, 1), 0);
  ASSERT_EQ(net_poll_wait_ahead(ev, 4, 2000, &ahead[0][0], 64, result), 1);
  EXPECT_EQ(result[0], 0);
  EXPECT_EQ(net_poll_wait_ahead(nullptr, 4, 0, &ahead[0][0], 64, result), -EFAULT);
  EXPECT_EQ(net_poll_wait_ahead(ev, 4, 0, nullptr, 64, result), -EFAULT);
  EXPECT_EQ(net_poll_wait_ahead(ev, 4, 0, &ahead[0][0], 0, result), -EINVAL);
  EXPECT_EQ(net_close(a), 0);
  EXPECT_EQ(net_close(c), 0);
  EXPECT_EQ(net_close(l), 0);
}

// A connected pair of net sockets (c: the client, a: the accepted end, both non-blocking), c with a small
// send buffer, so that a round's send outgrows what the kernel takes at once.
std::pair<int, int> small_pair() {
  int port = 0;
  int l = listen_any(port);
  int c = net_socket(NET_INET, NET_STREAM);
  EXPECT_GE(c, 0);
  int small = 4096;
  EXPECT_EQ(net_setsockopt(c, SOL_SOCKET, SO_SNDBUF, &small, sizeof small), 0);
  EXPECT_EQ(net_connect(c, "127.0.0.1", port), 0);
  int a = net_accept(l, NET_NONBLOCK);
  EXPECT_GE(a, 0);
  EXPECT_EQ(net_close(l), 0);
  EXPECT_EQ(net_set_nonblock(c, 1), 0);
  return {c, a};
}

std::string pattern(size_t n, char seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(seed + static_cast<char>(i % 251));
  return s;
}

// A round of one send of `data` on c, with no wait: what the socket took at once (net keeps the rest).
int64_t send_in_a_round(int c, const std::string &data) {
  net_io op{.s = c, .flags = 0, .buf = const_cast<char *>(data.data()), .len = data.size(), .result = 0};
  uint32_t sent = 0;
  struct net_round r{.send = &op, .n_send = 1, .max = 0, .ev = nullptr, .timeout_ms = 0, .per = 0, .ahead = nullptr,
                     .result = nullptr, .sent = &sent};
  EXPECT_EQ(net_round(&r), 0);
  EXPECT_EQ(sent, 1u);
  return op.result;
}

// Reads `a` until `want` bytes came or the stream ended, waiting (which sends kept bytes) in between.
std::string read_all(int a, size_t want, bool *eof) {
  std::string got;
  char buf[65536];
  net_event ev[8];
  *eof = false;
  for (int rounds = 0; rounds < 20000 && got.size() < want && !*eof; ++rounds) {
    long n = net_recv(a, buf, sizeof buf, 0);
    if (n > 0) got.append(buf, static_cast<size_t>(n));
    if (n == 0) *eof = true;
    if (n == -EAGAIN) EXPECT_GE(net_poll_wait(ev, 8, 1), 0);
  }
  return got;
}

// A round: its sends (what a socket does not take at once is kept, in order, behind anything kept
// before), the flag that says they are made, then its wait. A socket keeping bytes refuses other sends
// and hides its NET_OUT until the bytes are gone; net's waits send them as the peer reads.
TEST(net, a_rounds_sends_keep_what_the_socket_does_not_take_and_send_it_in_order) {
  auto [c, a] = small_pair();
  const std::string first = pattern(300000, 'a'), second = pattern(1000, 'z');
  net_io op[2] = {{.s = c, .flags = 0, .buf = const_cast<char *>(first.data()), .len = first.size(), .result = 0},
                  {.s = c, .flags = 0, .buf = const_cast<char *>(second.data()), .len = second.size(), .result = 0}};
  net_event ev[8];
  uint32_t sent = 0;
  struct net_round r{.send = op, .n_send = 2, .max = 8, .ev = ev, .timeout_ms = 0, .per = 0, .ahead = nullptr,
              .result = nullptr, .sent = &sent};
  ASSERT_EQ(net_poll_add(c, NET_OUT, 7), 0);
  ASSERT_EQ(net_round(&r), 0);  // c keeps bytes: its NET_OUT is not reported
  EXPECT_EQ(sent, 1u);
  ASSERT_GE(op[0].result, 0);
  EXPECT_LT(op[0].result, static_cast<int64_t>(first.size()));  // the kernel took only part of it
  EXPECT_EQ(op[1].result, 0);                                     // all kept, behind the first's rest
  EXPECT_EQ(net_send(c, "x", 1, 0), -EAGAIN);
  net_io more{.s = c, .flags = 0, .buf = const_cast<char *>("x"), .len = 1, .result = 0};
  EXPECT_EQ(net_send_many(&more, 1), 1);
  EXPECT_EQ(more.result, -EAGAIN);
  bool eof = false;
  const std::string got = read_all(a, first.size() + second.size(), &eof);
  EXPECT_EQ(got.size(), first.size() + second.size());
  EXPECT_TRUE(got == first + second) << "kept bytes out of order";
  ASSERT_EQ(net_poll_wait(ev, 8, 2000), 1);  // gone: c is writable again, with its own cookie
  EXPECT_EQ(ev[0].cookie, 7u);
  EXPECT_TRUE(ev[0].events & NET_OUT);
  EXPECT_EQ(net_send(c, "y", 1, 0), 1);
  EXPECT_EQ(net_poll_del(c), 0);
  EXPECT_EQ(net_close(a), 0);
  EXPECT_EQ(net_close(c), 0);
}

// A close or a shutdown of a socket that keeps bytes takes effect after them: the peer reads every byte,
// then the end of the stream. The closed socket is gone for its user at once.
TEST(net, a_close_or_shutdown_after_a_round_waits_for_the_kept_bytes) {
  for (const bool close : {true, false}) {
    auto [c, a] = small_pair();
    const std::string data = pattern(200000, close ? 'c' : 's');
    ASSERT_LT(send_in_a_round(c, data), static_cast<int64_t>(data.size()));
    if (close) {
      EXPECT_EQ(net_close(c), 0);
      EXPECT_EQ(net_send(c, "x", 1, 0), -EBADF);
      EXPECT_EQ(net_close(c), -EBADF);
    } else {
      EXPECT_EQ(net_shutdown(c, 1), 0);
    }
    bool eof = false;
    const std::string got = read_all(a, data.size() + 1, &eof);
    EXPECT_TRUE(eof) << (close ? "close" : "shutdown");
    EXPECT_TRUE(got == data) << got.size() << " of " << data.size();
    if (!close) {
      EXPECT_EQ(net_send(a, "back", 4, 0), 4);  // only c's writing side ended
      char buf[8];
      long n = -EAGAIN;
      for (int i = 0; i < 2000 && n == -EAGAIN; ++i) {
        net_event ev[2];
        net_poll_wait(ev, 2, 1);
        n = net_recv(c, buf, sizeof buf, 0);
      }
      EXPECT_EQ(n, 4);
      EXPECT_EQ(net_close(c), 0);
    }
    EXPECT_EQ(net_close(a), 0);
  }
}

// An image about to end sends what net keeps, waiting for the peer to take it, up to a limit.
TEST(net, a_drain_sends_every_kept_byte_or_says_when_time_ran_out) {
  auto [c, a] = small_pair();
  const std::string data = pattern(300000, 'd');
  ASSERT_LT(send_in_a_round(c, data), static_cast<int64_t>(data.size()));
  EXPECT_EQ(net_drain(-2), -EINVAL);
  EXPECT_EQ(net_drain(30), -ETIMEDOUT);  // nobody reads
  std::string got;
  std::thread reader([&, a = a] {
    char buf[65536];
    while (got.size() < data.size()) {
      long n = net_recv(a, buf, sizeof buf, 0);
      if (n > 0) got.append(buf, static_cast<size_t>(n));
      if (n == -EAGAIN) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      if (n == 0 || (n < 0 && n != -EAGAIN)) break;
    }
  });
  EXPECT_EQ(net_drain(10000), 0);
  reader.join();
  EXPECT_TRUE(got == data) << got.size() << " of " << data.size();
  EXPECT_EQ(net_drain(0), 0);  // nothing kept
  EXPECT_EQ(net_close(a), 0);
  EXPECT_EQ(net_close(c), 0);
}

// A round that is bad as a whole does nothing (its flag stays 0); a bad send fails alone; the wait reads
// ahead when asked.
TEST(net, a_bad_round_does_nothing_and_a_rounds_wait_reads_ahead) {
  auto [c, a] = small_pair();
  net_io op{.s = c, .flags = 0, .buf = const_cast<char *>("ping"), .len = 4, .result = 0};
  net_event ev[4];
  char ahead[4][16];
  int64_t result[4];
  uint32_t sent = 0;
  struct net_round r{.send = &op, .n_send = 1, .max = 4, .ev = ev, .timeout_ms = 2000, .per = 16, .ahead = &ahead[0][0],
              .result = result, .sent = &sent};
  EXPECT_EQ(net_round(nullptr), -EFAULT);
  struct net_round bad = r;
  bad.n_send = NET_MAX_BATCH + 1;
  EXPECT_EQ(net_round(&bad), -EINVAL);
  bad = r;
  bad.per = 0;
  EXPECT_EQ(net_round(&bad), -EINVAL);
  bad = r;
  bad.sent = nullptr;
  EXPECT_EQ(net_round(&bad), -EFAULT);
  EXPECT_EQ(sent, 0u);
  EXPECT_EQ(op.result, 0);
  ASSERT_EQ(net_poll_add(a, NET_IN, 5), 0);
  ASSERT_EQ(net_round(&r), 1);
  EXPECT_EQ(sent, 1u);
  EXPECT_EQ(op.result, 4);
  EXPECT_EQ(ev[0].cookie, 5u);
  ASSERT_EQ(result[0], 4);
  EXPECT_EQ(std::string(ahead[0], 4), "ping");
  net_io wrong[2] = {{.s = 9999, .flags = 0, .buf = const_cast<char *>("x"), .len = 1, .result = 0},
                     {.s = c, .flags = MSG_PEEK, .buf = const_cast<char *>("x"), .len = 1, .result = 0}};
  r = {.send = wrong, .n_send = 2, .max = 0, .ev = nullptr, .timeout_ms = 0, .per = 0, .ahead = nullptr,
       .result = nullptr, .sent = &sent};
  EXPECT_EQ(net_round(&r), 0);
  EXPECT_EQ(wrong[0].result, -EBADF);
  EXPECT_EQ(wrong[1].result, -EINVAL);
  EXPECT_EQ(net_close(a), 0);
  EXPECT_EQ(net_close(c), 0);
}

TEST(net, a_pipe_carries_bytes_one_way_with_readiness_and_end_of_stream) {
  int e[2] = {-1, -1};
  ASSERT_EQ(net_pipe(e, NET_SOCK_NONBLOCK), 0);
  ASSERT_GE(e[0], 0);
  ASSERT_GE(e[1], 0);
  char buf[16] = {};
  EXPECT_EQ(net_recv(e[0], buf, sizeof buf, 0), -EAGAIN);
  ASSERT_EQ(net_poll_add(e[0], NET_IN, 7), 0);
  net_event ev[4];
  EXPECT_EQ(net_poll_wait(ev, 4, 10), 0);
  EXPECT_EQ(net_send(e[1], "wake", 4, 0), 4);
  ASSERT_EQ(net_poll_wait(ev, 4, 2000), 1);
  EXPECT_EQ(ev[0].cookie, 7u);
  EXPECT_TRUE(ev[0].events & NET_IN);
  EXPECT_EQ(net_recv(e[0], buf, sizeof buf, 0), 4);
  EXPECT_EQ(std::string(buf, 4), "wake");
  // One direction only.
  EXPECT_EQ(net_send(e[0], "x", 1, 0), -EPIPE);
  EXPECT_EQ(net_recv(e[1], buf, sizeof buf, 0), 0);
  // The write end closed: end of stream; the read end closed: the writer sees -EPIPE.
  EXPECT_EQ(net_poll_del(e[0]), 0);
  EXPECT_EQ(net_close(e[1]), 0);
  EXPECT_EQ(net_recv(e[0], buf, sizeof buf, 0), 0);
  EXPECT_EQ(net_close(e[0]), 0);
  ASSERT_EQ(net_pipe(e, 0), 0);
  EXPECT_EQ(net_close(e[0]), 0);
  EXPECT_EQ(net_send(e[1], "x", 1, 0), -EPIPE);
  EXPECT_EQ(net_close(e[1]), 0);
  EXPECT_EQ(net_pipe(nullptr, 0), -EFAULT);
  EXPECT_EQ(net_pipe(e, 0x40), -EINVAL);
}

TEST(net, names_and_blocking_mode_of_a_connection) {
  int port = 0;
  int l = listen_any(port);
  int c = net_socket(NET_INET, NET_STREAM);
  ASSERT_GE(c, 0);
  char addr[NET_ADDR_MAX] = {};
  int p = -1;
  EXPECT_EQ(net_name(c, 1, addr, &p), -ENOTCONN);
  ASSERT_EQ(net_connect(c, "127.0.0.1", port), 0);
  int a = net_accept(l, 0);
  ASSERT_GE(a, 0);
  ASSERT_EQ(net_name(c, 1, addr, &p), 0);
  EXPECT_EQ(std::string(addr), "127.0.0.1");
  EXPECT_EQ(p, port);
  int local = -1;
  ASSERT_EQ(net_name(c, 0, addr, &local), 0);
  ASSERT_EQ(net_name(a, 1, addr, &p), 0);
  EXPECT_EQ(p, local);  // the accepted side sees the client's port
  // Blocking by default; made non-blocking, a receive with nothing to read returns at once.
  ASSERT_EQ(net_set_nonblock(a, 1), 0);
  char buf[8];
  EXPECT_EQ(net_recv(a, buf, sizeof buf, 0), -EAGAIN);
  ASSERT_EQ(net_set_nonblock(a, 0), 0);
  EXPECT_EQ(net_send(c, "x", 1, 0), 1);
  EXPECT_EQ(net_recv(a, buf, sizeof buf, 0), 1);
  EXPECT_EQ(net_name(a, 1, nullptr, &p), -EFAULT);
  EXPECT_EQ(net_name(999, 1, addr, &p), -EBADF);
  EXPECT_EQ(net_set_nonblock(999, 1), -EBADF);
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

// A connected pair of net sockets (client, accepted end), both non-blocking.
std::pair<int, int> connected_pair(int l, int port) {
  int c = net_socket(NET_INET, NET_STREAM | NET_SOCK_NONBLOCK);
  EXPECT_GE(c, 0);
  int rc = net_connect(c, "127.0.0.1", port);
  EXPECT_TRUE(rc == 0 || rc == -EINPROGRESS) << rc;
  int a = -EAGAIN;
  for (int tries = 0; a == -EAGAIN && tries < 2000; ++tries) {
    a = net_accept(l, NET_NONBLOCK);
    if (a == -EAGAIN) usleep(1000);
  }
  EXPECT_GE(a, 0);
  return {c, a};
}

TEST(net, batched_receives_and_sends_cover_many_sockets_in_one_call) {
  int port = 0;
  int l = listen_any(port);
  constexpr int kPairs = 8;
  std::vector<std::pair<int, int>> pairs;
  for (int i = 0; i < kPairs; ++i) pairs.push_back(connected_pair(l, port));

  // One call sends to every client end; on the first socket, two sends in array order.
  std::vector<std::string> msg;
  for (int i = 0; i < kPairs; ++i) msg.push_back("request " + std::to_string(i));
  net_io out[kPairs + 1];
  for (int i = 0; i < kPairs; ++i) {
    out[i] = net_io{.s = pairs[i].first, .flags = 0, .buf = msg[i].data(), .len = msg[i].size(), .result = -1};
  }
  std::string tail = "+tail";
  out[kPairs] = net_io{.s = pairs[0].first, .flags = 0, .buf = tail.data(), .len = tail.size(), .result = -1};
  ASSERT_EQ(net_send_many(out, kPairs + 1), kPairs + 1);
  for (int i = 0; i < kPairs; ++i) EXPECT_EQ(out[i].result, static_cast<long>(msg[i].size())) << i;
  EXPECT_EQ(out[kPairs].result, static_cast<long>(tail.size()));

  // One call receives from every accepted end (loopback delivers at once, but wait for the last).
  char buf[kPairs][64];
  net_io in[kPairs];
  std::vector<std::string> got(kPairs);
  for (int round = 0; round < 1000; ++round) {
    bool done = true;
    for (int i = 0; i < kPairs; ++i) {
      in[i] = net_io{.s = pairs[i].second, .flags = 0, .buf = buf[i], .len = sizeof buf[i], .result = -1};
    }
    ASSERT_EQ(net_recv_many(in, kPairs), kPairs);
    for (int i = 0; i < kPairs; ++i) {
      if (in[i].result > 0) got[i].append(buf[i], static_cast<size_t>(in[i].result));
      if (in[i].result < 0) EXPECT_EQ(in[i].result, -EAGAIN) << i;  // non-blocking: never waits
      done &= got[i].size() >= msg[i].size() + (i == 0 ? tail.size() : 0);
    }
    if (done) break;
    usleep(1000);
  }
  EXPECT_EQ(got[0], msg[0] + tail);
  for (int i = 1; i < kPairs; ++i) EXPECT_EQ(got[i], msg[i]) << i;

  // Nothing left: every receive says -EAGAIN, and none of them blocked.
  for (int i = 0; i < kPairs; ++i) {
    in[i] = net_io{.s = pairs[i].second, .flags = 0, .buf = buf[i], .len = sizeof buf[i], .result = -1};
  }
  ASSERT_EQ(net_recv_many(in, kPairs), kPairs);
  for (int i = 0; i < kPairs; ++i) EXPECT_EQ(in[i].result, -EAGAIN) << i;

  // The end of a stream reads as 0 in a batch, as from net_recv.
  ASSERT_EQ(net_shutdown(pairs[1].first, 1), 0);
  for (int round = 0; round < 1000; ++round) {
    in[0] = net_io{.s = pairs[1].second, .flags = 0, .buf = buf[0], .len = sizeof buf[0], .result = -1};
    ASSERT_EQ(net_recv_many(in, 1), 1);
    if (in[0].result != -EAGAIN) break;
    usleep(1000);
  }
  EXPECT_EQ(in[0].result, 0);
  for (auto [c, a] : pairs) {
    EXPECT_EQ(net_close(c), 0);
    EXPECT_EQ(net_close(a), 0);
  }
  net_close(l);
}

TEST(net, a_bad_operation_in_a_batch_fails_alone) {
  int port = 0;
  int l = listen_any(port);
  auto [c, a] = connected_pair(l, port);
  int raw = socket(AF_INET, SOCK_STREAM, 0);
  char data[] = "ok";
  net_io op[6] = {
      {.s = raw, .flags = 0, .buf = data, .len = 2, .result = 7},          // not net's socket
      {.s = c, .flags = 0, .buf = nullptr, .len = 2, .result = 7},          // no buffer
      {.s = c, .flags = MSG_PEEK, .buf = data, .len = 2, .result = 7},      // not a send flag
      {.s = c, .flags = 0, .buf = data, .len = uint64_t{NET_MAX_IO} + 1, .result = 7},  // too long
      {.s = c, .flags = 0, .buf = data, .len = 2, .result = 7},             // good: goes through
      {.s = -1, .flags = 0, .buf = data, .len = 2, .result = 7},
  };
  ASSERT_EQ(net_send_many(op, 6), 6);
  EXPECT_EQ(op[0].result, -EBADF);
  EXPECT_EQ(op[1].result, -EFAULT);
  EXPECT_EQ(op[2].result, -EINVAL);
  EXPECT_EQ(op[3].result, -EINVAL);
  EXPECT_EQ(op[4].result, 2);
  EXPECT_EQ(op[5].result, -EBADF);
  char buf[8] = {};
  long n = -EAGAIN;
  for (int round = 0; n == -EAGAIN && round < 1000; ++round) {
    n = net_recv(a, buf, sizeof buf, 0);
    if (n == -EAGAIN) usleep(1000);
  }
  EXPECT_EQ(n, 2);  // only the good one was sent
  EXPECT_EQ(std::string(buf), "ok");

  // A bad batch does nothing at all, and says so.
  EXPECT_EQ(net_recv_many(nullptr, 1), -EFAULT);
  EXPECT_EQ(net_send_many(op, -1), -EINVAL);
  op[4].result = 7;
  EXPECT_EQ(net_send_many(op, NET_MAX_BATCH + 1), -EINVAL);
  EXPECT_EQ(op[4].result, 7);  // untouched
  EXPECT_EQ(net_recv_many(op, 0), 0);
  net_io peek{.s = a, .flags = MSG_MORE, .buf = buf, .len = 1, .result = 7};  // MSG_MORE: a send flag
  ASSERT_EQ(net_recv_many(&peek, 1), 1);
  EXPECT_EQ(peek.result, -EINVAL);
  close(raw);
  net_close(c);
  net_close(a);
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
