// MPK gate and heap figures for build/bin/gate-bench (its main comes from benchmark_main).
//
// Hardware (need PKU; they skip with the reason otherwise):
//   mpk_wrpkru_pair_call   the physical limit: WRPKRU, call, WRPKRU, nothing else
//   mpk_light_round_trip   mpk_light_to (the gate images use: a fixed callee) through the gate front end
//   mpk_full_round_trip    mpk_full_to: stack switch, register clearing, checks
//   syscall_getppid                   getppid, a bare `syscall` (no dispatch): the kernel's part
//   syscall_limit_getppid             the system-call gate's physical limit: WRPKRU, getppid, WRPKRU
//   syscall_dispatch_getppid          getppid with Syscall User Dispatch armed and the selector at ALLOW:
//                                     the kernel's own cost of the dispatch check
//   syscall_gate_getppid              getppid from domain a through its system-call gate (mpk_syscalls.cc),
//                                     Syscall User Dispatch armed: what plat's calls cost
//   syscall_trap_getppid              getppid from domain a with a bare `syscall`, dispatch armed: the trap
//                                     path (SIGSYS, the runtime's check, the call with a's rights, return)
//   (the last two need the signal arena: Linux 6.12; they skip with the reason otherwise)
// Anywhere:
//   plain_call             the `none` gate, for scale
//   mpk_*_emulated         the gates' instruction sequences with WRPKRU replaced by a store: the cost of
//                          everything but WRPKRU itself (only where PKU is absent: the two modes exclude
//                          each other in one process)
//   heap_* / glibc_*       malloc+free pairs through a compartment heap and through glibc
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include <benchmark/benchmark.h>

#include "flex/runtime/gate.h"
#include "flex/runtime/heap.h"
#include "flex/runtime/mpk_gate.h"

// The system-call gates' marks: a page of each domain's, tagged with its key once the domains are up.
alignas(4096) unsigned char flex_bench_sysmark_a[4096];
alignas(4096) unsigned char flex_bench_sysmark_b[4096];

