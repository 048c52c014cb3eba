// MPK gate and heap figures for build/bin/gate-bench (its main comes from benchmark_main).
//
// Hardware (need PKU; they skip with the reason otherwise):
//   mpk_wrpkru_pair_call   the physical limit: WRPKRU, call, WRPKRU, nothing else
//   mpk_light_round_trip   mpk_light_to (the gate images use: a fixed callee) through the gate front end
//   mpk_full_round_trip    mpk_full_to: stack switch, register clearing, checks
// Anywhere:
//   plain_call             the `none` gate, for scale
//   mpk_*_emulated         the gates' instruction sequences with WRPKRU replaced by a store: the cost of
//                          everything but WRPKRU itself (only where PKU is absent: the two modes exclude
//                          each other in one process)
//   heap_* / glibc_*       malloc+free pairs through a compartment heap and through glibc
#include <sys/mman.h>

#include <cstdlib>
#include <string>

#include <benchmark/benchmark.h>

#include "flex/runtime/gate.h"
#include "flex/runtime/heap.h"
#include "flex/runtime/mpk_gate.h"

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
      comps[i] = {i ? "b" : "a", FLEX_ISO_MPK, 0, "", kNone, kNone, 1, {}, 0, nullptr, 0, 0};
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
  if (!skip_without_pku(state)) round_trip<mpk_light_to<kPkruRuntime, kP1, &noop>>(state);
}
BENCHMARK(mpk_light_round_trip);

void mpk_full_round_trip(benchmark::State &state) {
  if (!skip_without_pku(state)) round_trip<mpk_full_to<kPkruRuntime, kP1, 0, &noop>>(state);
}
BENCHMARK(mpk_full_round_trip);

bool skip_with_pku(benchmark::State &state) {
  if (pku_status().available) state.SkipWithError("PKU available: measured with the hardware gates instead");
  return pku_status().available;
}

void mpk_light_emulated(benchmark::State &state) {
  if (skip_with_pku(state)) return;
  testing::emulate_mpk(2);
  round_trip<mpk_light_to<kPkruRuntime, kP1, &noop, pkru_insn::emulated>>(state);
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
