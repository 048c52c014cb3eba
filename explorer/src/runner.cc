#include "flex/explore/runner.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fmt/format.h>
#include <regex>
#include <sstream>
#include <thread>

#include "flex/build/fs_util.h"

namespace flex::explore {

namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;

std::atomic<bool> g_interrupted{false};

namespace {

void on_signal(int) {
  g_interrupted.store(true);
}

double since(clock_type::time_point t) {
  return std::chrono::duration<double>(clock_type::now() - t).count();
}

struct child {
  pid_t pid = -1;
  int out_fd = -1;  // read end of its output pipe
};

// Starts `cmd` in its own process group, stdout and stderr into a pipe.
child spawn(const std::string &cmd) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return {};
  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    return {};
  }
  if (pid == 0) {
    ::setpgid(0, 0);
    ::signal(SIGINT, SIG_DFL);
    ::signal(SIGTERM, SIG_DFL);
    int null = ::open("/dev/null", O_RDONLY);
    ::dup2(null, 0);
    ::dup2(fds[1], 1);
    ::dup2(fds[1], 2);
    ::execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char *>(nullptr));
    ::_exit(127);
  }
  ::setpgid(pid, pid);
  ::close(fds[1]);
  ::fcntl(fds[0], F_SETFL, O_NONBLOCK);
  return {pid, fds[0]};
}

void drain(int fd, std::string &into) {
  char buf[8192];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      into.append(buf, static_cast<std::size_t>(n));
      continue;
    }
    break;
  }
}

int exit_code(int st) {
  if (WIFEXITED(st)) return WEXITSTATUS(st);
  if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
  return -1;
}

void append_log(const fs::path &log, const std::string &text) {
  if (log.empty()) return;
  std::error_code ec;
  fs::create_directories(log.parent_path(), ec);
  if (std::FILE *f = std::fopen(log.c_str(), "ab")) {
    std::fwrite(text.data(), 1, text.size(), f);
    std::fclose(f);
  }
}

