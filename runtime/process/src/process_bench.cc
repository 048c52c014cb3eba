// Benchmarks of the process gate and of its physical limits, in one binary so ratios hold on a noisy
// machine (DESIGN.md §9):
//   process_gate/spin        a gate round trip main -> callee process -> main, both sides spinning
//   process_gate/futex       the same with spin_iterations = 0: every hand-off sleeps and wakes on a futex
//   process_limit/shm_spin   two processes ping-ponging a word in shared memory (no gate code)
//   process_limit/futex      two processes ping-ponging with FUTEX_WAIT/FUTEX_WAKE (no gate code)
// Every benchmark reports `rtt_ns` (nanoseconds per round trip, wall clock); a script divides
// process_gate/X by its limit (spin by shm_spin, futex by futex) to get the gate's overhead.
//
// The gate benchmarks boot the process backend once in the gate-bench process (a "bench" compartment in
// the main process, a "callee" compartment forked from it); the callee sleeps on its futex while other
// benchmarks run and is reaped when gate-bench exits. That boot installs the fault reporter and owns
// SIGCHLD for the rest of the run.
#include <benchmark/benchmark.h>
#include <immintrin.h>
#include <linux/futex.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <new>
#include <string>

#include "flex/runtime/process.h"

namespace fg = flex::runtime;

namespace {

constexpr unsigned kSpin = 1u << 20;  // enough pause iterations to cover a hand-off on a loaded machine

fg::word add_one(fg::word x, fg::word, fg::word, fg::word, fg::word, fg::word) {
  return x + 1;
}

// What went wrong booting the bench's image ("" when it booted).
const std::string &boot_once() {
  static const std::string err = [] {
    static const fg::erased_fn exports[] = {&add_one};
    static const fg::process_compartment comps[] = {
        {.name = "bench"},
        {.name = "callee", .own_process = true, .exports = exports, .n_exports = 1},
    };
    const fg::process_config cfg{.compartments = comps, .n_compartments = 2, .spin_iterations = kSpin};
    return fg::process_boot(cfg).message();
  }();
  return err;
}

using clock_type = std::chrono::steady_clock;

void report(benchmark::State &state, clock_type::duration elapsed, const char *label) {
  const double ns =
      static_cast<double>(std::chrono::duration_cast<std::chrono::nanoseconds>(elapsed).count());
  state.counters["rtt_ns"] = benchmark::Counter(ns, benchmark::Counter::kAvgIterations);
  state.SetLabel(label);
}

void gate_round_trip(benchmark::State &state, unsigned spin, const char *label) {
  if (const std::string &err = boot_once(); !err.empty()) {
    state.SkipWithError(("process backend boot failed: " + err).c_str());
    return;
  }
  fg::set_spin_iterations(spin);
  const fg::process_backend::target callee{1, 0};
  fg::call_args args;
  // Warm up: the callee may be asleep from an earlier benchmark.
  for (int i = 0; i < 100; ++i) args.a[0] = fg::process_backend::invoke(callee, nullptr, args);
  const auto t0 = clock_type::now();
  for (auto _ : state) {
    args.a[0] = fg::gate<fg::process_backend>::call_erased(callee, nullptr, nullptr, args);
    benchmark::DoNotOptimize(args.a[0]);
  }
  report(state, clock_type::now() - t0, label);
}

void BM_process_gate_spin(benchmark::State &state) {
  gate_round_trip(state, kSpin, "gate spin");
}
void BM_process_gate_futex(benchmark::State &state) {
  gate_round_trip(state, 0, "gate futex");
}

// ---- physical limits: two processes, shared memory, nothing else ----

struct alignas(64) shared_word {
  std::atomic<std::uint32_t> v{0};
};
struct ping_pong {
  shared_word ping;  // parent -> child: the round number, kStop to end
  shared_word pong;  // child -> parent: the round number echoed
};
constexpr std::uint32_t kStop = ~0u;

long futex(std::atomic<std::uint32_t> *w, int op, std::uint32_t val) {
  return syscall(SYS_futex, reinterpret_cast<std::uint32_t *>(w), op, val, nullptr, nullptr, 0);
}

// Waits until `w` differs from `old`; spins or sleeps on the futex.
std::uint32_t wait_change(std::atomic<std::uint32_t> &w, std::uint32_t old, bool spin) {
  std::uint32_t v;
  while ((v = w.load(std::memory_order_acquire)) == old) {
    if (spin)
      _mm_pause();
    else
      futex(&w, FUTEX_WAIT, old);
  }
  return v;
}

void publish(std::atomic<std::uint32_t> &w, std::uint32_t v, bool spin) {
  w.store(v, std::memory_order_release);
  if (!spin) futex(&w, FUTEX_WAKE, 1);
}

void limit_round_trip(benchmark::State &state, bool spin, const char *label) {
  void *mem = mmap(nullptr, sizeof(ping_pong), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) {
    state.SkipWithError(("mmap of the shared page failed: " + std::string(std::strerror(errno))).c_str());
    return;
  }
  auto *pp = new (mem) ping_pong;
  const pid_t child = fork();
  if (child < 0) {
    state.SkipWithError(("fork failed: " + std::string(std::strerror(errno))).c_str());
    munmap(mem, sizeof(ping_pong));
    return;
  }
  if (child == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    for (std::uint32_t seen = 0;;) {
      seen = wait_change(pp->ping.v, seen, spin);
      if (seen == kStop) _exit(0);
      publish(pp->pong.v, seen, spin);
    }
  }
  std::uint32_t round = 0;
  const auto t0 = clock_type::now();
  for (auto _ : state) {
    publish(pp->ping.v, ++round, spin);
    wait_change(pp->pong.v, round - 1, spin);
  }
  const auto elapsed = clock_type::now() - t0;
  publish(pp->ping.v, kStop, spin);
  waitpid(child, nullptr, 0);
  munmap(mem, sizeof(ping_pong));
  report(state, elapsed, label);
}

void BM_process_limit_shm_spin(benchmark::State &state) {
  limit_round_trip(state, true, "limit shm spin");
}
void BM_process_limit_futex(benchmark::State &state) {
  limit_round_trip(state, false, "limit futex");
}

}  // namespace

BENCHMARK(BM_process_gate_spin)->Name("process_gate/spin")->UseRealTime();
BENCHMARK(BM_process_limit_shm_spin)->Name("process_limit/shm_spin")->UseRealTime();
BENCHMARK(BM_process_gate_futex)->Name("process_gate/futex")->UseRealTime();
BENCHMARK(BM_process_limit_futex)->Name("process_limit/futex")->UseRealTime();
