// The loader and dispatch of unmodified programs (binary.h), with Debian's busybox-static (a static
// program) and redis-server (a dynamic one, with its interpreter) as the programs.
#include "flex/runtime/binary.h"

#include <gtest/gtest.h>
#include <seccomp.h>
#include <sys/mman.h>

#include <arpa/inet.h>
#include <elf.h>
#include <signal.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <thread>

namespace flex::runtime::binary {
namespace {

namespace fs = std::filesystem;

constexpr const char *kBusybox = "/bin/busybox";
constexpr const char *kRedis = "/usr/bin/redis-server";

// A dispatcher that counts every call and makes it in the kernel, except the program's writes to its
// standard output and error, which it keeps (unless `pass_writes`), its closes of the standard streams
// (the test's own: they succeed and stay open), and the calls named in `refuse` (-ENOSYS).
struct recorder {
  std::map<long, int> calls;
  std::string out, err;
  bool pass_writes = false;
  std::vector<long> refuse;
};

long answer(void *ctx, long nr, const long a[6]) {
  auto *r = static_cast<recorder *>(ctx);
  ++r->calls[nr];
  for (long n : r->refuse) {
    if (n == nr) return -ENOSYS;
  }
  if (nr == SYS_close && a[0] >= 0 && a[0] <= 2) return 0;  // the test's own standard streams stay open
  if (nr == SYS_write && (a[0] == 1 || a[0] == 2) && !r->pass_writes) {
    (a[0] == 1 ? r->out : r->err).append(reinterpret_cast<const char *>(a[1]), static_cast<std::size_t>(a[2]));
    return a[2];
  }
  const long v = ::syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
  return v == -1 ? -errno : v;
}

#define REQUIRE_MACHINE()                                                 \
  if (std::string why = machine_check(); !why.empty()) GTEST_SKIP() << why
#define REQUIRE_FILE(path) \
  if (!fs::exists(path)) GTEST_SKIP() << path << " is not installed"

int run_program(std::vector<std::string> argv, recorder &r, const char *path = kBusybox, bool forks = false) {
  int st = -1;
  status s = run({path, std::move(argv), {"PATH=/bin:/usr/bin", "HOME=/tmp"}, forks}, &answer, &r, &st);
  EXPECT_TRUE(s.ok()) << s.message();
  return st;
}

TEST(binary, a_static_programs_system_calls_are_answered_by_the_dispatcher) {
  REQUIRE_MACHINE();
  REQUIRE_FILE(kBusybox);
  recorder r;
  EXPECT_EQ(run_program({"busybox", "echo", "hello", "from", "flex"}, r), 0);
  // The dispatcher kept the bytes: they reached it, not the kernel.
  EXPECT_EQ(r.out, "hello from flex\n");
  EXPECT_GE(r.calls[SYS_write], 1);
  EXPECT_EQ(r.calls[SYS_exit_group], 0) << "the loader ends the program itself";
}

std::vector<long> g_announced;
void note_announced(long nr) {
  g_announced.push_back(nr);
}

// The calls the loader answers itself (signal state, the end) are announced to the program's side before
// it answers them; those the dispatch answers are not (the dispatch sees them).
TEST(binary, the_calls_the_loader_answers_itself_are_announced_first) {
  REQUIRE_MACHINE();
  REQUIRE_FILE(kBusybox);
  recorder r;
  g_announced.clear();
  program p{kBusybox, {"busybox", "sh", "-c", "trap 'echo t' USR1; echo x"}, {"PATH=/bin:/usr/bin"}, false};
  p.announce = &note_announced;
  int st = -1;
  ASSERT_TRUE(run(p, &answer, &r, &st).ok());
  EXPECT_EQ(st, 0);
  EXPECT_EQ(r.out, "x\n");
  ASSERT_FALSE(g_announced.empty());
  EXPECT_EQ(g_announced.back(), SYS_exit_group);
  EXPECT_NE(std::find(g_announced.begin(), g_announced.end(), SYS_rt_sigaction), g_announced.end());
  EXPECT_EQ(std::find(g_announced.begin(), g_announced.end(), SYS_write), g_announced.end());
  EXPECT_GE(r.calls[SYS_write], 1);
}

TEST(binary, the_exit_status_is_the_programs) {
  REQUIRE_MACHINE();
  REQUIRE_FILE(kBusybox);
  recorder r;
  EXPECT_EQ(run_program({"busybox", "false"}, r), 1);
  EXPECT_EQ(run_program({"busybox", "sh", "-c", "exit 7"}, r), 7);
  // And the loader can run another program afterwards, in the same process.
  recorder again;
  EXPECT_EQ(run_program({"busybox", "echo", "again"}, again), 0);
  EXPECT_EQ(again.out, "again\n");
}

TEST(binary, a_program_reads_files_through_the_dispatcher) {
  REQUIRE_MACHINE();
  REQUIRE_FILE(kBusybox);
  const fs::path file = fs::temp_directory_path() / ("flex-binary-" + std::to_string(::getpid()));
  std::ofstream(file) << "line one\nline two\n";
  recorder r;
  EXPECT_EQ(run_program({"busybox", "sed", "-n", "2p", file.string()}, r), 0);
  EXPECT_EQ(r.out, "line two\n");
  EXPECT_GE(r.calls[SYS_openat], 1);
  EXPECT_GE(r.calls[SYS_read], 1);
  fs::remove(file);
}

// A call the dispatcher does not serve is answered -ENOSYS: the program sees an error it handles, and the
// process goes on.
TEST(binary, a_call_the_dispatcher_does_not_serve_is_an_error_the_program_sees) {
  REQUIRE_MACHINE();
  REQUIRE_FILE(kBusybox);
  recorder r;
  r.refuse = {SYS_openat};
  EXPECT_EQ(run_program({"busybox", "cat", "/etc/hostname"}, r), 1);
  EXPECT_GE(r.calls[SYS_openat], 1);
  EXPECT_NE(r.err.find("Function not implemented"), std::string::npos) << r.err;
  recorder ok;
  EXPECT_EQ(run_program({"busybox", "uname", "-s"}, ok), 0);
  EXPECT_EQ(ok.out, "Linux\n");
}

// The program reads the clock through the process's vDSO: no call reaches the dispatcher for it.
TEST(binary, a_programs_clock_reads_make_no_system_call) {
  REQUIRE_MACHINE();
  REQUIRE_FILE(kBusybox);
  recorder r;
  EXPECT_EQ(run_program({"busybox", "date", "+%Y"}, r), 0);
  EXPECT_EQ(r.out.size(), 5u) << r.out;  // a year and a newline
  EXPECT_EQ(r.calls[SYS_clock_gettime] + r.calls[SYS_gettimeofday] + r.calls[SYS_time], 0);
}

// The program's own signal handler runs (the shell's trap) and returns through its own rt_sigreturn,
// which the loader makes on the program's frame.
TEST(binary, a_handler_the_program_installs_runs_and_returns) {
  REQUIRE_MACHINE();
  REQUIRE_FILE(kBusybox);
  recorder r;
  EXPECT_EQ(run_program({"busybox", "sh", "-c", "trap 'echo caught' USR1; kill -USR1 $$; echo after"}, r), 0);
  EXPECT_EQ(r.out, "caught\nafter\n");
  EXPECT_GE(r.calls[SYS_kill], 1);
}

// A program that may fork (an image with only `isolation: none` compartments): the shell's subshell is a
// child process, a copy of this one, whose calls are the dispatcher's too (its cat's open is refused there
// as here, so it ends with 5), and whose status the shell waits for. Were the child's dispatch not armed
// again (the kernel does not carry it over a fork), its open would reach the kernel and it would end with 0.
TEST(binary, a_program_that_may_fork_makes_a_child_whose_calls_are_dispatched) {
  REQUIRE_MACHINE();
  REQUIRE_FILE(kBusybox);
  recorder r;
  r.refuse = {SYS_openat};
  EXPECT_EQ(run_program({"busybox", "sh", "-c", "(cat /etc/hostname || exit 5); echo status $?"}, r, kBusybox, true), 0);
  EXPECT_EQ(r.out, "status 5\n");
  EXPECT_GE(r.calls[SYS_wait4], 1);
}

// A program that may not (an image with an mpk domain or a compartment process): its fork is answered
// ENOSYS, counted, and the shell says it cannot fork.
TEST(binary, a_program_that_may_not_fork_gets_enosys_for_its_fork) {
  REQUIRE_MACHINE();
  REQUIRE_FILE(kBusybox);
  recorder r;
  const std::uint64_t before = unanswered(SYS_clone);
  EXPECT_NE(run_program({"busybox", "sh", "-c", "(exit 3); echo status $?"}, r), 0);
  EXPECT_EQ(r.out.find("status 3"), std::string::npos) << r.out;
  EXPECT_NE(r.err.find("can't fork"), std::string::npos) << r.err;
  EXPECT_EQ(unanswered(SYS_clone), before + 1);
}

// A signal whose action is the default one ends the program even while the runtime answers a call that
// blocks (the dispatch's handler lets through every signal the program has no handler for): SIGTERM
// during `sleep 60` ends it at once, as natively. Run in a child of the test (it ends by the signal); were
// the signal held back until the call returns, the child would end with 3 ten seconds later.
TEST(binary, a_signal_with_its_default_action_ends_the_program_during_a_blocking_call) {
  REQUIRE_MACHINE();
  REQUIRE_FILE(kBusybox);
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        ::signal(SIGTERM, SIG_DFL);
        const long program_thread = ::syscall(SYS_gettid);
        std::thread([program_thread] {  // to the program's thread, which must take it itself
          std::this_thread::sleep_for(std::chrono::milliseconds(300));
          ::syscall(SYS_tgkill, ::getpid(), program_thread, SIGTERM);
          std::this_thread::sleep_for(std::chrono::seconds(10));
          std::_Exit(3);  // the signal stayed pending: the program still sleeps
        }).detach();
        recorder r;
        run_program({"busybox", "sleep", "60"}, r);
        std::_Exit(0);
      },
      ::testing::KilledBySignal(SIGTERM), "");
}

