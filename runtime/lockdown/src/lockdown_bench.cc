// The cost of the lockdown on what it filters, plain and locked down:
//   getppid               the cheapest call that enters the kernel, under the filter of a Redis-sized set;
//   process_gate/futex    a process gate round trip main -> callee process -> main where every hand-off
//                         sleeps and wakes on a futex (two system calls per hand-off, each filtered);
//   process_gate/spin     the same, both sides spinning (no system call: the lockdown should cost nothing).
// A filter cannot be removed, so each run is its own process: lockdown_ratios.py alternates plain runs
// and FLEX_BENCH_LOCKDOWN=1 runs and prints the medians and their ratios. Locked down, both processes
// run as an image's would: the callee process confined by the process backend's start hook before its
// first call, the main process as a supervisor after the boot.
//
//   build/bin/lockdown-bench                          # plain
//   FLEX_BENCH_LOCKDOWN=1 build/bin/lockdown-bench    # under the filter (no_new_privs, capabilities too)
#include <benchmark/benchmark.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "flex/runtime/lockdown.h"
#include "flex/runtime/process.h"
#include "flex/syscalls/syscalls.h"

namespace {

namespace fg = flex::runtime;

void BM_getppid(benchmark::State &state) {
  for (auto _ : state) benchmark::DoNotOptimize(syscall(SYS_getppid));
}
BENCHMARK(BM_getppid);

// redis-1comp's main process: the runtime's calls, net's, sched's, hostfs's, time's (image.json), and
// what Google Benchmark itself makes while it reports.
constexpr std::string_view kLibraryCalls[] = {
    "socket",   "bind",      "listen",     "accept4",   "connect",      "recvfrom",   "sendto",  "shutdown",
    "setsockopt", "getsockopt", "getsockname", "fcntl",  "epoll_create1", "epoll_ctl", "epoll_wait", "poll",
    "openat",   "openat2",   "newfstatat", "fsync",     "ftruncate",    "getdents64", "mkdirat", "pwrite64",
    "renameat", "unlinkat",  "read",       "sched_getaffinity", "sysinfo", "readlink", "getcpu", "uname", "gethostname"};

// The bench's image: compartment 0 ("bench") in the main process with Redis's library calls, compartment 1
// ("callee") in a process of its own with nothing but what the runtime needs there.
const flex_image_layout &bench_image() {
  static const flex_image_layout img = [] {
    static std::vector<int> calls;
    for (std::string_view s : kLibraryCalls) calls.push_back(flex::syscalls::number(s));
    static const char *const libs[] = {"hostfs", nullptr};  // files stay reachable: the reporter reads /proc
    static const char *const callee_libs[] = {"callee", nullptr};
    static flex_compartment_layout comps[2]{};
    comps[0].name = "bench";
    comps[0].libraries = libs;
    comps[0].syscalls = calls.data();
    comps[0].n_syscalls = static_cast<unsigned>(calls.size());
    comps[1].name = "callee";
    comps[1].libraries = callee_libs;
    comps[1].isolation = FLEX_ISO_PROCESS;
    flex_image_layout l{};
    l.name = "lockdown-bench";
    l.n_compartments = 2;
    l.compartments = comps;
    l.lockdown = FLEX_LOCKDOWN_ENFORCE;
    return l;
  }();
  return img;
}

bool g_locked = false;

void lock_callee(unsigned compartment) {
  if (g_locked) fg::lockdown_compartment_process(bench_image(), compartment);
}

constexpr unsigned kSpin = 1u << 20;  // enough pause iterations to cover a hand-off on a loaded machine

fg::word add_one(fg::word x, fg::word, fg::word, fg::word, fg::word, fg::word) {
  return x + 1;
}

fg::status boot_processes() {
  static const fg::erased_fn exports[] = {&add_one};
  static const fg::process_compartment comps[] = {
      {.name = "bench"},
      {.name = "callee", .own_process = true, .exports = exports, .n_exports = 1},
  };
  const fg::process_config cfg{
      .compartments = comps, .n_compartments = 2, .spin_iterations = kSpin, .on_start = &lock_callee};
  return fg::process_boot(cfg);
}

void gate_round_trip(benchmark::State &state, unsigned spin) {
  fg::set_spin_iterations(spin);
  const fg::process_backend::target callee{1, 0};
  fg::call_args args;
  for (int i = 0; i < 100; ++i) args.a[0] = fg::process_backend::invoke(callee, nullptr, args);  // wake it
  for (auto _ : state) {
    args.a[0] = fg::gate<fg::process_backend>::call_erased(callee, nullptr, nullptr, args);
    benchmark::DoNotOptimize(args.a[0]);
  }
}
void BM_process_gate_futex(benchmark::State &state) {
  gate_round_trip(state, 0);
}
void BM_process_gate_spin(benchmark::State &state) {
  gate_round_trip(state, kSpin);
}
BENCHMARK(BM_process_gate_futex)->Name("process_gate/futex")->UseRealTime();
BENCHMARK(BM_process_gate_spin)->Name("process_gate/spin")->UseRealTime();

fg::status boot_and_lock() {
  if (fg::status s = boot_processes(); !s.ok()) return s;
  if (!g_locked) return {};
  return fg::lockdown_process(bench_image(), 1, true);
}

}  // namespace

int main(int argc, char **argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  g_locked = std::getenv("FLEX_BENCH_LOCKDOWN") != nullptr;
  if (fg::status s = boot_and_lock(); !s.ok()) {
    std::fprintf(stderr, "lockdown-bench: %s\n", s.message().c_str());
    return 1;
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