// Waits for `c` to end, reading its output; kills its group after the deadline or on interruption.
// Returns the exit status or -1.
int wait_child(child &c, std::string &out, double timeout_s, bool *timed_out = nullptr) {
  auto start = clock_type::now();
  int status = 0;
  while (true) {
    drain(c.out_fd, out);
    pid_t r = ::waitpid(c.pid, &status, WNOHANG);
    if (r == c.pid) break;
    if (g_interrupted.load() || since(start) > timeout_s) {
      // SIGTERM first: ninja passes it on to the compilers it runs in process groups of their own.
      ::kill(-c.pid, SIGTERM);
      auto term = clock_type::now();
      while (::waitpid(c.pid, &status, WNOHANG) != c.pid) {
        if (since(term) > 5) {
          ::kill(-c.pid, SIGKILL);
          ::waitpid(c.pid, &status, 0);
          break;
        }
        drain(c.out_fd, out);
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
      ::kill(-c.pid, SIGKILL);
      drain(c.out_fd, out);
      ::close(c.out_fd);
      if (timed_out) *timed_out = !g_interrupted.load();
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  drain(c.out_fd, out);
  ::close(c.out_fd);
  return exit_code(status);
}

// A server running during one measurement.
class server {
 public:
  explicit server(const std::string &cmd) : c_(spawn("exec " + cmd)) {}
  ~server() { stop(5); }
  bool started() const { return c_.pid > 0; }
  bool alive() {
    if (done_) return false;
    drain(c_.out_fd, out_);
    int st = 0;
    if (::waitpid(c_.pid, &st, WNOHANG) == c_.pid) {
      done_ = true;
      status_ = exit_code(st);
      return false;
    }
    return true;
  }
  // SIGTERM, then SIGKILL to the group after `grace_s`. Returns the exit status (-1: killed).
  int stop(double grace_s) {
    if (c_.pid <= 0) return -1;
    if (!done_) {
      ::kill(c_.pid, SIGTERM);
      auto start = clock_type::now();
      while (alive() && since(start) < grace_s) std::this_thread::sleep_for(std::chrono::milliseconds(20));
      if (!done_) {
        ::kill(-c_.pid, SIGKILL);
        int st = 0;
        ::waitpid(c_.pid, &st, 0);
        done_ = true;
        status_ = -1;
      }
    }
    drain(c_.out_fd, out_);
    ::close(c_.out_fd);
    ::kill(-c_.pid, SIGKILL);  // anything it left in its group
    c_.pid = -1;
    return status_;
  }
  const std::string &output() const { return out_; }

 private:
  child c_;
  bool done_ = false;
  int status_ = -1;
  std::string out_;
};

std::string tail(const std::string &s, std::size_t n = 600) {
  return s.size() <= n ? s : "..." + s.substr(s.size() - n);
}

}  // namespace

void install_interrupt_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
  ::signal(SIGPIPE, SIG_IGN);
}

int run_command(const std::string &cmd, const fs::path &log, double timeout_s, std::string *output, double *seconds) {
  auto start = clock_type::now();
  child c = spawn(cmd);
  if (c.pid <= 0) return -1;
  std::string out;
  bool timed_out = false;
  int st = wait_child(c, out, timeout_s, &timed_out);
  if (seconds) *seconds = since(start);
  append_log(log, fmt::format("$ {}\n{}{}[exit {}{}]\n", cmd, out, out.empty() || out.back() == '\n' ? "" : "\n", st,
                              timed_out ? ", timed out" : ""));
  if (output) *output = std::move(out);
  return st;
}

std::string expand(const std::string &tmpl, const std::vector<std::pair<std::string, std::string>> &vars) {
  std::string out = tmpl;
  for (const auto &[name, value] : vars) {
    const std::string key = "{" + name + "}";
    for (std::size_t at = out.find(key); at != std::string::npos; at = out.find(key, at + value.size())) {
      out.replace(at, key.size(), value);
    }
  }
  return out;
}

std::optional<double> read_metric(const metric_spec &m, const std::string &output, double seconds, std::string *error) {
  if (m.from == metric_source::time) return seconds;
  if (m.from == metric_source::regex) {
    std::regex re(m.pattern, std::regex::extended);
    std::smatch match;
    if (std::regex_search(output, match, re) && match.size() > 1) {
      try {
        return std::stod(match[1].str());
      } catch (const std::exception &) {
      }
    }
    if (error) *error = "the output has no figure matching '" + m.pattern + "'";
    return std::nullopt;
  }
  // redis-benchmark: `--csv` rows ("GET","85034.01",...) or `-q` lines (GET: 85034.01 requests per second).
  std::string text = output;
  std::replace(text.begin(), text.end(), '\r', '\n');
  std::istringstream lines(text);
  std::optional<double> found;
  for (std::string line; std::getline(lines, line);) {
    std::string name, rest;
    if (!line.empty() && line[0] == '"') {
      std::size_t close = line.find('"', 1);
      if (close == std::string::npos) continue;
      name = line.substr(1, close - 1);
      std::size_t open = line.find('"', close + 1);
      if (open == std::string::npos) continue;
      rest = line.substr(open + 1);
    } else {
      std::size_t colon = line.find(": ");
      if (colon == std::string::npos || line.find("requests per second") == std::string::npos) continue;
      name = line.substr(0, colon);
      rest = line.substr(colon + 2);
    }
    if (strcasecmp(name.c_str(), m.test.c_str()) != 0) continue;
    char *end = nullptr;
    double v = std::strtod(rest.c_str(), &end);
    if (end != rest.c_str() && std::isfinite(v) && v > 0) found = v;
  }
  if (!found && error) *error = "redis-benchmark printed no '" + m.test + "' figure";
  return found;
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  std::size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

bool settled(const std::vector<double> &samples, const repetition_spec &r) {
  const int n = static_cast<int>(samples.size());
  if (n >= r.max) return true;
  if (n < r.min) return false;
  double now = median(samples);
  double before = median(std::vector<double>(samples.begin(), samples.end() - 1));
  return std::fabs(now - before) <= r.tolerance * std::fabs(now);
}

median_ci median_interval(std::vector<double> v, double confidence) {
  if (v.empty()) return {};
  std::sort(v.begin(), v.end());
  const int n = static_cast<int>(v.size());
  if (n == 1) return {v[0], v[0], 0};
  // P(Binomial(n, 1/2) = j), through logs so that n in the hundreds stays finite.
  auto pmf = [n](int j) {
    return std::exp(std::lgamma(n + 1.0) - std::lgamma(j + 1.0) - std::lgamma(n - j + 1.0) - n * std::log(2.0));
  };
  int k = 1;
  double below = pmf(0);  // P(X < k)
  double coverage = 1 - 2 * below;
  for (int next = 2; 2 * next <= n + 1; ++next) {
    const double b = below + pmf(next - 1);
    if (1 - 2 * b < confidence) break;
    k = next;
    below = b;
    coverage = 1 - 2 * b;
  }
  return {v[static_cast<std::size_t>(k - 1)], v[static_cast<std::size_t>(n - k)], coverage};
}

bool straddles(const median_ci &ci, double floor, bool higher_is_better) {
  return straddles(ci, floor, floor, higher_is_better);
}

bool straddles(const median_ci &ci, double floor_lo, double floor_hi, bool higher_is_better) {
  // Clear: the whole interval meets the whole range (above its top, or below its bottom for a ceiling);
  // missed: none of it meets any of the range.
  if (higher_is_better) return !(ci.lo >= floor_hi) && !(ci.hi < floor_lo);
  return !(ci.hi <= floor_lo) && !(ci.lo > floor_hi);
}

int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr *>(&a), sizeof a) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr *>(&a), &len) == 0) {
    port = ntohs(a.sin_port);
  }
  ::close(fd);
  return port;
}