namespace flex::runtime {
namespace {

[[gnu::noinline]] word noop(word a, word, word, word, word, word) {
  benchmark::DoNotOptimize(a);
  return a + 1;
}

constexpr std::uint32_t kP1 = pkru_for(1, 3);

// Boots two mpk domains for the hardware benchmarks (once); empty on success.
const std::string &hardware_ready() {
  static const std::string status = [] {
    if (!pku_status().available) return "PKU not available: " + pku_status().reason;
    static const char *const kNone[] = {nullptr};
    static flex_compartment_layout comps[2] = {};
    for (int i = 0; i < 2; ++i) {
      comps[i] = {i ? "b" : "a", FLEX_ISO_MPK, 0, "", kNone, kNone, 1, {}, 0, nullptr, 0, 0, nullptr, nullptr};
    }
    static flex_image_layout img = {};
    img.name = "gate-bench";
    img.n_compartments = 2;
    img.compartments = comps;
    auto st = mpk_boot(img);
    return st.ok() ? std::string() : "mpk_boot failed: " + st.message();
  }();
  return status;
}

bool skip_without_pku(benchmark::State &state) {
  const std::string &why = hardware_ready();
  if (!why.empty()) state.SkipWithError(why.c_str());
  return !why.empty();
}

void plain_call(benchmark::State &state) {
  gate_counter c;
  for (auto _ : state) benchmark::DoNotOptimize(gate<call_backend>::call_erased({}, &c, &noop, {}));
}
BENCHMARK(plain_call);

// WRPKRU (the current value), call fn(1), WRPKRU back: no checks, no clearing. In the gate section like
// every WRPKRU (this binary is not an image, but the rule has no exceptions).
[[gnu::naked, gnu::noinline, gnu::section(".text.flex_gates")]] word bare_wrpkru_pair_call(erased_fn) {
  asm volatile(
      "push %%rbx\n\t"
      "mov %%rdi, %%rbx\n\t"
      "xor %%ecx, %%ecx\n\t"
      "rdpkru\n\t"  // EAX = PKRU, EDX = 0
      "push %%rax\n\t"
      "wrpkru\n\t"
      "mov $1, %%edi\n\t"
      "sub $8, %%rsp\n\t"
      "call *%%rbx\n\t"
      "add $8, %%rsp\n\t"
      "mov %%rax, %%rbx\n\t"
      "pop %%rax\n\t"
      "xor %%ecx, %%ecx\n\t"
      "xor %%edx, %%edx\n\t"
      "wrpkru\n\t"
      "mov %%rbx, %%rax\n\t"
      "pop %%rbx\n\t"
      "ret" ::);
}

void mpk_wrpkru_pair_call(benchmark::State &state) {
  if (skip_without_pku(state)) return;
  for (auto _ : state) benchmark::DoNotOptimize(bare_wrpkru_pair_call(&noop));
}
BENCHMARK(mpk_wrpkru_pair_call);

template <typename B>
void round_trip(benchmark::State &state) {
  gate_counter c;
  for (auto _ : state) benchmark::DoNotOptimize(gate<B>::call_erased({}, &c, &noop, {}));
}

void mpk_light_round_trip(benchmark::State &state) {
  if (!skip_without_pku(state)) round_trip<detail::mpk_light_to_any<kPkruRuntime, kP1, &noop>>(state);
}
BENCHMARK(mpk_light_round_trip);

void mpk_full_round_trip(benchmark::State &state) {
  if (!skip_without_pku(state)) round_trip<mpk_full_to<kPkruRuntime, kP1, 0, &noop>>(state);
}
BENCHMARK(mpk_full_round_trip);

// ---- System calls ------------------------------------------------------------------------------------

constexpr std::uint32_t kP2 = pkru_for(2, 3);

extern "C" {
[[gnu::naked, gnu::noinline, gnu::section(".text.flex_gates")]] long bench_sysgate_a(long, long, long, long, long,
                                                                                     long, long) {
  asm volatile(FLEX_MPK_SYSGATE_BODY::FLEX_MPK_SYSCALL_OPERANDS(kP1, 0, flex_bench_sysmark_a));
}
[[gnu::naked, gnu::noinline, gnu::section(".text.flex_gates")]] long bench_sysdrop_a(long, long, long, long, long,
                                                                                     long, long) {
  asm volatile(FLEX_MPK_SYSDROP_BODY::FLEX_MPK_SYSCALL_OPERANDS(kP1, 0, flex_bench_sysmark_a));
}
[[gnu::naked, gnu::noinline, gnu::section(".text.flex_gates")]] long bench_sysdrop_b(long, long, long, long, long,
                                                                                     long, long) {
  asm volatile(FLEX_MPK_SYSDROP_BODY::FLEX_MPK_SYSCALL_OPERANDS(kP2, 1, flex_bench_sysmark_b));
}
}

long bare_getppid() {
  long r;
  asm volatile("syscall" : "=a"(r) : "a"(SYS_getppid) : "rcx", "r11", "memory");
  return r;
}

// The limit: the kernel's call between a WRPKRU pair (the current value: the rights do not change).
[[gnu::naked, gnu::noinline, gnu::section(".text.flex_gates")]] long wrpkru_pair_getppid() {
  asm volatile(
      "xor %%ecx, %%ecx\n\t"
      "rdpkru\n\t"
      "mov %%eax, %%r8d\n\t"
      "wrpkru\n\t"
      "mov $110, %%eax\n\t"
      "syscall\n\t"
      "mov %%rax, %%r9\n\t"
      "mov %%r8d, %%eax\n\t"
      "xor %%ecx, %%ecx\n\t"
      "xor %%edx, %%edx\n\t"
      "wrpkru\n\t"
      "mov %%r9, %%rax\n\t"
      "ret" ::);
}

[[noreturn]] void bench_refuse(unsigned, long nr, const unsigned long *, mpk_refusal) {
  std::fprintf(stderr, "gate-bench: system call %ld refused\n", nr);
  std::_Exit(3);
}

// The signal wall (once) and the system-call wall armed for this benchmark; empty on success.
std::string arm_syscall_wall(bool close = true) {
  static const std::string walled = [] {
    if (std::string why = hardware_ready(); !why.empty()) return why;
    if (!mpk_kernel_delivers_onto_keyed_stacks()) {
      return std::string("this kernel cannot deliver signals onto keyed stacks (Linux 6.12 can): no system-call wall");
    }
    if (pkey_mprotect(flex_bench_sysmark_a, 4096, PROT_READ | PROT_WRITE, 1) != 0 ||
        pkey_mprotect(flex_bench_sysmark_b, 4096, PROT_READ | PROT_WRITE, 2) != 0) {
      return std::string("cannot tag the marks");
    }
    std::uint64_t token[2];
    status st = mpk_signal_wall(token);
    return st.ok() ? std::string() : "mpk_signal_wall: " + st.message();
  }();
  if (!walled.empty()) return walled;
  mpk_syscall_sets sets;
  for (auto &d : sets.allowed) {
    for (auto &w : d) w = ~std::uint64_t{0};  // the check costs the same whatever the set
  }
  const mpk_sysdrop_fn drops[kMaxMpkDomains] = {&bench_sysdrop_a, &bench_sysdrop_b};
  bool armed = false;
  status st = mpk_syscall_wall(sets, drops, &bench_refuse, armed);
  if (!st.ok()) return "mpk_syscall_wall: " + st.message();
  if (!armed) return "the system-call wall could not be armed (threads?)";
  if (close) mpk_syscall_wall_close();
  return {};
}

void disarm_syscall_wall() {
  prctl(PR_SET_SYSCALL_USER_DISPATCH, 0 /* PR_SYS_DISPATCH_OFF */, 0, 0, 0);  // a trapped call, made for us
}

void syscall_getppid(benchmark::State &state) {
  for (auto _ : state) benchmark::DoNotOptimize(bare_getppid());
}
BENCHMARK(syscall_getppid);

void syscall_limit_getppid(benchmark::State &state) {
  if (skip_without_pku(state)) return;
  for (auto _ : state) benchmark::DoNotOptimize(wrpkru_pair_getppid());
}
BENCHMARK(syscall_limit_getppid);

void syscall_dispatch_getppid(benchmark::State &state) {
  if (skip_without_pku(state)) return;
  if (std::string why = arm_syscall_wall(false); !why.empty()) {
    state.SkipWithError(why.c_str());
    return;
  }
  for (auto _ : state) benchmark::DoNotOptimize(bare_getppid());
  disarm_syscall_wall();
}
BENCHMARK(syscall_dispatch_getppid);

// Runs the benchmark's loop inside domain a (entered once through a light gate).
template <long (*Call)()>
word loop_in_a(word s, word, word, word, word, word) {
  auto &state = *reinterpret_cast<benchmark::State *>(s);
  for (auto _ : state) benchmark::DoNotOptimize(Call());
  return 0;
}

long gate_getppid() {
  return bench_sysgate_a(SYS_getppid, 0, 0, 0, 0, 0, 0);
}

template <long (*Call)()>
void in_domain_a(benchmark::State &state) {
  if (skip_without_pku(state)) return;
  if (std::string why = arm_syscall_wall(); !why.empty()) {
    state.SkipWithError(why.c_str());
    return;
  }
  gate_counter c;
  call_args args;
  args.a[0] = reinterpret_cast<word>(&state);
  gate<detail::mpk_light_to_any<kPkruRuntime, kP1, &loop_in_a<Call>>>::call_erased({}, &c, &loop_in_a<Call>, args);
  disarm_syscall_wall();
}

void syscall_gate_getppid(benchmark::State &state) {
  in_domain_a<&gate_getppid>(state);
}
BENCHMARK(syscall_gate_getppid);

void syscall_trap_getppid(benchmark::State &state) {
  in_domain_a<&bare_getppid>(state);
}
BENCHMARK(syscall_trap_getppid);

bool skip_with_pku(benchmark::State &state) {
  if (pku_status().available) state.SkipWithError("PKU available: measured with the hardware gates instead");
  return pku_status().available;
}

void mpk_light_emulated(benchmark::State &state) {
  if (skip_with_pku(state)) return;
  testing::emulate_mpk(2);
  round_trip<detail::mpk_light_to_any<kPkruRuntime, kP1, &noop, pkru_insn::emulated>>(state);
}
BENCHMARK(mpk_light_emulated);

void mpk_full_emulated(benchmark::State &state) {
  if (skip_with_pku(state)) return;
  testing::emulate_mpk(2);
  round_trip<mpk_full_to<kPkruRuntime, kP1, 0, &noop, pkru_insn::emulated>>(state);
}
BENCHMARK(mpk_full_emulated);

void heap_malloc_free(benchmark::State &state) {
  static heap *h = [] {
    std::size_t bytes = 64 << 20;
    void *p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return heap::create({p, bytes});
  }();
  auto n = static_cast<std::size_t>(state.range(0));
  for (auto _ : state) {
    void *p = h->malloc(n);
    benchmark::DoNotOptimize(p);
    h->free(p);
  }
}
BENCHMARK(heap_malloc_free)->Arg(32)->Arg(512)->Arg(8192);

void glibc_malloc_free(benchmark::State &state) {
  auto n = static_cast<std::size_t>(state.range(0));
  for (auto _ : state) {
    void *p = std::malloc(n);
    benchmark::DoNotOptimize(p);
    std::free(p);
  }
}
BENCHMARK(glibc_malloc_free)->Arg(32)->Arg(512)->Arg(8192);

}  // namespace
}  // namespace flex::runtime