// A handler of the runtime's (an image's fault report, its termination handler) that a signal runs while
// the program runs: it runs in the runtime's state, on the runtime's thread block (%fs), and its system
// calls are the runtime's own, not answered by the program's dispatcher. The signal comes while the
// program's shell counts in a loop with no system call, and the program goes on after the handler.
std::atomic<std::uint64_t> g_handler_fs{0};
std::atomic<long> g_handler_call{0};  // 1: its getrusage succeeded
TEST(binary, a_runtime_handler_runs_in_the_runtimes_state_while_the_program_runs) {
  REQUIRE_MACHINE();
  REQUIRE_FILE(kBusybox);
  struct sigaction sa {};
  sa.sa_handler = [](int) {
    std::uint64_t fs;
    asm volatile("rdfsbase %0" : "=r"(fs));
    g_handler_fs = fs;
    struct rusage ru {};
    g_handler_call = ::syscall(SYS_getrusage, RUSAGE_SELF, &ru) == 0 ? 1 : -1;
  };
  struct sigaction old {};
  ASSERT_EQ(::sigaction(SIGUSR2, &sa, &old), 0);
  std::uint64_t runtime_fs;
  asm volatile("rdfsbase %0" : "=r"(runtime_fs));
  const long program_thread = ::syscall(SYS_gettid);
  std::thread sender([program_thread] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    ::syscall(SYS_tgkill, ::getpid(), program_thread, SIGUSR2);
  });
  recorder r;
  EXPECT_EQ(run_program({"busybox", "sh", "-c", "i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done; echo counted $i"}, r),
            0);
  sender.join();
  ::sigaction(SIGUSR2, &old, nullptr);
  EXPECT_EQ(r.out, "counted 300000\n");
  EXPECT_EQ(g_handler_fs.load(), runtime_fs);
  EXPECT_EQ(g_handler_call.load(), 1);
  EXPECT_EQ(r.calls[SYS_getrusage], 0);  // the handler's call was not the program's
}

