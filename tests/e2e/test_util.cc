#include "test_util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <fcntl.h>
#include <spawn.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

#include <flex/pku/pku.h>

extern char **environ;

namespace flex::test {

namespace fs = std::filesystem;

pid_t spawn_logged(const std::vector<std::string> &args, const std::filesystem::path &log, bool append) {
  std::vector<std::string> copy = args;
  std::vector<char *> argv;
  for (auto &a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC), 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  pid_t pid = -1;
  if (posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ) != 0) pid = -1;
  posix_spawn_file_actions_destroy(&fa);
  return pid;
}

image_process::image_process(const std::string &exe, const std::vector<std::string> &args,
                             const std::filesystem::path &log)
    : log_(log) {
  std::vector<std::string> all = {exe};
  all.insert(all.end(), args.begin(), args.end());
  pid_ = spawn_logged(all, log, false);
}

image_process::~image_process() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
}

bool image_process::ready(const std::string &marker, int seconds) {
  for (int i = 0; i < seconds * 10 && pid_ > 0; ++i) {
    if (read(log_).find(marker) != std::string::npos) return true;
    if (exited()) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

bool image_process::exited() {
  int st = 0;
  if (pid_ > 0 && ::waitpid(pid_, &st, WNOHANG) == pid_) {
    pid_ = -1;
    status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  }
  return pid_ <= 0;
}

int image_process::wait(int seconds) {
  for (int i = 0; i < seconds * 10; ++i) {
    if (exited()) return status_;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return -1;
}

void image_process::signal(int sig) {
  if (pid_ > 0) ::kill(pid_, sig);
}

int connect_to(int port) {
  int c = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(port));
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(c, reinterpret_cast<sockaddr *>(&sa), sizeof sa) != 0) {
    ::close(c);
    return -1;
  }
  return c;
}

int free_port() {
  int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(s, reinterpret_cast<sockaddr *>(&sa), sizeof sa);
  socklen_t len = sizeof sa;
  ::getsockname(s, reinterpret_cast<sockaddr *>(&sa), &len);
  ::close(s);
  return ntohs(sa.sin_port);
}

command_result run(const std::string &cmd) {
  command_result r;
  std::string full = "(" + cmd + ") 2>&1";
  std::FILE *p = ::popen(full.c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  int st = ::pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  return r;
}

std::string read(const fs::path &p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write(const fs::path &p, const std::string &content) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << content;
}

scratch_dir::scratch_dir(const std::string &name)
    : path_(fs::path(FLEX_BINARY_DIR) / "test-scratch" / (name + "-" + std::to_string(::getpid()))) {
  fs::remove_all(path_);
  fs::create_directories(path_);
}

scratch_dir::~scratch_dir() {
  std::error_code ec;
  if (std::getenv("FLEX_KEEP_SCRATCH") == nullptr) fs::remove_all(path_, ec);
}

fs::path source_dir() { return FLEX_SOURCE_DIR; }
fs::path flexbuild() { return fs::path(FLEX_BINARY_DIR) / "bin" / "flexbuild"; }
std::string llvm_tool(const std::string &name) { return "/usr/lib/llvm-19/bin/" + name; }

fs::path isolation_fixture() { return source_dir() / "tests/e2e/fixtures/isolation"; }

bool machine_has_pku() {
  return flex::pku::pku_status().available;
}

bool profile_needs_pku(const std::string &profile) {
  return read(source_dir() / "profiles" / (profile + ".yaml")).find("isolation: mpk") != std::string::npos;
}

fs::path test_image(const std::string &name) {
  return fs::path(FLEX_BINARY_DIR) / "test-images" / name / name;
}

command_result build_test_image(const fs::path &profile, const std::string &name, const fs::path &root,
                                const std::string &flags) {
  // Inside the PKU guest the same test binary has just built the image on the host (tests/pku_guest.sh),
  // and re-checking it there costs minutes of emulation: use it as it is.
  if (std::getenv("FLEX_PKU_VM_GUEST") && fs::exists(test_image(name))) return {0, "built on the host"};
  fs::path out = test_image(name).parent_path();
  fs::create_directories(out.parent_path());
  return run("flock " + out.string() + ".lock " + flexbuild().string() + " --profile " + profile.string() +
             (root.empty() ? std::string() : " --root " + root.string()) + " -o " + out.string() +
             (flags.empty() ? std::string() : " " + flags));
}

std::string param_name(std::string profile) {
  for (char &c : profile) c = c == '-' ? '_' : c;
  return profile;
}

}  // namespace flex::test
