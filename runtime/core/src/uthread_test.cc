// User-level threads over mpk full gates (flex/runtime/uthread.h), with WRPKRU emulated: a scheduler in
// domain 2 runs two user threads, each of which calls out to domain 1, is called back into domain 2 and
// is switched away there while its frames in both domains are live, the way libos/sched blocks a thread
// inside net's call. With one table and one block of stacks per user thread, every activation comes back
// to its own frames with the right rights.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "flex/runtime/mpk_gate.h"
#include "flex/runtime/uthread.h"

namespace flex::runtime {
namespace {

constexpr std::uint32_t kP1 = pkru_for(1, 3), kP2 = pkru_for(2, 3);
using enter_2 = mpk_full<kPkruRuntime, kP2, 1, pkru_insn::emulated>;
using from_2_to_1 = mpk_full<kP2, kP1, 0, pkru_insn::emulated>;
using from_1_to_2 = mpk_full<kP1, kP2, 1, pkru_insn::emulated>;

constexpr int kThreads = 3;  // 0: the scheduler's own (the host thread's table), 1 and 2: user threads
std::uint64_t g_sp[kThreads];
std::vector<unsigned char> g_state[kThreads];
int g_cur = 0;
bool g_done[kThreads];
long g_result[kThreads];
mpk_stack_range g_stack1[kThreads];  // where each user thread ran in domain 1
std::vector<std::string> g_errors;

void yield_to(int next) {
  int me = g_cur;
  g_cur = next;
  flex_uthread_switch(g_state[me].data(), g_state[next].data());
  flex_uthread_swap_stack(&g_sp[me], g_sp[next]);
}

void expect_pkru(std::uint32_t want, const char *where) {
  if (testing::emulated_pkru() != want) g_errors.push_back(std::string("wrong PKRU ") + where);
}

// Domain 2, called back from domain 1: switches to the other thread with frames live in 1 and 2.
long block_in_2(long i) {
  expect_pkru(kP2, "in domain 2 (callback)");
  yield_to(i == 1 ? 2 : 0);
  expect_pkru(kP2, "in domain 2 after the switch back");
  return i + 1;
}

// Domain 1: a local that the other thread's run must not touch.
long work_in_1(long i) {
  expect_pkru(kP1, "in domain 1");
  volatile long mine = i * 100;
  g_stack1[i] = mpk_thread_stack(1);
  auto sp = reinterpret_cast<std::uintptr_t>(__builtin_frame_address(0));
  if (sp < g_stack1[i].lo || sp >= g_stack1[i].hi) g_errors.push_back("domain 1 frame off its thread's stack");
  long r = gate<from_1_to_2>::call({}, nullptr, &block_in_2, i);
  expect_pkru(kP1, "back in domain 1");
  return r + mine;
}

void user_thread() {
  const int me = g_cur;
  g_result[me] = gate<from_2_to_1>::call({}, nullptr, &work_in_1, static_cast<long>(me));
  g_done[me] = true;
  for (;;) yield_to(0);
}

long scheduler_in_2() {
  expect_pkru(kP2, "in the scheduler");
  const std::size_t n = flex_uthread_state_size();
  for (auto &s : g_state) s.assign(n, 0);
  for (int t = 1; t < kThreads; ++t) {
    std::size_t len = 0;
    void *v = nullptr;
    if (flex_uthread_init(g_state[t].data(), &v, &len) != 0) g_errors.push_back("flex_uthread_init failed");
    auto *top = static_cast<std::uint64_t *>(v);
    if (!top || len == 0) {
      g_errors.push_back("no stack for a user thread");
      return -1;
    }
    mpk_stack_range r2 = mpk_thread_stack(2);  // the scheduler's own stack: a different block
    if (reinterpret_cast<std::uintptr_t>(top) == r2.hi) g_errors.push_back("user thread shares the stack");
    std::uint64_t *sp = top;
    *--sp = 0;
    *--sp = reinterpret_cast<std::uint64_t>(&user_thread);
    for (int k = 0; k < 6; ++k) *--sp = 0;
    g_sp[t] = reinterpret_cast<std::uint64_t>(sp);
  }
  while (!g_done[1] || !g_done[2]) yield_to(!g_done[1] ? 1 : 2);
  expect_pkru(kP2, "in the scheduler at the end");
  for (int t = 1; t < kThreads; ++t) flex_uthread_release(g_state[t].data());
  return 0;
}

TEST(uthread, user_threads_switched_inside_a_callee_domain_return_to_their_own_frames) {
  testing::emulate_mpk(2);
  testing::set_emulated_pkru(kPkruRuntime);
  {  // outside every full-gate domain: the caller brings the stack
    std::vector<unsigned char> st(flex_uthread_state_size());
    void *top = &st;
    std::size_t len = 1;
    EXPECT_EQ(flex_uthread_init(st.data(), &top, &len), 0);
    EXPECT_EQ(top, nullptr);
    EXPECT_EQ(len, 0u);
    flex_uthread_release(st.data());
  }
  EXPECT_EQ(gate<enter_2>::call({}, nullptr, &scheduler_in_2), 0);
  EXPECT_EQ(testing::emulated_pkru(), kPkruRuntime);
  EXPECT_TRUE(g_errors.empty()) << g_errors.front();
  EXPECT_EQ(g_result[1], 100 + 2);
  EXPECT_EQ(g_result[2], 200 + 3);
  EXPECT_NE(g_stack1[1].lo, 0u);
  EXPECT_NE(g_stack1[1].lo, g_stack1[2].lo);  // one stack per compartment per user thread
  EXPECT_EQ(flex_mpk_thread.cur, 0u);
}

}  // namespace
}  // namespace flex::runtime
