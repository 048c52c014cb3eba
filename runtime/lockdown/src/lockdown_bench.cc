// The cost of the lockdown's filter on a system call: getppid (the cheapest call that enters the kernel)
// run plain, then under the filter of a Redis-sized compartment set. A filter cannot be removed, so each
// run is its own process: lockdown_ratios.py alternates plain runs and FLEX_BENCH_LOCKDOWN=1 runs and
// prints the medians and their ratio.
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
#include "flex/syscalls/syscalls.h"

namespace {

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

flex::runtime::status lock_down() {
  static std::vector<int> calls;
  for (std::string_view s : flex::syscalls::runtime_needs(flex::syscalls::process_kind::any)) {
    calls.push_back(flex::syscalls::number(s));
  }
  for (std::string_view s : kLibraryCalls) calls.push_back(flex::syscalls::number(s));
  static const char *const libs[] = {"hostfs", nullptr};  // files stay reachable: the reporter reads /proc
  static flex_compartment_layout comp{};
  comp.name = "bench";
  comp.libraries = libs;
  comp.syscalls = calls.data();
  comp.n_syscalls = static_cast<unsigned>(calls.size());
  static flex_image_layout img{};
  img.name = "lockdown-bench";
  img.n_compartments = 1;
  img.compartments = &comp;
  img.lockdown = FLEX_LOCKDOWN_ENFORCE;
  return flex::runtime::lockdown_process(img, 1, false);
}

}  // namespace

int main(int argc, char **argv) {
  benchmark::Initialize(&argc, argv);
  if (std::getenv("FLEX_BENCH_LOCKDOWN")) {
    if (flex::runtime::status s = lock_down(); !s.ok()) {
      std::fprintf(stderr, "lockdown-bench: %s\n", s.message().c_str());
      return 1;
    }
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