// A SIGSYS that is not the dispatch's goes to the handler the runtime had before the program ran (in an
// image: the lockdown's report of a call its filter refuses).
volatile int g_runtime_sigsys = 0;
TEST(binary, a_sigsys_that_is_not_the_dispatchs_reaches_the_runtimes_handler) {
  REQUIRE_MACHINE();
  REQUIRE_FILE(kBusybox);
  struct sigaction sa {};
  sa.sa_handler = [](int) { g_runtime_sigsys = g_runtime_sigsys + 1; };
  struct sigaction old {};
  ASSERT_EQ(::sigaction(SIGSYS, &sa, &old), 0);
  recorder r;
  EXPECT_EQ(run_program({"busybox", "sh", "-c", "kill -SYS $$; echo after"}, r), 0);
  EXPECT_EQ(r.out, "after\n");
  EXPECT_EQ(g_runtime_sigsys, 1);
  ::sigaction(SIGSYS, &old, nullptr);
}

// A dynamic program: the loader maps it and its interpreter, which loads its libraries through the
// dispatcher (openat, mmap) and sets its thread pointer (arch_prctl, answered by the loader).
TEST(binary, a_dynamic_program_runs_with_its_interpreter) {
  REQUIRE_MACHINE();
  REQUIRE_FILE(kRedis);
  recorder r;
  EXPECT_EQ(run_program({"redis-server", "--version"}, r, kRedis), 0);
  EXPECT_NE(r.out.find("Redis server v=7."), std::string::npos) << r.out;
  EXPECT_GE(r.calls[SYS_openat], 1);
  EXPECT_GE(r.calls[SYS_mmap], 1);
}

