// The Redis-compatible server of Flex: one event loop (as in Redis) over the net library, driving the
// engine (flex/redis/engine.h) with each connection's bytes.
//
//   redis [--port N] [--bind ADDR] [--maxclients N] [--max-request BYTES] [--dir DIR]
//         [--dbfilename NAME]
//
// Every call into net goes through a gate; whatever crosses it lives in shared memory: the bind
// address, socket options, the event array and the receive and send buffers (flexos_malloc_whitelist).
// The engine's own data (keys, values, parser state) stays in this compartment's private heap. Under a
// process boundary net's sockets live in net's process; net_poll_wait waits there.
#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <flex/console/console.h>
#include <flex/net/net.h>
#include <flex/redis/engine.h>
#include <flex/time/time.h>
#include <flexos/isolation.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vfs_files.h"

// A named namespace: the gates flex-transform writes declare their wrappers at block scope, which in an
// unnamed namespace would give them internal linkage.
namespace flex::redis_server {

constexpr std::size_t kIoBytes = 16 * 1024;  // one receive or send (Redis reads 16 KiB per wake-up too)
constexpr int kBatch = 64;                   // receives or sends per net_recv_many / net_send_many
constexpr int kMaxEvents = 256;
constexpr int kTickMs = 100;  // active expiry, as Redis's hz 10
constexpr std::uint64_t kListenCookie = ~std::uint64_t{0};

struct options {
  int port = 6379;
  std::string bind = "0.0.0.0";
  std::uint64_t maxclients = 10000;
  std::size_t max_request = 512u << 20;  // proto-max-bulk-len
  std::string dir = ".";
  std::string dbfilename = "dump.flexdb";
};

[[noreturn]] void usage(const char *why) {
  std::fprintf(stderr,
               "redis: %s\nusage: redis [--port N] [--bind ADDR] [--maxclients N] [--max-request BYTES] "
               "[--dir DIR] [--dbfilename NAME]\n",
               why);
  std::exit(2);
}

long number(const char *flag, const char *v, long lo, long hi) {
  char *end = nullptr;
  errno = 0;
  long n = std::strtol(v, &end, 10);
  if (errno || !end || *end || n < lo || n > hi) {
    std::fprintf(stderr, "redis: %s wants a number in %ld..%ld, got '%s'\n", flag, lo, hi, v);
    std::exit(2);
  }
  return n;
}

options parse(int argc, char **argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (i + 1 >= argc) usage(("missing value after " + a).c_str());
    const char *v = argv[++i];
    if (a == "--port") {
      o.port = static_cast<int>(number("--port", v, 0, 65535));
    } else if (a == "--bind") {
      o.bind = v;
    } else if (a == "--maxclients") {
      o.maxclients = static_cast<std::uint64_t>(number("--maxclients", v, 1, 1000000));
    } else if (a == "--max-request") {
      o.max_request = static_cast<std::size_t>(number("--max-request", v, 1024, 1L << 32));
    } else if (a == "--dir") {
      o.dir = v;
      while (o.dir.size() > 1 && o.dir.back() == '/') o.dir.pop_back();
      if (o.dir.empty()) o.dir = ".";
    } else if (a == "--dbfilename") {
      o.dbfilename = v;
    } else {
      usage(("unknown option " + a).c_str());
    }
  }
  return o;
}

struct connection {
  int fd = -1;
  flex::redis::client_state client;
  std::string out;  // replies not yet sent
  std::size_t out_off = 0;
  bool writing = false;  // also waiting for NET_OUT
  bool closing = false;  // close once `out` is sent
  bool pending = false;  // listed in server::pending_
};

class server {
 public:
  explicit server(const options &o)
      : opt_(o), engine_(config(o), [this] { return now_real_ms_; }) {}

