// Attacks on the process backend's channels and control words (DESIGN.md §8, label `security`): a
// compromised compartment process tries to forge a result on a channel between two other compartments, to
// stop a peer, and to end the image blaming another compartment. Each attack runs against the narrow layout
// (process_config::narrow_channels, the default), where it must fail and be reported, and against the old
// layout, where it must succeed: that is what shows the defence is what stops it.
//
// The image: "app" in the main process, "b" and "c" in processes of their own; boundaries join app and b,
// app and c, never b and c. The compromised compartment is c. Its attacks are written the way injected
// code would work: it writes at addresses it learnt before the fork (every mapping made before the fork
// has the same address in every process; the test passes them as arguments), with the layout of the
// runtime's pages known from the binary, and never through a runtime call that would refuse it.
//
// Each scenario runs in its own gtest death-test child, as in process_test.cc.
#pragma clang diagnostic ignored "-Wcast-function-type-mismatch"

#include <gtest/gtest.h>
#include <linux/futex.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>

#include "flex/runtime/backend_testing.h"
#include "flex/runtime/fault.h"
#include "flex/runtime/process_impl.h"

namespace fg = flex::runtime;
namespace fd = flex::runtime::detail;
using fg::word;
using gate = fg::gate<fg::process_backend>;

namespace {

enum : unsigned { kApp = 0, kB = 1, kC = 2, kComps = 3 };
constexpr long kForged = 0x5ec12e7;
constexpr long kAnswer = 42;
constexpr long kWritten = 1, kBlocked = 2;
constexpr std::size_t kPage = 4096;

// What b and c tell each other, in a region shared by design (as whitelisted data would be).
struct attack_flags {
  std::atomic<int> b_busy{0};  // b is serving the call whose result c forges
  std::atomic<int> forged{0};  // c has written its forgery
};
attack_flags *g_flags;

using flex::runtime::testing::erase;

template <typename R, typename... Args, typename... X>
R call(unsigned comp, unsigned id, R (*fn)(Args...), X... x) {
  return gate::call(fg::process_backend::target{comp, id}, nullptr, fn, x...);
}

bool wait_for(const std::atomic<int> &flag, int ms) {
  for (int i = 0; i < ms && !flag.load(); ++i) usleep(1000);
  return flag.load() != 0;
}

// What injected code does to wake a process: the runtime's ring, written out.
void ring_bell(fd::bell *b) {
  if (b->v.exchange(fd::kBellRung) == fd::kBellAsleep)
    syscall(SYS_futex, &b->v, FUTEX_WAKE, 1, nullptr, nullptr, 0);
}

// ---- b: an honest compartment ----

// Answers once c has had its go at forging the answer (or after 2 s).
long answer_after_forgery() {
  g_flags->b_busy.store(1);
  wait_for(g_flags->forged, 2000);
  usleep(20000);  // the forged return, if it got through, is taken first
  return kAnswer;
}

long echo(long x) {
  return x;
}

// ---- c: compromised ----

struct forgery {
  fd::mailbox *box;  // main's mailbox in the channel between b and the main process
  fd::bell *bell;    // the main process's bell
};
forgery g_forgery;

// Once b is busy, writes a return of kForged into the main process's mailbox from b, as b would, and rings.
void *forge(void *) {
  if (!wait_for(g_flags->b_busy, 2000)) return nullptr;
  fd::mailbox *box = g_forgery.box;
  box->w[0] = kForged;
  box->kind = fd::kMsgReturn;
  box->from = kB;
  box->to = kApp;
  box->seq.store(box->seq.load() + 1, std::memory_order_release);
  ring_bell(g_forgery.bell);
  g_flags->forged.store(1);
  return nullptr;
}

long arm_forgery(fd::mailbox *box, fd::bell *bell) {
  g_forgery = {box, bell};
  pthread_t t;
  return pthread_create(&t, nullptr, &forge, nullptr) == 0 ? 0 : -1;
}

sigjmp_buf g_fault_jump;
void on_own_fault(int) {
  siglongjmp(g_fault_jump, 1);
}

// Stores `value` at `target`, rings `bell` and stays `linger_ms` before returning. With `survive`, catches
// its own fault (as an attacker that installs its own handler would) and says the store was blocked.
long store_and_ring(std::atomic<std::uint32_t> *target, unsigned value, fd::bell *bell, long survive,
                    long linger_ms) {
  if (survive) {
    struct sigaction sa {};
    sa.sa_handler = on_own_fault;
    sigaction(SIGSEGV, &sa, nullptr);
    if (sigsetjmp(g_fault_jump, 1)) return kBlocked;
  }
  target->store(value);
  if (bell) ring_bell(bell);
  usleep(static_cast<useconds_t>(linger_ms) * 1000);
  return kWritten;
}

// Tries to make a page writable again; 0 or the errno.
long unprotect(void *page) {
  return mprotect(page, kPage, PROT_READ | PROT_WRITE) == 0 ? 0 : errno;
}

long nap(long ms) {
  usleep(static_cast<useconds_t>(ms) * 1000);
  return ms;
}

int is_mapped(void *p) {
  const auto page = reinterpret_cast<std::uintptr_t>(p) & ~(kPage - 1);
  return msync(reinterpret_cast<void *>(page), kPage, MS_ASYNC) == 0 ? 1 : 0;  // ENOMEM: nothing there
}

fd::bell *g_rung;
void *ring_often(void *) {
  for (int i = 0; i < 50; ++i) {
    ring_bell(g_rung);
    usleep(2000);
  }
  return nullptr;
}

// Rings `bell` every 2 ms for 100 ms, from a thread of its own.
long start_ringing(fd::bell *bell) {
  g_rung = bell;
  pthread_t t;
  return pthread_create(&t, nullptr, &ring_often, nullptr) == 0 ? 0 : -1;
}

long call_echo(unsigned comp);

enum : unsigned {
  kAnswerAfterForgery,
  kEcho,
  kArmForgery,
  kStoreAndRing,
  kUnprotect,
  kNap,
  kMapped,
  kStartRinging,
  kCallEcho,
  kExports
};
const fg::erased_fn g_exports[kExports] = {erase(&answer_after_forgery),
                                           erase(&echo),
                                           erase(&arm_forgery),
                                           erase(&store_and_ring),
                                           erase(&unprotect),
                                           erase(&nap),
                                           erase(&is_mapped),
                                           erase(&start_ringing),
                                           erase(&call_echo)};

long call_echo(unsigned comp) {
  return call(comp, kEcho, &echo, 5L);
}

// Builds and boots the image; returns in the main process only.
void boot_image(bool narrow) {
  static fg::process_compartment comps[kComps];
  static fg::process_region shared[1];
  static const char *const names[kComps] = {"app", "b", "c"};
  // app <-> b and app <-> c; b and c never talk.
  static const std::uint64_t peers[kComps] = {(1u << kB) | (1u << kC), 1u << kApp, 1u << kApp};
  for (unsigned c = 0; c < kComps; ++c) {
    comps[c] = {.name = names[c], .own_process = c != kApp, .exports = g_exports, .n_exports = kExports};
  }
  void *page = mmap(nullptr, kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (page == MAP_FAILED) std::abort();
  shared[0] = {page, static_cast<char *>(page) + kPage, fg::region_kind::shared, "attack.flags"};
  g_flags = new (page) attack_flags;  // boot shares the page at its address, content kept
  const fg::process_config cfg{.compartments = comps,
                               .n_compartments = kComps,
                               .shared = shared,
                               .n_shared = 1,
                               .arena_bytes = 1 << 16,
                               .spin_iterations = 1000,
                               .main_compartment = kApp,
                               .peers = peers,
                               .narrow_channels = narrow};
  if (auto st = fg::process_boot(cfg); !st.ok()) {
    std::fprintf(stderr, "boot failed: %s\n", st.message().c_str());
    std::_Exit(2);
  }
}

// What c learnt before the fork: the main process's mailbox from b, the main process's and b's bells, the
// image-wide control words, and b's control words in its page with the main process.
fd::mailbox *mailbox_from_b_to_main() {
  return &fd::pair_of(kB, fd::kMainSlot)->box[1].m;  // the pair's second process is the main one
}
fd::bell *bell_of(unsigned slot) {
  return fd::g_process.bells[slot];
}
std::atomic<std::uint32_t> *shutdown_word() {
  return &fd::g_process.bc->shutdown;
}
std::atomic<std::uint32_t> *b_ended_word() {
  return &fd::pair_of(kB, fd::kMainSlot)->ctl.ended;
}

// The scenario: c forges b's result while the main process waits for it.
void forge_a_result(bool narrow) {
  boot_image(narrow);
  ASSERT_EQ(call(kC, kArmForgery, &arm_forgery, mailbox_from_b_to_main(), bell_of(fd::kMainSlot)), 0);
  const long r = call(kB, kAnswerAfterForgery, &answer_after_forgery);
  if (narrow && r == kForged) {
    std::fprintf(stderr, "the main process received the forged result\n");
    std::_Exit(99);
  }
  EXPECT_EQ(r, narrow ? kAnswer : kForged);
}

#define FLEX_SCENARIO(body) \
  EXPECT_EXIT(flex::runtime::testing::run_in_child(body), ::testing::ExitedWithCode(0), "")

}  // namespace

// ---- a forged result ----

TEST(process_attack, forging_another_pairs_result_faults_in_the_forger) {
  EXPECT_EXIT(
      forge_a_result(/*narrow=*/true), ::testing::ExitedWithCode(fg::kExitFault),
      R"(flex: compartment 'c' \(pid [0-9]+\) faulted at 0x[0-9a-f]+ .*\(SIGSEGV, write, SEGV_MAPERR\): )"
      R"(address belongs to shared region 'flex.channel b-app')");
}

TEST(process_attack, forging_another_pairs_result_succeeds_without_narrow_channels) {
  const auto body = [] { forge_a_result(/*narrow=*/false); };
  FLEX_SCENARIO(body);
}

// ---- stopping a peer: the image-wide shutdown word that makes compartment processes exit ----

TEST(process_attack, stopping_a_peer_faults_in_the_attacker) {
  EXPECT_EXIT(
      {
        boot_image(/*narrow=*/true);
        call(kC, kStoreAndRing, &store_and_ring, shutdown_word(), 1u, bell_of(kB), 0L, 0L);
      },
      ::testing::ExitedWithCode(fg::kExitFault),
      R"(flex: compartment 'c' \(pid [0-9]+\) faulted at 0x[0-9a-f]+ .*\(SIGSEGV, write, SEGV_ACCERR\): )"
      R"(address belongs to shared region 'flex.control')");
}

TEST(process_attack, stopping_a_peer_is_blocked_and_the_peer_still_serves) {
  const auto body = [] {
    boot_image(/*narrow=*/true);
    EXPECT_EQ(call(kC, kStoreAndRing, &store_and_ring, shutdown_word(), 1u, bell_of(kB), 1L, 0L), kBlocked);
    EXPECT_EQ(call(kC, kUnprotect, &unprotect, static_cast<void *>(fd::g_process.bc)), EACCES);
    EXPECT_EQ(shutdown_word()->load(), 0u);
    EXPECT_EQ(call(kC, kNap, &nap, 200L), 200);  // longer than b's liveness checks
    EXPECT_EQ(call(kB, kEcho, &echo, 7L), 7);
    EXPECT_EQ(call(kC, kEcho, &echo, 8L), 8);
  };
  FLEX_SCENARIO(body);
}

TEST(process_attack, stopping_a_peer_succeeds_without_narrow_channels) {
  EXPECT_EXIT(
      {
        boot_image(/*narrow=*/false);
        // c stays in the call while b exits (it would exit too, at its next look at the word).
        call(kC, kStoreAndRing, &store_and_ring, shutdown_word(), 1u, bell_of(kB), 0L, 500L);
      },
      ::testing::ExitedWithCode(fg::kExitDied),
      R"(flex: compartment 'b' \(pid [0-9]+\) died: exited with status 0)");
}

// ---- ending the image blaming a peer: b's announced exit status, which the main process ends with ----

TEST(process_attack, blaming_a_peer_faults_in_the_attacker) {
  EXPECT_EXIT(
      {
        boot_image(/*narrow=*/true);
        call(kC, kStoreAndRing, &store_and_ring, b_ended_word(), static_cast<unsigned>(fg::kExitBadCall),
             bell_of(fd::kMainSlot), 0L, 0L);
      },
      ::testing::ExitedWithCode(fg::kExitFault),
      R"(flex: compartment 'c' \(pid [0-9]+\) faulted at 0x[0-9a-f]+ .*\(SIGSEGV, write, SEGV_MAPERR\): )"
      R"(address belongs to shared region 'flex.channel b-app')");
}

TEST(process_attack, blaming_a_peer_succeeds_without_narrow_channels) {
  // The image ends with a refused call's status that nobody refused or reported.
  EXPECT_EXIT(
      {
        boot_image(/*narrow=*/false);
        EXPECT_EQ(call(kC, kStoreAndRing, &store_and_ring, b_ended_word(),
                       static_cast<unsigned>(fg::kExitBadCall), bell_of(fd::kMainSlot), 0L, 0L),
                  kWritten);
        call(kC, kNap, &nap, 300L);  // the main process sleeps, wakes to the ring and checks on its peers
        std::_Exit(0);
      },
      ::testing::ExitedWithCode(fg::kExitBadCall), "^$");
}

// ---- what the narrow layout maps, and what it refuses ----

TEST(process_attack, a_process_maps_only_its_own_channels_and_control_words) {
  const auto body = [] {
    boot_image(/*narrow=*/true);
    fd::pair_page *app_b = fd::pair_of(kB, fd::kMainSlot), *app_c = fd::pair_of(kC, fd::kMainSlot);
    ASSERT_NE(app_b, nullptr);
    ASSERT_NE(app_c, nullptr);
    EXPECT_EQ(fd::pair_of(kB, kC), nullptr) << "b and c are no peers: they have no channel";
    EXPECT_TRUE(is_mapped(app_b) && is_mapped(app_c) && is_mapped(bell_of(kB)) && is_mapped(bell_of(kC)));
    // In c: its page with the main process, its bell and the main process's; not b's page nor b's bell.
    EXPECT_EQ(call(kC, kMapped, &is_mapped, static_cast<void *>(app_c)), 1);
    EXPECT_EQ(call(kC, kMapped, &is_mapped, static_cast<void *>(bell_of(kC))), 1);
    EXPECT_EQ(call(kC, kMapped, &is_mapped, static_cast<void *>(bell_of(fd::kMainSlot))), 1);
    EXPECT_EQ(call(kC, kMapped, &is_mapped, static_cast<void *>(app_b)), 0);
    EXPECT_EQ(call(kC, kMapped, &is_mapped, static_cast<void *>(bell_of(kB))), 0);
    EXPECT_EQ(call(kB, kMapped, &is_mapped, static_cast<void *>(app_c)), 0);
  };
  FLEX_SCENARIO(body);
}

TEST(process_attack, a_call_between_processes_no_boundary_joins_is_refused) {
  EXPECT_EXIT(
      {
        boot_image(/*narrow=*/true);
        call(kB, kCallEcho, &call_echo, kC);
      },
      ::testing::ExitedWithCode(fg::kExitBadCall),
      R"(flex: compartment 'b' \(pid [0-9]+\) refused a call from 'b' to 'c' export 1: )"
      R"(no boundary links their processes)");
}

TEST(process_attack, a_spurious_ring_only_wakes_the_process) {
  const auto body = [] {
    boot_image(/*narrow=*/true);
    ASSERT_EQ(call(kC, kStartRinging, &start_ringing, bell_of(fd::kMainSlot)), 0);
    EXPECT_EQ(call(kB, kNap, &nap, 150L), 150);  // the main process sleeps meanwhile, and is rung 50 times
    EXPECT_EQ(call(kB, kEcho, &echo, 9L), 9);
  };
  FLEX_SCENARIO(body);
}
