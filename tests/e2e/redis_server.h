// A Redis server under test (the redis app's images, the stock redis-server natively or in an image):
// started with a port and a directory, asked through redis-cli, stopped with SIGTERM.
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>
#include <thread>

#include "test_util.h"

namespace flex::test {

namespace fs = std::filesystem;

// One running server image; stopped with SIGTERM (a clean exit) when destroyed.
class server {
 public:
  // `dir_arg`: what --dir says, the scratch directory `dir` itself unless given (an image that reaches it
  // through a mount names the mount's path).
  // `flags`: the image's own, before the server's (--gate-stats).
  server(const std::string &exe, const fs::path &dir, int port, std::string dir_arg = "",
         const std::vector<std::string> &flags = {})
      : port_(port) {
    std::string log = (dir / "server.log").string();
    if (dir_arg.empty()) dir_arg = dir.string();
    std::vector<std::string> argv = {exe};
    argv.insert(argv.end(), flags.begin(), flags.end());
    for (std::string a : {std::string("--port"), std::to_string(port), std::string("--bind"), std::string("127.0.0.1"),
                          std::string("--dir"), dir_arg}) {
      argv.push_back(a);
    }
    pid_ = spawn_logged(argv, log, true);
    log_ = log;
  }
  ~server() { stop(); }

  // Waits (up to a minute: the PKU guest is slow) until the server answers PING.
  bool ready() {
    for (int i = 0; i < 600 && pid_ > 0; ++i) {
      if (cli("PING").out == "PONG\n") return true;
      int st = 0;
      if (::waitpid(pid_, &st, WNOHANG) == pid_) {
        pid_ = -1;
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }

  // redis-cli with one command per line on its standard input; one reply per line.
  command_result cli(const std::string &commands) const {
    fs::path in = fs::path(log_).parent_path() / "cli.in";
    write(in, commands + "\n");
    return run("redis-cli -p " + std::to_string(port_) + " < " + in.string());
  }

  int stop() {
    if (pid_ <= 0) return status_;
    ::kill(pid_, SIGTERM);
    int st = 0;
    ::waitpid(pid_, &st, 0);
    pid_ = -1;
    status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    return status_;
  }
  // Waits up to a minute for the server to exit by itself; its exit status, or -1 if it is still running.
  int wait_exit() {
    for (int i = 0; i < 600 && pid_ > 0; ++i) {
      int st = 0;
      if (::waitpid(pid_, &st, WNOHANG) == pid_) {
        pid_ = -1;
        status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        return status_;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return pid_ > 0 ? -1 : status_;
  }
  // SIGKILL, as a crash would: no handler runs.
  void kill_hard() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
    status_ = 128 + SIGKILL;
  }
  std::string log() const { return read(log_); }
  int port() const { return port_; }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  int port_;
  int status_ = -1;
  std::string log_;
};

}  // namespace flex::test
