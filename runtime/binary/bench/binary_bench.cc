// binary-bench: what catching a program's system call costs, beside the call made natively, in one run
// (ratios hold on a noisy machine). The caught call goes the whole way a program's call goes under the
// loader: the dispatch's SIGSYS, the handler's switch of %fs, a dispatcher that makes it in the kernel,
// and the signal return.
//   native_getppid      syscall(SYS_getppid) in this process
//   caught_getppid      the same call made by an unmodified static program (flex-binary-getppid) loaded
//                       by runtime/binary, in batches of 100000 (the load, under a millisecond, is in it)
//   bound_getppid       getppid() through the C library of a dynamic program (flex-binary-bound-calls),
//                       whose import the loader bound to the runtime, in batches of a million
#include <benchmark/benchmark.h>

#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <vector>

#include "flex/runtime/binary.h"

namespace {

long to_kernel(void *, long nr, const long a[6]) {
  const long v = ::syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
  return v == -1 ? -errno : v;
}

void native_getppid(benchmark::State &state) {
  for (auto _ : state) benchmark::DoNotOptimize(::syscall(SYS_getppid));
}
BENCHMARK(native_getppid);

// Runs `argv` (its last argument: how many calls) as the program at `path` under the loader, `batch` calls
// a run, for as long as the benchmark wants.
void run_batches(benchmark::State &state, const char *path, std::vector<std::string> argv, long batch) {
  if (std::string why = flex::runtime::binary::machine_check(); !why.empty()) {
    state.SkipWithError(why.c_str());
    return;
  }
  argv.push_back(std::to_string(batch));
  const flex::runtime::binary::program p{path, std::move(argv), {}};
  while (state.KeepRunningBatch(batch)) {
    int st = -1;
    flex::runtime::status s = flex::runtime::binary::run(p, &to_kernel, nullptr, &st);
    if (!s.ok() || st != 0) {
      state.SkipWithError(s.ok() ? "the program failed" : s.message().c_str());
      return;
    }
  }
}

void caught_getppid(benchmark::State &state) {
  run_batches(state, FLEX_BINARY_BENCH_PROGRAM, {"getppid"}, 100000);
}
BENCHMARK(caught_getppid);

// getppid() through the C library of a dynamic program whose import the loader bound: no signal, the
// runtime's stub switches state and calls the dispatcher (binary.h, "Bound calls"). Batches of a million
// calls carry the interpreter's loading of libc (about a millisecond).
void bound_getppid(benchmark::State &state) {
  run_batches(state, FLEX_BOUND_CALLS_PROGRAM, {"bound-calls", "getppid"}, 1000000);
}
BENCHMARK(bound_getppid);

}  // namespace