  int run() {
    if (std::string err; mount_data_dir(opt_.dir, err) < 0) {
      std::fprintf(stderr, "redis: %s\n", err.c_str());
      return 1;
    }
    if (std::string err = engine_.load(); !err.empty()) {
      std::fprintf(stderr, "redis: %s\n", err.c_str());
      return 1;
    }
    if (int rc = listen(); rc < 0) return 1;
    events_ = static_cast<net_event *>(flexos_malloc_whitelist(sizeof(net_event) * kMaxEvents));
    ops_ = static_cast<net_io *>(flexos_malloc_whitelist(sizeof(net_io) * kBatch));
    io_ = static_cast<char *>(flexos_malloc_whitelist(kIoBytes * kBatch));
    if (!events_ || !ops_ || !io_) {
      std::fprintf(stderr, "redis: out of shared memory for the I/O buffers\n");
      return 1;
    }
    log("ready to accept connections on " + opt_.bind + ":" + std::to_string(opt_.port));
    std::int64_t next_tick = now_ms() + kTickMs;
    flexos_watch_termination();  // SIGTERM or SIGINT: leave the loop at the next tick, exit normally
    while (!flexos_termination_requested() && !engine_.shutdown_requested()) {
      int n = 0;
      flexos_gate_r(libnet, n, net_poll_wait, events_, kMaxEvents, kTickMs);
      if (n < 0) {
        std::fprintf(stderr, "redis: net_poll_wait: %s\n", std::strerror(-n));
        return 1;
      }
      const std::int64_t now = now_ms();  // one clock read for every command of this wake-up
      now_real_ms_ = now + real_offset_ms_;
      serve_round(n);
      if (now >= next_tick) {
        real_offset_ms_ = clock_ms(TIME_REALTIME) - now;  // a step of the wall clock shows within a tick
        now_real_ms_ = now + real_offset_ms_;
        engine_.active_expire(now_real_ms_, 200);  // expiry times are realtime, as the engine's clock
        engine_.sample_ops(now);
        sample_memory();
        next_tick = now + kTickMs;
      }
    }
    log("shutting down");
    return 0;
  }

 private:
  // One line through the console library (its compartment writes it).
  static void log(const std::string &line) {
    static char msg[CONSOLE_LINE_MAX] __attribute__((flexos_whitelist));
    std::size_t n = std::min(line.size(), sizeof msg);
    std::memcpy(msg, line.data(), n);
    long rc = 0;
    flexos_gate_r(libconsole, rc, console_write_line, msg, n);
    (void)rc;
  }

  // The clocks come from the time library (a gate when it lives in another compartment). The loop reads
  // the monotonic clock once per wake-up, as Redis caches its time per event-loop iteration, and derives
  // the engine's realtime clock (expiry, TIME) from it with an offset it re-reads at every tick (100 ms):
  // one gate call per wake-up, not two.
  static std::int64_t clock_ms(int clock) {
    std::int64_t ns = 0;
    flexos_gate_r(libtime, ns, time_now_ns, clock);
    return ns / 1000000;
  }
  static std::int64_t now_ms() { return clock_ms(TIME_MONOTONIC); }
  // rdb-key-save-delay's pauses sleep in the time library, as every sleep in an image does.
  static void sleep_us(std::int64_t us) {
    int rc = 0;
    flexos_gate_r(libtime, rc, time_sleep_ns, us * 1000);
    (void)rc;
  }

  flex::redis::engine_config config(const options &o) {
    flex::redis::engine_config c;
    c.port = o.port;
    c.bind = o.bind;
    c.maxclients = o.maxclients;
    c.dir = o.dir;
    c.dbfilename = o.dbfilename;
    c.files = vfs_file_ops(o.dir);  // SAVE and load go through vfs to --dir, mounted with hostfs
    c.limits.max_bulk_len = o.max_request;
    c.stats = [this] { return current_stats(); };
    c.sleep = sleep_us;
    return c;
  }