// link() runs a dynamic program's interpreter at once, to the program's entry (its libraries mapped and
// initialised); run() then starts the program there with no new executable memory: under a filter that
// refuses any mapping or protection with PROT_EXEC, as an image's lockdown does after boot, it runs and
// prints. In a child process (the filter stays with the process).
// The child's side: 0 when the program linked, the wall held, and the program ran behind it and printed.
int link_then_wall_then_run() {
  recorder r;
  const program p{"/bin/echo", {"echo", "linked", "first"}, {"PATH=/bin"}};
  if (!link(p, &answer, &r).ok()) return 2;
  if (r.calls[SYS_openat] < 1 || !r.out.empty()) return 3;  // libc was opened; echo has not run
  scmp_filter_ctx f = seccomp_init(SCMP_ACT_ALLOW);
  const scmp_arg_cmp exec = SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, PROT_EXEC);
  seccomp_rule_add(f, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(mmap), 1, exec);
  seccomp_rule_add(f, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(mprotect), 1, exec);
  if (seccomp_load(f) != 0) return 4;
  seccomp_release(f);
  void *probe = ::mmap(nullptr, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (probe != MAP_FAILED) return 5;  // the wall holds
  r.calls.clear();
  int st = -1;
  if (!run(p, &answer, &r, &st).ok()) return 6;
  if (r.calls[SYS_openat] != 0) return 7;  // nothing loaded after the wall
  return st == 0 && r.out == "linked first\n" ? 0 : 8;
}

TEST(binary, a_program_linked_before_a_wall_against_executable_memory_runs_behind_it) {
  REQUIRE_MACHINE();
  REQUIRE_FILE("/bin/echo");
  EXPECT_EXIT(std::_Exit(link_then_wall_then_run()), ::testing::ExitedWithCode(0), "");
}

// A program whose interpreter ends before the entry (it cannot find a library) is no linked program: link
// says so, naming the status, and leaves nothing mapped behind.
TEST(binary, link_reports_an_interpreter_that_ends_before_the_entry) {
  REQUIRE_MACHINE();
  REQUIRE_FILE("/bin/echo");
  recorder r;
  r.refuse = {SYS_openat};  // no library can be opened (the interpreter says so on the standard error)
  status s = link({"/bin/echo", {"echo"}, {}}, &answer, &r);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("its interpreter ended with status 127 before the program's first instruction"),
            std::string::npos)
      << s.message();
  // The process can still run a program afterwards.
  recorder again;
  int st = -1;
  ASSERT_TRUE(run({"/bin/echo", {"echo", "after"}, {}}, &answer, &again, &st).ok());
  EXPECT_EQ(again.out, "after\n");
}