build_result flex_evaluator::build(const configuration &c, const fs::path &profile, const fs::path &image_dir, int jobs) {
  build_result r;
  std::string cmd = fmt::format("'{}' --profile '{}' -o '{}' --root '{}'{}", flexbuild_.string(), profile.string(),
                                image_dir.string(), s_.root.string(), jobs > 0 ? fmt::format(" -j {}", jobs) : "");
  fs::path log = logs_ / (c.hash + ".build.log");
  std::error_code ec;
  fs::remove(log, ec);
  std::string out;
  int st = run_command(cmd, log, 3600, &out, &r.seconds);
  r.executable = image_dir / profile_name(s_, c);
  if (st != 0) {
    r.error = st < 0 ? (g_interrupted ? "interrupted" : "flexbuild timed out")
                     : fmt::format("flexbuild exited with status {}: {}", st, tail(out));
    return r;
  }
  r.ok = true;
  return r;
}

run_result run_outcome(const metric_spec &m, int status, const std::string &output, double seconds) {
  run_result r;
  if (status != 0) {
    r.error = status < 0 ? (g_interrupted ? "interrupted" : "the benchmark timed out")
                         : fmt::format("the benchmark exited with status {}: {}", status, tail(output));
    return r;
  }
  std::string why;
  auto v = read_metric(m, output, seconds, &why);
  if (!v) {
    r.error = why;
    return r;
  }
  r.ok = true;
  r.value = *v;
  return r;
}

namespace {

// Runs `ready` until it succeeds (at once when it is empty). Returns why the server is not ready.
std::optional<std::string> wait_until_ready(server &srv, const std::string &ready, double timeout_s, const fs::path &log) {
  auto start = clock_type::now();
  for (bool up = ready.empty(); !up;) {
    if (!srv.alive()) {
      append_log(log, srv.output());
      return "the server exited before it was ready: " + tail(srv.output());
    }
    if (g_interrupted || since(start) > timeout_s) return g_interrupted ? "interrupted" : "the server was not ready in time";
    std::string out;
    up = run_command(ready, {}, 10, &out) == 0;
    if (!up) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return std::nullopt;
}

// Stops the server after the measured command ended with `command_status`. A server that fails on the
// way out spoils a run that otherwise succeeded: its figure may not be the server's work.
std::optional<std::string> stop_server(server &srv, int command_status, const fs::path &log) {
  int st = srv.stop(20);
  append_log(log, fmt::format("[server exit {}]\n{}", st, srv.output()));
  if (command_status == 0 && st != 0) return fmt::format("the server exited with status {}: {}", st, tail(srv.output()));
  return std::nullopt;
}

}  // namespace

// One run: start the server -> wait until it is ready -> run the measured command -> stop the server ->
// read the figure.
run_result flex_evaluator::run_once(const configuration &c, const fs::path &executable) {
  fs::path log = logs_ / (c.hash + ".bench.log");
  fs::path dir = logs_ / "run" / c.hash;
  std::error_code ec;
  fs::remove_all(dir, ec);
  fs::create_directories(dir, ec);
  const std::vector<std::pair<std::string, std::string>> vars = {
      {"image", executable.string()}, {"port", std::to_string(free_port())}, {"dir", dir.string()},
      {"root", s_.root.string()},     {"id", c.hash}};
  const benchmark_spec &b = s_.bench;
  std::optional<server> srv;
  if (!b.server.empty()) {
    std::string cmd = expand(b.server, vars);
    append_log(log, "$ " + cmd + " &\n");
    srv.emplace(cmd);
    if (!srv->started()) return {false, 0, "cannot start the server"};
    if (auto why = wait_until_ready(*srv, expand(b.ready, vars), b.timeout_s, log)) return {false, 0, *why};
  }
  std::string out;
  double seconds = 0;
  int st = run_command(expand(b.command, vars), log, b.timeout_s, &out, &seconds);
  if (srv) {
    if (auto why = stop_server(*srv, st, log)) return {false, 0, *why};
  }
  return run_outcome(b.metric, st, out, seconds);
}

}  // namespace flex::explore