  int listen() {
    static char addr[64] __attribute__((flexos_whitelist));
    static int one __attribute__((flexos_whitelist)) = 1;
    if (opt_.bind.size() >= sizeof addr) {
      std::fprintf(stderr, "redis: --bind address too long: %s\n", opt_.bind.c_str());
      return -EINVAL;
    }
    std::memcpy(addr, opt_.bind.c_str(), opt_.bind.size() + 1);
    const int family = opt_.bind.find(':') != std::string::npos ? NET_INET6 : NET_INET;
    int rc = 0;
    flexos_gate_r(libnet, listen_fd_, net_socket, family, NET_STREAM | NET_SOCK_NONBLOCK);
    if (listen_fd_ < 0) return fail("socket", listen_fd_);
    flexos_gate_r(libnet, rc, net_setsockopt, listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (rc < 0) return fail("setsockopt", rc);
    flexos_gate_r(libnet, rc, net_bind, listen_fd_, addr, opt_.port);
    if (rc < 0) return fail("bind", rc);
    flexos_gate_r(libnet, rc, net_listen, listen_fd_, 511);
    if (rc < 0) return fail("listen", rc);
    flexos_gate_r(libnet, rc, net_poll_add, listen_fd_, NET_IN, kListenCookie);
    if (rc < 0) return fail("poll", rc);
    return 0;
  }

  int fail(const char *what, int rc) {
    std::fprintf(stderr, "redis: cannot listen on %s:%d: %s: %s\n", opt_.bind.c_str(), opt_.port, what,
                 std::strerror(-rc));
    return rc;
  }

  void accept_all() {
    static int one __attribute__((flexos_whitelist)) = 1;
    for (;;) {
      int fd = 0, rc = 0;
      flexos_gate_r(libnet, fd, net_accept, listen_fd_, NET_NONBLOCK);
      if (fd < 0) return;  // -EAGAIN: no more for now
      ++stats_.total_connections_received;
      if (stats_.connected_clients >= opt_.maxclients) {
        static char full[] __attribute__((flexos_whitelist)) = "-ERR max number of clients reached\r\n";
        long sent = 0;
        flexos_gate_r(libnet, sent, net_send, fd, full, sizeof full - 1, 0);
        (void)sent;
        flexos_gate_r(libnet, rc, net_close, fd);
        ++stats_.rejected_connections;
        continue;
      }
      flexos_gate_r(libnet, rc, net_setsockopt, fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      flexos_gate_r(libnet, rc, net_poll_add, fd, NET_IN, static_cast<std::uint64_t>(fd));
      if (rc < 0) {
        flexos_gate_r(libnet, rc, net_close, fd);
        continue;
      }
      if (static_cast<std::size_t>(fd) >= conns_.size()) conns_.resize(static_cast<std::size_t>(fd) + 1);
      conns_[static_cast<std::size_t>(fd)] = std::make_unique<connection>();
      conns_[static_cast<std::size_t>(fd)]->fd = fd;
      ++stats_.connected_clients;
    }
  }

  connection *conn(int fd) {
    return fd >= 0 && static_cast<std::size_t>(fd) < conns_.size() ? conns_[static_cast<std::size_t>(fd)].get()
                                                                    : nullptr;
  }

  // One wake-up: accept, then receive from every readable connection, then send to every connection
  // with replies pending, then drop those that hung up. Receives and sends go to net in batches (one
  // gate crossing per batch of up to kBatch sockets, not one per socket). A socket that still holds
  // bytes after one receive is reported again at the next wake-up (readiness is level-triggered), so
  // no connection can hold the loop.
  void serve_round(int n) {
    readable_.clear();
    hung_up_.clear();
    for (int i = 0; i < n; ++i) {
      const net_event ev = events_[i];
      if (ev.cookie == kListenCookie) {
        accept_all();
        continue;
      }
      const int fd = static_cast<int>(ev.cookie);
      connection *c = conn(fd);
      if (!c) continue;
      if (ev.events & NET_IN) readable_.push_back(fd);
      if (ev.events & NET_OUT) mark_pending(*c);
      if (ev.events & (NET_ERR | NET_HUP)) hung_up_.push_back(fd);
    }
    for (std::size_t i = 0; i < readable_.size(); i += kBatch) {
      receive_batch(readable_.data() + i, std::min<std::size_t>(kBatch, readable_.size() - i));
    }
    flush_pending();
    for (int fd : hung_up_) {
      if (connection *c = conn(fd); c && c->out.empty()) drop(*c);
    }
  }

  void receive_batch(const int *fds, std::size_t k) {
    for (std::size_t j = 0; j < k; ++j) {
      ops_[j] = net_io{.s = fds[j], .flags = 0, .buf = io_ + j * kIoBytes, .len = kIoBytes, .result = 0};
    }
    int rc = 0;
    flexos_gate_r(libnet, rc, net_recv_many, ops_, static_cast<int>(k));
    if (rc < 0) return;  // a bad batch: nothing was received
    for (std::size_t j = 0; j < k; ++j) {
      connection *c = conn(fds[j]);
      if (!c) continue;
      const long got = ops_[j].result;
      if (got == -EAGAIN || got == -EINTR) continue;
      if (got <= 0) {
        drop(*c);
        continue;
      }
      stats_.total_net_input_bytes += static_cast<std::uint64_t>(got);
      flex::redis::reply_buffer out;
      bool close = engine_.feed(c->client, std::string_view(io_ + j * kIoBytes, static_cast<std::size_t>(got)), out);
      if (c->out.empty()) {
        c->out = out.take();  // the usual case: no reply left over, so no copy
      } else {
        c->out += out.data();
      }
      if (close) c->closing = true;
      if (!c->out.empty() || c->closing) mark_pending(*c);
    }
  }

  void mark_pending(connection &c) {
    if (c.pending) return;
    c.pending = true;
    pending_.push_back(c.fd);
  }

  // Sends what every pending connection has, kBatch sockets per call into net, each at most kIoBytes
  // per round; a connection that sent all it was given and has more goes on to the next round.
  void flush_pending() {
    while (!pending_.empty()) {
      std::size_t k = 0;
      std::size_t j = 0;
      int fds[kBatch];
      for (; j < pending_.size() && k < kBatch; ++j) {
        connection *c = conn(pending_[j]);
        if (!c) continue;
        if (c->out_off >= c->out.size()) {
          finish_sending(*c);
          continue;
        }
        const std::size_t len = std::min(kIoBytes, c->out.size() - c->out_off);
        std::memcpy(io_ + k * kIoBytes, c->out.data() + c->out_off, len);
        ops_[k] = net_io{.s = c->fd, .flags = 0, .buf = io_ + k * kIoBytes, .len = len, .result = 0};
        fds[k++] = c->fd;
      }
      pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(j));
      if (k == 0) continue;
      int rc = 0;
      flexos_gate_r(libnet, rc, net_send_many, ops_, static_cast<int>(k));
      for (std::size_t i = 0; i < k; ++i) {
        connection *c = conn(fds[i]);
        if (!c) continue;
        const long sent = rc < 0 ? rc : ops_[i].result;
        if (sent == -EAGAIN || (sent >= 0 && static_cast<std::uint64_t>(sent) < ops_[i].len)) {
          if (sent > 0) account_sent(*c, sent);
          c->pending = false;
          want_write(*c, true);  // the socket is full: NET_OUT brings it back
          continue;
        }
        if (sent < 0) {
          drop(*c);
          continue;
        }
        account_sent(*c, sent);
        if (c->out_off >= c->out.size()) {
          finish_sending(*c);
        } else {
          pending_.push_back(c->fd);  // more than one round's worth: on in the next round
        }
      }
    }
  }

  void account_sent(connection &c, long n) {
    stats_.total_net_output_bytes += static_cast<std::uint64_t>(n);
    c.out_off += static_cast<std::size_t>(n);
  }

  void finish_sending(connection &c) {
    c.out.clear();
    c.out_off = 0;
    c.pending = false;
    want_write(c, false);
    if (c.closing) drop(c);
  }

  void want_write(connection &c, bool on) {
    if (c.writing == on) return;
    int rc = 0;
    flexos_gate_r(libnet, rc, net_poll_mod, c.fd, NET_IN | (on ? NET_OUT : 0u), static_cast<std::uint64_t>(c.fd));
    c.writing = on && rc == 0;
  }

  // INFO's figures: the loop's counters, and the memory of this compartment's allocator. Where the
  // allocator keeps no peak (glibc, ASan), the peak is the most seen at a tick or an INFO.
  flex::redis::server_stats current_stats() {
    flex::redis::server_stats s = stats_;
    flexos_mem_stats m = sample_memory();
    s.used_memory = m.in_use_bytes;
    s.used_memory_rss = m.resident_bytes;
    s.used_memory_peak = peak_memory_;
    s.mem_allocator = m.allocator != nullptr ? m.allocator : "unknown";
    s.process_id = ::getpid();
    return s;
  }
  flexos_mem_stats sample_memory() {
    flexos_mem_stats m{};
    flexos_memory_usage(&m);
    peak_memory_ = std::max({peak_memory_, m.in_use_bytes, m.peak_in_use_bytes});
    return m;
  }

  void drop(connection &c) {
    int fd = c.fd, rc = 0;
    flexos_gate_r(libnet, rc, net_close, fd);
    (void)rc;
    --stats_.connected_clients;
    conns_[static_cast<std::size_t>(fd)].reset();
  }

  options opt_;
  flex::redis::server_stats stats_;
  std::size_t peak_memory_ = 0;
  std::int64_t real_offset_ms_ = clock_ms(TIME_REALTIME) - clock_ms(TIME_MONOTONIC);
  std::int64_t now_real_ms_ = now_ms() + real_offset_ms_;  // the engine's clock (before engine_: it reads it)
  flex::redis::engine engine_;
  int listen_fd_ = -1;
  net_event *events_ = nullptr;
  net_io *ops_ = nullptr;  // one batch of receives or sends (shared, like the buffers)
  char *io_ = nullptr;     // kBatch buffers of kIoBytes
  std::vector<int> readable_, hung_up_, pending_;  // fds, for one wake-up
  std::vector<std::unique_ptr<connection>> conns_;
};

}  // namespace flex::redis_server

int main(int argc, char **argv) {
  using namespace flex::redis_server;
  options o = parse(argc, argv);
  signal(SIGPIPE, SIG_IGN);
  server s(o);
  return s.run();
}