// The stock redis-server, unmodified, with its background threads (each started by the loader as a thread
// of the runtime that takes the program's registers and arms its own dispatch), serves the real redis-cli.
// In a child process: a program that started threads leaves them parked at its end, so the process ends.
int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t n = sizeof a;
  ::bind(fd, reinterpret_cast<sockaddr *>(&a), sizeof a);
  ::getsockname(fd, reinterpret_cast<sockaddr *>(&a), &n);
  ::close(fd);
  return ntohs(a.sin_port);
}

std::string shell(const std::string &cmd) {
  std::string out;
  if (FILE *p = ::popen(cmd.c_str(), "r")) {
    char buf[256];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    ::pclose(p);
  }
  return out;
}

TEST(binary, the_stock_redis_server_runs_with_its_threads_and_serves_redis_cli) {
  REQUIRE_MACHINE();
  REQUIRE_FILE(kRedis);
  REQUIRE_FILE("/usr/bin/redis-cli");
  const int port = free_port();
  const std::string cli = "redis-cli -p " + std::to_string(port) + " ";
  EXPECT_EXIT(
      {
        std::string got;
        std::atomic<bool> asked{false};
        int tasks = 0;
        // Detached: its redis-cli shutdown only returns once the process ends and closes the program's
        // descriptors (the loader does not know them).
        std::thread([&] {
          for (int i = 0; i < 200 && shell(cli + "ping 2>/dev/null") != "PONG\n"; ++i) ::usleep(20000);
          got = shell(cli + "set k flex") + shell(cli + "incr n") + shell(cli + "incr n") + shell(cli + "get k");
          // This thread, the one running redis-server, and its three background threads.
          tasks = static_cast<int>(std::distance(fs::directory_iterator("/proc/self/task"), fs::directory_iterator()));
          asked = true;
          shell(cli + "shutdown nosave 2>/dev/null");
        }).detach();
        recorder r;  // keeps the server's log
        int st = run_program({"redis-server", "--port", std::to_string(port), "--save", "", "--daemonize", "no"}, r, kRedis);
        if (!asked) std::_Exit(9);
        const bool threads = tasks >= 5;
        std::_Exit(st == 0 && got == "OK\n1\n2\nflex\n" && threads ? 0 : 10 + (got == "OK\n1\n2\nflex\n") + 2 * threads);
      },
      ::testing::ExitedWithCode(0), "");
}

// Bound calls: the program's calls of write, read, send and getppid through its C library reach the
// dispatcher without the dispatch's signal, as the same calls, and a failed one sets the program's errno.
TEST(binary, a_programs_c_library_calls_are_bound_to_the_dispatcher) {
  REQUIRE_MACHINE();
  recorder r;
  const call_counts before = counts();
  EXPECT_EQ(run_program({"bound-calls", "errno"}, r, FLEX_BOUND_CALLS_PROGRAM), 0);
  const call_counts after = counts();
  EXPECT_EQ(r.out, "bound\nread -1 9\nsend -1 9\ngetppid 1 0\n") << "EBADF is 9";
  EXPECT_GE(r.calls[SYS_write], 4);
  EXPECT_GE(r.calls[SYS_read], 2) << "the interpreter reads libc's header, the program reads once";
  EXPECT_EQ(r.calls[SYS_sendto], 1);
  EXPECT_EQ(r.calls[SYS_getppid], 2);
  EXPECT_GE(after.bound_slots, 4u) << "write, read, send and getppid are imported from libc";
  // The program's own calls came bound: 4 writes, a read, a send, two getppid.
  EXPECT_GE(after.bound - before.bound, 8u);
  EXPECT_GT(after.caught, before.caught) << "the interpreter's and libc's own calls still come by the signal";
}

// A thread the program starts makes bound calls too: its first goes by the signal (which gives the thread
// its mask), the others bound, each failed one setting that thread's own errno.
TEST(binary, a_programs_thread_makes_bound_calls_with_its_own_errno) {
  REQUIRE_MACHINE();
  EXPECT_EXIT(
      {
        recorder r;
        const call_counts before = counts();
        int st = -1;
        status s = run({FLEX_BOUND_CALLS_PROGRAM, {"bound-calls", "thread"}, {}}, &answer, &r, &st);
        const bool bound = counts().bound - before.bound >= 6;
        const bool out = r.out == "thread read -1 9\nthread read -1 9\nthread read -1 9\nmain read -1 9\n";
        if (!out) std::fprintf(stderr, "%s", r.out.c_str());
        // A program that started threads ends the process (they stay parked): in a child.
        std::_Exit(s.ok() && st == 0 && out && bound ? 0 : 1 + !s.ok() * 2 + (st != 0) * 4 + !out * 8 + !bound * 16);
      },
      ::testing::ExitedWithCode(0), "");
}

// A signal that comes while the runtime answers a bound call is held and handed to the program on the
// call's way back: its handler runs once, in the program's own state (its thread-local variable), before
// the call returns to the caller, as a signal during a system call does natively. An SA_RESETHAND handler
// runs once too and leaves the default action behind.
long signal_during_read(void *ctx, long nr, const long a[6]) {
  if (nr == SYS_read && a[0] == 100) {
    ::syscall(SYS_tgkill, ::getpid(), ::syscall(SYS_gettid), SIGUSR1);  // arrives now, in the runtime
    *reinterpret_cast<char *>(a[1]) = 'x';
    return 1;
  }
  return answer(ctx, nr, a);
}

TEST(binary, a_signal_during_a_bound_call_runs_the_programs_handler_in_its_own_state) {
  REQUIRE_MACHINE();
  for (const char *flags : {"none", "resethand", "siginfo"}) {
    recorder r;
    int st = -1;
    const call_counts before = counts();
    status s = run({FLEX_BOUND_CALLS_PROGRAM, {"bound-calls", "signal", flags}, {}}, &signal_during_read, &r, &st);
    ASSERT_TRUE(s.ok()) << s.message();
    EXPECT_EQ(st, 0) << flags;
    const std::string f = flags;
    // The siginfo handler gets the signal's own siginfo (SI_TKILL, -6: the dispatcher's tgkill).
    EXPECT_EQ(r.out, "installed 1 0\nhandler\nread 1 120\nhandled 1 1\nreset " + std::string(f == "resethand" ? "1" : "0") +
                         " 0\n" + (f == "siginfo" ? "si_code -6 0\n" : ""))
        << flags;
    EXPECT_GE(counts().bound - before.bound, 1u) << "the read came bound";
  }
}

// What the loader cannot run is refused with the reason, before anything is mapped.
TEST(binary, check_refuses_what_it_cannot_run) {
  REQUIRE_FILE(kBusybox);
  EXPECT_EQ(check(kBusybox), "");
  const fs::path dir = fs::temp_directory_path() / ("flex-binary-check-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "text") << "#!/bin/sh\necho not a program\n";
  EXPECT_NE(check((dir / "text").string()).find("not an ELF"), std::string::npos) << check((dir / "text").string());
  // The same program, claimed for another machine, or as an object file.
  auto patched = [&](const char *name, std::size_t offset, std::uint16_t value) {
    fs::copy_file(kBusybox, dir / name, fs::copy_options::overwrite_existing);
    std::fstream f(dir / name, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(offset));
    f.write(reinterpret_cast<const char *>(&value), sizeof value);
    return (dir / name).string();
  };
  EXPECT_EQ(check(patched("arm", offsetof(Elf64_Ehdr, e_machine), EM_AARCH64)),
            "not an x86-64 program (ELF machine 183)");
  EXPECT_EQ(check(patched("object", offsetof(Elf64_Ehdr, e_type), ET_REL)),
            "a relocatable object, not a program: link it first");
  int st = 0;
  recorder r;
  status s = run({(dir / "arm").string(), {"arm"}, {}}, &answer, &r, &st);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("not an x86-64 program"), std::string::npos) << s.message();
  fs::remove_all(dir);
}

}  // namespace
}  // namespace flex::runtime::binary
